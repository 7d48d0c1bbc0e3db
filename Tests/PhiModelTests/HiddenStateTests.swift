import Foundation
import PhiModel
import PhiTestSupport
import Testing

/// `hidden_states.safetensors`: `<prompt>.hidden.<k>` [T, 64]; k = 0 the embedding output,
/// 1..31 the residual stream after layer k-1, 32 the final RMSNorm's output.
struct GoldenHiddenStates {
    let file: SafetensorsFile

    init() throws {
        file = try SafetensorsFile(path: Fixtures.tinyGolden.appendingPathComponent("hidden_states.safetensors").path)
    }

    func states(_ prompt: String, _ k: Int) throws -> Activations {
        let view = try #require(try file.tensor("\(prompt).hidden.\(k)"))
        var values = [Float](repeating: 0, count: view.elementCount)
        try values.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            for row in 0..<view.rows { try view.row(row, into: base + row * view.columns) }
        }
        return Activations(tokenCount: view.rows, width: view.columns, values: values)
    }
}

@Suite("per-layer hidden states match transformers")
struct HiddenStateTests {
    static let prompts = ["p1", "p7", "p64", "p300"]

    @Test("every layer's output of a whole-model run is within tolerance", arguments: prompts)
    func everyLayer(_ name: String) throws {
        let golden = try GoldenHiddenStates()
        let stage = try TinyModel.stage()
        let ids = try TinyGolden.load().prompt(name).ids
        var hidden = try stage.embed(tokens: ids)
        #expect(maxAbsDifference(hidden.values, try golden.states(name, 0).values) <= Tolerance.hiddenStates)
        var cache = try KVCache(config: stage.config, layers: stage.layers, capacity: ids.count)
        var scratch = Scratch()
        var worst: [Int: Float] = [:]
        try stage.run(&hidden, positions: 0..<ids.count, ropeFactors: .short, cache: &cache, scratch: &scratch) { layer, states in
            guard layer + 1 < 32, let expected = try? golden.states(name, layer + 1) else { return }
            worst[layer] = maxAbsDifference(states.values, expected.values)
        }
        #expect(worst.count == 31)
        #expect(worst.values.allSatisfy { $0 <= Tolerance.hiddenStates }, "worst per layer: \(worst.sorted { $0.key < $1.key })")
        let normed = try stage.finalNorm(hidden)
        #expect(maxAbsDifference(normed.values, try golden.states(name, 32).values) <= Tolerance.hiddenStates)
    }

    static let slices: [Range<Int>] = [0..<1, 0..<16, 16..<32, 5..<19, 31..<32, 1..<31, 0..<32]

    @Test("a slice a..<b run alone on hidden[a] reproduces hidden[b]", arguments: slices)
    func slice(_ layers: Range<Int>) throws {
        let golden = try GoldenHiddenStates()
        let stage = try TinyModel.stage(layers)
        for name in ["p7", "p300"] {
            var hidden = try golden.states(name, layers.lowerBound)
            var cache = try KVCache(config: stage.config, layers: layers, capacity: hidden.tokenCount)
            var scratch = Scratch()
            try stage.run(&hidden, positions: 0..<hidden.tokenCount, ropeFactors: .short, cache: &cache, scratch: &scratch)
            if layers.upperBound == 32 { hidden = try stage.finalNorm(hidden) }
            let expected = try golden.states(name, layers.upperBound)
            #expect(maxAbsDifference(hidden.values, expected.values) <= Tolerance.hiddenStates, "\(name) layers \(layers)")
        }
    }

    @Test("only the ends of the model embed or produce logits")
    func endsDecide() throws {
        let middle = try TinyModel.stage(5..<19)
        #expect(!middle.isFirstStage && !middle.isLastStage)
        #expect(throws: StageError.notFirstStage(5..<19)) { try middle.embed(tokens: [1]) }
        var scratch = Scratch()
        #expect(throws: StageError.notLastStage(5..<19)) {
            try middle.logits(from: Activations(zeros: 1, width: 64), tokens: 0..<1, scratch: &scratch)
        }
        let first = try TinyModel.stage(0..<1)
        #expect(throws: StageError.tokenOutOfRange(token: 200_064, vocabularySize: 200_064)) { try first.embed(tokens: [200_064]) }
    }
}
