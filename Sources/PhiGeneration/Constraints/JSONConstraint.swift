import PhiTokenizer

/// Constrains a generation to one JSON value valid against a schema (`response_format`
/// `json_schema` or `json_object`). A stop token is allowed only once the value is complete, and
/// the value is kept short enough to be closed before the token budget runs out.
public struct JSONConstraint: TokenConstraint {
    let vocabulary: TokenVocabulary
    let stopTokenIDs: [Int]
    private(set) var matcher: JSONMatcher
    /// Set when a token outside the mask was forced in: from then on anything goes.
    public private(set) var isBroken = false

    /// - Parameters:
    ///   - graph: the compiled schema (`SchemaGraph(schema:)`).
    ///   - stopTokenIDs: the model's stop ids, allowed once the value is complete.
    public init(graph: SchemaGraph, vocabulary: TokenVocabulary, stopTokenIDs: some Sequence<Int>) {
        self.vocabulary = vocabulary
        self.stopTokenIDs = Array(stopTokenIDs)
        matcher = JSONMatcher(graph: graph)
    }

    /// Any JSON object (`response_format: {"type": "json_object"}`).
    public static func anyObject(vocabulary: TokenVocabulary, stopTokenIDs: some Sequence<Int>) throws(SchemaError) -> JSONConstraint {
        JSONConstraint(graph: try SchemaGraph(schema: ["type": "object"]), vocabulary: vocabulary, stopTokenIDs: stopTokenIDs)
    }

    public mutating func allowedTokens(remainingTokens: Int) -> TokenMask {
        var mask = TokenMask(count: vocabulary.vocabularySize, allowsAll: isBroken)
        if isBroken { return mask }
        matcher.addAllowedTokens(to: &mask, vocabulary: vocabulary, limit: remainingTokens - 1)
        if mask.isEmpty && !matcher.isAccepting {
            // Fewer tokens left than bytes to close the value: close it as fast as tokens allow.
            matcher.addClosingTokens(to: &mask, vocabulary: vocabulary)
        }
        if matcher.isAccepting { for id in stopTokenIDs { mask.insert(id) } }
        return mask
    }

    public mutating func advance(_ token: Int) {
        guard !isBroken, !stopTokenIDs.contains(token) else { return }
        if !vocabulary.isTextToken(token) || !matcher.advance(vocabulary.tokenBytes(token)) { isBroken = true }
    }

    public var isComplete: Bool { !isBroken && matcher.isComplete }
}
