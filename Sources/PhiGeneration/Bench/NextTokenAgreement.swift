import Foundation

/// How closely a model's next-token distributions follow a reference's over many positions:
/// the mean Kullback–Leibler divergence KL(reference ‖ model) of their softmaxes and the share of
/// positions where both rank the same token first. This is how a quantized format's accuracy is
/// reported against f32 (docs/PERFORMANCE.md, "Accuracy").
public struct NextTokenAgreement: Sendable, Equatable {
    public private(set) var positions = 0
    private var divergenceSum = 0.0
    private var sameTop = 0

    public init() {}

    /// Mean KL divergence in nats per position.
    public var meanKLDivergence: Double { positions == 0 ? 0 : divergenceSum / Double(positions) }
    /// Share of positions whose argmax agrees with the reference's.
    public var topOneAgreement: Double { positions == 0 ? 0 : Double(sameTop) / Double(positions) }

    /// Adds `rows` positions: `reference` and `model` hold `rows × width` logits each (throws
    /// naming the counts when they do not).
    public mutating func add(reference: [Float], model: [Float], rows: Int, width: Int) throws {
        guard rows >= 0, width > 0, reference.count == rows * width, model.count == rows * width else {
            throw BenchmarkError.logitShape(reference: reference.count, model: model.count, rows: rows, width: width)
        }
        reference.withUnsafeBufferPointer { p in
            model.withUnsafeBufferPointer { q in
                for row in 0..<rows {
                    let offset = row * width
                    add(reference: UnsafeBufferPointer(rebasing: p[offset..<(offset + width)]),
                        model: UnsafeBufferPointer(rebasing: q[offset..<(offset + width)]))
                }
            }
        }
    }

    /// Merges the positions counted by `other`.
    public mutating func merge(_ other: NextTokenAgreement) {
        positions += other.positions
        divergenceSum += other.divergenceSum
        sameTop += other.sameTop
    }

    private mutating func add(reference p: UnsafeBufferPointer<Float>, model q: UnsafeBufferPointer<Float>) {
        let (pMax, pArgmax) = Self.maximum(p)
        let (qMax, qArgmax) = Self.maximum(q)
        // log-softmax in Double: log p_i = (x_i - max) - log Σ e^(x_j - max).
        var pTotal = 0.0, qTotal = 0.0
        for index in 0..<p.count {
            pTotal += exp(Double(p[index]) - pMax)
            qTotal += exp(Double(q[index]) - qMax)
        }
        let pLogTotal = log(pTotal), qLogTotal = log(qTotal)
        var divergence = 0.0
        for index in 0..<p.count {
            let logP = Double(p[index]) - pMax - pLogTotal
            let logQ = Double(q[index]) - qMax - qLogTotal
            divergence += exp(logP) * (logP - logQ)
        }
        divergenceSum += max(0, divergence)  // ≥ 0 in exact arithmetic; rounding can dip below
        positions += 1
        if pArgmax == qArgmax { sameTop += 1 }
    }

    /// The largest value and its first index.
    private static func maximum(_ values: UnsafeBufferPointer<Float>) -> (Double, Int) {
        var best = 0
        for index in values.indices where values[index] > values[best] { best = index }
        return (Double(values[best]), best)
    }
}
