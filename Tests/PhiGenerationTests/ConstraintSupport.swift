import Foundation
import PhiGeneration
import PhiTestSupport
import PhiTokenizer

/// The Phi-4-mini tokenizer and its constraint tables, built once per test process.
enum TestVocabulary {
    private static let loaded = Result { () throws -> (Tokenizer, TokenVocabulary) in
        let tokenizer = try Tokenizer.load(directory: Fixtures.tokenizer, vocabularySize: 200_064)
        return (tokenizer, TokenVocabulary(tokenizer: tokenizer, vocabularySize: 200_064))
    }

    static func tokenizer() throws -> Tokenizer { try loaded.get().0 }
    static func vocabulary() throws -> TokenVocabulary { try loaded.get().1 }
    /// Phi-4-mini's stop ids (`<|end|>`, `<|endoftext|>`).
    static let stopIDs = [200_020, 199_999]

    /// The mask `constraint` should give, found the slow way: every text token tried on a copy.
    static func bruteForceMask(_ constraint: JSONConstraint, vocabulary: TokenVocabulary) -> TokenMask {
        var expected = TokenMask(count: vocabulary.vocabularySize)
        for id in 0..<vocabulary.vocabularySize where vocabulary.isTextToken(id) {
            var copy = constraint
            copy.advance(id)
            if !copy.isBroken { expected.insert(id) }
        }
        return expected
    }
}

/// Drives a constraint with random choices among the tokens it allows, as a sampler over random
/// logits would, and returns the text written.
struct RandomWalk {
    var random: SplitMix64

    init(seed: UInt64) { random = SplitMix64(seed: seed) }

    struct Outcome {
        var tokens: [Int] = []
        var text = ""
        var endedWithStop = false
        var isComplete = false
        /// Steps whose mask allowed nothing (a constraint bug).
        var emptyMasks = 0
    }

    mutating func run(_ constraint: inout some TokenConstraint, budget: Int, vocabulary: TokenVocabulary,
                      stopIDs: [Int], stopAtStop: Bool = true) -> Outcome {
        var outcome = Outcome()
        var bytes: [UInt8] = []
        while outcome.tokens.count < budget && !constraint.isComplete {
            let mask = constraint.allowedTokens(remainingTokens: budget - outcome.tokens.count)
            let allowed = mask.allowedIDs
            guard !allowed.isEmpty else {
                outcome.emptyMasks += 1
                break
            }
            // Half the time a stop id when allowed, so values are closed both ways.
            if stopAtStop, let stop = allowed.first(where: stopIDs.contains), random.next() % 2 == 0 {
                outcome.endedWithStop = true
                _ = stop
                break
            }
            let token = allowed[Int(random.next() % UInt64(allowed.count))]
            if stopIDs.contains(token) {
                outcome.endedWithStop = true
                break
            }
            constraint.advance(token)
            outcome.tokens.append(token)
            bytes += vocabulary.tokenBytes(token)
        }
        outcome.isComplete = constraint.isComplete
        outcome.text = String(decoding: bytes, as: UTF8.self)
        return outcome
    }
}

/// Random JSON schemas of the kinds the constraint supports, from a seed.
struct RandomSchemas {
    var random: SplitMix64

    init(seed: UInt64) { random = SplitMix64(seed: seed) }

    mutating func pick(_ count: Int) -> Int { Int(random.next() % UInt64(count)) }
    mutating func chance() -> Bool { random.next() % 2 == 0 }

    mutating func schema(depth: Int = 0) -> JSONValue {
        let kinds = depth >= 2 ? 7 : 10
        switch pick(kinds) {
        case 0:
            var object: JSONObject = ["type": "string"]
            if chance() { object["maxLength"] = .integer(1 + pick(12)) }
            if chance() { object["minLength"] = .integer(pick(3)) }
            return .object(object)
        case 1: return ["type": "string", "enum": ["red", "green", "blue \"quoted\"", "ünïcode"]]
        case 2:
            var object: JSONObject = ["type": "integer"]
            if chance() { object["minimum"] = .integer(pick(5)) }
            if chance() { object["maximum"] = .integer(10 + pick(50)) }
            return .object(object)
        case 3:
            var object: JSONObject = ["type": "number"]
            if chance() { object["minimum"] = 0 }
            return .object(object)
        case 4: return ["type": "boolean"]
        case 5: return ["type": ["string", "null"]]
        case 6: return ["anyOf": [["type": "integer"], ["type": "boolean"], ["type": "string", "maxLength": 5]]]
        case 7:
            var object: JSONObject = ["type": "array", "items": schema(depth: depth + 1)]
            if chance() { object["minItems"] = .integer(pick(3)) }
            if chance() { object["maxItems"] = .integer(3 + pick(3)) }
            return .object(object)
        default:
            var properties = JSONObject()
            var required: [JSONValue] = []
            for index in 0..<(1 + pick(4)) {
                let name = ["city", "count", "unit", "tags", "deep", "x"][index]
                properties[name] = schema(depth: depth + 1)
                if chance() { required.append(.string(name)) }
            }
            var object: JSONObject = ["type": "object", "properties": .object(properties), "required": .array(required)]
            if chance() { object["additionalProperties"] = false }
            return .object(object)
        }
    }
}
