import Foundation
import PhiCluster
import PhiTokenizer

/// Phi-4-mini's function-calling loop on the coordinator: generate; when the model calls tools,
/// run them (validated), append their results as tool messages and generate again; stop at an
/// answer without calls. After `maxRounds` rounds of calls the model must answer in text.
public struct FunctionCallingLoop: Sendable {
    public let engine: CompletionEngine
    public let toolbox: Toolbox
    public var parameters: SamplingParameters
    public var maxRounds: Int
    /// Applies to the first round; later rounds are `auto` (the model has the results it asked for).
    public var toolChoice: ToolChoice

    /// What happens, in order, as it happens.
    public enum Event: Sendable, Equatable {
        /// Prompt tokens computed so far of those that were not cached.
        case prefill(done: Int, total: Int)
        /// Answer text as it streams.
        case text(String)
        case toolCall(ToolCall)
        case toolResult(name: String, outcome: ToolOutcome)
        /// A malformed call, shown to the model as an error result.
        case invalidCall(String)
        /// A round ended: tokens cached, computed and generated.
        case roundFinished(cachedPromptTokens: Int, computedPromptTokens: Int, generatedTokens: Int)
    }

    public struct Summary: Sendable, Equatable {
        public var rounds = 0
        public var finishReason = FinishReason.stop
        public var answer = ""
    }

    /// Rounds of tool calls before the model is made to answer (8, as agent front ends often allow).
    public static let defaultMaxRounds = 8

    public init(engine: CompletionEngine, toolbox: Toolbox, parameters: SamplingParameters,
                maxRounds: Int = FunctionCallingLoop.defaultMaxRounds, toolChoice: ToolChoice = .auto) {
        self.engine = engine
        self.toolChoice = toolChoice
        self.toolbox = toolbox
        self.parameters = parameters
        self.maxRounds = maxRounds
    }

    /// Answers the conversation's last message, appending every assistant and tool message to
    /// `messages`. `onEvent` is called from the generating task.
    public func respond(_ messages: inout [ChatMessage], onEvent: @escaping @Sendable (Event) -> Void) async throws -> Summary {
        var summary = Summary()
        while true {
            summary.rounds += 1
            let mustAnswer = summary.rounds > maxRounds || toolbox.specs.isEmpty
            let prompt = try engine.chatPrompt(messages, tools: toolbox.definitions)
            let choice: ToolChoice = mustAnswer ? .none : (summary.rounds == 1 ? toolChoice : .auto)
            let constraint = try choice.constraint(tools: toolbox.definitions, vocabulary: engine.vocabulary)
            var parser = ToolCallParser(tokenizer: engine.tokenizer, toolNames: nil)
            var text = ""
            var calls: [ToolCall] = []
            var problems: [String] = []
            func take(_ events: [ToolCallEvent]) {
                for event in events {
                    switch event {
                    case let .text(piece):
                        text += piece
                        onEvent(.text(piece))
                    case let .toolCalls(list, _): calls += list
                    case let .error(error): problems.append(error.description)
                    }
                }
            }
            let completion = try await engine.generate(
                prompt: prompt, parameters: parameters, constraint: constraint,
                progress: { done, total in onEvent(.prefill(done: done, total: total)) },
                onToken: { token in
                    take(try parser.feed(token))
                    return true
                })
            take(parser.finish())
            summary.finishReason = completion.result.finishReason
            onEvent(.roundFinished(cachedPromptTokens: completion.cachedPromptTokens,
                                   computedPromptTokens: completion.result.prefillTokensComputed,
                                   generatedTokens: completion.result.tokens.count))
            if calls.isEmpty && problems.isEmpty {
                messages.append(.assistant(text))
                summary.answer = text
                return summary
            }
            messages.append(.assistant(text.trimmingCharacters(in: .whitespacesAndNewlines), toolCalls: calls))
            for call in calls {
                onEvent(.toolCall(call))
                let outcome = await toolbox.call(call)
                onEvent(.toolResult(name: call.name, outcome: outcome))
                messages.append(.tool(outcome.messageContent))
            }
            for problem in problems {
                onEvent(.invalidCall(problem))
                messages.append(.tool(ToolOutcome.failure(problem).messageContent))
            }
        }
    }
}
