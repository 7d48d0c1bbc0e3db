import Foundation
import PhiModel

extension ClusterPipeline: CheckpointingPipeline {
    /// How long a worker may take to write or read its segment (a slice of a 128K-token cache
    /// is gigabytes on an SD card).
    static let checkpointTimeout: Duration = .seconds(1800)

    public func saveCheckpoint(session: SessionID, job: String, positions: Range<Int>) async throws -> [KVSaved] {
        guard sessions[session] != nil else { throw PipelineError.unknownSession(session) }
        try await awaitHealthyRing()
        let request = SaveKV(sessionID: session.rawValue, name: job, firstToken: positions.lowerBound, endToken: positions.upperBound)
        // Every worker writes its own disk: all at once.
        return try await withThrowingTaskGroup(of: (Int, KVSaved).self) { group in
            for (index, link) in links.enumerated() {
                let connection = link.connection
                group.addTask {
                    switch try await connection.request(.saveKV(request), timeout: Self.checkpointTimeout) {
                    case let .kvSaved(saved): return (index, saved)
                    case let .error(report): throw CheckpointError.stageRefused(stage: link.name, reason: report.message)
                    case let other: throw CheckpointError.stageRefused(stage: link.name, reason: "it answered \(other.kindName)")
                    }
                }
            }
            var saved: [(Int, KVSaved)] = []
            for try await result in group { saved.append(result) }
            return saved.sorted { $0.0 < $1.0 }.map(\.1)
        }
    }

    public func restoreCheckpoint(session: SessionID, job: String, tokens: [Int], segmentEnds: [Int],
                                  ropeFactors: RopeFactorSet) async throws {
        guard var log = sessions[session] else { throw PipelineError.unknownSession(session) }
        guard let end = segmentEnds.last, end == tokens.count else {
            throw CheckpointError.segmentsDoNotMatchTokens(segmentEnd: segmentEnds.last ?? 0, tokens: tokens.count)
        }
        try log.checkRoom(for: tokens.count, session: session)
        try await awaitHealthyRing()
        try await resetOnWorkers(session)
        let request = LoadKV(sessionID: session.rawValue, name: job, segmentEnds: segmentEnds,
                             ropeFactors: ropeFactors == .long ? .long : .short)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for link in links {
                let connection = link.connection
                group.addTask {
                    switch try await connection.request(.loadKV(request), timeout: Self.checkpointTimeout) {
                    case let .kvLoaded(loaded) where loaded.tokens == end: return
                    case let .kvLoaded(loaded): throw CheckpointError.restoredTokens(stage: link.name, holds: loaded.tokens, expected: end)
                    case let .error(report): throw CheckpointError.stageRefused(stage: link.name, reason: report.message)
                    case let other: throw CheckpointError.stageRefused(stage: link.name, reason: "it answered \(other.kindName)")
                    }
                }
            }
            try await group.waitForAll()
        }
        log.truncate(toTokens: 0)
        log.append(tokens, ropeFactors: ropeFactors)
        sessions[session] = log
    }
}
