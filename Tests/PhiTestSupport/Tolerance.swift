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
    /// Max |difference| of tiled attention from untiled attention (`phi_attend_head_f32`) per
    /// output, for values in [-1, 1] and contexts of at most 200 positions (4 blocks of 64). Both
    /// are sum_j w_j v_j with sum_j w_j = 1, so they differ by at most the sum of the two relative
    /// weight errors, in units of u = 2^-24: untiled, a running sum over every position (200 u),
    /// the softmax total (gamma_(200/8+4): 29 u), phi_expf (2 u), reciprocal and product (2 u);
    /// tiled, a running sum over one block (64 u), its total (12 u), phi_expf (2 u), per fold an
    /// exp, a product and an fma (4 folds × 4 u), reciprocal and product (2 u). About 330 u in
    /// all; 2^-15 = 512 u leaves room (measured: under 1.2e-6). Tests/KernelCheck uses the same.
    public static let tiledAttention: Float = 0x1p-15
}
