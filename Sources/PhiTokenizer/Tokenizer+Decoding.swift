extension Tokenizer {
    /// The text of `ids` as Hugging Face decodes it: token bytes concatenated, then read as UTF-8
    /// with each invalid sequence replaced by U+FFFD. Ids in the vocabulary without text (Phi-4-mini's
    /// 200029..<200064) add nothing.
    ///
    /// - Parameter skipSpecialTokens: leave out special added tokens (`<|end|>`, `<|endoftext|>`).
    /// - Throws: `TokenizerError.idOutOfRange` naming the first id outside 0..<vocabularySize.
    public func decode(_ ids: [Int], skipSpecialTokens: Bool = false) throws(TokenizerError) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(ids.count * 4)
        for id in ids { try appendBytes(of: id, to: &bytes, skipSpecialTokens: skipSpecialTokens) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The raw bytes of one token (empty for an id without text); they need not be valid UTF-8.
    public func tokenBytes(_ id: Int) throws(TokenizerError) -> [UInt8] {
        var bytes: [UInt8] = []
        try appendBytes(of: id, to: &bytes, skipSpecialTokens: false)
        return bytes
    }

    func appendBytes(of id: Int, to bytes: inout [UInt8], skipSpecialTokens: Bool) throws(TokenizerError) {
        guard id >= 0 && id < vocabularySize else { throw .idOutOfRange(id: id, vocabularySize: vocabularySize) }
        if let added = addedTokenBytes[id] {
            if !(skipSpecialTokens && isSpecial(id)) { bytes.append(contentsOf: added) }
        } else if id < encoder.vocabulary.count {
            bytes.append(contentsOf: encoder.vocabulary.tokenBytes(id))
        }
    }
}
