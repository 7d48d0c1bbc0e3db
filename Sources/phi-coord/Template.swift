import ArgumentParser
import Foundation
import PhiTokenizer

/// `phi-coord template`: the prompt text and ids of an OpenAI-style conversation.
struct Template: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Render an OpenAI-style messages array (and tools) with the model's chat template.")

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case json, text
    }

    enum Name: String, ExpressibleByArgument, CaseIterable {
        case phi4Mini = "phi4-mini", smolLM2 = "smollm2"
    }

    @Option(help: "Directory holding the tokenizer files (a model directory works too).")
    var tokenizer: String

    @Option(help: "JSON file holding an OpenAI messages array.")
    var messages: String

    @Option(help: "JSON file holding an OpenAI tools array.")
    var tools: String?

    @Option(help: "json prints {\"text\": ..., \"ids\": [...]}; text prints the prompt text.")
    var format: Format = .json

    @Option(help: "Chat template; by default the one tokenizer_config.json describes, else phi4-mini.")
    var template: Name?

    @Flag(help: "Do not end with the assistant's opening.")
    var noGenerationPrompt = false

    func run() throws {
        let loaded = try Tokenizer.load(directory: URL(fileURLWithPath: tokenizer))
        let conversation = try ChatMessage.openAIMessages(try readJSON(messages))
        let toolList = try tools.map { try ToolDefinition.openAITools(try readJSON($0)) } ?? []
        let chatTemplate: ChatTemplate = switch template {
        case .phi4Mini?: .phi4Mini
        case .smolLM2?: .smolLM2
        case nil: loaded.chatTemplate ?? .phi4Mini
        }
        let text = try chatTemplate.render(conversation, tools: toolList, addGenerationPrompt: !noGenerationPrompt)
        switch format {
        case .text:
            print(text, terminator: isatty(STDOUT_FILENO) != 0 ? "\n" : "")
        case .json:
            let ids = JSONValue.array(loaded.encode(text).map { .integer($0) })
            print(JSONValue.object(["text": .string(text), "ids": ids]).serialized())
        }
    }

    private func readJSON(_ path: String) throws -> JSONValue {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        do {
            return try JSONValue.parse(text)
        } catch {
            throw ValidationError("\(path) is not valid JSON: \(error)")
        }
    }
}
