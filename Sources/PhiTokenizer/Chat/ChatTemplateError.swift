/// A conversation or tool list that cannot be rendered, naming the message or tool at fault.
public enum ChatTemplateError: Error, Equatable, CustomStringConvertible {
    case invalidMessage(index: Int, reason: String)
    case invalidTool(index: Int, reason: String)
    /// The template has no way to show tools or tool calls (ChatML as SmolLM2 uses it).
    case toolsNotSupported(template: String)

    public var description: String {
        switch self {
        case let .invalidMessage(index, reason): "message \(index): \(reason)"
        case let .invalidTool(index, reason): "tool \(index): \(reason)"
        case let .toolsNotSupported(template): "the \(template) chat template cannot render tools or tool calls"
        }
    }
}
