#if canImport(Glibc)
import Glibc
#endif
import Foundation
import PhiModel

extension WorkerNode {
    /// Computes queued frames and forwards each result; a failure is reported to the coordinator
    /// as an `Error` request naming the session and frame. Frames of different sessions waiting
    /// together (concurrent sessions' decode steps) run as one batched pass.
    func processFrames() async {
        for await _ in workStream {
            let batch = takeBatch()
            guard !batch.isEmpty else { continue }
            let frames = batch.map(\.frame)
            let started = ContinuousClock.now
            let startedNanoseconds = Self.monotonicNanoseconds
            let wireDType = configuration?.wireDType ?? .f32
            let results = await service.process(frames, wireDType: wireDType)
            let computed = ContinuousClock.now
            framesDone(frames, compute: computed - started)
            // A trace of when each frame ran, on the machine's monotonic clock (comparable across
            // the workers of one machine): shows chunks of a prefill overlapping across stages.
            let finishedNanoseconds = Self.monotonicNanoseconds
            for frame in frames {
                let trace = "computed session \(frame.sessionID) frame \(frame.sequence) positions \(frame.firstPosition)..<"
                    + "\(frame.firstPosition + frame.tokenCount) monotonic \(startedNanoseconds)-\(finishedNanoseconds) ns"
                    + (frames.count > 1 ? " batch of \(frames.count)" : "")
                logger.debug("\(trace)")
            }
            for (queued, result) in zip(batch, results) {
                let frame = queued.frame
                guard queued.epoch == configurationEpoch else {
                    logger.info("dropped the result of session \(frame.sessionID) frame \(frame.sequence): the ring was reconfigured meanwhile")
                    continue
                }
                switch result {
                case let .success(output):
                    let sending = ContinuousClock.now
                    await forward(output, of: frame)
                    stats.sendTime += ContinuousClock.now - sending
                case let .failure(failure):
                    stats.errors += 1
                    await report(ErrorReport(code: failure.code, message: "worker '\(options.name)': \(failure.message)", origin: options.name,
                                             field: failure.field, sessionID: frame.sessionID, sequence: frame.sequence))
                }
            }
        }
    }

    /// The frames of the next pass (`PassBatch`), after dropping those queued before the ring was
    /// reconfigured.
    func takeBatch() -> [QueuedFrame] {
        let stale = pending.filter { $0.epoch != configurationEpoch }
        for queued in stale { dropStale(queued.frame) }
        pending.removeAll { $0.epoch != configurationEpoch }
        return PassBatch.take(from: &pending, session: { $0.frame.sessionID }, tokens: { $0.frame.tokenCount })
    }

    /// Drops the queued frames `matching` (a reset session's), unreported.
    func dropQueued(matching: (ActivationFrame) -> Bool) {
        let dropped = pending.filter { matching($0.frame) }
        guard !dropped.isEmpty else { return }
        pending.removeAll { matching($0.frame) }
        queued -= dropped.count
        logger.debug("dropped \(dropped.count) queued frames of a reset session")
    }

    private func dropStale(_ frame: ActivationFrame) {
        queued -= 1
        logger.info("dropped session \(frame.sessionID) frame \(frame.sequence), queued before the ring was reconfigured")
    }

    private func framesDone(_ frames: [ActivationFrame], compute: Duration) {
        queued -= frames.count
        stats.frames += UInt64(frames.count)
        stats.tokens += UInt64(frames.reduce(0) { $0 + $1.tokenCount })
        stats.computeTime += compute
    }

    /// Sends a stage's output on: hidden states to the next worker, a LogitsFrame to the coordinator.
    private func forward(_ output: StageService.Output, of frame: ActivationFrame) async {
        guard let nextHop else {
            await report(ErrorReport(code: .nextHopFailed, message: "worker '\(options.name)' has no next hop configured",
                                     origin: options.name, sessionID: frame.sessionID, sequence: frame.sequence))
            return
        }
        let message: WireMessage
        switch output {
        case let .hidden(states):
            var next = frame
            next.layerBegin = frame.layerBegin + (configuration?.layers.count ?? 0)
            next.input = .hidden(states)
            next.ringID = configuration?.ringID ?? 0
            message = .activation(next)
        case let .logits(logits):
            message = .logits(logits)
        }
        // The next hop refuses with BUSY while its queue is full: wait and try again.
        var delay = Duration.milliseconds(2)
        while true {
            do {
                _ = try await nextHop.requestAck(message)
                return
            } catch let .refused(_, _, report) where report.code == .busy {
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .milliseconds(200))
            } catch {
                await report(ErrorReport(code: .nextHopFailed, message: "worker '\(options.name)' cannot reach its next hop: \(error)",
                                         origin: options.name, peer: nextHop.address, sessionID: frame.sessionID, sequence: frame.sequence))
                return
            }
        }
    }

    /// Tells the coordinator about a failure found after a frame was acknowledged.
    func report(_ error: ErrorReport) async {
        logger.error("\(error.message)")
        guard let coordinator else { return }
        _ = try? await coordinator.request(.error(error), timeout: .seconds(2))
    }

    func statsReply() async -> StatsReply {
        let status = service.status
        return StatsReply(layers: status.layers, frames: stats.frames, tokens: stats.tokens, computeTime: stats.computeTime,
                   queueWaitTime: stats.queueWaitTime, sendTime: stats.sendTime, queueDepth: queued,
                   maxQueueDepth: stats.maxQueueDepth, sessions: status.sessions,
                   kvTokens: UInt64(status.cachedTokens), kvBytes: UInt64(status.cachedBytes),
                   weightBytes: UInt64(status.weightBytes),
                   residentBytes: UInt64(SystemMemory.residentBytes ?? 0), uptime: ContinuousClock.now - startedAt,
                   errors: stats.errors)
    }

    /// CLOCK_MONOTONIC in nanoseconds.
    static var monotonicNanoseconds: UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }
}
