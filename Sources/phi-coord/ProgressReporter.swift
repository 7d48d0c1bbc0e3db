#if canImport(Glibc)
import Glibc
#endif
import Foundation
import PhiGeneration

/// Shows a long prefill on stderr: a bar redrawn in place when stderr is a terminal, plain lines
/// (at most one every few seconds, and the last) otherwise, e.g. in a log file.
///
/// `@unchecked Sendable`: its state is only touched under `lock`.
final class ProgressReporter: @unchecked Sendable {
    private let lock = NSLock()
    private let isTerminal = isatty(STDERR_FILENO) == 1
    private var lastLine = ContinuousClock.now - .seconds(60)
    private var drewBar = false
    private let label: String
    /// Plain lines come at most this often.
    static let lineInterval: Duration = .seconds(5)

    init(label: String = "prefill") { self.label = label }

    /// A meter whose reports this reporter shows, for prompts longer than one chunk.
    func meter(promptTokens: Int, chunkTokens: Int) -> PrefillProgressMeter? {
        guard promptTokens > chunkTokens else { return nil }
        return PrefillProgressMeter { [self] progress in show(progress) }
    }

    func show(_ progress: PrefillProgress) {
        lock.withLock {
            if isTerminal {
                write("\r\u{1B}[K" + Self.bar(progress) + (progress.isComplete ? "\n" : ""))
                drewBar = !progress.isComplete
            } else if progress.isComplete || ContinuousClock.now - lastLine >= Self.lineInterval {
                lastLine = ContinuousClock.now
                write(Self.line(progress, label: label) + "\n")
            }
        }
    }

    /// A line of its own (a checkpoint written), above the bar when one is drawn.
    func note(_ text: String) {
        lock.withLock {
            write((drewBar ? "\r\u{1B}[K" : "") + text + "\n")
        }
    }

    /// Ends a bar left unfinished (a failed prefill), so what follows starts on its own line.
    func finish() {
        lock.withLock {
            if drewBar { write("\n") }
            drewBar = false
        }
    }

    private func write(_ text: String) { FileHandle.standardError.write(Data(text.utf8)) }

    static func bar(_ progress: PrefillProgress, width: Int = 30) -> String {
        let filled = min(width, Int((progress.fraction * Double(width)).rounded(.down)))
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
        return "[\(bar)] \(progress.doneTokens)/\(progress.totalTokens) tokens" + rateAndETA(progress)
    }

    static func line(_ progress: PrefillProgress, label: String) -> String {
        "\(label): \(progress.doneTokens)/\(progress.totalTokens) tokens (\(Int((progress.fraction * 100).rounded(.down)))%)"
            + rateAndETA(progress)
    }

    private static func rateAndETA(_ progress: PrefillProgress) -> String {
        guard let rate = progress.tokensPerSecond else { return "" }
        let eta = progress.isComplete ? "in \(clock(progress.elapsed))" : "ETA \(clock(progress.estimatedRemaining ?? .zero))"
        return String(format: ", %.1f tokens/s, ", rate) + eta
    }

    /// h:mm:ss or m:ss.
    static func clock(_ duration: Duration) -> String {
        let total = Int(duration.components.seconds)
        let (hours, minutes, seconds) = (total / 3600, total / 60 % 60, total % 60)
        return hours > 0 ? String(format: "%d:%02d:%02d", hours, minutes, seconds) : String(format: "%d:%02d", minutes, seconds)
    }
}
