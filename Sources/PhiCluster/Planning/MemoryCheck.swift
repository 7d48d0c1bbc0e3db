import Foundation
import PhiModel

/// What the coordinator knows of a worker's memory before a job starts.
public struct WorkerMemory: Sendable, Equatable {
    public var name: String
    public var address: String
    public var layers: Range<Int>
    /// The manifest's `memory` for it: everything the worker holds must fit.
    public var budgetBytes: Int?
    /// What the worker reports free (`LoadInfo.free_memory_bytes`, the machine's MemAvailable);
    /// nil or 0 when unknown.
    public var freeBytes: Int?
    /// Weights it holds already (0 for a worker that has not loaded its layers).
    public var loadedWeightBytes: Int

    public init(name: String, address: String, layers: Range<Int>, budgetBytes: Int? = nil, freeBytes: Int? = nil,
                loadedWeightBytes: Int = 0) {
        self.name = name
        self.address = address
        self.layers = layers
        self.budgetBytes = budgetBytes
        self.freeBytes = freeBytes
        self.loadedWeightBytes = loadedWeightBytes
    }
}

/// The job cannot run on these workers: what does not fit, the plan, and what would fit.
public struct MemoryCheckError: Error, Equatable, CustomStringConvertible {
    public let problems: [String]
    public let table: String
    public let suggestions: [String]

    public var description: String {
        (["the job does not fit the workers' memory:"] + problems.map { "  - \($0)" }
            + ["plan:", table] + (suggestions.isEmpty ? [] : ["what would fit:"] + suggestions.map { "  - \($0)" }))
            .joined(separator: "\n")
    }
}

extension MemoryPlan {
    /// Checks, before any pass, that every worker can hold one session of `contextTokens`: its
    /// whole plan (weights, embedding rows, KV cache, scratch, runtime) within its manifest budget,
    /// and what it still has to allocate (KV cache and scratch, plus weights when not loaded yet)
    /// within the free memory it reports. Workers reporting from one machine (the same host)
    /// share that machine's free memory. Throws `MemoryCheckError` with the plan and what would fit:
    /// a split by the same budgets, the longest context this split holds, a smaller KV format.
    public static func check(workers: [WorkerMemory], config: ModelConfig, format: WeightFormat, kvFormat: KVFormat,
                             contextTokens: Int, chunkTokens: Int) throws {
        let problems = Self.problems(workers: workers, config: config, format: format, kvFormat: kvFormat,
                                     contextTokens: contextTokens, chunkTokens: chunkTokens)
        guard !problems.isEmpty else { return }
        let budgets = effectiveBudgets(workers: workers, config: config, format: format, contextTokens: contextTokens,
                                       chunkTokens: chunkTokens)
        let plan = MemoryPlan(config: config, format: format, kvFormat: kvFormat, contextTokens: contextTokens,
                              chunkTokens: chunkTokens, split: workers.map(\.layers), names: workers.map(\.name), budgets: budgets)
        var suggestions: [String] = []
        if budgets.allSatisfy({ $0 != nil }) {
            do {
                let split = try proposeSplit(config: config, format: format, kvFormat: kvFormat, contextTokens: contextTokens,
                                             chunkTokens: chunkTokens, budgets: budgets.compactMap { $0 })
                if split != workers.map(\.layers) {
                    suggestions.append("this split: " + zip(workers, split).map { "\($0.name) \(LayerRangeText.format($1))" }
                        .joined(separator: ", "))
                }
            } catch {
                suggestions.append("no split of \(contextTokens) tokens in \(kvFormat.rawValue) fits these workers: \(error)")
            }
        }
        let fitting = longestContext(workers: workers, config: config, format: format, kvFormat: kvFormat,
                                     below: contextTokens, chunkTokens: chunkTokens)
        if fitting > 0 { suggestions.append("a context of at most \(fitting) tokens with this split and \(kvFormat.rawValue) KV") }
        for smaller in KVFormat.allCases where smaller.bytesPerTokenPerLayer(config: config) < kvFormat.bytesPerTokenPerLayer(config: config) {
            if Self.problems(workers: workers, config: config, format: format, kvFormat: smaller, contextTokens: contextTokens,
                             chunkTokens: chunkTokens).isEmpty {
                suggestions.append("--kv \(smaller.rawValue) (the whole context fits with this split)")
                break
            }
        }
        throw MemoryCheckError(problems: problems, table: plan.nodeTable(), suggestions: suggestions)
    }

