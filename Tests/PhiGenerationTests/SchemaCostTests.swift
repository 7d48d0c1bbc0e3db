import Foundation
@testable import PhiGeneration
import PhiTestSupport
import PhiTokenizer
import Testing

/// What patterns and large schemas cost (recorded in docs/PERFORMANCE.md):
/// `swift test -c release --skip-build -Xswiftc -enable-testing --filter SchemaCost`.
@Suite("Schema compile and pattern mask cost")
struct SchemaCostTests {
    /// A step slower than this is a regression by orders of magnitude (see docs/PERFORMANCE.md).
    static let catastrophicStep: Duration = .seconds(2)
    /// The issue's bound for compiling a schema of JSON Schema Store size.
    static let compileBudget: Duration = .seconds(1)

    @Test("mask cost per token inside strings with a pattern or format", arguments: [
        ("uuid", ["type": "string", "format": "uuid"] as JSONValue),
        ("date-time", ["type": "string", "format": "date-time"]),
        ("email", ["type": "string", "format": "email"]),
        ("words", ["type": "string", "pattern": "^[A-Za-z ,.]{1,80}$"]),
        ("unanchored", ["type": "string", "pattern": "^id-"]),
    ] as [(String, JSONValue)])
    func patternMaskCost(_ name: String, _ schema: JSONValue) throws {
        let vocabulary = try TestVocabulary.vocabulary()
        let graph = try SchemaGraph(schema: schema)
        var steps: [Duration] = []
        for seed in 0..<6 {
            var constraint = JSONConstraint(graph: graph, vocabulary: vocabulary, stopTokenIDs: [])
            var random = SplitMix64(seed: UInt64(seed))
            for step in 0..<40 where !constraint.isComplete {
                let start = ContinuousClock.now
                let mask = constraint.allowedTokens(remainingTokens: 40 - step)
                let elapsed = ContinuousClock.now - start
                #expect(elapsed < Self.catastrophicStep)
                steps.append(elapsed)
                let allowed = mask.allowedIDs
                guard !allowed.isEmpty else { break }
                constraint.advance(allowed[Int(random.next() % UInt64(allowed.count))])
            }
        }
        let sorted = steps.sorted()
        let mean = sorted.reduce(Duration.zero, +) / max(1, sorted.count)
        print("schema-cost: \(name): n=\(sorted.count) mean=\(Self.ms(mean)) median=\(Self.ms(sorted[sorted.count / 2])) "
              + "p99=\(Self.ms(sorted[min(sorted.count - 1, sorted.count * 99 / 100)])) max=\(Self.ms(sorted[sorted.count - 1]))")
    }

    /// A schema of JSON Schema Store size (~400 KB): 300 definitions of 12 properties each, with
    /// patterns, formats, enums, nested arrays, references between definitions and a oneOf.
    static func largeSchema() -> JSONValue {
        var definitions = JSONObject()
        for index in 0..<300 {
            var properties = JSONObject()
            for field in 0..<12 {
                let name = "field_\(index)_\(field)"
                switch field % 6 {
                case 0: properties[name] = ["type": "string", "pattern": .string("^[a-z]{2,8}-\(index)-[0-9]{1,4}$"), "description": "a keyed name"]
                case 1: properties[name] = ["type": "string", "format": field % 4 == 1 ? "date-time" : "uuid"]
                case 2: properties[name] = ["enum": .array((0..<8).map { .string("choice-\(index)-\($0)") })]
                case 3: properties[name] = ["type": "array", "items": ["$ref": .string("#/definitions/d\((index + 1) % 300)")], "maxItems": 4]
                case 4: properties[name] = ["type": "integer", "minimum": 0, "maximum": 100_000, "description": "a count"]
                default: properties[name] = ["oneOf": [["type": "string", "maxLength": 40], ["type": "boolean"]]]
                }
            }
            definitions["d\(index)"] = ["type": "object", "properties": .object(properties), "required": [.string("field_\(index)_0")],
                                        "additionalProperties": false, "title": .string("Definition \(index)")]
        }
        return ["$schema": "http://json-schema.org/draft-07/schema#", "definitions": .object(definitions), "$ref": "#/definitions/d0"]
    }

    @Test("a JSON-Schema-Store-size schema compiles in under a second")
    func largeSchemaCompiles() throws {
        let schema = Self.largeSchema()
        let bytes = schema.serialized().utf8.count
        let start = ContinuousClock.now
        let graph = try SchemaGraph(schema: schema)
        let elapsed = ContinuousClock.now - start
        print("schema-cost: compiled \(bytes) bytes of schema into \(graph.nodes.count) nodes, \(graph.automata.count) automata in \(Self.ms(elapsed))")
        #expect(elapsed < Self.compileBudget)
    }

    static func ms(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        return String(format: "%.2f ms", Double(seconds) * 1000 + Double(attoseconds) * 1e-15)
    }
}
