import Foundation

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

    static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return ((Double(seconds) + Double(attoseconds) * 1e-18) * 1000).rounded() / 1000
    }
}

/// Turns the `(done, total)` reports of `Generator.prefill` into `PrefillProgress` values, timed
/// from the meter's creation (just before the prefill starts).
public struct PrefillProgressMeter: Sendable {
    private let start: ContinuousClock.Instant
    private let report: @Sendable (PrefillProgress) -> Void

    public init(report: @escaping @Sendable (PrefillProgress) -> Void) {
        start = ContinuousClock.now
        self.report = report
    }

    /// The callback to give `Generator.prefill` / `generate` as `progress`.
    public var callback: @Sendable (Int, Int) -> Void {
        { [start, report] done, total in report(PrefillProgress(doneTokens: done, totalTokens: total, elapsed: ContinuousClock.now - start)) }
    }
}
