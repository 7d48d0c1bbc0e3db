/// How text is cut into pieces before BPE.
public enum PreTokenizerKind: String, Sendable, Equatable, CaseIterable, CustomStringConvertible {
    /// o200k's regex (GPT-4o; the `Split` in Phi-4-mini's tokenizer.json, and tiktoken's
    /// `encode_ordinary`); GGUF `tokenizer.ggml.pre` = `gpt-4o`.
    case o200k
    /// GPT-2's regex alone (Hugging Face's `ByteLevel(use_regex: true)`). Transformers 5's
    /// `GPT2Tokenizer` class, which Phi-4-mini's tokenizer_config.json names, installs this
    /// pre-tokenizer itself and ignores tokenizer.json's `Split`: Phi-4-mini's Hugging Face ids
    /// (`ids_hf` in the golden) come from it.
    case gpt2
    /// Every `\p{N}` scalar on its own, then GPT-2's regex on the rest (SmolLM2: Hugging Face's
    /// `Digits(individual_digits)` then `ByteLevel(use_regex)`); GGUF `tokenizer.ggml.pre` = `smollm`.
    case gpt2Digits

    public var description: String { rawValue }

    /// The o200k pattern as Phi-4-mini's tokenizer.json writes it.
    static let o200kPattern = #"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    /// The kind named by GGUF's `tokenizer.ggml.pre`.
    public init(ggufName: String) throws(TokenizerError) {
        switch ggufName {
        case "gpt-4o": self = .o200k
        case "smollm": self = .gpt2Digits
        default: throw .unsupportedPreTokenizer(ggufName)
        }
    }

    /// The kind a tokenizer.json `pre_tokenizer` section describes.
    ///
    /// Recognised: `Sequence[Split(o200k regex, Removed, invert), ByteLevel(use_regex: false)]`,
    /// `Sequence[Digits(individual_digits: true), ByteLevel(use_regex: true)]` and
    /// `ByteLevel(use_regex: true)`, all with `add_prefix_space: false`. Anything else throws,
    /// naming what it found.
    public init(tokenizerJSON section: JSONValue) throws(TokenizerError) {
        let steps: [JSONValue]
        if section["type"]?.stringValue == "Sequence", let list = section["pretokenizers"]?.arrayValue {
            steps = list
        } else {
            steps = [section]
        }
        let types = steps.map { $0["type"]?.stringValue ?? "?" }
        func byteLevel(_ step: JSONValue, usesRegex: Bool) -> Bool {
            step["type"]?.stringValue == "ByteLevel" && step["add_prefix_space"]?.boolValue != true
                && (step["use_regex"]?.boolValue ?? true) == usesRegex
        }
        if steps.count == 1, byteLevel(steps[0], usesRegex: true) {
            self = .gpt2
        } else if steps.count == 2, steps[0]["type"]?.stringValue == "Split",
           steps[0]["pattern"]?["Regex"]?.stringValue == Self.o200kPattern,
           steps[0]["behavior"]?.stringValue == "Removed", steps[0]["invert"]?.boolValue == true,
           byteLevel(steps[1], usesRegex: false) {
            self = .o200k
        } else if steps.count == 2, steps[0]["type"]?.stringValue == "Digits",
                  steps[0]["individual_digits"]?.boolValue == true, byteLevel(steps[1], usesRegex: true) {
            self = .gpt2Digits
        } else {
            throw .unsupportedPreTokenizer(Self.summary(of: section, types: types))
        }
    }

    private static func summary(of section: JSONValue, types: [String]) -> String {
        let text = section.serialized()
        let shown = text.count > 300 ? String(text.prefix(300)) + "…" : text
        return "[\(types.joined(separator: ", "))] \(shown)"
    }
}
