import Foundation
import Logging
import PhiModel
import PhiTestSupport
import Testing
@testable import PhiCluster

/// A hostile peer on the network against real phi-worker processes and an in-process coordinator:
/// forged messages change nothing and are logged once a minute, escaped; a partial large message
/// is dropped at the deadline; a worker's state directory is capped.
@Suite("security against a hostile peer", .serialized)
struct SecurityTests {
    let scratch: URL

    init() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("phi-security-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    func secretFile() throws -> URL {
        let file = scratch.appendingPathComponent("cluster.secret")
        if !FileManager.default.fileExists(atPath: file.path) { try SharedSecret.createFile(at: file.path) }
        return file
    }

    func connect(_ group: WorkerGroup, secretFile: URL?, logger: Logger) async throws -> ClusterPipeline {
        let options = ClusterOptions(workers: group.workers.map { .init(name: $0.name, address: $0.address) },
                                     secretFile: secretFile, contextTokens: 512)
        return try await ClusterPipeline.connect(model: try ModelSource.open(Fixtures.tinyModel), options: options, logger: logger)
    }

    /// One pass of `tokens` through the ring: the argmax of its last position.
    func lastArgmax(_ pipeline: ClusterPipeline, session: SessionID, tokens: [Int]) async throws -> [Int]? {
        try await pipeline.append(session: session, tokens: tokens, ropeFactors: .short, logits: .argmaxAndLast,
                                  chunkTokens: 64, progress: nil).argmax
    }

    /// Lines of `log` that are refusal summaries for peers on 127.0.0.1.
    func refusalLines(_ log: String) -> [Substring] {
        log.split(separator: "\n").filter { $0.contains("further refusals from 127.0.0.1") }
    }

    @Test("forged Error, Configure, Shutdown, ResetSession, TrimKV, LoadLayers and SaveKV from an unauthenticated peer change nothing, and are logged once per peer per minute, escaped")
    func forgedMessages() async throws {
        let secret = try secretFile()
        let group = try WorkerGroup(split: [0 ..< 16, 16 ..< 32], extraArguments: ["--secret-file", secret.path])
        let coordinatorLog = LogCapture()
        let pipeline = try await connect(group, secretFile: secret, logger: coordinatorLog.logger)
        try await pipeline.openSession(SessionID(1), contextTokens: 512)
        let before = try await lastArgmax(pipeline, session: SessionID(1), tokens: [1, 2, 3, 4])

        // To the coordinator: "worker w2 is down", with a line break and an ANSI escape to forge a log line.
        let forgedText = "w2 is gone\n\u{1b}[31mERROR coordinator: worker w1 is down"
        let coordinatorListener = await pipeline.listener
        let refusal = coordinatorListener.unauthenticatedRefusal
        let intruder = try await PeerConnection.connect(to: coordinatorListener.boundAddress, authenticator: WireAuthenticator(secret: nil))
        for _ in 0 ..< 20 {
            let reply = try await intruder.request(.error(ErrorReport(code: .nextHopFailed, message: forgedText, origin: "w1",
                                                                      peer: group.workers[1].address)), timeout: .seconds(5))
            #expect(reply == .error(refusal))
        }
        await intruder.close()
        try await Task.sleep(for: .milliseconds(1500))  // longer than a health interval
        #expect(await pipeline.health().map(\.state) == [.ready, .ready])
        let coordinatorLines = refusalLines(coordinatorLog.text)
        #expect(coordinatorLines.count == 1, "\(coordinatorLog.text)")
        #expect(coordinatorLines.first?.contains("w2 is gone\\n\\u{1b}[31mERROR coordinator") == true, "\(coordinatorLog.text)")
        #expect(!coordinatorLog.text.contains("\u{1b}"))

        // To a worker: every message that would change its state.
        let worker = group.workers[0]
        let forged: [WireMessage] = [
            .error(ErrorReport(code: .nextHopFailed, message: forgedText, origin: "coordinator")),
            .configure(Configure(nextHop: "tcp://10.255.0.1:1", coordinator: "tcp://10.255.0.1:2", wireDType: .f32,
                                 sessionContextTokens: 16, maxSessions: 1, layers: 0 ..< 16)),
            .resetSession(ResetSession(sessionID: 1, allSessions: true)),
            .trimKV(TrimKV(sessionID: 1, keepTokens: 0)),
            .loadLayers(LoadLayers(layers: 0 ..< 32, weightFormat: .f32,
                                   model: try ModelSource.open(Fixtures.tinyModel).fingerprint(layers: nil))),
            .saveKV(SaveKV(sessionID: 1, name: "forged", firstToken: 0, endToken: 4)),
            .shutdown(reason: "forged"),
        ]
        let workerIntruder = try await PeerConnection.connect(to: worker.address, authenticator: WireAuthenticator(secret: nil))
        for _ in 0 ..< 10 {
            for message in forged {
                guard case let .error(report) = try await workerIntruder.request(message, timeout: .seconds(5)) else {
                    Issue.record("\(message.kindName) was not refused")
                    continue
                }
                #expect(report.code == .unauthenticated && report.message.hasPrefix("refused: a peer that has not authenticated"))
            }
        }
        await workerIntruder.close()
        try await Task.sleep(for: .milliseconds(300))
        #expect(worker.process.isRunning)
        #expect(await pipeline.health().map(\.state) == [.ready, .ready])
        // The session's cache is still there: the next pass continues it, and matches a fresh run of the same tokens.
        let after = try await lastArgmax(pipeline, session: SessionID(1), tokens: [5, 6])
        try await pipeline.openSession(SessionID(2), contextTokens: 512)
        let reference = try await lastArgmax(pipeline, session: SessionID(2), tokens: [1, 2, 3, 4, 5, 6])
        #expect(before != nil && after?.last == reference?.last)
        let log = worker.log
        #expect(!log.contains("configured: next hop tcp://10.255.0.1") && !log.contains("shutting down") && !log.contains("forged.L"))
        let workerLines = refusalLines(log)
        #expect(workerLines.count == 1, "\(log)")
        #expect(workerLines.first?.contains("w2 is gone\\n\\u{1b}[31mERROR") == true, "\(log)")
        #expect(!log.contains("\u{1b}"))
        await pipeline.close()
    }

