import Foundation
import PhiGeneration
import PhiTestSupport
import PhiTokenizer
import Testing

@Suite("JSON-schema constraint over Phi-4-mini's vocabulary")
struct ConstraintTests {
    static let schemas: [(String, JSONValue)] = [
        ("weather call", ["type": "object", "properties": [
            "city": ["type": "string", "description": "City name"],
            "unit": ["type": "string", "enum": ["celsius", "fahrenheit"]],
            "days": ["type": "integer", "minimum": 1, "maximum": 14],
        ], "required": ["city", "unit"]]),
        ("nested", ["type": "object", "properties": [
            "items": ["type": "array", "items": ["type": "object", "properties": [
                "id": ["type": "integer"], "price": ["type": "number", "minimum": 0], "ok": ["type": "boolean"],
            ], "required": ["id", "price"], "additionalProperties": false], "minItems": 1, "maxItems": 3],
            "note": ["type": ["string", "null"], "maxLength": 20],
        ], "required": ["items"]]),
        ("any object", ["type": "object"]),
        ("recursive", ["$defs": ["node": ["type": "object", "properties": [
            "name": ["type": "string", "maxLength": 8],
            "children": ["type": "array", "items": ["$ref": "#/$defs/node"], "maxItems": 2],
        ], "required": ["name"]]], "$ref": "#/$defs/node"]),
        ("anyOf at the top", ["anyOf": [["type": "integer"], ["type": "string", "enum": ["a", "b"]], ["type": "null"]]]),
    ]

    @Test("random walks over fixed schemas end in valid JSON", arguments: 0..<schemas.count)
    func fixedSchemas(_ index: Int) throws {
        let (_, schema) = Self.schemas[index]
        try walkAndValidate(schema, seeds: 0..<12, budget: 80)
    }

    @Test("random walks over random schemas end in valid JSON", arguments: 0..<16)
    func randomSchemas(_ seed: Int) throws {
        var generator = RandomSchemas(seed: UInt64(seed) &* 7919)
        let schema = generator.schema()
        try walkAndValidate(schema, seeds: 0..<4, budget: 120)
    }

