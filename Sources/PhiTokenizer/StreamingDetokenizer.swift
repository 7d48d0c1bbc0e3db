/// Turns ids into text as they are generated, never splitting a UTF-8 character: bytes of a
/// character whose end has not arrived yet wait for the next token.
///
/// The concatenation of everything `feed` and `finish` return equals `Tokenizer.decode` of all
/// the ids: text is cut only right before an incomplete-but-valid character prefix, where a UTF-8
/// decoder starts a new character anyway.
public struct StreamingDetokenizer: Sendable {
    public let tokenizer: Tokenizer
    public let skipsSpecialTokens: Bool
    private var pending: [UInt8] = []

    public init(tokenizer: Tokenizer, skipSpecialTokens: Bool = false) {
        self.tokenizer = tokenizer
        self.skipsSpecialTokens = skipSpecialTokens
    }

    /// True while bytes of an unfinished character are held back.
    public var hasPendingBytes: Bool { !pending.isEmpty }

    /// Adds one id; returns the text completed by it (often empty).
    /// - Throws: `TokenizerError.idOutOfRange` for an id outside the vocabulary (nothing is consumed).
    public mutating func feed(_ id: Int) throws(TokenizerError) -> String {
        try tokenizer.appendBytes(of: id, to: &pending, skipSpecialTokens: skipsSpecialTokens)
        let cut = Self.completePrefixLength(pending)
        guard cut > 0 else { return "" }
        let text = String(decoding: pending[..<cut], as: UTF8.self)
        pending.removeSubrange(..<cut)
        return text
    }

    /// Ends the stream: returns the bytes still held, an unfinished character as U+FFFD.
    public mutating func finish() -> String {
        defer { pending.removeAll() }
        return String(decoding: pending, as: UTF8.self)
    }

    /// How many leading bytes can be decoded now: all but a trailing valid prefix of a multi-byte
    /// character (at most 3 bytes: a lead byte and the continuation bytes it allows so far).
    static func completePrefixLength(_ bytes: [UInt8]) -> Int {
        var lead = bytes.count - 1
        while lead >= 0 && lead >= bytes.count - 3 && bytes[lead] & 0xC0 == 0x80 { lead -= 1 }
        guard lead >= 0 else { return bytes.count }
        let first = bytes[lead]
        let needed: Int
        switch first {
        case 0xC2...0xDF: needed = 2
        case 0xE0...0xEF: needed = 3
        case 0xF0...0xF4: needed = 4
        default: return bytes.count  // ASCII, or a byte no character starts with
        }
        let have = bytes.count - lead
        guard have < needed else { return bytes.count }
        if have >= 2 {
            // The second byte's range depends on the lead (no overlongs, surrogates or > U+10FFFF).
            let second = bytes[lead + 1]
            let allowed: ClosedRange<UInt8> = switch first {
            case 0xE0: 0xA0...0xBF
            case 0xED: 0x80...0x9F
            case 0xF0: 0x90...0xBF
            case 0xF4: 0x80...0x8F
            default: 0x80...0xBF
            }
            guard allowed.contains(second) else { return bytes.count }
        }
        return lead
    }
}
