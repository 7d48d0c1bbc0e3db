import CPhiKernels

/// SplitMix64: a seeded generator, so every failure reproduces.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}

/// Random matrices in each storage format, built through the C conversions under test only
/// where the test is not about them.
enum RandomData {
    /// `rows` rows of `columns` weights, rowBytes apart.
    static func weights(_ format: Format, rows: Int, columns: Int, using rng: inout SeededGenerator) -> [UInt8] {
        let rowBytes = format.rowBytes(columns)
        var bytes = [UInt8](repeating: 0, count: rows * rowBytes)
        bytes.withUnsafeMutableBytes { raw in
            guard let base = raw.baseAddress else { return }
            for row in 0..<rows { fillRow(format, base + row * rowBytes, columns: columns, using: &rng) }
        }
        return bytes
    }

    /// `tokens` activation rows: f32 for float formats, q8_0 blocks for quantized ones.
    static func activations(for format: Format, tokens: Int, columns: Int, using rng: inout SeededGenerator) -> [UInt8] {
        weights(format.isQuantized ? .q8_0 : .f32, rows: tokens, columns: columns, using: &rng)
    }

    static func floats(_ count: Int, in range: ClosedRange<Float>, using rng: inout SeededGenerator) -> [Float] {
        (0..<count).map { _ in Float.random(in: range, using: &rng) }
    }

    private static func fillRow(_ format: Format, _ row: UnsafeMutableRawPointer, columns: Int, using rng: inout SeededGenerator) {
        switch format {
        case .f32:
            let p = row.assumingMemoryBound(to: Float.self)
            for i in 0..<columns { p[i] = Float.random(in: -1...1, using: &rng) }
        case .f16:
            let p = row.assumingMemoryBound(to: UInt16.self)
            for i in 0..<columns { p[i] = Float16(Float.random(in: -1...1, using: &rng)).bitPattern }
        case .bf16:
            let p = row.assumingMemoryBound(to: UInt16.self)
            for i in 0..<columns { p[i] = UInt16(Float.random(in: -1...1, using: &rng).bitPattern >> 16) }
        case .q8_0:
            let p = row.assumingMemoryBound(to: phi_block_q8_0.self)
            for b in 0..<(columns / 32) {
                p[b].d = Float16(Float.random(in: 0.0001...0.02, using: &rng)).bitPattern
                withUnsafeMutableBytes(of: &p[b].qs) { qs in
                    for j in 0..<32 { qs[j] = UInt8(bitPattern: Int8.random(in: -127...127, using: &rng)) }
                }
            }
        case .q4_0:
            let p = row.assumingMemoryBound(to: phi_block_q4_0.self)
            for b in 0..<(columns / 32) {
                p[b].d = Float16(Float.random(in: -0.02...0.02, using: &rng)).bitPattern
                withUnsafeMutableBytes(of: &p[b].qs) { qs in
                    for j in 0..<16 { qs[j] = UInt8.random(in: 0...255, using: &rng) }
                }
            }
        }
    }
}
