import CPhiWire
import Crypto
import Foundation
import Synchronization

/// A node's authentication state: its secret (if any) and the key of the current run. It seals
/// outgoing messages into envelopes and opens incoming ones, checking version and tag before the
/// body is decoded. One instance is shared by a node's listener and connections.
///
/// Without a secret every message opens as authenticated: that is only safe where nobody else can
/// reach the node, which is why `ReplyListener` refuses to listen beyond loopback without one
/// unless told `allowsInsecureListening` (`--insecure`).
public final class WireAuthenticator: Sendable {
    public let secret: SharedSecret?
    private let run = Mutex<Run?>(nil)

    private struct Run: Sendable {
        let nonce: [UInt8]
        /// Bytes of the run key (SymmetricKey is not Sendable in swift-crypto 3 on Linux).
        let keyBytes: [UInt8]?
        var key: SymmetricKey? { keyBytes.map { SymmetricKey(data: $0) } }
    }

    /// Untagged messages larger than this are refused unread when a secret is set: the handshake
    /// messages allowed without a tag are a few hundred bytes.
    static let maxUntaggedBytes = 64 << 10

    public init(secret: SharedSecret?) {
        self.secret = secret
    }

    public var authMode: AuthMode { secret == nil ? .none : .hmacSHA256 }
    /// The secret's id, or empty without a secret.
    public var secretID: [UInt8] { secret?.secretID ?? [] }
    /// The current run's nonce, once known.
    public var runNonce: [UInt8]? { run.withLock { $0?.nonce } }

    /// Coordinator: chooses a fresh run nonce, adopts it and returns it.
    @discardableResult
    public func startRun() -> [UInt8] {
        let nonce = WireCrypto.randomNonce()
        adoptRun(nonce: nonce)
        return nonce
    }

    /// Adopts a run nonce: from now on messages are tagged with, and must verify under, its key.
    /// A worker calls it (through `HandshakeResponder`) after a verified `Authenticate`.
    public func adoptRun(nonce: [UInt8]) {
        let keyBytes = secret.map { WireCrypto.runKeyBytes($0, runNonce: nonce) }
        run.withLock { $0 = Run(nonce: nonce, keyBytes: keyBytes) }
    }

    /// `message` in an envelope of protocol `version`, tagged with the run key when there is one
    /// and `tagged` is true. Other versions and untagged messages are for fault tests.
    public func seal(_ message: WireMessage, version: ProtocolVersion = .current, tagged: Bool = true) -> [UInt8] {
        let body = message.packedBody()
        var tag: [UInt8] = []
        if tagged, let key = run.withLock({ $0?.key }) {
            tag = body.withUnsafeBytes { WireCrypto.tag(key, version: version, body: $0) }
        }
        let arena = CArena()
        var envelope = Phi__Wire__V1__Envelope()
        phi__wire__v1__envelope__init(&envelope)
        envelope.protocol_major = version.major
        envelope.protocol_minor = version.minor
        envelope.auth_tag = arena.bytes(tag)
        envelope.body = arena.bytes(body)
        let size = phi__wire__v1__envelope__get_packed_size(&envelope)
        let packed = [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            initialized = phi__wire__v1__envelope__pack(&envelope, buffer.baseAddress)
        }
        withExtendedLifetime(arena) {}
        return packed
    }

    /// Opens one envelope from `peer`: checks the protocol version, then the tag, then decodes and
    /// validates the body. Throws a `WireError` naming the peer and what is wrong.
    public func open(_ bytes: UnsafeRawBufferPointer, from peer: String,
                     limits: WireLimits = .default) throws(WireError) -> ReceivedMessage {
        try open(bytes, from: peer, limits: limits, speaking: .current)
    }

    /// `speaking` other than `.current` lets tests play a node of another version.
    func open(_ bytes: UnsafeRawBufferPointer, from peer: String, limits: WireLimits,
              speaking ours: ProtocolVersion) throws(WireError) -> ReceivedMessage {
        guard bytes.count <= limits.maxMessageBytes else {
            throw .tooLarge(peer: peer, field: "message bytes", value: bytes.count, limit: limits.maxMessageBytes)
        }
        let data = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self)
        guard let envelope = phi__wire__v1__envelope__unpack(nil, bytes.count, data) else {
            throw .malformed(peer: peer, what: "phi.wire.v1.Envelope", byteCount: bytes.count)
        }
        defer { phi__wire__v1__envelope__free_unpacked(envelope, nil) }
        let version = ProtocolVersion(major: envelope.pointee.protocol_major, minor: envelope.pointee.protocol_minor)
        guard version.major != 0 else {
            throw .malformed(peer: peer, what: "phi.wire.v1.Envelope (no protocol version)", byteCount: bytes.count)
        }
        guard version.major == ours.major else {
            throw .protocolMismatch(peer: peer, theirs: version, ours: ours)
        }
        let body = UnsafeRawBufferPointer(start: envelope.pointee.body.data, count: envelope.pointee.body.len)
        let tag = envelope.pointee.auth_tag
        let reader = FieldReader(peer: peer, limits: limits)

        guard secret != nil else {
            guard tag.len == 0 else { throw .unexpectedTag(peer: peer) }
            return ReceivedMessage(message: try WireMessage.unpackBody(body, reader: reader), peer: peer,
                                   version: version, isAuthenticated: true)
        }
        if tag.len == 0 {
            guard body.count <= Self.maxUntaggedBytes else { throw .missingTag(peer: peer, kind: "message") }
            let message = try WireMessage.unpackBody(body, reader: reader)
            guard message.mayBeUnauthenticated else { throw .missingTag(peer: peer, kind: message.kindName) }
            return ReceivedMessage(message: message, peer: peer, version: version, isAuthenticated: false)
        }
        guard let key = run.withLock({ $0?.key }) else { throw .noRunKey(peer: peer, kind: "tagged message") }
        let tagBytes = Array(UnsafeBufferPointer(start: tag.data, count: tag.len))
        guard WireCrypto.isValidTag(tagBytes, key, version: version, body: body) else { throw .badTag(peer: peer) }
        return ReceivedMessage(message: try WireMessage.unpackBody(body, reader: reader), peer: peer,
                               version: version, isAuthenticated: true)
    }
}

/// A message as received: what it says, who sent it, and whether it passed authentication.
public struct ReceivedMessage: Sendable, Equatable {
    public let message: WireMessage
    /// The sender's address, e.g. "tcp://10.0.0.12:41234".
    public let peer: String
    public let version: ProtocolVersion
    /// True when its tag verified under the run key, or when this node has no secret (loopback or
    /// `--insecure` only). Untagged handshake messages and errors are false: a `ReplyListener` passes
    /// only `Hello` and `Authenticate` of those to its handler, and refuses the rest.
    public let isAuthenticated: Bool
}

extension WireCrypto {
    static func tag(_ key: SymmetricKey, version: ProtocolVersion, body: UnsafeRawBufferPointer) -> [UInt8] {
        var hmac = HMAC<SHA256>(key: key)
        hmac.update(data: tagHeader(version))
        hmac.update(data: body)
        return Array(hmac.finalize())
    }

    static func isValidTag(_ tag: [UInt8], _ key: SymmetricKey, version: ProtocolVersion,
                           body: UnsafeRawBufferPointer) -> Bool {
        let expected = self.tag(key, version: version, body: body)
        guard tag.count == expected.count else { return false }
        var difference: UInt8 = 0
        for index in expected.indices { difference |= expected[index] ^ tag[index] }
        return difference == 0
    }
}
