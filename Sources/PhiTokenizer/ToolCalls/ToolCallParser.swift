/// Finds tool calls in a model's output as it is generated.
///
/// Phi-4-mini writes calls as `<|tool_call|>[{"name": …, "arguments": {…}}, …]<|/tool_call|>`
/// (ids 200025 and 200026); older Phi function-calling prompts use `functools[{…}]` in plain text.
/// Text outside calls is passed on as soon as it cannot be the start of a marker; a call is
/// emitted whole once its list is closed, or as a `ToolCallError` the caller can show the model.
public struct ToolCallParser: Sendable {
    static let callStart = Array("<|tool_call|>".utf8)
    static let callEnd = Array("<|/tool_call|>".utf8)
    static let functoolsStart = Array("functools[".utf8)
    private static let markers = [callStart, functoolsStart, callEnd]

    /// When set, a call naming any other function is an `unknownTool` error.
    public let toolNames: [String]?
    private var detokenizer: StreamingDetokenizer?

    private enum State: Sendable {
        case text
        /// Inside `<|tool_call|>…`, waiting for `<|/tool_call|>`.
        case tagged
        /// Inside `functools[…`: JSON nesting depth and string state, to find the closing `]`.
        case functools(depth: Int, isInString: Bool, isEscaped: Bool)
    }

    private var state = State.text
    /// Text held back because it may begin a marker, or the text of the call being read.
    private var buffer: [UInt8] = []

    /// A parser fed with text (`feed(text:)`).
    public init(toolNames: [String]? = nil) {
        self.toolNames = toolNames
    }

    /// A parser fed with token ids (`feed(_:)`), decoded with `tokenizer`; special tokens such as
    /// `<|end|>` produce no text.
    public init(tokenizer: Tokenizer, toolNames: [String]? = nil) {
        self.toolNames = toolNames
        self.detokenizer = StreamingDetokenizer(tokenizer: tokenizer, skipSpecialTokens: true)
    }

    /// Parses a complete output at once.
    public static func parse(_ text: String, toolNames: [String]? = nil) -> [ToolCallEvent] {
        var parser = ToolCallParser(toolNames: toolNames)
        return parser.feed(text: text) + parser.finish()
    }

    /// Adds one generated token.
    /// - Throws: `TokenizerError.idOutOfRange` for an id outside the vocabulary, or for any id
    ///   when the parser was made without a tokenizer.
    public mutating func feed(_ id: Int) throws(TokenizerError) -> [ToolCallEvent] {
        guard var detokenizer else { throw .idOutOfRange(id: id, vocabularySize: 0) }
        let text = try detokenizer.feed(id)
        self.detokenizer = detokenizer
        return feed(text: text)
    }

    /// Adds generated text.
    public mutating func feed(text: String) -> [ToolCallEvent] {
        var events: [ToolCallEvent] = []
        process(Array(text.utf8)[...], into: &events)
        return events
    }

    /// Ends the output: flushes held text; a call still open is parsed if its list is complete
    /// (the model may stop at `<|end|>` without closing it), else reported as unterminated.
    public mutating func finish() -> [ToolCallEvent] {
        var events: [ToolCallEvent] = []
        if var detokenizer {
            let tail = detokenizer.finish()
            self.detokenizer = detokenizer
            process(Array(tail.utf8)[...], into: &events)
        }
        switch state {
        case .text:
            emitText(buffer[...], into: &events)
        case .tagged:
            let event = Self.parseCalls(buffer[...], toolNames: toolNames)
            if case .error = event {
                events.append(.error(.unterminated(text: Self.trimmedText(buffer[...]))))
            } else {
                events.append(event)
            }
        case .functools:
            events.append(.error(.unterminated(text: "functools" + String(decoding: buffer, as: UTF8.self))))
        }
        buffer.removeAll()
        state = .text
        return events
    }

