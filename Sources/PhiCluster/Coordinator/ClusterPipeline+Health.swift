import Foundation
import PhiModel

extension ClusterPipeline {
    /// Watches one worker: its connection (a killed process is noticed at once) and a health ping
    /// every `healthInterval` that must be answered within `healthTimeout` (a machine that vanished).
    func startMonitor(_ link: Link) {
        let connection = link.connection
        let interval = options.healthInterval
        let timeout = options.healthTimeout
        monitors[connection.address] = Task { [weak self] in
            await withTaskGroup(of: String?.self) { group in
                group.addTask {
                    for await event in connection.connectionEvents where event == .disconnected {
                        return "its connection closed"
                    }
                    return nil
                }
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: interval)
                        if Task.isCancelled { return nil }
                        do {
                            guard case let .healthReply(health) = try await connection.request(.healthRequest, timeout: timeout) else {
                                return "it answered a health check with something else"
                            }
                            if health.state == .failed { return "it reports it has failed: \(health.detail)" }
                        } catch {
                            return "\(error)"
                        }
                    }
                    return nil
                }
                let reason = await group.next() ?? nil
                group.cancelAll()
                if let reason, !Task.isCancelled { await self?.markDown(address: connection.address, reason: reason) }
            }
        }
    }

    /// Marks the worker at `address` down (once: later reports of the same failure change nothing),
    /// fails every pass in flight and, unless `watch` is false, starts looking for it again.
    func markDown(address: String, reason: String, watch: Bool = true) {
        guard !isShuttingDown.withLock({ $0 }) else { return }
        guard let index = links.firstIndex(where: { $0.connection.address == address && !$0.isDown }) else { return }
        links[index].isDown = true
        links[index].downReason = reason
        stateChanges[links[index].name, default: 0] += 1
        let down = WorkerDown(name: links[index].name, address: address, reason: reason)
        logger.error("\(down)")
        router.failAll(with: down)
        if watch { watchForReturn(of: links[index]) }
    }

    /// Returns once every worker is up, replacing dead ones with spares (one ring change at a
    /// time; concurrent passes wait for it, and stop waiting when cancelled). Throws
    /// `PipelineError.stageDown` naming a dead worker that no spare can replace and that has not
    /// come back.
    func awaitHealthyRing() async throws {
        // A ring change in progress counts too: its new link is up before the sessions are rebuilt.
        while ringChange != nil || links.contains(where: \.isDown) {
            if ringChange == nil, let index = links.firstIndex(where: \.isDown) {
                let dead = links[index]
                guard !spares.isEmpty else {
                    throw PipelineError.stageDown(name: dead.name, address: dead.connection.address,
                                                  reason: (dead.downReason ?? "no answer")
                                                    + "; the cluster has no spare to take its layers (it is taken back when it returns)")
                }
                startRingChange("replacing worker '\(dead.name)'") { try await self.replace(index) }
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Starts a ring change unless one is under way; its failure is logged and leaves the dead
    /// worker down (the next pass tries the next spare, or fails naming the worker).
    func startRingChange(_ what: String, _ change: @escaping @Sendable () async throws -> Void) {
        guard ringChange == nil else { return }
        ringChange = Task {
            do {
                try await change()
            } catch {
                logger.error("\(what) failed: \(error)")
                // Another worker died while the ring was being rebuilt: it is the one to replace next.
                if let down = error as? WorkerDown { markDown(address: down.address, reason: down.reason) }
            }
            ringChange = nil
        }
    }

    /// A spare loads the dead worker's layers, takes its place in the ring, and every session's
    /// caches are rebuilt by running its token log again.
    private func replace(_ index: Int) async throws {
        let dead = links[index]
        let spare = spares.removeFirst()
        logger.warning("replacing worker '\(dead.name)' (layers \(LayerRangeText.format(dead.layers))) with spare '\(spare.endpoint.name)'")
        let format = options.weightFormat?.wireFormat ?? dead.weightFormat
        do {
            _ = try await spare.connection.requestAck(.loadLayers(LoadLayers(layers: dead.layers, weightFormat: format, model: identity.model)))
            let deadline = ContinuousClock.now + options.spareLoadTimeout
            while true {
                try await Task.sleep(for: .milliseconds(100))
                guard case let .healthReply(health) = try await spare.connection.request(.healthRequest, timeout: options.healthTimeout) else { continue }
                if health.state == .ready { break }
                if health.state == .failed { throw ClusterError.spareFailed(spare: spare.endpoint.name, reason: health.detail) }
                if ContinuousClock.now > deadline {
                    throw ClusterError.spareFailed(spare: spare.endpoint.name, reason: "still loading after \(options.spareLoadTimeout)")
                }
            }
            let model = self.model
            let hello = try await Handshake.perform(with: spare.connection, as: identity, authenticator: authenticator,
                                                    expectedSliceDigest: { (try? model.fingerprint(layers: $0))?.sliceSHA256 },
                                                    timeout: options.healthTimeout, logger: logger)
            guard hello.layers == dead.layers else {
                throw ClusterError.layersDiffer(worker: spare.endpoint.name, manifest: dead.layers, reported: hello.layers)
            }
        } catch let error as ClusterError {
            throw error
        } catch {
            throw ClusterError.spareFailed(spare: spare.endpoint.name, reason: "\(error)")
        }
        rejoinWatchers.removeValue(forKey: dead.connection.address)?.cancel()
        let replacement = Link(name: spare.endpoint.name, endpoint: spare.endpoint, connection: spare.connection, layers: dead.layers,
                               weightFormat: format)
        try await relink(index, to: replacement, replacing: dead)
    }

    /// Puts `link` at `index` in place of `old`, configures the ring anew (every worker: frames
    /// queued for the old ring are dropped) and rebuilds every session from its token log.
    private func relink(_ index: Int, to link: Link, replacing old: Link) async throws {
        monitors.removeValue(forKey: old.connection.address)?.cancel()
        if old.connection !== link.connection { await old.connection.close() }
        links[index] = link
        ringVersion += 1
        router.failAll(with: RingChanged())  // passes in flight run again on the new ring
        stateChanges[link.name, default: 0] += 1
        for position in links.indices.reversed() { try await configure(position) }
        startMonitor(links[index])
        try await rebuildSessions()
        logger.info("ring restored: \(links.map { "\($0.name) \(LayerRangeText.format($0.layers))" }.joined(separator: " → "))")
    }

    /// Looks for a dead worker again at its address, with exponential backoff (capped), until it
    /// answers a handshake with the same layers, model and secret; then takes it back.
    func watchForReturn(of dead: Link) {
        let address = dead.connection.address
        guard rejoinWatchers[address] == nil else { return }
        let endpoint = dead.endpoint
        let backoff = options.rejoinBackoff
        logger.notice("looking for worker '\(dead.name)' at \(endpoint.address) again (every \(backoff.lowerBound) to \(backoff.upperBound))")
        rejoinWatchers[address] = Task { [weak self] in
            var delay = backoff.lowerBound
            var refusal: String?
            while !Task.isCancelled {
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, backoff.upperBound)
                guard let self, !Task.isCancelled else { return }
                do {
                    let (connection, hello) = try await self.admit(endpoint)
                    if await self.takeBack(address: address, connection: connection, hello: hello) { return }
                } catch where !Task.isCancelled {
                    // Refusals (other layers, another model or secret) are logged once per reason;
                    // a worker that is simply not there yet is not logged at all.
                    if case .refused = error as? ClusterError, refusal != "\(error)" {
                        refusal = "\(error)"
                        self.logger.warning("worker '\(endpoint.name)' answered at \(endpoint.address) but is not taken back: \(error)")
                    }
                } catch {
                    return  // the watch was cancelled (a spare took the place, or the coordinator stops)
                }
            }
        }
    }

    /// Takes a returned worker back into its place. Returns true when the watch is over (taken
    /// back, or no longer needed).
    private func takeBack(address: String, connection: PeerConnection, hello: HelloReply) async -> Bool {
        while ringChange != nil { try? await Task.sleep(for: .milliseconds(20)) }
        guard let index = links.firstIndex(where: { $0.connection.address == address && $0.isDown }) else {
            await connection.close()
            rejoinWatchers[address] = nil
            return true
        }
        let old = links[index]
        guard hello.layers == old.layers else {
            let layers = "\(LayerRangeText.format(hello.layers)), not \(LayerRangeText.format(old.layers))"
            logger.warning("worker '\(old.name)' is back at \(address) with layers \(layers); not taken back")
            await connection.close()
            return false
        }
        logger.notice("worker '\(old.name)' is back at \(address); linking it into the ring again")
        let link = Link(name: old.name, endpoint: old.endpoint, connection: connection, layers: old.layers,
                        weightFormat: hello.capabilities.weightFormat)
        let what = "taking worker '\(old.name)' back"
        startRingChange(what) {
            do {
                try await self.relink(index, to: link, replacing: old)
            } catch {
                // Unless another worker failed meanwhile (marked down by the ring change), the
                // returned one is down again; its watch goes on.
                if !(error is WorkerDown) { await self.markDown(address: address, reason: "\(what) failed: \(error)", watch: false) }
                throw error
            }
        }
        while ringChange != nil { try? await Task.sleep(for: .milliseconds(20)) }
        let isBack = links.contains { $0.connection === connection && !$0.isDown }
        if isBack { rejoinWatchers[address] = nil }
        return isBack
    }

    /// Empties every worker's caches and runs every session's token log through the ring again.
    private func rebuildSessions() async throws {
        router.clearAll()
        for link in links {
            _ = try await link.connection.requestAck(.resetSession(ResetSession(sessionID: 0, allSessions: true)))
        }
        for (session, log) in sessions where !log.tokens.isEmpty {
            logger.info("rebuilding \(session): \(log.tokens.count) tokens")
            _ = try await run(session: session, tokens: log.tokens, from: 0, ropeFactors: log.ropeFactors ?? .short,
                              logits: .none, chunkTokens: options.chunkTokens, progress: nil)
        }
    }

    public func health() async -> [StageHealth] {
        links.map { link in
            StageHealth(name: link.name, address: link.connection.address, layers: link.layers,
                        state: link.isDown ? .unreachable : .ready,
                        detail: link.downReason.map { $0 + (rejoinWatchers[link.connection.address] != nil ? "; looking for it again" : "") },
                        stateChanges: stateChanges[link.name, default: 0])
        }
    }
}
