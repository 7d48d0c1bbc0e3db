import Logging
import Testing
@testable import PhiCluster

/// The handshake over real nng sockets on loopback: a worker's listener answering with
/// `HandshakeResponder`, a coordinator using `Handshake.perform`.
@Suite("handshake")
struct HandshakeTests {
    static let model = WireSamples.model

    /// A worker listener that answers the handshake, Health, and records what else arrives.
    struct Worker {
        let listener: LoopbackListener
        let responder: HandshakeResponder
        let log: LogCapture
        let inbox: Inbox

        static func start(secret: SharedSecret?, model: ModelFingerprint = HandshakeTests.model,
                          layers: Range<Int> = 8 ..< 20) throws -> Worker {
            let log = LogCapture()
            let inbox = Inbox()
            let authenticator = WireAuthenticator(secret: secret)
            let identity = WorkerIdentity(nodeName: "w1", model: model, layers: layers,
                                          capabilities: WireSamples.capabilities, load: WireSamples.load)
            let responder = HandshakeResponder(identity: identity, authenticator: authenticator, logger: log.logger)
            let listener = try LoopbackListener.start(authenticator: authenticator, logger: log.logger) { request in
                inbox.append(request)
                switch request.message {
                case let .hello(hello): return responder.reply(to: hello, from: request.peer)
                case let .authenticate(authenticate): return responder.reply(to: authenticate, from: request.peer)
                case .healthRequest: return .healthReply(HealthReply(state: .ready, layers: layers))
                default: return .ack(Ack())
                }
            }
            return Worker(listener: listener, responder: responder, log: log, inbox: inbox)
        }
    }

    func coordinate(with worker: Worker, secret: SharedSecret?, model: ModelFingerprint = HandshakeTests.model,
                    expectedSliceDigest: @escaping @Sendable (Range<Int>) -> [UInt8]? = { _ in nil })
        async throws -> (Result<HelloReply, HandshakeError>, PeerConnection, WireAuthenticator) {
        let authenticator = WireAuthenticator(secret: secret)
        authenticator.startRun()
        let peer = try await PeerConnection.connect(to: worker.listener.address, name: "worker w1", authenticator: authenticator)
        let result: Result<HelloReply, HandshakeError>
        do throws(HandshakeError) {
            result = .success(try await Handshake.perform(
                with: peer, as: CoordinatorIdentity(model: model), authenticator: authenticator,
                expectedSliceDigest: expectedSliceDigest, logger: Logger(label: "test.coordinator")))
        } catch {
            result = .failure(error)
        }
        return (result, peer, authenticator)
    }

    @Test("with the same secret the worker is admitted and tagged requests flow", arguments: [true, false])
    func admitted(withSecret: Bool) async throws {
        let secret = withSecret ? try randomSecret() : nil
        let worker = try Worker.start(secret: secret)
        let (result, peer, _) = try await coordinate(with: worker, secret: secret)
        let reply = try result.get()
        #expect(reply.layers == 8 ..< 20)
        #expect(reply.nodeName == "w1")
        #expect(reply.capabilities == WireSamples.capabilities)
        // The worker adopted the run key: a tagged request passes and the reply verifies.
        let received = try await peer.exchange(.healthRequest, timeout: .seconds(2))
        #expect(received.message == .healthReply(HealthReply(state: .ready, layers: 8 ..< 20)))
        #expect(received.isAuthenticated)
        #expect(worker.inbox.all.last?.isAuthenticated == true)
        await peer.close()
        await worker.listener.stop()
    }

    @Test("a wrong secret is refused and both sides name both secret ids")
    func wrongSecret() async throws {
        let workerSecret = try randomSecret()
        let coordinatorSecret = try randomSecret()
        let worker = try Worker.start(secret: workerSecret)
        let (result, peer, _) = try await coordinate(with: worker, secret: coordinatorSecret)
        guard case let .failure(.refused(_, report)) = result else {
            Issue.record("expected a refusal, got \(result)")
            return
        }
        #expect(report.code == .authenticationFailed)
        for id in [workerSecret.secretIDHex, coordinatorSecret.secretIDHex] {
            #expect(report.message.contains(id))
            #expect(worker.log.text.contains(id))
        }
        // The worker has no run key: a tagged request from this unauthenticated connection gets the fixed refusal.
        let health = try await peer.request(.healthRequest, timeout: .seconds(2))
        guard case let .error(refusal) = health else {
            Issue.record("expected an error, got \(health)")
            return
        }
        #expect(refusal == worker.listener.listener.unauthenticatedRefusal)
        await peer.close()
        await worker.listener.stop()
    }

    @Test("a secret on one side only is refused, naming which side has one", arguments: [true, false])
    func authModeMismatch(workerHasSecret: Bool) async throws {
        let worker = try Worker.start(secret: workerHasSecret ? try randomSecret() : nil)
        let (result, peer, _) = try await coordinate(with: worker, secret: workerHasSecret ? nil : try randomSecret())
        guard case let .failure(.refused(_, report)) = result else {
            Issue.record("expected a refusal, got \(result)")
            return
        }
        #expect(report.code == .authModeMismatch)
        let expected = workerHasSecret ? "worker 'w1' has a secret file, coordinator 'coordinator'" : "worker 'w1' has no secret file"
        #expect(report.message.contains(expected))
        #expect(worker.log.text.contains(expected))
        await peer.close()
        await worker.listener.stop()
    }