    @Test("a partial 60 MiB message holds the worker's memory only until the unauthenticated deadline; connections beyond 4 are closed at once")
    func partialMessage() async throws {
        let secret = try secretFile()
        let worker = try WorkerProcess.start(name: "w1", layers: 0 ..< 32,
                                             extraArguments: ["--secret-file", secret.path, "--unauthenticated-timeout", "3"])
        let pid = worker.process.processIdentifier
        let port = try #require(worker.address.split(separator: ":").last.flatMap { UInt16($0) })
        try await Task.sleep(for: .milliseconds(300))
        let baseline = try #require(residentBytes(ofProcess: pid))
        let opened = ContinuousClock.now
        let clients = try (0 ..< 6).map { _ in try RawSPClient(port: port) }
        // TransportOptions.maxUnauthenticatedConnections (4): the fifth and sixth are closed as they arrive.
        let closedAtOnce = clients.filter { $0.isClosed(within: .milliseconds(300)) }.count
        #expect(closedAtOnce == 2)
        let messageBytes = 60 << 20
        for client in clients {
            Thread.detachNewThread { client.sendPartial(announcedBytes: messageBytes + 16, sentBytes: messageBytes) }
        }
        var peak = baseline
        var closedAt: [ContinuousClock.Instant] = []
        var open = clients
        while !open.isEmpty && ContinuousClock.now - opened < .seconds(10) {
            peak = max(peak, residentBytes(ofProcess: pid) ?? 0)
            open = open.filter { client in
                guard client.isClosed(within: .milliseconds(20)) else { return true }
                closedAt.append(.now)
                return false
            }
        }
        #expect(open.isEmpty, "\(open.count) connections stayed open past the deadline")
        #expect(closedAt.allSatisfy { $0 - opened < .seconds(5) })
        let grew = peak - baseline
        #expect(grew >= 60 << 20, "the partial messages should have been held: grew \(grew >> 20) MiB")
        #expect(grew <= 4 * (64 << 20) + (64 << 20), "grew \(grew >> 20) MiB, beyond 4 connections' messages")
        try await Task.sleep(for: .milliseconds(500))
        let after = try #require(residentBytes(ofProcess: pid))
        #expect(after <= baseline + (48 << 20), "RSS stayed at \(after >> 20) MiB (baseline \(baseline >> 20) MiB, peak \(peak >> 20) MiB)")
        #expect(worker.process.isRunning)
        // One line for all of it: the first refusal; the rest are counted until the next minute.
        #expect(refusalLines(worker.log).count == 1, "\(worker.log)")
        worker.stop()
    }

