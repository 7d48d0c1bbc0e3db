import ArgumentParser
import Foundation
import PhiGeneration

struct Job: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Runs a long prompt as a resumable job on a cluster: checkpoints the token log here and each worker's KV slice on its disk.",
        discussion: """
            phi-coord job --job-dir DIR --manifest FILE --prompt-ids @ids.json … starts a job; after a coordinator or worker \
            restart, phi-coord job --resume DIR continues from its last checkpoint (the cluster flags are remembered; \
            flags given again replace them). The output equals an uninterrupted run's.
            """)

    @Option(name: .customLong("job-dir"), help: "Directory for a new job's token log and state.")
    var jobDir: String?

    @Option(help: "Directory of a job to continue from its last checkpoint.")
    var resume: String?

    @Option(name: .customLong("prompt-ids"), help: "Prompt token ids: 1,2,3 or @FILE with a JSON array.")
    var promptIDs: PromptIDs?

    @Option(name: .customLong("checkpoint-every"), help: "Tokens between checkpoints (rounded up to chunk ends).")
    var checkpointEvery: Int = 4096

    @Option(help: "Model directory (config.json + safetensors). Optional with --manifest.")
    var model: String?
    @Option(help: "Cluster manifest (TOML).")
    var manifest: String?
    @Option(help: "Workers in pipeline order, comma-separated.")
    var workers: String?
    @Option(name: .customLong("secret-file"), help: "Shared secret of the workers (with --workers).")
    var secretFile: String?
    @Option(name: .customLong("wire-dtype"), help: "Hidden states between workers: f32, f16, bf16.")
    var wireDType: String?
    @Option(help: "Context budget in tokens (default: prompt + max tokens).")
    var context: Int?
    @Option(help: "Tokens per prefill chunk (default: the manifest's, else 512).")
    var chunk: Int?
    @Option(help: "KV cache format of every worker: f32 (exact, the default), f16, q8_0.")
    var kv: String?

    @OptionGroup var sampling: SamplingOptions

    @Option(name: .long, help: "Output: text or json.")
    var format: OutputFormat = .text

    func validate() throws {
        if (jobDir == nil) == (resume == nil) { throw ValidationError("give --job-dir DIR for a new job or --resume DIR, not both") }
        if jobDir != nil && promptIDs == nil { throw ValidationError("a new job needs --prompt-ids") }
        if resume != nil && promptIDs != nil { throw ValidationError("a resumed job keeps its prompt; drop --prompt-ids") }
        if checkpointEvery < 1 { throw ValidationError("--checkpoint-every must be at least 1") }
    }

    /// The cluster flags given on this command line, as arguments of `ModelOptions` (paths made
    /// absolute, so a job resumes from any directory).
    var clusterArguments: [(String, String)] {
        let absolute = { (path: String?) in path.map { URL(fileURLWithPath: $0).standardizedFileURL.path } }
        return [("--model", absolute(model)), ("--manifest", absolute(manifest)), ("--workers", workers),
                ("--secret-file", absolute(secretFile)), ("--wire-dtype", wireDType), ("--context", context.map(String.init)),
                ("--chunk", chunk.map(String.init)), ("--kv", kv)]
            .compactMap { flag, value in value.map { (flag, $0) } }
    }

    func run() async throws {
        let directory = JobDirectory(URL(fileURLWithPath: resume ?? jobDir ?? "."))
        var arguments = clusterArguments
        if resume != nil {
            // Remembered flags, replaced by any given again.
            let stored = try directory.load().state.clusterArguments
            let given = Set(arguments.map(\.0))
            arguments = stride(from: 0, to: stored.count - 1, by: 2).map { (stored[$0], stored[$0 + 1]) }
                .filter { !given.contains($0.0) } + arguments
        }
        let modelOptions = try ModelOptions.parse(arguments.flatMap { [$0.0, $0.1] })
        guard modelOptions.manifest != nil || modelOptions.workers != nil else { throw JobError.needsCheckpointingPipeline }
        let source = try modelOptions.openModel()
        let configDigest = try source.fingerprint(layers: nil).configSHA256.map { String(format: "%02x", $0) }.joined()
        if let promptIDs {
            let parameters = try sampling.parameters(config: source.config)
            try LongJob.create(in: directory, prompt: promptIDs.ids, parameters: parameters, modelConfigSHA256: configDigest,
                               chunkTokens: modelOptions.chunkTokens, checkpointTokens: checkpointEvery,
                               contextTokens: modelOptions.contextBudget(needed: promptIDs.ids.count + parameters.maxTokens,
                                                                         config: source.config),
                               kvFormat: modelOptions.kvFormat, clusterArguments: arguments.flatMap { [$0.0, $0.1] })
        }
        let state = try directory.load().state
        guard let pipeline = try await modelOptions.pipeline(source, contextTokens: state.contextTokens) as? any CheckpointingPipeline else {
            throw JobError.needsCheckpointingPipeline
        }
        let reporter = ProgressReporter()
        defer { reporter.finish() }
        let textOutput = format == .text
        let outcome = try await LongJob(pipeline: pipeline, directory: directory).run(modelConfigSHA256: configDigest) { event in
            switch event {
            case let .resumed(tokens): reporter.note("resumed from the checkpoint of \(tokens) tokens")
            case let .prefill(progress): if progress.totalTokens > state.chunkTokens { reporter.show(progress) }
            case let .checkpoint(tokens): reporter.note("checkpoint: every worker saved positions up to \(tokens)")
            case let .token(token): if textOutput { print(token, terminator: " ") }
            }
        }
        switch format {
        case .json:
            try printJSON([
                "tokens": outcome.tokens, "finish_reason": outcome.finishReason.rawValue, "resumed_tokens": outcome.resumedTokens,
                "computed_tokens": outcome.computedTokens, "prefill_seconds": outcome.prefillDuration.seconds,
                "job_dir": directory.url.path,
            ])
        case .text:
            print("\n[\(outcome.tokens.count) tokens, \(outcome.finishReason.rawValue); resumed \(outcome.resumedTokens), "
                + "computed \(outcome.computedTokens) tokens]")
        }
    }
}
