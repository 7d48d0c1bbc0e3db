import CPhiKernels

/// Turns rows of any stored tensor type into floats, exactly as GGML / safetensors define them:
/// the kernel formats through the kernels' own conversion, GGUF's q4_1 and k-quants through
/// `phi_gguf.h` (GGML's `dequantize_row_*`, bit for bit).
enum Dequantizer {
    static func dequantize(_ dtype: TensorDType, _ source: UnsafeRawPointer?, into output: UnsafeMutablePointer<Float>,
                           count: Int, tensor: String) throws {
        guard let source else { return }
        guard count % dtype.blockElements == 0 else {
            throw CheckpointError.shapeMismatch(tensor: tensor, expected: [count - count % dtype.blockElements], found: [count])
        }
        if let format = dtype.kernelFormat {
            phi_dequantize_row(format.kernelFormat, source, output, Int64(count))
            return
        }
        switch dtype {
        case .q4_1: phi_dequantize_row_q4_1(source, output, Int64(count))
        case .q4_K: phi_dequantize_row_q4_K(source, output, Int64(count))
        case .q5_K: phi_dequantize_row_q5_K(source, output, Int64(count))
        case .q6_K: phi_dequantize_row_q6_K(source, output, Int64(count))
        default: throw CheckpointError.unsupportedDType(file: "", tensor: tensor, dtype: dtype.rawValue)
        }
    }
}
