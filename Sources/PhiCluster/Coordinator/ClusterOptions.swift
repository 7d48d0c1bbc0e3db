import Foundation
import PhiModel

/// How the coordinator reaches and drives its workers.
public struct ClusterOptions: Sendable {
    /// A worker or spare as the coordinator knows it before the handshake.
    public struct Endpoint: Sendable, Equatable {
        public var name: String
        public var address: String
        /// The layers the manifest says it holds (checked against its Hello); nil to take its word.
        public var layers: Range<Int>?
        /// Memory the manifest lets it use (checked against the job's plan before any pass).
        public var memoryBytes: Int?

        public init(name: String, address: String, layers: Range<Int>? = nil, memoryBytes: Int? = nil) {
            self.name = name
            self.address = address
            self.layers = layers
            self.memoryBytes = memoryBytes
        }
    }

    /// Workers in pipeline order.
    public var workers: [Endpoint]
    /// Idle workers that can load a dead worker's layers.
    public var spares: [Endpoint]
    public var secretFile: URL?
    public var wireDType: ActivationDType
    /// Positions each worker reserves per session.
    public var contextTokens: Int
    public var maxSessions: Int
    /// Where the last worker sends results; nil picks the interface that reaches the first worker.
    public var coordinatorAddress: String?
    /// The weight format spares load a dead worker's layers in.
    public var weightFormat: WeightFormat?
    /// How often each worker is pinged, and how long it may take to answer.
    public var healthInterval: Duration
    public var healthTimeout: Duration
    /// How long a spare may take to load a dead worker's layers.
    public var spareLoadTimeout: Duration
    /// How often a dead worker is looked for again at its address: the first wait, doubling up to
    /// the last (a worker that returns is taken back into the ring).
    public var rejoinBackoff: ClosedRange<Duration> = .milliseconds(250) ... .seconds(4)
    public var transport: TransportOptions
    /// Element type of every worker's KV cache, decided here for the whole ring: f32 (exact) by
    /// default, f16 to halve it, q8_0 to nearly quarter it (docs/PERFORMANCE.md, "KV cache formats").
    public var kvFormat: KVFormat
    /// Tokens per prefill chunk, for the memory check (scratch grows with it).
    public var chunkTokens: Int
    /// Whether `connect` refuses a cluster whose workers cannot hold a session of `contextTokens`
    /// (by their manifest budgets and the free memory they report).
    public var checksMemory: Bool

    public init(workers: [Endpoint], spares: [Endpoint] = [], secretFile: URL? = nil, wireDType: ActivationDType = .f32,
                contextTokens: Int, maxSessions: Int = 16, coordinatorAddress: String? = nil, weightFormat: WeightFormat? = nil,
                healthInterval: Duration = .seconds(1), healthTimeout: Duration = .seconds(2),
                spareLoadTimeout: Duration = .seconds(300), transport: TransportOptions = TransportOptions(),
                kvFormat: KVFormat = .f32, chunkTokens: Int = 512, checksMemory: Bool = true) {
        self.kvFormat = kvFormat
        self.chunkTokens = chunkTokens
        self.checksMemory = checksMemory
        self.workers = workers
        self.spares = spares
        self.secretFile = secretFile
        self.wireDType = wireDType
        self.contextTokens = contextTokens
        self.maxSessions = maxSessions
        self.coordinatorAddress = coordinatorAddress
        self.weightFormat = weightFormat
        self.healthInterval = healthInterval
        self.healthTimeout = healthTimeout
        self.spareLoadTimeout = spareLoadTimeout
        self.transport = transport
    }

    /// Options for the cluster a manifest describes (`insecure = true` lets the coordinator listen
    /// beyond loopback without a secret).
    public init(manifest: Manifest, contextTokens: Int) {
        self.init(workers: manifest.workers.map { Endpoint(name: $0.name, address: $0.address, layers: $0.layers, memoryBytes: $0.memoryBytes) },
                  spares: manifest.spares.map { Endpoint(name: $0.name, address: $0.address, memoryBytes: $0.memoryBytes) },
                  secretFile: manifest.secretFile, wireDType: manifest.wireDType, contextTokens: contextTokens,
                  coordinatorAddress: manifest.coordinatorAddress, weightFormat: manifest.quant,
                  kvFormat: manifest.kvFormat ?? .f32, chunkTokens: manifest.chunkTokens ?? 512)
        transport.allowsInsecureListening = manifest.isInsecure
    }
}

/// Why the coordinator could not assemble or keep its cluster, naming the worker at fault.
public enum ClusterError: Error, Equatable, CustomStringConvertible {
    case unreachable(worker: String, address: String, reason: String)
    case refused(worker: String, address: String, reason: String)
    case layersDiffer(worker: String, manifest: Range<Int>, reported: Range<Int>)
    case coverage(String)
    case configureFailed(worker: String, reason: String)
    case noSpare(worker: String, address: String, reason: String)
    case spareFailed(spare: String, reason: String)

    public var description: String {
        switch self {
        case let .unreachable(worker, address, reason): "worker '\(worker)' (\(address)) is unreachable: \(reason)"
        case let .refused(worker, address, reason): "worker '\(worker)' (\(address)) was refused: \(reason)"
        case let .layersDiffer(worker, manifest, reported):
            "the manifest gives worker '\(worker)' layers \(LayerRangeText.format(manifest)), but it holds \(LayerRangeText.format(reported))"
        case let .coverage(reason): "the workers' layers do not make a pipeline: \(reason)"
        case let .configureFailed(worker, reason): "worker '\(worker)' could not be configured: \(reason)"
        case let .noSpare(worker, address, reason): "worker '\(worker)' (\(address)) is down (\(reason)) and no spare can take its layers"
        case let .spareFailed(spare, reason): "spare '\(spare)' could not take over: \(reason)"
        }
    }
}
