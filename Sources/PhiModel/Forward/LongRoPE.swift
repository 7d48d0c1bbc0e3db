import Foundation

/// Rotary position embeddings over the first `rotaryDims` of each head in the rotate-half layout,
/// with Phi-3's LongRoPE frequency factors. Angles are computed in float32 exactly as transformers
/// does (`inv_freq = 1 / (factor * theta^(2i/d))`, `angle = float(position) * inv_freq`), and
/// cos/sin are scaled by the LongRoPE attention factor (1 for plain RoPE).
public struct LongRoPE: Sendable {
    public let rotaryDims: Int
    let shortInverseFrequencies: [Float]
    let longInverseFrequencies: [Float]
    let attentionFactor: Float

    public init(config: ModelConfig) {
        rotaryDims = config.rotaryDims
        let half = config.rotaryDims / 2
        let base: [Float] = (0..<half).map { index in
            // torch: theta ** (arange(0, d, 2).float() / d), in float32
            powf(config.ropeTheta, Float(2 * index) / Float(config.rotaryDims))
        }
        switch config.rope {
        case .none:
            shortInverseFrequencies = base.map { 1 / $0 }
            longInverseFrequencies = shortInverseFrequencies
            attentionFactor = 1
        case let .longRope(short, long, factor):
            shortInverseFrequencies = zip(short, base).map { 1 / ($0 * $1) }
            longInverseFrequencies = zip(long, base).map { 1 / ($0 * $1) }
            attentionFactor = factor
        }
    }

    /// cos and sin of each rotary frequency at `position`: `[cos × half, sin × half]`.
    func table(position: Int, set: RopeFactorSet, into output: UnsafeMutablePointer<Float>) {
        let frequencies = set == .long ? longInverseFrequencies : shortInverseFrequencies
        let half = rotaryDims / 2
        for index in 0..<half {
            let angle = Float(position) * frequencies[index]
            // cos/sin of the float32 angle, rounded once to float32, then scaled in float32.
            output[index] = Float(cos(Double(angle))) * attentionFactor
            output[half + index] = Float(sin(Double(angle))) * attentionFactor
        }
    }

    /// Rotates `heads` consecutive heads of `headDim` floats starting at `vector`, with the
    /// cos/sin `table` of one position.
    func rotate(_ vector: UnsafeMutablePointer<Float>, heads: Int, headDim: Int, table: UnsafePointer<Float>) {
        let half = rotaryDims / 2
        for head in 0..<heads {
            let x = vector + head * headDim
            for index in 0..<half {
                let first = x[index]
                let second = x[half + index]
                let cosine = table[index]
                let sine = table[half + index]
                x[index] = first * cosine - second * sine
                x[half + index] = second * cosine + first * sine
            }
        }
    }
}
