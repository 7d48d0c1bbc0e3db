import Foundation
import Logging
import PhiModel

/// The model's layers spread over phi-workers in a ring: the coordinator sends each micro-batch
/// (token ids) to the first worker, every worker forwards its output to the next, and the last
/// sends the result back to the coordinator's listener. Several micro-batches (prefill chunks,
/// other sessions) are in flight at once, so the workers compute at the same time.
///
/// Workers are pinged continuously; a dead one fails the passes in flight at once, and, when the
/// cluster has a spare, the spare loads its layers, the ring is re-linked and every session's
/// caches are rebuilt from the token logs kept here, after which the interrupted passes run again.
public actor ClusterPipeline: Pipeline {
    public nonisolated let config: ModelConfig
    let options: ClusterOptions
    let model: ModelSource
    let logger: Logger
    let authenticator: WireAuthenticator
    let identity: CoordinatorIdentity
    let listener: ReplyListener
    let router = ResultRouter()

    struct Link {
        var name: String
        var connection: PeerConnection
        var layers: Range<Int>
        /// The format its weights are held in (a spare taking over loads the same).
        var weightFormat: WireWeightFormat
        var isDown = false
        var downReason: String?
    }

    var links: [Link] = []
    var spares: [(endpoint: ClusterOptions.Endpoint, connection: PeerConnection)] = []
    var sessions: [SessionID: SessionLog] = [:]
    var nextSequence: [SessionID: UInt64] = [:]
    var failover: Task<Void, any Error>?
    var monitors: [String: Task<Void, Never>] = [:]

    init(model: ModelSource, options: ClusterOptions, logger: Logger, authenticator: WireAuthenticator,
         identity: CoordinatorIdentity, listener: ReplyListener) {
        config = model.config
        self.model = model
        self.options = options
        self.logger = logger
        self.authenticator = authenticator
        self.identity = identity
        self.listener = listener
    }

    /// The workers' names, addresses and layers, in pipeline order.
    public var stages: [(name: String, address: String, layers: Range<Int>)] {
        links.map { ($0.name, $0.connection.address, $0.layers) }
    }

    public func openSession(_ session: SessionID, contextTokens: Int) async throws {
        guard contextTokens <= options.contextTokens else {
            throw PipelineError.contextExceeded(session: session, needed: contextTokens, budget: options.contextTokens)
        }
        try await awaitHealthyRing()
        try await resetOnWorkers(session)
        sessions[session] = SessionLog(contextTokens: contextTokens)
        // Sequences start at a random point, so results and reports of an earlier coordinator's
        // frames still travelling the ring (it died mid-prefill) never match this one's.
        nextSequence[session] = nextSequence[session] ?? UInt64.random(in: 1...(1 << 48))
    }

    public func closeSession(_ session: SessionID) async {
        sessions[session] = nil
        try? await resetOnWorkers(session)
    }

    public func sessionLog(_ session: SessionID) throws -> SessionLog {
        guard let log = sessions[session] else { throw PipelineError.unknownSession(session) }
        return log
    }

    public func truncate(session: SessionID, toTokens tokens: Int) async throws {
        guard var log = sessions[session] else { throw PipelineError.unknownSession(session) }
        guard tokens < log.tokens.count else { return }
        try await awaitHealthyRing()
        for link in links {
            _ = try await link.connection.requestAck(.trimKV(TrimKV(sessionID: session.rawValue, keepTokens: tokens)))
        }
        log.truncate(toTokens: tokens)
        sessions[session] = log
    }

    public func append(session: SessionID, tokens: [Int], ropeFactors: RopeFactorSet, logits: LogitsRequest,
                       chunkTokens: Int, progress: (@Sendable (Int) -> Void)?) async throws -> ForwardResult {
        guard let log = sessions[session] else { throw PipelineError.unknownSession(session) }
        try log.checkRoom(for: tokens.count, session: session)
        while true {
            try await awaitHealthyRing()
            let start = sessions[session]?.tokens.count ?? log.tokens.count
            do {
                let result = try await run(session: session, tokens: tokens, from: start, ropeFactors: ropeFactors,
                                           logits: logits, chunkTokens: chunkTokens, progress: progress)
                sessions[session]?.append(tokens, ropeFactors: ropeFactors)
                return result
            } catch let error as WorkerDown {
                // The ring changes (or the job ends) in awaitHealthyRing; the pass then runs again
                // from the session's last complete state, which failover has rebuilt.
                logger.warning("\(error); the pass of \(session) will run again once the ring is whole")
                continue
            }
        }
    }

    /// The most tokens one activation frame carries: the wire's token limit, and as many hidden
    /// states as fit a message (a larger `--chunk` is cut to this; one frame too big for nng
    /// would drop the connection and make a healthy worker look dead).
    var maxFrameTokens: Int {
        Self.maxFrameTokens(hiddenSize: config.hiddenSize, wireDType: options.wireDType, limits: options.transport.limits)
    }

    public static func maxFrameTokens(hiddenSize: Int, wireDType: ActivationDType, limits: WireLimits) -> Int {
        let bytesPerToken = hiddenSize * wireDType.bytesPerValue + 16
        return max(1, min(limits.maxTokensPerFrame, (limits.maxMessageBytes - frameHeaderReserve) / bytesPerToken))
    }

    /// Bytes of a message kept for everything but the hidden states (ids, positions, fields).
    static let frameHeaderReserve = 1 << 20

    /// Sends `tokens` as chunks to the first worker, keeping a window of chunks in flight, and
    /// collects the last stage's results in order.
    func run(session: SessionID, tokens: [Int], from start: Int, ropeFactors: RopeFactorSet, logits: LogitsRequest,
             chunkTokens: Int, progress: (@Sendable (Int) -> Void)?) async throws -> ForwardResult {
        router.clear(session: session.rawValue)  // a refusal of an earlier pass does not outlive it
        let chunk = max(1, min(chunkTokens, maxFrameTokens))
        let pieces = stride(from: 0, to: tokens.count, by: chunk).map { $0..<min($0 + chunk, tokens.count) }
        // Enough chunks in flight for every worker to have one, and one more queued at the first.
        let window = links.count + 1
        var keys: [ResultRouter.Key] = []
        var sent = 0
        var result = ForwardResult()
        var argmax: [Int] = []
        for (index, piece) in pieces.enumerated() {
            let isLast = index == pieces.count - 1
            let output: OutputRequest = switch logits {
            case .none: .none
            case .last: isLast ? .lastLogits : .none
            case .argmaxAndLast: .argmaxAndLastLogits
            case .lastArgmax: isLast ? .lastArgmax : .none
            }
            keys.append(try await send(session: session, tokens: Array(tokens[piece]), firstPosition: start + piece.lowerBound,
                                       ropeFactors: ropeFactors, output: output))
            sent += 1
            if sent - window >= 0 || isLast {
                // Collect results until the window has room (all of them after the last chunk).
                while keys.count > (isLast ? 0 : window - 1) {
                    let frame = try await router.result(for: keys.removeFirst())
                    argmax += frame.argmax
                    if let last = frame.lastLogits, frame.firstPosition + frame.tokenCount == start + tokens.count {
                        result.lastLogits = Array(last)
                    }
                    progress?(frame.firstPosition + frame.tokenCount - start)
                }
            }
        }
        if logits == .argmaxAndLast || logits == .lastArgmax { result.argmax = argmax }
        return result
    }

    /// Sends one frame to the first worker (waiting while it is busy) and announces its result.
    private func send(session: SessionID, tokens: [Int], firstPosition: Int, ropeFactors: RopeFactorSet,
                      output: OutputRequest) async throws -> ResultRouter.Key {
        let sequence = nextSequence[session, default: 1]
        nextSequence[session] = sequence + 1
        let key = ResultRouter.Key(session: session.rawValue, sequence: sequence)
        router.expect(key)
        let frame = ActivationFrame(sessionID: session.rawValue, sequence: sequence, firstPosition: firstPosition, layerBegin: 0,
                                    ropeFactors: ropeFactors == .long ? .long : .short, output: output,
                                    input: .tokens(tokens))
        var delay = Duration.milliseconds(2)
        while true {
            guard let first = links.first else { throw ClusterError.coverage("no workers") }
            do {
                _ = try await first.connection.requestAck(.activation(frame))
                return key
            } catch let .refused(_, _, report) where report.code == .busy {
                try await Task.sleep(for: delay)
                delay = min(delay * 2, .milliseconds(100))
            } catch let .refused(_, _, report) {
                throw ErrorReportError(report: report)
            } catch {
                throw WorkerDown(name: first.name, address: first.connection.address, reason: "\(error)")
            }
        }
    }

    func resetOnWorkers(_ session: SessionID) async throws {
        router.clear(session: session.rawValue)
        for link in links where !link.isDown {
            _ = try await link.connection.requestAck(.resetSession(ResetSession(sessionID: session.rawValue)))
        }
    }
}

/// A worker stopped answering: passes in flight fail with this, and run again after failover.
struct WorkerDown: Error, CustomStringConvertible {
    let name: String
    let address: String
    let reason: String
    var description: String { "worker '\(name)' (\(address)) is down: \(reason)" }
}

/// A worker refused or failed a frame; its report names what is wrong.
public struct ErrorReportError: Error, CustomStringConvertible {
    public let report: ErrorReport
    public var description: String { report.message }
}
