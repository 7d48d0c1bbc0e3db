import Foundation
import PhiModel
import Synchronization

/// A worker's stage and the KV caches of its sessions, run on a thread of its own so long passes
/// never block the listener (which must keep answering health checks meanwhile).
public actor StageService {
    private let executor = DedicatedThreadExecutor(name: "phi-stage")
    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    public private(set) var stage: Stage?
    private var sessions: [UInt64: KVCache] = [:]
    private var lastUse: [UInt64: UInt64] = [:]
    private var useCounter: UInt64 = 0
    private var scratch = Scratch()
    /// Positions each session's cache holds at most (from the coordinator's Configure).
    public private(set) var contextTokens: Int
    public private(set) var maxSessions: Int
    /// Element type of the caches of sessions created from now on (the coordinator's Configure).
    public private(set) var kvFormat: KVFormat = .f32

    public init(contextTokens: Int, maxSessions: Int) {
        self.contextTokens = contextTokens
        self.maxSessions = maxSessions
    }

    /// What health checks, stats and load reports read: published after every operation, so they
    /// are answered at once while a long pass keeps the stage thread busy.
    public struct Status: Sendable, Equatable {
        public var layers: Range<Int> = 0..<0
        public var sessions = 0
        public var cachedTokens = 0
        public var cachedBytes = 0
        public var weightBytes = 0
        public var kvFormat: KVFormat = .f32
        /// The format the loaded weights run in; nil without layers.
        public var weightFormat: WeightFormat?
    }

    private nonisolated let published = Mutex(Status())

    /// The status as of the last operation.
    public nonisolated var status: Status { published.withLock { $0 } }

    private func publish() {
        let status = Status(layers: layers, sessions: sessions.count, cachedTokens: cachedTokens, cachedBytes: cachedBytes,
                            weightBytes: stage?.weightBytes ?? 0, kvFormat: kvFormat, weightFormat: stage?.weightFormat)
        published.withLock { $0 = status }
    }

    public var layers: Range<Int> { stage?.layers ?? 0..<0 }
    public var sessionCount: Int { sessions.count }
    public var cachedTokens: Int { sessions.values.reduce(0) { $0 + $1.tokenCount } }
    /// Bytes the sessions' valid positions occupy.
    public var cachedBytes: Int { sessions.values.reduce(0) { $0 + $1.usedBytes } }

    /// Loads the weights of `layers` (replacing any stage and dropping every session).
    public func load(model: ModelSource, layers: Range<Int>, format: WeightFormat?, compute: Compute) throws {
        stage = nil
        sessions = [:]
        defer { publish() }
        stage = try model.loadStage(layers: layers, format: format, compute: compute)
    }

    /// New budgets and KV format apply to sessions created from now on.
    public func configure(contextTokens: Int, maxSessions: Int, kvFormat: KVFormat = .f32) {
        self.contextTokens = contextTokens
        self.maxSessions = maxSessions
        self.kvFormat = kvFormat
        publish()
    }

    public func reset(session: UInt64?) {
        defer { publish() }
        if let session {
            sessions[session] = nil
            lastUse[session] = nil
        } else {
            sessions = [:]
            lastUse = [:]
        }
    }

    public func trim(session: UInt64, keepTokens: Int) {
        defer { publish() }
        sessions[session]?.truncate(toTokens: keepTokens)
    }

    /// What a frame produced: hidden states for the next worker, or the last stage's result.
    public enum Output: Sendable {
        case hidden(ActivationFrame.HiddenStates)
        case logits(LogitsFrame)
    }

    /// Runs the frame through the stage's layers. Throws a `StageFailure` naming what is wrong
    /// (wrong layers, unknown session, a gap, a full context) without touching any cache.
    public func process(_ frame: ActivationFrame, wireDType: WireDType) throws(StageFailure) -> Output {
        guard let result = process([frame], wireDType: wireDType).first else { throw StageFailure(.internal, "no result") }
        return try result.get()
    }

    /// Runs frames of different sessions through the stage's layers in one pass, so concurrent
    /// sessions' decode steps share one read of the weights. Returns each frame's output, or the
    /// `StageFailure` naming what is wrong with it (wrong layers, unknown session, a gap, a full
    /// context); a refused frame leaves its session's cache untouched and does not hold up the
    /// others. Frames of one session run in their order, in successive passes.
    public func process(_ frames: [ActivationFrame], wireDType: WireDType) -> [Result<Output, StageFailure>] {
        var results = [Result<Output, StageFailure>](repeating: .failure(StageFailure(.internal, "not run")), count: frames.count)
        var remaining = Array(frames.indices)
        while !remaining.isEmpty {
            var round: [Int] = []
            var later: [Int] = []
            var sessionsInRound = Set<UInt64>()
            for index in remaining {
                if sessionsInRound.insert(frames[index].sessionID).inserted { round.append(index) } else { later.append(index) }
            }
            let outputs = run(round.map { frames[$0] }, wireDType: wireDType)
            for (index, output) in zip(round, outputs) { results[index] = output }
            remaining = later
        }
        return results
    }

    /// One pass over frames of distinct sessions.
    private func run(_ frames: [ActivationFrame], wireDType: WireDType) -> [Result<Output, StageFailure>] {
        guard let stage else { return frames.map { _ in .failure(StageFailure(.notReady, "this worker has no layers loaded yet")) } }
        var results = [Result<Output, StageFailure>](repeating: .failure(StageFailure(.internal, "not run")), count: frames.count)
        var accepted: [Int] = []
        var entries: [Stage.BatchEntry] = []
        var caches: [KVCache] = []
        var values: [Float] = []
        for (index, frame) in frames.enumerated() {
            do throws(StageFailure) {
                guard frame.tokenCount > 0 else {
                    throw StageFailure(.invalidField, "a frame needs at least one token", field: "ActivationFrame")
                }
                let hidden = try input(of: frame, stage: stage)
                let cache = try takeCache(for: frame, taken: accepted.map { frames[$0].sessionID })
                let factors: RopeFactorSet = frame.ropeFactors == .long ? .long : .short
                do {
                    try cache.checkAppend(positions: frame.positions, factors: factors)
                } catch {
                    sessions[frame.sessionID] = cache
                    useCounter += 1
                    lastUse[frame.sessionID] = useCounter
                    if case .full = error as? KVCacheError {
                        throw StageFailure(.contextFull, "\(error)", field: "ActivationFrame.first_position")
                    }
                    throw StageFailure(.invalidField, "\(error)", field: "ActivationFrame.first_position")
                }
                accepted.append(index)
                entries.append(Stage.BatchEntry(positions: frame.positions, ropeFactors: factors))
                caches.append(cache)
                values.append(contentsOf: hidden.values)
            } catch {
                results[index] = .failure(error)
            }
        }
        defer { publish() }
        guard !accepted.isEmpty else { return results }
        var hidden = Activations(tokenCount: entries.reduce(0) { $0 + $1.positions.count }, width: stage.config.hiddenSize,
                                 values: values)
        values = []
        var passFailure: StageFailure?
        do {
            try stage.run(&hidden, batch: entries, caches: &caches, scratch: &scratch)
        } catch {
            passFailure = StageFailure(.internal, "\(error)")
        }
        for (index, cache) in zip(accepted, caches) {
            let session = frames[index].sessionID
            sessions[session] = cache
            useCounter += 1
            lastUse[session] = useCounter
        }
        caches = []
        if let passFailure {
            for index in accepted { results[index] = .failure(passFailure) }
            return results
        }
        // Each accepted frame's rows, in order, and what it asked the last stage for.
        var row = 0
        var outputRows: [Int] = []
        var spans: [(index: Int, rows: Range<Int>)] = []
        for index in accepted {
            let frame = frames[index]
            let rows = row..<(row + frame.tokenCount)
            row += frame.tokenCount
            spans.append((index, rows))
            guard stage.isLastStage else { continue }
            switch frame.output {
            case .none: break
            case .lastLogits, .lastArgmax: outputRows.append(rows.upperBound - 1)
            case .argmaxAndLastLogits, .allLogits: outputRows.append(contentsOf: rows)
            }
        }
        guard stage.isLastStage else {
            for (index, rows) in spans {
                do {
                    let slice = Array(hidden.values[(rows.lowerBound * hidden.width)..<(rows.upperBound * hidden.width)])
                    results[index] = .success(.hidden(try ActivationFrame.HiddenStates(values: slice, hiddenSize: hidden.width,
                                                                                       dtype: wireDType)))
                } catch {
                    results[index] = .failure(StageFailure(.internal, "\(error)"))
                }
            }
            return results
        }
        // One pass of the output head for every row any frame asked about.
        let vocabulary = stage.config.vocabularySize
        let logits: [Float]
        do {
            logits = outputRows.isEmpty ? [] : try stage.logits(from: hidden, rows: outputRows, scratch: &scratch)
        } catch {
            for index in accepted { results[index] = .failure(StageFailure(.internal, "\(error)")) }
            return results
        }
        var taken = 0
        for (index, rows) in spans {
            let frame = frames[index]
            let count = frame.output == .none ? 0
                : (frame.output == .lastLogits || frame.output == .lastArgmax) ? 1 : rows.count
            let mine = Array(logits[(taken * vocabulary)..<((taken + count) * vocabulary)])
            taken += count
            results[index] = .success(.logits(logitsFrame(for: frame, logits: mine, vocabulary: vocabulary)))
        }
        return results
    }

    /// The frame's input as hidden states: its token ids embedded (first stage) or its hidden
    /// states checked against the model's width.
    private func input(of frame: ActivationFrame, stage: Stage) throws(StageFailure) -> Activations {
        guard frame.layerBegin == stage.layers.lowerBound else {
            throw StageFailure(.wrongLayers, "frame expects a stage starting at layer \(frame.layerBegin), "
                + "this worker holds layers \(LayerRangeText.format(stage.layers))", field: "ActivationFrame.layer_begin")
        }
        switch frame.input {
        case let .tokens(ids):
            guard stage.isFirstStage else {
                throw StageFailure(.invalidField, "token ids sent to layers \(LayerRangeText.format(stage.layers)), "
                    + "which do not hold the embedding", field: "ActivationFrame.tokens")
            }
            do { return try stage.embed(tokens: ids) } catch {
                throw StageFailure(.invalidField, "\(error)", field: "ActivationFrame.tokens")
            }
        case let .hidden(states):
            guard !stage.isFirstStage else {
                throw StageFailure(.invalidField, "hidden states sent to the first stage, which takes token ids",
                                   field: "ActivationFrame.hidden")
            }
            guard states.hiddenSize == stage.config.hiddenSize else {
                throw StageFailure(.invalidField, "hidden states of width \(states.hiddenSize), the model's is \(stage.config.hiddenSize)",
                                   field: "ActivationFrame.hidden.hidden_size")
            }
            return Activations(tokenCount: states.tokenCount, width: states.hiddenSize, values: states.values())
        }
    }

    /// The session's cache, created for a frame starting at position 0; a frame that would leave a
    /// gap or a new session beyond the limit is refused.
    /// `taken` are the sessions whose caches the pass being assembled holds already (out of
    /// `sessions`, but still counted and never evicted).
    private func takeCache(for frame: ActivationFrame, taken: [UInt64] = []) throws(StageFailure) -> KVCache {
        if let cache = sessions.removeValue(forKey: frame.sessionID) { return cache }
        guard frame.firstPosition == 0 else {
            throw StageFailure(.unknownSession, "session \(frame.sessionID) is unknown here and the frame starts at position "
                + "\(frame.firstPosition), not 0", field: "ActivationFrame.session_id")
        }
        do {
            return try newCache(taken: taken)
        } catch {
            throw StageFailure(.contextFull, "\(error)")
        }
    }

    /// An empty cache for a new session, evicting the least recently used one at the limit.
    private func newCache(taken: [UInt64] = []) throws -> KVCache {
        if sessions.count + taken.count >= maxSessions,
           let oldest = lastUse.filter({ !taken.contains($0.key) }).min(by: { $0.value < $1.value })?.key {
            // The coordinator bounds its sessions too; this only guards a worker's memory.
            sessions[oldest] = nil
            lastUse[oldest] = nil
        }
        guard let stage else { throw KVCheckpointError.noStage }
        return try KVCache(config: stage.config, layers: stage.layers, capacity: contextTokens, format: kvFormat)
    }

    /// Writes positions `positions` of `session`'s cache as a segment of `job` in `store`.
    public func saveKV(session: UInt64, job: String, positions: Range<Int>, store: KVCheckpointStore) throws -> KVSaved {
        guard let stage else { throw KVCheckpointError.noStage }
        guard let cache = sessions[session], cache.tokenCount >= positions.upperBound else {
            throw KVCheckpointError.notCached(session: session, holds: sessions[session]?.tokenCount ?? 0, needed: positions.upperBound)
        }
        let saved = try store.save(cache, job: job, positions: positions, config: stage.config)
        return KVSaved(sessionID: session, file: saved.file, firstToken: positions.lowerBound, endToken: positions.upperBound,
                       bytes: UInt64(saved.bytes), sha256: saved.sha256)
    }

    /// Replaces `session`'s cache with the segments of `job` ending at `segmentEnds`. A bad
    /// segment leaves the session without a cache.
    public func loadKV(session: UInt64, job: String, segmentEnds: [Int], ropeFactors: RopeFactorSet,
                       store: KVCheckpointStore) throws -> KVLoaded {
        guard let stage else { throw KVCheckpointError.noStage }
        sessions[session] = nil
        lastUse[session] = nil
        defer { publish() }
        var cache = try newCache()
        let bytes = try store.load(into: &cache, job: job, segmentEnds: segmentEnds, ropeFactors: ropeFactors, config: stage.config)
        sessions[session] = cache
        useCounter += 1
        lastUse[session] = useCounter
        return KVLoaded(sessionID: session, tokens: cache.tokenCount, bytes: UInt64(bytes))
    }

    /// The frame's LogitsFrame from the logits of the rows it asked for (none, its last, or all).
    private func logitsFrame(for frame: ActivationFrame, logits rows: [Float], vocabulary: Int) -> LogitsFrame {
        let count = frame.tokenCount
        var logits: [Float] = []
        var argmax: [Int] = []
        switch frame.output {
        case .none:
            break
        case .lastLogits:
            logits = rows
        case .lastArgmax:
            argmax = Logits.argmaxOfRows(rows, rows: 1, width: vocabulary)
        case .argmaxAndLastLogits, .allLogits:
            argmax = Logits.argmaxOfRows(rows, rows: count, width: vocabulary)
            logits = frame.output == .allLogits ? rows : Array(rows[((count - 1) * vocabulary)...])
        }
        return LogitsFrame(sessionID: frame.sessionID, sequence: frame.sequence, firstPosition: frame.firstPosition,
                           tokenCount: count, output: frame.output,
                           vocabSize: logits.isEmpty && frame.output != .lastArgmax ? 0 : vocabulary,
                           logits: logits, argmax: argmax)
    }
}

/// Why a worker refused or failed a frame, with the wire's error code.
public struct StageFailure: Error, Sendable, CustomStringConvertible {
    public let code: WireErrorCode
    public let message: String
    public let field: String

    public init(_ code: WireErrorCode, _ message: String, field: String = "") {
        self.code = code
        self.message = message
        self.field = field
    }

    public var description: String { message }
}
