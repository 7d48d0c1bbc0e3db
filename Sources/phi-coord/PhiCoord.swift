import ArgumentParser

@main
struct PhiCoord: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "phi-coord",
        abstract: "Coordinates a phi-cluster: tokenizes, schedules layers across workers, samples, serves.",
        version: "0.1.0",
        subcommands: [Tokenize.self, Detokenize.self, Template.self, TokenizerBench.self])
}
