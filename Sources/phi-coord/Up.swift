import ArgumentParser
import Foundation
import Logging
import PhiGeneration
import PhiTokenizer

struct Up: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Starts the manifest's local workers, links the cluster, and answers a prompt (or chats on stdin).")

    @Option(help: "Cluster manifest (TOML).")
    var manifest: String

    @Option(help: "A question to answer (rendered with the model's chat template); without it, chat on stdin.")
    var prompt: String?

    @Option(name: .customLong("prompt-ids"), help: "A raw prompt as token ids instead (prints ids).")
    var promptIDs: PromptIDs?

    @Option(help: "Tokenizer directory (default: the manifest's tokenizer, else the model directory).")
    var tokenizer: String?

    @Option(help: "Context budget of a session in tokens (default: the manifest's, else 4096).")
    var context: Int?

    @Option(help: "Tokens per prefill chunk (default: the manifest's, else 512).")
    var chunk: Int?

    @Option(help: "KV cache format of every worker: f32 (exact), f16, q8_0 (default: the manifest's, else f32).")
    var kv: KVFormat?

    @OptionGroup var sampling: SamplingOptions

    @Option(name: .customLong("start-timeout"), help: "Seconds to wait for the local workers to load and listen.")
    var startTimeout: Int = 300

    func run() async throws {
        let manifest = try Manifest.load(URL(fileURLWithPath: self.manifest))
        let source = try ModelSource.open(manifest.modelPath)
        let contextTokens = context ?? manifest.contextTokens ?? min(4096, source.config.maxPositionEmbeddings)
        let kvFormat = kv ?? manifest.kvFormat ?? .f32
        let chunkTokens = chunk ?? manifest.chunkTokens ?? Generator.defaultChunkTokens
        let cluster = try await LaunchedCluster.launch(manifest: manifest, source: source, contextTokens: contextTokens,
                                                       kvFormat: kvFormat, chunkTokens: chunkTokens, startTimeout: .seconds(startTimeout))
        defer { cluster.stop() }
        let pipeline = cluster.pipeline
        FileHandle.standardError.write(Data("cluster up: \(await cluster.describe()) (logs in \(cluster.workers.logDirectory.path))\n".utf8))
        let parameters = try sampling.parameters(config: source.config)
        let generator = Generator(pipeline: pipeline, chunkTokens: chunkTokens)
        if let promptIDs {
            try await pipeline.openSession(SessionID(1), contextTokens: contextTokens)
            let progress = ProgressReporter()
            defer { progress.finish() }
            let result = try await generator.generate(
                session: SessionID(1), prompt: promptIDs.ids, parameters: parameters,
                progress: progress.meter(promptTokens: promptIDs.ids.count, chunkTokens: generator.chunkTokens)?.callback)
            print(result.tokens.map(String.init).joined(separator: " "))
            return
        }
        let tokenizerDirectory = tokenizer.map { URL(fileURLWithPath: $0) } ?? manifest.tokenizerPath
        var chat = try TextChat(tokenizer: try ModelTokenizer.load(for: source, directory: tokenizerDirectory), generator: generator,
                                contextTokens: contextTokens, parameters: parameters)
        if let prompt {
            try await chat.answer(prompt)
            return
        }
        FileHandle.standardError.write(Data("type a message, an empty line to quit\n".utf8))
        while let line = readLine(), !line.isEmpty {
            try await chat.answer(line)
        }
    }
}