    private mutating func process(_ input: ArraySlice<UInt8>, into events: inout [ToolCallEvent]) {
        var input = input
        while !input.isEmpty {
            switch state {
            case .text:
                buffer.append(contentsOf: input)
                input = []
                if let (position, marker) = Self.firstMarker(in: buffer) {
                    emitText(buffer[..<position], into: &events)
                    input = buffer[(position + marker.count)...]
                    buffer = []
                    if marker == Self.callStart {
                        state = .tagged
                    } else if marker == Self.functoolsStart {
                        buffer = [UInt8(ascii: "[")]
                        state = .functools(depth: 1, isInString: false, isEscaped: false)
                    }  // a stray `<|/tool_call|>` is dropped
                } else {
                    let held = Self.markerPrefixLength(atEndOf: buffer)
                    emitText(buffer[..<(buffer.count - held)], into: &events)
                    buffer.removeFirst(buffer.count - held)
                }
            case .tagged:
                let searchFrom = max(0, buffer.count - Self.callEnd.count + 1)
                buffer.append(contentsOf: input)
                input = []
                if let position = Self.find(Self.callEnd, in: buffer, from: searchFrom) {
                    events.append(Self.parseCalls(buffer[..<position], toolNames: toolNames))
                    input = buffer[(position + Self.callEnd.count)...]
                    buffer = []
                    state = .text
                }
            case .functools(var depth, var isInString, var isEscaped):
                var consumed = input.startIndex
                while consumed < input.endIndex && depth > 0 {
                    let byte = input[consumed]
                    buffer.append(byte)
                    consumed += 1
                    if isInString {
                        if isEscaped { isEscaped = false }
                        else if byte == UInt8(ascii: "\\") { isEscaped = true }
                        else if byte == UInt8(ascii: "\"") { isInString = false }
                    } else if byte == UInt8(ascii: "\"") {
                        isInString = true
                    } else if byte == UInt8(ascii: "[") || byte == UInt8(ascii: "{") {
                        depth += 1
                    } else if byte == UInt8(ascii: "]") || byte == UInt8(ascii: "}") {
                        depth -= 1
                    }
                }
                input = input[consumed...]
                if depth == 0 {
                    events.append(Self.parseCalls(buffer[...], toolNames: toolNames))
                    buffer = []
                    state = .text
                } else {
                    state = .functools(depth: depth, isInString: isInString, isEscaped: isEscaped)
                }
            }
        }
    }

    private func emitText(_ bytes: ArraySlice<UInt8>, into events: inout [ToolCallEvent]) {
        guard !bytes.isEmpty else { return }
        events.append(.text(String(decoding: bytes, as: UTF8.self)))
    }

    /// The earliest marker in `bytes` and where it starts.
    private static func firstMarker(in bytes: [UInt8]) -> (Int, [UInt8])? {
        var best: (Int, [UInt8])?
        for marker in markers {
            if let position = find(marker, in: bytes, from: 0), position < (best?.0 ?? Int.max) {
                best = (position, marker)
            }
        }
        return best
    }

    /// How many trailing bytes could be the beginning of a marker (and so must wait).
    private static func markerPrefixLength(atEndOf bytes: [UInt8]) -> Int {
        var longest = 0
        for marker in markers {
            var length = min(marker.count - 1, bytes.count)
            while length > longest {
                if bytes[(bytes.count - length)...].elementsEqual(marker[..<length]) {
                    longest = length
                    break
                }
                length -= 1
            }
        }
        return longest
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        var i = start
        while i + needle.count <= haystack.count {
            if haystack[i] == needle[0] && haystack[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }

    private static func trimmedText(_ bytes: ArraySlice<UInt8>) -> String {
        String(decoding: bytes, as: UTF8.self).trimmingWhitespace()
    }

    /// The calls in a JSON list, or the first reason they cannot be used.
    static func parseCalls(_ bytes: ArraySlice<UInt8>, toolNames: [String]?) -> ToolCallEvent {
        let text = trimmedText(bytes)
        let value: JSONValue
        do {
            value = try JSONValue.parse(text)
        } catch {
            return .error(.malformedJSON(text: text, reason: error.description))
        }
        guard let list = value.arrayValue else { return .error(.notAList(text: text, found: value.typeName)) }
        var calls: [ToolCall] = []
        for (index, element) in list.enumerated() {
            guard let name = element["name"]?.stringValue, !name.isEmpty else {
                return .error(.missingName(text: text, index: index))
            }
            var arguments: JSONValue = .object([:])
            switch element["arguments"] {
            case nil, .null?:
                break
            case let .object(object)?:
                arguments = .object(object)
            case let .string(string)?:
                // Some outputs carry the arguments as a JSON string, OpenAI-style.
                guard let parsed = try? JSONValue.parse(string), parsed.objectValue != nil else {
                    return .error(.invalidArguments(text: text, index: index, reason: "the string is not a JSON object"))
                }
                arguments = parsed
            case let other?:
                return .error(.invalidArguments(text: text, index: index, reason: "they are a JSON \(other.typeName)"))
            }
            if let toolNames, !toolNames.contains(name) {
                return .error(.unknownTool(name: name, available: toolNames))
            }
            calls.append(ToolCall(name: name, arguments: arguments))
        }
        return .toolCalls(calls, raw: text)
    }
}

extension String {
    /// The string without leading and trailing Unicode whitespace.
    func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        return String(scalars[first...last])
    }
}
