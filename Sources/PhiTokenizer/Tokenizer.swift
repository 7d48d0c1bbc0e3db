/// A byte-level BPE tokenizer with Hugging Face `tokenizers` semantics: added tokens matched first
/// (with their strip flags), then a pre-tokenizer regex, then BPE merges by rank.
///
/// Immutable and cheap to copy (the tables are shared), so one instance serves every task.
/// Load one with `Tokenizer.load(directory:)` or build one from a GGUF file's vocabulary with
/// `init(tokens:merges:addedTokens:preTokenizer:vocabularySize:ignoresMerges:)`.
public struct Tokenizer: Sendable {
    let encoder: BytePairEncoder
    let matcher: AddedTokenMatcher
    let classes: UnicodeClassTable
    /// How `encode` cuts text: Hugging Face transformers' pipeline.
    public let preTokenizer: PreTokenizerKind
    /// How `encodeOrdinary` cuts text: the vocabulary's own regex, as tiktoken applies it. For
    /// Phi-4-mini this is o200k while `preTokenizer` is GPT-2's (see `PreTokenizerKind.gpt2`).
    public let ordinaryPreTokenizer: PreTokenizerKind
    /// Ids are valid in 0..<vocabularySize. It may exceed the ids that have text: Phi-4-mini's
    /// embedding has 200,064 rows for 200,029 tokens, and ids 200029..<200064 decode to nothing.
    public let vocabularySize: Int
    /// Tokens matched in text before pre-tokenization, in id order.
    public let addedTokens: [AddedToken]
    let addedTokensByID: [Int: AddedToken]
    let addedTokenIDsByContent: [String: Int]
    /// The bytes an added token decodes to (its content through the byte-level decoder).
    let addedTokenBytes: [Int: [UInt8]]
    /// `bos_token` of tokenizer_config.json, when present and known.
    public internal(set) var bosTokenID: Int?
    /// `eos_token` of tokenizer_config.json, when present and known.
    public internal(set) var eosTokenID: Int?
    /// `chat_template` of tokenizer_config.json, when present.
    public internal(set) var chatTemplateSource: String?

    /// Builds a tokenizer from its parts, as a GGUF file stores them.
    ///
    /// - Parameters:
    ///   - tokens: the text of each id in GPT-2's byte-level alphabet (GGUF `tokenizer.ggml.tokens`);
    ///     nil for an id without text (GGUF's unused padding).
    ///   - merges: `"left right"` in rank order (GGUF `tokenizer.ggml.merges`).
    ///   - addedTokens: tokens matched in text first (see `AddedToken.fromGGUF(tokens:types:)`).
    ///   - preTokenizer: for `encode`; `ordinaryPreTokenizer` for `encodeOrdinary` (defaults to it).
    ///   - vocabularySize: defaults to one past the largest id.
    ///   - ignoresMerges: Hugging Face's `ignore_merges` (a piece that is a vocabulary entry is
    ///     taken whole).
    /// - Throws: `TokenizerError` naming a malformed merge, a merge token missing from the
    ///   vocabulary, or an id beyond `vocabularySize`.
    public init(tokens: [String?], merges: [String], addedTokens: [AddedToken], preTokenizer: PreTokenizerKind,
                ordinaryPreTokenizer: PreTokenizerKind? = nil, vocabularySize: Int? = nil,
                ignoresMerges: Bool = false) throws(TokenizerError) {
        var builder = VocabularyBuilder(source: "tokens")
        for (id, token) in tokens.enumerated() {
            guard var token else { continue }
            token.withUTF8 { builder.add(id: id, byteLevelString: $0) }
        }
        for (index, merge) in merges.enumerated() {
            var merge = merge
            try merge.withUTF8 { utf8 in
                Result { () throws(TokenizerError) in try builder.addMerge(index: index, text: utf8) }
            }.get()
        }
        try self.init(builder: builder, addedTokens: addedTokens, preTokenizer: preTokenizer,
                      ordinaryPreTokenizer: ordinaryPreTokenizer ?? preTokenizer, vocabularySize: vocabularySize,
                      ignoresMerges: ignoresMerges)
    }

