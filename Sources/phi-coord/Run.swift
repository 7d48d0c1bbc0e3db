import ArgumentParser
import Foundation
import PhiGeneration
import PhiTokenizer
import Synchronization

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Answers one prompt with the function-calling loop, printing each step as it happens.")

    @OptionGroup var coordinator: CoordinatorOptions
    @OptionGroup var sampling: SamplingOptions

    @Option(help: "The user's message.")
    var prompt: String

    @Option(help: "A system message before it.")
    var system: String?

    @Option(name: .customLong("tool-choice"), help: "auto, none, required, or a tool's name (first round).")
    var toolChoice: ToolChoice = .auto

    @Option(name: .customLong("max-rounds"), help: "Rounds of tool calls before the model must answer.")
    var maxRounds = FunctionCallingLoop.defaultMaxRounds

    func run() async throws {
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
