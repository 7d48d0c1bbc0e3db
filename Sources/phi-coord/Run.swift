import ArgumentParser
import Foundation
import PhiGeneration
import PhiTokenizer
import Synchronization

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Answers one prompt with the function-calling loop, printing each step as it happens; or runs a long prompt as a resumable job.",
        discussion: """
            phi-coord run --manifest FILE --prompt TEXT answers through the manifest's cluster (or --model DIR in this process), \
            running its tools. With --job-dir DIR the prompt (--prompt rendered with the chat template, or --prompt-ids) runs \
            as a job on a cluster: the token log is checkpointed in DIR and each worker's KV slice on its own disk; after a \
            coordinator or worker restart, phi-coord run --resume DIR continues from the last checkpoint (the cluster flags are \
            remembered; flags given again replace them) and the output equals an uninterrupted run's.
            """)

    @OptionGroup var coordinator: CoordinatorOptions
    @OptionGroup var sampling: SamplingOptions

    @Option(help: "The user's message.")
    var prompt: String?

    @Option(help: "A system message before it.")
    var system: String?

    @Option(name: .customLong("tool-choice"), help: "auto, none, required, or a tool's name (first round).")
    var toolChoice: ToolChoice = .auto

    @Option(name: .customLong("max-rounds"), help: "Rounds of tool calls before the model must answer.")
    var maxRounds = FunctionCallingLoop.defaultMaxRounds

    @Option(name: .customLong("job-dir"), help: "Run the prompt as a resumable job with its token log and state in this directory.")
    var jobDir: String?

    @Option(help: "Continue the job in this directory from its last checkpoint.")
    var resume: String?

    @Option(name: .customLong("prompt-ids"), help: "A job's prompt as token ids instead: 1,2,3 or @FILE with a JSON array.")
    var promptIDs: PromptIDs?

    @Option(name: .customLong("checkpoint-every"), help: "A job's tokens between checkpoints (rounded up to chunk ends).")
    var checkpointEvery: Int = 4096

    @Option(name: .long, help: "A job's output: text, or json (tokens, text, what was resumed and computed).")
    var format: OutputFormat = .text

    var isJob: Bool { jobDir != nil || resume != nil }

    func validate() throws {
        if jobDir != nil && resume != nil { throw ValidationError("give --job-dir DIR for a new job or --resume DIR, not both") }
        if resume != nil && (prompt != nil || promptIDs != nil) { throw ValidationError("a resumed job keeps its prompt; drop --prompt/--prompt-ids") }
        if jobDir != nil && (prompt == nil) == (promptIDs == nil) { throw ValidationError("a new job needs --prompt TEXT or --prompt-ids") }
        if !isJob && prompt == nil { throw ValidationError("give --prompt TEXT (or --job-dir DIR, or --resume DIR)") }
        if !isJob && promptIDs != nil { throw ValidationError("--prompt-ids is for jobs (with --job-dir)") }
        if !isJob && format == .json { throw ValidationError("--format json is for jobs (with --job-dir or --resume)") }
        if checkpointEvery < 1 { throw ValidationError("--checkpoint-every must be at least 1") }
        if !isJob { try coordinator.requireModel() }
    }

    func run() async throws {
        if isJob { return try await runJob() }
        guard let prompt else { throw ValidationError("give --prompt TEXT") }
        let setup = try await coordinator.load()
        defer { setup.stop() }
        let parameters = try sampling.parameters(config: setup.engine.pipeline.config)
        let loop = FunctionCallingLoop(engine: setup.engine, toolbox: setup.toolbox, parameters: parameters,
                                       maxRounds: maxRounds, toolChoice: toolChoice)
        var messages: [ChatMessage] = (system.map { [.system($0)] } ?? []) + [.user(prompt)]
        let printer = StepPrinter()
        let summary = try await loop.respond(&messages) { printer.show($0) }
        printer.finish()
        print("[\(summary.rounds) round\(summary.rounds == 1 ? "" : "s"), \(summary.finishReason.rawValue)]")
    }

    /// A new job's prompt ids: `--prompt-ids`, or `--prompt` rendered with the model's chat template.
    func jobPrompt() throws -> [Int]? {
        if let promptIDs { return promptIDs.ids }
        guard let prompt, jobDir != nil else { return nil }
        let manifest = try coordinator.manifest.map { try Manifest.load(URL(fileURLWithPath: $0)) }
        let source = try ModelSource.open(manifest?.modelPath ?? URL(fileURLWithPath: coordinator.model ?? "."))
        let tokenizer = try ModelTokenizer.load(for: source, directory: coordinator.tokenizer.map { URL(fileURLWithPath: $0) }
                                                ?? manifest?.tokenizerPath)
        let messages: [ChatMessage] = (system.map { [.system($0)] } ?? []) + [.user(prompt)]
        return tokenizer.encode(try ModelTokenizer.chatTemplate(of: tokenizer).render(messages, addGenerationPrompt: true))
    }

    func runJob() async throws {
        let job = LongJobCommand(
            jobDirectory: jobDir.map { URL(fileURLWithPath: $0) }, resumeDirectory: resume.map { URL(fileURLWithPath: $0) },
            promptIDs: try jobPrompt(), checkpointEvery: checkpointEvery, clusterArguments: coordinator.jobClusterArguments,
            tokenizerDirectory: coordinator.tokenizer.map { URL(fileURLWithPath: $0) }, sampling: sampling, format: format)
        try await job.run()
    }
}

/// Prints the loop's events for a person: text as it streams, calls and results on their own
/// lines, and while a long prompt is computed a progress bar on stderr (tokens done, tokens/s, the
/// time left).
final class StepPrinter: Sendable {
    private struct State {
        var isMidLine = false
        /// The current round's meter, made at its first report, timed from the round's start.
        var meter: PrefillProgressMeter?
        var roundStart = ContinuousClock.now
    }

    private let state = Mutex(State())
    private let reporter = ProgressReporter(label: "prompt")
    /// Prompts shorter than this finish too fast for a progress bar to help.
    static let progressThresholdTokens = 256

    func show(_ event: FunctionCallingLoop.Event) {
        switch event {
        case let .prefill(done, total):
            guard total >= Self.progressThresholdTokens else { return }
            let meter = state.withLock { state in
                if state.meter == nil {
                    state.meter = PrefillProgressMeter(start: state.roundStart) { [reporter] in reporter.show($0) }
                }
                return state.meter
            }
            meter?.callback(done, total)
        case let .text(text):
            print(text, terminator: "")
            state.withLock { $0.isMidLine = !text.hasSuffix("\n") }
            fflush(nil)
        case let .toolCall(call):
            line("[tool call] \(call.name) \(call.argumentsJSON)")
        case let .toolResult(name, outcome):
            line("[tool \(outcome.isFailure ? "error" : "result")] \(name): \(outcome.messageContent)")
        case let .invalidCall(problem):
            line("[invalid call] \(problem)")
        case .roundFinished:
            finish()
            state.withLock {
                $0.meter = nil
                $0.roundStart = .now
            }
        }
    }

    func finish() {
        reporter.finish()
        if state.withLock({ $0.isMidLine }) { print() }
        state.withLock { $0.isMidLine = false }
        fflush(nil)
    }

    private func line(_ text: String) {
        finish()
        print(text)
        fflush(nil)
    }
}
