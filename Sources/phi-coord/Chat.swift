import ArgumentParser
import Foundation
import PhiGeneration
import PhiTokenizer

struct Chat: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Interactive chat: reads lines from stdin, streams answers, keeps the conversation, runs tools.")

    @OptionGroup var coordinator: CoordinatorOptions
    @OptionGroup var sampling: SamplingOptions

    @Option(help: "A system message opening the conversation.")
    var system: String?

    @Option(name: .customLong("max-rounds"), help: "Rounds of tool calls per answer before the model must answer.")
    var maxRounds = FunctionCallingLoop.defaultMaxRounds

    func run() async throws {
        let setup = try await coordinator.load()
        defer { setup.stop() }
        let parameters = try sampling.parameters(config: setup.engine.pipeline.config)
        let loop = FunctionCallingLoop(engine: setup.engine, toolbox: setup.toolbox, parameters: parameters, maxRounds: maxRounds)
        var session = ChatSession(loop: loop, systemPrompt: system)
        let tools = setup.toolbox.names
        print("phi-coord chat: \(tools.isEmpty ? "no tools" : "tools: " + tools.joined(separator: ", ")). "
              + "Type a message; /reset starts over; an empty line or end of input quits.")
        while true {
            print("> ", terminator: "")
            fflush(nil)
            guard let line = readLine(), !line.isEmpty else { break }
            if line == "/reset" {
                session = ChatSession(loop: loop, systemPrompt: system)
                continue
            }
            let printer = StepPrinter()
            let summary = try await session.send(line) { printer.show($0) }
            printer.finish()
            if summary.finishReason == .length { print("[stopped at the token limit]") }
        }
    }
}
