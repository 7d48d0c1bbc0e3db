import Foundation
import PhiModel
import PhiTokenizer

/// The tokenizer of a model: from a GGUF file's own metadata (`tokenizer.ggml.*` and
/// `tokenizer.chat_template`), or from the tokenizer files of a model directory. A directory given
/// explicitly (`--tokenizer`) wins over both.
public enum ModelTokenizer {
    public static func load(for model: ModelSource, directory: URL? = nil) throws -> Tokenizer {
        if let directory { return try Tokenizer.load(directory: directory, vocabularySize: model.config.vocabularySize) }
        if let gguf = model.gguf {
            let metadata = try gguf.tokenizerMetadata()
            guard metadata.model == "gpt2" else {
                throw TokenizerSourceError.unsupportedModel(file: model.path.lastPathComponent, model: metadata.model)
            }
            guard let merges = metadata.merges else {
                throw TokenizerSourceError.missing(file: model.path.lastPathComponent, key: "tokenizer.ggml.merges")
            }
            let types = (metadata.tokenTypes ?? []).map { AddedToken.GGUFTokenType(rawValue: Int32($0.rawValue)) ?? .normal }
            do {
                return try Tokenizer(ggufTokens: metadata.tokens, tokenTypes: types, merges: merges,
                                     preTokenizerName: metadata.preTokenizer ?? "default", bosTokenID: metadata.bosTokenId,
                                     eosTokenID: metadata.eosTokenId, chatTemplate: metadata.chatTemplate)
            } catch {
                throw TokenizerSourceError.invalid(file: model.path.lastPathComponent, reason: "\(error)")
            }
        }
        return try Tokenizer.load(directory: model.path, vocabularySize: model.config.vocabularySize)
    }

    /// The chat format of `tokenizer` (its template source, when recognised), Phi-4-mini's otherwise.
    /// An unrecognised template is an error naming it, so a wrong format never renders silently.
    public static func chatTemplate(of tokenizer: Tokenizer) throws -> ChatTemplate {
        guard let source = tokenizer.chatTemplateSource else { return .phi4Mini }
        guard let template = ChatTemplate(jinjaSource: source) else {
            throw TokenizerSourceError.unknownTemplate(excerpt: String(source.prefix(80)))
        }
        return template
    }
}

public enum TokenizerSourceError: Error, CustomStringConvertible {
    case unsupportedModel(file: String, model: String)
    case missing(file: String, key: String)
    case invalid(file: String, reason: String)
    case unknownTemplate(excerpt: String)

    public var description: String {
        switch self {
        case let .unsupportedModel(file, model):
            "\(file): tokenizer model '\(model)' is not supported (byte-level BPE 'gpt2' only); pass --tokenizer DIR with a tokenizer.json"
        case let .missing(file, key): "\(file) has no \(key); pass --tokenizer DIR with a tokenizer.json"
        case let .invalid(file, reason): "\(file): its tokenizer cannot be built: \(reason); pass --tokenizer DIR with a tokenizer.json"
        case let .unknownTemplate(excerpt):
            "the chat template is neither Phi-4-mini's nor ChatML (it begins '\(excerpt)'); pass --tokenizer DIR whose tokenizer_config.json has one of those"
        }
    }
}
