import CNNG
import Synchronization

/// A connection to one peer's listener: an nng req0 socket dialed to `address`.
///
/// Several requests may be in flight at once, each on its own nng context; a request resolves
/// with the reply, or fails with a `TransportError` naming the peer: a timeout, a closed
/// connection (reported at once when the peer dies while a request is outstanding), or an invalid
/// reply. Requests are never resent (at most once delivery): an activation frame reaches a stage
/// once or not at all. After a drop nng redials in the background; `connectionEvents` and
/// `isConnected` tell when.
public actor PeerConnection {
    /// The address dialed, e.g. "tcp://10.0.0.12:5555".
    public nonisolated let address: String
    /// How errors name this peer: "worker w2 (tcp://10.0.0.12:5555)", or the address alone.
    public nonisolated let peerName: String
    public nonisolated let options: TransportOptions
    nonisolated let socket: nng_socket
    private nonisolated let authenticator: WireAuthenticator
    private nonisolated let monitor: ConnectionMonitor
    private let monitorReference: Unmanaged<ConnectionMonitor>
    private var isClosed = false
    /// Whether the listener shares this node's run (an authenticated reply came back, or the caller
    /// said so): each new connection then starts with a tagged HealthRequest, so that the listener
    /// counts it authenticated at once and does not close it as idle-before-authenticating.
    private nonisolated let sharesRun = Mutex(false)

    private init(address: String, peerName: String, socket: nng_socket, authenticator: WireAuthenticator,
                 options: TransportOptions, monitor: ConnectionMonitor, monitorReference: Unmanaged<ConnectionMonitor>) {
        self.address = address
        self.peerName = peerName
        self.socket = socket
        self.authenticator = authenticator
        self.options = options
        self.monitor = monitor
        self.monitorReference = monitorReference
    }

    /// Dials `address` and waits until the connection is up. `name` ("worker w2") prefixes the
    /// address in errors. Throws `.dialFailed` (refused, unreachable, not an nng peer) or
    /// `.connectTimedOut` after `options.connectTimeout`. `sharesRun`: the peer's listener already
    /// knows this node's run key (a worker dialing its next hop or the coordinator), so the
    /// connection is authenticated with a HealthRequest at once; otherwise that starts after the
    /// first authenticated reply (the handshake's).
    public static func connect(to address: String, name: String? = nil, authenticator: WireAuthenticator,
                               options: TransportOptions = TransportOptions(),
                               sharesRun: Bool = false) async throws(TransportError) -> PeerConnection {
        let peerName = name.map { "\($0) (\(address))" } ?? address
        var opened = nng_socket()
        var status = nng_req0_open(&opened)
        guard status == 0 else { throw .socketFailed(operation: "nng_req0_open", reason: NNG.errorText(status)) }
        let socket = opened
        // Resend disabled: with a non-positive resend time nng fails an outstanding request with
        // ECONNRESET when its connection drops, instead of sending it again (req.c, req0_pipe_close).
        status = nng_socket_set_ms(socket, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE)
        if status == 0 { status = nng_socket_set_size(socket, NNG_OPT_RECVMAXSZ, options.limits.maxMessageBytes) }
        if status == 0 { status = nng_socket_set_ms(socket, NNG_OPT_RECVTIMEO, NNG.milliseconds(options.requestTimeout)) }
        if status == 0 { status = nng_socket_set_ms(socket, NNG_OPT_SENDTIMEO, NNG.milliseconds(options.requestTimeout)) }
        if status == 0 { status = nng_socket_set_ms(socket, NNG_OPT_RECONNMINT, NNG.milliseconds(options.reconnectMinimum)) }
        if status == 0 { status = nng_socket_set_ms(socket, NNG_OPT_RECONNMAXT, NNG.milliseconds(options.reconnectMaximum)) }
        guard status == 0 else {
            nng_close(socket)
            throw .socketFailed(operation: "setting options of the socket to \(peerName)", reason: NNG.errorText(status))
        }
        let monitor = ConnectionMonitor()
        let reference = monitor.register(on: socket)

        // A blocking dial reports refusals at once; a connect that hangs is cut off by closing the socket.
        let dialed = await DedicatedThread.run({ nng_dial(socket, address, nil, 0) }, timeout: options.connectTimeout)
        guard let dialed, dialed == 0 else {
            _ = await DedicatedThread.run { nng_close(socket) }
            monitor.finish()
            reference.release()
            guard let dialed else { throw .connectTimedOut(peer: peerName, after: options.connectTimeout) }
            throw .dialFailed(peer: peerName, reason: NNG.errorText(dialed))
        }
        let connection = PeerConnection(address: address, peerName: peerName, socket: socket, authenticator: authenticator,
                                        options: options, monitor: monitor, monitorReference: reference)
        monitor.onConnectionAdded { [weak connection] in
            guard let connection, connection.sharesRun.withLock({ $0 }) else { return }
            Task { await connection.claimConnection() }
        }
        if sharesRun {
            connection.sharesRun.withLock { $0 = true }
            Task { await connection.claimConnection() }
        }
        return connection
    }

    /// A tagged HealthRequest on a new connection, whose reply does not matter: it makes the
    /// listener count the connection authenticated (docs/WIRE.md, "Bounds before authentication").
    private nonisolated func claimConnection() async {
        _ = try? await exchange(.healthRequest, timeout: options.unauthenticatedTimeout)
    }

    deinit {
        // Dropped without close(): release the socket here (nng_close is quick when nothing is in flight).
        if !isClosed {
            nng_close(socket)
            monitor.finish()
            monitorReference.release()
        }
    }

    /// Whether a connection to the peer is up now.
    public nonisolated var isConnected: Bool { monitor.isConnected }

    /// Connection changes, starting with `.connected`; for one consumer. Ends when closed.
    public nonisolated var connectionEvents: AsyncStream<ConnectionEvent> { monitor.events }

    /// Sends `message` and waits for the reply, at most `timeout` (default `options.requestTimeout`)
    /// for both. The reply is decoded, authenticated and validated; an `ErrorReport` reply is
    /// returned as `.error`, not thrown (see `requestAck`).
    public nonisolated func request(_ message: WireMessage, timeout: Duration? = nil) async throws(TransportError) -> WireMessage {
        try await exchange(message, timeout: timeout).message
    }

    /// Like `request`, also telling whether the reply passed authentication (an untagged `Error`
    /// from a node that has lost its run key, e.g. after a restart, does not).
    public nonisolated func exchange(_ message: WireMessage, timeout: Duration? = nil) async throws(TransportError) -> ReceivedMessage {
        try await exchange(message, timeout: timeout, tagged: true)
    }

    /// `tagged: false` sends without a tag: the coordinator's refusal notice to a worker that has
    /// no run key yet.
    nonisolated func exchange(_ message: WireMessage, timeout: Duration?, tagged: Bool) async throws(TransportError) -> ReceivedMessage {
        let bytes = authenticator.seal(message, tagged: tagged)
        let limit = options.limits
        let peer = address
        let received = try await roundTrip(bytes, request: message.kindName, timeout: timeout) { reply throws(TransportError) in
            do throws(WireError) {
                return try authenticator.open(reply, from: peer, limits: limit)
            } catch {
                throw .invalidReply(error)
            }
        }
        if received.isAuthenticated { sharesRun.withLock { $0 = true } }
        return received
    }

    /// Sends `message` and expects `Ack`; an `Error` reply throws `.refused` with the peer's report.
    public nonisolated func requestAck(_ message: WireMessage, timeout: Duration? = nil) async throws(TransportError) -> Ack {
        switch try await request(message, timeout: timeout) {
        case let .ack(ack): return ack
        case let .error(report): throw .refused(peer: peerName, request: message.kindName, report: report)
        case let other: throw .unexpectedReply(peer: peerName, request: message.kindName, reply: other.kindName)
        }
    }

    /// Sends `bytes` as they are and returns the raw reply: for fault tests that hand-craft frames.
    public nonisolated func requestRaw(_ bytes: [UInt8], timeout: Duration? = nil) async throws(TransportError) -> [UInt8] {
        try await roundTrip(bytes, request: "raw message", timeout: timeout) { reply throws(TransportError) in Array(reply) }
    }

    /// Closes the socket; requests in flight fail with `.closed`. Idempotent.
    /// Waits at most `closeTimeout` for nng: an `nng_close` that does not return (seen once with
    /// libnng 1.5.2 after a flood of junk connections at the peer; cause not found) is left to
    /// finish on its own thread, which then releases the monitor, instead of hanging the caller.
    public func close() async {
        guard !isClosed else { return }
        isClosed = true
        let socket = self.socket
        let monitor = self.monitor
        let finished = await DedicatedThread.run({ () -> Bool in
            nng_close(socket)
            monitor.finish()
            // Balances the passRetained of register(on:): only once nng_close has returned, after the last callback.
            Unmanaged<ConnectionMonitor>.passUnretained(monitor).release()
            return true
        }, timeout: Self.closeTimeout)
        if finished == nil { monitor.finish() }
    }

    static let closeTimeout: Duration = .seconds(5)

    /// One request on a context of its own: send, then receive, within one deadline.
    private nonisolated func roundTrip<T>(_ bytes: [UInt8], request: String, timeout: Duration?,
                                          decode: (UnsafeRawBufferPointer) throws(TransportError) -> T) async throws(TransportError) -> T {
        let timeout = timeout ?? options.requestTimeout
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        var context = nng_ctx()
        var status = nng_ctx_open(&context, socket)
        guard status == 0 else { throw failure(status, request: request, timeout: timeout) }
        defer { nng_ctx_close(context) }
        let aio = try NNGAio()
        guard let outgoing = NNG.message(bytes) else {
            throw .requestFailed(peer: peerName, request: request, reason: "cannot allocate \(bytes.count) bytes")
        }
        nng_aio_set_msg(aio.handle, outgoing)
        status = await aio.run(timeout: timeout) { nng_ctx_send(context, $0) }
        guard status == 0 else {
            nng_msg_free(nng_aio_get_msg(aio.handle))  // a failed send leaves the message with us
            throw failure(status, request: request, timeout: timeout)
        }
        let remaining = max(deadline - clock.now, .milliseconds(1))
        status = await aio.run(timeout: remaining) { nng_ctx_recv(context, $0) }
        guard status == 0, let reply = nng_aio_get_msg(aio.handle) else {
            throw failure(status, request: request, timeout: timeout)
        }
        defer { nng_msg_free(reply) }
        return try decode(NNG.body(reply))
    }

    private nonisolated func failure(_ status: Int32, request: String, timeout: Duration) -> TransportError {
        switch status {
        case NNG.status(NNG_ETIMEDOUT): .timedOut(peer: peerName, request: request, after: timeout)
        case NNG.status(NNG_ECONNRESET), NNG.status(NNG_ECONNSHUT): .connectionClosed(peer: peerName, request: request)
        case NNG.status(NNG_ECLOSED): .closed(peer: peerName)
        case NNG.status(NNG_ECANCELED): .cancelled(peer: peerName, request: request)
        default: .requestFailed(peer: peerName, request: request, reason: NNG.errorText(status))
        }
    }
}
