/// Every message of the phi-cluster wire, as Swift values.
///
/// `encode(sealedBy:)` and `decode(_:from:limits:authenticator:)` (WireMessage+Coding.swift) turn
/// it into one nng message and back; the transport (`ReplyListener`, `PeerConnection`) does that
/// for its callers, who see only these values.
public enum WireMessage: Sendable, Equatable {
    case hello(Hello)
    case helloReply(HelloReply)
    case authenticate(Authenticate)
    case configure(Configure)
    case activation(ActivationFrame)
    case logits(LogitsFrame)
    case ack(Ack)
    case error(ErrorReport)
    case resetSession(ResetSession)
    case trimKV(TrimKV)
    /// Asks for `StatsReply`; `reset` zeroes the counters after reading them.
    case statsRequest(reset: Bool)
    case statsReply(StatsReply)
    /// Health ping; answered by `healthReply`.
    case healthRequest
    case healthReply(HealthReply)
    case loadInfoRequest
    case loadInfo(LoadInfo)
    case loadLayers(LoadLayers)
    /// Asks the node to finish queued work and exit.
    case shutdown(reason: String)
    case saveKV(SaveKV)
    case kvSaved(KVSaved)
    case loadKV(LoadKV)
    case kvLoaded(KVLoaded)

    /// The message's name in proto/, for logs and errors.
    public var kindName: String {
        switch self {
        case .hello: "Hello"
        case .helloReply: "HelloReply"
        case .authenticate: "Authenticate"
        case .configure: "Configure"
        case .activation: "ActivationFrame"
        case .logits: "LogitsFrame"
        case .ack: "Ack"
        case .error: "Error"
        case .resetSession: "ResetSession"
        case .trimKV: "TrimKV"
        case .statsRequest: "StatsRequest"
        case .statsReply: "StatsReply"
        case .healthRequest: "HealthRequest"
        case .healthReply: "HealthReply"
        case .loadInfoRequest: "LoadInfoRequest"
        case .loadInfo: "LoadInfo"
        case .loadLayers: "LoadLayers"
        case .shutdown: "Shutdown"
        case .saveKV: "SaveKV"
        case .kvSaved: "KVSaved"
        case .loadKV: "LoadKV"
        case .kvLoaded: "KVLoaded"
        }
    }

    /// Messages that may travel without a tag: the handshake itself, and errors from a node that
    /// has no run key yet (their `isAuthenticated` is false, so callers treat them as advisory).
    var mayBeUnauthenticated: Bool {
        switch self {
        case .hello, .helloReply, .authenticate, .error: true
        default: false
        }
    }
}
