import CPhiKernels

/// Turns rows of any stored tensor type into floats, exactly as GGML / safetensors define them.
enum Dequantizer {
    static func dequantize(_ dtype: TensorDType, _ source: UnsafeRawPointer?, into output: UnsafeMutablePointer<Float>,
                           count: Int, tensor: String) throws {
        guard let source else { return }
        if let format = dtype.kernelFormat {
            phi_dequantize_row(format.kernelFormat, source, output, Int64(count))
            return
        }
        throw CheckpointError.unsupportedDType(file: "", tensor: tensor, dtype: dtype.rawValue)
    }
}