    func walkAndValidate(_ schema: JSONValue, seeds: Range<Int>, budget: Int) throws {
        let vocabulary = try TestVocabulary.vocabulary()
        let graph = try SchemaGraph(schema: schema)
        let validator = JSONSchemaValidator(schema: schema)
        for seed in seeds {
            var constraint = JSONConstraint(graph: graph, vocabulary: vocabulary, stopTokenIDs: TestVocabulary.stopIDs)
            var walk = RandomWalk(seed: UInt64(seed))
            let outcome = walk.run(&constraint, budget: budget, vocabulary: vocabulary, stopIDs: TestVocabulary.stopIDs)
            #expect(outcome.emptyMasks == 0, "schema \(schema.serialized()) seed \(seed): no token allowed after \(outcome.text)")
            #expect(!constraint.isBroken)
            #expect(outcome.isComplete || outcome.endedWithStop, "seed \(seed): unfinished \(outcome.text)")
            let value = try #require(try? JSONValue.parse(outcome.text), "seed \(seed): not JSON: \(outcome.text)")
            #expect(validator.firstViolation(value) == nil,
                    "seed \(seed): \(outcome.text) violates \(schema.serialized()): \(validator.firstViolation(value) ?? "")")
        }
    }

    @Test("the mask equals trying every token on its own")
    func maskMatchesBruteForce() throws {
        let vocabulary = try TestVocabulary.vocabulary()
        let schema = Self.schemas[0].1
        let graph = try SchemaGraph(schema: schema)
        var constraint = JSONConstraint(graph: graph, vocabulary: vocabulary, stopTokenIDs: TestVocabulary.stopIDs)
        // A fixed prefix through every phase: object start, key, string body, enum, integer.
        let prefix = #"{"city": "Par"#
        var steps = 0
        for piece in [#"{""#, #"city"#, #"": ""#, "Par", "is", #"", "unit": "cel"#] {
            let mask = constraint.allowedTokens(remainingTokens: 1000)
            let expected = TestVocabulary.bruteForceMask(constraint, vocabulary: vocabulary)
            #expect(mask == expected, "after \(steps) pieces of \(prefix): \(mask.allowedCount) allowed, brute force \(expected.allowedCount)")
            let tokens = try TestVocabulary.tokenizer().encodeOrdinary(piece)
            for token in tokens { constraint.advance(token) }
            #expect(!constraint.isBroken, "piece \(piece)")
            steps += 1
        }
    }

    @Test("enums, integer ranges and maxLength are enforced")
    func boundsAreEnforced() throws {
        let vocabulary = try TestVocabulary.vocabulary()
        let schema: JSONValue = ["type": "object", "properties": [
            "color": ["enum": ["red", "green"]],
            "n": ["type": "integer", "minimum": 3, "maximum": 7],
            "code": ["type": "string", "minLength": 2, "maxLength": 4],
            "ratio": ["type": "number", "minimum": -2.5, "exclusiveMaximum": 3.5],
            "big": ["type": "integer", "minimum": 1000],
            "low": ["type": "integer", "maximum": -7],
        ], "required": ["color", "n", "code", "ratio", "big", "low"]]
        let graph = try SchemaGraph(schema: schema)
        for seed in 0..<20 {
            var constraint = JSONConstraint(graph: graph, vocabulary: vocabulary, stopTokenIDs: [])
            var walk = RandomWalk(seed: UInt64(seed))
            let outcome = walk.run(&constraint, budget: 120, vocabulary: vocabulary, stopIDs: [])
            let value = try #require(try? JSONValue.parse(outcome.text), "\(outcome.text)")
            #expect(["red", "green"].contains(value["color"]?.stringValue ?? ""))
            #expect((3...7).contains(value["n"]?.intValue ?? 0))
            #expect((2...4).contains(value["code"]?.stringValue?.unicodeScalars.count ?? 0), "\(outcome.text)")
            let ratio = try #require(value["ratio"]?.doubleValue, "\(outcome.text)")
            #expect(ratio >= -2.5 && ratio < 3.5, "\(outcome.text)")
            #expect((value["big"]?.intValue ?? 0) >= 1000, "\(outcome.text)")
            #expect((value["low"]?.intValue ?? 0) <= -7, "\(outcome.text)")
            #expect(JSONSchemaValidator(schema: schema).firstViolation(value) == nil, "\(outcome.text)")
        }
    }

    @Test("a tight budget still closes the value", arguments: [14, 18, 24])
    func budgetClosesValue(_ budget: Int) throws {
        let vocabulary = try TestVocabulary.vocabulary()
        let schema = Self.schemas[0].1
        let graph = try SchemaGraph(schema: schema)
        for seed in 0..<8 {
            var constraint = JSONConstraint(graph: graph, vocabulary: vocabulary, stopTokenIDs: [])
            var walk = RandomWalk(seed: UInt64(seed))
            let outcome = walk.run(&constraint, budget: budget, vocabulary: vocabulary, stopIDs: [])
            #expect(outcome.isComplete, "budget \(budget) seed \(seed): \(outcome.text)")
            #expect(outcome.tokens.count <= budget)
            let value = try #require(try? JSONValue.parse(outcome.text))
            #expect(JSONSchemaValidator(schema: schema).firstViolation(value) == nil)
        }
    }

    @Test("schemas the constraint cannot serve are refused with their path")
    func unsupportedSchemas() {
        let cases: [(JSONValue, String)] = [
            (["type": "object", "properties": ["a": ["type": "strnig"]]], "#/properties/a"),
            (["$ref": "#/$defs/missing"], "missing"),
            (["type": "string", "minLength": 5, "maxLength": 2], "maxLength"),
            (["type": "array", "prefixItems": [["type": "string"]]], "prefixItems"),
            (["type": "integer", "minimum": 5, "maximum": 4], "no integer"),
        ]
        for (schema, fragment) in cases {
            let error = #expect(throws: SchemaError.self) { try SchemaGraph(schema: schema) }
            #expect(error?.description.contains(fragment) == true, "\(error?.description ?? "no error") lacks \(fragment)")
        }
    }

    @Test("the sampler only ever picks masked-in tokens, greedy or not")
    func samplerHonoursMask() {
        var random = SplitMix64(seed: 11)
        let logits = (0..<1000).map { _ in Float(random.nextUnitDouble() * 10) }
        var mask = TokenMask(count: 1000)
        for id in [3, 64, 127, 128, 999] { mask.insert(id) }
        let best = [3, 64, 127, 128, 999].max { logits[$0] < logits[$1] }
        var greedy = Sampler(.greedy(maxTokens: 1))
        #expect(greedy.sample(logits, context: [], mask: mask) == best)
        var sampler = Sampler(SamplingParameters(temperature: 1.5, topK: 0, topP: 1, minP: 0, seed: 4))
        for _ in 0..<200 { #expect(mask[sampler.sample(logits, context: [], mask: mask)]) }
        // A mask shorter than the logits allows nothing past its end.
        var short = TokenMask(count: 10, allowsAll: true)
        short.remove(9)
        for _ in 0..<50 { #expect(sampler.sample(logits, context: [], mask: short) < 9) }
    }
}
