import CPhiKernels
import Testing

/// The KV cache formats, as the kernels name them.
enum KVRowFormat: String, CaseIterable, Sendable, CustomStringConvertible {
    case f32, f16, q8_0
    var description: String { rawValue }

    var kernel: phi_format {
        switch self {
        case .f32: PHI_FORMAT_F32
        case .f16: PHI_FORMAT_F16
        case .q8_0: PHI_FORMAT_Q8_0
        }
    }
}

/// `count` random head vectors stored as `format`, `rowBytes` apart, and their values read back.
struct KVRows {
    let bytes: [UInt8]
    let rowBytes: Int
    let dequantized: [Float]  // [count × headDim]

    init(_ format: KVRowFormat, count: Int, headDim: Int, padding: Int, range: ClosedRange<Float>,
         using rng: inout SeededGenerator) {
        let rowBytes = phi_kv_row_bytes(format.kernel, Int64(headDim)) + padding
        self.rowBytes = rowBytes
        var bytes = [UInt8](repeating: 0, count: count * rowBytes)
        var dequantized = [Float](repeating: 0, count: count * headDim)
        for position in 0..<count {
            let x = RandomData.floats(headDim, in: range, using: &rng)
            bytes.withUnsafeMutableBytes { raw in
                guard let base = raw.baseAddress else { return }
                phi_kv_store_row(format.kernel, x, base + position * rowBytes, Int64(headDim))
                dequantized.withUnsafeMutableBufferPointer { out in
                    phi_kv_load_row(format.kernel, base + position * rowBytes, out.baseAddress.map { $0 + position * headDim },
                                    Int64(headDim))
                }
            }
        }
        self.bytes = bytes
        self.dequantized = dequantized
    }
}

@Suite("KV rows in f32, f16 and q8_0")
struct AttentionKVTests {
    @Test("rows are stored as documented: f32 exact, f16 nearest, q8_0 as GGML quantizes whole blocks")
    func storage() {
        var rng = SeededGenerator(seed: 13)
        #expect(phi_kv_row_bytes(PHI_FORMAT_F32, 128) == 512)
        #expect(phi_kv_row_bytes(PHI_FORMAT_F16, 128) == 256)
        #expect(phi_kv_row_bytes(PHI_FORMAT_Q8_0, 128) == 4 * 34)
        // tiny-phi4's 16-dimension heads take a whole (zero-padded) block each.
        #expect(phi_kv_row_bytes(PHI_FORMAT_Q8_0, 16) == 34)
        for headDim in [16, 13, 40, 128] {
            let x = RandomData.floats(headDim, in: -5...5, using: &rng)
            var row = [UInt8](repeating: 0, count: phi_kv_row_bytes(PHI_FORMAT_Q8_0, Int64(headDim)))
            var back = [Float](repeating: 0, count: headDim)
            phi_kv_store_row(PHI_FORMAT_Q8_0, x, &row, Int64(headDim))
            phi_kv_load_row(PHI_FORMAT_Q8_0, row, &back, Int64(headDim))
            // q8_0 rounds to the nearest multiple of d = amax / 127 (d itself rounded to f16):
            // within d / 2, plus d's f16 rounding (2^-11 relative) times |q| <= 127.
            for block in stride(from: 0, to: headDim, by: 32) {
                let values = x[block..<min(headDim, block + 32)]
                let d = (values.map(abs).max() ?? 0) / 127
                for index in values.indices {
                    #expect(abs(back[index] - x[index]) <= d / 2 + d * 0x1p-11 * 127 + 1e-6, "q8_0, \(headDim) dims, value \(index)")
                }
            }
            if headDim % 32 == 0 {
                var blocks = [UInt8](repeating: 0, count: row.count)
                blocks.withUnsafeMutableBytes { raw in
                    phi_quantize_row_q8_0(x, raw.baseAddress?.assumingMemoryBound(to: phi_block_q8_0.self), Int64(headDim))
                }
                #expect(blocks == row)
            }
            var half = [UInt8](repeating: 0, count: 2 * headDim)
            phi_kv_store_row(PHI_FORMAT_F16, x, &half, Int64(headDim))
            phi_kv_load_row(PHI_FORMAT_F16, half, &back, Int64(headDim))
            #expect(back == x.map { Float(Float16($0)) })
        }
    }
}
