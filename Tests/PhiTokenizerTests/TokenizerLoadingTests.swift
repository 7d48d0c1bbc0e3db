import Foundation
import Testing
import PhiTestSupport
@testable import PhiTokenizer

/// A temporary directory holding copies of chosen fixture files (and any extra files).
struct TemporaryTokenizerDirectory {
    let url: URL

    init(copying names: [String], extra: [String: String] = [:]) throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("phi-tokenizer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        for name in names {
            try FileManager.default.copyItem(at: Fixtures.tokenizer.appendingPathComponent(name),
                                             to: url.appendingPathComponent(name))
        }
        for (name, contents) in extra {
            try contents.write(to: url.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
    }

    func remove() {
        try? FileManager.default.removeItem(at: url)
    }
}

@Suite("Loading the Phi-4-mini tokenizer")
struct TokenizerLoadingTests {
    @Test("facts of the real tokenizer")
    func facts() throws {
        let tokenizer = try TestTokenizers.phi4()
        #expect(tokenizer.vocabularySize == 200_064)
        #expect(tokenizer.preTokenizer == .gpt2)
        #expect(tokenizer.ordinaryPreTokenizer == .o200k)
        #expect(tokenizer.addedTokens.count == 12)
        #expect(tokenizer.id(of: "<|end|>") == 200_020)
        #expect(tokenizer.id(of: "<|tool_call|>") == 200_025)
        #expect(tokenizer.id(of: "hello") == 24912)
        #expect(tokenizer.id(of: "no such token anywhere") == nil)
        #expect(tokenizer.bosTokenID == 199_999 && tokenizer.eosTokenID == 199_999)
        #expect(tokenizer.isSpecial(200_020) && !tokenizer.isSpecial(200_025) && !tokenizer.isSpecial(24912))
        let user = try #require(tokenizer.addedToken(id: 200_021))
        #expect(user.content == "<|user|>" && user.stripsRight && !user.stripsLeft && user.isSpecial)
    }

    @Test("ids 200029..<200064 decode to nothing, others outside the vocabulary throw naming the id")
    func idsWithoutText() throws {
        let tokenizer = try TestTokenizers.phi4()
        #expect(try tokenizer.decode(Array(200_029..<200_064)) == "")
        #expect(try tokenizer.decode([24912, 200_040, 220]) == "hello ")
        for id in [200_064, -1, Int.max] {
            let error = try #require(throws: TokenizerError.self) { try tokenizer.decode([24912, id]) }
            #expect(error == .idOutOfRange(id: id, vocabularySize: 200_064))
            #expect(error.description.contains("\(id)"))
        }
    }

    @Test("special tokens can be left out of decoded text")
    func skipSpecial() throws {
        let tokenizer = try TestTokenizers.phi4()
        let ids = tokenizer.encode("<|user|>hi<|end|><|tool_call|>x")
        #expect(try tokenizer.decode(ids) == "<|user|>hi<|end|><|tool_call|>x")
        #expect(try tokenizer.decode(ids, skipSpecialTokens: true) == "hi<|tool_call|>x")
    }

    @Test("vocab.json and merges.txt give the same ids as tokenizer.json")
    func vocabAndMerges() throws {
        let directory = try TemporaryTokenizerDirectory(
            copying: ["vocab.json", "merges.txt", "tokenizer_config.json", "added_tokens.json"])
        defer { directory.remove() }
        let tokenizer = try Tokenizer.load(directory: directory.url)
        #expect(tokenizer.vocabularySize == 200_064)
        #expect(tokenizer.addedTokens == (try TestTokenizers.phi4().addedTokens))
        for line in TokenizerGoldenLine.all {
            #expect(tokenizer.encode(line.text) == line.idsHF, "\(line.testDescription)")
            #expect(tokenizer.encodeOrdinary(line.text) == line.idsOrdinary, "\(line.testDescription)")
        }
    }

