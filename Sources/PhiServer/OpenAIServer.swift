import Hummingbird
import Logging
import NIOCore
import PhiGeneration

/// The OpenAI-compatible HTTP API (Hummingbird 2): `POST /v1/chat/completions`,
/// `POST /v1/completions`, `GET /v1/models`, `GET /health`, `GET /metrics`.
public struct OpenAIServer: Sendable {
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        /// The id clients name in `model` (and `/v1/models` lists).
        public var modelName: String
        /// `max_tokens` of a request that gives none.
        public var defaultMaxTokens: Int
        /// Request bodies larger than this are refused with 413 (a 128K-token prompt is well under
        /// the default of 16 MiB).
        public var maxBodyBytes: Int

        public init(host: String = "127.0.0.1", port: Int = 8080, modelName: String, defaultMaxTokens: Int = 512,
                    maxBodyBytes: Int = 16 << 20) {
            self.host = host
            self.port = port
            self.modelName = modelName
            self.defaultMaxTokens = defaultMaxTokens
            self.maxBodyBytes = maxBodyBytes
        }
    }

    public let engine: CompletionEngine
    public let configuration: Configuration
    public let metrics = ServerMetrics()
    let logger: Logger

    public init(engine: CompletionEngine, configuration: Configuration, logger: Logger = Logger(label: "phi-server")) {
        self.engine = engine
        self.configuration = configuration
        self.logger = logger
    }

    /// The routes, for a server or a test.
    public func makeRouter() -> Router<ServerRequestContext> {
        let service = OpenAIService(engine: engine, modelName: configuration.modelName,
                                    defaultMaxTokens: configuration.defaultMaxTokens, maxBodyBytes: configuration.maxBodyBytes,
                                    metrics: metrics)
        let router = Router(context: ServerRequestContext.self)
        router.add(middleware: OpenAIErrorMiddleware(metrics: metrics))
        router.post("/v1/chat/completions") { request, context in try await service.chatCompletions(request, connection: context.channel) }
        router.post("/v1/completions") { request, context in try await service.completions(request, connection: context.channel) }
        router.get("/v1/models") { _, _ in service.models() }
        router.get("/v1/models/:id") { _, context in try service.model(context.parameters.get("id") ?? "") }
        router.get("/health") { _, _ in await service.health() }
        router.get("/metrics") { _, _ in await service.metricsText() }
        return router
    }

    /// Serves until SIGINT or SIGTERM. `onListening` gets the bound port (useful with port 0).
    public func run(onListening: @escaping @Sendable (Int) -> Void = { _ in }) async throws {
        let application = Application(
            router: makeRouter(),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "phi-cluster"),
            onServerRunning: { channel in onListening(channel.localAddress?.port ?? 0) },
            logger: logger)
        try await application.runService()
    }
}
