import PhiModel

/// What a pipeline knows of a session: its context budget, the tokens its caches hold and the
/// LongRoPE factors those were computed with.
public struct SessionLog: Sendable, Equatable {
    public let contextTokens: Int
    public private(set) var tokens: [Int] = []
    public private(set) var ropeFactors: RopeFactorSet?

    public init(contextTokens: Int) { self.contextTokens = contextTokens }

    /// Checks that `count` more tokens fit the budget.
    public func checkRoom(for count: Int, session: SessionID) throws {
        guard count > 0 else { throw PipelineError.emptyPass }
        guard tokens.count + count <= contextTokens else {
            throw PipelineError.contextExceeded(session: session, needed: tokens.count + count, budget: contextTokens)
        }
    }

    public mutating func append(_ new: [Int], ropeFactors: RopeFactorSet) {
        tokens += new
        self.ropeFactors = ropeFactors
    }

    public mutating func truncate(toTokens count: Int) {
        if count < tokens.count { tokens.removeLast(tokens.count - max(0, count)) }
        if tokens.isEmpty { ropeFactors = nil }
    }
}
