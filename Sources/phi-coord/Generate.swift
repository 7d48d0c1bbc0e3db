import ArgumentParser
import Foundation
import PhiGeneration

struct Generate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generates tokens after a prompt given as token ids.")

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var sampling: SamplingOptions

    @Option(name: .customLong("prompt-ids"), help: "Prompt token ids: 1,2,3 or @FILE with a JSON array.")
    var promptIDs: PromptIDs

    @Option(name: .long, help: "Output: text or json.")
    var format: OutputFormat = .text

    func run() async throws {
        let source = try modelOptions.openModel()
        let parameters = try sampling.parameters(config: source.config)
        let prompt = promptIDs.ids
        let budget = modelOptions.contextBudget(needed: prompt.count + parameters.maxTokens, config: source.config)
        let pipeline = try await modelOptions.pipeline(source, contextTokens: budget)
        let session = SessionID(1)
        try await pipeline.openSession(session, contextTokens: budget)
        let generator = Generator(pipeline: pipeline, chunkTokens: modelOptions.chunkTokens)
        let progress = ProgressReporter()
        defer { progress.finish() }
        let meter = progress.meter(promptTokens: prompt.count, chunkTokens: generator.chunkTokens)
        let result = try await generator.generate(session: session, prompt: prompt, parameters: parameters,
                                                  progress: meter?.callback, onToken: { token in
            if format == .text { print(token, terminator: " ") }
            return true
        })
        switch format {
        case .json:
            try printJSON([
                "tokens": result.tokens,
                "finish_reason": result.finishReason.rawValue,
                "prompt_tokens": result.promptTokens,
                "prefill_seconds": result.prefillDuration.seconds,
                "decode_seconds": result.decodeDuration.seconds,
            ])
        case .text:
            print("\n[\(result.tokens.count) tokens, \(result.finishReason.rawValue)]")
        }
    }
}

struct SamplingOptions: ParsableArguments {
    @Option(name: .customLong("max-tokens"), help: "Tokens to generate at most.")
    var maxTokens: Int = 128

    @Option(help: "Sampling temperature; 0 is greedy.")
    var temperature: Float = 0.8

    @Option(name: .customLong("top-k"), help: "Keep the k most likely tokens (0: all).")
    var topK: Int = 40

    @Option(name: .customLong("top-p"), help: "Nucleus sampling threshold (1: off).")
    var topP: Float = 0.95

    @Option(name: .customLong("min-p"), help: "Drop tokens below min-p × the best probability (0: off).")
    var minP: Float = 0.05

    @Option(name: .customLong("repeat-penalty"), help: "Penalty on tokens already in the context (1: off).")
    var repeatPenalty: Float = 1.0

    @Option(help: "Random seed: the same seed gives the same tokens.")
    var seed: UInt64 = 0

    @Flag(name: .customLong("ignore-eos"), help: "Keep generating past stop ids (for testing).")
    var ignoreEOS = false

    func parameters(config: ModelConfig) throws -> SamplingParameters {
        let parameters = SamplingParameters(
            temperature: temperature, topK: topK, topP: topP, minP: minP, repetitionPenalty: repeatPenalty,
            seed: seed, maxTokens: maxTokens, stopTokenIds: Set(config.stopTokenIds), ignoreEOS: ignoreEOS)
        if let problem = parameters.validationError { throw ValidationError(problem) }
        return parameters
    }
}

extension Duration {
    /// The duration in seconds, as a Double for printing.
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) * 1e-18
    }
}
