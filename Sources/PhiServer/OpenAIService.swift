import Foundation
import Hummingbird
import NIOCore
import PhiGeneration
import PhiTokenizer

/// The handlers of the OpenAI-compatible API over one `CompletionEngine`.
struct OpenAIService: Sendable {
    let engine: CompletionEngine
    let modelName: String
    let defaultMaxTokens: Int
    /// Bodies past this are refused with 413.
    let maxBodyBytes: Int
    let metrics: ServerMetrics

    // MARK: Routes

    func chatCompletions(_ request: Request, connection: (any Channel)?) async throws -> Response {
        let start = ContinuousClock.now
        let chat = try ChatCompletionRequest(try await fields(request))
        try checkModel(chat.model)
        let prompt: [Int]
        let constraint: (any TokenConstraint)?
        do {
            prompt = try engine.chatPrompt(chat.messages, tools: chat.tools)
            constraint = try makeConstraint(chat)
        } catch {
            throw APIError.from(error)
        }
        let offersTools = !chat.tools.isEmpty && chat.toolChoice != .none
        let run = try startRun(prompt: prompt, sampling: chat.sampling, constraint: constraint,
                            toolNames: offersTools ? chat.tools.map(\.name) : nil)
        var responses = OpenAIResponses(kind: .chat, model: modelName, includeUsage: chat.includeUsage)
        responses.returnsProgress = chat.returnProgress
        await cancel(run, whenClosed: connection)
        return try await respond(run, responses: responses, stream: chat.stream, endpoint: "chat", start: start)
    }

    func completions(_ request: Request, connection: (any Channel)?) async throws -> Response {
        let start = ContinuousClock.now
        let completion = try CompletionRequest(try await fields(request))
        try checkModel(completion.model)
        let prompt: [Int]
        switch completion.prompt {
        case let .text(text): prompt = engine.tokenizer.encode(text)
        case let .tokens(ids): prompt = ids
        }
        let run = try startRun(prompt: prompt, sampling: completion.sampling, constraint: nil, toolNames: nil)
        var responses = OpenAIResponses(kind: .text, model: modelName, includeUsage: completion.includeUsage)
        responses.returnsProgress = completion.returnProgress
        await cancel(run, whenClosed: connection)
        return try await respond(run, responses: responses, stream: completion.stream, endpoint: "completions", start: start)
    }

    /// A client that disconnects cancels its generation at once, whether it streams or waits for
    /// the whole answer: its session is released for the requests still waiting.
    private func cancel(_ run: GenerationRun, whenClosed connection: (any Channel)?) async {
        guard let connection, let watcher = try? await DisconnectWatcher.of(connection) else { return }
        let id = watcher.onDisconnect { run.cancel() }
        Task {
            await run.task.value
            watcher.remove(id)
        }
    }

    func models() -> Response {
        JSONResponse.make(["object": "list", "data": [modelJSON]])
    }

    func model(_ id: String) throws -> Response {
        try checkModel(id)
        return JSONResponse.make(modelJSON)
    }

    private var modelJSON: JSONValue {
        .object(JSONObject([("id", .string(modelName)), ("object", "model"), ("created", 0), ("owned_by", "phi-cluster"),
                            ("context_length", .integer(engine.contextTokens))]))
    }

    /// Each stage's state; 503 when any is not ready.
    func health() async -> Response {
        let stages = await engine.pipeline.health()
        let statistics = await engine.store.statistics
        let isHealthy = stages.allSatisfy { $0.state == .ready }
        let body: JSONValue = .object(JSONObject([
            ("status", .string(isHealthy ? "ok" : "degraded")),
            ("model", .string(modelName)),
            ("stages", .array(stages.map { stage in
                .object(JSONObject([
                    ("name", .string(stage.name)), ("address", stage.address.map(JSONValue.string) ?? .null),
                    ("layers", .string(LayerRangeText.format(stage.layers))), ("state", .string(stage.state.rawValue)),
                    ("detail", stage.detail.map(JSONValue.string) ?? .null),
                ]))
            })),
            ("sessions", .object(JSONObject([
                ("open", .integer(statistics.open)), ("in_use", .integer(statistics.inUse)),
                ("waiting", .integer(statistics.waiting)), ("cached_tokens", .integer(statistics.cachedTokens)),
            ]))),
        ]))
        return JSONResponse.make(body, status: isHealthy ? .ok : .serviceUnavailable)
    }

