import Foundation
import PhiGeneration
import PhiTestSupport
import PhiTokenizer
import Testing

/// The tiny random model with the real tokenizer, in one process.
enum TinyEngine {
    static func make(maxSessions: Int = 4, maxCachedTokens: Int = 100_000, context: Int = 4096) throws -> CompletionEngine {
        let source = try TinyModel.source()
        let pipeline = try LocalPipeline(model: source, format: nil, compute: try Compute(threads: 2))
        return CompletionEngine(pipeline: pipeline, tokenizer: try TestVocabulary.tokenizer(), template: .phi4Mini,
                                limits: .init(maxSessions: maxSessions, maxCachedTokens: maxCachedTokens, contextTokens: context))
    }
}

/// Collects a loop's events across tasks.
final class EventLog: Sendable {
    private let events = Locked<[FunctionCallingLoop.Event]>([])
    func add(_ event: FunctionCallingLoop.Event) { events.withLock { $0.append(event) } }
    var all: [FunctionCallingLoop.Event] { events.withLock { $0 } }
}

@Suite("Function-calling loop with a manifest tool and the tiny model")
struct ToolLoopTests {
    static let schema = #"{"type": "object", "properties": {"city": {"type": "string", "maxLength": 12}, "#
        + #""days": {"type": "integer", "minimum": 1, "maximum": 5}}, "required": ["city", "days"]}"#

    @Test("a forced call runs the tool with valid arguments and its output reaches the next prompt")
    func toolOutputReachesNextPrompt() async throws {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("phi-loop-\(UUID().uuidString).jsonl")
        let toolbox = try Toolbox([ToolRunnerTests.spec("weather.py", [log.path], parameters: Self.schema)])
        let engine = try TinyEngine.make()
        let loop = FunctionCallingLoop(engine: engine, toolbox: toolbox, parameters: .init(temperature: 0.7, seed: 3, maxTokens: 48),
                                       maxRounds: 1, toolChoice: .function("weather"))
        var messages: [ChatMessage] = [.user("What is the weather in Oslo for 3 days?")]
        let firstPrompt = try engine.chatPrompt(messages, tools: toolbox.definitions)
        let events = EventLog()
        let summary = try await loop.respond(&messages) { events.add($0) }

        #expect(summary.rounds == 2)
        // The tool ran once, with arguments that validate against its schema.
        let received = try String(contentsOf: log, encoding: .utf8).split(separator: "\n")
        #expect(received.count == 1)
        let arguments = try JSONValue.parse(String(received.first ?? ""))
        #expect(JSONSchemaValidator(schema: try JSONValue.parse(Self.schema)).firstViolation(arguments) == nil)
        // Its output is a tool message, rendered into the second round's prompt.
        let toolMessage = try #require(messages.first { $0.role == .tool })
        #expect(toolMessage.content.contains("WEATHER-RESULT-7f3a"))
        let secondPrompt = try engine.template.render(Array(messages.prefix(3)), tools: toolbox.definitions)
        #expect(secondPrompt.contains("<|tool_response|>" + toolMessage.content + "<|end|>"))
        // The second round reused the first round's session: only the new tokens were computed.
        let rounds = events.all.compactMap { event -> (Int, Int)? in
            if case let .roundFinished(cached, computed, _) = event { (cached, computed) } else { nil }
        }
        #expect(rounds.count == 2)
        #expect(rounds[0].0 == 0)
        #expect(rounds[1].0 >= firstPrompt.count)
        let secondPromptTokens = engine.tokenizer.encode(secondPrompt)
        #expect(rounds[1].0 + rounds[1].1 == secondPromptTokens.count)
        #expect(events.all.contains { if case .toolCall = $0 { true } else { false } })
    }

    @Test("a failing tool gives the model an error result and the loop goes on")
    func failingToolIsReported() async throws {
        var spec = ToolRunnerTests.spec("failing.py", parameters: Self.schema)
        spec.name = "weather"
        let toolbox = try Toolbox([spec])
        let loop = FunctionCallingLoop(engine: try TinyEngine.make(), toolbox: toolbox,
                                       parameters: .init(temperature: 0.7, seed: 5, maxTokens: 40),
                                       maxRounds: 1, toolChoice: .required)
        var messages: [ChatMessage] = [.user("Weather?")]
        let summary = try await loop.respond(&messages) { _ in }
        #expect(summary.rounds == 2)
        let toolMessage = try #require(messages.first { $0.role == .tool })
        #expect(toolMessage.content.contains("exit status 3"))
        #expect(messages.last?.role == .assistant)
    }
}
