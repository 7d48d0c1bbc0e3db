/// How a conversation becomes the prompt text a model was trained on.
public enum ChatTemplate: Sendable, Equatable {
    /// Phi-4-mini's: `<|role|>content<|end|>` with no newlines and no BOS; tools as a JSON list
    /// inside `<|tool|>…<|/tool|>` on the system turn; tool calls as
    /// `<|tool_call|>[{"name": …, "arguments": …}]<|/tool_call|>`; tool results as
    /// `<|tool_response|>…<|end|>`. Ends in `<|assistant|>` for a generation prompt, else
    /// `<|endoftext|>`.
    case phi4Mini
    /// ChatML: `<|im_start|>role\ncontent<|im_end|>\n`, generation prompt `<|im_start|>assistant\n`.
    /// When the conversation does not open with a system turn, one with `defaultSystemPrompt`
    /// is put first (SmolLM2's template does this).
    case chatML(defaultSystemPrompt: String?)

    /// SmolLM2-Instruct's template.
    public static let smolLM2 = ChatTemplate.chatML(
        defaultSystemPrompt: "You are a helpful AI assistant named SmolLM, trained by Hugging Face")

    /// Recognises a Jinja `chat_template` (tokenizer_config.json, GGUF `tokenizer.chat_template`)
    /// as one of the formats above; nil for anything else.
    public init?(jinjaSource source: String) {
        if source.contains("<|im_start|>") {
            self = .chatML(defaultSystemPrompt: Self.defaultSystemPrompt(inChatML: source))
        } else if source.contains("<|assistant|>") && source.contains("<|end|>") && source.contains("message['role']") {
            self = .phi4Mini
        } else {
            return nil
        }
    }

    /// The literal system text a ChatML template inserts, as in SmolLM2's
    /// `'<|im_start|>system\nYou are …<|im_end|>\n'`; nil when the template inserts none.
    private static func defaultSystemPrompt(inChatML source: String) -> String? {
        for opening in ["<|im_start|>system\n", "<|im_start|>system\\n"] {
            guard let start = source.range(of: opening),
                  let end = source[start.upperBound...].range(of: "<|im_end|>") else { continue }
            let text = source[start.upperBound..<end.lowerBound]
            // Jinja code (a variable or a closed string literal) means the text is not fixed.
            if text.isEmpty || text.contains("'") || text.contains("{") || text.contains("\"") { continue }
            return String(text)
        }
        return nil
    }

    /// Renders `messages` (and `tools`, for Phi-4-mini) as prompt text.
    /// - Parameter addGenerationPrompt: end with the assistant's opening so the model answers.
    /// - Throws: `ChatTemplateError.toolsNotSupported` for tools or tool calls in ChatML.
    public func render(_ messages: [ChatMessage], tools: [ToolDefinition] = [],
                       addGenerationPrompt: Bool = true) throws(ChatTemplateError) -> String {
        switch self {
        case .phi4Mini:
            return Self.renderPhi4Mini(messages, tools: tools, addGenerationPrompt: addGenerationPrompt)
        case let .chatML(defaultSystemPrompt):
            if !tools.isEmpty || messages.contains(where: { !$0.toolCalls.isEmpty }) {
                throw .toolsNotSupported(template: "ChatML")
            }
            var text = ""
            if let defaultSystemPrompt, let first = messages.first, first.role != .system {
                text += "<|im_start|>system\n" + defaultSystemPrompt + "<|im_end|>\n"
            }
            for message in messages {
                text += "<|im_start|>" + message.role.rawValue + "\n" + message.content + "<|im_end|>\n"
            }
            if addGenerationPrompt { text += "<|im_start|>assistant\n" }
            return text
        }
    }

    private static func renderPhi4Mini(_ messages: [ChatMessage], tools: [ToolDefinition],
                                       addGenerationPrompt: Bool) -> String {
        // Tools ride on the first system turn, as the official template's `tools` key does; a
        // conversation without one gets an empty system turn to carry them.
        let toolsJSON = tools.isEmpty ? nil : JSONValue.array(tools.map { .object($0.function) }).serialized()
        var toolsPending = toolsJSON
        var text = ""
        if let toolsJSON, !messages.contains(where: { $0.role == .system }) {
            text += "<|system|><|tool|>" + toolsJSON + "<|/tool|><|end|>"
            toolsPending = nil
        }
        for message in messages {
            switch message.role {
            case .system:
                text += "<|system|>" + message.content
                if let json = toolsPending {
                    text += "<|tool|>" + json + "<|/tool|>"
                    toolsPending = nil
                }
                text += "<|end|>"
            case .user:
                text += "<|user|>" + message.content + "<|end|>"
            case .assistant:
                text += "<|assistant|>" + message.content
                if !message.toolCalls.isEmpty {
                    text += "<|tool_call|>" + JSONValue.array(message.toolCalls.map(\.modelJSON)).serialized()
                        + "<|/tool_call|>"
                }
                text += "<|end|>"
            case .tool:
                text += "<|tool_response|>" + message.content + "<|end|>"
            }
        }
        text += addGenerationPrompt ? "<|assistant|>" : "<|endoftext|>"
        return text
    }
}
