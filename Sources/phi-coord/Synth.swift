import ArgumentParser
import Foundation
import PhiGeneration

struct Synth: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Writes random bf16 weights with exactly the tensor names, shapes and shards of a model directory.")

    @Option(help: "Model directory to imitate (config.json and model.safetensors.index.json, or model.safetensors).")
    var like: String

    @Option(help: "Directory to write the synthetic checkpoint to.")
    var out: String

    @Option(help: "Random seed.")
    var seed: UInt64 = 1

    func run() async throws {
        var lastReport = ContinuousClock.now
        try SyntheticCheckpoint.write(like: URL(fileURLWithPath: like), to: URL(fileURLWithPath: out), seed: seed) { file, bytes in
            if ContinuousClock.now - lastReport > .seconds(2) {
                lastReport = ContinuousClock.now
                FileHandle.standardError.write(Data("\(file): \(ByteCount.format(bytes)) written\n".utf8))
            }
        }
        print("wrote \(out)")
    }
}
