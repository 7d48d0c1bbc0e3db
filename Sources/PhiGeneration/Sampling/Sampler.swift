import Foundation

/// Chooses tokens from logits: repetition penalty, then greedy or temperature with top-k, top-p
/// and min-p, drawing from a seeded generator so a run can be repeated exactly.
public struct Sampler: Sendable {
    public let parameters: SamplingParameters
    private var random: SplitMix64

    public init(_ parameters: SamplingParameters) {
        self.parameters = parameters
        random = SplitMix64(seed: parameters.seed)
    }

    /// The next token after `context` (prompt and generated tokens so far), given its `logits`.
    /// `allowed`, when given, masks every other token out (constrained decoding).
    public mutating func sample(_ logits: [Float], context: [Int], allowed: ((Int) -> Bool)? = nil) -> Int {
        var logits = logits
        if let allowed {
            for id in logits.indices where !allowed(id) { logits[id] = -.infinity }
        }
        return sampleMasked(&logits, context: context)
    }

    /// The next token among those `mask` allows (constrained decoding). An empty mask leaves the
    /// choice unconstrained rather than picking a token with no probability.
    public mutating func sample(_ logits: [Float], context: [Int], mask: TokenMask) -> Int {
        var logits = logits
        guard !mask.isEmpty else { return sampleMasked(&logits, context: context) }
        mask.words.withUnsafeBufferPointer { words in
            logits.withUnsafeMutableBufferPointer { values in
                // Ids past the mask's count are not allowed either.
                for base in stride(from: 0, to: values.count, by: 64) {
                    let word = base / 64 < words.count ? words[base / 64] : 0
                    guard word != ~0 else { continue }
                    for bit in 0..<min(64, values.count - base) where word & (1 << UInt64(bit)) == 0 {
                        values[base + bit] = -.infinity
                    }
                }
            }
        }
        return sampleMasked(&logits, context: context)
    }

    private mutating func sampleMasked(_ logits: inout [Float], context: [Int]) -> Int {
        applyRepetitionPenalty(&logits, context: context)
        if parameters.temperature == 0 { return Self.argmax(logits) }
        var candidates = topCandidates(logits)
        // Softmax over the candidates at the temperature, most likely first.
        let maximum = candidates[0].logit
        var total: Double = 0
        var probabilities = candidates.map { candidate -> Double in
            let p = exp(Double((candidate.logit - maximum) / parameters.temperature))
            total += p
            return p
        }
        for index in probabilities.indices { probabilities[index] /= total }
        var keep = candidates.count
        if parameters.minP > 0 {
            let floor = Double(parameters.minP) * probabilities[0]
            keep = max(1, probabilities.prefix(keep).firstIndex { $0 < floor } ?? keep)
        }
        if parameters.topP < 1 {
            var cumulative: Double = 0
            for index in 0..<keep {
                cumulative += probabilities[index]
                if cumulative >= Double(parameters.topP) {
                    keep = index + 1
                    break
                }
            }
        }
        candidates.removeLast(candidates.count - keep)
        let kept = probabilities.prefix(keep)
        var draw = random.nextUnitDouble() * kept.reduce(0, +)
        for (index, p) in kept.enumerated() {
            draw -= p
            if draw < 0 { return candidates[index].id }
        }
        return candidates[keep - 1].id
    }

    private func applyRepetitionPenalty(_ logits: inout [Float], context: [Int]) {
        let penalty = parameters.repetitionPenalty
        guard penalty != 1, parameters.repetitionWindow > 0 else { return }
        for id in Set(context.suffix(parameters.repetitionWindow)) where logits.indices.contains(id) {
            logits[id] = logits[id] > 0 ? logits[id] / penalty : logits[id] * penalty
        }
    }

    /// The finite-logit tokens that survive top-k, sorted most likely first (ties by lower id).
    private func topCandidates(_ logits: [Float]) -> [(id: Int, logit: Float)] {
        var candidates = logits.enumerated().compactMap { $0.element > -.infinity ? (id: $0.offset, logit: $0.element) : nil }
        if candidates.isEmpty { return [(Self.argmax(logits), 0)] }
        let ordered: (Int, Float, Int, Float) -> Bool = { $1 > $3 || ($1 == $3 && $0 < $2) }
        if parameters.topK > 0 && parameters.topK < candidates.count {
            // Keep the k best by a partial pass over a threshold, then sort only those.
            let threshold = Self.kthLargest(candidates.map(\.logit), k: parameters.topK)
            var above = candidates.filter { $0.logit > threshold }
            let ties = candidates.filter { $0.logit == threshold }
            above += ties.prefix(parameters.topK - above.count)
            candidates = above
        }
        candidates.sort { ordered($0.id, $0.logit, $1.id, $1.logit) }
        return candidates
    }

    static func argmax(_ logits: [Float]) -> Int {
        var best = 0
        for index in logits.indices where logits[index] > logits[best] { best = index }
        return best
    }

    /// The k-th largest value (1-based) by quickselect.
    static func kthLargest(_ values: [Float], k: Int) -> Float {
        var values = values
        var low = 0
        var high = values.count - 1
        let target = k - 1
        while low < high {
            let pivot = values[(low + high) / 2]
            var i = low
            var j = high
            while i <= j {
                while values[i] > pivot { i += 1 }
                while values[j] < pivot { j -= 1 }
                if i <= j {
                    values.swapAt(i, j)
                    i += 1
                    j -= 1
                }
            }
            if target <= j { high = j } else if target >= i { low = i } else { return values[target] }
        }
        return values[target]
    }
}

/// A small, fast, seedable generator (Steele et al.'s SplitMix64), identical on every platform.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform double in [0, 1).
    public mutating func nextUnitDouble() -> Double {
        Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
    }
}

extension SplitMix64 {
    /// Where the generator is: `SplitMix64(seed: position)` continues with the same numbers.
    public var position: UInt64 { state }
}

extension Sampler {
    /// The sampler's random generator, so a checkpointed job continues with the draws it would have made.
    public var randomPosition: UInt64 {
        get { random.position }
        set { random = SplitMix64(seed: newValue) }
    }
}
