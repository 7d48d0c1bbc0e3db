import Foundation
import PhiModel
import PhiTestSupport
import Testing

/// Runs `ids` through `stage` in one pass with a cache in `format`; logits of every position.
func allLogits(_ stage: Stage, ids: [Int], format: KVFormat) throws -> [Float] {
    let factors = RopeFactorSet.forPass(endingAt: ids.count - 1, config: stage.config)
    var hidden = try stage.embed(tokens: ids)
    var cache = try KVCache(config: stage.config, layers: stage.layers, capacity: ids.count, format: format)
    var scratch = Scratch()
    try stage.run(&hidden, positions: 0..<ids.count, ropeFactors: factors, cache: &cache, scratch: &scratch)
    return try stage.logits(from: hidden, tokens: 0..<ids.count, scratch: &scratch)
}

func rowArgmaxes(_ logits: [Float], rows: Int, width: Int) -> [Int] {
    (0..<rows).map { argmax(logits[($0 * width)..<(($0 + 1) * width)]) }
}

@Suite("KV caches in f16 and q8_0")
struct KVFormatTests {
    let golden: TinyGolden
    let stage: Stage

    init() throws {
        golden = try TinyGolden.load()
        stage = try TinyModel.stage()
    }

    @Test("an f16 cache keeps the golden argmax at every position of p7, p64 and p300", arguments: ["p7", "p64", "p300"])
    func f16KeepsGoldenArgmax(_ name: String) throws {
        let prompt = try golden.prompt(name)
        let vocabulary = stage.config.vocabularySize
        let logits = try allLogits(stage, ids: prompt.ids, format: .f16)
        #expect(rowArgmaxes(logits, rows: prompt.ids.count, width: vocabulary) == prompt.argmax)
    }

    @Test("a batched prefill and token-by-token decoding give bitwise equal logits in every format",
          arguments: KVFormat.allCases)
    func batchedEqualsIncremental(_ format: KVFormat) throws {
        let ids = Array(try golden.prompt("p64").ids.prefix(40))
        let vocabulary = stage.config.vocabularySize
        let batched = try allLogits(stage, ids: ids, format: format)
        var cache = try KVCache(config: stage.config, layers: stage.layers, capacity: ids.count, format: format)
        var scratch = Scratch()
        for (position, id) in ids.enumerated() {
            var hidden = try stage.embed(tokens: [id])
            try stage.run(&hidden, positions: position..<(position + 1), ropeFactors: .short, cache: &cache, scratch: &scratch)
            let logits = try stage.logits(from: hidden, tokens: 0..<1, scratch: &scratch)
            let expected = Array(batched[(position * vocabulary)..<((position + 1) * vocabulary)])
            #expect(logits.map(\.bitPattern) == expected.map(\.bitPattern), "\(format) position \(position)")
        }
    }

    @Test("a cache reserves what the planner counts: rows of whole q8_0 blocks per head")
    func reservedBytes() throws {
        let config = stage.config  // 2 KV heads of 16 dimensions
        for format in KVFormat.allCases {
            let cache = try KVCache(config: config, layers: 3..<7, capacity: 100, format: format)
            let perHead = switch format {
            case .f32: 16 * 4
            case .f16: 16 * 2
            case .q8_0: 34  // one block, half of it padding
            }
            #expect(cache.reservedBytes == 2 * 4 * 100 * 2 * perHead)
            #expect(cache.reservedBytes == KVCache.bytes(config: config, format: format, layerCount: 4, tokens: 100))
        }
    }

    @Test("a snapshot restored into a new cache continues exactly as the original", arguments: KVFormat.allCases)
    func snapshotRoundTrip(_ format: KVFormat) throws {
        let ids = Array(try golden.prompt("p64").ids.prefix(33))
        var original = try KVCache(config: stage.config, layers: stage.layers, capacity: 40, format: format)
        var scratch = Scratch()
        var hidden = try stage.embed(tokens: Array(ids.prefix(32)))
        try stage.run(&hidden, positions: 0..<32, ropeFactors: .short, cache: &original, scratch: &scratch)
        // Two segments, as a job checkpoints at chunk boundaries.
        var segments: [[UInt8]] = [[], []]
        for (index, positions) in [0..<20, 20..<32].enumerated() {
            try original.withSnapshotRegions(positions: positions) { segments[index] += Array($0) }
        }
        var restored = try KVCache(config: stage.config, layers: stage.layers, capacity: 40, format: format)
        let rowBytes = restored.snapshotRowBytes
        try restored.restore(tokens: 32, ropeFactors: .short) { region, buffer in
            for (index, positions) in [0..<20, 20..<32].enumerated() {
                let count = positions.count * rowBytes
                let source = segments[index][(region * count)..<((region + 1) * count)]
                UnsafeMutableRawBufferPointer(rebasing: buffer[(positions.lowerBound * rowBytes)...]).copyBytes(from: source)
            }
        }
        #expect(restored.tokenCount == 32 && restored.ropeFactors == .short)
        var next = try stage.embed(tokens: [ids[32]]), again = next
        try stage.run(&next, positions: 32..<33, ropeFactors: .short, cache: &original, scratch: &scratch)
        try stage.run(&again, positions: 32..<33, ropeFactors: .short, cache: &restored, scratch: &scratch)
        #expect(next.values.map(\.bitPattern) == again.values.map(\.bitPattern))
    }

    @Test("the accuracy cost of f16 and q8_0 caches on the golden prompts is measured against f32 and the reference",
          arguments: ["p64", "p300", "p1000", "p4300"])
    func accuracyCost(_ name: String) throws {
        let prompt = try golden.prompt(name)
        let vocabulary = stage.config.vocabularySize
        let count = prompt.ids.count
        let reference = try TinyGolden.lastLogits(name)
        let exact = try allLogits(stage, ids: prompt.ids, format: .f32)
        let exactArgmax = rowArgmaxes(exact, rows: count, width: vocabulary)
        let exactLast = Array(exact[((count - 1) * vocabulary)...])
        for format in [KVFormat.f16, .q8_0] {
            let logits = try allLogits(stage, ids: prompt.ids, format: format)
            let argmaxes = rowArgmaxes(logits, rows: count, width: vocabulary)
            let last = Array(logits[((count - 1) * vocabulary)...])
            let withGolden = zip(argmaxes, prompt.argmax).filter { $0 == $1 }.count
            let withF32 = zip(argmaxes, exactArgmax).filter { $0 == $1 }.count
            let deviation = maxAbsDifference(last, exactLast)
            // Read by docs/PERFORMANCE.md ("KV cache formats").
            print("KV \(format.rawValue) \(name): argmax \(withGolden)/\(count) with the reference, \(withF32)/\(count) with f32 KV; "
                + "last logits max |Δ| \(deviation) from f32 KV, \(maxAbsDifference(last, reference)) from the reference")
            #expect(deviation.isFinite)
            #expect(Double(withGolden) / Double(count) >= Self.argmaxAgreement[format] ?? 1, "\(format) \(name)")
        }
    }

    /// Least share of golden argmaxes a format must keep on every measured prompt: f16 the
    /// reference's own 99.9% for long prompts (tiny-phi4-golden README), q8_0 at least 99%:
    /// measured 100% on p64, p300 and p1000 and 99.9% (4,296 of 4,300) on p4300 (docs/PERFORMANCE.md),
    /// so a broken kernel (chance agreement) fails while rounding noise near small margins passes.
    static let argmaxAgreement: [KVFormat: Double] = [.f16: Tolerance.longPromptArgmaxAgreement, .q8_0: 0.99]
}
