import ArgumentParser
import Foundation
import Logging
import PhiGeneration

/// Where the model is and where its layers run: every layer in this process (the default), or a
/// cluster of phi-workers given by `--workers` or a `--manifest`.
struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: "Model directory (config.json + safetensors) or GGUF file. Optional with --manifest.")
    var model: String?

    @Option(name: .long, help: "Cluster manifest (TOML): its workers run the layers.")
    var manifest: String?

    @OptionGroup var layers: LayerOptions

    @Option(name: .long, help: "Context budget in tokens of each session (default: the manifest's, else prompt + max tokens).")
    var context: Int?

    func validate() throws {
        if model == nil && manifest == nil { throw ValidationError("give --model DIR or --manifest FILE") }
        if manifest != nil && layers.workers != nil { throw ValidationError("give --manifest or --workers, not both") }
        if let context, context < 1 { throw ValidationError("--context must be at least 1, not \(context)") }
    }

    func loadManifest() throws -> Manifest? {
        try manifest.map { try Manifest.load(URL(fileURLWithPath: $0)) }
    }

    func openModel() throws -> ModelSource {
        if let model { return try ModelSource.open(URL(fileURLWithPath: model)) }
        guard let manifest = try loadManifest() else { throw ValidationError("give --model DIR or --manifest FILE") }
        return try ModelSource.open(manifest.modelPath)
    }

    var chunkTokens: Int { layers.chunkTokens(manifest: try? loadManifest()) }

    /// The context budget: the flag, the manifest's, or what the job needs; never beyond the
    /// model's longest context (as `serve` does).
    func contextBudget(needed: Int, config: ModelConfig) -> Int {
        min(context ?? (try? loadManifest())?.contextTokens ?? needed, config.maxPositionEmbeddings)
    }

    /// The KV format: the flag, the manifest's, or f32 (exact).
    var kvFormat: KVFormat { layers.kvFormat(manifest: try? loadManifest()) }

    /// The pipeline the options describe: a manifest's workers (already running), `--workers`, or
    /// every layer in this process. Workers reserve `contextTokens` per session in `kvFormat`; the
    /// coordinator refuses, before any pass, workers that cannot hold that.
    func pipeline(_ source: ModelSource, contextTokens: Int) async throws -> any Pipeline {
        let manifest = try loadManifest()
        if let manifest, !manifest.workers.isEmpty {
            var logger = Logger(label: "phi-coord")
            logger.logLevel = .warning
            try manifest.checkLayerOrderIfGiven(layerCount: source.config.layerCount)
            // The secret an earlier `phi-coord up` made beside the manifest, if it names none.
            var options = ClusterOptions(manifest: manifest.withExistingGeneratedSecret, contextTokens: contextTokens)
            options.transport.allowsInsecureListening = options.transport.allowsInsecureListening || layers.insecure
            options.kvFormat = kvFormat
            options.chunkTokens = chunkTokens
            return try await ClusterPipeline.connect(model: source, options: options, logger: logger)
        }
        if let cluster = try await layers.connectWorkers(model: source, contextTokens: contextTokens, kvFormat: kvFormat,
                                                         chunkTokens: chunkTokens) {
            return cluster
        }
        return try layers.localPipeline(model: source, manifest: manifest, kvFormat: kvFormat)
    }
}

extension WeightFormat: ExpressibleByArgument {}
extension KernelSet: ExpressibleByArgument {}
extension ActivationDType: ExpressibleByArgument {}

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
