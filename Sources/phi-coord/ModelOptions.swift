import ArgumentParser
import Foundation
import PhiGeneration

/// Where the model is and how this process runs it.
struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: "Model directory (config.json + safetensors).")
    var model: String

    @Option(name: .long, help: "Weight format: f32, f16, bf16, q8_0, q4_0 (default: as stored).")
    var quant: WeightFormat?

    @Option(name: .long, help: "Compute threads (default: the available cores).")
    var threads: Int?

    @Option(name: .long, help: "Context budget in tokens of each session (default: prompt + max tokens).")
    var context: Int?

    @Option(name: .long, help: "Tokens per prefill chunk.")
    var chunk: Int = Generator.defaultChunkTokens

    @Option(name: .long, help: "Kernel instruction set: best, scalar, avx2, neon.")
    var kernels: KernelSet = .best

    func openModel() throws -> ModelSource {
        try ModelSource.open(URL(fileURLWithPath: model))
    }

    /// The embedded default: every layer in this process.
    func localPipeline(_ source: ModelSource) throws -> LocalPipeline {
        try LocalPipeline(model: source, format: quant, compute: try Compute(threads: threads, kernels: kernels))
    }

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, not \(threads)") }
        if let context, context < 1 { throw ValidationError("--context must be at least 1, not \(context)") }
        if chunk < 1 { throw ValidationError("--chunk must be at least 1, not \(chunk)") }
    }
}

extension WeightFormat: ExpressibleByArgument {}
extension KernelSet: ExpressibleByArgument {}

/// Output formats of the commands that print results.
enum OutputFormat: String, ExpressibleByArgument {
    case text, json
}

/// `--prompt-ids 1,2,3` or `--prompt-ids @FILE` (a JSON array of ids).
struct PromptIDs: ExpressibleByArgument {
    let ids: [Int]

    init?(argument: String) {
        if argument.hasPrefix("@") {
            let path = String(argument.dropFirst())
            guard let data = FileManager.default.contents(atPath: path),
                  let ids = try? JSONSerialization.jsonObject(with: data) as? [Int], !ids.isEmpty
            else { return nil }
            self.ids = ids
        } else {
            let parts = argument.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !parts.isEmpty, parts.allSatisfy({ $0 != nil }) else { return nil }
            ids = parts.compactMap { $0 }
        }
    }

    static var defaultValueDescription: String { "1,2,3 or @ids.json" }
}

/// Prints a JSON object on one line.
func printJSON(_ object: [String: Any]) throws {
    let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
    print(String(decoding: data, as: UTF8.self))
}
