import CPhiKernels
import Testing

/// GGML's quantize_row_q8_0_ref restated in Swift: d = amax / 127, q = roundf(x * (1 / d)).
func ggmlQuantizeQ8_0(_ x: [Float]) -> [UInt8] {
    var bytes = [UInt8]()
    for start in stride(from: 0, to: x.count, by: 32) {
        let block = x[start..<(start + 32)]
        let amax = block.map(abs).max() ?? 0
        let d = amax / 127
        let inverse: Float = d != 0 ? 1 / d : 0
        let scale = Float16(d).bitPattern
        bytes += [UInt8(scale & 0xff), UInt8(scale >> 8)]
        bytes += block.map { UInt8(bitPattern: Int8(($0 * inverse).rounded(.toNearestOrAwayFromZero))) }
    }
    return bytes
}

/// GGML's quantize_row_q4_0_ref restated in Swift: the first value of largest magnitude maps
/// to -8, q = min(15, trunc(x / d + 8.5)); low nibbles hold elements 0..15.
func ggmlQuantizeQ4_0(_ x: [Float]) -> [UInt8] {
    var bytes = [UInt8]()
    for start in stride(from: 0, to: x.count, by: 32) {
        let block = Array(x[start..<(start + 32)])
        var amax: Float = 0, max: Float = 0
        for v in block where abs(v) > amax { amax = abs(v); max = v }
        let d = max / -8
        let inverse: Float = d != 0 ? 1 / d : 0
        let scale = Float16(d).bitPattern
        bytes += [UInt8(scale & 0xff), UInt8(scale >> 8)]
        let q = block.map { Swift.min(15, Int($0 * inverse + 8.5)) }
        bytes += (0..<16).map { UInt8(q[$0] | (q[$0 + 16] << 4)) }
    }
    return bytes
}

/// Rows with ties: a block whose largest magnitude is 127 has d = 1, so k + 0.5 values sit
/// exactly halfway and roundf must push them away from zero.
func quantizationInputs(count: Int, seed: UInt64) -> [Float] {
    var rng = SeededGenerator(seed: seed)
    var x = RandomData.floats(count, in: -4...4, using: &rng)
    x[0] = 127
    for i in stride(from: 1, to: min(32, count), by: 2) { x[i] = Float(Int.random(in: -100...100, using: &rng)) + 0.5 }
    return x
}

@Test("q8_0 quantization follows GGML's reference, and every table writes the same bytes",
      arguments: KernelTable.available)
func quantizeQ8_0(_ kernels: KernelTable) throws {
    let quantize = try #require(try kernels.table.pointee.quantize_row_q8_0)
    for (index, count) in [32, 96, 3072, 8192].enumerated() {
        let x = quantizationInputs(count: count, seed: UInt64(index))
        var reference = [UInt8](repeating: 0, count: phi_row_bytes(PHI_FORMAT_Q8_0, Int64(count)))
        var got = reference
        reference.withUnsafeMutableBytes { phi_quantize_row_q8_0(x, $0.baseAddress?.assumingMemoryBound(to: phi_block_q8_0.self), Int64(count)) }
        got.withUnsafeMutableBytes { quantize(x, $0.baseAddress?.assumingMemoryBound(to: phi_block_q8_0.self), Int64(count)) }
        #expect(reference == ggmlQuantizeQ8_0(x), "scalar q8_0 differs from GGML's formula, \(count) values")
        #expect(got == reference, "\(kernels) q8_0 bytes differ from the scalar ones, \(count) values")
    }
}

@Test("q4_0 quantization follows GGML's reference, and every table writes the same bytes",
      arguments: KernelTable.available)
func quantizeQ4_0(_ kernels: KernelTable) throws {
    let quantize = try #require(try kernels.table.pointee.quantize_row_q4_0)
    for (index, count) in [32, 96, 3072].enumerated() {
        var x = quantizationInputs(count: count, seed: 40 + UInt64(index))
        // Tied largest magnitudes: the first (negative) one sets the sign of d.
        for start in stride(from: 32, to: count, by: 64) { x[start + 3] = -300; x[start + 20] = 300 }
        var reference = [UInt8](repeating: 0, count: phi_row_bytes(PHI_FORMAT_Q4_0, Int64(count)))
        var got = reference
        reference.withUnsafeMutableBytes { phi_quantize_row_q4_0(x, $0.baseAddress?.assumingMemoryBound(to: phi_block_q4_0.self), Int64(count)) }
        got.withUnsafeMutableBytes { quantize(x, $0.baseAddress?.assumingMemoryBound(to: phi_block_q4_0.self), Int64(count)) }
        #expect(reference == ggmlQuantizeQ4_0(x), "scalar q4_0 differs from GGML's formula, \(count) values")
        #expect(got == reference, "\(kernels) q4_0 bytes differ from the scalar ones, \(count) values")
    }
}

/// Round-trip error bounds per element, in units of the block's scale d: rounding to the
/// nearest step costs d / 2, storing d as f16 moves each of up to 127 (q8_0) or 8 (q4_0)
/// steps by at most d * 2^-11; q4_0 also clamps the top step (+8 becomes +7), costing up to d.
let q8_0RoundTripSteps = 0.5 + 127 * 0x1p-11
let q4_0RoundTripSteps = 1.0 + 8 * 0x1p-11

@Test("dequantize(quantize(x)) stays within the rounding bound of each format", arguments: [Format.q8_0, .q4_0])
func quantizeRoundTrip(_ format: Format) {
    let count = 3072
    var rng = SeededGenerator(seed: 77)
    let x = RandomData.floats(count, in: -3...3, using: &rng)
    var blocks = [UInt8](repeating: 0, count: format.rowBytes(count))
    blocks.withUnsafeMutableBytes { raw in
        if format == .q8_0 {
            phi_quantize_row_q8_0(x, raw.baseAddress?.assumingMemoryBound(to: phi_block_q8_0.self), Int64(count))
        } else {
            phi_quantize_row_q4_0(x, raw.baseAddress?.assumingMemoryBound(to: phi_block_q4_0.self), Int64(count))
        }
    }
    let back = dequantize(format, blocks, row: 0, columns: count)
    let steps = format == .q8_0 ? q8_0RoundTripSteps : q4_0RoundTripSteps
    for start in stride(from: 0, to: count, by: 32) {
        let amax = Double(x[start..<(start + 32)].map(abs).max() ?? 0)
        let d = amax / (format == .q8_0 ? 127 : 8) * (1 + 0x1p-10)  // f16 scale may round up
        let worst = (start..<(start + 32)).map { abs(Double(x[$0]) - Double(back[$0])) }.max() ?? 0
        #expect(worst <= steps * d, "\(format) block at \(start): error \(worst), bound \(steps * d)")
    }
}
