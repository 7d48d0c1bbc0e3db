// The data frame of proto/phi/wire/v1/frames.proto that travels along the ring.

/// One micro-batch on its way through the stages: token ids for the first stage, hidden states for
/// the others. Sent as a request to the next hop, which answers `Ack` once it has queued it.
public struct ActivationFrame: Sendable, Equatable {
    public var sessionID: UInt64
    /// Micro-batch number, increasing along a session.
    public var sequence: UInt64
    /// Position of the first token in the session.
    public var firstPosition: Int
    /// First layer still to run: the receiver's layer range must start here.
    public var layerBegin: Int
    public var ropeFactors: WireRopeFactors
    /// What the last stage returns to the coordinator.
    public var output: OutputRequest
    public var input: Input
    /// The ring it travels in (`Configure.ringID` of its sender); 0 for any. A worker drops frames
    /// of another ring: a stale worker's, after the ring changed without it.
    public var ringID: UInt64 = 0

    public enum Input: Sendable, Equatable {
        /// Token ids, for the stage that owns the embedding (`layerBegin == 0`).
        case tokens([Int])
        /// The residual stream after layer `layerBegin - 1`.
        case hidden(HiddenStates)
    }

    public init(sessionID: UInt64, sequence: UInt64, firstPosition: Int, layerBegin: Int,
                ropeFactors: WireRopeFactors, output: OutputRequest, input: Input, ringID: UInt64 = 0) {
        self.ringID = ringID
        self.sessionID = sessionID
        self.sequence = sequence
        self.firstPosition = firstPosition
        self.layerBegin = layerBegin
        self.ropeFactors = ropeFactors
        self.output = output
        self.input = input
    }

    /// Tokens in this micro-batch.
    public var tokenCount: Int {
        switch input {
        case let .tokens(ids): ids.count
        case let .hidden(states): states.tokenCount
        }
    }

    /// Session positions this micro-batch covers.
    public var positions: Range<Int> { firstPosition ..< firstPosition + tokenCount }

    /// Hidden states of `tokenCount` tokens, stored as little-endian elements of `dtype`.
    ///
    /// Build one from floats with `init(values:hiddenSize:dtype:)` and read it back with
    /// `values()`; f16 and bf16 round to nearest even, exactly as the kernels do.
    public struct HiddenStates: Sendable, Equatable {
        public let tokenCount: Int
        public let hiddenSize: Int
        public let dtype: WireDType
        /// `tokenCount × hiddenSize × dtype.byteCount` bytes, row-major, little-endian.
        public let bytes: [UInt8]

        /// Wraps bytes already in wire layout; throws when their count does not match the shape.
        public init(tokenCount: Int, hiddenSize: Int, dtype: WireDType, bytes: [UInt8]) throws(WireError) {
            let expected = tokenCount * hiddenSize * dtype.byteCount
            guard tokenCount > 0, hiddenSize > 0, bytes.count == expected else {
                throw .payloadSize(peer: "this node", field: "ActivationFrame.hidden.payload",
                                   expected: expected, actual: bytes.count, elementBytes: dtype.byteCount,
                                   unit: dtype.valueName)
            }
            self.tokenCount = tokenCount
            self.hiddenSize = hiddenSize
            self.dtype = dtype
            self.bytes = bytes
        }

        /// Decoded frames have been validated already.
        init(validatedTokenCount tokenCount: Int, hiddenSize: Int, dtype: WireDType, bytes: [UInt8]) {
            self.tokenCount = tokenCount
            self.hiddenSize = hiddenSize
            self.dtype = dtype
            self.bytes = bytes
        }

        /// Elements in the payload.
        public var elementCount: Int { tokenCount * hiddenSize }
        /// Payload bytes.
        public var frameBytes: Int { bytes.count }
    }
}
