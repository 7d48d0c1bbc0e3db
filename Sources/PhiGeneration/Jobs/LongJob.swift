import Foundation
import PhiCluster

/// A long prompt and its continuation, run so that it survives restarts: the coordinator keeps the
/// token log and the sampler's state in the job's directory, each worker keeps its slice of the KV
/// cache on its own disk, written every `checkpointTokens` at chunk boundaries while the next
/// chunks keep flowing through the ring. Run again on a job's directory, it restores the last
/// checkpoint, recomputes only the tokens after it, and continues with the same draws, so the
/// final output equals an uninterrupted run's.
public struct LongJob: Sendable {
    public let pipeline: any CheckpointingPipeline
    public let directory: JobDirectory
    public let session: SessionID

    /// What a running job reports.
    public enum Event: Sendable {
        /// The workers' caches were restored from the checkpoint of `tokens` positions.
        case resumed(tokens: Int)
        /// Tokens of the log being computed (the prompt, or what follows the checkpoint).
        case prefill(PrefillProgress)
        /// Every worker has saved positions up to `tokens`.
        case checkpoint(tokens: Int)
        case token(Int)
    }

    public struct Outcome: Sendable, Equatable {
        public var tokens: [Int]
        public var finishReason: FinishReason
        /// Positions restored from a checkpoint instead of computed (0 for a fresh start).
        public var resumedTokens: Int
        /// Tokens of the log computed by this run.
        public var computedTokens: Int
        public var prefillDuration: Duration
    }

    public init(pipeline: any CheckpointingPipeline, directory: JobDirectory, session: SessionID = SessionID(1)) {
        self.pipeline = pipeline
        self.directory = directory
        self.session = session
    }

    /// Creates a job's directory: its prompt, parameters and an empty log. `modelConfigSHA256` is
    /// the hex digest of the model's configuration (`ModelFingerprint.configSHA256`).
    public static func create(in directory: JobDirectory, prompt: [Int], parameters: SamplingParameters,
                              modelConfigSHA256: String, chunkTokens: Int, checkpointTokens: Int, contextTokens: Int,
                              kvFormat: KVFormat, clusterArguments: [String]) throws {
        let name = "job-" + (0..<8).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
        let state = JobState(name: name, modelConfigSHA256: modelConfigSHA256, promptTokens: prompt.count,
                             parameters: JobState.Parameters(parameters), chunkTokens: chunkTokens,
                             checkpointTokens: max(chunkTokens, checkpointTokens), contextTokens: contextTokens,
                             kvFormat: kvFormat, clusterArguments: clusterArguments,
                             samplerState: String(parameters.seed))
        try directory.create(state: state, prompt: prompt)
    }

    /// Runs the job from wherever its directory says it is, to its end.
    public func run(modelConfigSHA256: String, onEvent: @escaping @Sendable (Event) -> Void) async throws -> Outcome {
        let loaded = try directory.load()
        var state = loaded.state
        let prompt = loaded.prompt
        guard state.modelConfigSHA256 == modelConfigSHA256 else { throw JobError.otherModel(file: directory.stateFile.path) }
        if let reason = state.finishReason {
            return Outcome(tokens: state.generated, finishReason: FinishReason(rawValue: reason) ?? .length, resumedTokens: 0,
                           computedTokens: 0, prefillDuration: .zero)
        }
        try await pipeline.openSession(session, contextTokens: state.contextTokens)
        var log = prompt + state.generated
        // The cache must hold the whole log with the factors of its last position (docs/ARCHITECTURE.md,
        // "LongRoPE policy"); a checkpoint made with the other factors cannot serve.
        let factors = RopeFactorSet.forPass(endingAt: log.count - 1, config: pipeline.config)
        if let checkpoint = state.checkpoint, checkpoint.ropeFactors != factors {
            state.checkpoint = nil
            try directory.save(state)
        }
        var resumed = 0
        if let checkpoint = state.checkpoint {
            try await pipeline.restoreCheckpoint(session: session, job: state.name, tokens: Array(log[..<checkpoint.tokens]),
                                                 segmentEnds: checkpoint.segmentEnds, ropeFactors: checkpoint.ropeFactors)
            resumed = checkpoint.tokens
            onEvent(.resumed(tokens: resumed))
        }
        let prefillStart = ContinuousClock.now
        // The last position is always computed again: its logits choose the next token.
        let replayFrom = min(resumed, log.count - 1)
        if replayFrom < resumed { try await pipeline.truncate(session: session, toTokens: replayFrom) }
        var logits = try await replay(Array(log[replayFrom...]), from: replayFrom, factors: factors, state: &state, onEvent: onEvent)
        let prefillDuration = ContinuousClock.now - prefillStart
        let computed = log.count - replayFrom

        var sampler = Sampler(state.parameters.sampling)
        sampler.randomPosition = UInt64(state.samplerState) ?? state.parameters.seed
        let parameters = state.parameters.sampling
        let generator = Generator(pipeline: pipeline, chunkTokens: state.chunkTokens)
        var result = GenerationResult()
        var finish = FinishReason.length
        while state.generated.count < parameters.maxTokens {
            try Task.checkCancellation()
            let token = sampler.sample(logits, context: log)
            if parameters.stopTokenIds.contains(token) && !parameters.ignoreEOS {
                finish = .stop
                break
            }
            state.generated.append(token)
            state.samplerState = String(sampler.randomPosition)
            log.append(token)
            try directory.save(state)
            onEvent(.token(token))
            guard state.generated.count < parameters.maxTokens, log.count < state.contextTokens else { break }
            logits = try await generator.step(session: session, token: token, result: &result)
            try await checkpointDecode(log: log, state: &state, onEvent: onEvent)
        }
        state.finishReason = finish.rawValue
        try directory.save(state)
        await pipeline.closeSession(session)
        return Outcome(tokens: state.generated, finishReason: finish, resumedTokens: resumed, computedTokens: computed,
                       prefillDuration: prefillDuration)
    }

