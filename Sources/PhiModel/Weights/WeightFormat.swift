import CPhiKernels

/// The formats the matmul kernels read directly. `--quant` names one of them.
public enum WeightFormat: String, Sendable, Equatable, CaseIterable, Codable {
    case f32, f16, bf16
    case q8_0, q4_0

    var kernelFormat: phi_format {
        switch self {
        case .f32: PHI_FORMAT_F32
        case .f16: PHI_FORMAT_F16
        case .bf16: PHI_FORMAT_BF16
        case .q8_0: PHI_FORMAT_Q8_0
        case .q4_0: PHI_FORMAT_Q4_0
        }
    }

    /// Integer formats multiply against activations quantized to q8_0 blocks.
    public var takesQuantizedActivations: Bool { self == .q8_0 || self == .q4_0 }

    /// Elements per block: rows must hold a whole number of blocks.
    public var blockElements: Int { takesQuantizedActivations ? 32 : 1 }

    /// Bytes of one row of `columns` weights.
    public func rowBytes(columns: Int) -> Int { phi_row_bytes(kernelFormat, Int64(columns)) }
}
