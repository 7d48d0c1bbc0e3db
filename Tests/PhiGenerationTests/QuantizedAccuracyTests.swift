import Foundation
import PhiGeneration
import PhiTestSupport
import Testing

/// Measures how far q8_0 and q4_0 weights move the tiny model's next-token distributions from
/// f32's over every position of the golden prompts (p4300 aside: it needs the long factors and
/// would double the run), and prints the figures docs/PERFORMANCE.md records. Only loose sanity
/// is checked: these are measurements, not goldens.
@Suite("quantized next-token distributions against f32")
struct QuantizedAccuracyTests {
    static let prompts = ["p1", "p7", "p64", "p300", "p1000"]

    /// Loose bounds that only a broken format (wrong scales, swapped nibbles, a kernel reading the
    /// wrong rows) would cross. The random tiny model is far more sensitive than a trained one
    /// (hidden size 64: two blocks a row; logits span about ±110 with a standard deviation of
    /// 24), so the measured figures, which the test prints, are large: q8_0 mean KL 0.033 nats
    /// with 93% top-1 agreement, q4_0 3.1 nats with 59% (2026-11-24). The bounds sit about 3×
    /// away from those, and far from chance (a random guess is right 1 time in 200,064).
    enum Sanity {
        static let q8_0MaxMeanKL = 0.1
        static let q8_0MinTopOne = 0.8
        static let q4_0MaxMeanKL = 10.0
        static let q4_0MinTopOne = 0.2
    }

    @Test("mean KL and top-1 agreement over p1, p7, p64, p300 and p1000")
    func agreement() throws {
        let golden = try TinyGolden.load()
        let reference = try TinyModel.stage(format: .f32)
        var results: [WeightFormat: NextTokenAgreement] = [:]
        for format in [WeightFormat.q8_0, .q4_0] {
            let quantized = try TinyModel.stage(format: format)
            var total = NextTokenAgreement()
            for name in Self.prompts {
                let ids = try golden.prompt(name).ids
                let prompt = try Self.compare(reference, quantized, ids: ids)
                print("accuracy \(format) \(name): \(prompt.positions) positions, mean KL \(prompt.meanKLDivergence) nats, "
                    + "top-1 agreement \(prompt.topOneAgreement)")
                total.merge(prompt)
            }
            print("accuracy \(format) all: \(total.positions) positions, mean KL \(total.meanKLDivergence) nats, "
                + "top-1 agreement \(total.topOneAgreement)")
            #expect(total.positions == 1 + 7 + 64 + 300 + 1000)
            results[format] = total
        }
        let q8 = try #require(results[.q8_0]), q4 = try #require(results[.q4_0])
        #expect(q8.meanKLDivergence <= Sanity.q8_0MaxMeanKL && q8.topOneAgreement >= Sanity.q8_0MinTopOne)
        #expect(q4.meanKLDivergence <= Sanity.q4_0MaxMeanKL && q4.topOneAgreement >= Sanity.q4_0MinTopOne)
        // Fewer bits, further from f32.
        #expect(q4.meanKLDivergence > q8.meanKLDivergence)
    }

    /// Every position of `ids` through both stages, logits compared in windows of positions
    /// (p1000's logits would take 800 MB at once).
    static func compare(_ reference: Stage, _ quantized: Stage, ids: [Int]) throws -> NextTokenAgreement {
        let expected = try hiddenStates(reference, ids: ids)
        let measured = try hiddenStates(quantized, ids: ids)
        var agreement = NextTokenAgreement()
        var scratch = Scratch()
        for start in stride(from: 0, to: ids.count, by: 64) {
            let positions = start..<min(ids.count, start + 64)
            try agreement.add(reference: try reference.logits(from: expected, tokens: positions, scratch: &scratch),
                              model: try quantized.logits(from: measured, tokens: positions, scratch: &scratch),
                              rows: positions.count, width: reference.config.vocabularySize)
        }
        return agreement
    }

    /// The final hidden states of every position of `ids`, from one pass.
    static func hiddenStates(_ stage: Stage, ids: [Int]) throws -> Activations {
        let factors = RopeFactorSet.forPass(endingAt: ids.count - 1, config: stage.config)
        var hidden = try stage.embed(tokens: ids)
        var cache = try KVCache(config: stage.config, layers: stage.layers, capacity: ids.count)
        var scratch = Scratch()
        try stage.run(&hidden, positions: 0..<ids.count, ropeFactors: factors, cache: &cache, scratch: &scratch)
        return hidden
    }
}