    @Test("another model is refused, naming each differing field with both values")
    func modelMismatch() async throws {
        let worker = try Worker.start(secret: nil)
        var other = HandshakeTests.model
        other.hiddenSize = 3072
        other.configSHA256 = Array(repeating: 0x11, count: 32)
        other.modelName = "Phi-4-mini-instruct"
        let (result, peer, _) = try await coordinate(with: worker, secret: nil, model: other)
        guard case let .failure(.refused(_, report)) = result else {
            Issue.record("expected a refusal, got \(result)")
            return
        }
        #expect(report.code == .modelMismatch)
        for fragment in ["hidden size", "3072", "has 64", "1111111111111111", "abababababababab", "Phi-4-mini-instruct", "tiny-phi4"] {
            #expect(report.message.contains(fragment), "missing '\(fragment)' in: \(report.message)")
        }
        #expect(worker.log.text.contains("hidden size"))
        await peer.close()
        await worker.listener.stop()
    }

    @Test("a slice with other tensors is refused by the coordinator, which tells the worker why")
    func sliceMismatch() async throws {
        let plain = try Worker.start(secret: nil)
        let (sliceResult, slicePeer, _) = try await coordinate(with: plain, secret: nil) { layers in
            layers == 8 ..< 20 ? Array(repeating: 0x77, count: 32) : nil
        }
        guard case let .failure(error) = sliceResult, case .sliceMismatch = error else {
            Issue.record("expected a slice mismatch, got \(sliceResult)")
            return
        }
        #expect(error.description.contains("7777777777777777") && error.description.contains("cdcdcdcdcdcdcdcd"))
        #expect(error.description.contains("8..<20"))
        // The worker received the coordinator's reason as an untagged Error request.
        let notice = plain.inbox.all.compactMap { received -> ErrorReport? in
            if case let .error(report) = received.message { return report }
            return nil
        }
        #expect(notice.first?.message.contains("7777777777777777") == true)
        #expect(notice.first?.code == .modelMismatch)
        await slicePeer.close()
        await plain.listener.stop()
    }

    @Test("a peer of another protocol major is refused, and both sides name both versions")
    func protocolMismatch() async throws {
        let worker = try Worker.start(secret: nil)
        let peer = try await PeerConnection.connect(to: worker.listener.address, authenticator: WireAuthenticator(secret: nil))
        let hello = try #require(WireSamples.all.first)
        let future = WireAuthenticator(secret: nil).seal(hello, version: ProtocolVersion(major: 2, minor: 0))
        let raw = try await peer.requestRaw(future, timeout: .seconds(5))
        // The worker's side: an Error reply, and a log line, naming both versions.
        guard case let .error(report) = try WireMessage.decode(raw, from: worker.listener.address) else {
            Issue.record("expected an Error reply")
            return
        }
        #expect(report.code == .protocolMismatch)
        #expect(report.message.contains("speaks wire protocol 2.0, this node speaks 1.0"))
        #expect(worker.log.text.contains("speaks wire protocol 2.0"))
        // The 2.0 sender's side: the reply's envelope alone tells it the worker speaks 1.0.
        let error = try #require(throws: WireError.self) {
            let result = raw.withUnsafeBytes { buffer in
                Result { () throws(WireError) in
                    try WireAuthenticator(secret: nil).open(buffer, from: worker.listener.address, limits: .default,
                                                            speaking: ProtocolVersion(major: 2, minor: 0))
                }
            }
            _ = try result.get()
        }
        #expect(error == .protocolMismatch(peer: worker.listener.address, theirs: .current, ours: ProtocolVersion(major: 2, minor: 0)))
        await peer.close()
        await worker.listener.stop()
    }

    @Test("a proof that does not verify is refused on either side")
    func badProofs() throws {
        let secret = try randomSecret()
        let authenticator = WireAuthenticator(secret: secret)
        authenticator.startRun()
        let responder = HandshakeResponder(
            identity: WorkerIdentity(nodeName: "w1", model: HandshakeTests.model, layers: 0 ..< 8,
                                     capabilities: WireSamples.capabilities, load: WireSamples.load),
            authenticator: WireAuthenticator(secret: secret), logger: Logger(label: "test.worker"))
        let clientNonce = WireSamples.nonce(9)
        let hello = Hello(softwareVersion: "0.1.0", nodeName: "coordinator", clientNonce: clientNonce, authMode: .hmacSHA256,
                          secretID: secret.secretID, model: HandshakeTests.model.withoutSlice)
        guard case var .helloReply(reply) = responder.reply(to: hello, from: "tcp://127.0.0.1:1") else {
            Issue.record("expected a HelloReply")
            return
        }
        // Coordinator side: a forged worker proof.
        let valid = Handshake.check(reply, clientNonce: clientNonce, peer: "w1", identity: CoordinatorIdentity(model: HandshakeTests.model),
                                    authenticator: authenticator, expectedSliceDigest: { _ in nil })
        #expect(valid == nil)
        reply.serverProof[0] ^= 1
        let forged = Handshake.check(reply, clientNonce: clientNonce, peer: "w1", identity: CoordinatorIdentity(model: HandshakeTests.model),
                                     authenticator: authenticator, expectedSliceDigest: { _ in nil })
        #expect(forged == .badProof(peer: "w1"))
        // Worker side: a forged coordinator proof, then a replay of a consumed challenge.
        let authenticate = Authenticate(clientNonce: clientNonce, serverNonce: reply.serverNonce,
                                        clientProof: WireSamples.nonce(3), runNonce: WireSamples.nonce(4))
        guard case let .error(refusal) = responder.reply(to: authenticate, from: "tcp://127.0.0.1:1") else {
            Issue.record("expected a refusal")
            return
        }
        #expect(refusal.code == .authenticationFailed)
        #expect(refusal.message.contains(secret.secretIDHex))
        guard case let .error(replay) = responder.reply(to: authenticate, from: "tcp://127.0.0.1:1") else {
            Issue.record("expected a refusal")
            return
        }
        #expect(replay.message.contains("no recent Hello"))
    }
}
