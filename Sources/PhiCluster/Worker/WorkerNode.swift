import Foundation
import Logging
import PhiModel

/// A phi-worker: listens on its address, answers the handshake and control messages at once, and
/// computes activation frames in arrival order on its `StageService`, forwarding each result to
/// its next hop (the next worker, or the coordinator after the last layer).
public actor WorkerNode {
    public nonisolated let options: WorkerOptions
    public nonisolated let listener: ReplyListener
    let logger: Logger
    let model: ModelSource
    let compute: Compute
    let authenticator: WireAuthenticator
    let responder: HandshakeResponder
    let service: StageService
    let startedAt = ContinuousClock.now

    var state: NodeState
    var detail = ""
    var configuration: Configure?
    var nextHop: PeerConnection?
    var coordinator: PeerConnection?
    var queued = 0
    var stats = Counters()
    /// Frames acknowledged and not yet computed, in arrival order; `work` wakes the processing
    /// task once per frame queued, and it takes as many as one pass can batch.
    var pending: [QueuedFrame] = []
    let work: AsyncStream<Void>.Continuation
    let workStream: AsyncStream<Void>
    /// Counts configurations: frames queued under an earlier one belong to a ring that no longer
    /// exists (a coordinator that died mid-prefill) and are dropped, not computed into the new
    /// ring's sessions.
    var configurationEpoch = 0

    struct QueuedFrame: Sendable {
        let frame: ActivationFrame
        let epoch: Int
    }
    private var isShuttingDown = false

    struct Counters {
        var frames: UInt64 = 0
        var tokens: UInt64 = 0
        var computeTime: Duration = .zero
        var queueWaitTime: Duration = .zero
        var sendTime: Duration = .zero
        var maxQueueDepth = 0
        var errors: UInt64 = 0
    }

    /// Opens the model, loads the layers (unless a spare) and starts listening. Throws when the
    /// model, the secret or the address is unusable, naming which.
    public init(options: WorkerOptions, logger: Logger) async throws {
        self.options = options
        self.logger = logger
        model = try ModelSource.open(options.modelPath)
        compute = try Compute(threads: options.threads)
        let secret = try options.secretFile.map { try SharedSecret(contentsOfFile: $0.path) }
        // Before the model loads (minutes for a large one): the listener would refuse anyway.
        if secret == nil && !options.transport.allowsInsecureListening && !ReplyListener.isLoopback(options.listenAddress) {
            throw TransportError.insecureListen(address: options.listenAddress)
        }
        authenticator = WireAuthenticator(secret: secret)
        service = StageService(contextTokens: model.config.maxPositionEmbeddings, maxSessions: 16)
        if let layers = options.layers {
            try await service.load(model: model, layers: layers, format: options.quant, compute: compute)
            state = .ready
        } else {
            state = .idle
        }
        (workStream, work) = AsyncStream.makeStream(of: Void.self)
        let identity = WorkerIdentity(
            nodeName: options.name, model: try model.fingerprint(layers: options.layers), layers: options.layers ?? 0..<0,
            capabilities: Self.capabilities(options: options, model: model, format: options.quant ?? .bf16),
            load: Self.loadInfo(state: state, layers: options.layers ?? 0..<0, format: options.quant ?? .bf16,
                                weightBytes: await service.stage?.weightBytes ?? 0, model: model))
        responder = HandshakeResponder(identity: identity, authenticator: authenticator, logger: logger)
        listener = try ReplyListener(listeningOn: options.listenAddress, authenticator: authenticator,
                                     options: options.transport, logger: logger)
    }

    /// Serves until a Shutdown request (or cancellation).
    public func run() async {
        logger.info("worker '\(options.name)' listening on \(listener.boundAddress), layers \(options.layers.map(LayerRangeText.format) ?? "none (spare)")")
        if let secret = authenticator.secret {
            logger.info("authenticating with the secret file \(options.secretFile?.path ?? "") (secret id \(secret.secretIDHex))")
        } else {
            logger.info("no secret file: every message counts as authenticated (loopback or --insecure)")
        }
        let listener = self.listener
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await listener.serve { [weak self] received in
                guard let self else { return .error(ErrorReport(code: .shuttingDown, message: "worker is stopping", origin: "worker")) }
                return await self.handle(received)
            } }
            group.addTask { await self.processFrames() }
            await group.next()
            group.cancelAll()
        }
    }

    func handle(_ received: ReceivedMessage) async -> WireMessage {
        switch received.message {
        case let .hello(hello):
            refreshIdentity()
            return responder.reply(to: hello, from: received.peer)
        case let .authenticate(authenticate):
            return responder.reply(to: authenticate, from: received.peer)
        case let .configure(configure):
            return await apply(configure, from: received.peer)
        case let .activation(frame):
            return enqueue(frame, from: received.peer)
        case let .resetSession(reset):
            // Frames of the session still queued (a cancelled request's) go with its cache.
            dropQueued { reset.allSessions || $0.sessionID == reset.sessionID }
            await service.reset(session: reset.allSessions ? nil : reset.sessionID)
            return .ack(Ack(sessionID: reset.sessionID))
        case let .trimKV(trim):
            await service.trim(session: trim.sessionID, keepTokens: trim.keepTokens)
            return .ack(Ack(sessionID: trim.sessionID))
        case .healthRequest:
            // From the published status: a worker deep in a long pass still answers at once.
            let status = service.status
            return .healthReply(HealthReply(state: state, layers: status.layers, queueDepth: queued,
                                            sessions: status.sessions, uptime: ContinuousClock.now - startedAt,
                                            detail: detail))
        case let .statsRequest(reset):
            let reply = await statsReply()
            if reset { stats = Counters() }
            return .statsReply(reply)
        case .loadInfoRequest:
            let status = service.status
            return .loadInfo(Self.loadInfo(state: state, layers: status.layers, format: options.quant ?? .bf16,
                                           weightBytes: status.weightBytes, model: model, kvFormat: status.kvFormat))
        case let .loadLayers(request):
            return startLoading(request)
        case let .shutdown(reason):
            logger.info("shutting down: \(reason)")
            isShuttingDown = true
            work.finish()
            Task {
                try? await Task.sleep(for: .milliseconds(100))
                await listener.close()
            }
            return .ack(Ack())
        case let .error(report):
            // Only authenticated peers get here (the listener refuses the rest), but their text is still theirs.
            logger.warning("error from \(received.peer) (\(report.code)): \(PeerText.escaped(report.message, maxCharacters: 2000))")
            return .ack(Ack())
        case let .saveKV(request):
            return await saveKV(request, from: received.peer)
        case let .loadKV(request):
            return await loadKV(request, from: received.peer)
        case .helloReply, .ack, .logits, .statsReply, .healthReply, .loadInfo, .kvSaved, .kvLoaded:
            stats.errors += 1
            return .error(ErrorReport(code: .invalidField, message: "a worker does not take \(received.message.kindName) requests",
                                      origin: options.name, peer: received.peer))
        }
    }

    /// Records the route and budgets; dials the next hop (and the coordinator) before answering.
    private func apply(_ configure: Configure, from peer: String) async -> WireMessage {
        let layers = await service.layers
        guard configure.layers == layers else {
            return .error(ErrorReport(code: .wrongLayers, message: "the coordinator expects layers \(LayerRangeText.format(configure.layers)), "
                + "worker '\(options.name)' holds \(LayerRangeText.format(layers))", origin: options.name, peer: peer, field: "Configure.layers"))
        }
        guard options.kvFormats.contains(configure.kvFormat.kvFormat) else {
            return .error(ErrorReport(code: .unsupported, message: "worker '\(options.name)' keeps KV caches in "
                + "\(options.kvFormats.map(\.rawValue).joined(separator: ", ")) only, not \(configure.kvFormat)",
                                      origin: options.name, peer: peer, field: "Configure.kv_format"))
        }
        do {
            // Old connections close in the background: a close waits for the requests still in
            // flight on it (results for a coordinator that died wait up to their timeout), and the
            // new ring must not.
            if nextHop?.address != configure.nextHop {
                if let old = nextHop { Task { await old.close() } }
                nextHop = nil
                nextHop = try await PeerConnection.connect(to: configure.nextHop, name: "next hop", authenticator: authenticator,
                                                           options: options.transport, sharesRun: true)
            }
            if !configure.coordinator.isEmpty && coordinator?.address != configure.coordinator {
                if let old = coordinator { Task { await old.close() } }
                coordinator = nil
                coordinator = configure.coordinator == configure.nextHop ? nextHop
                    : try await PeerConnection.connect(to: configure.coordinator, name: "coordinator", authenticator: authenticator,
                                                       options: options.transport, sharesRun: true)
            }
        } catch {
            return .error(ErrorReport(code: .nextHopFailed, message: "worker '\(options.name)': \(error)", origin: options.name,
                                      peer: configure.nextHop, field: "Configure.next_hop"))
        }
        // A new configuration is a new ring (a coordinator starting, or a failover that rebuilds
        // every session): caches and queued frames of the old one are dropped.
        configurationEpoch += 1
        await service.reset(session: nil)
        await service.configure(contextTokens: configure.sessionContextTokens, maxSessions: max(1, configure.maxSessions),
                                kvFormat: configure.kvFormat.kvFormat)
        configuration = configure
        logger.info("configured: next hop \(configure.nextHop), wire \(configure.wireDType), context \(configure.sessionContextTokens), KV \(configure.kvFormat)")
        return .ack(Ack())
    }

    private func enqueue(_ frame: ActivationFrame, from peer: String) -> WireMessage {
        guard state == .ready, configuration != nil else {
            stats.errors += 1
            return .error(ErrorReport(code: .notReady, message: "worker '\(options.name)' is \(configuration == nil ? "not configured" : "\(state)")",
                                      origin: options.name, peer: peer, sessionID: frame.sessionID, sequence: frame.sequence))
        }
        guard !isShuttingDown else {
            return .error(ErrorReport(code: .shuttingDown, message: "worker '\(options.name)' is shutting down", origin: options.name))
        }
        if let ring = configuration?.ringID, ring != 0, frame.ringID != 0, frame.ringID != ring {
            // From a ring this worker no longer belongs to (a worker that was stopped while the
            // coordinator replaced it, forwarding what it had queued): dropped, and acknowledged so
            // its sender does not take this worker for dead.
            logger.debug("dropped session \(frame.sessionID) frame \(frame.sequence) of ring \(frame.ringID) (this ring is \(ring))")
            return .ack(Ack(sessionID: frame.sessionID, sequence: frame.sequence))
        }
        guard queued < options.maxQueuedFrames else {
            return .error(ErrorReport(code: .busy, message: "worker '\(options.name)' has \(queued) frames queued", origin: options.name,
                                      peer: peer, sessionID: frame.sessionID, sequence: frame.sequence))
        }
        queued += 1
        stats.maxQueueDepth = max(stats.maxQueueDepth, queued)
        pending.append(QueuedFrame(frame: frame, epoch: configurationEpoch))
        work.yield()
        return .ack(Ack(sessionID: frame.sessionID, sequence: frame.sequence, queueDepth: queued - 1))
    }
}
