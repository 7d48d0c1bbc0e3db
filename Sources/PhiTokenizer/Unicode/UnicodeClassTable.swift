/// The questions the pre-tokenizer regexes ask about a scalar, answered as bit flags.
///
/// The o200k pattern needs `[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]`, `[\p{Ll}\p{Lm}\p{Lo}\p{M}]`, `\p{L}`,
/// `\p{N}`, `\s` and `[\r\n]`; GPT-2's needs a subset. Each is one bit so a class test is one AND.
enum ScalarFlag {
    /// `[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]`: what o200k allows before the lowercase part of a word.
    static let upperSet: UInt8 = 1 << 0
    /// `[\p{Ll}\p{Lm}\p{Lo}\p{M}]`.
    static let lowerSet: UInt8 = 1 << 1
    /// `\p{L}`.
    static let letter: UInt8 = 1 << 2
    /// `\p{N}`.
    static let number: UInt8 = 1 << 3
    /// `\s`: Unicode White_Space.
    static let whitespace: UInt8 = 1 << 4
    /// `[\r\n]`.
    static let newline: UInt8 = 1 << 5
}

/// Scalar flags for all of Unicode in a two-level table: 256-scalar blocks, identical blocks shared.
///
/// Built once from `runs` (generated from Unicode 14.0, see scripts/generate-unicode-classes.py):
/// 4,352 block indices plus about 130 distinct blocks, some 40 KB. Block 0 (ASCII and Latin-1) is
/// always block index 0, so an ASCII byte's flags are `blocks[byte]`.
struct UnicodeClassTable: Sendable {
    /// `blockIndex[scalar >> 8]` is the block holding the scalar's flags.
    let blockIndex: [UInt16]
    /// Concatenated 256-entry blocks of flags.
    let blocks: [UInt8]

    /// The table for the Unicode version the goldens were made with.
    static let shared = UnicodeClassTable(runs: runs)

    init(runs: [UInt32]) {
        // Flags of the generator's classes: 0 other, 1 Lu|Lt, 2 Ll, 3 Lm|Lo, 4 M, 5 N, 6 White_Space.
        let classFlags: [UInt8] = [
            0,
            ScalarFlag.upperSet | ScalarFlag.letter,
            ScalarFlag.lowerSet | ScalarFlag.letter,
            ScalarFlag.upperSet | ScalarFlag.lowerSet | ScalarFlag.letter,
            ScalarFlag.upperSet | ScalarFlag.lowerSet,
            ScalarFlag.number,
            ScalarFlag.whitespace,
        ]
        let blockCount = 0x110000 >> 8
        var blockIndex = [UInt16](repeating: 0, count: blockCount)
        var blocks: [UInt8] = []
        var blockNumbers: [[UInt8]: UInt16] = [:]
        var block = [UInt8](repeating: 0, count: 256)
        var run = 0
        for blockNumber in 0..<blockCount {
            let first = UInt32(blockNumber << 8)
            for offset in 0..<256 {
                let scalar = first + UInt32(offset)
                while run + 1 < runs.count && runs[run + 1] >> 3 <= scalar { run += 1 }
                block[offset] = classFlags[Int(runs[run] & 7)]
            }
            if blockNumber == 0 {
                block[0x0A] |= ScalarFlag.newline
                block[0x0D] |= ScalarFlag.newline
            }
            if let known = blockNumbers[block] {
                blockIndex[blockNumber] = known
            } else {
                let number = UInt16(blockNumbers.count)
                blockNumbers[block] = number
                blocks.append(contentsOf: block)
                blockIndex[blockNumber] = number
            }
        }
        self.blockIndex = blockIndex
        self.blocks = blocks
    }

    /// The flags of one scalar value (0...0x10FFFF).
    func flags(of scalar: UInt32) -> UInt8 {
        blocks[Int(blockIndex[Int(scalar >> 8)]) << 8 | Int(scalar & 0xFF)]
    }
}
