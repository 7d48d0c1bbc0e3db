import Foundation
import PhiGeneration
import PhiTokenizer

/// What a running generation reports, in order: `progress` while a prompt longer than one chunk
/// is computed, `started` once the prompt is in the cache and the first token chosen, then text and
/// tool calls, then `finished`.
enum GenerationEvent: Sendable {
    case progress(PrefillProgress)
    case started
    case text(String)
    case toolCalls([ToolCall])
    case finished(GenerationSummary)
}

struct GenerationSummary: Sendable {
    var finishReason: String
    var promptTokens: Int
    var cachedPromptTokens: Int
    var completionTokens: Int
}

/// One request's generation, running in its own task and reporting through an `EventChannel`.
/// Cancelling the task (a closed connection) stops it at the next token; the engine keeps the
/// session's cache for the next request.
struct GenerationRun: Sendable {
    let channel = EventChannel<GenerationEvent>()
    let task: Task<Void, Never>

    /// - Parameter toolNames: the offered tools, when calls are to be parsed out of the text.
    init(engine: CompletionEngine, prompt: [Int], parameters: SamplingParameters, constraint: (any TokenConstraint)?,
         toolNames: [String]?, stops: [String], metrics: ServerMetrics) {
        let channel = self.channel
        task = Task {
            let start = ContinuousClock.now
            var isStarted = false
            var textFilter = StopSequenceFilter(stops: stops)
            var parser = toolNames.map { ToolCallParser(tokenizer: engine.tokenizer, toolNames: $0) }
            var detokenizer = StreamingDetokenizer(tokenizer: engine.tokenizer, skipSpecialTokens: true)
            var sawCalls = false
            func deliver(_ events: [ToolCallEvent]) async {
                for event in events {
                    switch event {
                    case let .text(text):
                        let safe = textFilter.feed(text)
                        if !safe.isEmpty { channel.send(.text(safe)) }
                    case let .toolCalls(calls, _):
                        sawCalls = true
                        channel.send(.toolCalls(calls))
                    case let .error(error):
                        // A call the client cannot use is shown as the text the model wrote.
                        let safe = textFilter.feed(Self.text(of: error))
                        if !safe.isEmpty { channel.send(.text(safe)) }
                    }
                }
            }
            await metrics.requestStarted()
            let meter = PrefillProgressMeter(start: start) { progress in
                if progress.doneTokens > 0 && !progress.isComplete { channel.send(.progress(progress)) }
            }
            do {
                let completion = try await engine.generate(prompt: prompt, parameters: parameters, constraint: constraint,
                                                           progress: meter.callback) { token in
                    try Task.checkCancellation()
                    if !isStarted {
                        isStarted = true
                        await metrics.recordFirstToken(after: ContinuousClock.now - start)
                        channel.send(.started)
                    }
                    if parser != nil {
                        let events = try parser?.feed(token) ?? []
                        await deliver(events)
                    } else {
                        await deliver([.text(try detokenizer.feed(token))])
                    }
                    return !textFilter.isStopped
                }
                if !isStarted { channel.send(.started) }
                await deliver(parser.map { var parser = $0; return parser.finish() } ?? [.text(detokenizer.finish())])
                let tail = textFilter.finish()
                if !tail.isEmpty { channel.send(.text(tail)) }
                let result = completion.result
                await metrics.recordGeneration(result)
                let reason = sawCalls ? "tool_calls" : (textFilter.isStopped ? "stop" : result.finishReason.rawValue)
                channel.send(.finished(GenerationSummary(
                    finishReason: reason, promptTokens: result.promptTokens, cachedPromptTokens: completion.cachedPromptTokens,
                    completionTokens: result.tokens.count)))
                channel.finish()
            } catch {
                if error is CancellationError || Task.isCancelled { await metrics.recordCancelled() }
                channel.finish(throwing: error)
            }
            await metrics.requestEnded()
        }
    }

    func cancel() { task.cancel() }

    /// The text a tool-call error quotes.
    static func text(of error: ToolCallError) -> String {
        switch error {
        case let .malformedJSON(text, _), let .notAList(text, _), let .missingName(text, _),
             let .invalidArguments(text, _, _), let .unterminated(text):
            "<|tool_call|>" + text
        case let .unknownTool(name, _):
            "<|tool_call|>[{\"name\": \"\(name)\", …}]"
        }
    }
}
