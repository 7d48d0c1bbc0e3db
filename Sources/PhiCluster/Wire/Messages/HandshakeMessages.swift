// The handshake messages of proto/phi/wire/v1/handshake.proto.

/// Coordinator -> worker: the first message of a connection.
public struct Hello: Sendable, Equatable {
    /// phi-cluster release of the sender.
    public var softwareVersion: String
    /// The sender's name in logs.
    public var nodeName: String
    /// 32 random bytes; the worker's proof covers them.
    public var clientNonce: [UInt8]
    public var authMode: AuthMode
    /// 8 bytes naming the secret without revealing it; empty without a secret.
    public var secretID: [UInt8]
    /// The coordinator's model, without a slice digest.
    public var model: ModelFingerprint

    public init(softwareVersion: String, nodeName: String, clientNonce: [UInt8], authMode: AuthMode,
                secretID: [UInt8], model: ModelFingerprint) {
        self.softwareVersion = softwareVersion
        self.nodeName = nodeName
        self.clientNonce = clientNonce
        self.authMode = authMode
        self.secretID = secretID
        self.model = model
    }
}

/// Worker -> coordinator: who the worker is, and proof that it knows the secret.
public struct HelloReply: Sendable, Equatable {
    public var softwareVersion: String
    public var nodeName: String
    /// 32 random bytes; the coordinator's proof covers them.
    public var serverNonce: [UInt8]
    public var authMode: AuthMode
    public var secretID: [UInt8]
    /// HMAC(secret, worker label ‖ client nonce ‖ server nonce); empty without a secret.
    public var serverProof: [UInt8]
    /// The worker's model, with the digest of its slice.
    public var model: ModelFingerprint
    /// Absolute layer indices the worker runs; empty for an idle spare.
    public var layers: Range<Int>
    public var capabilities: Capabilities
    public var load: LoadInfo

    public init(softwareVersion: String, nodeName: String, serverNonce: [UInt8], authMode: AuthMode,
                secretID: [UInt8], serverProof: [UInt8], model: ModelFingerprint, layers: Range<Int>,
                capabilities: Capabilities, load: LoadInfo) {
        self.softwareVersion = softwareVersion
        self.nodeName = nodeName
        self.serverNonce = serverNonce
        self.authMode = authMode
        self.secretID = secretID
        self.serverProof = serverProof
        self.model = model
        self.layers = layers
        self.capabilities = capabilities
        self.load = load
    }
}

/// Coordinator -> worker: proof that the coordinator knows the secret, and the run nonce from which
/// every node of the run derives the key of its message tags.
public struct Authenticate: Sendable, Equatable {
    public var clientNonce: [UInt8]
    public var serverNonce: [UInt8]
    /// HMAC(secret, coordinator label ‖ client nonce ‖ server nonce ‖ run nonce); empty without a secret.
    public var clientProof: [UInt8]
    public var runNonce: [UInt8]

    public init(clientNonce: [UInt8], serverNonce: [UInt8], clientProof: [UInt8], runNonce: [UInt8]) {
        self.clientNonce = clientNonce
        self.serverNonce = serverNonce
        self.clientProof = clientProof
        self.runNonce = runNonce
    }
}

/// What a worker can do.
public struct Capabilities: Sendable, Equatable {
    /// Dtypes it accepts and sends for hidden states.
    public var wireDTypes: [WireDType]
    public var weightFormat: WireWeightFormat
    public var kvFormats: [WireKVFormat]
    public var maxTokensPerFrame: Int
    /// KV budget per session, in tokens.
    public var maxContextTokens: Int
    public var maxSessions: Int
    /// The worker's receive-size limit.
    public var maxMessageBytes: Int
    public var threads: Int

    public init(wireDTypes: [WireDType], weightFormat: WireWeightFormat, kvFormats: [WireKVFormat],
                maxTokensPerFrame: Int, maxContextTokens: Int, maxSessions: Int, maxMessageBytes: Int,
                threads: Int) {
        self.wireDTypes = wireDTypes
        self.weightFormat = weightFormat
        self.kvFormats = kvFormats
        self.maxTokensPerFrame = maxTokensPerFrame
        self.maxContextTokens = maxContextTokens
        self.maxSessions = maxSessions
        self.maxMessageBytes = maxMessageBytes
        self.threads = threads
    }
}
