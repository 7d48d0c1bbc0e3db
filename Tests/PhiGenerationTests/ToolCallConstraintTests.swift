import Foundation
import PhiGeneration
import PhiTestSupport
import PhiTokenizer
import Testing

@Suite("Tool-call constraint: Phi-4-mini's call shape with schema-valid arguments")
struct ToolCallConstraintTests {
    static let weather = ToolDefinition(name: "get_weather", description: "Current weather", parameters: [
        "type": "object",
        "properties": ["city": ["type": "string", "maxLength": 24], "unit": ["enum": ["celsius", "fahrenheit"]]],
        "required": ["city"],
    ])
    static let add = ToolDefinition(name: "add", parameters: [
        "type": "object", "properties": ["a": ["type": "integer"], "b": ["type": "number"]], "required": ["a", "b"],
    ])
    static let clock = ToolDefinition(name: "now")

    @Test("a named tool yields one call to it whose arguments validate", arguments: 0..<10)
    func namedTool(_ seed: Int) throws {
        let outcome = try walk(tools: [Self.weather], allowsSeveral: false, seed: seed)
        let calls = try parsedCalls(outcome.text)
        #expect(calls.count == 1)
        #expect(calls.first?.name == "get_weather")
        let arguments = try #require(calls.first?.arguments)
        #expect(JSONSchemaValidator(schema: Self.weather.function["parameters"] ?? .null).firstViolation(arguments) == nil)
    }

    @Test("required: one or more calls, each to an offered tool with valid arguments", arguments: 0..<10)
    func requiredTools(_ seed: Int) throws {
        let tools = [Self.weather, Self.add, Self.clock]
        let outcome = try walk(tools: tools, allowsSeveral: true, seed: seed)
        let calls = try parsedCalls(outcome.text)
        #expect(!calls.isEmpty)
        for call in calls {
            let tool = try #require(tools.first { $0.name == call.name }, "unknown tool \(call.name)")
            let schema = tool.function["parameters"] ?? ["type": "object", "properties": [:]]
            #expect(JSONSchemaValidator(schema: schema).firstViolation(call.arguments) == nil, "\(outcome.text)")
        }
    }

    @Test("the opening and closing markers are forced")
    func markers() throws {
        let vocabulary = try TestVocabulary.vocabulary()
        var constraint = try ToolCallConstraint(tools: [Self.clock], allowsSeveral: false, vocabulary: vocabulary)
        let opening = constraint.allowedTokens(remainingTokens: 100)
        #expect(opening.allowedIDs == [200_025])
        constraint.advance(200_025)
        for token in try TestVocabulary.tokenizer().encodeOrdinary(#"[{"name": "now", "arguments": {}}]"#) {
            #expect(!constraint.isBroken)
            constraint.advance(token)
        }
        #expect(constraint.allowedTokens(remainingTokens: 100).allowedIDs == [200_026])
        constraint.advance(200_026)
        #expect(constraint.isComplete)
    }

    func walk(tools: [ToolDefinition], allowsSeveral: Bool, seed: Int) throws -> RandomWalk.Outcome {
        let vocabulary = try TestVocabulary.vocabulary()
        var constraint = try ToolCallConstraint(tools: tools, allowsSeveral: allowsSeveral, vocabulary: vocabulary)
        var random = RandomWalk(seed: UInt64(seed))
        let budget = 100
        var outcome = RandomWalk.Outcome()
        var tokens: [Int] = []
        while tokens.count < budget && !constraint.isComplete {
            let allowed = constraint.allowedTokens(remainingTokens: budget - tokens.count).allowedIDs
            let sofar = try TestVocabulary.tokenizer().decode(tokens)
            try #require(!allowed.isEmpty, "nothing allowed after \(sofar)")
            let token = allowed[Int(random.random.next() % UInt64(allowed.count))]
            constraint.advance(token)
            tokens.append(token)
        }
        #expect(constraint.isComplete)
        #expect(!constraint.isBroken)
        outcome.tokens = tokens
        outcome.text = try TestVocabulary.tokenizer().decode(tokens)
        return outcome
    }

    /// The calls as the tool-call parser reads them; fails the test on a parse error.
    func parsedCalls(_ text: String) throws -> [ToolCall] {
        var calls: [ToolCall] = []
        for event in ToolCallParser.parse(text) {
            switch event {
            case let .toolCalls(list, _): calls += list
            case let .error(error): Issue.record("\(text): \(error)")
            case let .text(stray): #expect(stray.isEmpty, "text outside the call: \(stray)")
            }
        }
        return calls
    }
}