    @Test("32 junk Hello clients while the worker runs passes do not make the coordinator's health pings fail, and their Hellos are answered")
    func junkHellosDuringLongPass() async throws {
        let secret = try secretFile()
        let group = try WorkerGroup(split: [0 ..< 32], extraArguments: ["--secret-file", secret.path])
        let pipeline = try await connect(group, secretFile: secret, logger: Logger(label: "test.coordinator"))
        try await pipeline.openSession(SessionID(1), contextTokens: 512)
        let port = try #require(group.workers[0].address.split(separator: ":").last.flatMap { UInt16($0) })
        let hello = WireAuthenticator(secret: nil).seal(.hello(Hello(
            softwareVersion: "junk", nodeName: "junk\n\u{1b}[2J", clientNonce: [UInt8](repeating: 1, count: 32), authMode: .hmacSHA256,
            secretID: [UInt8](repeating: 2, count: 8), model: try ModelSource.open(Fixtures.tinyModel).fingerprint(layers: nil))),
                                                            tagged: false)
        // Long passes keep the stage busy while junk arrives.
        let passes = Task {
            for round in 0 ..< 4 {
                try await pipeline.openSession(SessionID(UInt64(10 + round)), contextTokens: 512)
                _ = try await pipeline.append(session: SessionID(UInt64(10 + round)), tokens: Array(repeating: 7, count: 500),
                                              ropeFactors: .short, logits: .last, chunkTokens: 500, progress: nil)
            }
        }
        let junk = Task.detached {
            var answered = 0
            for _ in 0 ..< 8 {
                let clients = (0 ..< 32).compactMap { _ in try? RawSPClient(port: port) }
                for (index, client) in clients.enumerated() {
                    for id in 0 ..< 4 { client.sendRequest(hello, id: UInt32(index * 4 + id)) }
                }
                answered += clients.filter { $0.readReply(timeout: .seconds(1)) != nil }.count
                for client in clients { client.close() }
            }
            return answered
        }
        var worst = Duration.zero
        for _ in 0 ..< 30 {
            let start = ContinuousClock.now
            let replies = try await pipeline.links[0].connection.request(.healthRequest, timeout: .seconds(2))
            guard case .healthReply = replies else {
                Issue.record("health answered \(replies.kindName)")
                break
            }
            worst = max(worst, ContinuousClock.now - start)
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(worst < .seconds(1), "slowest health reply: \(worst)")
        let answered = await junk.value
        #expect(answered > 0, "the junk Hellos were never answered (a Hello should not wait for the stage)")
        try await passes.value
        #expect(await pipeline.health().map(\.state) == [.ready])
        let log = group.workers[0].log
        #expect(!log.contains("\u{1b}"))
        await pipeline.close()
    }

    @Test("a SaveKV that would take the state directory past --state-dir-max is refused, naming the directory and the cap")
    func stateDirectoryCap() async throws {
        let state = scratch.appendingPathComponent("state")
        let worker = try WorkerProcess.start(name: "w1", layers: 0 ..< 32,
                                             extraArguments: ["--state-dir", state.path, "--state-dir-max", "128KiB"])
        let pipeline = try await connect(WorkerGroup(workers: [worker]), secretFile: nil, logger: Logger(label: "test.coordinator"))
        try await pipeline.openSession(SessionID(1), contextTokens: 512)
        _ = try await lastArgmax(pipeline, session: SessionID(1), tokens: Array(1 ... 64))
        // The tiny model's f32 KV is 8 KiB a position over its 32 layers (2 KV heads of 16): 8 positions fit in 128 KiB, 64 do not.
        let saved = try await pipeline.saveCheckpoint(session: SessionID(1), job: "small", positions: 0 ..< 8)
        #expect(saved.count == 1)
        let error = await #expect(throws: (any Error).self) {
            _ = try await pipeline.saveCheckpoint(session: SessionID(1), job: "large", positions: 0 ..< 64)
        }
        let text = "\(error.map { "\($0)" } ?? "")"
        #expect(text.contains(state.path) && text.contains("128.00 KiB") && text.contains("--state-dir-max"), "\(text)")
        let files = try FileManager.default.contentsOfDirectory(atPath: state.path)
        #expect(!files.contains { $0.hasPrefix("large") }, "\(files)")
        await pipeline.close()
    }
}
