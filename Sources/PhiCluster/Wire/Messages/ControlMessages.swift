// The control messages of proto/phi/wire/v1/control.proto. Durations are `Duration`s here and
// nanoseconds on the wire; layer ranges are half-open `Range<Int>` of absolute layer indices.

/// Coordinator -> worker after `Authenticate`: where the worker's output goes.
public struct Configure: Sendable, Equatable {
    /// Address of the next stage, or the coordinator's listener for the last stage.
    public var nextHop: String
    /// The coordinator's listener, where asynchronous `ErrorReport`s go.
    public var coordinator: String
    /// Dtype of the hidden states this worker sends.
    public var wireDType: WireDType
    /// KV budget per session, in tokens.
    public var sessionContextTokens: Int
    public var maxSessions: Int
    /// The layers the coordinator expects this worker to run.
    public var layers: Range<Int>
    /// Element type of every session's KV cache: the coordinator decides it for the whole ring.
    public var kvFormat: WireKVFormat
    /// Names this ring (a new one on every ring change); 0 for none. The worker stamps the frames
    /// it forwards with it and drops frames stamped with another.
    public var ringID: UInt64

    public init(nextHop: String, coordinator: String, wireDType: WireDType, sessionContextTokens: Int,
                maxSessions: Int, layers: Range<Int>, kvFormat: WireKVFormat = .f32, ringID: UInt64 = 0) {
        self.ringID = ringID
        self.nextHop = nextHop
        self.coordinator = coordinator
        self.wireDType = wireDType
        self.sessionContextTokens = sessionContextTokens
        self.maxSessions = maxSessions
        self.layers = layers
        self.kvFormat = kvFormat
    }
}

/// The positive answer to a request; for an activation frame: validated and queued.
public struct Ack: Sendable, Equatable {
    public var sessionID: UInt64
    public var sequence: UInt64
    /// Frames waiting at the receiver after this one.
    public var queueDepth: Int

    public init(sessionID: UInt64 = 0, sequence: UInt64 = 0, queueDepth: Int = 0) {
        self.sessionID = sessionID
        self.sequence = sequence
        self.queueDepth = queueDepth
    }
}

/// A refusal (as a reply) or an asynchronous failure report (as a request to the coordinator).
public struct ErrorReport: Sendable, Equatable, Error, CustomStringConvertible {
    public var code: WireErrorCode
    /// A complete sentence naming the culprit.
    public var message: String
    /// The node reporting.
    public var origin: String
    /// The peer at fault, when another than the origin.
    public var peer: String
    /// The field at fault, e.g. "ActivationFrame.hidden.payload".
    public var field: String
    public var sessionID: UInt64
    public var sequence: UInt64

    public init(code: WireErrorCode, message: String, origin: String, peer: String = "", field: String = "",
                sessionID: UInt64 = 0, sequence: UInt64 = 0) {
        self.code = code
        self.message = message
        self.origin = origin
        self.peer = peer
        self.field = field
        self.sessionID = sessionID
        self.sequence = sequence
    }

    public var description: String { "\(origin) reports \(code): \(message)" }
}

/// Drops a session's KV cache (or every session's).
public struct ResetSession: Sendable, Equatable {
    public var sessionID: UInt64
    public var allSessions: Bool

    public init(sessionID: UInt64, allSessions: Bool = false) {
        self.sessionID = sessionID
        self.allSessions = allSessions
    }
}

/// Keeps the first `keepTokens` positions of a session's KV cache.
public struct TrimKV: Sendable, Equatable {
    public var sessionID: UInt64
    public var keepTokens: Int

    public init(sessionID: UInt64, keepTokens: Int) {
        self.sessionID = sessionID
        self.keepTokens = keepTokens
    }
}

/// Counters of a stage since start or the last reset.
public struct StatsReply: Sendable, Equatable {
    public var layers: Range<Int>
    public var frames: UInt64
    public var tokens: UInt64
    public var computeTime: Duration
    public var queueWaitTime: Duration
    public var sendTime: Duration
    public var queueDepth: Int
    public var maxQueueDepth: Int
    public var sessions: Int
    public var kvTokens: UInt64
    public var kvBytes: UInt64
    public var weightBytes: UInt64
    public var residentBytes: UInt64
    public var uptime: Duration
    public var errors: UInt64

    public init(layers: Range<Int>, frames: UInt64 = 0, tokens: UInt64 = 0, computeTime: Duration = .zero,
                queueWaitTime: Duration = .zero, sendTime: Duration = .zero, queueDepth: Int = 0,
                maxQueueDepth: Int = 0, sessions: Int = 0, kvTokens: UInt64 = 0, kvBytes: UInt64 = 0,
                weightBytes: UInt64 = 0, residentBytes: UInt64 = 0, uptime: Duration = .zero, errors: UInt64 = 0) {
        self.layers = layers
        self.frames = frames
        self.tokens = tokens
        self.computeTime = computeTime
        self.queueWaitTime = queueWaitTime
        self.sendTime = sendTime
        self.queueDepth = queueDepth
        self.maxQueueDepth = maxQueueDepth
        self.sessions = sessions
        self.kvTokens = kvTokens
        self.kvBytes = kvBytes
        self.weightBytes = weightBytes
        self.residentBytes = residentBytes
        self.uptime = uptime
        self.errors = errors
    }
}

/// A node's answer to a health ping.
public struct HealthReply: Sendable, Equatable {
    public var state: NodeState
    public var layers: Range<Int>
    public var queueDepth: Int
    public var sessions: Int
    public var uptime: Duration
    /// Why a node failed, or loading progress.
    public var detail: String

    public init(state: NodeState, layers: Range<Int>, queueDepth: Int = 0, sessions: Int = 0,
                uptime: Duration = .zero, detail: String = "") {
        self.state = state
        self.layers = layers
        self.queueDepth = queueDepth
        self.sessions = sessions
        self.uptime = uptime
        self.detail = detail
    }
}

/// What a worker holds in memory.
public struct LoadInfo: Sendable, Equatable {
    public var state: NodeState
    public var layers: Range<Int>
    public var weightFormat: WireWeightFormat
    public var weightBytes: UInt64
    /// KV bytes one token costs across the slice's layers.
    public var kvBytesPerToken: UInt64
    public var freeMemoryBytes: UInt64
    public var totalMemoryBytes: UInt64

    public init(state: NodeState, layers: Range<Int>, weightFormat: WireWeightFormat, weightBytes: UInt64,
                kvBytesPerToken: UInt64, freeMemoryBytes: UInt64, totalMemoryBytes: UInt64) {
        self.state = state
        self.layers = layers
        self.weightFormat = weightFormat
        self.weightBytes = weightBytes
        self.kvBytesPerToken = kvBytesPerToken
        self.freeMemoryBytes = freeMemoryBytes
        self.totalMemoryBytes = totalMemoryBytes
    }
}

/// Coordinator -> spare worker: load these layers. Answered by `Ack` once the load has started;
/// the worker's health turns `.ready` when done, and the coordinator then says `Hello` again.
public struct LoadLayers: Sendable, Equatable {
    public var layers: Range<Int>
    public var weightFormat: WireWeightFormat
    /// The coordinator's model; a worker holding another checkpoint refuses.
    public var model: ModelFingerprint

    public init(layers: Range<Int>, weightFormat: WireWeightFormat, model: ModelFingerprint) {
        self.layers = layers
        self.weightFormat = weightFormat
        self.model = model
    }
}