    /// One sentence per worker (or machine) that cannot hold the job; empty when all fit.
    static func problems(workers: [WorkerMemory], config: ModelConfig, format: WeightFormat, kvFormat: KVFormat,
                         contextTokens: Int, chunkTokens: Int) -> [String] {
        let plan = MemoryPlan(config: config, format: format, kvFormat: kvFormat, contextTokens: contextTokens,
                              chunkTokens: chunkTokens, split: workers.map(\.layers), names: workers.map(\.name),
                              budgets: workers.map(\.budgetBytes))
        var problems: [String] = []
        for (worker, node) in zip(workers, plan.nodes) where !node.fits {
            problems.append("worker '\(worker.name)' (layers \(LayerRangeText.format(worker.layers))) needs "
                + "\(ByteCount.format(node.totalBytes)) for \(contextTokens) tokens, beyond its budget of "
                + "\(ByteCount.format(worker.budgetBytes ?? 0)) in the manifest")
        }
        // Reported free memory, shared by the workers of one machine.
        var hosts: [String: [Int]] = [:]
        for (index, worker) in workers.enumerated() where (worker.freeBytes ?? 0) > 0 {
            hosts[NetworkAddress.host(of: worker.address) ?? worker.address, default: []].append(index)
        }
        for (host, indices) in hosts.sorted(by: { $0.key < $1.key }) {
            let needed = indices.reduce(0) { $0 + stillToAllocate(plan.nodes[$1], worker: workers[$1]) }
            let free = indices.compactMap { workers[$0].freeBytes }.min() ?? 0
            guard needed > free else { continue }
            let names = indices.map { "'\(workers[$0].name)'" }.joined(separator: ", ")
            problems.append((indices.count == 1 ? "worker \(names)" : "workers \(names) on \(host)")
                + " must still allocate \(ByteCount.format(needed)) (KV cache and scratch for \(contextTokens) tokens"
                + "\(indices.contains { workers[$0].loadedWeightBytes == 0 } ? ", and weights" : "")), "
                + "but report \(ByteCount.format(free)) free")
        }
        return problems
    }

    /// KV cache and scratch, plus the weights a worker has not loaded yet.
    private static func stillToAllocate(_ node: Node, worker: WorkerMemory) -> Int {
        node.kvBytes + node.scratchBytes + (worker.loadedWeightBytes == 0 ? node.weightBytes + node.embeddingBytes : 0)
    }

    /// Each worker's budget for proposing a split: the manifest's, else what it holds now plus
    /// its share of its machine's free memory.
    static func effectiveBudgets(workers: [WorkerMemory], config: ModelConfig, format: WeightFormat, contextTokens: Int,
                                 chunkTokens: Int) -> [Int?] {
        var sharing: [String: Int] = [:]
        for worker in workers { sharing[NetworkAddress.host(of: worker.address) ?? worker.address, default: 0] += 1 }
        return workers.map { worker in
            if let budget = worker.budgetBytes { return budget }
            guard let free = worker.freeBytes, free > 0 else { return nil }
            let share = free / max(1, sharing[NetworkAddress.host(of: worker.address) ?? worker.address] ?? 1)
            return share + worker.loadedWeightBytes + (worker.loadedWeightBytes > 0 ? runtimeBytes : 0)
        }
    }

    /// The longest context below `limit` (a multiple of 256, or 0) that passes the check.
    static func longestContext(workers: [WorkerMemory], config: ModelConfig, format: WeightFormat, kvFormat: KVFormat,
                               below limit: Int, chunkTokens: Int) -> Int {
        var low = 0, high = limit / 256
        while low < high {
            let middle = (low + high + 1) / 2
            if problems(workers: workers, config: config, format: format, kvFormat: kvFormat, contextTokens: middle * 256,
                        chunkTokens: chunkTokens).isEmpty {
                low = middle
            } else {
                high = middle - 1
            }
        }
        return low * 256
    }
}
