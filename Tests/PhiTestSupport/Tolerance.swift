/// Named tolerances, each with where its number comes from.
public enum Tolerance {
    /// Max |difference| of logits and hidden states from the float32 reference: tiny-phi4-golden's
    /// README (the float64 run differs from float32 by ≤ 1.1e-4, so 1e-3 leaves a wide margin).
    public static let logits: Float = 1e-3
    /// Same bound for every per-layer hidden state (tiny-phi4-golden README).
    public static let hiddenStates: Float = 1e-3
    /// Share of positions whose argmax must agree on p1000 and p4300 (tiny-phi4-golden README:
    /// they have a few positions with top-2 margins below 0.01 that may legitimately flip).
    public static let longPromptArgmaxAgreement = 0.999
}
