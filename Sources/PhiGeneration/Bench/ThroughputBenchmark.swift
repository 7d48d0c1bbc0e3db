import Foundation

/// Prefill and decode speed of a pipeline, measured as llama-bench measures them: prefill is a
/// prompt of `promptTokens` random ids run into an empty session (pp512); decode is
/// `generatedTokens` single-token passes, each sampled greedily from the previous logits, after
/// `depth` cached positions (tg128 at depth 0). Each is repeated `repetitions` times in fresh
/// sessions after one untimed warm-up.
public struct ThroughputBenchmark: Sendable {
    public var promptTokens: Int
    public var generatedTokens: Int
    /// Cached positions before the decode passes (llama-bench's `-d`).
    public var depth: Int
    public var repetitions: Int
    /// Tokens per prefill pass through the pipeline.
    public var chunkTokens: Int
    /// Seed of the random prompt ids.
    public var seed: UInt64

    public init(promptTokens: Int = 512, generatedTokens: Int = 128, depth: Int = 0, repetitions: Int = 3,
                chunkTokens: Int = Generator.defaultChunkTokens, seed: UInt64 = 1) {
        self.promptTokens = promptTokens
        self.generatedTokens = generatedTokens
        self.depth = depth
        self.repetitions = repetitions
        self.chunkTokens = chunkTokens
        self.seed = seed
    }

    /// Positions a session of this benchmark needs at most.
    public var contextTokens: Int { max(promptTokens, max(depth, 1) + generatedTokens + 1) }

    /// One timed phase: its rates and, on a cluster, each worker's counters over the phase.
    public struct Phase: Sendable {
        public let rate: RateSummary
        /// Tokens the phase ran per repetition (prompt tokens, or decode passes).
        public let tokensPerRun: Int
        public let workers: [ClusterPipeline.WorkerStats]?
    }

    /// Runs the prefill repetitions (when `promptTokens > 0`), then the decode ones (when
    /// `generatedTokens > 0`). `log` hears a line after each repetition.
    public func run(on pipeline: any Pipeline, log: (@Sendable (String) -> Void)? = nil) async throws
        -> (prefill: Phase?, decode: Phase?) {
        var ids = RandomTokens(seed: seed, vocabularySize: pipeline.config.vocabularySize)
        let generator = Generator(pipeline: pipeline, chunkTokens: chunkTokens)
        let session = SessionID(UInt64(0xbe_0000))
        try await warmUp(generator, session: session, ids: &ids)
        var prefill: Phase?
        if promptTokens > 0 {
            let before = try await Self.workerStats(pipeline, reset: true)
            var rates: [Double] = []
            for run in 0..<repetitions {
                try await pipeline.openSession(session, contextTokens: promptTokens)
                var result = GenerationResult()
                _ = try await generator.prefill(session: session, prompt: ids.next(promptTokens), result: &result)
                rates.append(Double(promptTokens) / result.prefillDuration.seconds)
                log?("prefill \(run + 1)/\(repetitions): \(RateSummary.format(rates[run])) tokens/s")
            }
            await pipeline.closeSession(session)
            prefill = Phase(rate: RateSummary(samples: rates), tokensPerRun: promptTokens,
                            workers: before == nil ? nil : try await Self.workerStats(pipeline, reset: true))
        }
        var decode: Phase?
        if generatedTokens > 0 {
            _ = try await Self.workerStats(pipeline, reset: true)
            var rates: [Double] = []
            for run in 0..<repetitions {
                let result = try await decodeRun(generator, session: session, ids: &ids)
                rates.append(Double(generatedTokens) / result.decodeDuration.seconds)
                log?("decode \(run + 1)/\(repetitions): \(RateSummary.format(rates[run])) tokens/s")
            }
            await pipeline.closeSession(session)
            decode = Phase(rate: RateSummary(samples: rates), tokensPerRun: generatedTokens,
                           workers: try await Self.workerStats(pipeline, reset: true))
        }
        return (prefill, decode)
    }

