import ArgumentParser
import Foundation
import Logging
import PhiGeneration

/// Where the model is and where its layers run: every layer in this process (the default), or a
/// cluster of phi-workers given by `--workers` or a `--manifest`.
struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: "Model directory (config.json + safetensors). Optional with --manifest.")
    var model: String?

    @Option(name: .long, help: "Cluster manifest (TOML): its workers run the layers.")
    var manifest: String?

    @Option(name: .long, help: "Workers in pipeline order, comma-separated: tcp://HOST:PORT,tcp://HOST:PORT.")
    var workers: String?

    @Option(name: .customLong("secret-file"), help: "Shared secret of the workers (with --workers).")
    var secretFile: String?

    @Option(name: .customLong("wire-dtype"), help: "Hidden states between workers: f32 (exact), f16, bf16 (with --workers).")
    var wireDType: ActivationDType?

    @Option(name: .long, help: "Weight format in this process: f32, f16, bf16, q8_0, q4_0 (default: as stored).")
    var quant: WeightFormat?

    @Option(name: .long, help: "Compute threads (default: the available cores).")
    var threads: Int?

    @Option(name: .long, help: "Context budget in tokens of each session (default: prompt + max tokens).")
    var context: Int?

    @Option(name: .long, help: "Tokens per prefill chunk (default: the manifest's, else 512).")
    var chunk: Int?

    @Option(name: .long, help: "KV cache format of every stage: f32 (exact, the default), f16, q8_0.")
    var kv: KVFormat?

    @Option(name: .long, help: "Kernel instruction set: best, scalar, avx2, neon.")
    var kernels: KernelSet = .best

    func validate() throws {
        if model == nil && manifest == nil { throw ValidationError("give --model DIR or --manifest FILE") }
        if manifest != nil && workers != nil { throw ValidationError("give --manifest or --workers, not both") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, not \(threads)") }
        if let context, context < 1 { throw ValidationError("--context must be at least 1, not \(context)") }
        if let chunk, chunk < 1 { throw ValidationError("--chunk must be at least 1, not \(chunk)") }
    }

    func loadManifest() throws -> Manifest? {
        try manifest.map { try Manifest.load(URL(fileURLWithPath: $0)) }
    }

    func openModel() throws -> ModelSource {
        if let model { return try ModelSource.open(URL(fileURLWithPath: model)) }
        guard let manifest = try loadManifest() else { throw ValidationError("give --model DIR or --manifest FILE") }
        return try ModelSource.open(manifest.modelPath)
    }

    var chunkTokens: Int { chunk ?? (try? loadManifest())?.chunkTokens ?? Generator.defaultChunkTokens }

    /// The context budget: the flag, the manifest's, or what the job needs.
    func contextBudget(needed: Int, config: ModelConfig) -> Int {
        context ?? (try? loadManifest())?.contextTokens ?? min(needed, config.maxPositionEmbeddings)
    }

    /// The KV format: the flag, the manifest's, or f32 (exact).
    var kvFormat: KVFormat { kv ?? (try? loadManifest())?.kvFormat ?? .f32 }

    /// The pipeline the options describe. A cluster's workers reserve `contextTokens` per session
    /// in `kvFormat`; the coordinator refuses, before any pass, workers that cannot hold that.
    func pipeline(_ source: ModelSource, contextTokens: Int) async throws -> any Pipeline {
        var logger = Logger(label: "phi-coord")
        logger.logLevel = .warning
        if let manifest = try loadManifest() {
            try manifest.checkLayerOrderIfGiven(layerCount: source.config.layerCount)
            var options = ClusterOptions(manifest: manifest, contextTokens: contextTokens)
            options.kvFormat = kvFormat
            options.chunkTokens = chunkTokens
            return try await ClusterPipeline.connect(model: source, options: options, logger: logger)
        }
        if let workers {
            let endpoints = workers.split(separator: ",").map { ClusterOptions.Endpoint(name: String($0), address: String($0)) }
            let options = ClusterOptions(workers: endpoints, secretFile: secretFile.map { URL(fileURLWithPath: $0) },
                                         wireDType: wireDType ?? .f32, contextTokens: contextTokens, kvFormat: kvFormat,
                                         chunkTokens: chunkTokens)
            return try await ClusterPipeline.connect(model: source, options: options, logger: logger)
        }
        return try LocalPipeline(model: source, format: quant, compute: try Compute(threads: threads, kernels: kernels),
                                 kvFormat: kvFormat)
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
