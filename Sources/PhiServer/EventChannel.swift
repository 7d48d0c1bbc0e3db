import Synchronization

/// Hands a generation's events from the task producing them to the one writing the response:
/// a buffer with one reader, so the reader can take the first event (to pick the status) and
/// the rest later, from another task. Sending never waits, so synchronous callbacks (prefill
/// progress) can send in order too.
final class EventChannel<Event: Sendable>: Sendable {
    private struct State {
        var buffered: [Event] = []
        var ending: (any Error)??  // nil: open; .some(nil): finished; .some(error): failed
        var reader: CheckedContinuation<Event?, any Error>?
    }

    private let state = Mutex(State())

    func send(_ event: Event) {
        let reader = state.withLock { state -> CheckedContinuation<Event?, any Error>? in
            guard state.ending == nil else { return nil }
            if let reader = state.reader {
                state.reader = nil
                return reader
            }
            state.buffered.append(event)
            return nil
        }
        reader?.resume(returning: event)
    }

    func finish(throwing error: (any Error)? = nil) {
        let reader = state.withLock { state -> CheckedContinuation<Event?, any Error>? in
            guard state.ending == nil else { return nil }
            state.ending = .some(error)
            defer { state.reader = nil }
            return state.reader
        }
        if let error { reader?.resume(throwing: error) } else { reader?.resume(returning: nil) }
    }

    /// The next event, or nil once finished; throws the error the producer failed with.
    func next() async throws -> Event? {
        try await withCheckedThrowingContinuation { continuation in
            let outcome = state.withLock { state -> Result<Event?, any Error>? in
                if !state.buffered.isEmpty { return .success(state.buffered.removeFirst()) }
                if let ending = state.ending {
                    if let error = ending { return .failure(error) }
                    return .success(nil)
                }
                state.reader = continuation
                return nil
            }
            if let outcome { continuation.resume(with: outcome) }
        }
    }
}
