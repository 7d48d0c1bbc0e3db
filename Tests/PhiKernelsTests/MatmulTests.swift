import CPhiKernels
import Testing

/// Shapes with odd sizes: float formats take any column count, quantized ones whole blocks.
private let floatColumns = [1, 3, 8, 13, 64, 100, 257, 3072]
private let quantizedColumns = [32, 64, 96, 288, 544, 3072]
private let rowCounts = [1, 5, 8, 13, 37]
private let tokenCounts = [1, 2, 3, 5, 9]

/// Row ranges of every alignment: the whole matrix and three uneven pieces of it.
func rowRanges(_ rows: Int) -> [Range<Int>] {
    [0..<rows, 0..<(rows / 3), (rows / 3)..<(rows - rows / 5), (rows - rows / 5)..<rows]
}

func columns(for format: Format) -> [Int] { format.isQuantized ? quantizedColumns : floatColumns }

/// Exactness needs no tolerance: every table performs the reference's operations in the
/// reference's order (phi_kernels.h), so results must be equal bit for bit.
func sameBits(_ a: [Float], _ b: [Float]) -> Bool { a.map(\.bitPattern) == b.map(\.bitPattern) }

struct Problem {
    let format: Format
    let rows: Int, columns: Int, tokens: Int
    let weights: [UInt8]
    let activations: [UInt8]

    init(_ format: Format, rows: Int, columns: Int, tokens: Int, seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        self.format = format
        self.rows = rows
        self.columns = columns
        self.tokens = tokens
        weights = RandomData.weights(format, rows: rows, columns: columns, using: &rng)
        activations = RandomData.activations(for: format, tokens: tokens, columns: columns, using: &rng)
    }

    /// out[t * rows + r] from the scalar table's dot, one element at a time.
    func referenceOutputs() throws -> [Float] {
        let dot = try #require(phi_kernels_scalar().pointee.dot)
        var out = [Float](repeating: 0, count: rows * tokens)
        weights.withUnsafeBytes { w in
            activations.withUnsafeBytes { x in
                for t in 0..<tokens {
                    for r in 0..<rows {
                        out[t * rows + r] = dot(format.kernel, w.baseAddress.map { $0 + r * format.rowBytes(columns) },
                                                x.baseAddress.map { $0 + t * format.activationRowBytes(columns) },
                                                Int64(columns))
                    }
                }
            }
        }
        return out
    }
}

@Test("dot of every table equals the scalar reference bit for bit",
      arguments: KernelTable.available, Format.allCases)
func dotMatchesScalar(_ kernels: KernelTable, _ format: Format) throws {
    let dot = try #require(try kernels.table.pointee.dot)
    for (index, cols) in columns(for: format).enumerated() {
        let problem = Problem(format, rows: 7, columns: cols, tokens: 3, seed: 100 + UInt64(index))
        let expected = try problem.referenceOutputs()
        var got = [Float]()
        problem.weights.withUnsafeBytes { w in
            problem.activations.withUnsafeBytes { x in
                for t in 0..<problem.tokens {
                    for r in 0..<problem.rows {
                        got.append(dot(format.kernel, w.baseAddress.map { $0 + r * format.rowBytes(cols) },
                                       x.baseAddress.map { $0 + t * format.activationRowBytes(cols) }, Int64(cols)))
                    }
                }
            }
        }
        #expect(sameBits(got, expected), "\(kernels) \(format) dot over \(cols) columns")
    }
}

@Test("matmul of every table equals the scalar dot for any row range and token count",
      arguments: KernelTable.available, Format.allCases)
func matmulMatchesScalarDot(_ kernels: KernelTable, _ format: Format) throws {
    let matmul = try #require(try kernels.table.pointee.matmul)
    var seed: UInt64 = 1
    for cols in columns(for: format) {
        for rows in rowCounts {
            for tokens in tokenCounts where cols < 3072 || (rows <= 13 && tokens <= 3) {
                seed += 1
                let problem = Problem(format, rows: rows, columns: cols, tokens: tokens, seed: seed)
                let expected = try problem.referenceOutputs()
                for range in rowRanges(rows) {
                    // NaN marks rows outside the range: the kernel must leave them alone.
                    var out = [Float](repeating: .nan, count: rows * tokens)
                    problem.weights.withUnsafeBytes { w in
                        problem.activations.withUnsafeBytes { x in
                            matmul(format.kernel, w.baseAddress, format.rowBytes(cols), Int64(range.lowerBound),
                                   Int64(range.upperBound), x.baseAddress, format.activationRowBytes(cols),
                                   Int64(tokens), Int64(cols), &out, Int64(rows))
                        }
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

/// Float rounding bound of the reference dot against exact arithmetic: each lane adds
/// ceil(n / 8) fused products (one rounding each) and three additions join the lanes, so the
/// error is at most gamma_k * sum |w_i x_i| with k = n / 8 + 4 and unit roundoff 2^-24
/// (Higham, Accuracy and Stability of Numerical Algorithms, 3.1). Quantized rows: one fused
/// step per block, so k = blocks + 1 over the block terms.
func roundingBound(terms: Int, absoluteSum: Double) -> Double {
    let unitRoundoff = 0x1p-24
    let k = Double(terms)
    return k * unitRoundoff / (1 - k * unitRoundoff) * absoluteSum
}

@Test("the scalar dot is within the float rounding bound of a float64 dot", arguments: Format.allCases)
func scalarDotIsAccurate(_ format: Format) throws {
    for (index, cols) in columns(for: format).enumerated() {
        let problem = Problem(format, rows: 3, columns: cols, tokens: 2, seed: 500 + UInt64(index))
        let got = try problem.referenceOutputs()
        for t in 0..<problem.tokens {
            let x = dequantize(problem.format.isQuantized ? .q8_0 : .f32, problem.activations, row: t, columns: cols)
            for r in 0..<problem.rows {
                let w = dequantize(format, problem.weights, row: r, columns: cols)
                let products = zip(w, x).map { Double($0) * Double($1) }
                let exact = products.reduce(0, +)
                let terms = format.isQuantized ? cols / 32 + 1 : cols / 8 + 4
                // Quantized: the block terms s_b * d_w * d_x are exact in float64; their
                // magnitudes bound the error as the products' do.
                let absoluteSum = format.isQuantized
                    ? stride(from: 0, to: cols, by: 32).map { b in abs(products[b..<(b + 32)].reduce(0, +)) }.reduce(0, +)
                    : products.map(abs).reduce(0, +)
                #expect(abs(Double(got[t * problem.rows + r]) - exact) <= roundingBound(terms: terms, absoluteSum: absoluteSum),
                        "\(format) row \(r) token \(t) over \(cols) columns")
            }
        }
    }
}

/// Row `row` of a matrix in `format`, widened to f32 by phi_dequantize_row.
func dequantize(_ format: Format, _ bytes: [UInt8], row: Int, columns: Int) -> [Float] {
    var out = [Float](repeating: 0, count: columns)
    bytes.withUnsafeBytes { raw in
        phi_dequantize_row(format.kernel, raw.baseAddress.map { $0 + row * format.rowBytes(columns) }, &out, Int64(columns))
    }
    return out
}
