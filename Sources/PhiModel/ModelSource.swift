import Foundation

/// A model on disk: its config, where its tensors are and how they are named. Opening reads the
/// config and validates the checkpoint headers; no weight is read until a stage loads.
public struct ModelSource: Sendable {
    public let path: URL
    public let config: ModelConfig
    public let layout: CheckpointLayout
    public let tensors: any TensorSource

    public init(path: URL, config: ModelConfig, layout: CheckpointLayout, tensors: any TensorSource) {
        self.path = path
        self.config = config
        self.layout = layout
        self.tensors = tensors
    }

    /// Opens a Hugging Face model directory (config.json plus safetensors, single or sharded).
    public static func open(_ path: URL) throws -> ModelSource {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path.path, isDirectory: &isDirectory) else {
            throw CheckpointError.notAModel(path: path.path, reason: "it does not exist")
        }
        guard isDirectory.boolValue else {
            throw CheckpointError.notAModel(path: path.path, reason: "expected a directory with config.json and safetensors")
        }
        let config = try ModelConfig.load(directory: path)
        return ModelSource(path: path, config: config, layout: .huggingFacePhi3,
                           tensors: try SafetensorsCheckpoint(directory: path))
    }

    /// The config of the model at `path` without opening its weights.
    public static func openConfig(_ path: URL) throws -> ModelConfig {
        try ModelConfig.load(directory: path)
    }

    /// Loads the weights of `layers` (plus the embedding or head where the range reaches an end)
    /// in `format` (the stored format when nil) and returns the stage that runs them.
    public func loadStage(layers: Range<Int>, format: WeightFormat?, compute: Compute) throws -> Stage {
        let weights = try StageWeights.load(from: tensors, layout: layout, config: config, layers: layers, format: format)
        return Stage(config: config, weights: weights, compute: compute)
    }
}