    /// Runs `tokens` (the log from `start`) through the pipeline in chunks, saving a checkpoint
    /// every `checkpointTokens` as their results come back while later chunks are still in
    /// flight, and one at the end. Returns the last position's logits.
    private func replay(_ tokens: [Int], from start: Int, factors: RopeFactorSet, state: inout JobState,
                        onEvent: @escaping @Sendable (Event) -> Void) async throws -> [Float] {
        let writer = CheckpointWriter(pipeline: pipeline, directory: directory, session: session, state: state,
                                      savedTokens: state.checkpoint?.tokens ?? start, factors: factors, onEvent: onEvent)
        let (positions, reached) = AsyncStream.makeStream(of: Int.self)
        let saving = Task {
            for await position in positions { try await writer.reached(position, isFinal: false) }
        }
        let meter = PrefillProgressMeter { onEvent(.prefill($0)) }
        let total = tokens.count
        let output: ForwardResult
        do {
            output = try await pipeline.append(session: session, tokens: tokens, ropeFactors: factors, logits: .last,
                                               chunkTokens: state.chunkTokens, progress: { done in
                                                   meter.callback(done, total)
                                                   reached.yield(start + done)
                                               })
        } catch {
            reached.finish()
            saving.cancel()
            throw error
        }
        reached.finish()
        try await saving.value
        try await writer.reached(start + tokens.count, isFinal: true)
        state = await writer.state
        guard let logits = output.lastLogits else { throw GeneratorError.missingLogits }
        return logits
    }

    /// During decoding: a new segment every `checkpointTokens` generated tokens; none while the
    /// cache is built with other factors than the checkpoint (it was re-run at 4096, so the next
    /// checkpoint starts again from position 0).
    private func checkpointDecode(log: [Int], state: inout JobState, onEvent: @Sendable (Event) -> Void) async throws {
        let cached = try await pipeline.sessionLog(session)
        guard let factors = cached.ropeFactors else { return }
        if let checkpoint = state.checkpoint, checkpoint.ropeFactors != factors {
            state.checkpoint = nil
            try directory.save(state)
        }
        let saved = state.checkpoint?.tokens ?? 0
        guard cached.tokens.count - saved >= state.checkpointTokens else { return }
        _ = try await pipeline.saveCheckpoint(session: session, job: state.name, positions: saved..<cached.tokens.count)
        var checkpoint = state.checkpoint ?? JobState.Checkpoint(segmentEnds: [], ropeFactors: factors)
        checkpoint.segmentEnds.append(cached.tokens.count)
        state.checkpoint = checkpoint
        try directory.save(state)
        onEvent(.checkpoint(tokens: cached.tokens.count))
    }
}

/// Saves segments as chunk results arrive and records each in `job.json` once every worker has
/// written it, one save at a time.
actor CheckpointWriter {
    let pipeline: any CheckpointingPipeline
    let directory: JobDirectory
    let session: SessionID
    let factors: RopeFactorSet
    let onEvent: @Sendable (LongJob.Event) -> Void
    private(set) var state: JobState
    private var savedTokens: Int

    init(pipeline: any CheckpointingPipeline, directory: JobDirectory, session: SessionID, state: JobState, savedTokens: Int,
         factors: RopeFactorSet, onEvent: @escaping @Sendable (LongJob.Event) -> Void) {
        self.onEvent = onEvent
        self.pipeline = pipeline
        self.directory = directory
        self.session = session
        self.state = state
        self.savedTokens = savedTokens
        self.factors = factors
    }

    /// Every stage holds positions up to `position`: save from the last checkpoint when an
    /// interval has passed (or whatever remains, when `isFinal`).
    func reached(_ position: Int, isFinal: Bool) async throws {
        guard position > savedTokens, isFinal || position - savedTokens >= state.checkpointTokens else { return }
        _ = try await pipeline.saveCheckpoint(session: session, job: state.name, positions: savedTokens..<position)
        var checkpoint = state.checkpoint ?? JobState.Checkpoint(segmentEnds: [], ropeFactors: factors)
        checkpoint.segmentEnds.append(position)
        state.checkpoint = checkpoint
        try directory.save(state)
        savedTokens = position
        onEvent(.checkpoint(tokens: position))
    }
}
