import Logging
import Synchronization

/// Who a worker is, as its `HelloReply` says.
public struct WorkerIdentity: Sendable, Equatable {
    public var nodeName: String
    public var softwareVersion: String
    /// The worker's model, with the slice digest of `layers`.
    public var model: ModelFingerprint
    /// Absolute layer indices; empty for an idle spare.
    public var layers: Range<Int>
    public var capabilities: Capabilities
    public var load: LoadInfo

    public init(nodeName: String, softwareVersion: String = PhiClusterVersion.current, model: ModelFingerprint,
                layers: Range<Int>, capabilities: Capabilities, load: LoadInfo) {
        self.nodeName = nodeName
        self.softwareVersion = softwareVersion
        self.model = model
        self.layers = layers
        self.capabilities = capabilities
        self.load = load
    }
}

/// The worker's side of the handshake: answers `Hello` and `Authenticate`, refusing with an
/// `ErrorReport` (and a log line) that says exactly what differs: authentication mode, secret,
/// model. The worker's request handler hands it those two messages.
public final class HandshakeResponder: Sendable {
    private let state: Mutex<State>
    private let authenticator: WireAuthenticator
    private let logger: Logger
    /// Refusals are logged at most once per peer host per minute: anyone who reaches the worker
    /// can send Hellos, and a flood must not become a flood of log lines.
    private let refusals: RefusalLog

    private struct State {
        var identity: WorkerIdentity
        /// (client nonce, server nonce) of Hellos answered and not yet authenticated, oldest first.
        var challenges: [(client: [UInt8], server: [UInt8])] = []
    }

    /// Outstanding challenges kept; older ones are forgotten (their Authenticate is then refused).
    static let maxChallenges = 64

    public init(identity: WorkerIdentity, authenticator: WireAuthenticator, logger: Logger) {
        state = Mutex(State(identity: identity))
        self.authenticator = authenticator
        self.logger = logger
        refusals = RefusalLog(logger: logger)
    }

    public var identity: WorkerIdentity { state.withLock { $0.identity } }

    /// Replaces the identity, e.g. after `LoadLayers`; the next `Hello` reports the new one.
    public func update(identity: WorkerIdentity) {
        state.withLock { $0.identity = identity }
    }

    /// `HelloReply`, or an `Error` naming the difference in authentication mode, secret or model.
    public func reply(to hello: Hello, from peer: String) -> WireMessage {
        let identity = self.identity
        let me = "worker '\(identity.nodeName)'"
        let them = "coordinator '\(hello.nodeName)' (\(peer))"
        if let refusal = refusal(of: hello, me: me, them: them, identity: identity) {
            // The node name (in both) is the peer's own text: escaped in the log, echoed only to it.
            refusals.warning(peer: peer, "refused Hello from \(PeerText.escaped(them)): \(PeerText.escaped(refusal.message, maxCharacters: 2000))")
            return .error(ErrorReport(code: refusal.code, message: refusal.message, origin: me, peer: peer,
                                      field: refusal.field))
        }
        let serverNonce = WireCrypto.randomNonce()
        state.withLock { state in
            state.challenges.append((hello.clientNonce, serverNonce))
            if state.challenges.count > Self.maxChallenges { state.challenges.removeFirst() }
        }
        let proof = authenticator.secret.map {
            WireCrypto.workerProof($0, clientNonce: hello.clientNonce, serverNonce: serverNonce)
        } ?? []
        return .helloReply(HelloReply(
            softwareVersion: identity.softwareVersion, nodeName: identity.nodeName, serverNonce: serverNonce,
            authMode: authenticator.authMode, secretID: authenticator.secretID, serverProof: proof,
            model: identity.model, layers: identity.layers, capabilities: identity.capabilities, load: identity.load))
    }

    /// `Ack` after adopting the run nonce, or an
    /// `Error` when the nonces answer no Hello of this worker or the proof fails.
    public func reply(to authenticate: Authenticate, from peer: String) -> WireMessage {
        let me = "worker '\(identity.nodeName)'"
        let known = state.withLock { state in
            guard let index = state.challenges.firstIndex(where: {
                $0.client == authenticate.clientNonce && $0.server == authenticate.serverNonce
            }) else { return false }
            state.challenges.remove(at: index)
            return true
        }
        func refuse(_ message: String, field: String) -> WireMessage {
            refusals.warning(peer: peer, "refused Authenticate from \(peer): \(message)")
            return .error(ErrorReport(code: .authenticationFailed, message: message, origin: me, peer: peer, field: field))
        }
        guard known else {
            return refuse("Authenticate from \(peer) answers no recent Hello of \(me) (stale or replayed nonces)",
                          field: "Authenticate.server_nonce")
        }
        if let secret = authenticator.secret {
            guard WireCrypto.isValid(authenticate.clientProof, secret.key, WireCrypto.coordinatorProofLabel,
                                     authenticate.clientNonce, authenticate.serverNonce, authenticate.runNonce) else {
                return refuse("the coordinator at \(peer) failed to prove the shared secret of \(me) "
                              + "(secret id \(secret.secretIDHex)): the secret files differ", field: "Authenticate.client_proof")
            }
        } else if !authenticate.clientProof.isEmpty {
            return refuse("the coordinator at \(peer) sent a proof, but \(me) has no secret file", field: "Authenticate.client_proof")
        }
        authenticator.adoptRun(nonce: authenticate.runNonce)
        logger.info("authenticated the coordinator at \(peer) for run \(hexPrefix(authenticate.runNonce))")
        return .ack(Ack())
    }

    private func refusal(of hello: Hello, me: String, them: String,
                         identity: WorkerIdentity) -> (code: WireErrorCode, message: String, field: String)? {
        if hello.authMode != authenticator.authMode {
            let mine = authenticator.secret == nil ? "has no secret file" : "has a secret file"
            let theirs = hello.authMode == .none ? "has none" : "has one"
            return (.authModeMismatch, "authentication mode differs: \(me) \(mine), \(them) \(theirs)", "Hello.auth_mode")
        }
        if let secret = authenticator.secret, hello.secretID != secret.secretID {
            return (.authenticationFailed,
                    "the secret files differ: \(them) has secret id \(hexPrefix(hello.secretID)), "
                        + "\(me) has \(secret.secretIDHex)", "Hello.secret_id")
        }
        let differences = identity.model.modelDifferences(from: hello.model, local: me, remote: them)
        if !differences.isEmpty {
            return (.modelMismatch, "model differs: " + differences.joined(separator: "; "), "Hello.model")
        }
        return nil
    }
}
