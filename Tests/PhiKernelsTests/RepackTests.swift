import CPhiKernels
import Testing

@Test("repacked matmul of every table equals the scalar dot on the original rows",
      arguments: KernelTable.available, [Format.q8_0, .q4_0])
func repackedMatchesScalarDot(_ kernels: KernelTable, _ format: Format) throws {
    let matmulRepacked = try #require(try kernels.table.pointee.matmul_repacked)
    var seed: UInt64 = 9000
    for cols in columns(for: format) {
        for rows in [1, 7, 8, 9, 17, 37] {
            for tokens in [1, 2, 3, 4, 5, 9] where cols < 3072 || tokens <= 5 {
                seed += 1
                let problem = Problem(format, rows: rows, columns: cols, tokens: tokens, seed: seed)
                let expected = try problem.referenceOutputs()
                var packed = [UInt8](repeating: 0xee, count: phi_repacked_bytes(format.kernel, Int64(rows), Int64(cols)))
                problem.weights.withUnsafeBytes { w in
                    phi_repack(format.kernel, w.baseAddress, format.rowBytes(cols), Int64(rows), Int64(cols), &packed)
                }
                for range in rowRanges(rows) {
                    var out = [Float](repeating: .nan, count: rows * tokens)
                    problem.activations.withUnsafeBytes { x in
                        matmulRepacked(format.kernel, packed, Int64(range.lowerBound), Int64(range.upperBound),
                                       x.baseAddress, format.activationRowBytes(cols), Int64(tokens), Int64(cols),
                                       &out, Int64(rows))
                    }
                    let inside = (0..<tokens).flatMap { t in range.map { t * rows + $0 } }
                    let outside = Set(0..<(rows * tokens)).subtracting(inside)
                    #expect(sameBits(inside.map { out[$0] }, inside.map { expected[$0] }),
                            "\(kernels) \(format) \(rows)x\(cols), \(tokens) tokens, rows \(range)")
                    #expect(outside.allSatisfy { out[$0].isNaN }, "\(kernels) wrote outside rows \(range)")
                }
            }
        }
    }
}

@Test("a repacked matrix takes whole groups of 8 rows and is the original size when rows % 8 == 0")
func repackedSize() {
    // 16 rows of 64 columns: 2 groups x 2 blocks; records of 8 scales and 8 blocks' quants.
    #expect(phi_repacked_bytes(PHI_FORMAT_Q8_0, 16, 64) == 16 * phi_row_bytes(PHI_FORMAT_Q8_0, 64))
    #expect(phi_repacked_bytes(PHI_FORMAT_Q4_0, 16, 64) == 16 * phi_row_bytes(PHI_FORMAT_Q4_0, 64))
    #expect(phi_repacked_bytes(PHI_FORMAT_Q4_0, 17, 64) == 24 * phi_row_bytes(PHI_FORMAT_Q4_0, 64))
    #expect(phi_repacked_bytes(PHI_FORMAT_F32, 16, 64) == 0)
}

@Test("a row read back from a repacked matrix equals the original row", arguments: [Format.q8_0, .q4_0])
func dequantizeRepackedRow(_ format: Format) {
    let rows = 13, cols = 96
    var rng = SeededGenerator(seed: 31)
    let weights = RandomData.weights(format, rows: rows, columns: cols, using: &rng)
    var packed = [UInt8](repeating: 0, count: phi_repacked_bytes(format.kernel, Int64(rows), Int64(cols)))
    weights.withUnsafeBytes { w in
        phi_repack(format.kernel, w.baseAddress, format.rowBytes(cols), Int64(rows), Int64(cols), &packed)
    }
    for row in 0..<rows {
        var got = [Float](repeating: .nan, count: cols)
        phi_dequantize_repacked_row(format.kernel, packed, Int64(row), Int64(cols), &got)
        #expect(sameBits(got, dequantize(format, weights, row: row, columns: cols)), "\(format) row \(row)")
    }
}
