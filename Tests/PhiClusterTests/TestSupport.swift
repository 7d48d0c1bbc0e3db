import Foundation
import Logging
import Synchronization
@testable import PhiCluster

/// A listener on a free loopback port serving `handler` until `stop()`.
struct LoopbackListener {
    let listener: ReplyListener
    let serving: Task<Void, Never>
    var address: String { listener.boundAddress }

    static func start(authenticator: WireAuthenticator = WireAuthenticator(secret: nil),
                      options: TransportOptions = TransportOptions(), logger: Logger = Logger(label: "test.listener"),
                      handler: @escaping @Sendable (ReceivedMessage) async -> WireMessage) throws -> LoopbackListener {
        let listener = try ReplyListener(listeningOn: "tcp://127.0.0.1:0", authenticator: authenticator, options: options,
                                         logger: logger)
        return LoopbackListener(listener: listener, serving: Task { await listener.serve(handler) })
    }

    func stop() async {
        await listener.close()
        serving.cancel()
        await serving.value
    }
}

/// Keeps what a logger is told, so tests can check that a refusing side names the difference.
final class LogCapture: Sendable {
    private let lines = Mutex<[String]>([])

    var logger: Logger {
        Logger(label: "test.capture") { _ in Handler(capture: self) }
    }

    var text: String { lines.withLock { $0.joined(separator: "\n") } }

    fileprivate func append(_ line: String) { lines.withLock { $0.append(line) } }

    private struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            capture.append("\(event.level): \(event.message)")
        }
    }
}

/// Messages a handler has seen, for tests that check what reached a node.
final class Inbox: Sendable {
    private let messages = Mutex<[ReceivedMessage]>([])
    func append(_ message: ReceivedMessage) { messages.withLock { $0.append(message) } }
    var all: [ReceivedMessage] { messages.withLock { $0 } }
}

/// Waits until `count` tasks have arrived, so a test can prove that requests run at the same time.
actor Rendezvous {
    private let count: Int
    private var arrived = 0
    private var waiting: [CheckedContinuation<Bool, Never>] = []

    init(count: Int) { self.count = count }

    /// True once all have arrived; false if `timeout` passes first (the test then fails, not hangs).
    func arrive(timeout: Duration) async -> Bool {
        arrived += 1
        if arrived >= count {
            for continuation in waiting { continuation.resume(returning: true) }
            waiting.removeAll()
            return true
        }
        let timer = Task { [weak self] in
            try? await Task.sleep(for: timeout)
            await self?.expire()
        }
        let result = await withCheckedContinuation { waiting.append($0) }
        timer.cancel()
        return result
    }

    private func expire() {
        for continuation in waiting { continuation.resume(returning: false) }
        waiting.removeAll()
    }
}

/// A random 32-byte secret.
func randomSecret() throws -> SharedSecret {
    var generator = SystemRandomNumberGenerator()
    return try SharedSecret(bytes: (0 ..< 32).map { _ in UInt8.random(in: 0 ... 255, using: &generator) })
}

/// A TCP port on loopback where nothing listens (bound, then released).
func unusedLoopbackAddress() async throws -> String {
    let probe = try ReplyListener(listeningOn: "tcp://127.0.0.1:0", authenticator: WireAuthenticator(secret: nil),
                                  logger: Logger(label: "test.probe"))
    await probe.close()
    return probe.boundAddress
}
