import CPhiKernels
import Foundation

/// A [rows × columns] weight matrix in one kernel format, each row `rowBytes` long. It points
/// either straight into a mapped checkpoint (when the stored format is the one asked for) or into
/// a buffer it owns (converted, quantized, fused or permuted at load).
///
/// `@unchecked Sendable`: `base` points into immutable memory kept alive by `owner`.
public struct WeightMatrix: @unchecked Sendable {
    public let format: WeightFormat
    public let rows: Int
    public let columns: Int
    public let rowBytes: Int
    let base: UnsafeRawPointer
    let owner: AnyObject

    /// Bytes of weights this matrix holds.
    public var byteCount: Int { rows * rowBytes }

    /// Builds the matrix from the row-wise concatenation of `parts`, in `format` (the stored format
    /// when nil and the kernels read it, f32 otherwise). Fails naming the tensor whose type,
    /// shape or row length does not fit.
    public static func load(_ parts: [(view: TensorView, unpermuteHeads: Int?)], columns: Int,
                            format requested: WeightFormat?) throws -> WeightMatrix {
        guard let first = parts.first else {
            throw CheckpointError.missingTensor(name: "(no parts)", searched: "weight matrix")
        }
        for part in parts where part.view.shape.count != 2 || part.view.columns != columns {
            throw CheckpointError.shapeMismatch(tensor: part.view.name, expected: [part.view.rows, columns], found: part.view.shape)
        }
        let format = requested ?? first.view.dtype.kernelFormat ?? .f32
        guard columns % format.blockElements == 0 else {
            throw CheckpointError.shapeMismatch(tensor: first.view.name, expected: [first.view.rows, columns - columns % format.blockElements],
                                                found: first.view.shape)
        }
        let rows = parts.reduce(0) { $0 + $1.view.rows }
        let rowBytes = format.rowBytes(columns: columns)
        if parts.count == 1, first.unpermuteHeads == nil, first.view.dtype.kernelFormat == format,
           let base = first.view.bytes.baseAddress {
            return WeightMatrix(format: format, rows: rows, columns: columns, rowBytes: rowBytes, base: base, owner: first.view.file)
        }
        let buffer = WeightBuffer(byteCount: rows * rowBytes)
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: columns)
        defer { scratch.deallocate() }
        var outputRow = 0
        for (view, heads) in parts {
            let order = try heads.map { try ropeRowOrder(rows: view.rows, heads: $0, tensor: view.name) }
            for row in 0..<view.rows {
                let sourceRow = order?[row] ?? row
                let destination = buffer.pointer + outputRow * rowBytes
                if view.dtype.kernelFormat == format, let source = view.bytes.baseAddress {
                    destination.copyMemory(from: source + sourceRow * view.rowBytes, byteCount: rowBytes)
                } else {
                    try view.row(sourceRow, into: scratch)
                    encode(scratch, columns: columns, as: format, into: destination)
                }
                outputRow += 1
            }
        }
        return WeightMatrix(format: format, rows: rows, columns: columns, rowBytes: rowBytes,
                            base: UnsafeRawPointer(buffer.pointer), owner: buffer)
    }

    /// Writes `columns` floats as one row of `format`.
    static func encode(_ row: UnsafePointer<Float>, columns: Int, as format: WeightFormat, into destination: UnsafeMutableRawPointer) {
        let count = Int64(columns)
        switch format {
        case .f32:
            destination.copyMemory(from: row, byteCount: columns * 4)
        case .f16:
            let output = destination.assumingMemoryBound(to: UInt16.self)
            for index in 0..<columns { output[index] = phi_f32_to_f16(row[index]) }
        case .bf16:
            let output = destination.assumingMemoryBound(to: UInt16.self)
            for index in 0..<columns { output[index] = phi_f32_to_bf16(row[index]) }
        case .q8_0:
            phi_quantize_row_q8_0(row, destination.assumingMemoryBound(to: phi_block_q8_0.self), count)
        case .q4_0:
            phi_quantize_row_q4_0(row, destination.assumingMemoryBound(to: phi_block_q4_0.self), count)
        }
    }

    /// GGUF stores llama's q/k rows of each head interleaved for GGML's adjacent-pair RoPE
    /// (convert_hf_to_gguf's `permute`); row `i` of the rotate-half layout is stored at
    /// `order[i]`. Per head of `d` rows: stored row `2j` holds original row `j`, stored `2j+1`
    /// holds original `j + d/2`.
    static func ropeRowOrder(rows: Int, heads: Int, tensor: String) throws -> [Int] {
        guard heads > 0, rows % heads == 0, (rows / heads) % 2 == 0 else {
            throw CheckpointError.shapeMismatch(tensor: tensor, expected: [heads * 2 * max(rows / max(heads, 1) / 2, 1)], found: [rows])
        }
        let headRows = rows / heads
        var order = [Int](repeating: 0, count: rows)
        for head in 0..<heads {
            for j in 0..<headRows / 2 {
                order[head * headRows + j] = head * headRows + 2 * j
                order[head * headRows + j + headRows / 2] = head * headRows + 2 * j + 1
            }
        }
        return order
    }
}

/// Memory a converted weight matrix owns, aligned for SIMD loads.
final class WeightBuffer: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
    let byteCount: Int

    init(byteCount: Int) {
        self.byteCount = byteCount
        pointer = UnsafeMutableRawPointer.allocate(byteCount: max(byteCount, 1), alignment: 64)
    }

    deinit { pointer.deallocate() }
}