    /// Builds a tokenizer from GGUF metadata: `tokenizer.ggml.tokens`, `.token_type`, `.merges`
    /// and `.pre` (`gpt-4o` or `smollm`). Unused tokens decode to nothing; control and
    /// user-defined tokens become added tokens.
    /// `bosTokenID`, `eosTokenID` and `chatTemplate` come from `tokenizer.ggml.bos_token_id`,
    /// `.eos_token_id` and `tokenizer.chat_template`.
    public init(ggufTokens: [String], tokenTypes: [AddedToken.GGUFTokenType], merges: [String],
                preTokenizerName: String, bosTokenID: Int? = nil, eosTokenID: Int? = nil,
                chatTemplate: String? = nil) throws(TokenizerError) {
        let tokens: [String?] = ggufTokens.indices.map { id in
            id < tokenTypes.count && tokenTypes[id] == .unused ? nil : ggufTokens[id]
        }
        try self.init(tokens: tokens, merges: merges,
                      addedTokens: AddedToken.fromGGUF(tokens: ggufTokens, types: tokenTypes),
                      preTokenizer: PreTokenizerKind(ggufName: preTokenizerName), vocabularySize: ggufTokens.count)
        self.bosTokenID = bosTokenID
        self.eosTokenID = eosTokenID
        chatTemplateSource = chatTemplate
    }

    init(builder: VocabularyBuilder, addedTokens: [AddedToken], preTokenizer: PreTokenizerKind,
         ordinaryPreTokenizer: PreTokenizerKind, vocabularySize: Int?, ignoresMerges: Bool) throws(TokenizerError) {
        let vocabulary = builder.makeTable()
        let merges = try builder.resolveMerges(in: vocabulary)
        var byteTokens = [Int32](repeating: -1, count: 256)
        for byte in 0..<256 {
            if let id = vocabulary.id(of: [UInt8(byte)]) { byteTokens[byte] = Int32(id) }
        }
        let sortedAdded = addedTokens.sorted { $0.id < $1.id }
        let naturalSize = max(vocabulary.count, (sortedAdded.last?.id ?? -1) + 1)
        let size = vocabularySize ?? naturalSize
        if let beyond = sortedAdded.last(where: { $0.id >= size || $0.id < 0 }) {
            throw .tokenIDOutOfRange(file: builder.source, token: beyond.content, id: beyond.id, vocabularySize: size)
        }
        if vocabulary.count > size {
            throw .tokenIDOutOfRange(file: builder.source, token: ByteLevel.encode(vocabulary.tokenBytes(vocabulary.count - 1)),
                                     id: vocabulary.count - 1, vocabularySize: size)
        }
        self.encoder = BytePairEncoder(vocabulary: vocabulary, merges: MergeTable(merges: merges),
                                       byteTokens: byteTokens, ignoresMerges: ignoresMerges)
        self.matcher = AddedTokenMatcher(tokens: sortedAdded)
        self.classes = UnicodeClassTable.shared
        self.preTokenizer = preTokenizer
        self.ordinaryPreTokenizer = ordinaryPreTokenizer
        self.vocabularySize = size
        self.addedTokens = sortedAdded
        var byID: [Int: AddedToken] = [:]
        var byContent: [String: Int] = [:]
        var bytes: [Int: [UInt8]] = [:]
        for token in sortedAdded {
            byID[token.id] = token
            byContent[token.content] = byContent[token.content] ?? token.id
            bytes[token.id] = Self.decoderBytes(ofAddedContent: token.content)
        }
        self.addedTokensByID = byID
        self.addedTokenIDsByContent = byContent
        self.addedTokenBytes = bytes
    }

    /// Hugging Face's byte-level decoder maps a token's characters back to bytes when all of them
    /// are in the alphabet, and otherwise keeps the token's UTF-8 as it is.
    static func decoderBytes(ofAddedContent content: String) -> [UInt8] {
        var content = content
        return content.withUTF8 { utf8 in
            var bytes: [UInt8] = []
            return ByteLevel.decode(utf8, into: &bytes) ? bytes : Array(utf8)
        }
    }

    /// The id of an added token's text (`"<|end|>"`), or else of the vocabulary entry whose
    /// bytes are exactly the UTF-8 of `text`.
    public func id(of text: String) -> Int? {
        if let id = addedTokenIDsByContent[text] { return id }
        return encoder.vocabulary.id(of: Array(text.utf8))
    }

    /// The id of the vocabulary entry whose bytes are exactly `bytes` (found the way merges are).
    public func id(ofBytes bytes: [UInt8]) -> Int? {
        encoder.vocabulary.id(of: bytes)
    }

    /// The chat format `chatTemplateSource` describes, when it is one `ChatTemplate` knows.
    public var chatTemplate: ChatTemplate? {
        chatTemplateSource.flatMap { ChatTemplate(jinjaSource: $0) }
    }

    /// The added token with this id, if it is one.
    public func addedToken(id: Int) -> AddedToken? {
        addedTokensByID[id]
    }

    /// Whether `id` is a special added token (left out by `decode(_:skipSpecialTokens: true)`).
    public func isSpecial(_ id: Int) -> Bool {
        addedTokensByID[id]?.isSpecial ?? false
    }
}
