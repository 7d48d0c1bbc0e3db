/// Small helpers over rows of logits.
public enum Logits {
    /// The argmax of each of `rows` rows of `width` values (the first on ties).
    public static func argmaxOfRows(_ values: [Float], rows: Int, width: Int) -> [Int] {
        (0..<rows).map { row in
            var best = 0
            var bestValue = -Float.infinity
            let base = row * width
            for index in 0..<width where values[base + index] > bestValue {
                bestValue = values[base + index]
                best = index
            }
            return best
        }
    }

    /// The `count` largest (id, logit) pairs, best first.
    public static func top(_ values: [Float], count: Int) -> [(id: Int, logit: Float)] {
        var best: [(id: Int, logit: Float)] = []
        for (id, logit) in values.enumerated() where best.count < count || logit > best[best.count - 1].logit {
            let slot = best.firstIndex { logit > $0.logit } ?? best.count
            best.insert((id, logit), at: slot)
            if best.count > count { best.removeLast() }
        }
        return best
    }
}
