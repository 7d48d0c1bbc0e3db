/// What a GGUF file says about its tokenizer (`tokenizer.ggml.*`, `tokenizer.chat_template`),
/// decoded and checked for consistency. PhiTokenizer builds its tokenizer from this; the model
/// itself needs only the special ids (`ModelConfig`).
public struct GGUFTokenizerMetadata: Sendable, Equatable {
    /// Token types of `tokenizer.ggml.token_type` (llama.cpp's `llama_token_type`).
    public enum TokenType: Int, Sendable, Equatable {
        case undefined = 0, normal, unknown, control, userDefined, unused, byte
    }

    /// `tokenizer.ggml.model`: `gpt2` (byte-level BPE), `llama` (SentencePiece), ...
    public let model: String
    /// `tokenizer.ggml.pre`: the pre-tokenizer's name (`gpt-4o` for Phi-4-mini's o200k split,
    /// `smollm` for GPT-2's split with single digits, ...), nil when absent.
    public let preTokenizer: String?
    /// `tokenizer.ggml.tokens`: the text of every id (byte-level BPE tokens in GPT-2's byte alphabet).
    public let tokens: [String]
    /// `tokenizer.ggml.token_type`, one per token, when present.
    public let tokenTypes: [TokenType]?
    /// `tokenizer.ggml.merges`: BPE merges as "left right", highest priority first, when present.
    public let merges: [String]?
    /// `tokenizer.ggml.scores` (SentencePiece), when present.
    public let scores: [Float]?
    public let bosTokenId: Int?
    public let eosTokenId: Int?
    public let unknownTokenId: Int?
    public let paddingTokenId: Int?
    public let separatorTokenId: Int?
    /// End of turn (`tokenizer.ggml.eot_token_id`) and end of message (`eom`), when given.
    public let endOfTurnTokenId: Int?
    public let endOfMessageTokenId: Int?
    public let addBosToken: Bool?
    public let addEosToken: Bool?
    public let addSpacePrefix: Bool?
    /// `tokenizer.chat_template`: the Jinja template, when present.
    public let chatTemplate: String?

    /// Reads the tokenizer keys of `metadata`; fails naming the key that is missing, mistyped or
    /// inconsistent (a count that differs from the token list's, an id outside it, an unknown type).
    public init(_ metadata: GGUFMetadata) throws {
        let file = metadata.file
        model = try metadata.string("tokenizer.ggml.model")
        preTokenizer = try metadata.optionalString("tokenizer.ggml.pre")
        tokens = try metadata.array("tokenizer.ggml.tokens").strings()
        let count = tokens.count
        if let types = try metadata.optionalArray("tokenizer.ggml.token_type") {
            let values = try types.integers()
            tokenTypes = try values.enumerated().map { index, value in
                guard let type = TokenType(rawValue: value) else {
                    throw ConfigError.invalidValue(file: file, field: "tokenizer.ggml.token_type[\(index)]", reason: "is \(value), not a token type 0...6")
                }
                return type
            }
        } else {
            tokenTypes = nil
        }
        merges = try metadata.optionalArray("tokenizer.ggml.merges")?.strings()
        scores = try metadata.optionalArray("tokenizer.ggml.scores")?.floats()
        for (key, length) in [("tokenizer.ggml.token_type", tokenTypes?.count), ("tokenizer.ggml.scores", scores?.count)] {
            if let length, length != count {
                throw ConfigError.invalidValue(file: file, field: key, reason: "has \(length) entries for \(count) tokens")
            }
        }
        func tokenId(_ key: String) throws -> Int? {
            guard let id = try metadata.optionalInt(key) else { return nil }
            guard id >= 0, id < count else {
                throw ConfigError.invalidValue(file: file, field: key, reason: "is \(id), outside the \(count) tokens")
            }
            return id
        }
        bosTokenId = try tokenId("tokenizer.ggml.bos_token_id")
        eosTokenId = try tokenId("tokenizer.ggml.eos_token_id")
        unknownTokenId = try tokenId("tokenizer.ggml.unknown_token_id")
        paddingTokenId = try tokenId("tokenizer.ggml.padding_token_id")
        separatorTokenId = try tokenId("tokenizer.ggml.seperator_token_id") ?? tokenId("tokenizer.ggml.separator_token_id")
        endOfTurnTokenId = try tokenId("tokenizer.ggml.eot_token_id")
        endOfMessageTokenId = try tokenId("tokenizer.ggml.eom_token_id")
        addBosToken = try metadata.optionalBool("tokenizer.ggml.add_bos_token")
        addEosToken = try metadata.optionalBool("tokenizer.ggml.add_eos_token")
        addSpacePrefix = try metadata.optionalBool("tokenizer.ggml.add_space_prefix")
        chatTemplate = try metadata.optionalString("tokenizer.chat_template")
    }
}
