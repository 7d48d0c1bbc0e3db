import Foundation
import PhiModel
import PhiTestSupport
import Testing

@Suite("the forward pass reproduces transformers on tiny-phi4")
struct ForwardGoldenTests {
    let golden: TinyGolden
    let stage: Stage

    init() throws {
        golden = try TinyGolden.load()
        stage = try TinyModel.stage()
    }

    @Test("argmax at every position is exact and the last logits are within tolerance",
          arguments: ["p1", "p7", "p64", "p300"])
    func shortPrompts(_ name: String) throws {
        let prompt = try golden.prompt(name)
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

    @Test("long prompts agree on at least 99.9% of argmaxes, with short factors below 4096 and long beyond",
          arguments: ["p1000", "p4300"])
    func longPrompts(_ name: String) throws {
        let prompt = try golden.prompt(name)
        let vocabulary = stage.config.vocabularySize
        let logits = try TinyModel.allLogits(stage, ids: prompt.ids)
        let agreeing = (0..<prompt.ids.count).filter {
            argmax(logits[($0 * vocabulary)..<(($0 + 1) * vocabulary)]) == prompt.argmax[$0]
        }.count
        #expect(Double(agreeing) / Double(prompt.ids.count) >= Tolerance.longPromptArgmaxAgreement)
        let last = Array(logits[((prompt.ids.count - 1) * vocabulary)...])
        #expect(maxAbsDifference(last, try TinyGolden.lastLogits(name)) <= Tolerance.logits)
    }

    @Test("24 greedy tokens decoded one at a time with the KV cache equal the golden ones",
          arguments: ["p1", "p7", "p64", "p300"])
    func greedyWithCache(_ name: String) throws {
        let prompt = try golden.prompt(name)
        let expected = try #require(prompt.greedy24)
        var cache = try KVCache(config: stage.config, layers: stage.layers, capacity: prompt.ids.count + expected.count)
        var scratch = Scratch()
        var hidden = try stage.embed(tokens: prompt.ids)
        try stage.run(&hidden, positions: 0..<prompt.ids.count, ropeFactors: .short, cache: &cache, scratch: &scratch)
        var logits = try stage.logits(from: hidden, tokens: (prompt.ids.count - 1)..<prompt.ids.count, scratch: &scratch)
        var generated: [Int] = []
        for _ in expected {
            let next = argmax(logits[...])
            generated.append(next)
            let position = prompt.ids.count + generated.count - 1
            var step = try stage.embed(tokens: [next])
            try stage.run(&step, positions: position..<(position + 1), ropeFactors: .short, cache: &cache, scratch: &scratch)
            logits = try stage.logits(from: step, tokens: 0..<1, scratch: &scratch)
        }
        #expect(generated == expected)
    }
}
