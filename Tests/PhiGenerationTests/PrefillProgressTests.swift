import Foundation
import Testing
@testable import PhiGeneration

@Suite("prefill progress")
struct PrefillProgressTests {
    @Test("the estimate allows for attention's cost growing with position")
    func quadraticEstimate() throws {
        // A prefill whose time grows as 2 ms a token plus 20 ns per token per position before it.
        let time = { (n: Double) in 0.002 * n + 2e-8 * n * n }
        let meter = PrefillProgressMeter { _ in }
        var last = PrefillProgress(doneTokens: 0, totalTokens: 0, elapsed: .zero)
        for done in stride(from: 512, through: 65536, by: 512) {
            last = meter.progress(done: done, total: 131_072, elapsed: .milliseconds(Int64(time(Double(done)) * 1000)))
        }
        let remaining = try #require(last.estimatedRemaining)
        let expected = time(131_072) - time(65536)
        // Elapsed times are whole milliseconds: the fit is good to well within 1%.
        #expect(abs(PrefillProgress.seconds(remaining) - expected) < 0.01 * expected, "\(remaining) vs \(expected) s")
        // The average rate would promise the rest in half that time.
        #expect(Double(65536) / PrefillProgress.seconds(last.elapsed) > 1.5 * 65536 / expected)
        let rate = try #require(last.tokensPerSecond)
        #expect(rate < Double(65536) / time(65536), "the recent rate is below the average one")
    }

    @Test("a report carries done, total, rate and time left for JSON consumers")
    func fields() {
        let meter = PrefillProgressMeter { _ in }
        let first = meter.progress(done: 512, total: 2048, elapsed: .seconds(1))
        #expect(first.tokensPerSecond == 512 && first.estimatedRemaining == .seconds(3))
        let object = first.jsonObject
        #expect(object["done"] as? Int == 512 && object["total"] as? Int == 2048)
        #expect(object["tokens_per_second"] as? Double == 512 && object["eta_seconds"] as? Double == 3)
        #expect(!first.isComplete && meter.progress(done: 2048, total: 2048, elapsed: .seconds(4)).isComplete)
    }
}
