/// Where a stage's tensors come from: a safetensors directory or a GGUF file.
public protocol TensorSource: Sendable {
    /// The tensor `name`; throws `CheckpointError.missingTensor` when absent.
    func tensor(_ name: String) throws -> TensorView
    func contains(_ name: String) -> Bool
    var tensorNames: [String] { get }
}
