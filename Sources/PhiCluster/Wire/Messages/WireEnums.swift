// Swift mirrors of the enums of proto/phi/wire/v1/types.proto. Raw values are the proto numbers;
// 0 (UNSPECIFIED) has no case, so an unset field decodes as a missing-field error.

/// Element type of hidden states on the wire.
public enum WireDType: UInt32, Sendable, CaseIterable, CustomStringConvertible {
    case f32 = 1
    case f16 = 2
    case bf16 = 3

    /// Bytes of one element.
    public var byteCount: Int { self == .f32 ? 4 : 2 }
    /// Plural name of its elements in messages.
    public var valueName: String { self == .f32 ? "floats" : "\(self) values" }
    public var description: String {
        switch self {
        case .f32: "f32"
        case .f16: "f16"
        case .bf16: "bf16"
        }
    }
}

/// Storage format of a worker's weight matrices.
public enum WireWeightFormat: UInt32, Sendable, CaseIterable, CustomStringConvertible {
    case f32 = 1, f16 = 2, bf16 = 3, q8_0 = 4, q4_0 = 5

    public var description: String {
        switch self {
        case .f32: "f32"
        case .f16: "f16"
        case .bf16: "bf16"
        case .q8_0: "q8_0"
        case .q4_0: "q4_0"
        }
    }
}

/// Element type of a worker's KV cache.
public enum WireKVFormat: UInt32, Sendable, CaseIterable, CustomStringConvertible {
    case f32 = 1, f16 = 2, q8_0 = 3

    public var description: String {
        switch self {
        case .f32: "f32"
        case .f16: "f16"
        case .q8_0: "q8_0"
        }
    }
}

/// The LongRoPE factor set of one forward pass; the coordinator chooses it.
public enum WireRopeFactors: UInt32, Sendable, CaseIterable, CustomStringConvertible {
    case short = 1
    case long = 2

    public var description: String { self == .short ? "short" : "long" }
}

/// What the last stage returns for an activation frame.
public enum OutputRequest: UInt32, Sendable, CaseIterable, CustomStringConvertible {
    /// A `LogitsFrame` without logits: the frame is done.
    case none = 1
    /// Logits of the frame's last position.
    case lastLogits = 2
    /// Argmax of every position and logits of the last.
    case argmaxAndLastLogits = 3
    /// Logits and argmax of every position.
    case allLogits = 4
    /// Only the argmax of the frame's last position: all a greedy sampler needs, 4 bytes
    /// instead of the vocabulary's logits.
    case lastArgmax = 5

    /// Rows of logits a `LogitsFrame` carries for a frame of `tokenCount` tokens.
    public func logitsRows(tokenCount: Int) -> Int {
        switch self {
        case .none, .lastArgmax: 0
        case .lastLogits, .argmaxAndLastLogits: 1
        case .allLogits: tokenCount
        }
    }

    /// Whether a `LogitsFrame` carries the argmax of every position.
    public var includesArgmax: Bool { self == .argmaxAndLastLogits || self == .allLogits }

    /// Argmax ids a `LogitsFrame` carries for a frame of `tokenCount` tokens.
    public func argmaxCount(tokenCount: Int) -> Int {
        includesArgmax ? tokenCount : (self == .lastArgmax ? 1 : 0)
    }

    public var description: String {
        switch self {
        case .none: "none"
        case .lastLogits: "last logits"
        case .argmaxAndLastLogits: "argmax and last logits"
        case .allLogits: "all logits"
        case .lastArgmax: "last argmax"
        }
    }
}

/// Whether a node authenticates with a shared secret.
public enum AuthMode: UInt32, Sendable, CaseIterable, CustomStringConvertible {
    case none = 1
    case hmacSHA256 = 2

    public var description: String { self == .none ? "no secret" : "a shared secret (HMAC-SHA256)" }
}

/// Lifecycle of a node.
public enum NodeState: UInt32, Sendable, CaseIterable, CustomStringConvertible {
    case idle = 1, loading = 2, ready = 3, draining = 4, failed = 5

    public var description: String {
        switch self {
        case .idle: "idle"
        case .loading: "loading"
        case .ready: "ready"
        case .draining: "draining"
        case .failed: "failed"
        }
    }
}

/// Why a request was refused; the `code` of an `ErrorReport`.
public enum WireErrorCode: UInt32, Sendable, CaseIterable, CustomStringConvertible {
    case malformed = 1
    case protocolMismatch = 2
    case unauthenticated = 3
    case authenticationFailed = 4
    case authModeMismatch = 5
    case modelMismatch = 6
    case invalidField = 7
    case tooLarge = 8
    case unsupported = 9
    case wrongLayers = 10
    case unknownSession = 11
    case contextFull = 12
    case busy = 13
    case notReady = 14
    case nextHopFailed = 15
    case `internal` = 16
    case shuttingDown = 17

    public var description: String {
        switch self {
        case .malformed: "malformed"
        case .protocolMismatch: "protocol mismatch"
        case .unauthenticated: "unauthenticated"
        case .authenticationFailed: "authentication failed"
        case .authModeMismatch: "authentication mode mismatch"
        case .modelMismatch: "model mismatch"
        case .invalidField: "invalid field"
        case .tooLarge: "too large"
        case .unsupported: "unsupported"
        case .wrongLayers: "wrong layers"
        case .unknownSession: "unknown session"
        case .contextFull: "context full"
        case .busy: "busy"
        case .notReady: "not ready"
        case .nextHopFailed: "next hop failed"
        case .internal: "internal"
        case .shuttingDown: "shutting down"
        }
    }
}
