/// Hands a generation's events from the task producing them to the one writing the response:
/// a buffer with one reader, so the reader can take the first event (to pick the status) and
/// the rest later, from another task.
actor EventChannel<Event: Sendable> {
    private var buffered: [Event] = []
    private var ending: (any Error)??  // nil: open; .some(nil): finished; .some(error): failed
    private var reader: CheckedContinuation<Event?, any Error>?

    func send(_ event: Event) {
        if let reader {
            self.reader = nil
            reader.resume(returning: event)
        } else {
            buffered.append(event)
        }
    }

    func finish(throwing error: (any Error)? = nil) {
        guard ending == nil else { return }
        ending = .some(error)
        if let reader {
            self.reader = nil
            if let error { reader.resume(throwing: error) } else { reader.resume(returning: nil) }
        }
    }

    /// The next event, or nil once finished; throws the error the producer failed with.
    func next() async throws -> Event? {
        if !buffered.isEmpty { return buffered.removeFirst() }
        if let ending {
            if let error = ending { throw error }
            return nil
        }
        return try await withCheckedThrowingContinuation { reader = $0 }
    }
}
