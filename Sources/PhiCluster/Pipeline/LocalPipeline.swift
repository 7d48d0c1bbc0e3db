import PhiModel

/// Every stage in this process, run one after another on a thread of its own: the embedded
/// default (`Stage(0..<32)`), or a split run in-process to check it against the cluster.
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
                       chunkTokens: Int, progress: (@Sendable (Int) -> Void)?) throws -> ForwardResult {
        guard var state = sessions.removeValue(forKey: session) else { throw PipelineError.unknownSession(session) }
        defer { sessions[session] = state }
        try state.log.checkRoom(for: tokens.count, session: session)
        var result = ForwardResult()
        var argmax: [Int] = []
        let chunk = max(1, chunkTokens)
        var done = 0
        while done < tokens.count {
            let count = min(chunk, tokens.count - done)
            let start = state.log.tokens.count
            let isLastChunk = done + count == tokens.count
            let piece = Array(tokens[done..<(done + count)])
            var hidden = Activations(zeros: 0, width: config.hiddenSize)
            if stageTimes.count != stages.count { stageTimes = Array(repeating: (0, .zero), count: stages.count) }
            for (index, stage) in stages.enumerated() {
                let began = ContinuousClock.now
                if stage.isFirstStage { hidden = try stage.embed(tokens: piece) }
                try stage.run(&hidden, positions: start..<(start + count), ropeFactors: ropeFactors,
                              cache: &state.caches[index], scratch: &scratch)
                stageTimes[index].passes += 1
                stageTimes[index].total += ContinuousClock.now - began
            }
            state.log.append(piece, ropeFactors: ropeFactors)
            if let last = stages.last {
                switch logits {
                case .none:
                    break
                case .last where isLastChunk:
                    result.lastLogits = try last.logits(from: hidden, tokens: (count - 1)..<count, scratch: &scratch)
                case .last:
                    break
                case .lastArgmax where isLastChunk:
                    let logits = try last.logits(from: hidden, tokens: (count - 1)..<count, scratch: &scratch)
                    argmax = Logits.argmaxOfRows(logits, rows: 1, width: config.vocabularySize)
                case .lastArgmax:
                    break
                case .argmaxAndLast:
                    let all = try last.logits(from: hidden, tokens: 0..<count, scratch: &scratch)
                    argmax += Logits.argmaxOfRows(all, rows: count, width: config.vocabularySize)
                    if isLastChunk { result.lastLogits = Array(all[((count - 1) * config.vocabularySize)...]) }
                }
            }
            done += count
            progress?(done)
        }
        if logits == .argmaxAndLast || logits == .lastArgmax { result.argmax = argmax }
        return result
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
