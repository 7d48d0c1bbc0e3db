import PhiModel

// The KV checkpoint messages of proto/phi/wire/v1/control.proto: a worker writes a session's
// cache to segment files in its state directory (SaveKV) and reads them back (LoadKV), so a
// long job resumes after a restart instead of starting over.

/// Coordinator -> worker: write positions `firstToken..<endToken` of a session's KV cache (the
/// worker's layers) to a segment file. Answered by `KVSaved` once the file is written and synced.
public struct SaveKV: Sendable, Equatable {
    public var sessionID: UInt64
    /// The job's name: 1-64 of `[A-Za-z0-9_-]` (`KVSegmentName.isValid`).
    public var name: String
    public var firstToken: Int
    public var endToken: Int

    public init(sessionID: UInt64, name: String, firstToken: Int, endToken: Int) {
        self.sessionID = sessionID
        self.name = name
        self.firstToken = firstToken
        self.endToken = endToken
    }
}

/// A segment file a worker wrote.
public struct KVSaved: Sendable, Equatable {
    public var sessionID: UInt64
    /// The file's name in the worker's state directory.
    public var file: String
    public var firstToken: Int
    public var endToken: Int
    public var bytes: UInt64
    /// SHA-256 of the file's payload, as its header records it.
    public var sha256: [UInt8]

    public init(sessionID: UInt64, file: String, firstToken: Int, endToken: Int, bytes: UInt64, sha256: [UInt8]) {
        self.sessionID = sessionID
        self.file = file
        self.firstToken = firstToken
        self.endToken = endToken
        self.bytes = bytes
        self.sha256 = sha256
    }
}

/// Coordinator -> worker: make a session's cache hold positions `0..<segmentEnds.last` from the
/// segments `[0, e1), [e1, e2), …` that `SaveKV` wrote, every file checked first.
public struct LoadKV: Sendable, Equatable {
    public var sessionID: UInt64
    public var name: String
    /// Increasing; each a `SaveKV`'s `endToken`.
    public var segmentEnds: [Int]
    /// The LongRoPE factors the saved keys were rotated with.
    public var ropeFactors: WireRopeFactors

    public init(sessionID: UInt64, name: String, segmentEnds: [Int], ropeFactors: WireRopeFactors) {
        self.sessionID = sessionID
        self.name = name
        self.segmentEnds = segmentEnds
        self.ropeFactors = ropeFactors
    }
}

/// A worker's answer to `LoadKV`.
public struct KVLoaded: Sendable, Equatable {
    public var sessionID: UInt64
    /// Positions the session's cache now holds.
    public var tokens: Int
    public var bytes: UInt64

    public init(sessionID: UInt64, tokens: Int, bytes: UInt64) {
        self.sessionID = sessionID
        self.tokens = tokens
        self.bytes = bytes
    }
}

extension KVFormat {
    public var wireFormat: WireKVFormat {
        switch self {
        case .f32: .f32
        case .f16: .f16
        case .q8_0: .q8_0
        }
    }
}

extension WireKVFormat {
    public var kvFormat: KVFormat {
        switch self {
        case .f32: .f32
        case .f16: .f16
        case .q8_0: .q8_0
        }
    }
}