    /// Total decode passes per second of `sessions` sessions generating at once (each in a task
    /// of its own, so their frames overlap in a cluster's ring), counting every single-token pass
    /// from the first to the last. With `sessions: 1` it is the single-stream figure to compare.
    public func concurrentDecode(on pipeline: any Pipeline, sessions: Int) async throws -> Double {
        var ids = RandomTokens(seed: seed &+ 7, vocabularySize: pipeline.config.vocabularySize)
        let generator = Generator(pipeline: pipeline, chunkTokens: chunkTokens)
        let prompts = (0..<sessions).map { _ in ids.next(1) }
        let sessionIDs = (0..<sessions).map { SessionID(UInt64(0xc0_0000 + $0)) }
        for session in sessionIDs { try await pipeline.openSession(session, contextTokens: 1 + generatedTokens + 1) }
        let parameters = SamplingParameters.greedy(maxTokens: generatedTokens + 1, ignoreEOS: true)
        let start = ContinuousClock.now
        let passes = try await withThrowingTaskGroup(of: Int.self) { group in
            for (session, prompt) in zip(sessionIDs, prompts) {
                group.addTask {
                    let result = try await generator.generate(session: session, prompt: prompt, parameters: parameters)
                    return result.prefillTokensComputed + result.tokens.count - 1
                }
            }
            return try await group.reduce(0, +)
        }
        let elapsed = (ContinuousClock.now - start).seconds
        for session in sessionIDs { await pipeline.closeSession(session) }
        return Double(passes) / elapsed
    }

    /// A short untimed prefill and two decode passes: faults in pages, wakes the pools, connects.
    private func warmUp(_ generator: Generator, session: SessionID, ids: inout RandomTokens) async throws {
        try await generator.pipeline.openSession(session, contextTokens: 16 + 3)
        _ = try await generator.generate(session: session, prompt: ids.next(16),
                                         parameters: .greedy(maxTokens: 3, ignoreEOS: true))
        await generator.pipeline.closeSession(session)
    }

    /// One decode repetition: `depth` positions prefilled untimed (at least one token, which
    /// gives the first logits), then `generatedTokens` timed passes.
    private func decodeRun(_ generator: Generator, session: SessionID, ids: inout RandomTokens) async throws -> GenerationResult {
        let prompt = ids.next(max(depth, 1))
        try await generator.pipeline.openSession(session, contextTokens: prompt.count + generatedTokens + 1)
        // generatedTokens + 1 sampled tokens: the first comes from the prompt's logits, each of
        // the others from one decode pass.
        let result = try await generator.generate(session: session, prompt: prompt,
                                                  parameters: .greedy(maxTokens: generatedTokens + 1, ignoreEOS: true))
        guard result.tokens.count == generatedTokens + 1 else {
            throw BenchmarkError.shortGeneration(expected: generatedTokens + 1, produced: result.tokens.count)
        }
        return result
    }

    static func workerStats(_ pipeline: any Pipeline, reset: Bool) async throws -> [ClusterPipeline.WorkerStats]? {
        guard let cluster = pipeline as? ClusterPipeline else { return nil }
        return try await cluster.workerStats(reset: reset)
    }
}

/// Token ids drawn uniformly from the vocabulary (llama-bench also times random ids), seeded so
/// runs are repeatable.
struct RandomTokens {
    private var state: UInt64
    let vocabularySize: Int

    init(seed: UInt64, vocabularySize: Int) {
        state = seed
        self.vocabularySize = vocabularySize
    }

    /// SplitMix64 (Steele, Lea and Flood), reduced to the vocabulary.
    mutating func next(_ count: Int) -> [Int] {
        (0..<count).map { _ in
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Int((z ^ (z >> 31)) % UInt64(vocabularySize))
        }
    }
}

public enum BenchmarkError: Error, Equatable, CustomStringConvertible {
    case shortGeneration(expected: Int, produced: Int)
    case invalidSplit(String)
    case logitShape(reference: Int, model: Int, rows: Int, width: Int)

    public var description: String {
        switch self {
        case let .shortGeneration(expected, produced): "a decode run produced \(produced) tokens, expected \(expected)"
        case let .invalidSplit(reason): "invalid split for the pipeline comparison: \(reason)"
        case let .logitShape(reference, model, rows, width):
            "logits to compare hold \(reference) and \(model) values, expected \(rows) rows × \(width)"
        }
    }
}
