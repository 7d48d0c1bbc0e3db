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

    @Option(name: .customLong("max-body-bytes"), help: "Request bodies larger than this get 413 (default 16 MiB).")
    var maxBodyBytes = 16 << 20

    func run() async throws {
        let setup = try await coordinator.load()
        defer { setup.stop() }
        let name = servedModelName ?? Self.modelName(setup.modelPath)
        var logger = Logger(label: "phi-coord.serve")
        logger.logLevel = .notice
        let server = OpenAIServer(engine: setup.engine, configuration: .init(
            host: host, port: port, modelName: name, defaultMaxTokens: defaultMaxTokens, maxBodyBytes: maxBodyBytes), logger: logger)
        let host = self.host
        try await server.run { port in
            print("phi-coord serve: listening on http://\(host):\(port) (model '\(name)', context \(setup.engine.contextTokens))")
            fflush(nil)
        }
    }

    /// A GGUF file's name without its extension; a directory's name.
    static func modelName(_ path: URL) -> String {
        path.pathExtension.lowercased() == "gguf" ? path.deletingPathExtension().lastPathComponent : path.lastPathComponent
    }
}

/// How `serve`, `chat` and `run` find their model, tokenizer, tools and session limits, and
/// where the layers run.
///
/// `--manifest` gives the model, the tools and the workers: those marked `local = true` are
/// started on this machine (as `up` does) unless something already listens at their address, and
/// the coordinator links the ring. `--workers` names running workers instead. `--model` alone
/// runs every layer in this process; a manifest without workers does too.
struct CoordinatorOptions: ParsableArguments {
    @Option(help: "Cluster manifest (TOML): model, tools, workers.")
    var manifest: String?

    @Option(help: "Model directory (config.json + safetensors) or GGUF file.")
    var model: String?

    @Option(name: .customLong("tools-manifest"), help: "A manifest whose [[tools]] to offer (with --model).")
    var toolsManifest: String?

    @Option(help: "Tokenizer directory (tokenizer.json, tokenizer_config.json; default: the manifest's, else the model's).")
    var tokenizer: String?

    @OptionGroup var layers: LayerOptions

    @Option(name: .long, help: "Context budget of each session in tokens (default: the manifest's, else 4096).")
    var context: Int?

    @Option(name: .customLong("max-sessions"), help: "Sessions kept open at once (cached conversations).")
    var maxSessions = 8

    @Option(name: .customLong("max-cached-tokens"), help: "Tokens cached across sessions (default: 4 × context).")
    var maxCachedTokens: Int?

    @Option(name: .customLong("start-timeout"), help: "Seconds to wait for a manifest's local workers to load and listen.")
    var startTimeout: Int = 300

    /// A session budget of 4096 tokens by default: Phi-4-mini's short-factor range, and 1 GiB of
    /// float32 KV cache per full session.
    static let defaultContextTokens = 4096

    struct Setup {
        let engine: CompletionEngine
        let toolbox: Toolbox
        let modelPath: URL
        /// The manifest's cluster, when its workers run the layers.
        let cluster: LaunchedCluster?

        /// Stops the local workers this command started.
        func stop() { cluster?.stop() }
    }

    /// Checked by the commands that need a model (`run --resume` takes it from the job).
    func requireModel() throws {
        if (manifest == nil) == (model == nil) { throw ValidationError("give either --manifest FILE or --model DIR") }
    }

    func validate() throws {
        if manifest != nil && model != nil { throw ValidationError("give either --manifest FILE or --model DIR, not both") }
        if manifest != nil && layers.workers != nil { throw ValidationError("give --manifest or --workers, not both") }
        if let context, context < 2 { throw ValidationError("--context must be at least 2, not \(context)") }
        if maxSessions < 1 { throw ValidationError("--max-sessions must be at least 1, not \(maxSessions)") }
        if startTimeout < 1 { throw ValidationError("--start-timeout must be at least 1, not \(startTimeout)") }
    }

    func load() async throws -> Setup {
        try requireModel()
        let manifest = try self.manifest.map { try Manifest.load(URL(fileURLWithPath: $0)) }
        let toolsManifest = try self.toolsManifest.map { try Manifest.load(URL(fileURLWithPath: $0)) }
        let modelPath = manifest?.modelPath ?? URL(fileURLWithPath: model ?? ".")
        let source = try ModelSource.open(modelPath)
        let tokenizerDirectory = tokenizer.map { URL(fileURLWithPath: $0) } ?? manifest?.tokenizerPath
        let tokenizer = try ModelTokenizer.load(for: source, directory: tokenizerDirectory)
        let template = try ModelTokenizer.chatTemplate(of: tokenizer)
        let contextTokens = min(context ?? manifest?.contextTokens ?? Self.defaultContextTokens, source.config.maxPositionEmbeddings)
        let chunkTokens = layers.chunkTokens(manifest: manifest)
        let kvFormat = layers.kvFormat(manifest: manifest)
        let toolbox = try Toolbox((manifest?.tools ?? []) + (toolsManifest?.tools ?? []))
        let pipeline: any Pipeline
        var cluster: LaunchedCluster?
        if let manifest, !manifest.workers.isEmpty {
            let launched = try await LaunchedCluster.launch(manifest: manifest, source: source, contextTokens: contextTokens,
                                                            kvFormat: kvFormat, chunkTokens: chunkTokens,
                                                            startTimeout: .seconds(startTimeout))
            FileHandle.standardError.write(Data("cluster up: \(await launched.describe()) (logs in \(launched.workers.logDirectory.path))\n".utf8))
            pipeline = launched.pipeline
            cluster = launched
        } else if let workers = try await layers.connectWorkers(model: source, contextTokens: contextTokens, kvFormat: kvFormat,
                                                                chunkTokens: chunkTokens) {
            pipeline = workers
        } else {
            pipeline = try layers.localPipeline(model: source, manifest: manifest, kvFormat: kvFormat)
        }
        let limits = SessionStore.Limits(maxSessions: maxSessions, maxCachedTokens: maxCachedTokens ?? 4 * contextTokens,
                                         contextTokens: contextTokens)
        let engine = CompletionEngine(pipeline: pipeline, tokenizer: tokenizer, template: template, limits: limits,
                                      chunkTokens: chunkTokens)
        return Setup(engine: engine, toolbox: toolbox, modelPath: modelPath, cluster: cluster)
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
