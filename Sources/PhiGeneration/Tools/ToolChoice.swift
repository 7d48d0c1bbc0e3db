import PhiTokenizer

/// Whether and which tools the model must call (OpenAI's `tool_choice`).
public enum ToolChoice: Sendable, Equatable {
    /// The model decides.
    case auto
    /// No call: `<|tool_call|>` is banned.
    case none
    /// At least one call, to any offered tool (constrained).
    case required
    /// One call to this function (constrained).
    case function(String)

    /// The constraint that enforces the choice over `tools`, nil for `auto`.
    /// - Throws: `ToolConstraintError` for a function that is not offered or a schema that
    ///   cannot be compiled.
    public func constraint(tools: [ToolDefinition], vocabulary: TokenVocabulary) throws(ToolConstraintError) -> (any TokenConstraint)? {
        switch self {
        case .auto:
            return nil
        case .none:
            guard let id = vocabulary.tokenizer.id(of: "<|tool_call|>") else { return nil }
            return TokenBan(vocabularySize: vocabulary.vocabularySize, banned: [id])
        case .required:
            return try ToolCallConstraint(tools: tools, allowsSeveral: true, vocabulary: vocabulary)
        case let .function(name):
            guard let tool = tools.first(where: { $0.name == name }) else {
                throw .unknownFunction(name: name, available: tools.map(\.name))
            }
            return try ToolCallConstraint(tools: [tool], allowsSeveral: false, vocabulary: vocabulary)
        }
    }
}
