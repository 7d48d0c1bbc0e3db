/// A version of the phi-cluster wire protocol (`proto/phi/wire/v1`).
///
/// Nodes whose majors differ refuse each other; a higher minor only adds fields, which older
/// nodes ignore.
public struct ProtocolVersion: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let major: UInt32
    public let minor: UInt32

    public init(major: UInt32, minor: UInt32) {
        self.major = major
        self.minor = minor
    }

    /// The version this build speaks.
    public static let current = ProtocolVersion(major: 1, minor: 0)

    public static func < (lhs: ProtocolVersion, rhs: ProtocolVersion) -> Bool {
        (lhs.major, lhs.minor) < (rhs.major, rhs.minor)
    }

    public var description: String { "\(major).\(minor)" }
}

/// Bounds every decoded message must respect, so that a hostile or broken peer costs at most
/// one refused message. The receive-size limit of every socket is `maxMessageBytes`.
public struct WireLimits: Sendable, Equatable {
    /// Largest nng message accepted; bigger ones make nng drop the connection.
    public var maxMessageBytes: Int
    /// Largest token count of one activation or logits frame.
    public var maxTokensPerFrame: Int
    /// Largest hidden size (Phi-4-mini: 3072).
    public var maxHiddenSize: Int
    /// Largest vocabulary (Phi-4-mini: 200,064).
    public var maxVocabSize: Int
    /// Largest layer index + 1 in a layer range.
    public var maxLayers: Int
    /// Longest string field, in UTF-8 bytes.
    public var maxStringBytes: Int

    public init(maxMessageBytes: Int = 64 << 20, maxTokensPerFrame: Int = 8192,
                maxHiddenSize: Int = 65536, maxVocabSize: Int = 1 << 20,
                maxLayers: Int = 4096, maxStringBytes: Int = 4096) {
        self.maxMessageBytes = maxMessageBytes
        self.maxTokensPerFrame = maxTokensPerFrame
        self.maxHiddenSize = maxHiddenSize
        self.maxVocabSize = maxVocabSize
        self.maxLayers = maxLayers
        self.maxStringBytes = maxStringBytes
    }

    /// 64 MiB messages: a 2,048-token f32 prefill chunk of Phi-4-mini is 24 MiB, and all-position
    /// logits of 64 tokens are 49 MiB.
    public static let `default` = WireLimits()
}
