import Foundation

/// A rate (tokens per second) measured over repetitions: its mean and spread.
public struct RateSummary: Sendable, Equatable {
    /// One rate per repetition, in the order they ran.
    public let samples: [Double]

    public init(samples: [Double]) { self.samples = samples }

    public var mean: Double { samples.isEmpty ? 0 : samples.reduce(0, +) / Double(samples.count) }

    /// Sample standard deviation (n − 1 in the denominator, as llama-bench reports its ±); 0 for
    /// fewer than two samples.
    public var standardDeviation: Double {
        guard samples.count > 1 else { return 0 }
        let mean = self.mean
        let squares = samples.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
        return (squares / Double(samples.count - 1)).squareRoot()
    }

    public var minimum: Double { samples.min() ?? 0 }
    public var maximum: Double { samples.max() ?? 0 }

    /// "45.21 ± 0.31".
    public var text: String { "\(Self.format(mean)) ± \(Self.format(standardDeviation))" }

    public var jsonObject: [String: Any] {
        ["mean": mean, "stddev": standardDeviation, "min": minimum, "max": maximum, "samples": samples]
    }

    /// Two decimals, as the tables print rates.
    static func format(_ value: Double) -> String { String(format: "%.2f", value) }
}
