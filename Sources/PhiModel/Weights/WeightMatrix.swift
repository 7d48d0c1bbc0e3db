import CPhiKernels
import Foundation

/// A [rows × columns] weight matrix in one kernel format, each row `rowBytes` long. Float formats
/// point straight into a mapped checkpoint when the stored format is the one asked for, or into
/// a buffer they own (converted, fused or permuted at load). q8_0 and q4_0 are always repacked at
/// load into groups of 8 interleaved rows (`phi_repack`), the layout the fast matmul reads.
///
/// `@unchecked Sendable`: `base` points into immutable memory kept alive by `owner`.
public struct WeightMatrix: @unchecked Sendable {
    public let format: WeightFormat
    public let rows: Int
    public let columns: Int
    /// Bytes of one row in the plain (not repacked) layout.
    public let rowBytes: Int
    /// Whether `base` holds the repacked layout (q8_0 and q4_0).
    public let isRepacked: Bool
    let base: UnsafeRawPointer
    let owner: AnyObject

    /// Bytes of weights this matrix holds.
    public var byteCount: Int {
        isRepacked ? phi_repacked_bytes(format.kernelFormat, Int64(rows), Int64(columns)) : rows * rowBytes
    }

    /// Builds the matrix from the row-wise concatenation of `parts`, in `format` (the stored format
    /// when nil and the kernels read it, f32 otherwise), converting rows on `compute`'s threads.
    /// Fails naming the tensor whose type, shape or row length does not fit.
    public static func load(_ parts: [(view: TensorView, unpermuteHeads: Int?)], columns: Int,
                            format requested: WeightFormat?, compute: Compute) throws -> WeightMatrix {
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
        let plain: (base: UnsafeRawPointer, owner: AnyObject)
        if parts.count == 1, first.unpermuteHeads == nil, first.view.dtype.kernelFormat == format,
           let base = first.view.bytes.baseAddress {
            plain = (base, first.view.file)
        } else {
            let buffer = WeightBuffer(byteCount: rows * rowBytes)
            try fill(buffer, parts: parts, columns: columns, format: format, rowBytes: rowBytes, compute: compute)
            plain = (UnsafeRawPointer(buffer.pointer), buffer)
        }
        guard format.takesQuantizedActivations else {
            return WeightMatrix(format: format, rows: rows, columns: columns, rowBytes: rowBytes, isRepacked: false,
                                base: plain.base, owner: plain.owner)
        }
        let packed = WeightBuffer(byteCount: phi_repacked_bytes(format.kernelFormat, Int64(rows), Int64(columns)))
        // Repack 8-row groups in parallel: each group's record depends only on its own rows.
        let groups = (rows + 7) / 8
        let groupsPerChunk = max(1, groups / (compute.pool.threadCount * 8))
        let recordBytes = phi_repacked_bytes(format.kernelFormat, 8, Int64(columns))
        compute.pool.parallelFor((groups + groupsPerChunk - 1) / groupsPerChunk) { chunk in
            let firstGroup = chunk * groupsPerChunk
            let groupCount = min(groupsPerChunk, groups - firstGroup)
            let firstRow = firstGroup * 8
            phi_repack(format.kernelFormat, plain.base + firstRow * rowBytes, rowBytes, Int64(min(groupCount * 8, rows - firstRow)),
                       Int64(columns), packed.pointer + firstGroup * recordBytes)
        }
        return WeightMatrix(format: format, rows: rows, columns: columns, rowBytes: rowBytes, isRepacked: true,
                            base: UnsafeRawPointer(packed.pointer), owner: packed)
    }

    /// Writes every output row: copied when the stored type is the target format, else dequantized
    /// and re-encoded. Rows are independent, so they are spread over the pool.
    private static func fill(_ buffer: WeightBuffer, parts: [(view: TensorView, unpermuteHeads: Int?)], columns: Int,
                             format: WeightFormat, rowBytes: Int, compute: Compute) throws {
        var firstOutputRow = 0
        for (view, heads) in parts {
            let order = try heads.map { try ropeRowOrder(rows: view.rows, heads: $0, tensor: view.name) }
            let rowsPerChunk = max(1, view.rows / (compute.pool.threadCount * 16))
            let chunks = (view.rows + rowsPerChunk - 1) / rowsPerChunk
            let failure = Failure()
            let outputBase = firstOutputRow
            compute.pool.parallelFor(chunks) { chunk in
                let scratch = UnsafeMutablePointer<Float>.allocate(capacity: columns)
                defer { scratch.deallocate() }
                for row in (chunk * rowsPerChunk)..<min(view.rows, (chunk + 1) * rowsPerChunk) {
                    let sourceRow = order?[row] ?? row
                    let destination = buffer.pointer + (outputBase + row) * rowBytes
                    if view.dtype.kernelFormat == format, let source = view.bytes.baseAddress {
                        destination.copyMemory(from: source + sourceRow * view.rowBytes, byteCount: rowBytes)
                    } else {
                        do {
                            try view.row(sourceRow, into: scratch)
                        } catch {
                            failure.record(error)
                            return
                        }
                        compute.encode(scratch, columns: columns, as: format, into: destination)
                    }
                }
            }
            try failure.rethrow()
            firstOutputRow += view.rows
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

/// The first error thrown inside a parallel loop.
final class Failure: @unchecked Sendable {
    private let lock = NSLock()
    private var error: (any Error)?

    func record(_ error: any Error) {
        lock.withLock { if self.error == nil { self.error = error } }
    }

    func rethrow() throws {
        if let error = lock.withLock({ self.error }) { throw error }
    }
}

/// Memory a converted weight matrix owns: 2 MiB-aligned huge pages, since decode streams every
/// matrix once per token (see `HugePageBuffer`).
typealias WeightBuffer = HugePageBuffer
