extension ChatMessage {
    /// The messages of an OpenAI `messages` array.
    /// - Throws: `ChatTemplateError.invalidMessage` naming the message and what is wrong with it.
    public static func openAIMessages(_ value: JSONValue) throws(ChatTemplateError) -> [ChatMessage] {
        guard let list = value.arrayValue else {
            throw .invalidMessage(index: 0, reason: "messages is \(value.typeName), expected an array")
        }
        var messages: [ChatMessage] = []
        for (index, message) in list.enumerated() { messages.append(try ChatMessage(openAI: message, index: index)) }
        return messages
    }

    /// One OpenAI chat message: `role` (system, developer, user, assistant, tool), `content` (a
    /// string, null, or text parts), `tool_calls` with JSON-string `arguments`, `tool_call_id`.
    public init(openAI message: JSONValue, index: Int) throws(ChatTemplateError) {
        guard message.objectValue != nil else {
            throw .invalidMessage(index: index, reason: "it is \(message.typeName), expected an object")
        }
        guard let roleName = message["role"]?.stringValue else {
            throw .invalidMessage(index: index, reason: "it has no 'role' string")
        }
        let role: ChatRole
        switch roleName {
        case "system", "developer": role = .system
        case "user": role = .user
        case "assistant": role = .assistant
        case "tool": role = .tool
        default: throw .invalidMessage(index: index, reason: "role '\(roleName)' is not system, developer, user, assistant or tool")
        }
        let content = try Self.openAIContent(message["content"], index: index)
        var toolCalls: [ToolCall] = []
        if let calls = message["tool_calls"], !calls.isNull {
            guard let list = calls.arrayValue else {
                throw .invalidMessage(index: index, reason: "tool_calls is \(calls.typeName), expected an array")
            }
            for (callIndex, call) in list.enumerated() {
                toolCalls.append(try Self.openAIToolCall(call, index: index, callIndex: callIndex))
            }
        }
        self.init(role: role, content: content, toolCalls: toolCalls,
                  toolCallID: message["tool_call_id"]?.stringValue)
    }

    private static func openAIContent(_ content: JSONValue?, index: Int) throws(ChatTemplateError) -> String {
        guard let content, !content.isNull else { return "" }
        if let text = content.stringValue { return text }
        guard let parts = content.arrayValue else {
            throw .invalidMessage(index: index, reason: "content is \(content.typeName), expected a string or an array of parts")
        }
        var text = ""
        for (partIndex, part) in parts.enumerated() {
            guard part["type"]?.stringValue == "text", let partText = part["text"]?.stringValue else {
                let type = part["type"]?.serialized() ?? part.typeName
                throw .invalidMessage(index: index, reason: "content part \(partIndex) has type \(type); only text parts are supported")
            }
            text += partText
        }
        return text
    }

    private static func openAIToolCall(_ call: JSONValue, index: Int, callIndex: Int) throws(ChatTemplateError) -> ToolCall {
        guard let function = call["function"], let name = function["name"]?.stringValue, !name.isEmpty else {
            throw .invalidMessage(index: index, reason: "tool call \(callIndex) has no function name")
        }
        var arguments: JSONValue = .object([:])
        switch function["arguments"] {
        case nil, .null?:
            break
        case let .string(text)?:
            do {
                arguments = text.isEmpty ? .object([:]) : try JSONValue.parse(text)
            } catch {
                throw .invalidMessage(index: index, reason: "tool call \(callIndex) arguments are not valid JSON: \(error)")
            }
        case let value?:
            arguments = value
        }
        return ToolCall(id: call["id"]?.stringValue, name: name, arguments: arguments)
    }
}
