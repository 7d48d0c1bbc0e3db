import Foundation
import Logging
import PhiGeneration
import PhiTestSupport
import Testing

/// Several sessions generating at once through real phi-worker processes: a worker runs the
/// frames of different sessions waiting in its queue as one batched pass.
@Suite("concurrent sessions through a cluster of real workers", .serialized)
struct ConcurrentClusterTests {
    static let prompts = ["p1", "p7", "p64", "p300"]

    @Test("four greedy generations at once through the workers each equal the golden greedy24; the workers batched frames",
          arguments: [[0..<16, 16..<32], [0..<8, 8..<20, 20..<28, 28..<32]])
    func fourAtOnce(_ split: [Range<Int>]) async throws {
        let golden = try TinyGolden.load()
        let group = try WorkerGroup(split: split, extraArguments: ["--log-level", "debug"])
        let options = ClusterOptions(workers: group.workers.map { .init(name: $0.name, address: $0.address) },
                                     contextTokens: 512, maxSessions: 8)
        let pipeline = try await ClusterPipeline.connect(model: try TinyModel.source(), options: options,
                                                         logger: Logger(label: "test-coordinator"))
        let results = try await concurrentGreedy(pipeline, prompts: try Self.prompts.map { ($0, try golden.prompt($0).ids) },
                                                 maxTokens: 24)
        await pipeline.close()
        for name in Self.prompts {
            #expect(results[name] == (try golden.prompt(name).greedy24), "\(name) through \(split)")
        }
        let batched = group.workers.map { worker in
            worker.log.split(separator: "\n").filter { $0.contains("computed session") && $0.contains("batch of") }.count
        }
        print("frames computed in batches, per worker: \(batched)")
        #expect(batched.reduce(0, +) > 0, "no worker ran two sessions' frames in one pass")
    }
}
