/// Why a tool call the model wrote cannot be used. The description is written to be shown to
/// the model, so it can correct itself on the next turn.
public enum ToolCallError: Error, Equatable, CustomStringConvertible {
    /// The text between the markers is not JSON.
    case malformedJSON(text: String, reason: String)
    /// The JSON is not a list of calls.
    case notAList(text: String, found: String)
    /// Call `index` is not an object with a non-empty `name` string.
    case missingName(text: String, index: Int)
    /// Call `index` has `arguments` that are not an object (or a string holding one).
    case invalidArguments(text: String, index: Int, reason: String)
    /// A call names a function that was not offered.
    case unknownTool(name: String, available: [String])
    /// The output ended inside a call.
    case unterminated(text: String)

    public var description: String {
        switch self {
        case let .malformedJSON(text, reason):
            "The tool call \(Self.quote(text)) is not valid JSON (\(reason)). Write a JSON list like [{\"name\": \"…\", \"arguments\": {…}}]."
        case let .notAList(text, found):
            "The tool call \(Self.quote(text)) is a JSON \(found), expected a list of calls like [{\"name\": \"…\", \"arguments\": {…}}]."
        case let .missingName(text, index):
            "Call \(index + 1) in \(Self.quote(text)) has no \"name\" string."
        case let .invalidArguments(text, index, reason):
            "Call \(index + 1) in \(Self.quote(text)) has invalid \"arguments\": \(reason). Arguments must be a JSON object."
        case let .unknownTool(name, available):
            "There is no tool named \"\(name)\". Available tools: \(available.map { "\"\($0)\"" }.joined(separator: ", "))."
        case let .unterminated(text):
            "The tool call \(Self.quote(text)) ended before it was complete."
        }
    }

    /// The text, shortened so an error about a huge output stays readable.
    private static func quote(_ text: String) -> String {
        let limit = 200
        return text.count > limit ? "`\(text.prefix(limit))…`" : "`\(text)`"
    }
}

/// What the tool-call parser makes of the model's output so far.
public enum ToolCallEvent: Sendable, Equatable {
    /// Ordinary text, to stream to the user.
    case text(String)
    /// One complete list of calls; `raw` is the text the model wrote for it.
    case toolCalls([ToolCall], raw: String)
    /// A call that cannot be used; feed `error.description` back to the model.
    case error(ToolCallError)
}
