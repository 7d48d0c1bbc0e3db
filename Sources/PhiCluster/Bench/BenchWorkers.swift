#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization

/// phi-worker processes a benchmark starts on this machine, each on loopback at a port the system
/// picks, optionally pinned to CPUs; stopped together.
///
/// `@unchecked Sendable`: both stored properties are set in init and never changed; `Process`
/// handles are only asked whether they run and told to stop.
public final class BenchWorkers: @unchecked Sendable {
    public struct Worker: Sendable {
        public let name: String
        public let layers: Range<Int>
        public let cpus: [Int]?
        public let address: String
        public let processID: Int32
        public let logFile: URL
    }

    public let workers: [Worker]
    private let processes: [Process]

    /// One phi-worker for each entry of `split`, in order, with `threads` compute threads and the
    /// CPUs of `cpus[index]` when given. Waits for each to load its layers and print its address;
    /// a worker that exits or stays silent for `timeout` fails the start, naming it, with the end
    /// of its log (and the ones already started are stopped).
    public init(executable: URL, model: URL, split: [Range<Int>], quant: WeightFormat?, threads: Int, cpus: [[Int]?],
                logDirectory: URL, timeout: Duration = .seconds(600)) throws {
        try FileManager.default.createDirectory(at: logDirectory, withIntermediateDirectories: true)
        var started: [Worker] = []
        var processes: [Process] = []
        do {
            for (index, layers) in split.enumerated() {
                let name = "w\(index + 1)"
                let pinned = index < cpus.count ? cpus[index] : nil
                var arguments = ["--model", model.path, "--listen", "tcp://127.0.0.1:0", "--name", name,
                                 "--layers", LayerRangeText.format(layers), "--threads", "\(threads)", "--log-level", "warning"]
                if let quant { arguments += ["--quant", quant.rawValue] }
                if let pinned { arguments += ["--cpus", pinned.map(String.init).joined(separator: ",")] }
                let log = logDirectory.appendingPathComponent("\(name).log")
                _ = FileManager.default.createFile(atPath: log.path, contents: nil)
                let process = Process()
                process.executableURL = executable
                process.arguments = arguments
                let output = Pipe()
                process.standardOutput = output
                process.standardError = try FileHandle(forWritingTo: log)
                try process.run()
                processes.append(process)
                let address = try Self.awaitAddress(output.fileHandleForReading, worker: name, log: log, timeout: timeout)
                started.append(Worker(name: name, layers: layers, cpus: pinned, address: address,
                                      processID: process.processIdentifier, logFile: log))
            }
        } catch {
            Self.stop(processes)
            throw error
        }
        workers = started
        self.processes = processes
    }

    deinit { Self.stop(processes) }

    /// The workers' addresses in pipeline order, as `--workers` takes them.
    public var endpoints: [ClusterOptions.Endpoint] {
        workers.map { ClusterOptions.Endpoint(name: $0.name, address: $0.address, layers: $0.layers) }
    }

    /// Stops every worker (SIGTERM, then SIGKILL after two seconds).
    public func stop() { Self.stop(processes) }

    private static func stop(_ processes: [Process]) {
        for process in processes where process.isRunning { process.terminate() }
        let deadline = Date().addingTimeInterval(2)
        for process in processes {
            while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
    }

    /// Reads the worker's stdout on a thread of its own until its "listening on ADDRESS" line.
    private static func awaitAddress(_ reader: FileHandle, worker: String, log: URL, timeout: Duration) throws -> String {
        let found = Mutex<String?>(nil)
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            var seen = Data()
            while true {
                let chunk = reader.availableData
                if chunk.isEmpty { break }
                seen.append(chunk)
                let text = String(decoding: seen, as: UTF8.self)
                if let range = text.range(of: "listening on "), text[range.upperBound...].contains("\n") {
                    found.withLock { $0 = String(text[range.upperBound...].prefix { !$0.isWhitespace }) }
                    break
                }
            }
            done.signal()
        }
        _ = done.wait(timeout: .now() + timeout.seconds)
        guard let address = found.withLock({ $0 }) else {
            throw LocalWorkerError.notListening(name: worker, address: "tcp://127.0.0.1:0", log: LocalWorkers.tail(log))
        }
        return address
    }
}

extension Duration {
    fileprivate var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) * 1e-18
    }
}
