import Testing
@testable import PhiTokenizer

@Suite("Pre-tokenizer pieces")
struct PreTokenizerTests {
    /// Splits worked out from the regexes by hand (the goldens cover o200k and GPT-2 at scale).
    @Test("GPT-2 with isolated digits, as SmolLM2's Digits then ByteLevel", arguments: [
        ("abc 123 def", ["abc", " ", "1", "2", "3", " def"]),
        ("I'm 42", ["I", "'m", " ", "4", "2"]),
        ("x  1", ["x", "  ", "1"]),
        ("v1.2", ["v", "1", ".", "2"]),
        ("a  b", ["a", " ", " b"]),
        ("Ünïcode ½!", ["Ünïcode", " ", "½", "!"]),
        ("don't  ", ["don", "'t", "  "]),
        ("\n\n x", ["\n\n", " x"]),
    ])
    func gpt2Digits(_ text: String, _ pieces: [String]) {
        #expect(Tokenizer.pieces(of: text, kind: .gpt2Digits) == pieces)
    }

    @Test("GPT-2 keeps digit runs and a leading space", arguments: [
        ("abc 123 def", ["abc", " 123", " def"]),
        ("DON'T", ["DON", "'", "T"]),
        ("it’s", ["it", "’", "s"]),
    ])
    func gpt2(_ text: String, _ pieces: [String]) {
        #expect(Tokenizer.pieces(of: text, kind: .gpt2) == pieces)
    }

    @Test("o200k: numbers in threes, case-aware words, newline runs", arguments: [
        ("1234567", ["123", "456", "7"]),
        ("HelloWORLD foo", ["Hello", "WORLD", " foo"]),
        ("I'M", ["I'M"]),
        ("x)\n\ny", ["x", ")\n\n", "y"]),
        ("  \n\n  x", ["  \n\n", " ", " x"]),
        // U+017F (long s) case-folds to s, so `(?i:'s)` takes it, in Oniguruma and Rust regex alike.
        ("a\u{017F}'\u{017F}", ["a\u{017F}'\u{017F}"]),
    ])
    func o200k(_ text: String, _ pieces: [String]) {
        #expect(Tokenizer.pieces(of: text, kind: .o200k) == pieces)
    }

    @Test("every kind covers the text exactly", arguments: PreTokenizerKind.allCases)
    func piecesCoverText(_ kind: PreTokenizerKind) {
        for line in TokenizerGoldenLine.all {
            #expect(Tokenizer.pieces(of: line.text, kind: kind).joined() == line.text)
        }
    }
}

@Suite("BPE merge paths")
struct BytePairEncoderTests {
    /// Merges `text` as one piece, with the linear scan or the heap.
    func merge(_ text: String, linearLimit: Int) throws -> [Int] {
        let tokenizer = try TestTokenizers.phi4()
        var ids: [Int] = []
        var scratch = BPEScratch()
        var text = text
        text.withUTF8 { bytes in
            tokenizer.encoder.merges.withLookup { lookup in
                tokenizer.encoder.encode(bytes, into: &ids, scratch: &scratch, lookup: lookup, linearLimit: linearLimit)
            }
        }
        return ids
    }

    @Test("the heap and the linear scan merge identically", arguments: 0..<20)
    func heapMatchesLinear(_ seed: Int) throws {
        var generator = SplitMix64(seed: UInt64(seed))
        let alphabets = ["ab", "abcdefghij", "the quick brown fox", "é漢字👍 ", "0123456789"]
        let alphabet = Array(alphabets[seed % alphabets.count])
        let length = 1 + Int(generator.next() % 600)
        let text = String((0..<length).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] })
        #expect(try merge(text, linearLimit: Int.max) == merge(text, linearLimit: 0))
    }
}

/// A small seeded generator (SplitMix64), so random cases are the same on every run.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
