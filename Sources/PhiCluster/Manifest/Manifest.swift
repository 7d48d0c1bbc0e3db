import Foundation
import PhiModel

/// A cluster described in one file (TOML): the model, how activations travel, the workers in
/// pipeline order, spares that can take over a dead worker's layers, and the tools the
/// coordinator's function-calling loop may run. See `cluster/*.toml` for examples.
public struct Manifest: Sendable, Equatable {
    /// The manifest file itself; relative paths in it are resolved against its directory.
    public let file: URL
    public var modelPath: URL
    /// Tokenizer files, when not in the model directory.
    public var tokenizerPath: URL?
    public var quant: WeightFormat?
    public var kvFormat: KVFormat?
    /// Element type of hidden states between workers: f32 (exact, the default), f16 or bf16.
    public var wireDType: ActivationDType
    public var secretFile: URL?
    /// `insecure = true`: the cluster runs without a secret even beyond loopback (workers and the
    /// coordinator are started with `--insecure`), and `phi-coord up` makes no secret file for it.
    public var isInsecure = false
    /// Context budget of each session, in tokens.
    public var contextTokens: Int?
    /// Tokens per prefill chunk.
    public var chunkTokens: Int?
    /// Compute threads of workers that do not set their own.
    public var threads: Int?
    /// Where the coordinator listens for the last worker's results (default: an ephemeral port on
    /// the interface that reaches the first worker).
    public var coordinatorAddress: String?
    public var workers: [Node]
    public var spares: [Node]
    public var tools: [ToolSpec]

    /// A worker or a spare.
    public struct Node: Sendable, Equatable {
        public var name: String
        /// nng address, e.g. `tcp://192.168.1.20:5600`.
        public var address: String
        /// Layers it holds; nil lets the planner split by `memoryBytes` (or evenly).
        public var layers: Range<Int>?
        /// Whether `phi-coord up` starts it on this machine.
        public var isLocal: Bool
        /// Memory the node may use, for the planner.
        public var memoryBytes: Int?
        public var threads: Int?

        public init(name: String, address: String, layers: Range<Int>? = nil, isLocal: Bool = false,
                    memoryBytes: Int? = nil, threads: Int? = nil) {
            self.name = name
            self.address = address
            self.layers = layers
            self.isLocal = isLocal
            self.memoryBytes = memoryBytes
            self.threads = threads
        }
    }

    /// A tool the coordinator may run for the model: a command run without a shell that reads the
    /// call's arguments as JSON on stdin and prints the result.
    public struct ToolSpec: Sendable, Equatable {
        public var name: String
        public var description: String
        /// JSON schema of the arguments, as JSON text (key order kept for the prompt).
        public var parametersJSON: String
        /// Program and arguments; a relative program path is resolved against the manifest's directory.
        public var command: [String]
        public var timeout: Duration
        public var maxOutputBytes: Int

        public init(name: String, description: String, parametersJSON: String, command: [String],
                    timeout: Duration = .seconds(30), maxOutputBytes: Int = 64 * 1024) {
            self.name = name
            self.description = description
            self.parametersJSON = parametersJSON
            self.command = command
            self.timeout = timeout
            self.maxOutputBytes = maxOutputBytes
        }
    }
}

/// Element type of hidden states on the wire between workers.
public enum ActivationDType: String, Sendable, Equatable, CaseIterable {
    case f32, f16, bf16

    /// Bytes of one hidden-state value on the wire.
    public var bytesPerValue: Int { self == .f32 ? 4 : 2 }
}
