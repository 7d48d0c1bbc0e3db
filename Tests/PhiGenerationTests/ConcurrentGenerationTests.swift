import Foundation
import PhiGeneration
import PhiTestSupport
import Testing

/// Sessions generating at the same time in one process: their chunks and decode steps share
/// batched passes, and each must still produce exactly the tokens it produces alone.
@Suite("concurrent sessions in process")
struct ConcurrentGenerationTests {
    static let prompts = ["p1", "p7", "p64", "p300"]

    @Test("four greedy generations at once each equal the golden greedy24, in fewer passes than one at a time")
    func fourAtOnce() async throws {
        let golden = try TinyGolden.load()
        let pipeline = try LocalPipeline(model: try TinyModel.source(), format: nil, compute: try Compute(threads: 2))
        let results = try await concurrentGreedy(pipeline, prompts: try Self.prompts.map { ($0, try golden.prompt($0).ids) },
                                                 maxTokens: 24)
        for name in Self.prompts {
            #expect(results[name] == (try golden.prompt(name).greedy24), "\(name)")
        }
        // Alone, each generation takes 24 passes (its prompt, then 23 decode steps).
        let passes = await pipeline.stageLatencies().first?.passes ?? 0
        print("4 concurrent generations of 24 tokens: \(passes) passes instead of \(Self.prompts.count * 24)")
        #expect(passes > 0 && passes < Self.prompts.count * 24)
    }

    @Test("a chunk refused in a batch (LongRoPE factors its cache was not built with) fails alone; the others go on")
    func refusedSessionAlone() async throws {
        let golden = try TinyGolden.load()
        let pipeline = try LocalPipeline(model: try TinyModel.source(), format: nil, compute: try Compute(threads: 2))
        let generator = Generator(pipeline: pipeline)
        let p7 = try golden.prompt("p7"), p64 = try golden.prompt("p64")
        try await pipeline.openSession(SessionID(1), contextTokens: p7.ids.count + 24)
        try await pipeline.openSession(SessionID(2), contextTokens: p64.ids.count + 24)
        _ = try await pipeline.append(session: SessionID(2), tokens: p64.ids, ropeFactors: .short, logits: .none,
                                      chunkTokens: 512, progress: nil)
        let ok = Task { try await generator.generate(session: SessionID(1), prompt: p7.ids,
                                                     parameters: .greedy(maxTokens: 24, ignoreEOS: true)) }
        let refused = Task { try await pipeline.append(session: SessionID(2), tokens: [p64.ids[0]], ropeFactors: .long,
                                                       logits: .last, chunkTokens: 512, progress: nil) }
        await #expect(throws: KVCacheError.self) { _ = try await refused.value }
        let tokens = try await ok.value.tokens
        #expect(tokens == p7.greedy24)
        let log = try await pipeline.sessionLog(SessionID(2))
        #expect(log.tokens == p64.ids)
    }
}
