import Foundation
import PhiGeneration
import PhiTestSupport
import PhiTokenizer
import Testing

/// Measures what constrained decoding costs per token over Phi-4-mini's 200,064 ids (recorded in
/// docs/PERFORMANCE.md): `swift test -c release --filter ConstraintCost`.
@Suite("Constrained decoding cost")
struct ConstraintCostTests {
    /// A step slower than this is a regression by orders of magnitude (typical steps take
    /// milliseconds, see docs/PERFORMANCE.md); debug builds stay well inside it too.
    static let catastrophicStep: Duration = .seconds(2)

    @Test("mask cost per token, by kind of position")
    func maskCost() throws {
        let buildStart = ContinuousClock.now
        let tokenizer = try TestVocabulary.tokenizer()
        let vocabulary = TokenVocabulary(tokenizer: tokenizer, vocabularySize: 200_064)
        let buildTime = ContinuousClock.now - buildStart
        let tool = ToolDefinition(name: "get_weather", parameters: [
            "type": "object",
            "properties": ["city": ["type": "string"], "unit": ["enum": ["celsius", "fahrenheit"]],
                           "days": ["type": "integer", "minimum": 1, "maximum": 14]],
            "required": ["city", "unit"],
        ])
        var inString: [Duration] = []
        var elsewhere: [Duration] = []
        for seed in 0..<12 {
            var constraint = try ToolCallConstraint(tools: [tool], allowsSeveral: false, vocabulary: vocabulary)
            var random = SplitMix64(seed: UInt64(seed))
            for step in 0..<60 where !constraint.isComplete {
                let start = ContinuousClock.now
                let mask = constraint.allowedTokens(remainingTokens: 60 - step)
                let elapsed = ContinuousClock.now - start
                #expect(elapsed < Self.catastrophicStep)
                // Inside a free string nearly the whole vocabulary is allowed; elsewhere a few tokens.
                if mask.allowedCount > 100_000 { inString.append(elapsed) } else { elsewhere.append(elapsed) }
                let allowed = mask.allowedIDs
                let token = allowed[Int(random.next() % UInt64(allowed.count))]
                constraint.advance(token)
            }
        }
        func summary(_ samples: [Duration]) -> String {
            let sorted = samples.sorted()
            guard !sorted.isEmpty else { return "none" }
            let mean = sorted.reduce(Duration.zero, +) / sorted.count
            return "n=\(sorted.count) mean=\(Self.ms(mean)) median=\(Self.ms(sorted[sorted.count / 2])) max=\(Self.ms(sorted[sorted.count - 1]))"
        }
        print("constraint-cost: vocabulary tables built in \(Self.ms(buildTime))")
        print("constraint-cost: string bodies (>100k tokens allowed): \(summary(inString))")
        print("constraint-cost: other positions (few tokens allowed): \(summary(elsewhere))")
        print("constraint-cost: all steps: \(summary(inString + elsewhere))")
    }

    static func ms(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        return String(format: "%.2f ms", Double(seconds) * 1000 + Double(attoseconds) * 1e-15)
    }
}
