import Foundation
import Logging
import PhiModel
import Synchronization

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
        /// Where it was found: a dead worker is looked for again there, and taken back when it returns.
        var endpoint: ClusterOptions.Endpoint
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
    /// The ring change under way (a spare taking over, a worker taken back); one at a time.
    var ringChange: Task<Void, Never>?
    var monitors: [String: Task<Void, Never>] = [:]
    /// Per dead worker without a replacement, the task that looks for it again (with backoff).
    var rejoinWatchers: [String: Task<Void, Never>] = [:]
    /// Counts ring changes (a spare taking over, a worker taken back): a pass runs again at most
    /// once per change, so no fault can make it loop.
    var ringVersion = 0
    /// Ring ids start at a random point per coordinator, so a restarted coordinator's rings never
    /// share an id with an earlier one's.
    let ringIDBase = UInt64.random(in: 1...(1 << 62))
    /// The id of the current ring, sent in every `Configure` and on every frame.
    var ringID: UInt64 { ringIDBase &+ UInt64(ringVersion) }
    /// Set when the coordinator is stopping its cluster: workers that go away then are not failures.
    let isShuttingDown = Mutex(false)
    /// Per worker name, how often it was marked down or taken into the ring, for `/metrics`.
    var stateChanges: [String: Int] = [:]

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

    /// Says the cluster is being stopped on purpose (e.g. `up` ending): workers whose connection
    /// closes from now on are not reported as down.
    public nonisolated func beginShutdown() {
        isShuttingDown.withLock { $0 = true }
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
            try await control(link, .trimKV(TrimKV(sessionID: session.rawValue, keepTokens: tokens)))
        }
        log.truncate(toTokens: tokens)
        sessions[session] = log
    }

    public func append(session: SessionID, tokens: [Int], ropeFactors: RopeFactorSet, logits: LogitsRequest,
                       chunkTokens: Int, progress: (@Sendable (Int) -> Void)?) async throws -> ForwardResult {
        guard let log = sessions[session] else { throw PipelineError.unknownSession(session) }
        try log.checkRoom(for: tokens.count, session: session)
        var failedRing: Int?
        while true {
            try Task.checkCancellation()
            try await awaitHealthyRing()
            guard let start = sessions[session]?.tokens.count else { throw PipelineError.unknownSession(session) }
            let ring = ringVersion
            do {
                let result = try await run(session: session, tokens: tokens, from: start, ropeFactors: ropeFactors,
                                           logits: logits, chunkTokens: chunkTokens, progress: progress)
                sessions[session]?.append(tokens, ropeFactors: ropeFactors)
                return result
            } catch is RingChanged where failedRing != ring {
                failedRing = ring
            } catch let down as WorkerDown {
                // A real worker failure (cancellation surfaces as CancellationError, never here).
                // The worker is marked down, so awaitHealthyRing either changes the ring (a spare,
                // or the worker back) or fails naming it; the pass runs again at most once per change.
                markDown(address: down.address, reason: down.reason)
                guard failedRing != ring else {
                    throw PipelineError.stageDown(name: down.name, address: down.address, reason: down.reason)
                }
                failedRing = ring
                logger.notice("\(down); the pass of \(session) will run again once the ring is whole")
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
        var keys: [ResultRouter.Key] = []  // sent, result not yet taken
        var sent = 0
        var result = ForwardResult()
        var argmax: [Int] = []
        let ring = ringVersion
        do {
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
                try checkRing(ring)
                if sent - window >= 0 || isLast {
                    // Collect results until the window has room (all of them after the last chunk).
                    while keys.count > (isLast ? 0 : window - 1) {
                        let frame = try await router.result(for: keys[0])
                        keys.removeFirst()
                        try checkRing(ring)
                        argmax += frame.argmax
                        if let last = frame.lastLogits, frame.firstPosition + frame.tokenCount == start + tokens.count {
                            result.lastLogits = Array(last)
                        }
                        progress?(frame.firstPosition + frame.tokenCount - start)
                    }
                }
            }
        } catch is CancellationError {
            // Frames still in the ring will change the workers' caches past the session's log.
            if !keys.isEmpty || sent < pieces.count && sent > 0 { abandon(session) }
            throw CancellationError()
        }
        if logits == .argmaxAndLast || logits == .lastArgmax { result.argmax = argmax }
        return result
    }

    /// A pass never straddles a ring change: the workers' caches were rebuilt meanwhile, and its
    /// frames stamped with the old ring id are dropped.
    private func checkRing(_ ring: Int) throws {
        guard ringVersion == ring else { throw RingChanged() }
    }

    /// Sends one frame to the first worker (waiting while it is busy) and announces its result.
    /// A first worker that is down, or does not acknowledge within the health timeout, fails the
    /// pass at once with `WorkerDown` (the request timeout is for large replies, not for an Ack).
    private func send(session: SessionID, tokens: [Int], firstPosition: Int, ropeFactors: RopeFactorSet,
                      output: OutputRequest) async throws -> ResultRouter.Key {
        let sequence = nextSequence[session, default: 1]
        nextSequence[session] = sequence + 1
        let key = ResultRouter.Key(session: session.rawValue, sequence: sequence)
        let frame = ActivationFrame(sessionID: session.rawValue, sequence: sequence, firstPosition: firstPosition, layerBegin: 0,
                                    ropeFactors: ropeFactors == .long ? .long : .short, output: output,
                                    input: .tokens(tokens), ringID: ringID)
        var delay = Duration.milliseconds(2)
        while true {
            try Task.checkCancellation()
            guard let first = links.first else { throw ClusterError.coverage("no workers") }
            let down = { (reason: String) in WorkerDown(name: first.name, address: first.connection.address, reason: reason) }
            if first.isDown { throw down(first.downReason ?? "no answer") }
            guard first.connection.isConnected else { throw down("its connection closed") }
            router.expect(key)
            do {
                _ = try await first.connection.requestAck(.activation(frame), timeout: options.healthTimeout)
                return key
            } catch let .refused(_, _, report) where report.code == .busy {
                router.forget(key)
                try await Task.sleep(for: delay)
                delay = min(delay * 2, .milliseconds(100))
            } catch let .refused(_, _, report) {
                router.forget(key)
                throw ErrorReportError(report: report)
            } catch .cancelled {
                router.forget(key)
                throw CancellationError()
            } catch {
                router.forget(key)
                if Task.isCancelled { throw CancellationError() }
                throw down("\(error)")
            }
        }
    }

    /// A result or report arrived for a frame no pass waits for. If its session is not open here
    /// (a cancelled pass's frame, computed after the reset that dropped the session), the workers
    /// it went through have created the session again: they forget it once more, so abandoned
    /// sessions never take the places of live ones in the workers' session limits.
    func forgetStale(session: UInt64) {
        guard sessions[SessionID(session)] == nil else { return }
        abandon(SessionID(session))
    }

    /// Drops a session whose pass was cancelled with frames still in the ring: its log no longer
    /// says what the workers' caches hold, so the workers forget it (in the background: the
    /// cancelled task cannot wait) and the next request starts it afresh.
    func abandon(_ session: SessionID) {
        sessions[session] = nil
        router.clear(session: session.rawValue)
        let connections = links.filter { !$0.isDown }.map(\.connection)
        Task {
            for connection in connections {
                _ = try? await connection.requestAck(.resetSession(ResetSession(sessionID: session.rawValue)))
            }
        }
    }

    func resetOnWorkers(_ session: SessionID) async throws {
        router.clear(session: session.rawValue)
        for link in links where !link.isDown {
            try await control(link, .resetSession(ResetSession(sessionID: session.rawValue)))
        }
    }

    /// Sends a control message a worker must acknowledge. A worker that cannot be reached is
    /// marked down and the error names it (`PipelineError.stageDown`), as a failed pass does.
    func control(_ link: Link, _ message: WireMessage) async throws {
        do {
            _ = try await link.connection.requestAck(message, timeout: options.healthTimeout)
        } catch let .refused(_, _, report) {
            throw ErrorReportError(report: report)
        } catch {
            if Task.isCancelled { throw CancellationError() }
            markDown(address: link.connection.address, reason: "\(error)")
            throw PipelineError.stageDown(name: link.name, address: link.connection.address, reason: "\(error)")
        }
    }
}

/// The ring changed (a spare took over, a worker was taken back) while a pass was in flight: the
/// pass runs again from the session's log, which the ring change rebuilt.
struct RingChanged: Error, CustomStringConvertible {
    var description: String { "the ring changed during the pass" }
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
