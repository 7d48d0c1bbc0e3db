import Foundation

extension ClusterPipeline {
    /// One worker's counters as its `StatsReply` gives them, with its name and address.
    public struct WorkerStats: Sendable {
        public let name: String
        public let address: String
        public let stats: StatsReply
    }

    /// Asks every worker for its counters, in pipeline order; `reset` zeroes them after reading
    /// (the bench resets before a phase and reads after it). Throws naming the worker that does
    /// not answer or answers with something else.
    public func workerStats(reset: Bool) async throws -> [WorkerStats] {
        var result: [WorkerStats] = []
        for link in links {
            let reply: WireMessage
            do {
                reply = try await link.connection.request(.statsRequest(reset: reset))
            } catch {
                throw ClusterError.unreachable(worker: link.name, address: link.connection.address, reason: "\(error)")
            }
            guard case let .statsReply(stats) = reply else {
                throw ClusterError.refused(worker: link.name, address: link.connection.address,
                                           reason: "it answered a StatsRequest with \(reply.kindName)")
            }
            result.append(WorkerStats(name: link.name, address: link.connection.address, stats: stats))
        }
        return result
    }
}

extension ClusterPipeline: StageLatencyReporting {
    /// Each worker's frames and time in its forward pass, from its counters (`StatsReply`); a
    /// worker that does not answer is left out (its health says why).
    public func stageLatencies() async -> [StageLatency] {
        var result: [StageLatency] = []
        for link in links {
            guard case let .statsReply(stats)? = try? await link.connection.request(.statsRequest(reset: false)) else { continue }
            result.append(StageLatency(name: link.name, layers: stats.layers, passes: Int(stats.frames), total: stats.computeTime))
        }
        return result
    }
}
