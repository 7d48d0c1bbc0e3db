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

    /// The instruction set of the selected kernels ("scalar", "avx2", "neon").
    public var kernelName: String { String(cString: kernels.table.pointee.name) }

    /// Rows each thread's share of a matmul is cut into, so threads that finish early take more.
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
            quantized.withUnsafeMutableBytes { bytes in
                guard let base = bytes.baseAddress else { return }
                for token in 0..<tokens {
                    phi_quantize_row_q8_0(x + token * columns,
                                          (base + token * rowBytes).assumingMemoryBound(to: phi_block_q8_0.self),
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
        let table = kernels.table
        let chunks = min(w.rows, pool.threadCount == 1 ? 1 : pool.threadCount * Self.chunksPerThread)
        let rowsPerChunk = (w.rows + chunks - 1) / chunks
        pool.parallelFor(chunks) { chunk in
            let begin = chunk * rowsPerChunk
            let end = min(w.rows, begin + rowsPerChunk)
            guard begin < end else { return }
            table.pointee.matmul(w.format.kernelFormat, w.base, w.rowBytes, Int64(begin), Int64(end),
                                 input, inputRowBytes, Int64(tokens), Int64(w.columns), output, Int64(outputStride))
        }
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
