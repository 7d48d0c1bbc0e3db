import CPhiKernels
import Testing

@Test("all 65,536 f16 bit patterns widen as Swift's Float16 does and narrow back unchanged")
func f16RoundTrip() {
    var mismatches = [UInt16]()
    for bits in UInt16.min...UInt16.max {
        let widened = phi_f16_to_f32(bits)
        let expected = Float(Float16(bitPattern: bits))
        if expected.isNaN {
            // NaNs come out quiet with the payload kept, as F16C and AArch64 FCVT convert them.
            let payload = UInt16((widened.bitPattern >> 13) & 0x3ff)
            if !widened.isNaN || payload != (bits & 0x3ff) | 0x200 || phi_f32_to_f16(widened) != bits | 0x200 {
                mismatches.append(bits)
            }
        } else if widened.bitPattern != expected.bitPattern || phi_f32_to_f16(widened) != bits {
            mismatches.append(bits)
        }
    }
    #expect(mismatches.isEmpty, "first mismatching f16 patterns: \(mismatches.prefix(8))")
}

@Test("f32 narrows to f16 rounding to nearest even, as Swift's Float16(Float) does")
func f32ToF16Rounding() {
    var rng = SeededGenerator(seed: 16)
    var values: [Float] = [0, -0, 1, 65504, 65519.996, 65520, -65520, 1e-8, 2.9802322e-8, 5.9604645e-8,
                           6.1035156e-5, 6.0975552e-5, .infinity, -.infinity, .leastNonzeroMagnitude]
    // Halfway cases: 1 + (2k + 1) * 2^-11 lies between two f16 values.
    values += (0..<64).map { 1 + Float(2 * $0 + 1) * 0x1p-11 }
    values += (0..<200_000).map { _ in Float(bitPattern: UInt32.random(in: 0...UInt32.max, using: &rng)) }
    let wrong = values.filter { !$0.isNaN && phi_f32_to_f16($0) != Float16($0).bitPattern }
    #expect(wrong.isEmpty, "first wrongly narrowed values: \(wrong.prefix(8))")
}

@Test("bf16 widens exactly and narrows to the nearer bf16, ties to even")
func bf16Conversions() {
    for bits in UInt16.min...UInt16.max where !Float(bitPattern: UInt32(bits) << 16).isNaN {
        #expect(phi_bf16_to_f32(bits).bitPattern == UInt32(bits) << 16)
    }
    // Known values: 1 + 2^-8 is halfway between 0x3f80 and 0x3f81 and goes to the even one;
    // 1 + 3 * 2^-8 is halfway between 0x3f81 and 0x3f82, also to the even one.
    #expect(phi_f32_to_bf16(1) == 0x3f80)
    #expect(phi_f32_to_bf16(1 + 0x1p-8) == 0x3f80)
    #expect(phi_f32_to_bf16(1 + 3 * 0x1p-8) == 0x3f82)
    #expect(phi_f32_to_bf16(-2.5) == 0xc020)
    #expect(Float(bitPattern: UInt32(phi_f32_to_bf16(.nan)) << 16).isNaN)
    // Random values against nearest-even computed in float64 from the two neighbours.
    var rng = SeededGenerator(seed: 32)
    var wrong = [Float]()
    for _ in 0..<100_000 {
        let value = Float(bitPattern: UInt32.random(in: 0...UInt32.max, using: &rng))
        guard value.isFinite, abs(value) < 3.3e38 else { continue }
        let below = UInt16(truncatingIfNeeded: value.bitPattern >> 16)
        let above = below &+ 1
        let distanceBelow = abs(Double(value) - Double(Float(bitPattern: UInt32(below) << 16)))
        let distanceAbove = abs(Double(value) - Double(Float(bitPattern: UInt32(above) << 16)))
        let nearest = distanceBelow < distanceAbove ? below
            : distanceAbove < distanceBelow ? above : (below & 1 == 0 ? below : above)
        if phi_f32_to_bf16(value) != nearest { wrong.append(value) }
    }
    #expect(wrong.isEmpty, "first wrongly narrowed values: \(wrong.prefix(8))")
}
