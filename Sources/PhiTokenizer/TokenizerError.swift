/// What went wrong loading a tokenizer or using one, naming the file, field or id at fault.
public enum TokenizerError: Error, Equatable, CustomStringConvertible {
    /// None of the file sets a tokenizer can be loaded from is in the directory.
    case missingFiles(directory: String, expected: String)
    case unreadableFile(path: String, reason: String)
    case malformedJSON(file: String, JSONError)
    case missingField(file: String, field: String)
    case wrongType(file: String, field: String, expected: String, found: String)
    /// A setting this tokenizer does not implement (another model type, a normalizer, …).
    case unsupported(file: String, field: String, found: String)
    case unsupportedPreTokenizer(String)
    case malformedMerge(file: String, index: Int, text: String)
    /// A merge names a token that is not in the vocabulary (or whose concatenation is not).
    case mergeTokenNotInVocabulary(file: String, index: Int, token: String)
    case tokenIDOutOfRange(file: String, token: String, id: Int, vocabularySize: Int)
    /// An id given to decode is not in 0..<vocabularySize.
    case idOutOfRange(id: Int, vocabularySize: Int)

    public var description: String {
        switch self {
        case let .missingFiles(directory, expected):
            "\(directory) holds no tokenizer: expected \(expected)"
        case let .unreadableFile(path, reason):
            "cannot read \(path): \(reason)"
        case let .malformedJSON(file, error):
            "\(file) is not valid JSON: \(error)"
        case let .missingField(file, field):
            "\(file) has no '\(field)'"
        case let .wrongType(file, field, expected, found):
            "\(file): '\(field)' is \(found), expected \(expected)"
        case let .unsupported(file, field, found):
            "\(file): '\(field)' = \(found) is not supported"
        case let .unsupportedPreTokenizer(found):
            "pre-tokenizer \(found) is not supported (supported: o200k, gpt2, gpt2Digits)"
        case let .malformedMerge(file, index, text):
            "\(file): merge \(index) '\(text)' is not two tokens separated by one space"
        case let .mergeTokenNotInVocabulary(file, index, token):
            "\(file): merge \(index) uses '\(token)', which is not in the vocabulary"
        case let .tokenIDOutOfRange(file, token, id, vocabularySize):
            "\(file): token '\(token)' has id \(id), outside the vocabulary of \(vocabularySize)"
        case let .idOutOfRange(id, vocabularySize):
            "token id \(id) is outside the vocabulary (0..<\(vocabularySize))"
        }
    }
}