    func metricsText() async -> Response {
        let latencies = await (engine.pipeline as? any StageLatencyReporting)?.stageLatencies() ?? []
        let text = await metrics.render(store: engine.store.statistics, stages: engine.pipeline.health(), stageLatencies: latencies)
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                        body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    // MARK: Generation

    private func fields(_ request: Request) async throws -> RequestFields {
        let tooLarge = APIError(status: .contentTooLarge, message: "the request body is larger than \(maxBodyBytes) bytes "
            + "(the server's --max-body-bytes)", code: "request_too_large")
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > maxBodyBytes { throw tooLarge }
        var request = request
        do {
            let buffer = try await request.collectBody(upTo: maxBodyBytes)
            return try RequestFields(body: Array(buffer.readableBytesView))
        } catch is NIOTooManyBytesError {
            throw tooLarge
        }
    }

    private func checkModel(_ model: String?) throws(APIError) {
        guard let model, model != modelName else { return }
        throw APIError(status: .notFound, message: "the model '\(model)' does not exist; this server serves '\(modelName)'",
                       param: "model", code: "model_not_found")
    }

    private func makeConstraint(_ chat: ChatCompletionRequest) throws -> (any TokenConstraint)? {
        switch chat.toolChoice {
        case .required where !chat.allowsParallelCalls:
            return try ToolCallConstraint(tools: chat.tools, allowsSeveral: false, vocabulary: engine.vocabulary)
        case .required, .function:
            return try chat.toolChoice.constraint(tools: chat.tools, vocabulary: engine.vocabulary)
        case .none where chat.responseFormat == .text:
            return try chat.toolChoice.constraint(tools: chat.tools, vocabulary: engine.vocabulary)
        default:
            break
        }
        switch chat.responseFormat {
        case .text: return nil
        case .jsonObject: return try JSONConstraint.anyObject(vocabulary: engine.vocabulary, stopTokenIDs: engine.stopTokenIDs)
        case let .jsonSchema(schema):
            return JSONConstraint(graph: try SchemaGraph(schema: schema), vocabulary: engine.vocabulary,
                                  stopTokenIDs: engine.stopTokenIDs)
        }
    }

    private func startRun(prompt: [Int], sampling: SamplingRequest, constraint: (any TokenConstraint)?,
                       toolNames: [String]?) throws -> GenerationRun {
        // Checked here too so the error comes before any work, with both numbers.
        if prompt.count >= engine.contextTokens {
            throw APIError.from(EngineError.promptTooLong(promptTokens: prompt.count, contextTokens: engine.contextTokens))
        }
        let parameters = sampling.parameters(defaultMaxTokens: defaultMaxTokens, stopTokenIDs: engine.stopTokenIDs)
        return GenerationRun(engine: engine, prompt: prompt, parameters: parameters, constraint: constraint,
                             toolNames: toolNames, stops: sampling.stops, metrics: metrics)
    }

    /// Waits for the generation to start (so a failed prefill gets its own status), then answers
    /// whole or as a stream of server-sent events. A stream starts earlier, at the first progress
    /// report of a long prompt (one chunk is computed by then), so the client sees the prefill.
    private func respond(_ run: GenerationRun, responses: OpenAIResponses, stream: Bool, endpoint: String,
                         start: ContinuousClock.Instant) async throws -> Response {
        var first: GenerationEvent?
        do {
            while true {
                let event = try await withTaskCancellationHandler {
                    try await run.channel.next()  // `.progress`, `.started`, or the error that prevented it
                } onCancel: {
                    run.cancel()
                }
                if case .progress = event, !stream { continue }
                first = event
                break
            }
        } catch {
            run.cancel()
            throw APIError.from(error)  // recorded by the error middleware
        }
        if stream {
            let metrics = self.metrics
            let first = first
            return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
                            body: ResponseBody { writer in
                                let status = await SSEStream.write(run, first: first, responses: responses, to: &writer)
                                await metrics.recordRequest(endpoint: endpoint, status: status, duration: ContinuousClock.now - start)
                            })
        }
        var text = ""
        var calls: [ToolCall] = []
        do {
            while let event = try await withTaskCancellationHandler(operation: { try await run.channel.next() },
                                                                   onCancel: { run.cancel() }) {
                switch event {
                case .progress, .started: break
                case let .text(piece): text += piece
                case let .toolCalls(list): calls += list
                case let .finished(summary):
                    let ids = calls.map { _ in "call_" + OpenAIResponses.randomID(24) }
                    await metrics.recordRequest(endpoint: endpoint, status: 200, duration: ContinuousClock.now - start)
                    return JSONResponse.make(responses.complete(text: text, calls: calls, callIDs: ids, summary: summary))
                }
            }
        } catch {
            throw APIError.from(error)  // recorded by the error middleware
        }
        throw APIError(status: .internalServerError, message: "the generation ended without a result", type: "server_error")
    }
}
