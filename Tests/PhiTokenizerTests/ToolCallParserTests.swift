import Testing
@testable import PhiTokenizer

/// Merges adjacent text events, so tests do not depend on how text was chunked.
func coalesced(_ events: [ToolCallEvent]) -> [ToolCallEvent] {
    var result: [ToolCallEvent] = []
    for event in events {
        if case let .text(new) = event, case let .text(old)? = result.last {
            result[result.count - 1] = .text(old + new)
        } else {
            result.append(event)
        }
    }
    return result
}

/// Feeds `text` one character at a time: markers and JSON arrive split at every possible place.
func parseCharacterByCharacter(_ text: String, toolNames: [String]? = nil) -> [ToolCallEvent] {
    var parser = ToolCallParser(toolNames: toolNames)
    var events: [ToolCallEvent] = []
    for character in text { events += parser.feed(text: String(character)) }
    return coalesced(events + parser.finish())
}

@Suite("Tool-call parser")
struct ToolCallParserTests {
    static let weather = ToolCall(name: "get_weather", arguments: ["city": "Paris"])

    @Test("one call")
    func oneCall() {
        let text = #"<|tool_call|>[{"name": "get_weather", "arguments": {"city": "Paris"}}]<|/tool_call|>"#
        let expected: [ToolCallEvent] = [.toolCalls([Self.weather], raw: #"[{"name": "get_weather", "arguments": {"city": "Paris"}}]"#)]
        #expect(coalesced(ToolCallParser.parse(text)) == expected)
        #expect(parseCharacterByCharacter(text) == expected)
    }

    @Test("several calls in one list keep their order and argument key order")
    func severalCalls() throws {
        let text = #"<|tool_call|>[{"name": "a", "arguments": {"z": 1, "y": [true, null]}}, {"name": "b", "arguments": {}}]<|/tool_call|>"#
        let events = parseCharacterByCharacter(text)
        guard case let .toolCalls(calls, _) = try #require(events.first) else {
            Issue.record("expected calls, got \(events)")
            return
        }
        #expect(calls.map(\.name) == ["a", "b"])
        #expect(calls[0].argumentsJSON == #"{"z": 1, "y": [true, null]}"#)
        #expect(calls[1].arguments == .object([:]))
    }

    @Test("text before and after a call is streamed as text")
    func textAroundCall() {
        let text = #"Let me check. <|tool_call|>[{"name": "get_weather", "arguments": {"city": "Paris"}}]<|/tool_call|> Done."#
        let events = parseCharacterByCharacter(text)
        #expect(events.count == 3)
        #expect(events.first == .text("Let me check. "))
        #expect(events.last == .text(" Done."))
    }

    @Test("text is not held back longer than a marker could need")
    func textStreamsEarly() {
        var parser = ToolCallParser()
        #expect(parser.feed(text: "Hello world") == [.text("Hello world")])
        #expect(parser.feed(text: " <|tool") == [.text(" ")])
        #expect(parser.feed(text: "box|>") == [.text("<|toolbox|>")])
        #expect(parser.feed(text: "use functools.") == [.text("use functools.")])
    }

    @Test("functools[…] in plain text is a call list")
    func functools() {
        let text = #"functools[{"name": "get_weather", "arguments": {"city": "Paris"}}] and then"#
        let events = parseCharacterByCharacter(text)
        #expect(events == [.toolCalls([Self.weather], raw: #"[{"name": "get_weather", "arguments": {"city": "Paris"}}]"#),
                           .text(" and then")])
    }

    @Test("brackets inside strings do not end a functools list")
    func functoolsBracketsInStrings() {
        let events = parseCharacterByCharacter(#"functools[{"name": "f", "arguments": {"s": "a]}\"["}}]"#)
        #expect(events == [.toolCalls([ToolCall(name: "f", arguments: ["s": #"a]}"["#])],
                                      raw: #"[{"name": "f", "arguments": {"s": "a]}\"["}}]"#)])
    }

    @Test("broken JSON becomes an error naming the text and where parsing stopped")
    func brokenJSON() throws {
        let events = parseCharacterByCharacter(#"<|tool_call|>[{"name": "f", "arguments": {"a": }}]<|/tool_call|>"#)
        guard case let .error(.malformedJSON(text, reason))? = events.first else {
            Issue.record("expected malformedJSON, got \(events)")
            return
        }
        #expect(text == #"[{"name": "f", "arguments": {"a": }}]"#)
        #expect(reason.contains("byte 34"))
    }

    @Test("a call naming an unknown tool is an error listing the tools")
    func unknownTool() {
        let events = parseCharacterByCharacter(#"<|tool_call|>[{"name": "launch", "arguments": {}}]<|/tool_call|>"#,
                                               toolNames: ["get_weather", "search"])
        #expect(events == [.error(.unknownTool(name: "launch", available: ["get_weather", "search"]))])
        if case let .error(error)? = events.first {
            #expect(error.description.contains("launch") && error.description.contains("get_weather"))
        }
    }

    @Test("a known tool passes the tool list")
    func knownTool() {
        let events = parseCharacterByCharacter(#"<|tool_call|>[{"name": "search", "arguments": {}}]<|/tool_call|>"#,
                                               toolNames: ["get_weather", "search"])
        #expect(events == [.toolCalls([ToolCall(name: "search")], raw: #"[{"name": "search", "arguments": {}}]"#)])
    }

    @Test("structural errors: not a list, missing name, bad arguments, unterminated")
    func structuralErrors() {
        let object = #"{"name": "f", "arguments": {}}"#
        #expect(ToolCallParser.parse("<|tool_call|>\(object)<|/tool_call|>") == [.error(.notAList(text: object, found: "object"))])
        #expect(ToolCallParser.parse(#"<|tool_call|>[{"arguments": {}}]<|/tool_call|>"#)
            == [.error(.missingName(text: #"[{"arguments": {}}]"#, index: 0))])
        #expect(ToolCallParser.parse(#"<|tool_call|>[{"name": "f", "arguments": 3}]<|/tool_call|>"#)
            == [.error(.invalidArguments(text: #"[{"name": "f", "arguments": 3}]"#, index: 0, reason: "they are a JSON number"))])
        #expect(ToolCallParser.parse(#"<|tool_call|>[{"name": "f", "#)
            == [.error(.unterminated(text: #"[{"name": "f","#))])
        #expect(ToolCallParser.parse(#"functools[{"name": "f""#) == [.error(.unterminated(text: #"functools[{"name": "f""#))])
    }

    @Test("arguments given as a JSON string are parsed")
    func stringArguments() {
        let events = ToolCallParser.parse(#"<|tool_call|>[{"name": "f", "arguments": "{\"x\": 2}"}]<|/tool_call|>"#)
        guard case let .toolCalls(calls, _)? = events.first else {
            Issue.record("expected calls, got \(events)")
            return
        }
        #expect(calls == [ToolCall(name: "f", arguments: ["x": 2])])
    }

    @Test("an output ending inside a complete but unclosed call still yields it")
    func unclosedCompleteCall() {
        #expect(ToolCallParser.parse(#"<|tool_call|>[{"name": "f", "arguments": {}}]"#)
            == [.toolCalls([ToolCall(name: "f")], raw: #"[{"name": "f", "arguments": {}}]"#)])
    }

    @Test("fed token by token, ids 200025/200026 delimit the call and special tokens add no text")
    func tokenStream() throws {
        let tokenizer = try TestTokenizers.phi4()
        let output = #"Sure. <|tool_call|>[{"name": "get_weather", "arguments": {"city": "Paris"}}]<|/tool_call|><|end|>"#
        let ids = tokenizer.encode(output)
        #expect(ids.contains(200025) && ids.contains(200026))
        var parser = ToolCallParser(tokenizer: tokenizer, toolNames: ["get_weather"])
        var events: [ToolCallEvent] = []
        for id in ids { events += try parser.feed(id) }
        events += parser.finish()
        #expect(coalesced(events) == [.text("Sure. "),
                                      .toolCalls([Self.weather], raw: #"[{"name": "get_weather", "arguments": {"city": "Paris"}}]"#)])
    }

    @Test("an id outside the vocabulary is an error naming it")
    func badID() throws {
        var parser = ToolCallParser(tokenizer: try TestTokenizers.phi4())
        let error = try #require(throws: TokenizerError.self) { try parser.feed(300_000) }
        #expect(error.description.contains("300000"))
    }
}
