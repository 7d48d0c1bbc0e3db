import Foundation
import PhiTestSupport
import Testing
@testable import PhiCluster

@Suite("the memory check before a job")
struct MemoryCheckTests {
    let phi4: ModelConfig
    init() throws { phi4 = try ModelConfig.load(directory: Fixtures.phi4MiniConfig) }

    /// Two workers with their q4_0 layers loaded, reporting `free` bytes each.
    func workers(hosts: [String], free: Int) -> [WorkerMemory] {
        let weights = 16 * MemoryPlan.layerBytes(config: phi4, format: .q4_0)
        return zip(hosts, [0..<16, 16..<32]).enumerated().map { index, pair in
            WorkerMemory(name: "w\(index + 1)", address: "tcp://\(pair.0):5600", layers: pair.1, freeBytes: free,
                         loadedWeightBytes: weights)
        }
    }

    /// What one worker must still allocate at `context`: its KV cache (16 layers) and scratch.
    func needed(context: Int, kv: KVFormat = .f16) -> Int {
        MemoryPlan.kvBytes(config: phi4, format: kv, layers: 16, tokens: context)
            + Scratch.bytes(tokens: 512, config: phi4, isLastStage: true)
    }

    @Test("workers on one machine share its free memory; on two machines each has its own")
    func sharedMachine() throws {
        let free = needed(context: 32768) * 3 / 2
        try MemoryPlan.check(workers: workers(hosts: ["10.0.0.1", "10.0.0.2"], free: free), config: phi4, format: .q4_0,
                             kvFormat: .f16, contextTokens: 32768, chunkTokens: 512)
        let error = try #require(throws: MemoryCheckError.self) {
            try MemoryPlan.check(workers: workers(hosts: ["10.0.0.1", "10.0.0.1"], free: free), config: phi4, format: .q4_0,
                                 kvFormat: .f16, contextTokens: 32768, chunkTokens: 512)
        }
        #expect(error.problems.count == 1)
        #expect(error.problems[0].contains("'w1', 'w2' on 10.0.0.1") && error.problems[0].contains("report"))
        #expect(error.description.contains("node           layers"))
    }

    @Test("a refusal says how long a context fits and which smaller KV format would hold the whole one")
    func suggestions() throws {
        // Room for 20K tokens of f16 (so 40K of q8_0 at 128 dims a head, whole blocks) on separate machines.
        let free = needed(context: 20480)
        let error = try #require(throws: MemoryCheckError.self) {
            try MemoryPlan.check(workers: workers(hosts: ["10.0.0.1", "10.0.0.2"], free: free), config: phi4, format: .q4_0,
                                 kvFormat: .f16, contextTokens: 32768, chunkTokens: 512)
        }
        let longest = try #require(error.suggestions.first { $0.contains("a context of at most") })
        let tokens = try #require(Int(longest.split(separator: " ")[5]))
        #expect(tokens >= 20480 - 256 && tokens <= 20480)
        #expect(error.suggestions.contains { $0.contains("--kv q8_0") })
    }
}
