import ArgumentParser
import Foundation
import Logging
import PhiGeneration

/// Where the layers run besides `--model`/`--manifest`, the same flags for every command that
/// loads a model: running workers (`--workers`, their secret and wire format) or this process (its
/// weight format, threads and kernels); and each session's KV format and prefill chunk.
struct LayerOptions: ParsableArguments {
    @Option(help: "Running workers in pipeline order, comma-separated: tcp://HOST:PORT,tcp://HOST:PORT (with --model).")
    var workers: String?

    @Option(name: .customLong("secret-file"), help: "Shared secret of the workers (with --workers); required for workers beyond loopback.")
    var secretFile: String?

    @Flag(help: "Let the coordinator listen beyond loopback without a secret file (with --workers): anyone who reaches it can fail the generation.")
    var insecure = false

    @Option(name: .customLong("wire-dtype"), help: "Hidden states between workers: f32 (exact), f16, bf16 (with --workers).")
    var wireDType: ActivationDType?

    @Option(name: .long, help: "Weight format in this process: f32, f16, bf16, q8_0, q4_0 (default: the manifest's, else as stored).")
    var quant: WeightFormat?

    @Option(name: .long, help: "Compute threads in this process (default: the manifest's, else the available cores).")
    var threads: Int?

    @Option(name: .long, help: "Tokens per prefill chunk (default: the manifest's, else 512).")
    var chunk: Int?

    @Option(name: .long, help: "KV cache format of every stage: f32 (exact, the default), f16, q8_0.")
    var kv: KVFormat?

    @Option(name: .long, help: "Kernel instruction set: best, scalar, avx2, neon.")
    var kernels: KernelSet = .best

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, not \(threads)") }
        if let chunk, chunk < 1 { throw ValidationError("--chunk must be at least 1, not \(chunk)") }
    }

    /// Tokens per prefill chunk: the flag, the manifest's, or the default.
    func chunkTokens(manifest: Manifest?) -> Int { chunk ?? manifest?.chunkTokens ?? Generator.defaultChunkTokens }

    /// The KV format: the flag, the manifest's, or f32 (exact).
    func kvFormat(manifest: Manifest?) -> KVFormat { kv ?? manifest?.kvFormat ?? .f32 }

    /// The workers of `--workers` as a pipeline, nil without the flag. They reserve `contextTokens`
    /// per session in `kvFormat`; the coordinator refuses, before any pass, workers that cannot.
    func connectWorkers(model source: ModelSource, contextTokens: Int, kvFormat: KVFormat,
                        chunkTokens: Int) async throws -> ClusterPipeline? {
        guard let workers else { return nil }
        var logger = Logger(label: "phi-coord")
        logger.logLevel = .warning
        let endpoints = workers.split(separator: ",").map { ClusterOptions.Endpoint(name: String($0), address: String($0)) }
        var options = ClusterOptions(workers: endpoints, secretFile: secretFile.map { URL(fileURLWithPath: $0) },
                                     wireDType: wireDType ?? .f32, contextTokens: contextTokens, kvFormat: kvFormat,
                                     chunkTokens: chunkTokens)
        options.transport.allowsInsecureListening = insecure
        return try await ClusterPipeline.connect(model: source, options: options, logger: logger)
    }

    /// Every layer in this process; the flags override a manifest's weight format and threads.
    func localPipeline(model source: ModelSource, manifest: Manifest?, kvFormat: KVFormat) throws -> LocalPipeline {
        try LocalPipeline(model: source, format: quant ?? manifest?.quant,
                          compute: try Compute(threads: threads ?? manifest?.threads, kernels: kernels), kvFormat: kvFormat)
    }
}
