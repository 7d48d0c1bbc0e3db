import Foundation
import PhiGeneration
import Testing

@Suite("the sampler")
struct SamplerTests {
    /// 1,000 logits drawn from a fixed generator.
    static func logits(seed: UInt64 = 42, count: Int = 1000) -> [Float] {
        var random = SplitMix64(seed: seed)
        return (0..<count).map { _ in Float(random.nextUnitDouble() * 10 - 5) }
    }

    static func argmax(_ values: [Float]) -> Int {
        values.indices.max { values[$0] < values[$1] } ?? 0
    }

    @Test("temperature 0 is the argmax")
    func greedy() {
        let logits = Self.logits()
        var sampler = Sampler(.greedy(maxTokens: 1))
        #expect(sampler.sample(logits, context: []) == Self.argmax(logits))
    }

    @Test("top-k 1 is the argmax at any temperature")
    func topK1() {
        let logits = Self.logits()
        var sampler = Sampler(SamplingParameters(temperature: 5, topK: 1, topP: 1, minP: 0, seed: 9))
        for _ in 0..<20 { #expect(sampler.sample(logits, context: []) == Self.argmax(logits)) }
    }

    @Test("the same seed gives the same tokens; another seed gives others")
    func seeded() {
        let logits = Self.logits()
        func run(_ seed: UInt64) -> [Int] {
            var sampler = Sampler(SamplingParameters(temperature: 1.5, topK: 0, topP: 1, minP: 0, seed: seed))
            return (0..<50).map { _ in sampler.sample(logits, context: []) }
        }
        #expect(run(1) == run(1))
        #expect(run(1) != run(2))
    }

    @Test("top-k keeps only the k most likely tokens")
    func topK() {
        let logits = Self.logits()
        let best5 = Set(logits.indices.sorted { logits[$0] > logits[$1] }.prefix(5))
        var sampler = Sampler(SamplingParameters(temperature: 10, topK: 5, topP: 1, minP: 0, seed: 3))
        for _ in 0..<200 { #expect(best5.contains(sampler.sample(logits, context: []))) }
    }

    @Test("top-p keeps the smallest set reaching the probability mass")
    func topP() {
        // Probabilities 0.5, 0.3, 0.2 (as logits ln p): top-p 0.75 keeps the first two.
        let logits: [Float] = [log(0.5), log(0.3), log(0.2)]
        var sampler = Sampler(SamplingParameters(temperature: 1, topK: 0, topP: 0.75, minP: 0, seed: 11))
        let seen = Set((0..<300).map { _ in sampler.sample(logits, context: []) })
        #expect(seen == [0, 1])
    }

    @Test("min-p drops tokens below the fraction of the best probability")
    func minP() {
        let logits: [Float] = [log(0.6), log(0.3), log(0.1)]
        var sampler = Sampler(SamplingParameters(temperature: 1, topK: 0, topP: 1, minP: 0.4, seed: 5))
        let seen = Set((0..<300).map { _ in sampler.sample(logits, context: []) })
        #expect(seen == [0, 1])
    }

    @Test("the repetition penalty turns a repeated argmax into the runner-up")
    func repetitionPenalty() {
        let logits: [Float] = [2.0, 1.8, -1]
        var sampler = Sampler(SamplingParameters(temperature: 0, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1.2))
        #expect(sampler.sample(logits, context: [0]) == 1)
        #expect(sampler.sample(logits, context: [2]) == 0)
    }

    @Test("a mask allows only the permitted tokens")
    func mask() {
        let logits = Self.logits()
        var sampler = Sampler(.greedy(maxTokens: 1))
        #expect(sampler.sample(logits, context: []) { $0 == 17 } == 17)
    }

    @Test("sampling frequencies follow the softmax")
    func frequencies() {
        let logits: [Float] = [0, log(3)]  // probabilities 1/4, 3/4
        var sampler = Sampler(SamplingParameters(temperature: 1, topK: 0, topP: 1, minP: 0, seed: 99))
        let ones = (0..<4000).filter { _ in sampler.sample(logits, context: []) == 1 }.count
        // Binomial(4000, 0.75): standard deviation ≈ 27, so ±150 is more than 5 sigma.
        #expect(abs(ones - 3000) < 150)
    }
}
