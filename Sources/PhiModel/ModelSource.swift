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

    /// Opens a model: a GGUF file, a Hugging Face model directory (config.json plus safetensors,
    /// single or sharded), or a directory holding exactly one `.gguf` file and no config.json.
    public static func open(_ path: URL) throws -> ModelSource {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path.path, isDirectory: &isDirectory) else {
            throw CheckpointError.notAModel(path: path.path, reason: "it does not exist")
        }
        guard isDirectory.boolValue else {
            guard path.pathExtension.lowercased() == "gguf" else {
                throw CheckpointError.notAModel(path: path.path, reason: "expected a .gguf file or a directory with config.json and safetensors")
            }
            return try openGGUF(path)
        }
        if !FileManager.default.fileExists(atPath: path.appendingPathComponent("config.json").path) {
            let ggufFiles = (try? FileManager.default.contentsOfDirectory(atPath: path.path))?
                .filter { $0.lowercased().hasSuffix(".gguf") }.sorted() ?? []
            if ggufFiles.count == 1 { return try openGGUF(path.appendingPathComponent(ggufFiles[0])) }
            if ggufFiles.count > 1 {
                throw CheckpointError.notAModel(path: path.path, reason: "it holds several GGUF files (\(ggufFiles.joined(separator: ", "))); name one")
            }
        }
        let config = try ModelConfig.load(directory: path)
        return ModelSource(path: path, config: config, layout: .huggingFacePhi3,
                           tensors: try SafetensorsCheckpoint(directory: path))
    }

    /// Opens a GGUF file: its header and tensor table are validated, its config read from the metadata.
    public static func openGGUF(_ path: URL) throws -> ModelSource {
        let file = try GGUFFile(path: path.path)
        let config = try ModelConfig(gguf: file)
        guard let layout = ModelConfig.ggufArchitectures[config.architecture] else {
            throw ConfigError.unsupported(file: file.file.fileName, field: "general.architecture", reason: "'\(config.architecture)'")
        }
        return ModelSource(path: path, config: config, layout: layout, tensors: file)
    }

    /// The config of the model at `path` without loading any weight (a GGUF file's header and
    /// tensor table are mapped and validated; its tensor data is not read).
    public static func openConfig(_ path: URL) throws -> ModelConfig {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path.path, isDirectory: &isDirectory), isDirectory.boolValue,
           FileManager.default.fileExists(atPath: path.appendingPathComponent("config.json").path) {
            return try ModelConfig.load(directory: path)
        }
        return try open(path).config
    }

    /// The format matrices load in when none is asked for: nil (each as stored) when the kernels
    /// read every stored matrix format; float32 for all when some matrix must be dequantized (a
    /// GGUF's q4_1 or k-quant layers), so no matrix of a float model multiplies quantized
    /// activations: a q8_0 embedding beside q4_1 layers (SmolLM2's file) would otherwise move the
    /// head's logits away from the reference's. `--quant` overrides it.
    public var defaultWeightFormat: WeightFormat? {
        for name in tensors.tensorNames {
            guard let view = try? tensors.tensor(name), view.shape.count == 2 else { continue }
            if view.dtype.kernelFormat == nil { return .f32 }
        }
        return nil
    }

    /// The one format that stands for the loaded matrices when none is asked for (for memory
    /// plans): `defaultWeightFormat`, else the stored format of the largest matrix.
    public var loadedWeightFormat: WeightFormat {
        if let format = defaultWeightFormat { return format }
        var largest: (elements: Int, format: WeightFormat)?
        for name in tensors.tensorNames {
            guard let view = try? tensors.tensor(name), view.shape.count == 2, let format = view.dtype.kernelFormat else { continue }
            let elements = view.shape[0] * view.shape[1]
            if elements > largest?.elements ?? -1 { largest = (elements, format) }
        }
        return largest?.format ?? .f32
    }

    /// The GGUF file behind this model (for its tokenizer metadata), nil for safetensors.
    public var gguf: GGUFFile? { tensors as? GGUFFile }

    /// Loads the weights of `layers` (plus the embedding or head where the range reaches an end)
    /// in `format` (when nil, `defaultWeightFormat`) and returns the stage that runs them.
    public func loadStage(layers: Range<Int>, format: WeightFormat?, compute: Compute) throws -> Stage {
        let weights = try StageWeights.load(from: tensors, layout: layout, config: config, layers: layers,
                                            format: format ?? defaultWeightFormat, compute: compute)
        return Stage(config: config, weights: weights, compute: compute)
    }
}
