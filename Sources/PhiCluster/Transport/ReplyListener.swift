import CNNG
import Logging

/// A node's listening socket: nng rep0 on one address, serving requests from any peer.
///
/// `serve` runs `options.concurrentRequests` nng contexts at once, so a slow request never holds
/// up a health ping. Each request is opened by the node's `WireAuthenticator` (version, tag,
/// decoding, validation) before the handler sees it; one that fails gets an `Error` reply naming
/// what is wrong and costs nothing else. A message above `limits.maxMessageBytes` makes nng drop
/// that connection; the listener serves on.
///
/// With a secret, only authenticated requests and the handshake (`Hello`, `Authenticate`) reach
/// the handler: anything else from a peer that has not authenticated gets one fixed refusal
/// (`unauthenticatedRefusal`), logged at most once per peer host per minute with the peer's text
/// escaped. Without a secret every message counts as authenticated, which is why such a listener
/// is refused beyond loopback unless `options.allowsInsecureListening`. Before authentication the
/// bounds of `ListenerConnections` apply (docs/WIRE.md, "Bounds before authentication").
public actor ReplyListener {
    /// The address as given, e.g. "tcp://0.0.0.0:5555".
    public nonisolated let address: String
    /// The address with the port nng bound (for a given port 0), e.g. "tcp://127.0.0.1:40123".
    public nonisolated let boundAddress: String
    public nonisolated let options: TransportOptions
    private nonisolated let socket: nng_socket
    private nonisolated let authenticator: WireAuthenticator
    private nonisolated let logger: Logger
    private nonisolated let refusals: RefusalLog
    nonisolated let connections: ListenerConnections
    private let connectionsReference: Unmanaged<ListenerConnections>
    private var isClosed = false

    /// Listens on `address` ("tcp://HOST:PORT"). Throws `.listenFailed` with nng's reason (address
    /// in use, malformed, not local), or `.insecureListen` for an address beyond loopback without
    /// a secret unless `options.allowsInsecureListening`.
    public init(listeningOn address: String, authenticator: WireAuthenticator,
                options: TransportOptions = TransportOptions(), logger: Logger) throws(TransportError) {
        if authenticator.secret == nil && !options.allowsInsecureListening && !Self.isLoopback(address) {
            throw .insecureListen(address: address)
        }
        var opened = nng_socket()
        var status = nng_rep0_open(&opened)
        guard status == 0 else { throw .socketFailed(operation: "nng_rep0_open", reason: NNG.errorText(status)) }
        let socket = opened
        // Receives wait without a timeout on purpose: a listener waits for requests. Each message is
        // bounded in size, and each reply in time (its aio also carries replyTimeout).
        status = nng_socket_set_size(socket, NNG_OPT_RECVMAXSZ, options.limits.maxMessageBytes)
        if status == 0 { status = nng_socket_set_ms(socket, NNG_OPT_SENDTIMEO, NNG.milliseconds(options.replyTimeout)) }
        guard status == 0 else {
            nng_close(socket)
            throw .socketFailed(operation: "setting options of the listener on \(address)", reason: NNG.errorText(status))
        }
        let refusals = RefusalLog(logger: logger)
        let connections = ListenerConnections(options: options) { peer, closing in
            switch closing {
            case let .tooManyConnections(limit):
                refusals.warning(peer: peer, "listener \(address) closed a connection from \(peer): it already has \(limit) connections")
            case let .tooManyUnauthenticated(limit):
                refusals.warning(peer: peer, "listener \(address) closed a connection from \(peer): "
                    + "\(limit) connections are already waiting to authenticate")
            case let .notAuthenticated(after):
                refusals.warning(peer: peer, "listener \(address) closed the connection from \(peer): "
                    + "it did not authenticate within \(NNG.describe(after))")
            }
        }
        // Registered before listening, so that no connection escapes the bounds.
        let reference = connections.register(on: socket)
        var listener = nng_listener()
        status = nng_listen(socket, address, &listener, 0)
        guard status == 0 else {
            nng_close(socket)
            reference.release()
            throw .listenFailed(address: address, reason: NNG.errorText(status))
        }
        var port: Int32 = 0
        if address.hasPrefix("tcp"), nng_listener_get_int(listener, NNG_OPT_TCP_BOUND_PORT, &port) == 0,
           let colon = address.lastIndex(of: ":") {
            boundAddress = "\(address[..<colon]):\(port)"
        } else {
            boundAddress = address
        }
        self.address = address
        self.options = options
        self.socket = socket
        self.authenticator = authenticator
        self.logger = logger
        self.refusals = refusals
        self.connections = connections
        connectionsReference = reference
    }

    deinit {
        // Dropped without close() (serve() keeps the listener alive while it runs).
        if !isClosed {
            nng_close(socket)
            connectionsReference.release()
        }
    }

    /// The reply to every message refused because its sender has not authenticated: the same
    /// words whatever was sent, so that a prober learns nothing and nothing of its is echoed.
    public nonisolated var unauthenticatedRefusal: ErrorReport {
        ErrorReport(code: .unauthenticated, message: "refused: a peer that has not authenticated may send only Hello and "
            + "Authenticate (do both sides have the same secret file?)", origin: boundAddress)
    }

    /// Serves requests until the listener is closed or the calling task is cancelled. `handler`
    /// runs for every valid request, up to `options.concurrentRequests` at once, and returns the
    /// reply; it should answer quickly (queue long work elsewhere and reply `Ack`).
    public nonisolated func serve(_ handler: @escaping @Sendable (ReceivedMessage) async -> WireMessage) async {
        let sweeper = Task { await self.closeUnauthenticatedConnections() }
        await withTaskGroup(of: Void.self) { group in
            for _ in 0 ..< max(1, options.concurrentRequests) {
                group.addTask { await self.serveContext(handler) }
            }
        }
        sweeper.cancel()
    }

    /// Closes the socket; `serve` returns once its handlers have. Idempotent. Waits at most 5 s
    /// for `nng_close` (see `PeerConnection.close`), which then finishes on its own thread.
    public func close() async {
        guard !isClosed else { return }
        isClosed = true
        let socket = self.socket
        let connections = self.connections
        connections.socketClosed()
        _ = await DedicatedThread.run({ () -> Bool in
            nng_close(socket)
            // Balances the passRetained of register(on:): only once nng_close has returned, after the last callback.
            Unmanaged<ListenerConnections>.passUnretained(connections).release()
            return true
        }, timeout: PeerConnection.closeTimeout)
    }

    /// Connections open now, and how many of them have not authenticated (for tests and logs).
    public nonisolated var connectionCounts: (total: Int, unauthenticated: Int) {
        (connections.count, connections.unauthenticatedCount)
    }

    /// Closes connections that stay unauthenticated past `options.unauthenticatedTimeout`, checking
    /// a few times per timeout, until cancelled.
    private nonisolated func closeUnauthenticatedConnections() async {
        let period = max(options.unauthenticatedTimeout / 5, .milliseconds(50))
        while !Task.isCancelled && !connections.isClosed {
            try? await Task.sleep(for: period)
            if !connections.isClosed { connections.closeExpired() }
        }
    }

    /// One context's loop: receive, open, handle, reply.
    private nonisolated func serveContext(_ handler: @Sendable (ReceivedMessage) async -> WireMessage) async {
        var context = nng_ctx()
        guard nng_ctx_open(&context, socket) == 0 else { return }  // only fails on a closed socket
        defer { nng_ctx_close(context) }
        let aio: NNGAio
        do {
            aio = try NNGAio()
        } catch {
            logger.error("listener \(boundAddress): \(error)")
            return
        }
        while true {
            let status = await aio.run(timeout: nil) { nng_ctx_recv(context, $0) }
            if status == NNG.status(NNG_ECLOSED) || status == NNG.status(NNG_ECANCELED) { return }
            guard status == 0, let incoming = nng_aio_get_msg(aio.handle) else {
                logger.warning("listener \(boundAddress): receive failed: \(NNG.errorText(status))")
                continue
            }
            let pipe = nng_msg_get_pipe(incoming)
            // As recorded when the connection came: nng cannot tell once it has been closed.
            let peer = connections.peer(of: pipe) ?? NNG.remoteAddress(of: incoming)
            if connections.isAuthenticated(pipe) {
                let reply = await answer(incoming, from: peer, pipe: pipe, wasAuthenticated: true, handler)
                if await send(reply, to: peer, on: context, aio: aio, timeout: options.replyTimeout, isAuthenticated: true) { return }
                continue
            }
            // From a connection that has not authenticated: served on at most
            // maxUnauthenticatedRequests contexts at once, with a short reply timeout, so that junk
            // never holds the contexts that authenticated peers' requests (health pings) need.
            guard connections.admitUnauthenticatedRequest() else {
                nng_msg_free(incoming)
                refusals.warning(peer: peer, "listener \(boundAddress) closed the connection from \(peer): more than "
                    + "\(options.maxUnauthenticatedRequests) requests from unauthenticated connections at once")
                connections.close(pipe)
                continue  // rep0 drops the request when the context receives again
            }
            let reply = await answer(incoming, from: peer, pipe: pipe, wasAuthenticated: false, handler)
            let closed = await send(reply, to: peer, on: context, aio: aio, timeout: min(options.replyTimeout, .seconds(1)),
                                    isAuthenticated: false)
            connections.finishUnauthenticatedRequest()
            if closed { return }
        }
    }

    /// Opens `incoming` (and frees it), passes what may pass to `handler`, and returns the reply
    /// and whether to tag it; nil to send none (the connection has been closed).
    private nonisolated func answer(_ incoming: OpaquePointer, from peer: String, pipe: nng_pipe, wasAuthenticated: Bool,
                                    _ handler: @Sendable (ReceivedMessage) async -> WireMessage) async -> (WireMessage, tagged: Bool)? {
        let hasSecret = authenticator.secret != nil
        let byteCount = nng_msg_len(incoming)
        // A large message from a connection that has not authenticated is read no further unless
        // it carries a tag (which is then checked): the handshake is a few hundred bytes.
        if !wasAuthenticated && hasSecret && byteCount > WireAuthenticator.maxUntaggedBytes
            && (EnvelopePeek.tagLength(NNG.body(incoming)) ?? 0) == 0 {
            nng_msg_free(incoming)
            refusals.warning(peer: peer, "listener \(boundAddress) closed the connection from \(peer): an untagged message of "
                + "\(byteCount) bytes before authenticating (at most \(WireAuthenticator.maxUntaggedBytes) are read)")
            connections.close(pipe)
            return nil
        }
        let opened = Result { () throws(WireError) in
            try authenticator.open(NNG.body(incoming), from: peer, limits: options.limits)
        }
        nng_msg_free(incoming)
        switch opened {
        case let .success(request) where request.isAuthenticated:
            if !wasAuthenticated { connections.authenticate(pipe) }
            return (await handler(request), tagged: true)
        case let .success(request):
            switch request.message {
            case .hello, .authenticate:
                let reply = await handler(request)
                // A verified Authenticate authenticates the connection it came on.
                if case .authenticate = request.message, case .ack = reply { connections.authenticate(pipe) }
                // Answered untagged when the reply may be (HelloReply, Error): the sender may not
                // know this run's key. The Ack to Authenticate is tagged: it proves the run key.
                return (reply, tagged: !reply.mayBeUnauthenticated)
            case let .error(report):
                refusals.warning(peer: peer, "listener \(boundAddress) ignored an unauthenticated Error from \(peer) "
                    + "(\(report.code)): \(PeerText.escaped(report.message))")
            default:
                refusals.warning(peer: peer, "listener \(boundAddress) refused an unauthenticated \(request.message.kindName) from \(peer)")
            }
            return (.error(unauthenticatedRefusal), tagged: false)
        case let .failure(error):
            if !hasSecret || wasAuthenticated {
                refusals.warning(peer: peer, "listener \(boundAddress) refused a message: \(PeerText.escaped(error.description))")
                return (.error(error.report(origin: boundAddress)), tagged: false)
            }
            if byteCount > WireAuthenticator.maxUntaggedBytes {
                refusals.warning(peer: peer, "listener \(boundAddress) closed the connection from \(peer): a message of "
                    + "\(byteCount) bytes before authenticating failed: \(PeerText.escaped(error.description))")
                connections.close(pipe)
                return nil
            }
            refusals.warning(peer: peer, "listener \(boundAddress) refused a message from an unauthenticated peer: "
                + PeerText.escaped(error.description))
            // A peer of another major version learns it from the reply's envelope and this report.
            if case .protocolMismatch = error { return (.error(error.report(origin: boundAddress)), tagged: false) }
            return (.error(unauthenticatedRefusal), tagged: false)
        }
    }

    /// Sends `reply` on `context`; true when the socket has closed. A failure to send to a peer
    /// that has not authenticated is logged through the rate limit.
    private nonisolated func send(_ reply: (WireMessage, tagged: Bool)?, to peer: String, on context: nng_ctx, aio: NNGAio,
                                  timeout: Duration, isAuthenticated: Bool) async -> Bool {
        guard let reply else { return false }
        let (message, tagged) = reply
        guard let outgoing = NNG.message(authenticator.seal(message, tagged: tagged)) else {
            logger.error("listener \(boundAddress): cannot allocate the \(message.kindName) reply to \(peer)")
            return false
        }
        nng_aio_set_msg(aio.handle, outgoing)
        let sent = await aio.run(timeout: timeout) { nng_ctx_send(context, $0) }
        guard sent != 0 else { return false }
        nng_msg_free(nng_aio_get_msg(aio.handle))
        if sent == NNG.status(NNG_ECLOSED) { return true }
        let failure = "listener \(boundAddress): \(message.kindName) reply to \(peer) failed: \(NNG.errorText(sent))"
        if isAuthenticated { logger.warning("\(failure)") } else { refusals.warning(peer: peer, failure) }
        return false
    }

    /// Whether `address` is reachable only from this machine: loopback (127.0.0.0/8, ::1,
    /// localhost), or not a network transport at all (ipc://, inproc://).
    public static func isLoopback(_ address: String) -> Bool {
        guard address.hasPrefix("tcp") || address.hasPrefix("ws") || address.hasPrefix("tls") else { return true }
        guard let host = NetworkAddress.host(of: address) else { return false }
        return host == "localhost" || host.hasPrefix("127.") || host == "::1"
    }
}
