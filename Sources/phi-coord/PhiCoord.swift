import ArgumentParser
import PhiGeneration

@main
struct PhiCoord: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "phi-coord",
        abstract: "Coordinates a phi-cluster: tokenizes, schedules layers across workers, samples, serves.",
        version: PhiClusterVersion.current,
        subcommands: [
            Generate.self,
            Logits.self,
            Tokenize.self,
            Detokenize.self,
            Template.self,
            Plan.self,
            Synth.self,
            Up.self,
            TokenizerBench.self,
            Serve.self,
            Chat.self,
            Run.self,
            Bench.self,
        ])
}
