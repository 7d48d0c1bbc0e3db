import Testing
@testable import PhiTokenizer

@Suite("Streaming detokenizer")
struct StreamingDetokenizerTests {
    @Test("a character split across tokens waits for its last byte")
    func splitCharacter() throws {
        let tokenizer = try TestTokenizers.phi4()
        let ids = tokenizer.encodeOrdinary("👍🏽")
        #expect(ids.count > 2)  // the emoji pair is not one token, so bytes arrive in parts
        var detokenizer = StreamingDetokenizer(tokenizer: tokenizer)
        var pieces: [String] = []
        for id in ids { pieces.append(try detokenizer.feed(id)) }
        #expect(pieces.joined() == "👍🏽")
        #expect(!pieces.contains { $0.contains("\u{FFFD}") })
        #expect(detokenizer.finish() == "")
    }

    /// Single-byte tokens, to build byte sequences that are not valid UTF-8.
    func byteTokens(_ bytes: [UInt8]) throws -> [Int] {
        let tokenizer = try TestTokenizers.phi4()
        return try bytes.map { try #require(tokenizer.id(ofBytes: [$0])) }
    }

    @Test("invalid and unfinished bytes become U+FFFD exactly as decode makes them", arguments: [
        [0xE2, 0x82], [0x80, 0x41], [0xE2, 0x41], [0xF0, 0x9F, 0x91], [0xED, 0xA0, 0x80], [0xC0, 0xAF], [0xF4, 0x90],
        [0x41, 0xF0, 0x9F, 0x91, 0x8D, 0xE2],
    ] as [[UInt8]])
    func invalidBytes(_ bytes: [UInt8]) throws {
        let tokenizer = try TestTokenizers.phi4()
        let ids = try byteTokens(bytes)
        var detokenizer = StreamingDetokenizer(tokenizer: tokenizer)
        var text = ""
        for id in ids { text += try detokenizer.feed(id) }
        text += detokenizer.finish()
        #expect(text == (try tokenizer.decode(ids)))
        #expect(text == String(decoding: bytes, as: UTF8.self))
    }

    @Test("ids without text emit nothing; special tokens can be skipped")
    func silentIDs() throws {
        let tokenizer = try TestTokenizers.phi4()
        var detokenizer = StreamingDetokenizer(tokenizer: tokenizer, skipSpecialTokens: true)
        #expect(try detokenizer.feed(200_040) == "")
        #expect(try detokenizer.feed(200_020) == "")
        #expect(try detokenizer.feed(200_025) == "<|tool_call|>")  // not special: the parser needs it
    }

    @Test("an id outside the vocabulary throws and leaves the stream usable")
    func badID() throws {
        let tokenizer = try TestTokenizers.phi4()
        var detokenizer = StreamingDetokenizer(tokenizer: tokenizer)
        let error = try #require(throws: TokenizerError.self) { try detokenizer.feed(200_064) }
        #expect(error == .idOutOfRange(id: 200_064, vocabularySize: 200_064))
        #expect(try detokenizer.feed(24912) == "hello")
    }
}
