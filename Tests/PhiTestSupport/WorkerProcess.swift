import Foundation

/// A real phi-worker process on loopback, for cluster tests. It listens on a port the system
/// picks; `address` is read from the line the worker prints once it has loaded its layers.
public final class WorkerProcess: @unchecked Sendable {
    /// `@unchecked Sendable`: the process handle is only read after `start` returns.
    public let name: String
    public let process: Process
    public let address: String
    public let logFile: URL

    /// Starts phi-worker with `arguments` (besides --listen and --name) and waits until it listens.
    public static func start(name: String, model: URL = Fixtures.tinyModel, layers: Range<Int>?,
                             extraArguments: [String] = [], timeout: Duration = .seconds(60)) throws -> WorkerProcess {
        let logFile = FileManager.default.temporaryDirectory.appendingPathComponent("phi-worker-\(name)-\(UUID().uuidString).log")
        FileManager.default.createFile(atPath: logFile.path, contents: nil)
        let process = Process()
        process.executableURL = Executables.url("phi-worker")
        var arguments = ["--model", model.path, "--listen", "tcp://127.0.0.1:0", "--name", name, "--threads", "1"]
        if let layers { arguments += ["--layers", "\(layers.lowerBound)-\(layers.upperBound - 1)"] }
        process.arguments = arguments + extraArguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = try FileHandle(forWritingTo: logFile)
        try process.run()
        // Read the worker's stdout on a thread of its own, so a worker that never prints cannot hang the test.
        let found = Locked<String?>(nil)
        let seen = Locked(Data())
        let signal = DispatchSemaphore(value: 0)
        let reader = out.fileHandleForReading
        Thread.detachNewThread {
            while true {
                let chunk = reader.availableData
                if chunk.isEmpty { break }
                let text = seen.withLock { data -> String in
                    data.append(chunk)
                    return String(decoding: data, as: UTF8.self)
                }
                if let range = text.range(of: "listening on "), text[range.upperBound...].contains("\n") {
                    found.withLock { $0 = String(text[range.upperBound...].prefix { !$0.isWhitespace }) }
                    break
                }
            }
            signal.signal()
        }
        let (seconds, attoseconds) = timeout.components
        _ = signal.wait(timeout: .now() + Double(seconds) + Double(attoseconds) * 1e-18)
        if let address = found.withLock({ $0 }) {
            return WorkerProcess(name: name, process: process, address: address, logFile: logFile)
        }
        let buffer = seen.withLock { $0 }
        process.terminate()
        let log = (try? String(contentsOf: logFile, encoding: .utf8)) ?? ""
        throw FixtureError.malformed("phi-worker \(name) did not start: \(String(decoding: buffer, as: UTF8.self)) \(log)")
    }

    private init(name: String, process: Process, address: String, logFile: URL) {
        self.name = name
        self.process = process
        self.address = address
        self.logFile = logFile
    }

    /// Kills the process at once (SIGKILL), as a crash or a pulled plug would.
    public func kill() {
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    public func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }

    public var log: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

    deinit { stop() }
}

/// Workers for a split, started together and stopped when released.
public final class WorkerGroup: @unchecked Sendable {
    public let workers: [WorkerProcess]

    public init(split: [Range<Int>], model: URL = Fixtures.tinyModel, extraArguments: [String] = []) throws {
        workers = try split.enumerated().map { index, layers in
            try WorkerProcess.start(name: "w\(index + 1)", model: model, layers: layers, extraArguments: extraArguments)
        }
    }

    /// Workers started one by one (with flags of their own).
    public init(workers: [WorkerProcess]) {
        self.workers = workers
    }

    public var addresses: [String] { workers.map(\.address) }
    public var workersFlag: String { addresses.joined(separator: ",") }
}
