import NIOCore
import Synchronization

/// Notices a client that goes away while its request is being answered. Hummingbird allows remote
/// half-closure, so a client that closes its connection only half-closes the channel (an
/// `inputClosed` event) and `closeFuture` completes much later, when a write fails: this handler,
/// first in the connection's pipeline, turns either into a call of every registered callback
/// (the generations of that connection, cancelled at once).
final class DisconnectWatcher: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer

    private struct State {
        var isClosed = false
        var nextID = 0
        var callbacks: [Int: @Sendable () -> Void] = [:]
    }

    private let state = Mutex(State())

    /// The connection's watcher, added to its pipeline by the first request that asks.
    static func of(_ channel: any Channel) async throws -> DisconnectWatcher {
        if let existing = try? await channel.pipeline.handler(type: DisconnectWatcher.self).get() { return existing }
        let watcher = DisconnectWatcher()
        try await channel.pipeline.addHandler(watcher, position: .first).get()
        if !channel.isActive { watcher.closed() }
        return watcher
    }

    /// Calls `callback` once when the client goes away (at once if it has); returns a token for `remove`.
    func onDisconnect(_ callback: @escaping @Sendable () -> Void) -> Int {
        let (id, isClosed) = state.withLock { state in
            defer { state.nextID += 1 }
            if !state.isClosed { state.callbacks[state.nextID] = callback }
            return (state.nextID, state.isClosed)
        }
        if isClosed { callback() }
        return id
    }

    func remove(_ id: Int) {
        _ = state.withLock { $0.callbacks.removeValue(forKey: id) }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed { closed() }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed()
        context.fireChannelInactive()
    }

    private func closed() {
        let callbacks = state.withLock { state in
            state.isClosed = true
            defer { state.callbacks = [:] }
            return Array(state.callbacks.values)
        }
        for callback in callbacks { callback() }
    }
}
