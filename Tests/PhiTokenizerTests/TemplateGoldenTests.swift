import Foundation
import Testing
import PhiTestSupport
@testable import PhiTokenizer

/// One line of template_golden.jsonl.
struct TemplateGoldenLine: Sendable, CustomTestStringConvertible {
    let name: String
    let addGenerationPrompt: Bool
    /// The messages as fed to the official template (`tool_response` role, tool calls as text).
    let templateMessages: [JSONValue]
    let functions: [JSONValue]
    let text: String
    let ids: [Int]

    var testDescription: String { "\(name), generation prompt \(addGenerationPrompt)" }

    static let all: [TemplateGoldenLine] = {
        let url = Fixtures.tokenizer.appendingPathComponent("template_golden.jsonl")
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            guard let value = try? JSONValue.parse(String(line)) else { return nil }
            return TemplateGoldenLine(
                name: value["name"]?.stringValue ?? "", addGenerationPrompt: value["add_generation_prompt"]?.boolValue ?? false,
                templateMessages: value["template_messages"]?.arrayValue ?? [],
                functions: value["functions"]?.arrayValue ?? [], text: value["text"]?.stringValue ?? "",
                ids: value["ids"]?.arrayValue?.compactMap(\.intValue) ?? [])
        }
    }()

    /// The conversation in our types: `tool_response` is a tool turn, and an assistant turn's
    /// `<|tool_call|>[…]<|/tool_call|>` text becomes its tool calls.
    func conversation() throws -> [ChatMessage] {
        try templateMessages.map { message in
            let content = message["content"]?.stringValue ?? ""
            switch message["role"]?.stringValue {
            case "system": return .system(content)
            case "user": return .user(content)
            case "tool_response": return .tool(content)
            case "assistant":
                var text = ""
                var calls: [ToolCall] = []
                for event in ToolCallParser.parse(content) {
                    switch event {
                    case let .text(part): text += part
                    case let .toolCalls(parsed, _): calls += parsed
                    case let .error(error): throw error
                    }
                }
                return .assistant(text, toolCalls: calls)
            case let role: throw ChatTemplateError.invalidMessage(index: 0, reason: "unexpected role \(role ?? "nil")")
            }
        }
    }

    func tools() throws -> [ToolDefinition] {
        try functions.map { try ToolDefinition(function: $0) }
    }

    /// The same conversation in OpenAI's request shape: tools wrapped as `{"type": "function"}`,
    /// tool calls with JSON-string arguments, tool results with role `tool`.
    func openAIRequest() throws -> (messages: JSONValue, tools: JSONValue) {
        let messages: [JSONValue] = try conversation().enumerated().map { index, message in
            var object: JSONObject = ["role": .string(message.role.rawValue), "content": .string(message.content)]
            if !message.toolCalls.isEmpty {
                object["tool_calls"] = .array(message.toolCalls.enumerated().map { callIndex, call in
                    ["id": .string("call_\(index)_\(callIndex)"), "type": "function",
                     "function": ["name": .string(call.name), "arguments": .string(call.argumentsJSON)]]
                })
            }
            return .object(object)
        }
        return (.array(messages), .array(functions.map { ["type": "function", "function": $0] }))
    }
}

@Suite("Phi-4-mini chat template matches the official template's renderings")
struct TemplateGoldenTests {
    @Test("the golden has its 20 renderings")
    func goldenIsComplete() {
        #expect(TemplateGoldenLine.all.count == 20)
    }

    @Test("rendering gives the golden text and ids", arguments: TemplateGoldenLine.all)
    func renderingMatches(_ line: TemplateGoldenLine) throws {
        let text = try ChatTemplate.phi4Mini.render(try line.conversation(), tools: try line.tools(),
                                                    addGenerationPrompt: line.addGenerationPrompt)
        #expect(text == line.text)
        #expect(try TestTokenizers.phi4().encode(text) == line.ids)
    }

