import Foundation
import Logging
import Testing
@testable import PhiCluster


/// Real nng sockets on loopback, in one process: requests, concurrency, timeouts, bad frames and
/// dead peers. Errors must name the peer.
@Suite("transport")
struct TransportTests {
    /// Long enough for a loaded 2-core CI machine to answer a loopback request; short enough that a
    /// test waiting on a timeout stays quick.
    static let answerTimeout = Duration.seconds(5)

    @Test("every message crosses a real socket intact")
    func echo() async throws {
        let listener = try LoopbackListener.start { $0.message }
        let peer = try await PeerConnection.connect(to: listener.address, authenticator: WireAuthenticator(secret: nil))
        for message in WireSamples.all {
            #expect(try await peer.request(message, timeout: Self.answerTimeout) == message)
        }
        await peer.close()
        await listener.stop()
    }

    @Test("a large f32 prefill frame crosses intact")
    func largeFrame() async throws {
        let listener = try LoopbackListener.start { $0.message }
        let peer = try await PeerConnection.connect(to: listener.address, authenticator: WireAuthenticator(secret: nil))
        let values = WireSamples.hiddenValues(tokens: 512, hiddenSize: 3072)  // 6 MiB
        let frame = WireMessage.activation(ActivationFrame(
            sessionID: 1, sequence: 1, firstPosition: 0, layerBegin: 16, ropeFactors: .short, output: .lastLogits,
            input: .hidden(try ActivationFrame.HiddenStates(values: values, hiddenSize: 3072, dtype: .f32))))
        #expect(try await peer.request(frame, timeout: .seconds(20)) == frame)
        await peer.close()
        await listener.stop()
    }

    @Test("the largest chunk the coordinator sends fits one message and crosses intact (Phi-4-mini, f32 hidden states)")
    func largestChunk() async throws {
        let limits = WireLimits.default
        let tokens = ClusterPipeline.maxFrameTokens(hiddenSize: 3072, wireDType: .f32, limits: limits)
        // 8,192 tokens of 3,072 f32 values would be 96 MiB: a --chunk that large is cut.
        #expect(tokens < limits.maxTokensPerFrame && tokens > 4096, "\(tokens)")
        #expect(ClusterPipeline.maxFrameTokens(hiddenSize: 64, wireDType: .f32, limits: limits) == limits.maxTokensPerFrame)
        let listener = try LoopbackListener.start { $0.message }
        let peer = try await PeerConnection.connect(to: listener.address, authenticator: WireAuthenticator(secret: nil))
        let frame = WireMessage.activation(ActivationFrame(
            sessionID: 1, sequence: 1, firstPosition: 0, layerBegin: 16, ropeFactors: .short, output: .argmaxAndLastLogits,
            input: .hidden(try ActivationFrame.HiddenStates(values: WireSamples.hiddenValues(tokens: tokens, hiddenSize: 3072),
                                                            hiddenSize: 3072, dtype: .f32))))
        #expect(try await peer.request(frame, timeout: .seconds(60)) == frame)
        await peer.close()
        await listener.stop()
    }

