/// GPT-2's byte-level alphabet: each byte written as a printable character, so vocabularies can be
/// stored as text. Printable Latin-1 bytes (`!`…`~`, `¡`…`¬`, `®`…`ÿ`) stand for themselves; the
/// other 68 bytes map, in order, to U+0100…U+0143 (space is `Ġ`, newline `Ċ`).
enum ByteLevel {
    /// The character (scalar value) standing for each byte.
    static let scalarOfByte: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var next: UInt32 = 256
        for byte in 0..<256 {
            if isPrintable(byte) {
                table[byte] = UInt32(byte)
            } else {
                table[byte] = next
                next += 1
            }
        }
        return table
    }()

    /// The byte each alphabet character stands for, indexed by scalar value; -1 outside the alphabet.
    static let byteOfScalar: [Int16] = {
        var table = [Int16](repeating: -1, count: 0x144)
        for (byte, scalar) in scalarOfByte.enumerated() { table[Int(scalar)] = Int16(byte) }
        return table
    }()

    private static func isPrintable(_ byte: Int) -> Bool {
        (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)
    }

    /// Decodes the UTF-8 of a vocabulary string into the bytes it stands for, appending them to
    /// `output`. Returns false, leaving `output` as it was, if a character is outside the alphabet.
    static func decode(_ utf8: UnsafeBufferPointer<UInt8>, into output: inout [UInt8]) -> Bool {
        let originalCount = output.count
        var i = 0
        while i < utf8.count {
            let b0 = utf8[i]
            var scalar: UInt32
            if b0 < 0x80 {
                scalar = UInt32(b0)
                i += 1
            } else if b0 & 0xE0 == 0xC0, i + 1 < utf8.count {
                scalar = UInt32(b0 & 0x1F) << 6 | UInt32(utf8[i + 1] & 0x3F)
                i += 2
            } else {
                scalar = 0x144  // three- and four-byte characters are never in the alphabet
                i += 1
            }
            guard scalar < 0x144, byteOfScalar[Int(scalar)] >= 0 else {
                output.removeSubrange(originalCount...)
                return false
            }
            output.append(UInt8(byteOfScalar[Int(scalar)]))
        }
        return true
    }

    /// The bytes written in the alphabet, as a vocabulary would write them (for messages).
    static func encode<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> String {
        var text = ""
        for byte in bytes {
            if let scalar = Unicode.Scalar(scalarOfByte[Int(byte)]) { text.unicodeScalars.append(scalar) }
        }
        return text
    }
}
