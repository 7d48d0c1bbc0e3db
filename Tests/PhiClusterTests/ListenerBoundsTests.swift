import Foundation
import Logging
import PhiTestSupport
import Testing
@testable import PhiCluster

/// The bounds a listener keeps before authentication, met by hand-made nng clients over real
/// sockets on loopback (docs/WIRE.md, "Bounds before authentication").
@Suite("listener bounds before authentication", .serialized)
struct ListenerBoundsTests {
    static let answerTimeout = Duration.seconds(5)

    func port(of listener: LoopbackListener) throws -> UInt16 {
        try #require(listener.address.split(separator: ":").last.flatMap { UInt16($0) })
    }

    /// Waits until `condition` holds, at most `timeout`.
    func eventually(_ timeout: Duration = .seconds(3), _ condition: () -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return condition()
    }

    /// A worker's and a coordinator's authenticators with one secret, in the same run (as after
    /// a handshake), so the coordinator's messages authenticate.
    static func authenticatorsOfOneRun() throws -> (worker: WireAuthenticator, coordinator: WireAuthenticator) {
        let secret = try randomSecret()
        let worker = WireAuthenticator(secret: secret)
        let coordinator = WireAuthenticator(secret: secret)
        worker.adoptRun(nonce: coordinator.startRun())
        return (worker, coordinator)
    }