    @Test("requests run concurrently on one connection")
    func concurrentRequests() async throws {
        let inFlight = 8
        let rendezvous = Rendezvous(count: inFlight)
        let listener = try LoopbackListener.start { request in
            // Every handler waits until all are inside: only concurrent serving gets past this.
            let together = await rendezvous.arrive(timeout: .seconds(10))
            return together ? request.message : .error(ErrorReport(code: .internal, message: "alone", origin: "test"))
        }
        let peer = try await PeerConnection.connect(to: listener.address, authenticator: WireAuthenticator(secret: nil))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0 ..< inFlight {
                group.addTask { () async throws -> Void in
                    let message = WireMessage.trimKV(TrimKV(sessionID: UInt64(index), keepTokens: index))
                    #expect(try await peer.request(message, timeout: .seconds(15)) == message)
                }
            }
            try await group.waitForAll()
        }
        await peer.close()
        await listener.stop()
    }

    @Test("a slow request does not delay a health ping")
    func slowHandlerHealth() async throws {
        let listener = try LoopbackListener.start { request in
            if case .shutdown = request.message { try? await Task.sleep(for: .seconds(3)) }
            return .ack(Ack())
        }
        let peer = try await PeerConnection.connect(to: listener.address, authenticator: WireAuthenticator(secret: nil))
        let slow = Task { try await peer.request(.shutdown(reason: "slow"), timeout: .seconds(10)) }
        try await Task.sleep(for: .milliseconds(100))
        let start = ContinuousClock.now
        #expect(try await peer.request(.healthRequest, timeout: .seconds(2)) == .ack(Ack()))
        #expect(ContinuousClock.now - start < .seconds(2))
        _ = try await slow.value
        await peer.close()
        await listener.stop()
    }

    @Test("a request without an answer times out, naming the peer and the wait")
    func timeoutNamesPeer() async throws {
        let listener = try LoopbackListener.start { _ in
            try? await Task.sleep(for: .seconds(3))
            return .ack(Ack())
        }
        let peer = try await PeerConnection.connect(to: listener.address, name: "worker w2",
                                                    authenticator: WireAuthenticator(secret: nil))
        let start = ContinuousClock.now
        let error = try await #require(throws: TransportError.self) {
            try await peer.request(.healthRequest, timeout: .milliseconds(300))
        }
        #expect(ContinuousClock.now - start < .seconds(2))
        #expect(error == .timedOut(peer: "worker w2 (\(listener.address))", request: "HealthRequest", after: .milliseconds(300)))
        #expect(error.description == "worker w2 (\(listener.address)) did not answer HealthRequest within 300 ms")
        await peer.close()
        await listener.stop()
    }

    @Test("a refused connection fails at once, naming the address")
    func dialRefused() async throws {
        let address = try await unusedLoopbackAddress()
        let start = ContinuousClock.now
        let error = try await #require(throws: TransportError.self) {
            try await PeerConnection.connect(to: address, name: "worker w3", authenticator: WireAuthenticator(secret: nil))
        }
        #expect(ContinuousClock.now - start < .seconds(2))
        guard case let .dialFailed(peer, reason) = error else {
            Issue.record("expected dialFailed, got \(error)")
            return
        }
        #expect(peer == "worker w3 (\(address))")
        #expect(reason.lowercased().contains("refused"))
    }

    @Test("a peer that accepts TCP but never speaks nng is cut off at the connect timeout")
    func silentPeer() async throws {
        let silent = try SilentTCPServer()
        defer { silent.close() }
        let address = "tcp://127.0.0.1:\(silent.port)"
        var options = TransportOptions()
        options.connectTimeout = .milliseconds(500)
        let start = ContinuousClock.now
        let error = try await #require(throws: TransportError.self) {
            try await PeerConnection.connect(to: address, authenticator: WireAuthenticator(secret: nil), options: options)
        }
        #expect(ContinuousClock.now - start < .seconds(3))
        #expect(error == .connectTimedOut(peer: address, after: .milliseconds(500)))
        #expect(error.description.contains(address))
    }

    @Test("garbage gets an Error reply naming the sender, and the listener serves on")
    func garbageFrame() async throws {
        let log = LogCapture()
        let listener = try LoopbackListener.start(logger: log.logger) { _ in .ack(Ack()) }
        let peer = try await PeerConnection.connect(to: listener.address, authenticator: WireAuthenticator(secret: nil))
        let truncated = Array(WireMessage.configure(Configure(nextHop: "tcp://10.0.0.2:1", coordinator: "", wireDType: .f32,
                                                              sessionContextTokens: 1, maxSessions: 1, layers: 0 ..< 4))
            .encode().dropLast(3))
        for garbage in [Array("GET / HTTP/1.1\r\n\r\n".utf8), [], [0xff, 0xff, 0xff, 0xff, 0x0f], truncated] {
            let raw = try await peer.requestRaw(garbage, timeout: Self.answerTimeout)
            let reply = try WireMessage.decode(raw, from: listener.address)
            guard case let .error(report) = reply else {
                Issue.record("expected an Error reply to \(garbage), got \(reply)")
                continue
            }
            #expect(report.code == .malformed)
            #expect(report.message.contains("tcp://127.0.0.1:"))  // the sender's address
        }
        #expect(try await peer.request(.healthRequest, timeout: Self.answerTimeout) == .ack(Ack()))
        #expect(log.text.contains("refused a message"))
        await peer.close()
        await listener.stop()
    }

    @Test("a raw TCP client sending garbage is dropped, and the listener serves on")
    func rawTCPGarbage() async throws {
        let listener = try LoopbackListener.start { _ in .ack(Ack()) }
        let port = try #require(listener.address.split(separator: ":").last.flatMap { UInt16($0) })
        try RawTCPClient.send(Array("\u{0}SP\u{0}garbage that is not an nng handshake".utf8) + Array(repeating: 0xee, count: 4096), to: port)
        let peer = try await PeerConnection.connect(to: listener.address, authenticator: WireAuthenticator(secret: nil))
        #expect(try await peer.request(.healthRequest, timeout: Self.answerTimeout) == .ack(Ack()))
        await peer.close()
        await listener.stop()
    }

    @Test("an oversized frame closes that connection; the listener and the peer recover")
    func oversizedFrame() async throws {
        var options = TransportOptions()
        options.limits.maxMessageBytes = 64 << 10
        let listener = try LoopbackListener.start(options: options) { _ in .ack(Ack()) }
        let peer = try await PeerConnection.connect(to: listener.address, name: "worker w1", authenticator: WireAuthenticator(secret: nil))
        let start = ContinuousClock.now
        let error = try await #require(throws: TransportError.self) {
            try await peer.requestRaw(Array(repeating: 0x5a, count: 1 << 20), timeout: Self.answerTimeout)
        }
        #expect(error == .connectionClosed(peer: "worker w1 (\(listener.address))", request: "raw message"))
        #expect(ContinuousClock.now - start < .seconds(2))
        // nng redials; the next request goes through a new connection.
        #expect(try await peer.request(.healthRequest, timeout: Self.answerTimeout) == .ack(Ack()))
        // And a fresh connection is served too.
        let other = try await PeerConnection.connect(to: listener.address, authenticator: WireAuthenticator(secret: nil))
        #expect(try await other.request(.healthRequest, timeout: Self.answerTimeout) == .ack(Ack()))
        await other.close()
        await peer.close()
        await listener.stop()
    }

    @Test("an unauthenticated frame to a node with a secret gets an Error reply, and the node serves on")
    func unauthenticatedFrame() async throws {
        let secret = try randomSecret()
        let workerAuthenticator = WireAuthenticator(secret: secret)
        let coordinatorAuthenticator = WireAuthenticator(secret: secret)
        workerAuthenticator.adoptRun(nonce: coordinatorAuthenticator.startRun())
        let listener = try LoopbackListener.start(authenticator: workerAuthenticator) { _ in .ack(Ack()) }
        let intruder = try await PeerConnection.connect(to: listener.address, authenticator: WireAuthenticator(secret: nil))
        let reply = try await intruder.request(.resetSession(ResetSession(sessionID: 1, allSessions: true)), timeout: Self.answerTimeout)
        guard case let .error(report) = reply else {
            Issue.record("expected an Error reply, got \(reply)")
            return
        }
        // The one fixed refusal, whatever was sent: nothing of the request is echoed.
        #expect(report == listener.listener.unauthenticatedRefusal)
        let member = try await PeerConnection.connect(to: listener.address, authenticator: coordinatorAuthenticator)
        #expect(try await member.requestAck(.resetSession(ResetSession(sessionID: 1)), timeout: Self.answerTimeout) == Ack())
        await intruder.close()
        await member.close()
        await listener.stop()
    }

    @Test("a peer that dies with a request in flight is reported at once, and by health pings after")
    func deadPeer() async throws {
        let listener = try LoopbackListener.start { request in
            if case .activation = request.message { try? await Task.sleep(for: .seconds(30)) }
            return .ack(Ack())
        }
        let address = listener.address
        let peer = try await PeerConnection.connect(to: address, name: "worker w2", authenticator: WireAuthenticator(secret: nil))
        var events = peer.connectionEvents.makeAsyncIterator()
        #expect(await events.next() == .connected)
        #expect(peer.isConnected)
        let frame = try #require(WireSamples.all.first { $0.kindName == "ActivationFrame" })
        let pending = Task { () throws(TransportError) -> WireMessage in try await peer.request(frame, timeout: .seconds(20)) }
        try await Task.sleep(for: .milliseconds(200))
        let start = ContinuousClock.now
        await listener.listener.close()  // the worker's socket goes away as if the process died
        let result = await pending.result
        #expect(ContinuousClock.now - start < .seconds(2))
        #expect(throws: TransportError.connectionClosed(peer: "worker w2 (\(address))", request: "ActivationFrame")) { try result.get() }
        #expect(await events.next() == .disconnected)
        #expect(!peer.isConnected)
        let ping = try await #require(throws: TransportError.self) { try await peer.request(.healthRequest, timeout: .seconds(1)) }
        #expect(ping.description == "worker w2 (\(address)) did not answer HealthRequest within 1 s")
        listener.serving.cancel()
        await peer.close()
    }

    @Test("a peer that comes back on the same address is reconnected")
    func reconnect() async throws {
        let first = try LoopbackListener.start { _ in .ack(Ack()) }
        let address = first.address
        let peer = try await PeerConnection.connect(to: address, authenticator: WireAuthenticator(secret: nil))
        var events = peer.connectionEvents.makeAsyncIterator()
        #expect(await events.next() == .connected)
        await first.stop()
        #expect(await events.next() == .disconnected)
        let replacement = try ReplyListener(listeningOn: address, authenticator: WireAuthenticator(secret: nil),
                                            logger: Logger(label: "test.replacement"))
        let serving = Task { await replacement.serve { _ in .healthReply(HealthReply(state: .ready, layers: 0 ..< 8)) } }
        #expect(await events.next() == .connected)
        #expect(try await peer.request(.healthRequest, timeout: Self.answerTimeout) == .healthReply(HealthReply(state: .ready, layers: 0 ..< 8)))
        await peer.close()
        await replacement.close()
        serving.cancel()
    }

    @Test("listening on an address in use fails naming it")
    func addressInUse() throws {
        let listener = try ReplyListener(listeningOn: "tcp://127.0.0.1:0", authenticator: WireAuthenticator(secret: nil),
                                         logger: Logger(label: "test"))
        let error = try #require(throws: TransportError.self) {
            try ReplyListener(listeningOn: listener.boundAddress, authenticator: WireAuthenticator(secret: nil), logger: Logger(label: "test"))
        }
        guard case let .listenFailed(address, _) = error else {
            Issue.record("expected listenFailed, got \(error)")
            return
        }
        #expect(address == listener.boundAddress)
        Task { await listener.close() }
    }
}
