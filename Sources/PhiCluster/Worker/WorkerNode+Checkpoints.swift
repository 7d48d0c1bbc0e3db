import Foundation
import PhiModel

extension WorkerNode {
    /// The store for the layers held now (its files record this slice's fingerprint and the
    /// format its weights run in: a cache computed with other weights must not be resumed).
    private func checkpointStore() async throws -> KVCheckpointStore {
        let layers = service.status.layers
        guard !layers.isEmpty, let format = await service.stage?.weightFormat else { throw KVCheckpointError.noStage }
        return KVCheckpointStore(directory: options.stateDirectory, fingerprint: try model.fingerprint(layers: layers),
                                 weightFormat: format, maxDirectoryBytes: options.maxStateDirectoryBytes)
    }

    /// Writes a segment of a session's cache; answers `KVSaved`, or an `Error` naming the file.
    func saveKV(_ request: SaveKV, from peer: String) async -> WireMessage {
        do {
            let store = try await checkpointStore()
            let saved = try await service.saveKV(session: request.sessionID, job: request.name,
                                                 positions: request.firstToken..<request.endToken, store: store)
            logger.info("saved \(saved.file) (\(saved.bytes) bytes)")
            return .kvSaved(saved)
        } catch {
            return .error(checkpointFailure(error, operation: "save", peer: peer, session: request.sessionID, field: "SaveKV"))
        }
    }

    /// Restores a session's cache from its segments; answers `KVLoaded`, or an `Error` naming the file.
    func loadKV(_ request: LoadKV, from peer: String) async -> WireMessage {
        do {
            let store = try await checkpointStore()
            let loaded = try await service.loadKV(session: request.sessionID, job: request.name, segmentEnds: request.segmentEnds,
                                                  ropeFactors: request.ropeFactors == .long ? .long : .short, store: store)
            logger.info("loaded \(loaded.tokens) positions of \(request.name) for session \(request.sessionID)")
            return .kvLoaded(loaded)
        } catch {
            return .error(checkpointFailure(error, operation: "load", peer: peer, session: request.sessionID, field: "LoadKV"))
        }
    }

    private func checkpointFailure(_ error: any Error, operation: String, peer: String, session: UInt64, field: String) -> ErrorReport {
        stats.errors += 1
        let code: WireErrorCode = switch error {
        case KVCheckpointError.notCached: .unknownSession
        case KVCheckpointError.noStage: .notReady
        case KVCheckpointError.io: .internal
        case KVCheckpointError.stateDirectoryFull: .tooLarge
        case is KVCacheError: .contextFull
        default: .invalidField
        }
        logger.error("cannot \(operation) KV for session \(session): \(error)")
        return ErrorReport(code: code, message: "worker '\(options.name)' cannot \(operation) the KV checkpoint: \(error)",
                           origin: options.name, peer: peer, field: field, sessionID: session)
    }
}
