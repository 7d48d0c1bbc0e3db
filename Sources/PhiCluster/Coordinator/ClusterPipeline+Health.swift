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

    func markDown(address: String, reason: String) {
        guard let index = links.firstIndex(where: { $0.connection.address == address && !$0.isDown }) else { return }
        links[index].isDown = true
        links[index].downReason = reason
        let down = WorkerDown(name: links[index].name, address: address, reason: reason)
        logger.error("\(down)")
        router.failAll(with: down)
    }

    /// Returns once every worker is up, replacing dead ones with spares (one failover at a time;
    /// concurrent passes wait for it). Throws `PipelineError.stageDown` naming a dead worker no
    /// spare can replace.
    func awaitHealthyRing() async throws {
        while let index = links.firstIndex(where: \.isDown) {
            if let failover {
                try await failover.value
                continue
            }
            let dead = links[index]
            guard !spares.isEmpty else {
                throw PipelineError.stageDown(name: dead.name, address: dead.connection.address,
                                              reason: (dead.downReason ?? "no answer") + "; the cluster has no spare to take its layers")
            }
            let task = Task { try await self.replace(index) }
            failover = task
            do {
                try await task.value
                failover = nil
            } catch {
                failover = nil
                throw error
            }
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
        monitors[dead.connection.address]?.cancel()
        monitors[dead.connection.address] = nil
        await dead.connection.close()
        links[index] = Link(name: spare.endpoint.name, connection: spare.connection, layers: dead.layers, weightFormat: format)
        try await configure(index)
        if index > 0 { try await configure(index - 1) }
        startMonitor(links[index])
        try await rebuildSessions()
        logger.info("ring restored: \(links.map { "\($0.name) \(LayerRangeText.format($0.layers))" }.joined(separator: " → "))")
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
                        state: link.isDown ? .unreachable : .ready, detail: link.downReason)
        }
    }
}
