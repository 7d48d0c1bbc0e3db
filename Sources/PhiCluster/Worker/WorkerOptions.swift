import Foundation
import PhiModel

/// How a worker is started (phi-worker's flags).
public struct WorkerOptions: Sendable {
    public var name: String
    public var modelPath: URL
    /// The layers to hold; nil starts an idle spare that loads layers when the coordinator asks.
    public var layers: Range<Int>?
    public var listenAddress: String
    public var secretFile: URL?
    public var threads: Int?
    public var quant: WeightFormat?
    /// Frames waiting to be computed before new ones are refused with BUSY.
    public var maxQueuedFrames: Int
    public var transport: TransportOptions
    /// KV formats the coordinator may configure (all by default; an operator may pin one).
    public var kvFormats: [KVFormat]
    /// Where KV checkpoints of long jobs are written (`SaveKV`) and read (`LoadKV`).
    public var stateDirectory: URL
    /// Most bytes the state directory may hold: a `SaveKV` that would pass it is refused (nil: no cap).
    public var maxStateDirectoryBytes: Int?

    /// 64 GiB: two 128K-token f32 checkpoints of half of Phi-4-mini's layers (16 GiB each), with room.
    public static let defaultMaxStateDirectoryBytes = 64 << 30

    /// `phi-worker-state` in the working directory: beside the worker, on its own disk.
    public static var defaultStateDirectory: URL {
        URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("phi-worker-state")
    }

    public init(name: String, modelPath: URL, layers: Range<Int>?, listenAddress: String, secretFile: URL? = nil,
                threads: Int? = nil, quant: WeightFormat? = nil, maxQueuedFrames: Int = 64,
                transport: TransportOptions = TransportOptions(), kvFormats: [KVFormat] = KVFormat.allCases,
                stateDirectory: URL = WorkerOptions.defaultStateDirectory,
                maxStateDirectoryBytes: Int? = WorkerOptions.defaultMaxStateDirectoryBytes) {
        self.kvFormats = kvFormats
        self.maxStateDirectoryBytes = maxStateDirectoryBytes
        self.stateDirectory = stateDirectory
        self.name = name
        self.modelPath = modelPath
        self.layers = layers
        self.listenAddress = listenAddress
        self.secretFile = secretFile
        self.threads = threads
        self.quant = quant
        self.maxQueuedFrames = maxQueuedFrames
        self.transport = transport
    }
}

extension WeightFormat {
    var wireFormat: WireWeightFormat {
        switch self {
        case .f32: .f32
        case .f16: .f16
        case .bf16: .bf16
        case .q8_0: .q8_0
        case .q4_0: .q4_0
        }
    }
}

extension WireWeightFormat {
    var weightFormat: WeightFormat {
        switch self {
        case .f32: .f32
        case .f16: .f16
        case .bf16: .bf16
        case .q8_0: .q8_0
        case .q4_0: .q4_0
        }
    }
}

extension ActivationDType {
    public var wireDType: WireDType {
        switch self {
        case .f32: .f32
        case .f16: .f16
        case .bf16: .bf16
        }
    }
}
