import Foundation
import Logging
import PhiModel

extension ClusterPipeline {
    /// Connects to every worker (and spare), checks each one's handshake (secret, protocol, model,
    /// the slice it holds) and that their layers cover the model once in order, then links them
    /// into a ring through this coordinator's listener. Throws naming the worker at fault.
    public static func connect(model: ModelSource, options: ClusterOptions, logger: Logger) async throws -> ClusterPipeline {
        let secret = try options.secretFile.map { try SharedSecret(contentsOfFile: $0.path) }
        let authenticator = WireAuthenticator(secret: secret)
        _ = authenticator.startRun()
        let identity = CoordinatorIdentity(model: try model.fingerprint(layers: nil))
        let address = try options.coordinatorAddress ?? listenAddress(reaching: options.workers.first?.address)
        let listener = try ReplyListener(listeningOn: address, authenticator: authenticator, options: options.transport, logger: logger)
        let pipeline = ClusterPipeline(model: model, options: options, logger: logger, authenticator: authenticator,
                                       identity: identity, listener: listener)
        do {
            try await pipeline.assemble()
        } catch {
            await pipeline.close()
            throw error
        }
        return pipeline
    }

    private func assemble() async throws {
        let router = self.router
        let logger = self.logger
        weak let pipeline = self
        Task { [listener] in
            await listener.serve { received in
                switch received.message {
                case let .logits(frame):
                    if !router.deliver(frame) { await pipeline?.forgetStale(session: frame.sessionID) }
                    return .ack(Ack(sessionID: frame.sessionID, sequence: frame.sequence))
                case let .error(report):
                    guard received.isAuthenticated else {
                        logger.debug("ignored an unauthenticated report from \(received.peer)")
                        return .ack(Ack())
                    }
                    if report.code == .nextHopFailed && !report.peer.isEmpty {
                        // A worker could not reach the next: that one is down (failover may follow).
                        logger.error("report from \(received.peer): \(report.message)")
                        await pipeline?.markDown(address: report.peer, reason: "its upstream neighbour cannot reach it (\(report.message))")
                    } else if report.sessionID != 0 {
                        // A report about a frame no pass waits for any more (a cancelled request's)
                        // is expected and not an error.
                        let isAwaited = router.fail(session: report.sessionID, sequence: report.sequence, with: ErrorReportError(report: report))
                        logger.log(level: isAwaited ? .error : .debug, "report from \(received.peer): \(report.message)")
                        if !isAwaited { await pipeline?.forgetStale(session: report.sessionID) }
                    } else {
                        logger.error("report from \(received.peer): \(report.message)")
                    }
                    return .ack(Ack())
                default:
                    return .error(ErrorReport(code: .invalidField, message: "the coordinator does not take \(received.message.kindName)",
                                              origin: "coordinator", peer: received.peer))
                }
            }
        }
        var links: [Link] = []
        var memory: [WorkerMemory] = []
        for endpoint in options.workers {
            let (connection, hello) = try await admit(endpoint)
            links.append(Link(name: endpoint.name, endpoint: endpoint, connection: connection, layers: hello.layers,
                              weightFormat: hello.capabilities.weightFormat))
            // Kept in `links` first, so the connection closes with the others when a check fails.
            self.links = links
            if let expected = endpoint.layers, expected != hello.layers {
                throw ClusterError.layersDiffer(worker: endpoint.name, manifest: expected, reported: hello.layers)
            }
            guard hello.capabilities.kvFormats.contains(options.kvFormat.wireFormat) else {
                throw ClusterError.refused(worker: endpoint.name, address: endpoint.address, reason: "it keeps KV caches in "
                    + "\(hello.capabilities.kvFormats.map(\.description).joined(separator: ", ")) only, not \(options.kvFormat.rawValue)")
            }
            memory.append(WorkerMemory(name: endpoint.name, address: endpoint.address, layers: hello.layers,
                                       budgetBytes: endpoint.memoryBytes, freeBytes: Int(hello.load.freeMemoryBytes),
                                       loadedWeightBytes: Int(hello.load.weightBytes)))
        }
        do {
            try LayerCoverage.check(links.map(\.layers), layerCount: config.layerCount)
        } catch {
            let described = links.map { "'\($0.name)' \(LayerRangeText.format($0.layers))" }.joined(separator: ", ")
            throw ClusterError.coverage("\(error) (workers in order: \(described))")
        }
        if options.checksMemory, let format = links.first?.weightFormat.weightFormat {
            try MemoryPlan.check(workers: memory, config: config, format: format, kvFormat: options.kvFormat,
                                 contextTokens: options.contextTokens, chunkTokens: options.chunkTokens)
        }
        for endpoint in options.spares {
            do {
                let (connection, _) = try await admit(endpoint)
                spares.append((endpoint, connection))
            } catch {
                logger.warning("spare '\(endpoint.name)' is not available: \(error)")
            }
        }
        for index in links.indices.reversed() { try await configure(index) }
        for link in links { startMonitor(link) }
        logger.info("ring: \(links.map { "\($0.name) \(LayerRangeText.format($0.layers))" }.joined(separator: " → ")) → \(listener.boundAddress)")
    }

