/// Why a socket operation failed. Every case names the address (and, through `PeerConnection`'s
/// name, the role) of the peer, and wraps nng's own error text where nng reported one.
public enum TransportError: Error, Equatable, CustomStringConvertible {
    /// `nng_listen` refused the address (in use, malformed, not local).
    case listenFailed(address: String, reason: String)
    /// The connection could not be made (refused, unreachable, not an nng peer).
    case dialFailed(peer: String, reason: String)
    /// No connection within the connect timeout.
    case connectTimedOut(peer: String, after: Duration)
    /// A request got no reply within its timeout.
    case timedOut(peer: String, request: String, after: Duration)
    /// The connection closed while a request was in flight: the peer died, restarted, or dropped
    /// the message (one above its receive-size limit makes nng close the connection).
    case connectionClosed(peer: String, request: String)
    /// nng failed to send or receive for another reason.
    case requestFailed(peer: String, request: String, reason: String)
    /// This side has closed the socket.
    case closed(peer: String)
    /// The request's task was cancelled.
    case cancelled(peer: String, request: String)
    /// The reply could not be decoded or authenticated.
    case invalidReply(WireError)
    /// The peer refused the request with an `ErrorReport`.
    case refused(peer: String, request: String, report: ErrorReport)
    /// The peer answered with a message that does not answer the request.
    case unexpectedReply(peer: String, request: String, reply: String)
    /// nng could not create a socket, context or aio.
    case socketFailed(operation: String, reason: String)
    /// A listener beyond loopback without a secret, and `allowsInsecureListening` is off.
    case insecureListen(address: String)

    public var description: String {
        switch self {
        case let .listenFailed(address, reason): "cannot listen on \(address): \(reason)"
        case let .dialFailed(peer, reason): "cannot connect to \(peer): \(reason)"
        case let .connectTimedOut(peer, after): "\(peer) did not accept a connection within \(NNG.describe(after))"
        case let .timedOut(peer, request, after): "\(peer) did not answer \(request) within \(NNG.describe(after))"
        case let .connectionClosed(peer, request):
            "connection to \(peer) closed before it answered \(request) (the peer exited, or dropped a message above its size limit)"
        case let .requestFailed(peer, request, reason): "\(request) to \(peer) failed: \(reason)"
        case let .closed(peer): "the connection to \(peer) has been closed by this node"
        case let .cancelled(peer, request): "\(request) to \(peer) was cancelled"
        case let .invalidReply(error): "invalid reply: \(error)"
        case let .refused(peer, request, report): "\(peer) refused \(request): \(report.message)"
        case let .unexpectedReply(peer, request, reply): "\(peer) answered \(request) with \(reply)"
        case let .socketFailed(operation, reason): "\(operation) failed: \(reason)"
        case let .insecureListen(address):
            "refusing to listen on \(address) without a secret file: anyone who reaches that address could reconfigure, "
                + "redirect or stop this node. Give every node the same secret file with --secret-file FILE (make one with "
                + "`head -c 32 /dev/urandom > FILE && chmod 600 FILE`), listen on loopback (tcp://127.0.0.1:PORT), "
                + "or pass --insecure to listen without authentication"
        }
    }
}

/// Socket settings. Every socket gets an explicit receive-size limit and timeouts.
public struct TransportOptions: Sendable, Equatable {
    /// Decoding limits; `limits.maxMessageBytes` is also the sockets' receive-size limit.
    public var limits: WireLimits
    /// Default timeout of a request (send and reply) when the caller names none.
    public var requestTimeout: Duration
    /// Longest wait for `PeerConnection.connect` to establish the connection.
    public var connectTimeout: Duration
    /// Longest wait for a reply to leave a listener.
    public var replyTimeout: Duration
    /// Requests a listener serves at once; more wait in nng's queue.
    public var concurrentRequests: Int
    /// Bounds of nng's reconnection back-off after a connection drops.
    public var reconnectMinimum: Duration
    public var reconnectMaximum: Duration
    /// Connections a listener keeps at once; more are closed as they arrive.
    public var maxConnections: Int
    /// Connections a listener keeps at once that have not yet authenticated (sent a message that
    /// passed authentication); more are closed as they arrive. Each may hold one partial message of
    /// up to `limits.maxMessageBytes` in nng's buffers until `unauthenticatedTimeout`.
    public var maxUnauthenticatedConnections: Int
    /// How long a connection may stay open without authenticating before the listener closes it.
    public var unauthenticatedTimeout: Duration
    /// Listener contexts that requests from unauthenticated connections may occupy at once; the
    /// rest of `concurrentRequests` stay free for authenticated peers (health pings among them).
    public var maxUnauthenticatedRequests: Int
    /// Whether a listener may listen beyond loopback without a secret (phi-worker's and phi-coord's
    /// `--insecure`): every message then counts as authenticated, from anyone who reaches it.
    public var allowsInsecureListening: Bool

    public init(limits: WireLimits = .default, requestTimeout: Duration = .seconds(10),
                connectTimeout: Duration = .seconds(2), replyTimeout: Duration = .seconds(10),
                concurrentRequests: Int = 16, reconnectMinimum: Duration = .milliseconds(100),
                reconnectMaximum: Duration = .seconds(1), maxConnections: Int = 64,
                maxUnauthenticatedConnections: Int = 4, unauthenticatedTimeout: Duration = .seconds(5),
                maxUnauthenticatedRequests: Int = 4, allowsInsecureListening: Bool = false) {
        self.limits = limits
        self.requestTimeout = requestTimeout
        self.connectTimeout = connectTimeout
        self.replyTimeout = replyTimeout
        self.concurrentRequests = concurrentRequests
        self.reconnectMinimum = reconnectMinimum
        self.reconnectMaximum = reconnectMaximum
        self.maxConnections = maxConnections
        self.maxUnauthenticatedConnections = maxUnauthenticatedConnections
        self.unauthenticatedTimeout = unauthenticatedTimeout
        self.maxUnauthenticatedRequests = maxUnauthenticatedRequests
        self.allowsInsecureListening = allowsInsecureListening
    }
}
