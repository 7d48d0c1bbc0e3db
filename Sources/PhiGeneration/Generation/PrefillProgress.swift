import Foundation
import Synchronization

/// How far a prefill has come: tokens done of the total, the rate so far and the time left at
/// that rate. The CLI draws it as a progress bar; the server can send it before the first token.
public struct PrefillProgress: Sendable, Equatable {
    public var doneTokens: Int
    public var totalTokens: Int
    /// Time since the prefill started.
    public var elapsed: Duration
    /// Tokens per second so far (nil before the first chunk is back).
    public var tokensPerSecond: Double?
    /// Time left at `tokensPerSecond` (nil before the first chunk is back).
    public var estimatedRemaining: Duration?

    public init(doneTokens: Int, totalTokens: Int, elapsed: Duration) {
        self.doneTokens = doneTokens
        self.totalTokens = totalTokens
        self.elapsed = elapsed
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        if doneTokens > 0 && seconds > 0 {
            let rate = Double(doneTokens) / seconds
            tokensPerSecond = rate
            estimatedRemaining = .milliseconds(Int64((Double(max(0, totalTokens - doneTokens)) / rate * 1000).rounded()))
        }
    }

    public var fraction: Double { totalTokens > 0 ? Double(doneTokens) / Double(totalTokens) : 1 }
    public var isComplete: Bool { doneTokens >= totalTokens }

    /// The fields a JSON consumer reads: `done`, `total`, `tokens_per_second`, `eta_seconds`
    /// (the last two absent until the first chunk is back).
    public var jsonObject: [String: Any] {
        var object: [String: Any] = ["done": doneTokens, "total": totalTokens,
                                     "elapsed_seconds": Self.seconds(elapsed)]
        if let tokensPerSecond { object["tokens_per_second"] = (tokensPerSecond * 10).rounded() / 10 }
        if let estimatedRemaining { object["eta_seconds"] = Self.seconds(estimatedRemaining) }
        return object
    }

    public static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return ((Double(seconds) + Double(attoseconds) * 1e-18) * 1000).rounded() / 1000
    }
}

/// Turns the `(done, total)` reports of `Generator.prefill` into `PrefillProgress` values, timed
/// from the meter's creation (just before the prefill starts). The estimate of the time left
/// allows for attention's cost growing with position: elapsed time is fitted as a·n + b·n² through
/// the report nearest halfway and the latest one (a plain average rate would promise a 128K-token
/// prefill far too soon), and the rate shown is the one between those two reports.
public struct PrefillProgressMeter: Sendable {
    private let start: ContinuousClock.Instant
    private let report: @Sendable (PrefillProgress) -> Void
    private let history = History()

    /// The reports so far, shared by copies of the meter.
    private final class History: Sendable {
        let samples = Mutex<[(done: Int, seconds: Double)]>([])
    }

    /// - Parameter start: when the prefill started (default: now).
    public init(start: ContinuousClock.Instant = .now, report: @escaping @Sendable (PrefillProgress) -> Void) {
        self.start = start
        self.report = report
    }

    /// The callback to give `Generator.prefill` / `generate` as `progress`.
    public var callback: @Sendable (Int, Int) -> Void {
        { [self] done, total in report(progress(done: done, total: total, elapsed: ContinuousClock.now - start)) }
    }

    /// The progress of `done` of `total` tokens after `elapsed`, remembered for later estimates.
    func progress(done: Int, total: Int, elapsed: Duration) -> PrefillProgress {
        var progress = PrefillProgress(doneTokens: done, totalTokens: total, elapsed: elapsed)
        let seconds = PrefillProgress.seconds(elapsed)
        let halfway = history.samples.withLock { samples -> (done: Int, seconds: Double)? in
            samples.append((done, seconds))
            return samples.min { abs($0.done * 2 - done) < abs($1.done * 2 - done) }
        }
        guard let halfway, halfway.done > 0, halfway.done < done, seconds > halfway.seconds else { return progress }
        progress.tokensPerSecond = Double(done - halfway.done) / (seconds - halfway.seconds)
        let (n1, t1, n2, t2) = (Double(halfway.done), halfway.seconds, Double(done), seconds)
        // t = a·n + b·n² through (n1, t1) and (n2, t2); b < 0 (noise) falls back to the recent rate.
        let b = (t2 / n2 - t1 / n1) / (n2 - n1)
        let a = t2 / n2 - b * n2
        let remaining = b >= 0 && a >= 0
            ? a * (Double(total) - n2) + b * (Double(total) * Double(total) - n2 * n2)
            : Double(total - done) / (progress.tokensPerSecond ?? 1)
        progress.estimatedRemaining = .milliseconds(Int64((max(0, remaining) * 1000).rounded()))
        return progress
    }
}
