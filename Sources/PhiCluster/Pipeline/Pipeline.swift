import PhiModel

/// Identifies a session: one conversation's KV cache on every stage.
public struct SessionID: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt64
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }
    public var description: String { "session \(rawValue)" }
}

/// What the last stage returns for a pass.
public enum LogitsRequest: Sendable, Equatable {
    /// Nothing (a prefill chunk before the last).
    case none
    /// The logits of the last position of the pass.
    case last
    /// The argmax of every position, and the logits of the last.
    case argmaxAndLast
    /// Only the argmax of the pass's last position (in `argmax`, one id): all a greedy sampler
    /// needs, so a cluster's last worker sends 4 bytes instead of the vocabulary's logits.
    case lastArgmax
}

/// The result of a pass through every stage.
public struct ForwardResult: Sendable, Equatable {
    /// Logits of the pass's last position, [vocabulary].
    public var lastLogits: [Float]?
    /// Argmax of every position of the pass (with `.argmaxAndLast`), or of its last (with `.lastArgmax`).
    public var argmax: [Int]?

    public init(lastLogits: [Float]? = nil, argmax: [Int]? = nil) {
        self.lastLogits = lastLogits
        self.argmax = argmax
    }
}

/// The layers of a model, run in order over a session's tokens, wherever the stages live: all in
/// this process (`LocalPipeline`) or on workers over nng (`ClusterPipeline`). The pipeline keeps
/// each session's token log, so a stage that must be rebuilt can be replayed.
public protocol Pipeline: Sendable {
    var config: ModelConfig { get }

    /// Creates (or empties) `session`, with room for `contextTokens` positions on every stage.
    func openSession(_ session: SessionID, contextTokens: Int) async throws

    /// Drops `session` and frees its caches.
    func closeSession(_ session: SessionID) async

    /// Runs `tokens` at the positions following the session's cached ones through every stage,
    /// `chunkTokens` at a time, and returns what `logits` asks for about the whole run.
    /// `progress` is called with the number of tokens done after each chunk.
    func append(session: SessionID, tokens: [Int], ropeFactors: RopeFactorSet, logits: LogitsRequest,
                chunkTokens: Int, progress: (@Sendable (Int) -> Void)?) async throws -> ForwardResult

    /// Forgets every cached position at and beyond `tokens`, on every stage.
    func truncate(session: SessionID, toTokens tokens: Int) async throws

    /// The session's budget, the tokens whose keys and values it holds and their LongRoPE factors.
    func sessionLog(_ session: SessionID) async throws -> SessionLog

    /// The state of every stage, for `/health` and error messages.
    func health() async -> [StageHealth]
}

/// One stage's health as the pipeline sees it.
public struct StageHealth: Sendable, Equatable {
    public enum State: String, Sendable, Equatable {
        case ready, loading, failed, unreachable
    }

    /// The worker's name (or "local" for an in-process stage).
    public let name: String
    /// Its nng address, nil in-process.
    public let address: String?
    public let layers: Range<Int>
    public let state: State
    /// Why it is not ready, or what it is doing.
    public let detail: String?
    /// How often this worker has gone down or come back (a spare taking its place counts for the spare).
    public var stateChanges = 0

    public init(name: String, address: String?, layers: Range<Int>, state: State, detail: String? = nil, stateChanges: Int = 0) {
        self.name = name
        self.address = address
        self.layers = layers
        self.stateChanges = stateChanges
        self.state = state
        self.detail = detail
    }
}

public enum PipelineError: Error, Equatable, CustomStringConvertible {
    case unknownSession(SessionID)
    /// A stage cannot be reached or has failed.
    case stageDown(name: String, address: String?, reason: String)
    case emptyPass
    case contextExceeded(session: SessionID, needed: Int, budget: Int)
    /// An append while another append of the same session is still running.
    case sessionBusy(SessionID)

    public var description: String {
        switch self {
        case let .unknownSession(id): "\(id) does not exist (open it first)"
        case let .stageDown(name, address, reason): "worker '\(name)'\(address.map { " (\($0))" } ?? "") is down: \(reason)"
        case .emptyPass: "a pass needs at least one token"
        case let .contextExceeded(session, needed, budget):
            "\(session) needs \(needed) positions, beyond its context budget of \(budget) tokens"
        case let .sessionBusy(id): "\(id) is already appending tokens; its appends run one after another"
        }
    }
}
