import CNNG
import Synchronization

/// The connections (nng pipes) of one listener and whether each has authenticated, fed by nng's
/// pipe notifications: the bounds a listener keeps before authentication.
///
/// - At most `maxConnections` connections, of which at most `maxUnauthenticatedConnections` not yet
///   authenticated: a connection beyond either is closed as nng adds it (NNG_PIPE_EV_ADD_PRE).
/// - A connection that has not authenticated within `unauthenticatedTimeout` is closed by
///   `closeExpired()`, which frees whatever partial message nng holds for it.
/// - At most `maxUnauthenticatedRequests` requests from unauthenticated connections are served at
///   once (`admitUnauthenticatedRequest`), so they never hold every listener context.
///
/// nng calls the callbacks on its own threads with no lock held (src/core/socket.c,
/// nni_pipe_run_cb); `nng_pipe_close` may be called from them.
final class ListenerConnections: Sendable {
    struct Connection {
        let pipe: nng_pipe
        /// "tcp://10.0.0.9:41234", read as nng adds it (nng cannot tell once the pipe is closed).
        let peer: String
        let opened: ContinuousClock.Instant
        var isAuthenticated = false
    }

    /// Why a connection was closed, for the listener's log.
    enum Closing: Sendable {
        case tooManyConnections(limit: Int)
        case tooManyUnauthenticated(limit: Int)
        case notAuthenticated(after: Duration)
    }

    private let connections = Mutex<[UInt32: Connection]>([:])
    private let unauthenticatedRequests = Mutex(0)
    private let closed = Mutex(false)
    let options: TransportOptions
    /// Called (on nng's thread, or the sweeper's task) for every connection the bounds close, with
    /// its peer's address.
    private let onClose: @Sendable (String, Closing) -> Void

    init(options: TransportOptions, onClose: @escaping @Sendable (String, Closing) -> Void) {
        self.options = options
        self.onClose = onClose
    }

    var count: Int { connections.withLock { $0.count } }
    var unauthenticatedCount: Int { connections.withLock { $0.values.count(where: { !$0.isAuthenticated }) } }

    /// The socket has closed: nothing is tracked or closed any more.
    var isClosed: Bool { closed.withLock { $0 } }

    func socketClosed() {
        closed.withLock { $0 = true }
        connections.withLock { $0 = [:] }
    }

    /// The peer of `pipe` as recorded when it was added (nil for one not tracked).
    func peer(of pipe: nng_pipe) -> String? {
        connections.withLock { $0[pipe.id]?.peer }
    }

    func isAuthenticated(_ pipe: nng_pipe) -> Bool {
        connections.withLock { $0[pipe.id]?.isAuthenticated ?? false }
    }

    /// Marks `pipe` authenticated: it passed a tag check or the handshake (or this node has no secret).
    func authenticate(_ pipe: nng_pipe) {
        connections.withLock { $0[pipe.id]?.isAuthenticated = true }
    }

    /// Whether another request from an unauthenticated connection may be served now; if true, the
    /// caller calls `finishUnauthenticatedRequest()` when it has replied.
    func admitUnauthenticatedRequest() -> Bool {
        unauthenticatedRequests.withLock { busy in
            guard busy < max(1, options.maxUnauthenticatedRequests) else { return false }
            busy += 1
            return true
        }
    }

    func finishUnauthenticatedRequest() {
        unauthenticatedRequests.withLock { $0 = max(0, $0 - 1) }
    }

    func pipeAdding(_ pipe: nng_pipe) {
        let peer = NNG.remoteAddress(of: pipe)
        let refusal: Closing? = connections.withLock { connections in
            if connections.count >= options.maxConnections { return .tooManyConnections(limit: options.maxConnections) }
            let waiting = connections.values.count(where: { !$0.isAuthenticated })
            if waiting >= options.maxUnauthenticatedConnections {
                return .tooManyUnauthenticated(limit: options.maxUnauthenticatedConnections)
            }
            connections[pipe.id] = Connection(pipe: pipe, peer: peer, opened: .now)
            return nil
        }
        if let refusal {
            onClose(peer, refusal)
            nng_pipe_close(pipe)
        }
    }

    func pipeRemoved(_ pipe: nng_pipe) {
        _ = connections.withLock { $0.removeValue(forKey: pipe.id) }
    }

    /// Closes the connections that have stayed unauthenticated longer than `unauthenticatedTimeout`.
    /// Each is forgotten as it is closed, not only at its REM_POST, so it is closed and logged once.
    func closeExpired(now: ContinuousClock.Instant = .now) {
        let expired = connections.withLock { connections in
            let expired = connections.values.filter { !$0.isAuthenticated && now - $0.opened >= options.unauthenticatedTimeout }
            for connection in expired { connections[connection.pipe.id] = nil }
            return expired.map { ($0.pipe, $0.peer) }
        }
        for (pipe, peer) in expired {
            onClose(peer, .notAuthenticated(after: options.unauthenticatedTimeout))
            nng_pipe_close(pipe)
        }
    }

    /// Closes `pipe` now (a message from it was refused unread) and forgets it.
    func close(_ pipe: nng_pipe) {
        _ = connections.withLock { $0.removeValue(forKey: pipe.id) }
        nng_pipe_close(pipe)
    }

    /// Registers for `socket`'s pipe events. The returned reference must stay retained until the
    /// socket is closed: `nng_close` returns only after the last callback.
    func register(on socket: nng_socket) -> Unmanaged<ListenerConnections> {
        let reference = Unmanaged.passRetained(self)
        let callback: nng_pipe_cb = { pipe, event, argument in
            guard let argument else { return }
            let connections = Unmanaged<ListenerConnections>.fromOpaque(argument).takeUnretainedValue()
            if event == NNG_PIPE_EV_ADD_PRE {
                connections.pipeAdding(pipe)
            } else if event == NNG_PIPE_EV_REM_POST {
                connections.pipeRemoved(pipe)
            }
        }
        nng_pipe_notify(socket, NNG_PIPE_EV_ADD_PRE, callback, reference.toOpaque())
        nng_pipe_notify(socket, NNG_PIPE_EV_REM_POST, callback, reference.toOpaque())
        return reference
    }
}
