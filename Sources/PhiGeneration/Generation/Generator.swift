import Foundation
import PhiCluster

/// Why a generation ended.
public enum FinishReason: String, Sendable, Equatable {
    /// A stop id was sampled (or a caller's stop condition was met).
    case stop
    /// `maxTokens` or the session's context budget was reached.
    case length
}

/// The outcome of one generation.
public struct GenerationResult: Sendable, Equatable {
    public var tokens: [Int] = []
    public var finishReason: FinishReason = .length
    /// Prompt tokens in the request.
    public var promptTokens = 0
    /// Prompt tokens actually run through the pipeline (the rest came from the session's cache).
    public var prefillTokensComputed = 0
    /// Tokens run again because the LongRoPE factors switched mid-session.
    public var replayedTokens = 0
    public var prefillDuration: Duration = .zero
    public var decodeDuration: Duration = .zero
    /// Time spent computing constrained-decoding masks (part of `decodeDuration`).
    public var constraintDuration: Duration = .zero
}

/// Runs prompts through a pipeline and samples continuations, applying the LongRoPE policy of
/// docs/ARCHITECTURE.md: a pass uses the short factors while its highest position is below
/// `original_max_position_embeddings` and the long ones beyond; when a session built with the
/// short factors reaches that position, its whole sequence is run again with the long factors
/// (as transformers does), so results equal the reference's at any length.
public struct Generator: Sendable {
    public let pipeline: any Pipeline
    /// Tokens per prefill pass through the pipeline.
    public var chunkTokens: Int

    /// 512 tokens per chunk: large enough to keep matmuls efficient, small enough that a ring of
    /// workers has several chunks in flight on long prompts.
    public static let defaultChunkTokens = 512

    public init(pipeline: any Pipeline, chunkTokens: Int = Generator.defaultChunkTokens) {
        self.pipeline = pipeline
        self.chunkTokens = chunkTokens
    }

    /// Makes the session's cache hold `prompt` and returns the logits of its last position. Reuses
    /// the longest cached prefix that is still valid (same tokens, same LongRoPE factors).
    public func prefill(session: SessionID, prompt: [Int], result: inout GenerationResult,
                        progress: (@Sendable (Int, Int) -> Void)? = nil) async throws -> [Float] {
        let output = try await prefillPass(session: session, prompt: prompt, result: &result, progress: progress, request: .last)
        guard let logits = output.lastLogits else { throw GeneratorError.missingLogits }
        return logits
    }

    /// `prefill`, returning what `request` asks of the last position.
    func prefillPass(session: SessionID, prompt: [Int], result: inout GenerationResult,
                     progress: (@Sendable (Int, Int) -> Void)?, request: LogitsRequest) async throws -> ForwardResult {
        guard !prompt.isEmpty else { throw PipelineError.emptyPass }
        let factors = RopeFactorSet.forPass(endingAt: prompt.count - 1, config: pipeline.config)
        let cached = try await pipeline.sessionLog(session)
        var reuse = zip(cached.tokens, prompt).prefix { $0 == $1 }.count
        reuse = min(reuse, prompt.count - 1)  // the last prompt token must run to give its logits
        if cached.ropeFactors != nil && cached.ropeFactors != factors { reuse = 0 }
        try await pipeline.truncate(session: session, toTokens: reuse)
        let fresh = Array(prompt[reuse...])
        let total = fresh.count
        let start = ContinuousClock.now
        let output = try await pipeline.append(session: session, tokens: fresh, ropeFactors: factors, logits: request,
                                               chunkTokens: chunkTokens,
                                               progress: progress.map { report in { @Sendable done in report(done, total) } })
        result.promptTokens = prompt.count
        result.prefillTokensComputed += fresh.count
        result.prefillDuration += ContinuousClock.now - start
        return output
    }

    /// Runs `token` at the session's next position and returns its logits, re-running the whole
    /// sequence with the long factors when this position crosses into them.
    public func step(session: SessionID, token: Int, result: inout GenerationResult) async throws -> [Float] {
        let output = try await stepPass(session: session, token: token, result: &result, request: .last)
        guard let logits = output.lastLogits else { throw GeneratorError.missingLogits }
        return logits
    }

    /// `step`, returning what `request` asks of the new position.
    func stepPass(session: SessionID, token: Int, result: inout GenerationResult,
                  request: LogitsRequest) async throws -> ForwardResult {
        let cached = try await pipeline.sessionLog(session)
        let position = cached.tokens.count
        let factors = RopeFactorSet.forPass(endingAt: position, config: pipeline.config)
        let output: ForwardResult
        if let cachedFactors = cached.ropeFactors, cachedFactors != factors {
            try await pipeline.truncate(session: session, toTokens: 0)
            output = try await pipeline.append(session: session, tokens: cached.tokens + [token], ropeFactors: factors,
                                               logits: request, chunkTokens: chunkTokens, progress: nil)
            result.replayedTokens += cached.tokens.count
        } else {
            output = try await pipeline.append(session: session, tokens: [token], ropeFactors: factors, logits: request,
                                               chunkTokens: 1, progress: nil)
        }
        return output
    }