    @Test("config.json's vocab_size sets the vocabulary size")
    func configVocabularySize() throws {
        let directory = try TemporaryTokenizerDirectory(
            copying: ["vocab.json", "merges.txt", "tokenizer_config.json"], extra: ["config.json": #"{"vocab_size": 200100}"#])
        defer { directory.remove() }
        #expect(try Tokenizer.load(directory: directory.url).vocabularySize == 200_100)
        #expect(try Tokenizer.load(directory: directory.url, vocabularySize: 200_030).vocabularySize == 200_030)
        let error = try #require(throws: TokenizerError.self) { try Tokenizer.load(directory: directory.url, vocabularySize: 1000) }
        #expect(error.description.contains("vocabulary of 1000"))
    }

    @Test("a directory without tokenizer files is named in the error")
    func missingFiles() throws {
        let directory = try TemporaryTokenizerDirectory(copying: ["vocab.json"])
        defer { directory.remove() }
        let error = try #require(throws: TokenizerError.self) { try Tokenizer.load(directory: directory.url) }
        #expect(error.description.contains(directory.url.path) && error.description.contains("merges.txt"))
    }

    @Test("malformed files are named with the place at fault", arguments: [
        ("tokenizer.json", #"{"model": {"vocab": {"a": 0,}}}"#, "tokenizer.json is not valid JSON: byte 28"),
        ("tokenizer.json", #"{"model": {"type": "Unigram", "vocab": {}}, "pre_tokenizer": null}"#, "'model.type' = \"Unigram\""),
        ("tokenizer.json", #"{"model": {"vocab": {"a": "x"}}}"#, "vocab[a]"),
        ("tokenizer.json", #"{"model": {"vocab": {"a": 0, "b": 1}, "merges": ["a c"]}, "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false}}"#,
         "merge 0 uses 'c'"),
        ("tokenizer.json", #"{"model": {"vocab": {"a": 0, "b": 1}, "merges": ["a b c"]}}"#, "merge 0 'a b c'"),
        ("tokenizer.json", #"{"model": {"vocab": {"a": 0}}, "pre_tokenizer": {"type": "Whitespace"}}"#, "pre-tokenizer [Whitespace]"),
        ("tokenizer.json", #"{"model": {"vocab": {"a": 0}}, "normalizer": {"type": "NFC"}}"#, "'normalizer'"),
        ("tokenizer.json", #"{"model": {"vocab": {"a": 0}}}"#, "no 'pre_tokenizer'"),
        ("tokenizer.json", #"{"added_tokens": []}"#, "no 'model'"),
    ])
    func malformed(_ name: String, _ contents: String, _ expected: String) throws {
        let directory = try TemporaryTokenizerDirectory(copying: [], extra: [name: contents])
        defer { directory.remove() }
        let error = try #require(throws: TokenizerError.self) { try Tokenizer.load(directory: directory.url) }
        #expect(error.description.contains(expected), "\(error)")
    }
}

@Suite("Building a tokenizer from GGUF-style arrays")
struct TokenizerComponentsTests {
    /// The Phi-4-mini vocabulary as GGUF stores it: byte-level strings by id, merges as "a b".
    static func phi4Components() throws -> (tokens: [String?], merges: [String]) {
        let tokenizer = try TestTokenizers.phi4()
        let tokens: [String?] = (0..<tokenizer.encoder.vocabulary.count).map { id in
            ByteLevel.encode(tokenizer.encoder.vocabulary.tokenBytes(id))
        }
        let mergesText = try String(contentsOf: Fixtures.tokenizer.appendingPathComponent("merges.txt"), encoding: .utf8)
        let merges = mergesText.split(separator: "\n").dropFirst().map(String.init)
        return (tokens, merges)
    }

    @Test("arrays rebuilt from the Phi-4-mini files encode the golden identically")
    func rebuiltFromArrays() throws {
        let reference = try TestTokenizers.phi4()
        let (tokens, merges) = try Self.phi4Components()
        let tokenizer = try Tokenizer(tokens: tokens, merges: merges, addedTokens: reference.addedTokens,
                                      preTokenizer: .gpt2, ordinaryPreTokenizer: .o200k, vocabularySize: 200_064)
        for line in TokenizerGoldenLine.all {
            #expect(tokenizer.encode(line.text) == line.idsHF, "\(line.testDescription)")
            #expect(tokenizer.encodeOrdinary(line.text) == line.idsOrdinary, "\(line.testDescription)")
        }
    }

    @Test("GGUF token types: unused ids have no text, control and user-defined tokens are matched in text")
    func ggufTypes() throws {
        let tokens = ["a", "b", "ab", "<ctl>", "[PAD]", "<usr>"]
        let types: [AddedToken.GGUFTokenType] = [.normal, .normal, .normal, .control, .unused, .userDefined]
        let tokenizer = try Tokenizer(ggufTokens: tokens, tokenTypes: types, merges: ["a b"], preTokenizerName: "smollm")
        #expect(tokenizer.vocabularySize == 6)
        #expect(tokenizer.preTokenizer == .gpt2Digits)
        #expect(tokenizer.encode("ab<ctl>ba<usr>") == [2, 3, 1, 0, 5])
        #expect(tokenizer.encodeOrdinary("ab<ctl>") == [2])  // '<', 'c', … have no byte tokens: dropped
        #expect(try tokenizer.decode([2, 4, 3]) == "ab<ctl>")
        #expect(tokenizer.isSpecial(3) && !tokenizer.isSpecial(5))
    }

    @Test("an unknown GGUF pre-tokenizer name is an error naming it")
    func unknownGGUFName() throws {
        let error = try #require(throws: TokenizerError.self) {
            try Tokenizer(ggufTokens: ["a"], tokenTypes: [.normal], merges: [], preTokenizerName: "llama-bpe")
        }
        #expect(error == .unsupportedPreTokenizer("llama-bpe"))
        #expect(error.description.contains("llama-bpe"))
        #expect(try PreTokenizerKind(ggufName: "gpt-4o") == .o200k)
    }

    @Test("tokenizer.json pre_tokenizer sections pick their kind")
    func tokenizerJSONKinds() throws {
        let o200k: JSONValue = ["type": "Sequence", "pretokenizers": [
            ["type": "Split", "pattern": ["Regex": .string(PreTokenizerKind.o200kPattern)], "behavior": "Removed", "invert": true],
            ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false]]]
        let digits: JSONValue = ["type": "Sequence", "pretokenizers": [
            ["type": "Digits", "individual_digits": true],
            ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true]]]
        let gpt2: JSONValue = ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true]
        #expect(try PreTokenizerKind(tokenizerJSON: o200k) == .o200k)
        #expect(try PreTokenizerKind(tokenizerJSON: digits) == .gpt2Digits)
        #expect(try PreTokenizerKind(tokenizerJSON: gpt2) == .gpt2)
        let prefixed: JSONValue = ["type": "ByteLevel", "add_prefix_space": true]
        let error = try #require(throws: TokenizerError.self) { try PreTokenizerKind(tokenizerJSON: prefixed) }
        #expect(error.description.contains("ByteLevel"))
    }
}
