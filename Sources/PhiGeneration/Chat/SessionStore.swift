import PhiCluster

/// The pipeline sessions a coordinator keeps between requests, so a prompt that extends an
/// earlier one (the next chat turn, the next tool round) reuses that session's cached prefix.
///
/// A request leases the idle session sharing the longest prefix with its prompt, or a new one.
/// The number of sessions and the tokens they cache are bounded: idle sessions are closed least
/// recently used first; a session in use is never touched. When every session is in use and no
/// more may be opened, `acquire` waits for one to be released (the queue `/metrics` reports).
public actor SessionStore {
    public struct Limits: Sendable, Equatable {
        /// Sessions open at once (in use or idle).
        public var maxSessions: Int
        /// Tokens cached across all sessions (their KV memory); idle ones are evicted past it.
        public var maxCachedTokens: Int
        /// Context budget of each session.
        public var contextTokens: Int

        public init(maxSessions: Int, maxCachedTokens: Int, contextTokens: Int) {
            self.maxSessions = max(1, maxSessions)
            self.maxCachedTokens = maxCachedTokens
            self.contextTokens = contextTokens
        }
    }

    /// A session handed to one request until it calls `release`.
    public struct Lease: Sendable {
        public let session: SessionID
        /// Leading prompt tokens the session already holds.
        public let sharedPrefix: Int
    }

    public struct Statistics: Sendable, Equatable {
        public var open = 0
        public var inUse = 0
        public var waiting = 0
        public var cachedTokens = 0
        public var evictions = 0
    }

    private struct Entry {
        var tokens: [Int]
        var isInUse: Bool
        var lastUse: UInt64
    }

    public let pipeline: any Pipeline
    public let limits: Limits
    private var entries: [SessionID: Entry] = [:]
    private var nextID: UInt64 = 1
    private var clock: UInt64 = 0
    /// Requests waiting for a session, oldest first, by id (a cancelled one leaves the queue at once).
    private var waiters: [(id: Int, continuation: CheckedContinuation<Void, Never>)] = []
    private var nextWaiterID = 0
    private var evictions = 0

    public init(pipeline: any Pipeline, limits: Limits) {
        self.pipeline = pipeline
        self.limits = limits
    }

    /// Leases the session that best serves `prompt`, waiting while all are in use.
    /// - Throws: the pipeline's error when a new session cannot be opened; `CancellationError`
    ///   when the task is cancelled while waiting.
    public func acquire(prompt: [Int]) async throws -> Lease {
        while true {
            try Task.checkCancellation()
            var best: (id: SessionID, shared: Int, lastUse: UInt64)?
            for (id, entry) in entries where !entry.isInUse {
                let shared = zip(entry.tokens, prompt).prefix { $0 == $1 }.count
                if best.map({ shared > $0.shared || (shared == $0.shared && entry.lastUse > $0.lastUse) }) ?? true {
                    best = (id, shared, entry.lastUse)
                }
            }
            if let best, best.shared > 0 || entries.count >= limits.maxSessions {
                return try await lease(best.id, shared: best.shared, promptTokens: prompt.count)
            }
            if entries.count < limits.maxSessions {
                let id = SessionID(nextID)
                nextID += 1
                entries[id] = Entry(tokens: [], isInUse: true, lastUse: tick())
                do {
                    try await pipeline.openSession(id, contextTokens: limits.contextTokens)
                } catch {
                    entries[id] = nil
                    wakeOne()
                    throw error
                }
                await evictIdle(toFit: prompt.count)
                return Lease(session: id, sharedPrefix: 0)
            }
            let waiter = nextWaiterID
            nextWaiterID += 1
            await withTaskCancellationHandler {
                await withCheckedContinuation { continuation in
                    if Task.isCancelled { continuation.resume() } else { waiters.append((waiter, continuation)) }
                }
            } onCancel: {
                Task { await self.stopWaiting(waiter) }
            }
        }
    }

    private func lease(_ id: SessionID, shared: Int, promptTokens: Int) async throws -> Lease {
        entries[id]?.isInUse = true
        entries[id]?.lastUse = tick()
        await evictIdle(toFit: promptTokens)
        return Lease(session: id, sharedPrefix: shared)
    }

    /// Returns a session for reuse; `cachedTokens` are the tokens its caches now hold.
    public func release(_ lease: Lease, cachedTokens: [Int]) {
        entries[lease.session]?.tokens = cachedTokens
        entries[lease.session]?.isInUse = false
        entries[lease.session]?.lastUse = tick()
        wakeOne()
    }

    /// Closes a session whose state is unknown (its request failed in the pipeline).
    public func discard(_ lease: Lease) async {
        entries[lease.session] = nil
        await pipeline.closeSession(lease.session)
        wakeOne()
    }

    public var statistics: Statistics {
        Statistics(open: entries.count, inUse: entries.values.filter(\.isInUse).count, waiting: waiters.count,
                   cachedTokens: entries.values.reduce(0) { $0 + $1.tokens.count }, evictions: evictions)
    }

    /// Closes idle sessions, least recently used first, until the cached tokens plus `incoming`
    /// fit `maxCachedTokens`.
    private func evictIdle(toFit incoming: Int) async {
        while entries.values.reduce(0, { $0 + $1.tokens.count }) + incoming > limits.maxCachedTokens {
            guard let victim = entries.filter({ !$0.value.isInUse && !$0.value.tokens.isEmpty })
                .min(by: { $0.value.lastUse < $1.value.lastUse })?.key else { return }
            entries[victim] = nil
            evictions += 1
            await pipeline.closeSession(victim)
        }
    }

    private func wakeOne() {
        if !waiters.isEmpty { waiters.removeFirst().continuation.resume() }
    }

    /// A cancelled request stops waiting (its loop then throws `CancellationError`).
    private func stopWaiting(_ id: Int) {
        guard let index = waiters.firstIndex(where: { $0.id == id }) else { return }
        waiters.remove(at: index).continuation.resume()
    }

    private func tick() -> UInt64 {
        clock += 1
        return clock
    }
}
