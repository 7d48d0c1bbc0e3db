import Foundation
import PhiModel
import PhiTestSupport
import Testing

/// Several sessions' tokens in one pass (`Stage.run(_:batch:caches:)`): what concurrent decode
/// steps share on a worker and in process. Each session must come out as if it ran alone.
@Suite("a batched pass over several sessions")
struct BatchedPassTests {
    /// Session caches holding the first `prefix` ids of `prompt`, prefilled alone.
    static func prefilled(_ stage: Stage, ids: [Int], capacity: Int) throws -> KVCache {
        var cache = try KVCache(config: stage.config, layers: stage.layers, capacity: capacity, format: .f16)
        guard !ids.isEmpty else { return cache }
        var hidden = try stage.embed(tokens: ids)
        var scratch = Scratch()
        try stage.run(&hidden, positions: 0..<ids.count, ropeFactors: .short, cache: &cache, scratch: &scratch)
        return cache
    }

    @Test("three sessions at different positions, batched, equal each run alone; their caches continue alike",
          arguments: [WeightFormat.f32, .q8_0, .q4_0])
    func batchEqualsAlone(_ format: WeightFormat) throws {
        let golden = try TinyGolden.load()
        let stage = try TinyModel.stage(format: format)
        let p7 = try golden.prompt("p7").ids, p64 = try golden.prompt("p64").ids
        // Session A holds p7 and takes 1 token; B holds p64 and takes 2; C is new and takes 3.
        let prefixes = [p7, p64, []]
        let steps = [[p64[0]], [p7[1], p7[2]], [p64[5], p64[6], p64[7]]]
        var alone = try prefixes.map { try Self.prefilled(stage, ids: $0, capacity: 80) }
        var batched = alone  // shares storage until the first write, which copies
        var scratch = Scratch()

        var expected: [Float] = []
        for index in 0..<3 {
            var hidden = try stage.embed(tokens: steps[index])
            let start = prefixes[index].count
            try stage.run(&hidden, positions: start..<(start + steps[index].count), ropeFactors: .short,
                          cache: &alone[index], scratch: &scratch)
            expected += hidden.values
        }
        var hidden = try stage.embed(tokens: steps.flatMap { $0 })
        let entries = (0..<3).map { Stage.BatchEntry(positions: prefixes[$0].count..<(prefixes[$0].count + steps[$0].count),
                                                      ropeFactors: .short) }
        try stage.run(&hidden, batch: entries, caches: &batched, scratch: &scratch)
        #expect(hidden.tokenCount == 6)
        #expect(maxAbsDifference(hidden.values, expected) <= Tolerance.hiddenStates)
        #expect(batched.map(\.tokenCount) == alone.map(\.tokenCount))

        // One more token each, alone, from both sets of caches: the batch wrote the right rows.
        for index in 0..<3 {
            let position = alone[index].tokenCount
            var fromAlone = try stage.embed(tokens: [p64[10]])
            var fromBatch = fromAlone
            try stage.run(&fromAlone, positions: position..<(position + 1), ropeFactors: .short, cache: &alone[index], scratch: &scratch)
            try stage.run(&fromBatch, positions: position..<(position + 1), ropeFactors: .short, cache: &batched[index], scratch: &scratch)
            #expect(maxAbsDifference(fromAlone.values, fromBatch.values) <= Tolerance.hiddenStates, "session \(index)")
        }
    }

    @Test("the head's logits for rows of several sessions equal each row's own")
    func logitsOfRows() throws {
        let stage = try TinyModel.stage(format: .f32)
        var hidden = try stage.embed(tokens: try TinyGolden.load().prompt("p7").ids)
        var cache = try KVCache(config: stage.config, layers: stage.layers, capacity: 8)
        var scratch = Scratch()
        try stage.run(&hidden, positions: 0..<7, ropeFactors: .short, cache: &cache, scratch: &scratch)
        let rows = try stage.logits(from: hidden, rows: [6, 2], scratch: &scratch)
        let vocabulary = stage.config.vocabularySize
        #expect(maxAbsDifference(Array(rows[..<vocabulary]), try stage.logits(from: hidden, tokens: 6..<7, scratch: &scratch)) == 0)
        #expect(maxAbsDifference(Array(rows[vocabulary...]), try stage.logits(from: hidden, tokens: 2..<3, scratch: &scratch)) == 0)
        #expect(throws: StageError.self) { try stage.logits(from: hidden, rows: [7], scratch: &scratch) }
    }

    @Test("an entry that would leave a gap refuses the whole batch before any cache changes")
    func refusedBatchChangesNothing() throws {
        let stage = try TinyModel.stage(format: .f32)
        let ids = try TinyGolden.load().prompt("p7").ids
        var caches = [try Self.prefilled(stage, ids: ids, capacity: 16), try Self.prefilled(stage, ids: [], capacity: 16)]
        var hidden = try stage.embed(tokens: [ids[0], ids[1]])
        var scratch = Scratch()
        let entries = [Stage.BatchEntry(positions: 7..<8, ropeFactors: .short), Stage.BatchEntry(positions: 3..<4, ropeFactors: .short)]
        #expect(throws: KVCacheError.gap(cachedTokens: 0, firstPosition: 3)) {
            try stage.run(&hidden, batch: entries, caches: &caches, scratch: &scratch)
        }
        #expect(caches.map(\.tokenCount) == [7, 0])
    }
}
