/// Who speaks in a conversation turn.
public enum ChatRole: String, Sendable, Equatable, CaseIterable {
    case system, user, assistant, tool
}

/// A function call made by the assistant.
public struct ToolCall: Sendable, Equatable {
    /// The OpenAI `tool_call_id` (`call_…`); Phi-4-mini's format has no ids, so parsed calls have none.
    public var id: String?
    public var name: String
    /// The arguments object, keys in the order given.
    public var arguments: JSONValue

    public init(id: String? = nil, name: String, arguments: JSONValue = .object([:])) {
        self.id = id
        self.name = name
        self.arguments = arguments
    }

    /// The arguments as Python's `json.dumps` writes them (`{"city": "Paris"}`): what OpenAI's
    /// `function.arguments` string carries.
    public var argumentsJSON: String { arguments.serialized() }

    /// `{"name": …, "arguments": …}`, the object Phi-4-mini writes inside `<|tool_call|>[…]`.
    public var modelJSON: JSONValue {
        .object(JSONObject([("name", .string(name)), ("arguments", arguments)]))
    }
}

/// One turn of a conversation.
public struct ChatMessage: Sendable, Equatable {
    public var role: ChatRole
    public var content: String
    /// Calls made in an assistant turn (rendered after its content).
    public var toolCalls: [ToolCall]
    /// For a `tool` turn: the call it answers (not rendered by Phi-4-mini's format).
    public var toolCallID: String?

    public init(role: ChatRole, content: String, toolCalls: [ToolCall] = [], toolCallID: String? = nil) {
        self.role = role
        self.content = content
        self.toolCalls = toolCalls
        self.toolCallID = toolCallID
    }

    public static func system(_ content: String) -> ChatMessage { ChatMessage(role: .system, content: content) }
    public static func user(_ content: String) -> ChatMessage { ChatMessage(role: .user, content: content) }
    public static func assistant(_ content: String, toolCalls: [ToolCall] = []) -> ChatMessage {
        ChatMessage(role: .assistant, content: content, toolCalls: toolCalls)
    }
    public static func tool(_ content: String, callID: String? = nil) -> ChatMessage {
        ChatMessage(role: .tool, content: content, toolCallID: callID)
    }
}

/// A function the model may call, as its JSON object `{"name", "description", "parameters"}`
/// with keys in the order given (Phi-4-mini sees them serialized verbatim).
public struct ToolDefinition: Sendable, Equatable {
    public let function: JSONObject
    public var name: String { function["name"]?.stringValue ?? "" }

    /// From the `function` object of an OpenAI tool.
    /// - Throws: `ChatTemplateError.invalidTool` when it is not an object with a non-empty `name`.
    public init(function: JSONValue, index: Int = 0) throws(ChatTemplateError) {
        guard let object = function.objectValue else {
            throw .invalidTool(index: index, reason: "the function is \(function.typeName), expected an object")
        }
        guard let name = object["name"]?.stringValue, !name.isEmpty else {
            throw .invalidTool(index: index, reason: "the function has no 'name' string")
        }
        self.function = object
    }

    public init(name: String, description: String? = nil, parameters: JSONValue? = nil) {
        var object = JSONObject()
        object["name"] = .string(name)
        if let description { object["description"] = .string(description) }
        if let parameters { object["parameters"] = parameters }
        self.function = object
    }

    /// From an OpenAI tool `{"type": "function", "function": {…}}` (a bare function object is
    /// accepted too).
    public init(openAI tool: JSONValue, index: Int = 0) throws(ChatTemplateError) {
        if let type = tool["type"] {
            guard type.stringValue == "function" else {
                throw .invalidTool(index: index, reason: "type is \(type.serialized()), only \"function\" is supported")
            }
            guard let function = tool["function"] else { throw .invalidTool(index: index, reason: "it has no 'function'") }
            try self.init(function: function, index: index)
        } else {
            try self.init(function: tool, index: index)
        }
    }

    /// The tools of an OpenAI `tools` array.
    public static func openAITools(_ value: JSONValue) throws(ChatTemplateError) -> [ToolDefinition] {
        guard let list = value.arrayValue else {
            throw .invalidTool(index: 0, reason: "tools is \(value.typeName), expected an array")
        }
        var tools: [ToolDefinition] = []
        for (index, tool) in list.enumerated() { tools.append(try ToolDefinition(openAI: tool, index: index)) }
        return tools
    }
}
