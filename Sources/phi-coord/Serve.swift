import ArgumentParser
import Foundation
import Logging
import PhiGeneration
import PhiServer
import PhiTokenizer

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serves the OpenAI-compatible HTTP API (chat completions, completions, models, health, metrics).")

    @OptionGroup var coordinator: CoordinatorOptions

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on (0: any free port, printed when listening).")
    var port = 8080

    @Option(name: .customLong("served-model-name"), help: "The model id clients use (default: the model directory's name).")
    var servedModelName: String?

    @Option(name: .customLong("default-max-tokens"), help: "max_tokens of requests that give none.")
    var defaultMaxTokens = 512

    func run() async throws {
        let setup = try coordinator.load()
        let name = servedModelName ?? setup.modelDirectory.lastPathComponent
        var logger = Logger(label: "phi-coord.serve")
        logger.logLevel = .notice
        let server = OpenAIServer(engine: setup.engine, configuration: .init(
            host: host, port: port, modelName: name, defaultMaxTokens: defaultMaxTokens), logger: logger)
        let host = self.host
        try await server.run { port in
            print("phi-coord serve: listening on http://\(host):\(port) (model '\(name)', context \(setup.engine.contextTokens))")
            fflush(nil)
        }
    }
}

/// How `serve`, `chat` and `run` find their model, tokenizer, tools and session limits.
///
/// `--manifest` gives the model and the tools (and, with the cluster, the workers); `--model`
/// runs every layer in this process. Today both build an in-process pipeline.
struct CoordinatorOptions: ParsableArguments {
    @Option(help: "Cluster manifest (TOML): model, tools, workers.")
    var manifest: String?

    @Option(help: "Model directory (config.json + safetensors), run in this process.")
    var model: String?

    @Option(name: .customLong("tools-manifest"), help: "A manifest whose [[tools]] to offer (with --model).")
    var toolsManifest: String?

    @Option(help: "Tokenizer directory (tokenizer.json, tokenizer_config.json; default: the model directory).")
    var tokenizer: String?

    @Option(name: .long, help: "Weight format: f32, f16, bf16, q8_0, q4_0 (default: as stored).")
    var quant: WeightFormat?

    @Option(name: .long, help: "Compute threads (default: the available cores).")
    var threads: Int?

    @Option(name: .long, help: "Context budget of each session in tokens (default: the manifest's, else 4096).")
    var context: Int?

    @Option(name: .long, help: "Tokens per prefill chunk.")
    var chunk: Int?

    @Option(name: .long, help: "Kernel instruction set: best, scalar, avx2, neon.")
    var kernels: KernelSet = .best

    @Option(name: .customLong("max-sessions"), help: "Sessions kept open at once (cached conversations).")
    var maxSessions = 8

    @Option(name: .customLong("max-cached-tokens"), help: "Tokens cached across sessions (default: 4 × context).")
    var maxCachedTokens: Int?

    /// A session budget of 4096 tokens by default: Phi-4-mini's short-factor range, and 1 GiB of
    /// float32 KV cache per full session.
    static let defaultContextTokens = 4096

    struct Setup {
        let engine: CompletionEngine
        let toolbox: Toolbox
        let modelDirectory: URL
    }

    func validate() throws {
        if (manifest == nil) == (model == nil) { throw ValidationError("give either --manifest FILE or --model DIR") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, not \(threads)") }
        if let context, context < 2 { throw ValidationError("--context must be at least 2, not \(context)") }
        if let chunk, chunk < 1 { throw ValidationError("--chunk must be at least 1, not \(chunk)") }
        if maxSessions < 1 { throw ValidationError("--max-sessions must be at least 1, not \(maxSessions)") }
    }

    func load() throws -> Setup {
        let manifest = try self.manifest.map { try Manifest.load(URL(fileURLWithPath: $0)) }
        let toolsManifest = try self.toolsManifest.map { try Manifest.load(URL(fileURLWithPath: $0)) }
        let modelDirectory = manifest?.modelPath ?? URL(fileURLWithPath: model ?? ".")
        let source = try ModelSource.open(modelDirectory)
        let tokenizerDirectory = tokenizer.map { URL(fileURLWithPath: $0) } ?? modelDirectory
        let tokenizer = try Tokenizer.load(directory: tokenizerDirectory, vocabularySize: source.config.vocabularySize)
        // The cluster pipeline over the manifest's workers replaces this in-process one.
        let pipeline = try LocalPipeline(model: source, format: quant ?? manifest?.quant,
                                         compute: try Compute(threads: threads ?? manifest?.threads, kernels: kernels))
        let contextTokens = min(context ?? manifest?.contextTokens ?? Self.defaultContextTokens, source.config.maxPositionEmbeddings)
        let limits = SessionStore.Limits(maxSessions: maxSessions, maxCachedTokens: maxCachedTokens ?? 4 * contextTokens,
                                         contextTokens: contextTokens)
        let engine = CompletionEngine(pipeline: pipeline, tokenizer: tokenizer, template: nil, limits: limits,
                                      chunkTokens: chunk ?? manifest?.chunkTokens ?? Generator.defaultChunkTokens)
        let toolbox = try Toolbox((manifest?.tools ?? []) + (toolsManifest?.tools ?? []))
        return Setup(engine: engine, toolbox: toolbox, modelDirectory: modelDirectory)
    }
}

extension ToolChoice: ExpressibleByArgument {
    /// `auto`, `none`, `required`, or a tool's name.
    public init?(argument: String) {
        switch argument {
        case "auto": self = .auto
        case "none": self = .none
        case "required": self = .required
        default: self = .function(argument)
        }
    }
}
