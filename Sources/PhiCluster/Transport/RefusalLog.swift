import Logging
import Synchronization

/// Logs refusals of what unauthenticated peers send at most once per peer host per `interval`, so
/// that a flood costs a line a minute, not a line a message. The next line after a quiet spell says
/// how many were left out. Peers are keyed by host (a flood from new connections comes from new
/// ports); at most `maxPeers` hosts are remembered, the rest share one entry.
public final class RefusalLog: Sendable {
    public let interval: Duration
    private let logger: Logger
    private let state = Mutex<[String: Entry]>([:])
    static let maxPeers = 1024
    static let otherPeers = "other peers"

    private struct Entry {
        var lastLogged: ContinuousClock.Instant
        var suppressed: Int
    }

    public init(logger: Logger, interval: Duration = .seconds(60)) {
        self.logger = logger
        self.interval = interval
    }

    /// Logs `message()` as a warning about `peer` ("tcp://10.0.0.9:41234"), unless a line about that
    /// host was logged within `interval`; then only counts it. Returns whether it logged.
    @discardableResult
    public func warning(peer: String, _ message: @autoclosure () -> String) -> Bool {
        let now = ContinuousClock.now
        let host = Self.host(of: peer)
        let suppressed: Int? = state.withLock { entries in
            var key = host
            if entries[key] == nil && entries.count >= Self.maxPeers {
                entries = entries.filter { now - $0.value.lastLogged < interval }
                if entries.count >= Self.maxPeers { key = Self.otherPeers }
            }
            if var entry = entries[key], now - entry.lastLogged < interval {
                entry.suppressed += 1
                entries[key] = entry
                return nil
            }
            let left = entries[key]?.suppressed ?? 0
            entries[key] = Entry(lastLogged: now, suppressed: 0)
            return left
        }
        guard let suppressed else { return false }
        let summary = suppressed > 0 ? " (\(suppressed) more from \(host) left out since the last line)" : ""
        logger.warning("\(message())\(summary); further refusals from \(host) are logged at most once per \(NNG.describe(interval))")
        return true
    }

    /// "tcp://10.0.0.9:41234" → "10.0.0.9"; a connection whose address nng no longer knows
    /// ("connection 12") → "peers of unknown address", one key for them all; anything else as it is.
    static func host(of peer: String) -> String {
        if peer.hasPrefix("connection ") { return "peers of unknown address" }
        guard let scheme = peer.range(of: "://") else { return peer }
        let rest = peer[scheme.upperBound...]
        guard let colon = rest.lastIndex(of: ":") else { return String(rest) }
        return String(rest[..<colon])
    }
}
