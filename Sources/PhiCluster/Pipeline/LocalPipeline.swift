import PhiModel

/// Every stage in this process, run one after another on a thread of its own: the embedded
/// default (`Stage(0..<32)`), or a split run in-process to check it against the cluster.
/// Concurrent sessions' chunks waiting at the same time run as one batched pass.
public actor LocalPipeline: Pipeline, StageLatencyReporting {
    public nonisolated let config: ModelConfig
    private let stages: [Stage]
    private var sessions: [SessionID: (log: SessionLog, caches: [KVCache])] = [:]
    private var scratch = Scratch()
    /// Passes and time per stage, for `/metrics`.
    private var stageTimes: [(passes: Int, total: Duration)] = []
    private let executor: DedicatedThreadExecutor
    /// Element type of every session's KV caches.
    public nonisolated let kvFormat: KVFormat

    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    /// `stages` must cover the model's layers in order, each starting where the previous ends.
    public init(stages: [Stage], kvFormat: KVFormat = .f32) throws {
        guard let first = stages.first else { throw LayerCoverageError.empty }
        try LayerCoverage.check(stages.map(\.layers), layerCount: first.config.layerCount)
        config = first.config
        self.stages = stages
        self.kvFormat = kvFormat
        executor = DedicatedThreadExecutor(name: "phi-local-pipeline")
    }

    /// One stage of every layer of `model`.
    public init(model: ModelSource, format: WeightFormat?, compute: Compute, split: [Range<Int>]? = nil,
                kvFormat: KVFormat = .f32) throws {
        let ranges = split ?? [model.config.allLayers]
        try self.init(stages: try ranges.map { try model.loadStage(layers: $0, format: format, compute: compute) }, kvFormat: kvFormat)
    }

    public func openSession(_ session: SessionID, contextTokens: Int) throws {
        let caches = try stages.map { try KVCache(config: config, layers: $0.layers, capacity: contextTokens, format: kvFormat) }
        sessions[session] = (SessionLog(contextTokens: contextTokens), caches)
    }

    public func closeSession(_ session: SessionID) {
        sessions[session] = nil
    }

    public func append(session: SessionID, tokens: [Int], ropeFactors: RopeFactorSet, logits: LogitsRequest,
                       chunkTokens: Int, progress: (@Sendable (Int) -> Void)?) async throws -> ForwardResult {
        // The log alone: a copy of the caches held across the passes would make them shared and
        // have the stages copy their storage before writing.
        guard let log = sessions[session]?.log else { throw PipelineError.unknownSession(session) }
        try log.checkRoom(for: tokens.count, session: session)
        // Chunks of two appends of one session must not interleave in its cache.
        guard appending.insert(session).inserted else { throw PipelineError.sessionBusy(session) }
        defer { appending.remove(session) }
        var result = ForwardResult()
        var argmax: [Int] = []
        let chunk = max(1, chunkTokens)
        var done = 0
        while done < tokens.count {
            let count = min(chunk, tokens.count - done)
            let isLastChunk = done + count == tokens.count
            let rows: PassJob.Rows = switch logits {
            case .none: .none
            case .last, .lastArgmax: isLastChunk ? .last : .none
            case .argmaxAndLast: .all
            }
            let output = try await pass(session: session, tokens: Array(tokens[done..<(done + count)]), ropeFactors: ropeFactors,
                                        rows: rows)
            let vocabulary = config.vocabularySize
            switch logits {
            case .none:
                break
            case .last:
                if isLastChunk { result.lastLogits = output }
            case .lastArgmax:
                if isLastChunk { argmax = Logits.argmaxOfRows(output, rows: 1, width: vocabulary) }
            case .argmaxAndLast:
                argmax += Logits.argmaxOfRows(output, rows: count, width: vocabulary)
                if isLastChunk { result.lastLogits = Array(output[((count - 1) * vocabulary)...]) }
            }
            done += count
            progress?(done)
        }
        if logits == .argmaxAndLast || logits == .lastArgmax { result.argmax = argmax }
        return result
    }

    /// One chunk of one session waiting for a pass, and the logits rows it needs back.
    private struct PassJob {
        enum Rows { case none, last, all }
        let session: SessionID
        let tokens: [Int]
        let ropeFactors: RopeFactorSet
        let rows: Rows
        let continuation: CheckedContinuation<[Float], any Error>
    }

    private var queue: [PassJob] = []
    private var isDraining = false
    /// Sessions with an append running.
    private var appending = Set<SessionID>()

    /// Runs `tokens` of `session` at the positions after its cached ones through every stage, in
    /// a pass shared with whatever other sessions' chunks are waiting (concurrent requests'
    /// decode steps read the weights once between them). Returns the logits of `rows`.
    private func pass(session: SessionID, tokens: [Int], ropeFactors: RopeFactorSet, rows: PassJob.Rows) async throws -> [Float] {
        try await withCheckedThrowingContinuation { continuation in
            queue.append(PassJob(session: session, tokens: tokens, ropeFactors: ropeFactors, rows: rows, continuation: continuation))
            if !isDraining {
                isDraining = true
                Task { await self.drain() }
            }
        }
    }

    /// Runs batches while chunks wait, yielding between them so that requests arriving meanwhile
    /// queue their chunks for the next batch.
    private func drain() async {
        while !queue.isEmpty {
            runBatch(takeBatch())
            await Task.yield()
        }
        isDraining = false
    }

    /// The chunks of the next pass (`PassBatch`).
    private func takeBatch() -> [PassJob] {
        PassBatch.take(from: &queue, session: { $0.session }, tokens: { $0.tokens.count })
    }

    /// One pass of `jobs` (distinct sessions) through every stage; resumes each job with its
    /// logits or the error that refused it. A job refused before the pass leaves its session as
    /// it was; the others run.
    private func runBatch(_ jobs: [PassJob]) {
        var accepted: [PassJob] = []
        var states: [(log: SessionLog, caches: [KVCache])] = []
        var entries: [Stage.BatchEntry] = []
        for job in jobs {
            do {
                guard var state = sessions.removeValue(forKey: job.session) else { throw PipelineError.unknownSession(job.session) }
                let start = state.log.tokens.count
                let positions = start..<(start + job.tokens.count)
                do {
                    try state.log.checkRoom(for: job.tokens.count, session: job.session)
                    for cache in state.caches { try cache.checkAppend(positions: positions, factors: job.ropeFactors) }
                    // Checked here so that one bad id fails its own request, not the batch's.
                    if let token = job.tokens.first(where: { $0 < 0 || $0 >= config.vocabularySize }) {
                        throw StageError.tokenOutOfRange(token: token, vocabularySize: config.vocabularySize)
                    }
                } catch {
                    sessions[job.session] = state
                    throw error
                }
                // The caches move into the pass's arrays so each stays uniquely referenced.
                let caches = state.caches
                state.caches = []
                states.append((state.log, caches))
                accepted.append(job)
                entries.append(Stage.BatchEntry(positions: positions, ropeFactors: job.ropeFactors))
            } catch {
                job.continuation.resume(throwing: error)
            }
        }
        guard !accepted.isEmpty else { return }
        var stageCaches: [[KVCache]] = stages.indices.map { index in states.map { $0.caches[index] } }
        for index in states.indices { states[index].caches = [] }
        var outcome: Result<[[Float]], any Error>
        do {
            outcome = .success(try runStages(accepted, entries: entries, caches: &stageCaches))
        } catch {
            outcome = .failure(error)
        }
        for (index, job) in accepted.enumerated() {
            var state = states[index]
            state.caches = stageCaches.map { $0[index] }
            if case .success = outcome { state.log.append(job.tokens, ropeFactors: job.ropeFactors) }
            sessions[job.session] = state
        }
        stageCaches = []
        switch outcome {
        case let .success(outputs):
            for (job, output) in zip(accepted, outputs) { job.continuation.resume(returning: output) }
        case let .failure(error):
            for job in accepted { job.continuation.resume(throwing: error) }
        }
    }

    /// The jobs' tokens through every stage in one batched pass; each job's logits rows.
    private func runStages(_ jobs: [PassJob], entries: [Stage.BatchEntry], caches: inout [[KVCache]]) throws -> [[Float]] {
        var hidden = Activations(zeros: 0, width: config.hiddenSize)
        if stageTimes.count != stages.count { stageTimes = Array(repeating: (0, .zero), count: stages.count) }
        for (index, stage) in stages.enumerated() {
            let began = ContinuousClock.now
            if stage.isFirstStage { hidden = try stage.embed(tokens: jobs.flatMap(\.tokens)) }
            try stage.run(&hidden, batch: entries, caches: &caches[index], scratch: &scratch)
            stageTimes[index].passes += 1
            stageTimes[index].total += ContinuousClock.now - began
        }
        guard let last = stages.last else { return jobs.map { _ in [] } }
        var rows: [Int] = []
        var row = 0
        for job in jobs {
            switch job.rows {
            case .none: break
            case .last: rows.append(row + job.tokens.count - 1)
            case .all: rows.append(contentsOf: row..<(row + job.tokens.count))
            }
            row += job.tokens.count
        }
        let logits = rows.isEmpty ? [] : try last.logits(from: hidden, rows: rows, scratch: &scratch)
        let vocabulary = config.vocabularySize
        var taken = 0
        return jobs.map { job in
            let count = switch job.rows {
            case .none: 0
            case .last: 1
            case .all: job.tokens.count
            }
            defer { taken += count }
            return Array(logits[(taken * vocabulary)..<((taken + count) * vocabulary)])
        }
    }

    public func truncate(session: SessionID, toTokens tokens: Int) throws {
        guard var state = sessions.removeValue(forKey: session) else { throw PipelineError.unknownSession(session) }
        state.log.truncate(toTokens: tokens)
        for index in state.caches.indices { state.caches[index].truncate(toTokens: tokens) }
        sessions[session] = state
    }

    public func stageLatencies() -> [StageLatency] {
        zip(stages, stageTimes).map { StageLatency(name: "local", layers: $0.layers, passes: $1.passes, total: $1.total) }
    }

    public func health() -> [StageHealth] {
        stages.map { StageHealth(name: "local", address: nil, layers: $0.layers, state: .ready) }
    }

    public func sessionLog(_ session: SessionID) throws -> SessionLog {
        guard let state = sessions[session] else { throw PipelineError.unknownSession(session) }
        return state.log
    }
}
