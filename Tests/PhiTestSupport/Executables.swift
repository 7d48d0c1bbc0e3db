import Foundation

/// The package's executables, built beside the test bundle (`swift build --build-tests` builds
/// them with the tests), run as real processes.
public enum Executables {
    /// The build products directory: where the running test binary lives.
    public static let directory: URL = {
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var directory = executable.deletingLastPathComponent()
        // On some platforms the tests run inside a bundle directory (…/X.xctest/Contents/MacOS).
        while directory.pathComponents.contains(where: { $0.hasSuffix(".xctest") }) {
            directory = directory.deletingLastPathComponent()
        }
        return directory
    }()

    public static func url(_ name: String) -> URL { directory.appendingPathComponent(name) }

    public struct Output: Sendable {
        public let status: Int32
        public let stdout: String
        public let stderr: String
    }

    /// Runs `name` with `arguments` to completion (killing it after `timeout`).
    public static func run(_ name: String, _ arguments: [String], timeout: Duration = .seconds(600)) throws -> Output {
        let process = Process()
        process.executableURL = url(name)
        process.arguments = arguments
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let deadline = ContinuousClock.now + timeout
        // Drain both pipes while waiting, so a chatty process never blocks on a full pipe.
        let stdoutData = Locked(Data())
        let stderrData = Locked(Data())
        let readers = DispatchGroup()
        for (pipe, sink) in [(out, stdoutData), (err, stderrData)] {
            readers.enter()
            DispatchQueue.global().async {
                let data = pipe.fileHandleForReading.readDataToEndOfFile()
                sink.withLock { $0 = data }
                readers.leave()
            }
        }
        while process.isRunning {
            if ContinuousClock.now > deadline {
                process.terminate()
                break
            }
            Thread.sleep(forTimeInterval: 0.02)
        }
        process.waitUntilExit()
        readers.wait()
        return Output(status: process.terminationStatus,
                      stdout: String(decoding: stdoutData.withLock { $0 }, as: UTF8.self),
                      stderr: String(decoding: stderrData.withLock { $0 }, as: UTF8.self))
    }

    /// Parses the last line of `output` as a JSON object.
    public static func json(_ output: Output) throws -> [String: Any] {
        let line = output.stdout.split(separator: "\n").last.map(String.init) ?? ""
        guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            throw FixtureError.malformed("output of a command: \(output.stdout) \(output.stderr)")
        }
        return object
    }
}

/// A value guarded by a lock, for tests that share state across threads.
public final class Locked<Value>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()

    public init(_ value: Value) { self.value = value }

    public func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
