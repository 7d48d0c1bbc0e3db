#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Logging

/// The workers (and spares) a manifest marks `local = true`, run as phi-worker processes on this
/// machine by `phi-coord up`, each logging to a file of its own.
public final class LocalWorkers: @unchecked Sendable {
    /// `@unchecked Sendable`: `processes` is only touched under `lock`.
    private let lock = NSLock()
    private var processes: [(name: String, process: Process, log: URL)] = []
    public let logDirectory: URL

    public init(logDirectory: URL) {
        self.logDirectory = logDirectory
    }

    /// Starts a phi-worker for every local node of `manifest` (`executable` is the phi-worker
    /// binary). Layers come from `split` for workers, none for spares. A node whose address
    /// already accepts connections is left to whatever listens there (a worker started by hand,
    /// or by another coordinator): the handshake then checks its model and layers.
    public func start(_ manifest: Manifest, split: [Range<Int>], executable: URL) throws {
        try FileManager.default.createDirectory(at: logDirectory, withIntermediateDirectories: true)
        let nodes = zip(manifest.workers, split).map { ($0, Optional($1)) } + manifest.spares.map { ($0, nil as Range<Int>?) }
        for (node, layers) in nodes where node.isLocal && !Self.isListening(node.address) {
            var arguments = ["--model", manifest.modelPath.path, "--listen", node.address, "--name", node.name]
            if let layers { arguments += ["--layers", LayerRangeText.format(layers)] }
            if let secret = manifest.secretFile {
                arguments += ["--secret-file", secret.path]
            } else if manifest.isInsecure {
                arguments += ["--insecure"]
            }
            if let threads = node.threads ?? manifest.threads { arguments += ["--threads", "\(threads)"] }
            if let quant = manifest.quant { arguments += ["--quant", quant.rawValue] }
            let log = logDirectory.appendingPathComponent("\(node.name).log")
            FileManager.default.createFile(atPath: log.path, contents: nil)
            let handle = try FileHandle(forWritingTo: log)
            let process = Process()
            process.executableURL = executable
            process.arguments = arguments
            process.standardOutput = handle
            process.standardError = handle
            try process.run()
            lock.withLock { processes.append((node.name, process, log)) }
        }
    }

    /// Waits until every started worker listens on its address, failing early (with the end of its
    /// log) when one exits, or after `timeout`.
    public func waitUntilListening(_ manifest: Manifest, timeout: Duration) async throws {
        let deadline = ContinuousClock.now + timeout
        let started = lock.withLock { processes }
        for (name, process, log) in started {
            guard let node = (manifest.workers + manifest.spares).first(where: { $0.name == name }) else { continue }
            while true {
                if !process.isRunning {
                    throw LocalWorkerError.exited(name: name, status: process.terminationStatus, log: Self.tail(log))
                }
                if Self.isListening(node.address) { break }
                if ContinuousClock.now > deadline { throw LocalWorkerError.notListening(name: name, address: node.address, log: Self.tail(log)) }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    /// Stops every started worker (SIGTERM, then SIGKILL after a grace period).
    public func stopAll() {
        let started = lock.withLock { processes }
        for entry in started where entry.process.isRunning { entry.process.terminate() }
        let deadline = Date().addingTimeInterval(2)
        for entry in started {
            while entry.process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
            if entry.process.isRunning { kill(entry.process.processIdentifier, SIGKILL) }
        }
    }

    /// Process ids by worker name, for benchmarks and fault tests.
    public var processIDs: [String: Int32] {
        lock.withLock { Dictionary(uniqueKeysWithValues: processes.map { ($0.name, $0.process.processIdentifier) }) }
    }

    /// Whether something accepts TCP connections at an nng tcp:// address.
    static func isListening(_ address: String) -> Bool {
        guard let host = NetworkAddress.host(of: address), let colon = address.lastIndex(of: ":"),
              let port = UInt16(address[address.index(after: colon)...]) else { return false }
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var target = sockaddr_in()
        target.sin_family = sa_family_t(AF_INET)
        target.sin_port = port.bigEndian
        guard inet_pton(AF_INET, host == "localhost" ? "127.0.0.1" : host, &target.sin_addr) == 1 else { return false }
        return withUnsafePointer(to: &target) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    static func tail(_ log: URL, lines: Int = 8) -> String {
        guard let text = try? String(contentsOf: log, encoding: .utf8) else { return "" }
        return text.split(separator: "\n").suffix(lines).joined(separator: "\n")
    }
}

public enum LocalWorkerError: Error, CustomStringConvertible {
    case exited(name: String, status: Int32, log: String)
    case notListening(name: String, address: String, log: String)

    public var description: String {
        switch self {
        case let .exited(name, status, log): "local worker '\(name)' exited with status \(status):\n\(log)"
        case let .notListening(name, address, log): "local worker '\(name)' does not listen on \(address) yet:\n\(log)"
        }
    }
}
