import CPhiKernels
import Foundation
import Testing

/// phi_expf's error against float64 exp: the Cephes polynomial measured at most 1.008 ulp over
/// every 7th float in [-87.3, 88.7]; 2 ulp leaves room for the sampled points here.
let expUlpBound = 2.0

@Test("phi_expf is within 2 ulp of exp, with the documented ends")
func expAccuracy() {
    var worst = 0.0
    var x: Float = -87.3
    while x < 88.7 {
        let exact = Foundation.exp(Double(x))
        let ulp = Double(Float(exact).ulp)
        worst = max(worst, abs(Double(phi_expf(x)) - exact) / ulp)
        x += 0.0137
    }
    #expect(worst <= expUlpBound, "worst error \(worst) ulp")
    #expect(phi_expf(0) == 1)
    #expect(phi_expf(-.infinity) == 0)
    #expect(phi_expf(-88) == 0)  // below FLT_MIN: flushed, as documented
    #expect(phi_expf(89) == .infinity)
    #expect(phi_expf(.nan).isNaN)
}

@Test("RMSNorm and SwiGLU of every table equal the scalar ones bit for bit", arguments: KernelTable.available)
func rowOpsMatchScalar(_ kernels: KernelTable) throws {
    let table = try kernels.table.pointee
    let rmsnorm = try #require(table.rmsnorm), swiglu = try #require(table.swiglu)
    var rng = SeededGenerator(seed: 5)
    for n in [1, 7, 33, 100, 3072, 8192] {
        let a = RandomData.floats(n, in: -12...12, using: &rng), b = RandomData.floats(n, in: -2...2, using: &rng)
        var expected = [Float](repeating: 0, count: n), got = expected
        phi_rmsnorm(a, b, &expected, Int64(n), 1e-5)
        rmsnorm(a, b, &got, Int64(n), 1e-5)
        #expect(sameBits(got, expected), "\(kernels) rmsnorm of \(n)")
        phi_swiglu(a, b, &expected, Int64(n))
        swiglu(a, b, &got, Int64(n))
        #expect(sameBits(got, expected), "\(kernels) swiglu of \(n)")
    }
}

@Test("the scalar RMSNorm and SwiGLU are within their rounding bounds of float64")
func rowOpsAccuracy() {
    var rng = SeededGenerator(seed: 6)
    let unitRoundoff = 0x1p-24
    for n in [7, 100, 3072] {
        let x = RandomData.floats(n, in: -12...12, using: &rng), w = RandomData.floats(n, in: -2...2, using: &rng)
        var out = [Float](repeating: 0, count: n)
        phi_rmsnorm(x, w, &out, Int64(n), 1e-5)
        let meanSquare = x.map { Double($0) * Double($0) }.reduce(0, +) / Double(n)
        let inverseRoot = 1 / (meanSquare + 1e-5).squareRoot()
        // Sum of squares: gamma_(n/8+4), halved by the square root; then one rounding each for
        // the division, +eps, sqrt, reciprocal and two products: k/2 + 6 units of roundoff.
        let relative = (Double(n / 8 + 4) / 2 + 6) * unitRoundoff
        for i in 0..<n {
            let exact = Double(w[i]) * Double(x[i]) * inverseRoot
            #expect(abs(Double(out[i]) - exact) <= relative * abs(exact) + Double(Float.leastNormalMagnitude))
        }
        phi_swiglu(x, w, &out, Int64(n))
        // exp within 1.008 ulp, then +1, a division and a product: 5 units of roundoff.
        for i in 0..<n {
            let g = Double(x[i])
            let exact = g / (1 + Foundation.exp(-g)) * Double(w[i])
            #expect(abs(Double(out[i]) - exact) <= 5 * unitRoundoff * abs(exact) + Double(Float.leastNormalMagnitude))
        }
    }
}

@Test("untiled attention (the tiled kernels' accuracy reference) is within its rounding bound of float64")
func attentionAccuracy() {
    var rng = SeededGenerator(seed: 7)
    let unitRoundoff = 0x1p-24
    for (count, headDim) in [(1, 128), (9, 96), (200, 128)] {
        let q = RandomData.floats(headDim, in: -2...2, using: &rng)
        let keys = RandomData.floats(headDim * count, in: -2...2, using: &rng)
        let values = RandomData.floats(headDim * count, in: -1...1, using: &rng)
        let scale = 1 / Double(headDim).squareRoot()
        var scores = [Float](repeating: 0, count: count), out = [Float](repeating: 0, count: headDim)
        phi_attend_head_f32(q, keys, values, Int64(headDim), Int64(count), Int64(headDim), Float(scale), &scores, &out)
        var exactScores = [Double](), scoreError = 0.0
        for p in 0..<count {
            let products = (0..<headDim).map { Double(q[$0]) * Double(keys[p * headDim + $0]) }
            exactScores.append(products.reduce(0, +) * scale)
            // The dot's gamma_(d/8+4) bound, plus the scale's own rounding.
            scoreError = max(scoreError, (Double(headDim / 8 + 4) * products.map(abs).reduce(0, +) * scale
                + abs(exactScores[p])) * unitRoundoff)
        }
        let top = exactScores.max() ?? 0
        let weights = exactScores.map { Foundation.exp($0 - top) }
        let total = weights.reduce(0, +)
        // Weights: each score error enters twice (its exp and the max), exp costs 1.008 ulp,
        // the total gamma_(count/8+4), the reciprocal and product one each; the weighted sum
        // of |v| <= 1 adds gamma_count.
        let weightError = 4 * scoreError + (Double(count / 8 + 4) + 4) * unitRoundoff
        let bound = weightError + Double(count + 1) * unitRoundoff
        for d in 0..<headDim {
            let exact = (0..<count).map { weights[$0] / total * Double(values[$0 * headDim + d]) }.reduce(0, +)
            #expect(abs(Double(out[d]) - exact) <= bound, "attention over \(count) positions, dimension \(d)")
        }
    }
}
