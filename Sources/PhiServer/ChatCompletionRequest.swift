import PhiGeneration
import PhiTokenizer

/// What `response_format` asks for.
enum ResponseFormat: Equatable {
    case text
    case jsonObject
    case jsonSchema(JSONValue)
}

/// The sampling fields shared by `/v1/chat/completions` and `/v1/completions`.
struct SamplingRequest {
    var temperature: Float = 1
    var topP: Float = 1
    var seed: UInt64?
    var maxTokens: Int?
    var stops: [String] = []

    init(_ fields: RequestFields) throws(APIError) {
        if let value = try fields.number("temperature", in: 0...2) { temperature = Float(value) }
        if let value = try fields.number("top_p", in: 0...1) {
            guard value > 0 else { throw .badRequest("'top_p' must be above 0", param: "top_p", code: "invalid_value") }
            topP = Float(value)
        }
        if let value = try fields.integer("seed", in: Int.min...Int.max) { seed = UInt64(bitPattern: Int64(value)) }
        let maxCompletionTokens = try fields.integer("max_completion_tokens", in: 1...Int.max)
        let legacyMaxTokens = try fields.integer("max_tokens", in: 1...Int.max)
        maxTokens = maxCompletionTokens ?? legacyMaxTokens
        stops = try fields.stopStrings()
        if let n = try fields.integer("n", in: 1...Int.max), n != 1 {
            throw .badRequest("only n = 1 is supported, not \(n)", param: "n", code: "unsupported_value")
        }
        _ = try fields.number("presence_penalty", in: -2...2)
        _ = try fields.number("frequency_penalty", in: -2...2)
        if try fields.bool("logprobs") == true {
            throw .badRequest("logprobs are not supported", param: "logprobs", code: "unsupported_value")
        }
    }

    /// The generator's parameters; a request without a seed gets a random one.
    func parameters(defaultMaxTokens: Int, stopTokenIDs: Set<Int>) -> SamplingParameters {
        SamplingParameters(temperature: temperature, topK: 0, topP: topP, minP: 0, seed: seed ?? UInt64.random(in: 0...UInt64.max),
                           maxTokens: maxTokens ?? defaultMaxTokens, stopTokenIds: stopTokenIDs)
    }
}

/// A `POST /v1/chat/completions` body, checked field by field.
struct ChatCompletionRequest {
    var model: String?
    var messages: [ChatMessage]
    var tools: [ToolDefinition] = []
    var toolChoice = ToolChoice.auto
    /// `parallel_tool_calls`: false limits a required call to one.
    var allowsParallelCalls = true
    var responseFormat = ResponseFormat.text
    var sampling: SamplingRequest
    var stream: Bool
    var includeUsage: Bool
    /// `return_progress`: prefill progress as chunks of the stream.
    var returnProgress: Bool

    init(_ fields: RequestFields) throws(APIError) {
        model = try fields.string("model")
        guard let messages = fields["messages"] else { throw .badRequest("'messages' is required", param: "messages") }
        do {
            self.messages = try ChatMessage.openAIMessages(messages)
            if let tools = fields["tools"] { self.tools = try ToolDefinition.openAITools(tools) }
        } catch {
            throw APIError.from(error)
        }
        if self.messages.isEmpty { throw .badRequest("'messages' is empty", param: "messages") }
        sampling = try SamplingRequest(fields)
        stream = try fields.bool("stream") ?? false
        includeUsage = try fields.includesUsage()
        returnProgress = try fields.bool("return_progress") ?? false
        toolChoice = try Self.toolChoice(fields["tool_choice"], tools: tools)
        allowsParallelCalls = try fields.bool("parallel_tool_calls") ?? true
        responseFormat = try Self.responseFormat(fields["response_format"])
    }

    static func toolChoice(_ value: JSONValue?, tools: [ToolDefinition]) throws(APIError) -> ToolChoice {
        guard let value else { return .auto }
        let choice: ToolChoice
        switch value {
        case "auto": choice = .auto
        case "none": choice = .none
        case "required": choice = .required
        case .object:
            guard value["type"]?.stringValue == "function", let name = value["function"]?["name"]?.stringValue else {
                throw .badRequest(#"'tool_choice' must be "auto", "none", "required" or {"type": "function", "function": {"name": …}}"#,
                                  param: "tool_choice")
            }
            guard tools.contains(where: { $0.name == name }) else {
                throw .badRequest("'tool_choice' names the function '\(name)', which is not in 'tools' "
                                  + "(\(tools.isEmpty ? "none given" : tools.map(\.name).joined(separator: ", ")))",
                                  param: "tool_choice", code: "unknown_tool")
            }
            choice = .function(name)
        default:
            throw .badRequest("'tool_choice' is \(value.serialized()), expected \"auto\", \"none\", \"required\" or a function",
                              param: "tool_choice")
        }
        if choice == .required && tools.isEmpty {
            throw .badRequest("'tool_choice' is \"required\" but no 'tools' are given", param: "tool_choice")
        }
        return choice
    }

    static func responseFormat(_ value: JSONValue?) throws(APIError) -> ResponseFormat {
        guard let value else { return .text }
        switch value["type"]?.stringValue {
        case "text"?: return .text
        case "json_object"?: return .jsonObject
        case "json_schema"?:
            guard let schema = value["json_schema"]?["schema"] else {
                throw .badRequest("'response_format.json_schema.schema' is required", param: "response_format")
            }
            return .jsonSchema(schema)
        default:
            throw .badRequest(#"'response_format.type' must be "text", "json_object" or "json_schema""#, param: "response_format")
        }
    }
}

/// A `POST /v1/completions` body: a prompt as text or token ids.
struct CompletionRequest {
    enum Prompt { case text(String), tokens([Int]) }

    var model: String?
    var prompt: Prompt
    var sampling: SamplingRequest
    var stream: Bool
    var includeUsage: Bool
    /// `return_progress`: prefill progress as chunks of the stream.
    var returnProgress: Bool

    init(_ fields: RequestFields) throws(APIError) {
        model = try fields.string("model")
        guard let value = fields["prompt"] else { throw .badRequest("'prompt' is required", param: "prompt") }
        // A batch of one prompt is accepted as that prompt.
        var single = value
        if let list = value.arrayValue, list.count == 1, list[0].stringValue != nil || list[0].arrayValue != nil { single = list[0] }
        if let text = single.stringValue {
            prompt = .text(text)
        } else if let list = single.arrayValue, !list.isEmpty,
                  case let ids = list.compactMap({ value -> Int? in if case let .integer(id) = value { id } else { nil } }),
                  ids.count == list.count {
            prompt = .tokens(ids)
        } else {
            throw .badRequest("'prompt' must be a string or an array of token ids (one prompt: n = 1)", param: "prompt")
        }
        sampling = try SamplingRequest(fields)
        stream = try fields.bool("stream") ?? false
        includeUsage = try fields.includesUsage()
        returnProgress = try fields.bool("return_progress") ?? false
        if try fields.bool("echo") == true { throw .badRequest("echo is not supported", param: "echo", code: "unsupported_value") }
    }
}
