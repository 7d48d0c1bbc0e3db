import Testing
@testable import PhiTokenizer

@Suite("JSONValue parses strictly and serializes like Python's json.dumps(ensure_ascii=False)")
struct JSONValueTests {
    @Test("objects keep their key order through a round trip")
    func keyOrder() throws {
        let text = #"{"zeta": 1, "alpha": {"y": [1, 2.5, "x"], "b": null}, "mid": true}"#
        let value = try JSONValue.parse(text)
        #expect(value.objectValue?.keys == ["zeta", "alpha", "mid"])
        #expect(value.serialized() == text)
        #expect(value.serialized(.compact) == #"{"zeta":1,"alpha":{"y":[1,2.5,"x"],"b":null},"mid":true}"#)
    }

    @Test("a repeated key keeps its first place and its last value, as json.loads does")
    func duplicateKeys() throws {
        #expect(try JSONValue.parse(#"{"a": 1, "b": 2, "a": 3}"#).serialized() == #"{"a": 3, "b": 2}"#)
    }

    /// Python's `json.dumps(x)` for each float (`repr`): positional for 1e-4 <= |x| < 1e16.
    @Test("floats print as Python's repr", arguments: [
        (1.0, "1.0"), (0.5, "0.5"), (-2.25, "-2.25"), (1e16, "1e+16"), (1e15, "1000000000000000.0"),
        (0.0001, "0.0001"), (0.00001, "1e-05"), (123456789.125, "123456789.125"), (1.5e-7, "1.5e-07"),
        (-0.0, "-0.0"), (0.1, "0.1"), (2.5e100, "2.5e+100"), (1.7976931348623157e308, "1.7976931348623157e+308"),
        (100.0, "100.0"), (1e-4 * 3, "0.00030000000000000003"),
    ])
    func floats(_ value: Double, _ expected: String) {
        #expect(JSONValue.double(value).serialized() == expected)
    }

    @Test("integers and fractions stay apart")
    func numbers() throws {
        #expect(try JSONValue.parse("[1, 1.0, -0, 1e2, -7, 9223372036854775807]").serialized()
            == "[1, 1.0, 0, 100.0, -7, 9223372036854775807]")
    }

    @Test("strings escape like Python with ensure_ascii=False")
    func strings() throws {
        let value = JSONValue.string("quote \" backslash \\ newline \n tab \t cr \r bell \u{07} esc \u{1B} del \u{7F} é 搜索 👍")
        #expect(value.serialized() == #""quote \" backslash \\ newline \n tab \t cr \r bell \u0007 esc \u001b del "# + "\u{7F} é 搜索 👍\"")
    }

    @Test("escapes and surrogate pairs parse")
    func escapes() throws {
        let value = try JSONValue.parse(#""a\u00e9\ud83d\udc4d\/\b\f\n\r\t\"\\""#)
        #expect(value == .string("aé👍/\u{08}\u{0C}\n\r\t\"\\"))
        #expect(try JSONValue.parse(#""\ud800x""#) == .string("\u{FFFD}x"))
    }

    @Test("malformed JSON is reported with the byte offset", arguments: [
        (#"{"a": 1,}"#, 8), (#"[1 2]"#, 3), (#"{"a" 1}"#, 5), (#""abc"#, 4), ("tru", 3), ("[01]", 1), ("1.", 0),
        (#"{"a": 1} x"#, 9), ("\"a\nb\"", 2), (#""\x""#, 1), ("", 0),
    ])
    func malformed(_ text: String, _ offset: Int) throws {
        let error = try #require(throws: JSONError.self) { try JSONValue.parse(text) }
        #expect(error.offset == offset, "\(error)")
        #expect(error.description.contains("\(offset)"))
    }

    @Test("nesting deeper than the limit is refused, not a stack overflow")
    func deepNesting() throws {
        let text = String(repeating: "[", count: 100_000)
        let error = try #require(throws: JSONError.self) { try JSONValue.parse(text) }
        #expect(error == .tooDeep(offset: JSONScanner.depthLimit, limit: JSONScanner.depthLimit))
    }

    @Test("accessors answer for the right types only")
    func accessors() throws {
        let value = try JSONValue.parse(#"{"s": "x", "i": 3, "d": 2.0, "b": false, "a": [], "n": null}"#)
        #expect(value["s"]?.stringValue == "x" && value["i"]?.intValue == 3 && value["d"]?.intValue == 2)
        #expect(value["b"]?.boolValue == false && value["a"]?.arrayValue == [] && value["n"]?.isNull == true)
        #expect(value["s"]?.intValue == nil && value["missing"] == nil && value["i"]?["x"] == nil)
    }
}
