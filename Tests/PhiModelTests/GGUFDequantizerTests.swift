import Foundation
import PhiModel
import PhiTestSupport
import Testing

/// Every tensor type the engine reads from GGUF, dequantized through `GGUFFile` and
/// `TensorView.row`, against the gguf package's numpy reference (`gguf.quants.dequantize`).
///
/// The comparison is bit for bit, not within a tolerance: both sides widen the f16 scales exactly
/// and then do the same float32 multiplies and adds in the same order (ggml-quants.c's order,
/// which numpy's vectorised form keeps), and the C side is compiled with FP contraction off, so
/// no fused multiply-add can round differently.
@Suite("GGUF dequantization equals the gguf package's numpy reference")
struct GGUFDequantizerTests {
    /// ggml_type ids of the types the engine computes with.
    static let types: [UInt32] = [0, 1, 30, 8, 2, 3, 12, 13, 14]
    /// Elements per row and rows of each random tensor: 8 k-quant super-blocks or 64 small blocks a row.
    static let rowElements = 2048
    static let rows = 3

    @Test("random blocks with valid scales dequantize bit-exactly", arguments: types)
    func randomBlocks(_ typeId: UInt32) throws {
        let type = try #require(GGMLType(id: typeId))
        let blockCount = Self.rows * Self.rowElements / type.blockElements
        var random = SeededGenerator(seed: 0x6767_7566 ^ UInt64(typeId))
        var bytes = (0..<(blockCount * type.blockBytes)).map { _ in UInt8.random(in: 0...255, using: &random) }
        Self.makeFinite(&bytes, type: type, using: &random)

        var builder = GGUFTestBuilder()
        builder.addTensor("w", dimensions: [Self.rowElements, Self.rows], type: typeId, data: bytes)
        let (url, _) = try builder.write()
        let view = try GGUFFile(path: url.path).tensor("w")
        #expect(view.shape == [Self.rows, Self.rowElements])
        var ours = [Float](repeating: .nan, count: Self.rows * Self.rowElements)
        try ours.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            for row in 0..<Self.rows { try view.row(row, into: base + row * Self.rowElements) }
        }

        let directory = url.deletingLastPathComponent()
        let input = directory.appendingPathComponent("blocks.bin")
        let output = directory.appendingPathComponent("reference.f32")
        try Data(bytes).write(to: input)
        try GGUFScripts.run("dequantize.py", [type.name, input.path, output.path])
        let reference = try FloatFile.read(output)

        try #require(reference.count == ours.count)
        let mismatches = ours.indices.filter { ours[$0].bitPattern != reference[$0].bitPattern }
        #expect(mismatches.isEmpty, "\(mismatches.count) of \(ours.count) differ; first at \(mismatches.first.map { "\($0): \(ours[$0]) vs \(reference[$0])" } ?? "")")
        // The random data must exercise the format: most values non-zero and not all equal.
        #expect(Set(ours.map(\.bitPattern)).count > ours.count / 16)
    }

    /// Byte offsets of the f16 scales inside one block (ggml-common.h layouts).
    static func scaleOffsets(_ type: GGMLType) -> [Int] {
        switch type.name {
        case "Q8_0", "Q4_0": [0]
        case "Q4_1", "Q4_K", "Q5_K": [0, 2]
        case "Q6_K": [208]
        default: []
        }
    }

    /// Random bits can spell infinities and NaNs; the files the engine reads have finite scales and
    /// weights, and NaN payloads are not what this test is about. Clearing the exponent's top bit
    /// of every non-finite value keeps everything else random.
    static func makeFinite(_ bytes: inout [UInt8], type: GGMLType, using random: inout SeededGenerator) {
        func fixHalf(at offset: Int, exponentMask: UInt16) {
            let bits = UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8
            if bits & exponentMask == exponentMask { bytes[offset + 1] &= 0xbf }
        }
        switch type.name {
        case "F32":
            for offset in stride(from: 0, to: bytes.count, by: 4) where bytes[offset + 3] & 0x7f == 0x7f && bytes[offset + 2] & 0x80 != 0 {
                bytes[offset + 3] &= 0xbf
            }
        case "F16":
            for offset in stride(from: 0, to: bytes.count, by: 2) { fixHalf(at: offset, exponentMask: 0x7c00) }
        case "BF16":
            for offset in stride(from: 0, to: bytes.count, by: 2) { fixHalf(at: offset, exponentMask: 0x7f80) }
        default:
            for block in stride(from: 0, to: bytes.count, by: type.blockBytes) {
                for scale in scaleOffsets(type) { fixHalf(at: block + scale, exponentMask: 0x7c00) }
            }
        }
    }
}
