import ArgumentParser
import Foundation
import PhiGeneration

struct Logits: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Runs a prompt and prints the argmax at every position and the best logits at the last.")

    @OptionGroup var modelOptions: ModelOptions

    @Option(name: .customLong("prompt-ids"), help: "Prompt token ids: 1,2,3 or @FILE with a JSON array.")
    var promptIDs: PromptIDs

    @Option(name: .long, help: "Output: text or json.")
    var format: OutputFormat = .text

    @Option(name: .customLong("logits-out"), help: "Write the last position's logits as raw little-endian float32.")
    var logitsOut: String?

    @Option(help: "How many of the best last-position logits to print.")
    var top: Int = 10

    func run() async throws {
        let source = try modelOptions.openModel()
        let prompt = promptIDs.ids
        let budget = modelOptions.contextBudget(needed: prompt.count, config: source.config)
        let pipeline = try await modelOptions.pipeline(source, contextTokens: budget)
        let session = SessionID(1)
        try await pipeline.openSession(session, contextTokens: budget)
        let factors = RopeFactorSet.forPass(endingAt: prompt.count - 1, config: source.config)
        let result = try await pipeline.append(session: session, tokens: prompt, ropeFactors: factors,
                                               logits: .argmaxAndLast, chunkTokens: modelOptions.chunkTokens, progress: nil)
        let last = result.lastLogits ?? []
        if let logitsOut {
            let data = last.withUnsafeBufferPointer { Data(buffer: $0) }
            try data.write(to: URL(fileURLWithPath: logitsOut))
        }
        let best = PhiGeneration.Logits.top(last, count: top)
        switch format {
        case .json:
            try printJSON(["argmax": result.argmax ?? [], "top": best.map { [$0.id, Double($0.logit)] }])
        case .text:
            print("argmax: \((result.argmax ?? []).map(String.init).joined(separator: " "))")
            for (id, logit) in best { print("\(id)\t\(logit)") }
        }
    }
}
