import Synchronization

/// Matches the last stage's `LogitsFrame`s, which arrive at the coordinator's listener, with the
/// passes waiting for them, by (session, sequence). A result may arrive before anyone waits for
/// it; a failure (a dead worker, an error report) is delivered to every waiter of its session,
/// or to all.
final class ResultRouter: Sendable {
    struct Key: Hashable, Sendable {
        let session: UInt64
        let sequence: UInt64
    }

    private struct State {
        var waiting: [Key: CheckedContinuation<LogitsFrame, any Error>] = [:]
        var arrived: [Key: Result<LogitsFrame, any Error>] = [:]
        var failedSessions: [UInt64: any Error] = [:]
        var failure: (any Error)?
        /// Results announced and not yet handed out.
        var expected: Set<Key> = []
    }

    private let state = Mutex(State())

    /// Announces that a result for `key` will be awaited (so a failure before the wait reaches it).
    func expect(_ key: Key) {
        state.withLock { state in
            state.expected.insert(key)
            if let failure = state.failure ?? state.failedSessions[key.session] {
                state.arrived[key] = .failure(failure)
            }
        }
    }

    /// Withdraws `expect(key)`: the frame was never sent.
    func forget(_ key: Key) {
        state.withLock { state in
            state.expected.remove(key)
            state.arrived[key] = nil
        }
    }

    /// The result for `key`, waiting if it has not arrived. Throws `CancellationError` when the
    /// waiting task is cancelled (a client that left): the result is then no longer expected.
    func result(for key: Key) async throws -> LogitsFrame {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let ready: Result<LogitsFrame, any Error>? = state.withLock { state in
                    if let result = state.arrived.removeValue(forKey: key) {
                        state.expected.remove(key)
                        return result
                    }
                    if let failure = state.failure ?? state.failedSessions[key.session] {
                        state.expected.remove(key)
                        return .failure(failure)
                    }
                    if Task.isCancelled {
                        state.expected.remove(key)
                        return .failure(CancellationError())
                    }
                    state.waiting[key] = continuation
                    return nil
                }
                if let ready { continuation.resume(with: ready) }
            }
        } onCancel: {
            let waiter = state.withLock { state in
                state.expected.remove(key)
                return state.waiting.removeValue(forKey: key)
            }
            waiter?.resume(throwing: CancellationError())
        }
    }

    /// Hands `frame` to the pass waiting for it; returns false for a result nobody announced (a
    /// frame of an earlier coordinator still in the ring, or of a cancelled pass).
    @discardableResult
    func deliver(_ frame: LogitsFrame) -> Bool {
        let key = Key(session: frame.sessionID, sequence: frame.sequence)
        let (isExpected, waiter) = state.withLock { state -> (Bool, CheckedContinuation<LogitsFrame, any Error>?) in
            guard state.expected.contains(key) else { return (false, nil) }
            if let waiter = state.waiting.removeValue(forKey: key) {
                state.expected.remove(key)
                return (true, waiter)
            }
            state.arrived[key] = .success(frame)
            return (true, nil)
        }
        waiter?.resume(returning: frame)
        return isExpected
    }

    /// Fails every pass of `session` waiting now or about to wait, until `clear(session:)`; a
    /// report about a frame this coordinator never sent or no longer waits for (`sequence` not
    /// expected: an earlier coordinator's, or a cancelled pass's) is ignored. Returns whether the
    /// report was taken.
    @discardableResult
    func fail(session: UInt64, sequence: UInt64 = 0, with error: any Error) -> Bool {
        let taken = state.withLock { state -> (Bool, [CheckedContinuation<LogitsFrame, any Error>]) in
            if sequence != 0 && !state.expected.contains(Key(session: session, sequence: sequence)) { return (false, []) }
            state.failedSessions[session] = error
            let keys = state.waiting.keys.filter { $0.session == session }
            state.expected.subtract(keys)
            return (true, keys.compactMap { state.waiting.removeValue(forKey: $0) })
        }
        for waiter in taken.1 { waiter.resume(throwing: error) }
        return taken.0
    }

    /// Fails every pass, until `clearAll()` (a worker is down).
    func failAll(with error: any Error) {
        let waiters = state.withLock { state in
            state.failure = error
            state.expected.subtract(state.waiting.keys)
            defer { state.waiting = [:] }
            return Array(state.waiting.values)
        }
        for waiter in waiters { waiter.resume(throwing: error) }
    }

    func clear(session: UInt64) {
        state.withLock { state in
            state.failedSessions[session] = nil
            state.arrived = state.arrived.filter { $0.key.session != session }
            state.expected = state.expected.filter { $0.session != session }
        }
    }

    func clearAll() {
        state.withLock { state in
            state.failure = nil
            state.failedSessions = [:]
            state.arrived = [:]
            state.expected = []
        }
    }
}
