import Logging

/// Who the coordinator is, as its `Hello` says.
public struct CoordinatorIdentity: Sendable, Equatable {
    public var nodeName: String
    public var softwareVersion: String
    /// The coordinator's model (its slice digest is ignored).
    public var model: ModelFingerprint

    public init(nodeName: String = "coordinator", softwareVersion: String = PhiClusterVersion.current,
                model: ModelFingerprint) {
        self.nodeName = nodeName
        self.softwareVersion = softwareVersion
        self.model = model
    }
}

/// The coordinator's side of the handshake with one worker.
public enum Handshake {
    /// Says `Hello` to the worker behind `peer`, checks its reply (authentication mode, secret id,
    /// proof, model and, when `expectedSliceDigest` gives one for the worker's layers, its slice),
    /// then sends `Authenticate` with `authenticator`'s run nonce. Returns the worker's `HelloReply`.
    ///
    /// When the coordinator refuses, it also tells the worker why with an `Error` request, so that
    /// both logs name the difference. Throws `HandshakeError`.
    public static func perform(with peer: PeerConnection, as identity: CoordinatorIdentity,
                               authenticator: WireAuthenticator,
                               expectedSliceDigest: @Sendable (Range<Int>) -> [UInt8]? = { _ in nil },
                               timeout: Duration = .seconds(2), logger: Logger) async throws(HandshakeError) -> HelloReply {
        guard let runNonce = authenticator.runNonce else { throw .noRun }
        let name = peer.peerName
        let clientNonce = WireCrypto.randomNonce()
        let hello = Hello(softwareVersion: identity.softwareVersion, nodeName: identity.nodeName, clientNonce: clientNonce,
                          authMode: authenticator.authMode, secretID: authenticator.secretID, model: identity.model.withoutSlice)
        let reply: HelloReply
        switch try await exchange(.hello(hello), with: peer, timeout: timeout) {
        case let .helloReply(value): reply = value
        case let .error(report): throw .refused(peer: name, report: report)
        case let other: throw .unexpectedReply(peer: name, expected: "HelloReply", reply: other.kindName)
        }
        if let refusal = check(reply, clientNonce: clientNonce, peer: name, identity: identity,
                               authenticator: authenticator, expectedSliceDigest: expectedSliceDigest) {
            logger.warning("refused \(name): \(refusal)")
            let report = ErrorReport(code: refusal.code, message: "\(identity.nodeName) refused this worker: \(refusal)",
                                     origin: identity.nodeName, peer: peer.address)
            // Best effort, untagged: the worker has no run key yet, and logs the untagged Error as advisory.
            _ = try? await peer.exchange(.error(report), timeout: timeout, tagged: false)
            throw refusal
        }
        let proof = authenticator.secret.map {
            WireCrypto.coordinatorProof($0, clientNonce: clientNonce, serverNonce: reply.serverNonce, runNonce: runNonce)
        } ?? []
        let authenticate = Authenticate(clientNonce: clientNonce, serverNonce: reply.serverNonce, clientProof: proof,
                                        runNonce: runNonce)
        switch try await exchange(.authenticate(authenticate), with: peer, timeout: timeout) {
        case .ack: break  // tagged, and verified under the run key: the worker derived the same key
        case let .error(report): throw .refused(peer: name, report: report)
        case let other: throw .unexpectedReply(peer: name, expected: "Ack", reply: other.kindName)
        }
        logger.info("admitted \(name): '\(reply.nodeName)' layers \(reply.layers.lowerBound)..<\(reply.layers.upperBound)")
        return reply
    }

    /// Handshake messages travel untagged: the worker has no run key until Authenticate succeeds.
    private static func exchange(_ message: WireMessage, with peer: PeerConnection,
                                 timeout: Duration) async throws(HandshakeError) -> WireMessage {
        do throws(TransportError) {
            return try await peer.exchange(message, timeout: timeout, tagged: false).message
        } catch {
            throw .transport(error)
        }
    }

    /// The first reason to refuse `reply`, or nil.
    static func check(_ reply: HelloReply, clientNonce: [UInt8], peer: String, identity: CoordinatorIdentity,
                      authenticator: WireAuthenticator,
                      expectedSliceDigest: (Range<Int>) -> [UInt8]?) -> HandshakeError? {
        guard reply.authMode == authenticator.authMode else {
            return .authModeMismatch(peer: peer, ours: authenticator.authMode, theirs: reply.authMode)
        }
        if let secret = authenticator.secret {
            guard reply.secretID == secret.secretID else {
                return .secretMismatch(peer: peer, ourSecretID: secret.secretIDHex, theirSecretID: hexPrefix(reply.secretID))
            }
            guard WireCrypto.isValid(reply.serverProof, secret.key, WireCrypto.workerProofLabel, clientNonce,
                                     reply.serverNonce) else { return .badProof(peer: peer) }
        }
        let differences = identity.model.modelDifferences(from: reply.model, local: "this coordinator", remote: peer)
        if !differences.isEmpty { return .modelMismatch(peer: peer, differences: differences) }
        if let expected = expectedSliceDigest(reply.layers), expected != reply.model.sliceSHA256 {
            let difference = "slice tensors sha256: \(peer) has \(hexPrefix(reply.model.sliceSHA256)), "
                + "this coordinator expects \(hexPrefix(expected))"
            return .sliceMismatch(peer: peer, layers: reply.layers, difference: difference)
        }
        return nil
    }
}
