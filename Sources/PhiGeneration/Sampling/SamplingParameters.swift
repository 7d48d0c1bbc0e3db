/// How the next token is chosen, and when a generation ends.
public struct SamplingParameters: Sendable, Equatable {
    /// 0 means greedy (argmax); otherwise logits are divided by it before the softmax.
    public var temperature: Float
    /// Keep only the `topK` most likely tokens (0: all).
    public var topK: Int
    /// Keep the most likely tokens whose probabilities sum to at least `topP` (1: all).
    public var topP: Float
    /// Drop tokens less likely than `minP` times the most likely one (0: none).
    public var minP: Float
    /// Divide positive logits (multiply negative ones) of tokens already in the context by this (1: off).
    public var repetitionPenalty: Float
    /// How many of the last context tokens the repetition penalty looks at.
    public var repetitionWindow: Int
    /// Seeds the random choice; the same seed, prompt and parameters give the same tokens.
    public var seed: UInt64
    public var maxTokens: Int
    /// Token ids that end the generation (not emitted).
    public var stopTokenIds: Set<Int>
    /// Generate `maxTokens` tokens even past a stop id (for tests and benchmarks).
    public var ignoreEOS: Bool

    public init(temperature: Float = 0.8, topK: Int = 40, topP: Float = 0.95, minP: Float = 0.05,
                repetitionPenalty: Float = 1.0, repetitionWindow: Int = 64, seed: UInt64 = 0,
                maxTokens: Int = 256, stopTokenIds: Set<Int> = [], ignoreEOS: Bool = false) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.minP = minP
        self.repetitionPenalty = repetitionPenalty
        self.repetitionWindow = repetitionWindow
        self.seed = seed
        self.maxTokens = maxTokens
        self.stopTokenIds = stopTokenIds
        self.ignoreEOS = ignoreEOS
    }

    /// Greedy decoding: always the most likely token.
    public static func greedy(maxTokens: Int, stopTokenIds: Set<Int> = [], ignoreEOS: Bool = false) -> SamplingParameters {
        SamplingParameters(temperature: 0, topK: 0, topP: 1, minP: 0, maxTokens: maxTokens,
                           stopTokenIds: stopTokenIds, ignoreEOS: ignoreEOS)
    }

    /// A description of the first invalid parameter, or nil.
    public var validationError: String? {
        if !(temperature >= 0) || !temperature.isFinite { return "temperature must be a finite number ≥ 0, not \(temperature)" }
        if topK < 0 { return "top_k must be ≥ 0, not \(topK)" }
        if !(topP > 0 && topP <= 1) { return "top_p must be in (0, 1], not \(topP)" }
        if !(minP >= 0 && minP <= 1) { return "min_p must be in [0, 1], not \(minP)" }
        if !(repetitionPenalty > 0) || !repetitionPenalty.isFinite { return "repetition penalty must be > 0, not \(repetitionPenalty)" }
        if maxTokens < 0 { return "max_tokens must be ≥ 0, not \(maxTokens)" }
        return nil
    }
}
