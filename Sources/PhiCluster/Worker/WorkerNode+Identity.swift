import Foundation
import PhiModel

extension WorkerNode {
    /// What this worker can do, for its HelloReply.
    static func capabilities(options: WorkerOptions, model: ModelSource, format: WeightFormat) -> Capabilities {
        Capabilities(wireDTypes: WireDType.allCases, weightFormat: format.wireFormat, kvFormats: options.kvFormats.map(\.wireFormat),
                     maxTokensPerFrame: options.transport.limits.maxTokensPerFrame,
                     maxContextTokens: model.config.maxPositionEmbeddings, maxSessions: 64,
                     maxMessageBytes: options.transport.limits.maxMessageBytes,
                     threads: options.threads ?? ThreadPool.availableCores)
    }

    static func loadInfo(state: NodeState, layers: Range<Int>, format: WeightFormat, weightBytes: Int, model: ModelSource,
                         kvFormat: KVFormat = .f32) -> LoadInfo {
        let config = model.config
        return LoadInfo(state: state, layers: layers, weightFormat: format.wireFormat, weightBytes: UInt64(weightBytes),
                        kvBytesPerToken: UInt64(KVCache.bytes(config: config, format: kvFormat, layerCount: layers.count, tokens: 1)),
                        freeMemoryBytes: UInt64(SystemMemory.availableBytes ?? 0),
                        totalMemoryBytes: UInt64(SystemMemory.totalBytes ?? 0))
    }

    /// Brings the handshake identity up to date with the layers now loaded, from the stage's
    /// published status: a Hello is answered at once even while a long pass keeps the stage busy.
    func refreshIdentity() {
        let status = service.status
        let format = status.weightFormat ?? options.quant ?? .bf16
        guard let fingerprint = try? model.fingerprint(layers: status.layers.isEmpty ? nil : status.layers) else { return }
        responder.update(identity: WorkerIdentity(
            nodeName: options.name, model: fingerprint, layers: status.layers,
            capabilities: Self.capabilities(options: options, model: model, format: format),
            load: Self.loadInfo(state: state, layers: status.layers, format: format, weightBytes: status.weightBytes, model: model,
                                kvFormat: status.kvFormat)))
    }

    /// A spare (or any worker) loads the layers it is asked for in the background: the reply is
    /// an Ack at once, and Health turns READY when done.
    func startLoading(_ request: LoadLayers) -> WireMessage {
        guard state != .loading else {
            return .error(ErrorReport(code: .busy, message: "worker '\(options.name)' is already loading layers", origin: options.name))
        }
        guard let expected = try? model.fingerprint(layers: nil), expected.configSHA256 == request.model.configSHA256 else {
            return .error(ErrorReport(code: .modelMismatch, message: "worker '\(options.name)' has another model than the one the "
                + "coordinator asks to load layers of", origin: options.name, field: "LoadLayers.model"))
        }
        state = .loading
        detail = "loading layers \(LayerRangeText.format(request.layers))"
        configuration = nil
        let service = self.service
        let model = self.model
        let compute = self.compute
        Task {
            do {
                try await service.load(model: model, layers: request.layers, format: request.weightFormat.weightFormat, compute: compute)
                await self.finishedLoading(nil)
            } catch {
                await self.finishedLoading("\(error)")
            }
        }
        return .ack(Ack())
    }

    private func finishedLoading(_ failure: String?) async {
        state = failure == nil ? .ready : .failed
        detail = failure ?? ""
        let layers = LayerRangeText.format(await service.layers)
        if let failure { logger.error("loading failed: \(failure)") } else { logger.info("loaded layers \(layers)") }
        refreshIdentity()
    }
}
