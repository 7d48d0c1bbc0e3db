import Hummingbird
import PhiGeneration
import PhiTokenizer

/// Writes a generation as server-sent events: `data: {chunk}` lines, then `data: [DONE]`.
enum SSEStream {
    /// Streams `run` to `writer`, beginning with `first` (the event already taken from it); returns
    /// the status to record. When the client goes away, the first failed write cancels the
    /// generation (it stops at its next token).
    static func write(_ run: GenerationRun, first: GenerationEvent?, responses: OpenAIResponses,
                      to writer: inout any ResponseBodyWriter) async -> Int {
        var toolCallCount = 0
        var pending = first
        do {
            if responses.kind == .chat {
                try await send(responses.chunk(delta: ["role": "assistant", "content": ""]), to: &writer)
            }
            while let event = try await next(run, pending: &pending) {
                switch event {
                case let .progress(progress):
                    try await writer.write(ByteBuffer(string: OpenAIResponses.progressComment(progress)))
                    if responses.returnsProgress { try await send(responses.progressChunk(progress), to: &writer) }
                case .started:
                    break
                case let .text(text):
                    let delta: JSONValue = ["content": .string(text)]
                    try await send(responses.chunk(delta: delta, text: text), to: &writer)
                case let .toolCalls(calls):
                    let ids = calls.map { _ in "call_" + OpenAIResponses.randomID(24) }
                    for chunk in responses.toolCallChunks(calls, ids: ids, firstIndex: toolCallCount) {
                        try await send(chunk, to: &writer)
                    }
                    toolCallCount += calls.count
                case let .finished(summary):
                    try await send(responses.chunk(delta: [:], finishReason: summary.finishReason), to: &writer)
                    if responses.includeUsage { try await send(responses.usageChunk(summary), to: &writer) }
                }
            }
            try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
            try await writer.finish(nil)
            return 200
        } catch let failure as GenerationFailure {
            // Headers are sent: the error travels as an event, as OpenAI's streams do.
            let apiError = APIError.from(failure.error)
            try? await send(apiError.json, to: &writer)
            try? await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
            try? await writer.finish(nil)
            return Int(apiError.status.code)
        } catch {
            run.cancel()  // the client closed the connection
            return 499
        }
    }

    /// An error of the generation itself, as opposed to one writing to the client.
    struct GenerationFailure: Error {
        let error: any Error
    }

    private static func next(_ run: GenerationRun, pending: inout GenerationEvent?) async throws -> GenerationEvent? {
        if let event = pending {
            pending = nil
            return event
        }
        do {
            return try await run.channel.next()
        } catch {
            throw GenerationFailure(error: error)
        }
    }

    private static func send(_ value: JSONValue, to writer: inout any ResponseBodyWriter) async throws {
        try await writer.write(ByteBuffer(string: "data: " + value.serialized(.compact) + "\n\n"))
    }
}
