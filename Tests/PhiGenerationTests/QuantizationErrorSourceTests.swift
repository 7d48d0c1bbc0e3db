import CPhiKernels
import Foundation
@testable import PhiModel
import PhiGeneration
import PhiTestSupport
import Testing

/// Where q8_0's distance from f32 comes from on tiny-phi4: the weights' rounding, or the q8_0
/// activations of the integer dot products. The second model here keeps the q8_0 weights' values
/// (each row quantized to q8_0 and dequantized) but multiplies them against f32 activations, the
/// most a q8_0 checkpoint can give. Prints the figures docs/PERFORMANCE.md records.
@Suite("what q8_0's error is made of")
struct QuantizationErrorSourceTests {
    @Test("q8_0 weights with f32 activations against q8_0 activations: agreement with f32 and greedy tokens")
    func weightsAgainstActivations() async throws {
        let golden = try TinyGolden.load()
        let reference = try TinyModel.stage(format: .f32)
        let quantized = try TinyModel.stage(format: .q8_0)
        let weightsOnly = Self.roundedToQ8(reference)
        var figures: [String: NextTokenAgreement] = [:]
        for (label, stage) in [("q8_0", quantized), ("q8_0 weights, f32 activations", weightsOnly)] {
            var total = NextTokenAgreement()
            for name in QuantizedAccuracyTests.prompts {
                total.merge(try QuantizedAccuracyTests.compare(reference, stage, ids: try golden.prompt(name).ids))
            }
            var line = "accuracy \(label): mean KL \(total.meanKLDivergence) nats, top-1 agreement \(total.topOneAgreement);"
            for name in ["p1", "p7", "p64", "p300"] {
                let prompt = try golden.prompt(name)
                let expected = try #require(prompt.greedy24)
                let tokens = try await Self.greedy(stage, ids: prompt.ids, count: expected.count)
                line += " \(name) greedy24 agrees for \(zip(tokens, expected).prefix { $0 == $1 }.count)"
            }
            print(line)
            figures[label] = total
        }
        let full = try #require(figures["q8_0"]), weights = try #require(figures["q8_0 weights, f32 activations"])
        // Quantizing the activations too adds error on top of the weights' rounding.
        #expect(weights.meanKLDivergence < full.meanKLDivergence)
        #expect(weights.meanKLDivergence > 0)
    }

    static func greedy(_ stage: Stage, ids: [Int], count: Int) async throws -> [Int] {
        let pipeline = try LocalPipeline(stages: [stage])
        try await pipeline.openSession(SessionID(1), contextTokens: ids.count + count)
        return try await Generator(pipeline: pipeline).generate(
            session: SessionID(1), prompt: ids, parameters: .greedy(maxTokens: count, ignoreEOS: true)).tokens
    }

    /// `stage` (f32 matrices) with every layer matrix replaced by its q8_0 values in f32.
    static func roundedToQ8(_ stage: Stage) -> Stage {
        let w = stage.weights
        let layers = w.layerWeights.map {
            LayerWeights(attentionNorm: $0.attentionNorm, qkv: rounded($0.qkv), attentionOutput: rounded($0.attentionOutput),
                         mlpNorm: $0.mlpNorm, gateUp: rounded($0.gateUp), down: rounded($0.down))
        }
        let weights = StageWeights(layers: w.layers, layerWeights: layers, embedding: w.embedding, finalNorm: w.finalNorm,
                                   head: w.head.map(rounded))
        return Stage(config: stage.config, weights: weights, compute: stage.compute)
    }

    static func rounded(_ matrix: WeightMatrix) -> WeightMatrix {
        let buffer = WeightBuffer(byteCount: matrix.rows * matrix.columns * 4)
        let blocks = UnsafeMutablePointer<phi_block_q8_0>.allocate(capacity: matrix.columns / 32)
        defer { blocks.deallocate() }
        for row in 0..<matrix.rows {
            let source = (matrix.base + row * matrix.rowBytes).assumingMemoryBound(to: Float.self)
            phi_quantize_row_q8_0(source, blocks, Int64(matrix.columns))
            phi_dequantize_row(PHI_FORMAT_Q8_0, blocks, (buffer.pointer + row * matrix.columns * 4).assumingMemoryBound(to: Float.self),
                               Int64(matrix.columns))
        }
        return WeightMatrix(format: .f32, rows: matrix.rows, columns: matrix.columns, rowBytes: matrix.columns * 4,
                            isRepacked: false, base: UnsafeRawPointer(buffer.pointer), owner: buffer)
    }
}
