/// A token matched in the text before pre-tokenization, such as `<|end|>` (Hugging Face's
/// `AddedToken`): its text becomes its id instead of being split and merged.
public struct AddedToken: Sendable, Equatable, Hashable {
    public var id: Int
    public var content: String
    /// Special tokens are left out by `decode(_:skipSpecialTokens: true)`.
    public var isSpecial: Bool
    /// `lstrip`: the whitespace right before the token is swallowed by it.
    public var stripsLeft: Bool
    /// `rstrip`: the whitespace right after the token is swallowed by it (`<|user|>   hi` gives
    /// `<|user|>`, `hi`).
    public var stripsRight: Bool
    /// `single_word`: the token matches only when no word character touches it.
    public var matchesSingleWordOnly: Bool
    /// `normalized`: matched after the non-normalized ones, in the gaps they leave (no normalizer is
    /// supported, so the text itself is not changed).
    public var isNormalized: Bool

    public init(id: Int, content: String, isSpecial: Bool, stripsLeft: Bool = false, stripsRight: Bool = false,
                matchesSingleWordOnly: Bool = false, isNormalized: Bool? = nil) {
        self.id = id
        self.content = content
        self.isSpecial = isSpecial
        self.stripsLeft = stripsLeft
        self.stripsRight = stripsRight
        self.matchesSingleWordOnly = matchesSingleWordOnly
        // Hugging Face's default: special tokens are not normalized, the others are.
        self.isNormalized = isNormalized ?? !isSpecial
    }
}

extension AddedToken {
    /// GGUF `tokenizer.ggml.token_type` values (llama.cpp's `llama_token_type`).
    public enum GGUFTokenType: Int32, Sendable {
        case undefined = 0, normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
    }

    /// The added tokens a GGUF vocabulary implies: control tokens become special added tokens,
    /// user-defined ones plain added tokens. GGUF carries no strip flags, so none are set.
    public static func fromGGUF(tokens: [String], types: [GGUFTokenType]) -> [AddedToken] {
        zip(tokens.indices, zip(tokens, types)).compactMap { id, pair in
            switch pair.1 {
            case .control: AddedToken(id: id, content: pair.0, isSpecial: true)
            case .userDefined: AddedToken(id: id, content: pair.0, isSpecial: false)
            default: nil
            }
        }
    }
}
