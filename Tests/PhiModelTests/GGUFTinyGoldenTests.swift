import Foundation
import PhiModel
import PhiTestSupport
import Testing

/// tiny-phi4 converted to GGUF as llama.cpp converts Phi-4-mini (`phi3`, fused qkv and gate|up,
/// LongRoPE factor tensors, BF16 matrices) must give the tiny golden through the same engine.
@Suite("a GGUF of tiny-phi4 reproduces the tiny golden")
struct GGUFTinyGoldenTests {
    @Test("the GGUF config equals the config.json one, LongRoPE factors and attention factor included, eos aside")
    func config() throws {
        let gguf = try TinyGGUF.source()
        #expect(gguf.layout == .ggufPhi3)
        var expected = try TinyModel.source().config
        expected.architecture = "phi3"
        // GGUF carries tokenizer_config's single eos id; generation_config.json's list (200020 <|end|>,
        // 199999) is not converted. llama.cpp finds <|end|> by its text; that is the tokenizer's job.
        expected.stopTokenIds = [199_999]
        #expect(gguf.config == expected)
        #expect(gguf.config.tieWordEmbeddings && !gguf.tensors.contains("output.weight"))
    }

    @Test("argmax at every position is exact and the last logits are within tolerance", arguments: ["p7", "p64"])
    func logits(_ name: String) throws {
        let source = try TinyGGUF.source()
        let stage = try source.loadStage(layers: source.config.allLayers, format: nil, compute: try Compute(threads: 2))
        let prompt = try TinyGolden.load().prompt(name)
        let vocabulary = stage.config.vocabularySize
        let logits = try TinyModel.allLogits(stage, ids: prompt.ids)
        let argmaxes = (0..<prompt.ids.count).map { argmax(logits[($0 * vocabulary)..<(($0 + 1) * vocabulary)]) }
        #expect(argmaxes == prompt.argmax)
        let last = Array(logits[((prompt.ids.count - 1) * vocabulary)...])
        #expect(maxAbsDifference(last, try TinyGolden.lastLogits(name)) <= Tolerance.logits)
        for (id, logit) in prompt.topLast {
            #expect(abs(last[id] - logit) <= Tolerance.logits)
        }
    }

    @Test("24 greedy tokens of p7 with the KV cache equal the golden ones")
    func greedy() throws {
        let source = try TinyGGUF.source()
        let stage = try source.loadStage(layers: source.config.allLayers, format: nil, compute: try Compute(threads: 2))
        let prompt = try TinyGolden.load().prompt("p7")
        let expected = try #require(prompt.greedy24)
        #expect(try greedyTokens(stage, after: prompt.ids, count: expected.count) == expected)
    }

    @Test("stages of layers 0..<16 and 16..<32, each loading its own tensors, chain to the golden logits")
    func split() throws {
        let source = try TinyGGUF.source()
        let compute = try Compute(threads: 2)
        let first = try source.loadStage(layers: 0..<16, format: nil, compute: compute)
        let second = try source.loadStage(layers: 16..<32, format: nil, compute: compute)
        let ids = try TinyGolden.load().prompt("p7").ids
        var hidden = try first.embed(tokens: ids)
        var firstCache = try KVCache(config: first.config, layers: first.layers, capacity: ids.count)
        var secondCache = try KVCache(config: second.config, layers: second.layers, capacity: ids.count)
        var scratch = Scratch()
        try first.run(&hidden, positions: 0..<ids.count, ropeFactors: .short, cache: &firstCache, scratch: &scratch)
        try second.run(&hidden, positions: 0..<ids.count, ropeFactors: .short, cache: &secondCache, scratch: &scratch)
        let last = try second.logits(from: hidden, tokens: (ids.count - 1)..<ids.count, scratch: &scratch)
        #expect(maxAbsDifference(last, try TinyGolden.lastLogits("p7")) <= Tolerance.logits)
        #expect(throws: StageError.notFirstStage(16..<32)) { try second.embed(tokens: ids) }
    }

    @Test("the tokenizer metadata reads as convert_hf_to_gguf writes it for Phi-4-mini")
    func tokenizer() throws {
        let gguf = try #require(try TinyGGUF.source().gguf)
        let tokenizer = try gguf.tokenizerMetadata()
        #expect(tokenizer.model == "gpt2" && tokenizer.preTokenizer == "gpt-4o")
        #expect(tokenizer.tokens.count == 200_064)
        #expect(tokenizer.tokens[199_999] == "<|endoftext|>" && tokenizer.tokenTypes?[199_999] == .control)
        #expect(tokenizer.tokens[200_063] == "[PAD200063]" && tokenizer.tokenTypes?[200_063] == .unused)
        #expect(tokenizer.merges?.count == 199_742 && tokenizer.merges?.first == "Ġ Ġ")
        #expect(tokenizer.bosTokenId == 199_999 && tokenizer.eosTokenId == 199_999)
        #expect(tokenizer.addBosToken == false)
        #expect(tokenizer.chatTemplate?.contains("<|assistant|>") == true)
    }
}