    @Test("a connection beyond maxConnections is closed as it arrives; the others stay open")
    func connectionCap() async throws {
        var options = TransportOptions()
        options.maxConnections = 4
        options.maxUnauthenticatedConnections = 4
        let listener = try LoopbackListener.start(options: options) { _ in .ack(Ack()) }
        let port = try port(of: listener)
        let admitted = try (0 ..< 4).map { _ in try RawSPClient(port: port) }
        #expect(await eventually { listener.listener.connectionCounts.total == 4 })
        let extra = try RawSPClient(port: port)
        #expect(extra.isClosed(within: .seconds(2)), "the fifth connection stayed open")
        for client in admitted { #expect(!client.isClosed(within: .milliseconds(100))) }
        #expect(listener.listener.connectionCounts.total == 4)
        await listener.stop()
    }

    @Test("at most maxUnauthenticatedConnections wait to authenticate; authenticated connections do not count")
    func unauthenticatedCap() async throws {
        let (workerAuthenticator, coordinatorAuthenticator) = try Self.authenticatorsOfOneRun()
        var options = TransportOptions()
        options.maxUnauthenticatedConnections = 2
        let listener = try LoopbackListener.start(authenticator: workerAuthenticator, options: options) { _ in .ack(Ack()) }
        let member = try await PeerConnection.connect(to: listener.address, authenticator: coordinatorAuthenticator, sharesRun: true)
        #expect(await eventually { listener.listener.connectionCounts == (1, 0) })
        let port = try port(of: listener)
        let waiting = try (0 ..< 2).map { _ in try RawSPClient(port: port) }
        #expect(await eventually { listener.listener.connectionCounts == (3, 2) })
        let extra = try RawSPClient(port: port)
        #expect(extra.isClosed(within: .seconds(2)), "a third unauthenticated connection stayed open")
        for client in waiting { #expect(!client.isClosed(within: .milliseconds(100))) }
        #expect(try await member.requestAck(.resetSession(ResetSession(sessionID: 1)), timeout: Self.answerTimeout) == Ack())
        await member.close()
        await listener.stop()
    }

    @Test("a connection that does not authenticate is closed at the deadline; an authenticated idle one stays")
    func unauthenticatedDeadline() async throws {
        let (workerAuthenticator, coordinatorAuthenticator) = try Self.authenticatorsOfOneRun()
        var options = TransportOptions()
        options.unauthenticatedTimeout = .seconds(1)
        let listener = try LoopbackListener.start(authenticator: workerAuthenticator, options: options) { _ in .ack(Ack()) }
        // A worker's connection to its next hop: idle, but authenticated by its opening HealthRequest.
        let member = try await PeerConnection.connect(to: listener.address, authenticator: coordinatorAuthenticator,
                                                      options: options, sharesRun: true)
        var events = member.connectionEvents.makeAsyncIterator()
        #expect(await events.next() == .connected)
        let silent = try RawSPClient(port: try port(of: listener))
        let opened = ContinuousClock.now
        #expect(silent.isClosed(within: .seconds(3)), "the silent connection stayed open")
        let closedAfter = ContinuousClock.now - opened
        #expect(closedAfter >= .milliseconds(900) && closedAfter < .seconds(2), "closed after \(closedAfter)")
        try await Task.sleep(for: .seconds(1))
        #expect(member.isConnected)
        #expect(listener.listener.connectionCounts == (1, 0))
        #expect(try await member.requestAck(.resetSession(ResetSession(sessionID: 1)), timeout: Self.answerTimeout) == Ack())
        await member.close()
        await listener.stop()
    }

    @Test("an untagged message above 64 KiB before authenticating is closed unread; small junk gets the fixed refusal")
    func largeUntaggedMessage() async throws {
        let secret = try randomSecret()
        let authenticator = WireAuthenticator(secret: secret)
        authenticator.startRun()
        let log = LogCapture()
        let inbox = Inbox()
        let listener = try LoopbackListener.start(authenticator: authenticator, logger: log.logger) { request in
            inbox.append(request)
            return .ack(Ack())
        }
        let port = try port(of: listener)
        let smallJunk = WireAuthenticator(secret: nil).seal(.trimKV(TrimKV(sessionID: 1, keepTokens: 0)))
        // An envelope whose body is 100 KiB of an unknown field: decodable, untagged, large.
        var padded = WireAuthenticator(secret: nil).seal(.healthRequest)
        padded += [0x2a] + varint(100 << 10) + [UInt8](repeating: 0x41, count: 100 << 10)  // field 5, bytes
        let client = try RawSPClient(port: port)
        client.sendRequest(padded)
        #expect(client.isClosed(within: .seconds(2)), "the connection stayed open")
        #expect(await eventually { log.text.contains("untagged message of \(padded.count) bytes") }, "\(log.text)")
        let small = try RawSPClient(port: port)
        small.sendRequest(smallJunk)
        let reply = try #require(small.readReply(timeout: Self.answerTimeout))
        let refusal = try WireMessage.decode(reply, from: listener.address)
        #expect(refusal == .error(listener.listener.unauthenticatedRefusal))
        #expect(inbox.all.isEmpty)
        await listener.stop()
    }

    @Test("junk Hellos from 32 clients never take the contexts an authenticated health ping needs")
    func junkHellosDoNotStarveHealth() async throws {
        let (workerAuthenticator, coordinatorAuthenticator) = try Self.authenticatorsOfOneRun()
        var options = TransportOptions()
        options.concurrentRequests = 8
        options.maxUnauthenticatedConnections = 64
        // A handler whose Hello is slow, as a worker's was when it waited for a long pass.
        let listener = try LoopbackListener.start(authenticator: workerAuthenticator, options: options) { request in
            switch request.message {
            case .hello:
                try? await Task.sleep(for: .seconds(5))
                return .error(ErrorReport(code: .busy, message: "slow", origin: "test"))
            case .healthRequest: return .healthReply(HealthReply(state: .ready, layers: 0 ..< 8))
            default: return .ack(Ack())
            }
        }
        let member = try await PeerConnection.connect(to: listener.address, authenticator: coordinatorAuthenticator, sharesRun: true)
        #expect(await eventually { listener.listener.connectionCounts == (1, 0) })
        let hello = WireAuthenticator(secret: nil).seal(.hello(Hello(
            softwareVersion: "junk", nodeName: "junk", clientNonce: [UInt8](repeating: 1, count: 32), authMode: .hmacSHA256,
            secretID: [UInt8](repeating: 2, count: 8), model: WireSamples.model.withoutSlice)), tagged: false)
        let port = try port(of: listener)
        let junk = try (0 ..< 32).map { _ in try RawSPClient(port: port) }
        for (index, client) in junk.enumerated() {
            for id in 0 ..< 4 { client.sendRequest(hello, id: UInt32(index * 4 + id)) }
        }
        for _ in 0 ..< 20 {
            let start = ContinuousClock.now
            #expect(try await member.request(.healthRequest, timeout: .seconds(2)) == .healthReply(HealthReply(state: .ready, layers: 0 ..< 8)))
            #expect(ContinuousClock.now - start < .seconds(1))
            try await Task.sleep(for: .milliseconds(100))
        }
        await member.close()
        await listener.stop()
    }

    @Test("a listener beyond loopback without a secret is refused unless insecure listening is allowed")
    func secureByDefault() async throws {
        let error = try #require(throws: TransportError.self) {
            try ReplyListener(listeningOn: "tcp://0.0.0.0:0", authenticator: WireAuthenticator(secret: nil), logger: Logger(label: "test"))
        }
        #expect(error == .insecureListen(address: "tcp://0.0.0.0:0"))
        for fragment in ["--secret-file", "--insecure", "head -c 32 /dev/urandom", "chmod 600"] {
            #expect(error.description.contains(fragment), "missing '\(fragment)' in: \(error.description)")
        }
        var options = TransportOptions()
        options.allowsInsecureListening = true
        let insecure = try ReplyListener(listeningOn: "tcp://0.0.0.0:0", authenticator: WireAuthenticator(secret: nil),
                                         options: options, logger: Logger(label: "test"))
        await insecure.close()
        let authenticated = try ReplyListener(listeningOn: "tcp://0.0.0.0:0", authenticator: WireAuthenticator(secret: try randomSecret()),
                                              logger: Logger(label: "test"))
        await authenticated.close()
        for loopback in ["tcp://127.0.0.1:0", "tcp://localhost:0", "tcp://[::1]:0", "ipc:///tmp/x"] {
            #expect(ReplyListener.isLoopback(loopback), "\(loopback)")
        }
        for open in ["tcp://0.0.0.0:5600", "tcp://192.168.1.20:5600", "tcp://[::]:5600", "tcp://node1:5600"] {
            #expect(!ReplyListener.isLoopback(open), "\(open)")
        }
    }

    private func varint(_ value: Int) -> [UInt8] {
        var value = UInt64(value)
        var bytes: [UInt8] = []
        while value >= 0x80 {
            bytes.append(UInt8(value & 0x7f) | 0x80)
            value >>= 7
        }
        return bytes + [UInt8(value)]
    }
}
