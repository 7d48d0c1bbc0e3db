import Foundation
@testable import PhiGeneration
import PhiTestSupport
import PhiTokenizer
import Testing

/// Each JSON Schema keyword is enforced (the recognizer agrees with Python's `jsonschema`) or
/// refused by name and pointer.
@Suite("JSON Schema keywords: enforced against the reference validator, or refused")
struct SchemaKeywordTests {
    /// Patterns and strings: the recognizer must accept exactly what `jsonschema` accepts.
    static let patternCases: [(String, [String])] = [
        (#"^[A-Z]{3}-[0-9]{2}$"#, ["ABC-12", "AB-12", "ABC-123", "abc-12", "ABC-1a", ""]),
        (#"^\d{3}(-\d{4})?$"#, ["123", "123-4567", "123-", "12a", "1234567"]),
        (#"^[^aeiou\s]+$"#, ["xyz", "bca", "x y", "ñ", ""]),
        (#"^\w+@\w+\.com$"#, ["a@b.com", "a_1@x2.com", "a@b.org", "@b.com", "a@b!com"]),
        (#"colou?r"#, ["color", "my colour!", "colr", "xcolorx", "COLOR"]),
        (#"^(foo|bar)+$"#, ["foobar", "foo", "fo", "barfoox", "barbarfoo"]),
        (#"^.{2,4}$"#, ["ab", "abcd", "a", "abcde", "a\nb", "日本語"]),
        (#"^[a-f0-9]{8}-[a-f0-9]{4}-4[a-f0-9]{3}-[89ab][a-f0-9]{3}-[a-f0-9]{12}$"#,
         ["123e4567-e89b-42d3-a456-426614174000", "123e4567-e89b-12d3-a456-426614174000", "12345678"]),
        (#"^\S+$"#, ["abc", "a b", "", "a\tb"]),
        (#"^[\w.-]+$"#, ["a.b-c_d", "a b", "a/b"]),
        (#"^a{2,}b*$"#, ["aa", "aaab", "ab", "aabbbc"]),
        (#"^(?:\+\d{1,3})? ?\d{6,10}$"#, ["+33 612345678", "612345", "+1234 123456", "12345"]),
        (#"^$"#, ["", "a"]),
        (#"^[^"\\]*$"#, ["plain", #"he said "hi""#, #"back\slash"#]),
        (#"^a\tb$"#, ["a\tb", "a b", "a\\tb"]),
        (#"^[a-z]+(?:_[a-z]+)*\.json$|^README$"#, ["a_b.json", "README", "a__b.json", "READMEx"]),
        (#"^\x41\u0042[\x30-\x39]$"#, ["AB5", "AB", "ab5"]),
    ]

    @Test("pattern: the recognizer accepts exactly the strings jsonschema accepts")
    func patternsMatchReference() throws {
        var cases: [(schema: JSONValue, text: String)] = []
        var graphs: [SchemaGraph] = []
        for (pattern, strings) in Self.patternCases {
            let schema: JSONValue = ["type": "string", "pattern": .string(pattern)]
            let graph = try SchemaGraph(schema: schema)
            for string in strings {
                cases.append((schema, JSONValue.string(string).serialized()))
                graphs.append(graph)
            }
        }
        let reference = try ReferenceValidator.accepts(cases)
        for (index, (schema, text)) in cases.enumerated() {
            #expect(recognizerAccepts(graphs[index], text) == reference[index],
                    "\(text) for \(schema.serialized()): jsonschema says \(reference[index])")
        }
    }

    /// Schemas for each enforced keyword; random walks must write only values jsonschema accepts,
    /// and hand-written candidates (valid and not) are accepted only when jsonschema accepts them.
    static let keywordSchemas: [(String, JSONValue, [String])] = [
        ("pattern in a tool-like object", ["type": "object", "properties": [
            "code": ["type": "string", "pattern": "^[A-Z]{3}-[0-9]{2}$"],
            "id": ["type": "string", "pattern": "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"],
        ], "required": ["code", "id"]], [#"{"code": "ABC-12", "id": "12345678"}"#, #"{"code": "AB-12", "id": "00000000-0000-0000-0000-000000000000"}"#]),
        ("formats", ["type": "object", "properties": [
            "when": ["type": "string", "format": "date-time"], "day": ["format": "date"], "at": ["type": "string", "format": "time"],
            "id": ["type": "string", "format": "uuid"], "ip": ["format": "ipv4"], "ip6": ["type": "string", "format": "ipv6"],
            "mail": ["type": "string", "format": "email"], "host": ["type": "string", "format": "hostname"],
            "took": ["type": "string", "format": "duration"], "link": ["type": "string", "format": "uri"],
            "size": ["type": "integer", "format": "int32"],
        ], "required": ["when", "day", "at", "id", "ip", "ip6", "mail", "host", "took", "link"]],
         [#"{"when": "2024-02-30T10:00:00Z", "day": "2024-01-01", "at": "10:00:00Z", "id": "x", "ip": "1.2.3.4", "ip6": "::1", "mail": "a@b", "host": "h", "took": "P1D", "link": "a:b"}"#]),
        ("patternProperties on a map", ["type": "object", "patternProperties": ["^x-[a-z]+$": ["type": "integer"]], "additionalProperties": false],
         [#"{"x-a": 1}"#, #"{"y": 1}"#, #"{"x-a": "s"}"#, #"{}"#]),
        ("patternProperties beside properties", ["type": "object", "properties": ["x-a": ["type": "integer"], "b": ["type": "string", "maxLength": 3]],
                                                 "patternProperties": ["^x-": ["minimum": 5]], "required": ["x-a"]],
         [#"{"x-a": 3}"#, #"{"x-a": 7}"#, #"{"x-a": 7, "b": "abc"}"#]),
        ("propertyNames", ["type": "object", "propertyNames": ["pattern": "^[a-z]{1,5}$"], "additionalProperties": ["type": "boolean"]],
         [#"{"abc": true}"#, #"{"ABC": true}"#, #"{"abcdef": false}"#]),
        ("additionalProperties with a schema", ["type": "object", "additionalProperties": ["type": "string", "maxLength": 3]],
         [#"{"a": "abc"}"#, #"{"a": "abcd"}"#, #"{"a": 1}"#]),
        ("minProperties and maxProperties", ["type": "object", "properties": ["a": ["type": "integer"], "b": ["type": "integer"], "c": ["type": "integer"]],
                                             "minProperties": 2, "maxProperties": 2],
         [#"{"a": 1, "b": 2}"#, #"{"a": 1}"#, #"{"a": 1, "b": 2, "c": 3}"#]),
        ("dependentRequired", ["type": "object", "properties": ["card": ["type": "string", "maxLength": 4], "billing": ["type": "string", "maxLength": 4]],
                               "dependentRequired": ["card": ["billing"]]],
         [#"{"card": "1"}"#, #"{"card": "1", "billing": "x"}"#, #"{}"#]),
        ("draft-07 dependencies", ["$schema": "http://json-schema.org/draft-07/schema#", "type": "object",
                                   "properties": ["a": ["type": "integer"], "b": ["type": "integer"]], "required": ["a"],
                                   "dependencies": ["a": ["properties": ["c": ["type": "boolean"]], "required": ["c"]], "b": ["a"]]],
         [#"{"a": 1}"#, #"{"a": 1, "c": true}"#, #"{"a": 1, "b": 2, "c": false}"#]),
        ("dependentSchemas on an optional trigger", ["type": "object", "properties": ["a": ["type": "integer"], "b": ["type": "integer"]],
                                                     "dependentSchemas": ["a": ["required": ["z"]]]],
         [#"{"a": 1}"#, #"{"b": 1}"#]),
        ("multipleOf", ["type": "integer", "minimum": 0, "maximum": 100, "multipleOf": 7], ["14", "15", "0", "105"]),
        ("uniqueItems", ["type": "array", "items": ["enum": [1, 2, 3]], "uniqueItems": true], ["[1]", "[1, 1]", "[]"]),
        ("allOf of object schemas", ["allOf": [
            ["type": "object", "properties": ["a": ["type": "string", "maxLength": 3]], "required": ["a"]],
            ["properties": ["b": ["type": "integer"]], "required": ["b"]],
            ["properties": ["a": ["pattern": "^x"]]],
        ]], [#"{"a": "xy", "b": 1}"#, #"{"a": "yy", "b": 1}"#, #"{"a": "xy"}"#]),
        ("oneOf with a discriminator beside properties", ["type": "object", "properties": ["kind": ["enum": ["a", "b"]]], "required": ["kind"],
                                                          "oneOf": [
                                                              ["properties": ["kind": ["const": "a"], "x": ["type": "integer"]], "required": ["x"]],
                                                              ["properties": ["kind": ["const": "b"], "y": ["type": "string", "format": "date"]], "required": ["y"]],
                                                          ]],
         [#"{"kind": "a", "x": 1}"#, #"{"kind": "b", "x": 1}"#, #"{"kind": "b", "y": "2020-01-01"}"#]),
        ("anyOf nested in oneOf in allOf", ["allOf": [["oneOf": [["type": "string", "maxLength": 2], ["type": "array", "maxItems": 2, "items": [
            "anyOf": [["type": "integer", "minimum": 0, "maximum": 3], ["type": "null"]]]]]]]],
         [#""ab""#, #"[1, null]"#, #"[7]"#, #""abc""#]),
        ("$ref with siblings, recursive", ["$defs": ["n": ["type": "object", "properties": ["v": ["type": "integer"], "next": ["$ref": "#/$defs/n"]],
                                                           "required": ["v"]]], "$ref": "#/$defs/n", "maxProperties": 1],
         [#"{"v": 1}"#, #"{"v": 1, "next": {"v": 2}}"#]),
        ("unevaluatedProperties", ["type": "object", "properties": ["a": ["type": "integer"]], "unevaluatedProperties": false],
         [#"{"a": 1}"#, #"{"b": 1}"#]),
        ("enum beside a pattern", ["enum": ["abc", "ABC", 3], "pattern": "^[a-z]+$"], [#""abc""#, #""ABC""#, "3"]),
    ]

    @Test("each enforced keyword: random walks and candidates agree with jsonschema", arguments: 0..<keywordSchemas.count)
    func keywordsMatchReference(_ index: Int) throws {
        let (name, schema, candidates) = Self.keywordSchemas[index]
        let vocabulary = try TestVocabulary.vocabulary()
        let graph = try SchemaGraph(schema: schema)
        var texts: [String] = []
        for seed in 0..<6 {
            var constraint = JSONConstraint(graph: graph, vocabulary: vocabulary, stopTokenIDs: TestVocabulary.stopIDs)
            var walk = RandomWalk(seed: UInt64(seed))
            let outcome = walk.run(&constraint, budget: 160, vocabulary: vocabulary, stopIDs: TestVocabulary.stopIDs)
            #expect(outcome.emptyMasks == 0, "\(name) seed \(seed): no token allowed after \(outcome.text)")
            #expect(outcome.isComplete || outcome.endedWithStop, "\(name) seed \(seed): unfinished \(outcome.text)")
            texts.append(outcome.text)
        }
        let walkAnswers = try ReferenceValidator.accepts(texts.map { (schema, $0) })
        for (text, isValid) in zip(texts, walkAnswers) {
            #expect(isValid, "\(name): generated \(text), which jsonschema refuses")
        }
        let answers = try ReferenceValidator.accepts(candidates.map { (schema, $0) })
        for (text, isValid) in zip(candidates, answers) where recognizerAccepts(graph, text) {
            #expect(isValid, "\(name): the recognizer accepts \(text), which jsonschema refuses")
        }
    }

    @Test("format: canonical valid strings are accepted, invalid ones refused", arguments: [
        ("date-time", "2024-05-06T07:08:09Z", true), ("date-time", "2024-05-06T07:08:09.123+02:00", true),
        ("date-time", "2024-05-06 07:08:09", false), ("date-time", "2024-02-30T00:00:00Z", false),
        ("date", "2024-12-31", true), ("date", "2024-13-01", false), ("time", "23:59:59Z", true), ("time", "24:00:00Z", false),
        ("duration", "P1Y2M3DT4H5M6S", true), ("duration", "PT5M", true), ("duration", "P", false), ("duration", "P1Y1D", false),
        ("uuid", "123e4567-e89b-12d3-a456-426614174000", true), ("uuid", "123e4567e89b12d3a456426614174000", false),
        ("email", "first.last+tag@example.com", true), ("email", "no-at-sign", false),
        ("hostname", "api.example-1.com", true), ("hostname", "-bad.com", false),
        ("ipv4", "192.168.0.255", true), ("ipv4", "256.1.1.1", false), ("ipv4", "01.2.3.4", false),
        ("ipv6", "2001:db8:0:0:0:0:2:1", true), ("ipv6", "2001:db8::g", false),
        ("uri", "https://example.com:8080/a/b?c=d#e", true), ("uri", "urn:isbn:0451450523", true), ("uri", "no scheme", false),
    ])
    func formats(_ format: String, _ string: String, _ isValid: Bool) throws {
        let graph = try SchemaGraph(schema: ["type": "string", "format": .string(format)])
        #expect(recognizerAccepts(graph, JSONValue.string(string).serialized()) == isValid, "\(format): \(string)")
    }

    @Test("every refusal names the keyword and its JSON pointer", arguments: [
        (["type": "object", "properties": ["id": ["not": ["type": "string"]]]] as JSONValue,
         "schema #/properties/id: keyword 'not' is not supported"),
        (["if": ["type": "string"], "then": ["minLength": 2]], "schema #: keyword 'if' with then/else is not supported"),
        (["type": "string", "pattern": #"(a)\1"#], "schema #: keyword 'pattern' with a backreference is not supported"),
        (["type": "string", "pattern": "^(?=a)b"], "schema #: keyword 'pattern' with lookaround is not supported"),
        (["type": "string", "pattern": #"\bword"#], "schema #: keyword 'pattern' with a word boundary '\\b' is not supported"),
        (["type": "array", "items": ["type": "string", "format": "uri-template"]],
         "schema #/items: keyword 'format' 'uri-template' is not supported"),
        (["type": "array", "prefixItems": [["type": "string"]]], "schema #: keyword 'prefixItems' is not supported"),
        (["type": "array", "contains": ["type": "string"]], "schema #: keyword 'contains' is not supported"),
        (["type": "array", "items": ["type": "integer"], "uniqueItems": true, "minItems": 2],
         "schema #: keyword 'uniqueItems' with minItems above 1 is not supported"),
        (["type": "number", "multipleOf": 0.5], "schema #: keyword 'multipleOf' 0.5 (only integer steps) is not supported"),
        (["type": "integer", "multipleOf": 3], "schema #: keyword 'multipleOf' over more than 1024 multiples is not supported"),
        (["oneOf": [["type": "integer"], ["type": "number"]]],
         "schema #: keyword 'oneOf' whose alternatives 0 and 1 may both match one value is not supported"),
        (["type": "object", "dependentRequired": ["a": ["b"]]],
         "schema #: keyword 'dependentRequired' on an object without properties is not supported"),
        (["$dynamicRef": "#meta"], "schema #: keyword '$dynamicRef' is not supported"),
        (["$ref": "https://example.com/schema.json"],
         "schema #: keyword '$ref' 'https://example.com/schema.json' points outside the schema is not supported"),
        (["type": "object", "properties": ["a": ["type": "string", "pattern": "^a$", "format": "date"]]],
         "schema #/properties/a: keyword 'format' beside pattern is not supported"),
    ] as [(JSONValue, String)])
    func refusals(_ schema: JSONValue, _ message: String) {
        let error = #expect(throws: SchemaError.self) { try SchemaGraph(schema: schema) }
        #expect(error?.description == message)
    }

    @Test("annotations and vendor extensions are accepted and ignored")
    func annotationsAccepted() throws {
        let schema: JSONValue = [
            "$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "https://example.com/s", "$comment": "c",
            "title": "t", "description": "d", "examples": [["a": "x"]], "default": ["a": "x"], "deprecated": false,
            "x-vendor": ["anything": true], "discriminator": ["propertyName": "a"],
            "type": "object", "properties": ["a": ["type": "string", "readOnly": true, "writeOnly": false,
                                                  "contentMediaType": "text/plain", "contentEncoding": "base64",
                                                  "format": "int64-or-whatever"]],
            "required": ["a"], "$defs": ["unused": ["not": ["type": "null"]]],
        ]
        let graph = try SchemaGraph(schema: schema)
        #expect(recognizerAccepts(graph, #"{"a": "x"}"#))
    }

    @Test("a forced tool call whose argument has a pattern writes a matching argument", arguments: 0..<4)
    func toolCallPattern(_ seed: Int) throws {
        let vocabulary = try TestVocabulary.vocabulary()
        let tool = ToolDefinition(name: "book", parameters: [
            "type": "object", "properties": ["flight": ["type": "string", "pattern": "^[A-Z]{3}-[0-9]{2}$"]], "required": ["flight"],
        ])
        var constraint = try ToolCallConstraint(tools: [tool], allowsSeveral: false, vocabulary: vocabulary)
        var walk = RandomWalk(seed: UInt64(seed))
        let outcome = walk.run(&constraint, budget: 80, vocabulary: vocabulary, stopIDs: [], stopAtStop: false)
        #expect(constraint.isComplete, "\(outcome.text)")
        let flight = try #require(outcome.text.firstMatch(of: /"flight": ?"([^"]*)"/)?.1, "\(outcome.text)")
        #expect(flight.wholeMatch(of: /[A-Z]{3}-[0-9]{2}/) != nil, "\(outcome.text)")
    }

    @Test("tool parameters are refused by keyword and pointer too")
    func toolParametersRefused() throws {
        let vocabulary = try TestVocabulary.vocabulary()
        let tool = ToolDefinition(name: "f", parameters: ["type": "object", "properties": ["x": ["not": ["type": "null"]]]])
        let error = #expect(throws: ToolConstraintError.self) {
            try ToolCallConstraint(tools: [tool], allowsSeveral: false, vocabulary: vocabulary)
        }
        #expect(error?.description == "the parameters of tool 'f': schema #/properties/x: keyword 'not' is not supported")
    }

    @Test("inside a pattern string the mask equals trying every token", arguments: [#"^[a-z]+(-[a-z]+)*$"#, "^ab", #"^\d{2,3}$"#])
    func patternMaskMatchesBruteForce(_ pattern: String) throws {
        let vocabulary = try TestVocabulary.vocabulary()
        let graph = try SchemaGraph(schema: ["type": "object", "properties": ["p": ["type": "string", "pattern": .string(pattern)]],
                                             "required": ["p"]])
        var constraint = JSONConstraint(graph: graph, vocabulary: vocabulary, stopTokenIDs: TestVocabulary.stopIDs)
        for token in try TestVocabulary.tokenizer().encodeOrdinary(#"{"p": ""#) { constraint.advance(token) }
        for step in 0..<2 {
            let mask = constraint.allowedTokens(remainingTokens: 1000)
            let expected = TestVocabulary.bruteForceMask(constraint, vocabulary: vocabulary)
            #expect(mask == expected, "\(pattern) step \(step): \(mask.allowedCount) allowed, brute force \(expected.allowedCount)")
            guard let next = mask.allowedIDs.first(where: { vocabulary.tokenBytes($0).count > 1 }) ?? mask.allowedIDs.first else { break }
            constraint.advance(next)
        }
    }
}
