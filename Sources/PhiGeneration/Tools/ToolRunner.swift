import Foundation
import PhiCluster
import PhiTokenizer
import Synchronization

/// What running a tool gave: its output, or why there is none, written for the model to read.
public enum ToolOutcome: Sendable, Equatable {
    case success(String)
    case failure(String)

    /// The text of the tool message that carries this outcome back to the model.
    public var messageContent: String {
        switch self {
        case let .success(output): output
        case let .failure(reason): #"{"error": "# + JSONValueQuoting.quote(reason) + "}"
        }
    }

    public var isFailure: Bool {
        if case .failure = self { true } else { false }
    }
}

/// Runs a manifest tool: its command without a shell, the call's arguments as JSON on stdin, its
/// stdout as the result. A tool that exits non-zero, outlives its timeout (it is killed) or
/// prints more than its output cap (it is killed) gives a failure naming what happened.
public enum ToolRunner {
    /// How long a tool gets to exit after SIGTERM before SIGKILL.
    static let terminationGrace: Duration = .milliseconds(500)
    /// Bytes of stderr kept for a failure message.
    static let stderrTail = 2000

    public static func run(_ tool: Manifest.ToolSpec, argumentsJSON: String) async -> ToolOutcome {
        // Writing to a tool that exited without reading stdin must fail the write, not kill us.
        signal(SIGPIPE, SIG_IGN)
        guard let program = tool.command.first, let executable = resolve(program) else {
            return .failure("tool '\(tool.name)': program '\(tool.command.first ?? "")' not found")
        }
        return await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(returning: runBlocking(tool, executable: executable, input: Data(argumentsJSON.utf8)))
            }
        }
    }

    private static func runBlocking(_ tool: Manifest.ToolSpec, executable: URL, input: Data) -> ToolOutcome {
        let process = Process()
        process.executableURL = executable
        process.arguments = Array(tool.command.dropFirst())
        let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        do {
            try process.run()
        } catch {
            return .failure("tool '\(tool.name)' could not start \(executable.path): \(error.localizedDescription)")
        }
        let state = RunState()
        let deadline = DispatchWorkItem {
            guard process.isRunning else { return }
            state.set { $0.timedOut = true }
            stop(process)
        }
        DispatchQueue.global().asyncAfter(deadline: .now() + tool.timeout.timeInterval, execute: deadline)
        try? stdin.fileHandleForWriting.write(contentsOf: input)
        try? stdin.fileHandleForWriting.close()
        let errors = DispatchGroup()
        errors.enter()
        DispatchQueue.global().async {
            let bytes = stderr.fileHandleForReading.readDataToEndOfFile()
            state.set { $0.errorBytes = bytes }
            errors.leave()
        }
        var output = Data()
        while true {
            let chunk = stdout.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            output += chunk
            if output.count > tool.maxOutputBytes {
                state.set { $0.oversized = true }
                stop(process)
                break
            }
        }
        process.waitUntilExit()
        deadline.cancel()
        errors.wait()
        let flags = state.get()
        let errorBytes = flags.errorBytes
        if flags.timedOut {
            return .failure("tool '\(tool.name)' did not finish within \(tool.timeout) and was stopped")
        }
        if flags.oversized {
            return .failure("tool '\(tool.name)' printed more than its limit of \(tool.maxOutputBytes) bytes and was stopped")
        }
        if process.terminationStatus != 0 || process.terminationReason != .exit {
            let detail = String(decoding: errorBytes.suffix(stderrTail), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            let how = process.terminationReason == .exit ? "exit status \(process.terminationStatus)" : "signal \(process.terminationStatus)"
            return .failure("tool '\(tool.name)' failed with \(how)" + (detail.isEmpty ? "" : ": \(detail)"))
        }
        return .success(String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// SIGTERM, then SIGKILL if the tool is still there after the grace period.
    private static func stop(_ process: Process) {
        process.terminate()
        let pid = process.processIdentifier
        DispatchQueue.global().asyncAfter(deadline: .now() + terminationGrace.timeInterval) {
            if process.isRunning { kill(pid, SIGKILL) }
        }
    }

    /// A program path, or a bare name looked up in PATH (as a shell would, but without one).
    static func resolve(_ program: String) -> URL? {
        let manager = FileManager.default
        if program.contains("/") { return manager.isExecutableFile(atPath: program) ? URL(fileURLWithPath: program) : nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(program)"
            if manager.isExecutableFile(atPath: candidate) { return URL(fileURLWithPath: candidate) }
        }
        return nil
    }

    /// What the timer and reader threads find out while the tool runs.
    private final class RunState: Sendable {
        struct Flags { var timedOut = false; var oversized = false; var errorBytes = Data() }
        private let flags = Mutex(Flags())
        func set(_ change: (inout Flags) -> Void) { flags.withLock { change(&$0) } }
        func get() -> Flags { flags.withLock { $0 } }
    }
}

extension Duration {
    /// Seconds as a `TimeInterval`, for Dispatch and Foundation.
    var timeInterval: TimeInterval {
        let (seconds, attoseconds) = components
        return TimeInterval(seconds) + TimeInterval(attoseconds) * 1e-18
    }
}

/// JSON string quoting for messages built by hand.
enum JSONValueQuoting {
    static func quote(_ text: String) -> String { JSONValue.string(text).serialized() }
}
