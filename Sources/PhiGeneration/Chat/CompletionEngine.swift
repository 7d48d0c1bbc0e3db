import Foundation
import PhiCluster
import PhiTokenizer

/// Everything a request needs to turn a prompt into tokens: the pipeline, the tokenizer and its
/// constraint tables, and the session store that lets requests share cached prefixes. One per
/// coordinator, shared by every request (the server's, `chat`'s and `run`'s).
public struct CompletionEngine: Sendable {
    public let pipeline: any Pipeline
    public let tokenizer: Tokenizer
    public let vocabulary: TokenVocabulary
    public let template: ChatTemplate
    public let store: SessionStore
    public let chunkTokens: Int

    /// The outcome of one generation, with the session's reuse.
    public struct Completion: Sendable {
        public var result: GenerationResult
        /// Prompt tokens taken from the session's cache instead of being computed.
        public var cachedPromptTokens: Int { result.promptTokens - result.prefillTokensComputed }
    }

    public init(pipeline: any Pipeline, tokenizer: Tokenizer, template: ChatTemplate?, limits: SessionStore.Limits,
                chunkTokens: Int = Generator.defaultChunkTokens) {
        self.pipeline = pipeline
        self.tokenizer = tokenizer
        vocabulary = TokenVocabulary(tokenizer: tokenizer, vocabularySize: pipeline.config.vocabularySize)
        self.template = template ?? tokenizer.chatTemplate ?? .phi4Mini
        store = SessionStore(pipeline: pipeline, limits: limits)
        self.chunkTokens = chunkTokens
    }

    public var contextTokens: Int { store.limits.contextTokens }
    public var stopTokenIDs: Set<Int> { Set(pipeline.config.stopTokenIds) }

    /// The token ids of `messages` rendered with the chat template, ending in the assistant's turn.
    public func chatPrompt(_ messages: [ChatMessage], tools: [ToolDefinition]) throws(ChatTemplateError) -> [Int] {
        tokenizer.encode(try template.render(messages, tools: tools, addGenerationPrompt: true))
    }

    /// Generates after `prompt` in a leased session. `maxTokens` is cut to what the context leaves.
    /// - Throws: `EngineError.promptTooLong` before any work when the prompt does not fit the
    ///   context; the pipeline's errors; `CancellationError` when the task is cancelled (the
    ///   session is kept for reuse).
    public func generate(prompt: [Int], parameters: SamplingParameters, constraint: (any TokenConstraint)? = nil,
                         progress: (@Sendable (Int, Int) -> Void)? = nil,
                         onToken: (Int) async throws -> Bool) async throws -> Completion {
        guard !prompt.isEmpty else { throw EngineError.emptyPrompt }
        guard prompt.count < contextTokens else {
            throw EngineError.promptTooLong(promptTokens: prompt.count, contextTokens: contextTokens)
        }
        if let outside = prompt.first(where: { $0 < 0 || $0 >= pipeline.config.vocabularySize }) {
            throw EngineError.tokenOutOfRange(id: outside, vocabularySize: pipeline.config.vocabularySize)
        }
        var parameters = parameters
        parameters.maxTokens = min(parameters.maxTokens, contextTokens - prompt.count)
        let lease = try await store.acquire(prompt: prompt)
        let generator = Generator(pipeline: pipeline, chunkTokens: chunkTokens)
        do {
            let result = try await generator.generate(session: lease.session, prompt: prompt, parameters: parameters,
                                                      constraint: constraint, progress: progress, onToken: onToken)
            await store.release(lease, cachedTokens: try await pipeline.sessionLog(lease.session).tokens)
            return Completion(result: result)
        } catch {
            // A cancelled request leaves a valid cache; after a pipeline failure the state is unknown.
            if error is CancellationError, let log = try? await pipeline.sessionLog(lease.session) {
                await store.release(lease, cachedTokens: log.tokens)
            } else {
                await store.discard(lease)
            }
            throw error
        }
    }
}

/// Bans some tokens and allows every other (`tool_choice: none` bans `<|tool_call|>`).
public struct TokenBan: TokenConstraint {
    let vocabularySize: Int
    let banned: [Int]

    public init(vocabularySize: Int, banned: [Int]) {
        self.vocabularySize = vocabularySize
        self.banned = banned
    }

    public mutating func allowedTokens(remainingTokens: Int) -> TokenMask {
        var mask = TokenMask(count: vocabularySize, allowsAll: true)
        for id in banned { mask.remove(id) }
        return mask
    }

    public mutating func advance(_ token: Int) {}
    public var isComplete: Bool { false }
}

public enum EngineError: Error, Equatable, CustomStringConvertible {
    case emptyPrompt
    case promptTooLong(promptTokens: Int, contextTokens: Int)
    case tokenOutOfRange(id: Int, vocabularySize: Int)

    public var description: String {
        switch self {
        case .emptyPrompt: "the prompt is empty"
        case let .promptTooLong(prompt, context):
            "the prompt has \(prompt) tokens, but the context holds \(context) (at least one must be left to generate)"
        case let .tokenOutOfRange(id, size): "token id \(id) is outside the vocabulary (0..<\(size))"
        }
    }
}
