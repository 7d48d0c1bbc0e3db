import CNNG
import Synchronization

/// Whether a dialed peer is connected, and a stream of changes, fed by nng's pipe notifications.
public enum ConnectionEvent: Sendable, Equatable {
    /// A connection to the peer is up (the first one, or a reconnection).
    case connected
    /// The connection dropped: the peer exited, restarted or closed it. nng keeps redialing.
    case disconnected
}

/// Receives nng's pipe callbacks for one socket. nng calls them on its own threads with no lock
/// held (src/core/socket.c, nni_pipe_run_cb); they only count and yield, never touch the socket.
final class ConnectionMonitor: Sendable {
    /// Ids of the pipes that reached ADD_POST; a pipe refused earlier still gets REM_POST.
    private let pipes = Mutex(Set<Int32>())
    let events: AsyncStream<ConnectionEvent>
    private let continuation: AsyncStream<ConnectionEvent>.Continuation
    /// Called for every connection nng adds (the first and each reconnection).
    private let added = Mutex<(@Sendable () -> Void)?>(nil)

    init() {
        (events, continuation) = AsyncStream.makeStream(of: ConnectionEvent.self, bufferingPolicy: .bufferingNewest(64))
    }

    var isConnected: Bool { pipes.withLock { !$0.isEmpty } }

    func pipeAdded(_ id: Int32) {
        let first = pipes.withLock { pipes in
            pipes.insert(id)
            return pipes.count == 1
        }
        if first { continuation.yield(.connected) }
        added.withLock { $0 }?()
    }

    /// Calls `body` (on nng's thread: it must return at once) whenever a connection is added.
    func onConnectionAdded(_ body: @escaping @Sendable () -> Void) {
        added.withLock { $0 = body }
    }

    func pipeRemoved(_ id: Int32) {
        let last = pipes.withLock { pipes in
            pipes.remove(id) != nil && pipes.isEmpty
        }
        if last { continuation.yield(.disconnected) }
    }

    func finish() { continuation.finish() }

    /// Registers for `socket`'s pipe events. The returned reference must stay retained until the
    /// socket is closed: `nng_close` returns only after the last callback.
    func register(on socket: nng_socket) -> Unmanaged<ConnectionMonitor> {
        let reference = Unmanaged.passRetained(self)
        let callback: nng_pipe_cb = { pipe, event, argument in
            guard let argument else { return }
            let monitor = Unmanaged<ConnectionMonitor>.fromOpaque(argument).takeUnretainedValue()
            if event == NNG_PIPE_EV_ADD_POST {
                monitor.pipeAdded(nng_pipe_id(pipe))
            } else if event == NNG_PIPE_EV_REM_POST {
                monitor.pipeRemoved(nng_pipe_id(pipe))
            }
        }
        nng_pipe_notify(socket, NNG_PIPE_EV_ADD_POST, callback, reference.toOpaque())
        nng_pipe_notify(socket, NNG_PIPE_EV_REM_POST, callback, reference.toOpaque())
        return reference
    }
}
