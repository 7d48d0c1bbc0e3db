import CPhiKernels

/// The kernels a node runs with (one instruction set, chosen once at startup) and its threads.
public struct Compute: Sendable {
    /// `@unchecked Sendable`: the tables are immutable static data in CPhiKernels.
    struct KernelTable: @unchecked Sendable {
        let table: UnsafePointer<phi_kernels>
    }

    let kernels: KernelTable
    public let pool: ThreadPool

    /// The fastest kernels this CPU supports, on `threads` threads (the available cores by default).
    public init(threads: Int? = nil, kernels: KernelSet = .best) throws {
        guard let table = kernels.table else { throw ComputeError.kernelsUnavailable(kernels.rawValue) }
        self.kernels = KernelTable(table: table)
        pool = ThreadPool(threads: threads ?? ThreadPool.availableCores)
    }

    /// The instruction set of the selected kernels ("scalar", "avx2", "neon", "neon-dotprod").
    public var kernelName: String { String(cString: kernels.table.pointee.name) }

    var table: phi_kernels { kernels.table.pointee }

    /// Row chunks per thread of a matmul, so threads that finish early take more.
    private static let chunksPerThread = 4

    /// out[t * outStride + r] = w[r] · x[t] for all rows r of `w` and tokens t. `x` holds
    /// `tokens` rows of `w.columns` floats; for integer formats it is first quantized to q8_0 in
    /// `quantized` (grown as needed).
    func matmul(_ w: WeightMatrix, input x: UnsafePointer<Float>, tokens: Int, output: UnsafeMutablePointer<Float>,
                outputStride: Int, quantized: inout [UInt8]) {
        let columns = w.columns
        if w.format.takesQuantizedActivations {
            let rowBytes = WeightFormat.q8_0.rowBytes(columns: columns)
            if quantized.count < tokens * rowBytes { quantized = [UInt8](repeating: 0, count: tokens * rowBytes) }
            let quantize = table.quantize_row_q8_0
            quantized.withUnsafeMutableBytes { bytes in
                guard let base = bytes.baseAddress else { return }
                pool.parallelFor(tokens) { token in
                    quantize?(x + token * columns, (base + token * rowBytes).assumingMemoryBound(to: phi_block_q8_0.self),
                              Int64(columns))
                }
                matmulRows(w, input: UnsafeRawPointer(base), inputRowBytes: rowBytes, tokens: tokens,
                           output: output, outputStride: outputStride)
            }
        } else {
            matmulRows(w, input: UnsafeRawPointer(x), inputRowBytes: columns * 4, tokens: tokens,
                       output: output, outputStride: outputStride)
        }
    }

    private func matmulRows(_ w: WeightMatrix, input: UnsafeRawPointer, inputRowBytes: Int, tokens: Int,
                            output: UnsafeMutablePointer<Float>, outputStride: Int) {
        let kernels = table
        let chunks = min((w.rows + 7) / 8, pool.threadCount == 1 ? 1 : pool.threadCount * Self.chunksPerThread)
        // Chunks start on multiples of 8 rows: the repacked layout computes 8-row groups whole.
        let rowsPerChunk = ((w.rows + chunks - 1) / chunks + 7) / 8 * 8
        pool.parallelFor(chunks) { chunk in
            let begin = chunk * rowsPerChunk
            let end = min(w.rows, begin + rowsPerChunk)
            guard begin < end else { return }
            if w.isRepacked {
                kernels.matmul_repacked(w.format.kernelFormat, w.base, Int64(begin), Int64(end), input, inputRowBytes,
                                        Int64(tokens), Int64(w.columns), output, Int64(outputStride))
            } else {
                kernels.matmul(w.format.kernelFormat, w.base, w.rowBytes, Int64(begin), Int64(end), input, inputRowBytes,
                               Int64(tokens), Int64(w.columns), output, Int64(outputStride))
            }
        }
    }

    /// Writes `columns` floats as one row of `format`.
    func encode(_ row: UnsafePointer<Float>, columns: Int, as format: WeightFormat, into destination: UnsafeMutableRawPointer) {
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
            table.quantize_row_q8_0(row, destination.assumingMemoryBound(to: phi_block_q8_0.self), count)
        case .q4_0:
            table.quantize_row_q4_0(row, destination.assumingMemoryBound(to: phi_block_q4_0.self), count)
        }
    }

    func rmsnorm(_ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>,
                 count: Int, epsilon: Float) {
        table.rmsnorm(x, weight, output, Int64(count), epsilon)
    }

    func swiglu(gate: UnsafePointer<Float>, up: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>, count: Int) {
        table.swiglu(gate, up, output, Int64(count))
    }
}

/// Which kernel table to run; `best` picks the fastest the CPU supports.
public enum KernelSet: String, Sendable, CaseIterable {
    case best, scalar, avx2, neon

    var table: UnsafePointer<phi_kernels>? {
        switch self {
        case .best: phi_kernels_best()
        case .scalar: phi_kernels_scalar()
        case .avx2: phi_kernels_avx2()
        case .neon: phi_kernels_neon()
        }
    }
}

public enum ComputeError: Error, CustomStringConvertible {
    case kernelsUnavailable(String)

    public var description: String {
        switch self {
        case let .kernelsUnavailable(name): "the \(name) kernels are not available on this CPU or build"
        }
    }
}
