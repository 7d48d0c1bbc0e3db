/// A GGML tensor element type as GGUF stores it (`ggml_type`): its id, name and block geometry.
/// Every type GGML defines is known here, so the byte length of every tensor can be validated,
/// though only some of them can be computed with (`dtype`).
public struct GGMLType: Sendable, Equatable, CustomStringConvertible {
    public let id: UInt32
    public let name: String
    /// Weights per block (1 for plain numbers).
    public let blockElements: Int
    public let blockBytes: Int

    /// The type with id `id`, or nil when GGML defines none.
    public init?(id: UInt32) {
        guard let known = Self.table[id] else { return nil }
        self = known
    }

    private init(_ id: UInt32, _ name: String, _ blockElements: Int, _ blockBytes: Int) {
        self.id = id
        self.name = name
        self.blockElements = blockElements
        self.blockBytes = blockBytes
    }

    public var description: String { name }

    /// The element type the engine reads, when it reads this one.
    public var dtype: TensorDType? {
        switch id {
        case 0: .f32
        case 1: .f16
        case 2: .q4_0
        case 3: .q4_1
        case 8: .q8_0
        case 12: .q4_K
        case 13: .q5_K
        case 14: .q6_K
        case 30: .bf16
        default: nil
        }
    }

    /// Block sizes of ggml-common.h (the gguf package's GGML_QUANT_SIZES). Ids 4, 5 and 31-33,
    /// 36-38 were retired by GGML and are unknown.
    private static let table: [UInt32: GGMLType] = {
        let types = [
            GGMLType(0, "F32", 1, 4), GGMLType(1, "F16", 1, 2), GGMLType(2, "Q4_0", 32, 18), GGMLType(3, "Q4_1", 32, 20),
            GGMLType(6, "Q5_0", 32, 22), GGMLType(7, "Q5_1", 32, 24), GGMLType(8, "Q8_0", 32, 34), GGMLType(9, "Q8_1", 32, 40),
            GGMLType(10, "Q2_K", 256, 84), GGMLType(11, "Q3_K", 256, 110), GGMLType(12, "Q4_K", 256, 144),
            GGMLType(13, "Q5_K", 256, 176), GGMLType(14, "Q6_K", 256, 210), GGMLType(15, "Q8_K", 256, 292),
            GGMLType(16, "IQ2_XXS", 256, 66), GGMLType(17, "IQ2_XS", 256, 74), GGMLType(18, "IQ3_XXS", 256, 98),
            GGMLType(19, "IQ1_S", 256, 50), GGMLType(20, "IQ4_NL", 32, 18), GGMLType(21, "IQ3_S", 256, 110),
            GGMLType(22, "IQ2_S", 256, 82), GGMLType(23, "IQ4_XS", 256, 136), GGMLType(24, "I8", 1, 1),
            GGMLType(25, "I16", 1, 2), GGMLType(26, "I32", 1, 4), GGMLType(27, "I64", 1, 8), GGMLType(28, "F64", 1, 8),
            GGMLType(29, "IQ1_M", 256, 56), GGMLType(30, "BF16", 1, 2), GGMLType(34, "TQ1_0", 256, 54),
            GGMLType(35, "TQ2_0", 256, 66), GGMLType(39, "MXFP4", 32, 17), GGMLType(40, "NVFP4", 64, 36),
            GGMLType(41, "Q1_0", 128, 18),
        ]
        return Dictionary(uniqueKeysWithValues: types.map { ($0.id, $0) })
    }()
}

/// One entry of a GGUF file's tensor table, validated against the file.
public struct GGUFTensorInfo: Sendable, Equatable {
    public let name: String
    /// Dimensions as GGUF stores them, innermost first: `dimensions[0]` is the row length.
    public let dimensions: [Int]
    public let type: GGMLType
    /// Offset of the data from the start of the data section (a multiple of the alignment).
    public let offset: Int
    /// Absolute byte range of the data in the file.
    public let range: Range<Int>

    /// The shape outermost first, as safetensors and `TensorView` give it: a matrix is [rows, columns].
    public var shape: [Int] { dimensions.reversed() }
    public var elementCount: Int { dimensions.reduce(1, *) }
}