    /// Connects and shakes hands with one node; failures name it.
    func admit(_ endpoint: ClusterOptions.Endpoint) async throws -> (PeerConnection, HelloReply) {
        let connection: PeerConnection
        do {
            connection = try await PeerConnection.connect(to: endpoint.address, name: "worker '\(endpoint.name)'",
                                                          authenticator: authenticator, options: options.transport)
        } catch {
            throw ClusterError.unreachable(worker: endpoint.name, address: endpoint.address, reason: "\(error)")
        }
        let model = self.model
        do {
            let hello = try await Handshake.perform(with: connection, as: identity, authenticator: authenticator,
                                                    expectedSliceDigest: { layers in
                                                        layers.isEmpty ? nil : (try? model.fingerprint(layers: layers))?.sliceSHA256
                                                    }, timeout: options.healthTimeout, logger: logger)
            return (connection, hello)
        } catch {
            await connection.close()
            throw ClusterError.refused(worker: endpoint.name, address: endpoint.address, reason: "\(error)")
        }
    }

    /// Tells worker `index` where its output goes and what its sessions may hold.
    func configure(_ index: Int) async throws {
        let link = links[index]
        let nextHop = index + 1 < links.count ? links[index + 1].connection.address : listener.boundAddress
        let configure = Configure(nextHop: nextHop, coordinator: listener.boundAddress, wireDType: options.wireDType.wireDType,
                                  sessionContextTokens: options.contextTokens, maxSessions: options.maxSessions, layers: link.layers,
                                  kvFormat: options.kvFormat.wireFormat, ringID: ringID)
        do {
            _ = try await link.connection.requestAck(.configure(configure))
        } catch {
            throw ClusterError.configureFailed(worker: link.name, reason: "\(error)")
        }
    }

    /// Closes every connection and the listener.
    public func close() async {
        beginShutdown()
        for watcher in rejoinWatchers.values { watcher.cancel() }
        for monitor in monitors.values { monitor.cancel() }
        for link in links { await link.connection.close() }
        for spare in spares { await spare.connection.close() }
        await listener.close()
    }

    /// A listen address the workers can reach: loopback for loopback workers, else the local
    /// address of the interface that routes to the first worker, on a port the system picks.
    static func listenAddress(reaching workerAddress: String?) throws -> String {
        guard let workerAddress, let host = NetworkAddress.host(of: workerAddress) else { return "tcp://127.0.0.1:0" }
        if host == "localhost" || host.hasPrefix("127.") { return "tcp://127.0.0.1:0" }
        return "tcp://\(NetworkAddress.localAddress(toward: host) ?? "0.0.0.0"):0"
    }
}