    /// Generates up to `parameters.maxTokens` tokens after `prompt` in `session` (opened by the
    /// caller with its context budget). `onToken` sees each token as it is chosen and returns
    /// false to stop early (a closed stream, a stop string).
    public func generate(session: SessionID, prompt: [Int], parameters: SamplingParameters,
                         constraint: (any TokenConstraint)? = nil,
                         progress: (@Sendable (Int, Int) -> Void)? = nil,
                         onToken: (Int) async throws -> Bool = { _ in true }) async throws -> GenerationResult {
        var result = GenerationResult()
        // A greedy choice needs only the argmax: the pipeline's last stage sends one id, not the
        // vocabulary's logits (the same token: both take the first of equal maxima).
        let request: LogitsRequest = constraint == nil && parameters.temperature == 0 && parameters.repetitionPenalty == 1
            ? .lastArgmax : .last
        var output = try await prefillPass(session: session, prompt: prompt, result: &result, progress: progress,
                                           request: request)
        let budget = try await pipeline.sessionLog(session).contextTokens
        let decodeStart = ContinuousClock.now
        do {
            result.finishReason = try await decode(session: session, context: prompt, output: &output, request: request,
                                                   budget: budget, parameters: parameters, constraint: constraint,
                                                   result: &result, onToken: onToken)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw GenerationInterrupted(tokens: result.tokens, cause: error)
        }
        result.decodeDuration = ContinuousClock.now - decodeStart
        return result
    }

    /// Samples, emits and runs tokens until a stop id, `onToken` declining, a complete
    /// constrained output, `maxTokens` or the context budget.
    private func decode(session: SessionID, context prompt: [Int], output: inout ForwardResult, request: LogitsRequest,
                        budget: Int, parameters: SamplingParameters, constraint: (any TokenConstraint)?,
                        result: inout GenerationResult, onToken: (Int) async throws -> Bool) async throws -> FinishReason {
        var sampler = Sampler(parameters)
        var constraint = constraint
        var context = prompt
        while result.tokens.count < parameters.maxTokens {
            try Task.checkCancellation()
            let token: Int
            if request == .lastArgmax {
                guard let best = output.argmax?.last else { throw GeneratorError.missingLogits }
                token = best
            } else if var active = constraint {
                guard let logits = output.lastLogits else { throw GeneratorError.missingLogits }
                let maskStart = ContinuousClock.now
                let remaining = min(parameters.maxTokens - result.tokens.count, budget - context.count)
                let mask = active.allowedTokens(remainingTokens: remaining)
                constraint = active
                result.constraintDuration += ContinuousClock.now - maskStart
                token = sampler.sample(logits, context: context, mask: mask)
            } else {
                guard let logits = output.lastLogits else { throw GeneratorError.missingLogits }
                token = sampler.sample(logits, context: context)
            }
            if parameters.stopTokenIds.contains(token) && !parameters.ignoreEOS { return .stop }
            result.tokens.append(token)
            context.append(token)
            constraint?.advance(token)
            if try await !onToken(token) || constraint?.isComplete == true { return .stop }
            guard result.tokens.count < parameters.maxTokens, context.count < budget else { return .length }
            output = try await stepPass(session: session, token: token, result: &result, request: request)
        }
        return .length
    }
}

/// Limits which tokens may come next (constrained decoding: a JSON schema, a tool call).
public protocol TokenConstraint: Sendable {
    /// The tokens that may be sampled next, when at most `remainingTokens` tokens (this one
    /// included) may still be generated. Stop ids are in it only where the output may end.
    mutating func allowedTokens(remainingTokens: Int) -> TokenMask
    /// Records that `token` was emitted.
    mutating func advance(_ token: Int)
    /// True once the constrained output is complete, which ends the generation.
    var isComplete: Bool { get }
}

/// A generation that failed after it had produced tokens (a worker died and no spare could take
/// over): the tokens generated so far, and why it stopped.
public struct GenerationInterrupted: Error, CustomStringConvertible {
    public let tokens: [Int]
    public let cause: any Error

    public var description: String {
        "\(cause); tokens generated before the failure (\(tokens.count)): \(tokens.map(String.init).joined(separator: ","))"
    }
}

public enum GeneratorError: Error, CustomStringConvertible {
    case missingLogits

    public var description: String {
        switch self {
        case .missingLogits: "the last stage returned no logits"
        }
    }
}

