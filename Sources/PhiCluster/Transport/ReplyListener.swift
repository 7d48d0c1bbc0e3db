import CNNG
import Logging

/// A node's listening socket: nng rep0 on one address, serving requests from any peer.
///
/// `serve` runs `options.concurrentRequests` nng contexts at once, so a slow request never holds
/// up a health ping. Each request is opened by the node's `WireAuthenticator` (version, tag,
/// decoding, validation) before the handler sees it; one that fails gets an `Error` reply naming
/// what is wrong and costs nothing else. A message above `limits.maxMessageBytes` makes nng drop
/// that connection; the listener serves on.
public actor ReplyListener {
    /// The address as given, e.g. "tcp://0.0.0.0:5555".
    public nonisolated let address: String
    /// The address with the port nng bound (for a given port 0), e.g. "tcp://127.0.0.1:40123".
    public nonisolated let boundAddress: String
    public nonisolated let options: TransportOptions
    private nonisolated let socket: nng_socket
    private nonisolated let authenticator: WireAuthenticator
    private nonisolated let logger: Logger
    private var isClosed = false

    /// Listens on `address` ("tcp://HOST:PORT"). Throws `.listenFailed` with nng's reason (address
    /// in use, malformed, not local).
    public init(listeningOn address: String, authenticator: WireAuthenticator,
                options: TransportOptions = TransportOptions(), logger: Logger) throws(TransportError) {
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
        var listener = nng_listener()
        status = nng_listen(socket, address, &listener, 0)
        guard status == 0 else {
            nng_close(socket)
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
    }

    deinit {
        // Dropped without close() (serve() keeps the listener alive while it runs).
        if !isClosed { nng_close(socket) }
    }

    /// Serves requests until the listener is closed or the calling task is cancelled. `handler`
    /// runs for every valid request, up to `options.concurrentRequests` at once, and returns the
    /// reply; it should answer quickly (queue long work elsewhere and reply `Ack`).
    public nonisolated func serve(_ handler: @escaping @Sendable (ReceivedMessage) async -> WireMessage) async {
        await withTaskGroup(of: Void.self) { group in
            for _ in 0 ..< max(1, options.concurrentRequests) {
                group.addTask { await self.serveContext(handler) }
            }
        }
    }

    /// Closes the socket; `serve` returns once its handlers have. Idempotent.
    public func close() async {
        guard !isClosed else { return }
        isClosed = true
        let socket = self.socket
        _ = await DedicatedThread.run { nng_close(socket) }
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
            let peer = NNG.remoteAddress(of: incoming)
            let opened = Result { () throws(WireError) in
                try authenticator.open(NNG.body(incoming), from: peer, limits: options.limits)
            }
            nng_msg_free(incoming)
            // An untagged request (the handshake, or a refused message) is answered untagged when the
            // reply may be (HelloReply, Error): its sender may not know this run's key. Anything else
            // is tagged, such as the Ack to Authenticate, which proves the worker derived the run key.
            let reply: WireMessage
            let tagged: Bool
            switch opened {
            case let .success(request):
                reply = await handler(request)
                tagged = request.isAuthenticated || !reply.mayBeUnauthenticated
            case let .failure(error):
                logger.warning("listener \(boundAddress) refused a message: \(error)")
                reply = .error(error.report(origin: boundAddress))
                tagged = false
            }
            guard let outgoing = NNG.message(authenticator.seal(reply, tagged: tagged)) else {
                logger.error("listener \(boundAddress): cannot allocate the \(reply.kindName) reply to \(peer)")
                continue
            }
            nng_aio_set_msg(aio.handle, outgoing)
            let sent = await aio.run(timeout: options.replyTimeout) { nng_ctx_send(context, $0) }
            if sent != 0 {
                nng_msg_free(nng_aio_get_msg(aio.handle))
                if sent == NNG.status(NNG_ECLOSED) { return }
                logger.warning("listener \(boundAddress): \(reply.kindName) reply to \(peer) failed: \(NNG.errorText(sent))")
            }
        }
    }
}
