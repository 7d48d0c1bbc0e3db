import Foundation
import PhiGeneration
import PhiTestSupport
import Testing

@Suite("generation through a pipeline reproduces the golden greedy tokens")
struct GeneratorGoldenTests {
    static let splits: [[Range<Int>]] = [[0..<32], [0..<16, 16..<32], [0..<1, 1..<31, 31..<32], [0..<5, 5..<19, 19..<32]]

    @Test("every in-process split gives the golden greedy24 of every prompt", arguments: splits)
    func greedy(_ split: [Range<Int>]) async throws {
        let golden = try TinyGolden.load()
        let pipeline = try LocalPipeline(model: try TinyModel.source(), format: nil, compute: try Compute(threads: 2), split: split)
        let generator = Generator(pipeline: pipeline)
        for name in ["p1", "p7", "p64", "p300"] {
            let prompt = try golden.prompt(name)
            let expected = try #require(prompt.greedy24)
            let session = SessionID(7)
            try await pipeline.openSession(session, contextTokens: prompt.ids.count + expected.count)
            let result = try await generator.generate(
                session: session, prompt: prompt.ids,
                parameters: .greedy(maxTokens: expected.count, stopTokenIds: [200_020, 199_999], ignoreEOS: true))
            #expect(result.tokens == expected, "\(name) through \(split)")
            #expect(result.finishReason == .length)
        }
    }

    /// Greedy generation asks the pipeline for the argmax alone; a run that needs the logits (here
    /// a constraint that bans nothing) takes them and samples greedily: both must give the golden.
    @Test("greedy through the argmax-only pass and through the logits give the same golden tokens")
    func argmaxOnlyEqualsLogits() async throws {
        let golden = try TinyGolden.load()
        let model = try TinyModel.source()
        let pipeline = try LocalPipeline(model: model, format: nil, compute: try Compute(threads: 2), split: [0..<16, 16..<32])
        let generator = Generator(pipeline: pipeline)
        for name in ["p7", "p64"] {
            let prompt = try golden.prompt(name)
            let expected = try #require(prompt.greedy24)
            let parameters = SamplingParameters.greedy(maxTokens: expected.count, ignoreEOS: true)
            var runs: [[Int]] = []
            for constraint in [nil, TokenBan(vocabularySize: model.config.vocabularySize, banned: [])] as [(any TokenConstraint)?] {
                let session = SessionID(UInt64(runs.count + 20))
                try await pipeline.openSession(session, contextTokens: prompt.ids.count + expected.count)
                runs.append(try await generator.generate(session: session, prompt: prompt.ids, parameters: parameters,
                                                         constraint: constraint).tokens)
            }
            #expect(runs == [expected, expected], "\(name)")
        }
        // The argmax-only pass gives one id, the argmax of the logits pass's last row.
        let session = SessionID(30)
        let ids = try golden.prompt("p64").ids
        try await pipeline.openSession(session, contextTokens: 2 * ids.count)
        let onlyArgmax = try await pipeline.append(session: session, tokens: ids, ropeFactors: .short, logits: .lastArgmax,
                                                   chunkTokens: 16, progress: nil)
        try await pipeline.truncate(session: session, toTokens: 0)
        let withLogits = try await pipeline.append(session: session, tokens: ids, ropeFactors: .short, logits: .last,
                                                   chunkTokens: 16, progress: nil)
        #expect(onlyArgmax.lastLogits == nil)
        let logits = try #require(withLogits.lastLogits)
        #expect(onlyArgmax.argmax == Logits.argmaxOfRows(logits, rows: 1, width: logits.count))
    }

    @Test("a generation that crosses position 4096 re-runs its sequence with the long factors and matches greedy12")
    func crossing4096() async throws {
        let golden = try TinyGolden.load()
        let ids = Array(try golden.prompt("p4300").ids.prefix(4090))
        let pipeline = try LocalPipeline(model: try TinyModel.source(), format: nil, compute: try Compute(threads: 2))
        let session = SessionID(1)
        try await pipeline.openSession(session, contextTokens: 4102)
        let result = try await Generator(pipeline: pipeline).generate(
            session: session, prompt: ids, parameters: .greedy(maxTokens: 12, ignoreEOS: true))
        #expect(result.tokens == golden.crossGreedy12)
        // The pass for position 4096 re-ran the 4,096 tokens before it.
        #expect(result.replayedTokens == 4096)
        #expect(try await pipeline.sessionLog(session).ropeFactors == .long)
    }

    @Test("a prompt that extends the session's previous one computes only its new tokens")
    func prefixReuse() async throws {
        let ids = try TinyGolden.load().prompt("p300").ids
        let pipeline = try LocalPipeline(model: try TinyModel.source(), format: nil, compute: try Compute(threads: 2))
        let generator = Generator(pipeline: pipeline)
        let session = SessionID(3)
        try await pipeline.openSession(session, contextTokens: 400)
        let first = try await generator.generate(session: session, prompt: Array(ids.prefix(200)), parameters: .greedy(maxTokens: 4))
        #expect(first.prefillTokensComputed == 200)
        let second = try await generator.generate(session: session, prompt: ids, parameters: .greedy(maxTokens: 4))
        // The cache holds the 200 prompt tokens and 3 generated ones (the 4th was never run);
        // ids[200...] differ from the generated ones, so 100 tokens are new.
        #expect(second.prefillTokensComputed == 100)
        let fresh = SessionID(4)
        try await pipeline.openSession(fresh, contextTokens: 400)
        let reference = try await generator.generate(session: fresh, prompt: ids, parameters: .greedy(maxTokens: 4))
        #expect(second.tokens == reference.tokens)
    }

    @Test("chunked prefill equals a single pass", arguments: [1, 7, 64, 512])
    func chunked(_ chunk: Int) async throws {
        let ids = try TinyGolden.load().prompt("p300").ids
        let pipeline = try LocalPipeline(model: try TinyModel.source(), format: nil, compute: try Compute(threads: 2))
        try await pipeline.openSession(SessionID(1), contextTokens: 300)
        try await pipeline.openSession(SessionID(2), contextTokens: 300)
        let whole = try await pipeline.append(session: SessionID(1), tokens: ids, ropeFactors: .short, logits: .argmaxAndLast,
                                              chunkTokens: ids.count, progress: nil)
        let pieces = try await pipeline.append(session: SessionID(2), tokens: ids, ropeFactors: .short, logits: .argmaxAndLast,
                                               chunkTokens: chunk, progress: nil)
        #expect(pieces.argmax == whole.argmax)
        #expect(maxAbsDifference(try #require(pieces.lastLogits), try #require(whole.lastLogits)) <= Tolerance.logits)
    }
}
