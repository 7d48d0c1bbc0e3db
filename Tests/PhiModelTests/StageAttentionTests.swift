import PhiModel
import PhiTestSupport
import Testing

/// Attention folds fixed blocks of 64 key positions in order, so how a pass cuts its queries into
/// tiles and its keys between threads must not change a bit of the logits.
@Suite("Stage attention: tiles and split-K")
struct StageAttentionTests {
    /// The logits of `ids` run in passes of `passes` positions (covering 0..<ids.count in order).
    static func logits(_ stage: Stage, ids: [Int], passes: [Range<Int>], format: KVFormat) throws -> [Float] {
        var cache = try KVCache(config: stage.config, layers: stage.layers, capacity: ids.count, format: format)
        var scratch = Scratch()
        var logits: [Float] = []
        for positions in passes {
            var hidden = try stage.embed(tokens: Array(ids[positions]))
            try stage.run(&hidden, positions: positions, ropeFactors: .short, cache: &cache, scratch: &scratch)
            logits += try stage.logits(from: hidden, tokens: 0..<positions.count, scratch: &scratch)
        }
        return logits
    }

    /// One pass; chunks starting off block boundaries and crossing them (tiles); then decode
    /// steps of 1 and 3 tokens past the first block (split-K), on 1 and 3 threads.
    @Test("chunked prefill and split-K decode give the one-pass logits bit for bit", arguments: KVFormat.allCases)
    func passesAgree(_ format: KVFormat) throws {
        let ids = Array(try TinyGolden.load().prompt("p300").ids.prefix(150))
        let single = try TinyModel.stage(threads: 1)
        let whole = try Self.logits(single, ids: ids, passes: [0..<150], format: format)
        var steps = [0..<37, 37..<101, 101..<104]
        steps += (104..<150).map { $0..<($0 + 1) }
        for threads in [1, 3] {
            let stage = try TinyModel.stage(threads: threads)
            let stepped = try Self.logits(stage, ids: ids, passes: steps, format: format)
            #expect(stepped.map(\.bitPattern) == whole.map(\.bitPattern), "\(format) on \(threads) threads")
        }
    }

    @Test("the scratch of a pass never shrinks with more tokens (the planner counts the largest chunk)")
    func scratchGrowsWithTokens() throws {
        let config = try TinyModel.source().config
        for tokens in 1..<70 {
            #expect(Scratch.bytes(tokens: tokens, config: config, isLastStage: true)
                <= Scratch.bytes(tokens: tokens + 1, config: config, isLastStage: true))
        }
    }
}
