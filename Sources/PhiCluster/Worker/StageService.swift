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
    }

    private nonisolated let published = Mutex(Status())

    /// The status as of the last operation.
    public nonisolated var status: Status { published.withLock { $0 } }

    private func publish() {
        let status = Status(layers: layers, sessions: sessions.count, cachedTokens: cachedTokens, cachedBytes: cachedBytes,
                            weightBytes: stage?.weightBytes ?? 0, kvFormat: kvFormat)
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
        guard let stage else { throw StageFailure(.notReady, "this worker has no layers loaded yet") }
        guard frame.layerBegin == stage.layers.lowerBound else {
            throw StageFailure(.wrongLayers, "frame expects a stage starting at layer \(frame.layerBegin), "
                + "this worker holds layers \(LayerRangeText.format(stage.layers))", field: "ActivationFrame.layer_begin")
        }
        let config = stage.config
        var hidden: Activations
        switch frame.input {
        case let .tokens(ids):
            guard stage.isFirstStage else {
                throw StageFailure(.invalidField, "token ids sent to layers \(LayerRangeText.format(stage.layers)), "
                    + "which do not hold the embedding", field: "ActivationFrame.tokens")
            }
            do { hidden = try stage.embed(tokens: ids) } catch {
                throw StageFailure(.invalidField, "\(error)", field: "ActivationFrame.tokens")
            }
        case let .hidden(states):
            guard !stage.isFirstStage else {
                throw StageFailure(.invalidField, "hidden states sent to the first stage, which takes token ids",
                                   field: "ActivationFrame.hidden")
            }
            guard states.hiddenSize == config.hiddenSize else {
                throw StageFailure(.invalidField, "hidden states of width \(states.hiddenSize), the model's is \(config.hiddenSize)",
                                   field: "ActivationFrame.hidden.hidden_size")
            }
            hidden = Activations(tokenCount: states.tokenCount, width: states.hiddenSize, values: states.values())
        }
        var cache = try takeCache(for: frame)
        defer {
            sessions[frame.sessionID] = cache
            useCounter += 1
            lastUse[frame.sessionID] = useCounter
            publish()
        }
        do {
            try stage.run(&hidden, positions: frame.positions, ropeFactors: frame.ropeFactors == .long ? .long : .short,
                          cache: &cache, scratch: &scratch)
        } catch let error as KVCacheError {
            if case .full = error { throw StageFailure(.contextFull, "\(error)", field: "ActivationFrame.first_position") }
            throw StageFailure(.invalidField, "\(error)", field: "ActivationFrame.first_position")
        } catch {
            throw StageFailure(.internal, "\(error)")
        }
        guard stage.isLastStage else {
            do {
                return .hidden(try ActivationFrame.HiddenStates(values: hidden.values, hiddenSize: hidden.width, dtype: wireDType))
            } catch {
                throw StageFailure(.internal, "\(error)")
            }
        }
        return .logits(try logitsFrame(for: frame, hidden: hidden, stage: stage))
    }

    /// The session's cache, created for a frame starting at position 0; a frame that would leave a
    /// gap or a new session beyond the limit is refused.
    private func takeCache(for frame: ActivationFrame) throws(StageFailure) -> KVCache {
        if let cache = sessions.removeValue(forKey: frame.sessionID) { return cache }
        guard frame.firstPosition == 0 else {
            throw StageFailure(.unknownSession, "session \(frame.sessionID) is unknown here and the frame starts at position "
                + "\(frame.firstPosition), not 0", field: "ActivationFrame.session_id")
        }
        do {
            return try newCache()
        } catch {
            throw StageFailure(.contextFull, "\(error)")
        }
    }

    /// An empty cache for a new session, evicting the least recently used one at the limit.
    private func newCache() throws -> KVCache {
        if sessions.count >= maxSessions, let oldest = lastUse.min(by: { $0.value < $1.value })?.key {
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

    private func logitsFrame(for frame: ActivationFrame, hidden: Activations, stage: Stage) throws(StageFailure) -> LogitsFrame {
        let vocabulary = stage.config.vocabularySize
        let count = hidden.tokenCount
        var logits: [Float] = []
        var argmax: [Int] = []
        do {
            switch frame.output {
            case .none:
                break
            case .lastLogits:
                logits = try stage.logits(from: hidden, tokens: (count - 1)..<count, scratch: &scratch)
            case .lastArgmax:
                let last = try stage.logits(from: hidden, tokens: (count - 1)..<count, scratch: &scratch)
                argmax = Logits.argmaxOfRows(last, rows: 1, width: vocabulary)
            case .argmaxAndLastLogits, .allLogits:
                let all = try stage.logits(from: hidden, tokens: 0..<count, scratch: &scratch)
                argmax = Logits.argmaxOfRows(all, rows: count, width: vocabulary)
                logits = frame.output == .allLogits ? all : Array(all[((count - 1) * vocabulary)...])
            }
        } catch {
            throw StageFailure(.internal, "\(error)")
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
