import CPhiKernels

/// Element types of stored tensors. Block formats use GGML's layouts (32 or 256 weights a block).
public enum TensorDType: String, Sendable, Equatable, CaseIterable {
    case f32, f16, bf16
    case q8_0, q4_0, q4_1
    case q4_K, q5_K, q6_K

    /// Weights per block: 1 for plain floats.
    public var blockElements: Int {
        switch self {
        case .f32, .f16, .bf16: 1
        case .q8_0, .q4_0, .q4_1: 32
        case .q4_K, .q5_K, .q6_K: 256
        }
    }

    /// Bytes per block.
    public var blockBytes: Int {
        switch self {
        case .f32: 4
        case .f16, .bf16: 2
        case .q8_0: 34
        case .q4_0: 18
        case .q4_1: 20
        case .q4_K: 144
        case .q5_K: 176
        case .q6_K: 210
        }
    }

    /// Bytes of `elements` values, or nil when `elements` is not a whole number of blocks.
    public func byteCount(elements: Int) -> Int? {
        guard elements % blockElements == 0 else { return nil }
        let (bytes, overflow) = (elements / blockElements).multipliedReportingOverflow(by: blockBytes)
        return overflow ? nil : bytes
    }

    /// The kernel format with the same layout, when the kernels read this type directly.
    public var kernelFormat: WeightFormat? { WeightFormat(rawValue: rawValue) }
}

/// A tensor inside a mapped checkpoint file: its name, element type, shape (outermost first,
/// so a matrix is [rows, columns]) and bytes. Holding a view keeps its file mapped.
///
/// `@unchecked Sendable`: `bytes` points into a read-only mapping kept alive by `file`.
public struct TensorView: @unchecked Sendable {
    public let name: String
    public let dtype: TensorDType
    public let shape: [Int]
    public let bytes: UnsafeRawBufferPointer
    public let file: MappedFile

    public init(name: String, dtype: TensorDType, shape: [Int], bytes: UnsafeRawBufferPointer, file: MappedFile) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.bytes = bytes
        self.file = file
    }

    public var elementCount: Int { shape.reduce(1, *) }
    public var rows: Int { shape.count >= 2 ? shape.dropLast().reduce(1, *) : 1 }
    public var columns: Int { shape.last ?? 1 }
    public var rowBytes: Int { bytes.count / max(rows, 1) }

    /// Row `index` as floats, dequantized exactly as stored.
    public func row(_ index: Int, into output: UnsafeMutablePointer<Float>) throws {
        let start = bytes.baseAddress.map { $0 + index * rowBytes }
        try Dequantizer.dequantize(dtype, start, into: output, count: columns, tensor: name)
    }

    /// Fails unless the tensor has exactly `expected` as its shape.
    public func requireShape(_ expected: [Int]) throws {
        guard shape == expected else { throw CheckpointError.shapeMismatch(tensor: name, expected: expected, found: shape) }
    }
}
