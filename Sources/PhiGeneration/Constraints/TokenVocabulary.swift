import PhiTokenizer

/// Every token's bytes, computed once per tokenizer, and the tries a constraint walks to find
/// which tokens keep its output valid without trying all 200,064 one by one.
///
/// Immutable after `init`, so one instance serves every request (a class only to share the
/// ~20 MB of tables without copying).
public final class TokenVocabulary: Sendable {
    public let tokenizer: Tokenizer
    public let vocabularySize: Int
    /// `bytes[starts[id]..<starts[id + 1]]` are the bytes `id` decodes to.
    let bytes: [UInt8]
    let starts: [Int32]
    /// Tokens that are ordinary text (not added tokens such as `<|end|>`, not empty).
    let isText: [Bool]
    /// Text tokens that may stand anywhere inside a JSON string: complete UTF-8 characters, none
    /// of them `"`, `\` or a control character below U+0020.
    public let plainStringTokens: TokenMask
    /// The plain-string tokens as a list, and the characters of each (capped at 255), for `maxLength`.
    let plainIDs: [Int32]
    let plainCharacterCounts: [UInt8]
    /// Every text token.
    let allText: TokenTrie
    /// Text tokens that are not plain-string tokens: the only ones a string body must try.
    let nonPlain: TokenTrie
    /// The plain-string tokens, walked with a string's pattern automaton alone.
    let plain: TokenTrie

    /// Builds the tables (see docs/PERFORMANCE.md for the time it takes).
    /// - Parameter vocabularySize: the model's (its logits' count), when larger than the
    ///   tokenizer's: the extra ids have no text and are never allowed.
    public init(tokenizer: Tokenizer, vocabularySize: Int? = nil) {
        self.tokenizer = tokenizer
        let vocabularySize = max(vocabularySize ?? 0, tokenizer.vocabularySize)
        self.vocabularySize = vocabularySize
        var bytes: [UInt8] = []
        var starts: [Int32] = [0]
        var isText = [Bool](repeating: false, count: vocabularySize)
        var plain = TokenMask(count: vocabularySize)
        var counts = [UInt8](repeating: 0, count: vocabularySize)
        for id in 0..<vocabularySize {
            let tokenBytes = id < tokenizer.vocabularySize ? (try? tokenizer.tokenBytes(id)) ?? [] : []
            bytes += tokenBytes
            starts.append(Int32(bytes.count))
            guard !tokenBytes.isEmpty, tokenizer.addedToken(id: id) == nil else { continue }
            isText[id] = true
            if let characters = Self.plainStringCharacters(tokenBytes) {
                plain.insert(id)
                counts[id] = UInt8(min(characters, 255))
            }
        }
        self.bytes = bytes
        self.starts = starts
        self.isText = isText
        plainStringTokens = plain
        plainIDs = plain.allowedIDs.map { Int32($0) }
        plainCharacterCounts = counts
        let textIDs = (0..<vocabularySize).filter { isText[$0] }
        allText = TokenTrie(ids: textIDs, bytes: bytes, starts: starts)
        nonPlain = TokenTrie(ids: textIDs.filter { !plain[$0] }, bytes: bytes, starts: starts)
        self.plain = TokenTrie(ids: plainIDs.map { Int($0) }, bytes: bytes, starts: starts)
    }

    /// The bytes of `id` (empty for an id without text or out of range).
    public func tokenBytes(_ id: Int) -> ArraySlice<UInt8> {
        guard id >= 0 && id < vocabularySize else { return [] }
        return bytes[Int(starts[id])..<Int(starts[id + 1])]
    }

    /// Whether `id` is ordinary text (constraints over JSON text allow only these).
    public func isTextToken(_ id: Int) -> Bool {
        id >= 0 && id < vocabularySize && isText[id]
    }

    /// The number of characters when `bytes` is complete, valid UTF-8 with no `"`, `\` or control
    /// character; nil otherwise.
    static func plainStringCharacters(_ bytes: [UInt8]) -> Int? {
        var characters = 0
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte < 0x80 {
                if byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { return nil }
                index += 1
            } else {
                guard let length = UTF8Validation.sequenceLength(bytes, at: index) else { return nil }
                index += length
            }
            characters += 1
        }
        return characters
    }
}

/// Strict UTF-8 (no overlongs, no surrogates, nothing past U+10FFFF), byte by byte.
enum UTF8Validation {
    /// The continuation bytes a lead byte needs, or nil for a byte no character starts with.
    static func continuationCount(lead: UInt8) -> Int? {
        switch lead {
        case 0x00...0x7F: 0
        case 0xC2...0xDF: 1
        case 0xE0...0xEF: 2
        case 0xF0...0xF4: 3
        default: nil
        }
    }

    /// The allowed range of the byte after `lead` (the first continuation byte).
    static func secondByteRange(lead: UInt8) -> ClosedRange<UInt8> {
        switch lead {
        case 0xE0: 0xA0...0xBF
        case 0xED: 0x80...0x9F
        case 0xF0: 0x90...0xBF
        case 0xF4: 0x80...0x8F
        default: 0x80...0xBF
        }
    }

    /// The length of the valid multi-byte sequence starting at `index`, or nil.
    static func sequenceLength(_ bytes: [UInt8], at index: Int) -> Int? {
        guard let more = continuationCount(lead: bytes[index]), more > 0, index + more < bytes.count else { return nil }
        guard secondByteRange(lead: bytes[index]).contains(bytes[index + 1]) else { return nil }
        for offset in stride(from: 2, through: more, by: 1) where bytes[index + offset] & 0xC0 != 0x80 { return nil }
        return more + 1
    }
}