    @Test("an OpenAI-shaped request renders the same", arguments: TemplateGoldenLine.all)
    func openAIRequestMatches(_ line: TemplateGoldenLine) throws {
        let request = try line.openAIRequest()
        let text = try ChatTemplate.phi4Mini.render(try ChatMessage.openAIMessages(request.messages),
                                                    tools: try ToolDefinition.openAITools(request.tools),
                                                    addGenerationPrompt: line.addGenerationPrompt)
        #expect(text == line.text)
    }

    @Test("tools serialize as the golden's system message carries them", arguments: TemplateGoldenLine.all.filter { !$0.functions.isEmpty })
    func toolsSerializeLikePython(_ line: TemplateGoldenLine) throws {
        let system = try #require(line.templateMessages.first { $0["role"]?.stringValue == "system" })
        let expected = try #require(system["tools"]?.stringValue)
        #expect(JSONValue.array(try line.tools().map { .object($0.function) }).serialized() == expected)
    }

    @Test("tokenizer_config.json's chat_template is recognised as Phi-4-mini's")
    func templateIsDetected() throws {
        #expect(try TestTokenizers.phi4().chatTemplate == .phi4Mini)
    }

    @Test("tools without a system turn ride on an empty one")
    func toolsWithoutSystem() throws {
        let line = try #require(TemplateGoldenLine.all.first { !$0.functions.isEmpty && $0.addGenerationPrompt })
        let tools = try line.tools()
        let text = try ChatTemplate.phi4Mini.render([.user("Weather in Oslo?")], tools: tools)
        let toolsJSON = JSONValue.array(tools.map { .object($0.function) }).serialized()
        #expect(text == "<|system|><|tool|>" + toolsJSON + "<|/tool|><|end|><|user|>Weather in Oslo?<|end|><|assistant|>")
    }

    @Test("an assistant turn with text and a call renders the text first")
    func textThenCall() throws {
        let call = ToolCall(name: "search", arguments: ["query": "Phi-4-mini"])
        let text = try ChatTemplate.phi4Mini.render([.assistant("Let me look.", toolCalls: [call])], addGenerationPrompt: false)
        #expect(text == #"<|assistant|>Let me look.<|tool_call|>[{"name": "search", "arguments": {"query": "Phi-4-mini"}}]<|/tool_call|><|end|><|endoftext|>"#)
    }
}

@Suite("ChatML as SmolLM2 uses it")
struct ChatMLTests {
    /// SmolLM2-Instruct's chat_template, as published in its tokenizer_config.json.
    static let smolLM2Jinja = """
        {% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system
        You are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>
        ' }}{% endif %}{{'<|im_start|>' + message['role'] + '
        ' + message['content'] + '<|im_end|>' + '
        '}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant
        ' }}{% endif %}
        """

    @Test("the chat prompt of the SmolLM2 golden renders exactly")
    func smolLM2Golden() throws {
        let data = try Data(contentsOf: Fixtures.smollm2Golden.appendingPathComponent("golden.json"))
        let golden = try JSONValue.parse(String(decoding: data, as: UTF8.self))
        let expected = try #require(golden["prompts"]?["chat"]?["text"]?.stringValue)
        let text = try ChatTemplate.smolLM2.render([.user("What is the capital of France? Answer in one sentence.")])
        #expect(text == expected)
    }

    @Test("SmolLM2's Jinja source is recognised with its default system prompt")
    func detection() {
        #expect(ChatTemplate(jinjaSource: Self.smolLM2Jinja) == .smolLM2)
        #expect(ChatTemplate(jinjaSource: "{{ messages }}") == nil)
    }

    @Test("a system turn replaces the default one")
    func explicitSystem() throws {
        let text = try ChatTemplate.smolLM2.render([.system("Be brief."), .user("Hi")], addGenerationPrompt: false)
        #expect(text == "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n")
    }

    @Test("tools are refused, naming the template")
    func toolsRefused() throws {
        let error = try #require(throws: ChatTemplateError.self) {
            try ChatTemplate.smolLM2.render([.user("x")], tools: [ToolDefinition(name: "f")])
        }
        #expect(error == .toolsNotSupported(template: "ChatML"))
        #expect(error.description.contains("ChatML"))
    }
}
