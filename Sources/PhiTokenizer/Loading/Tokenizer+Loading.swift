import Foundation

extension Tokenizer {
    /// Loads the tokenizer in `directory` (a tokenizer folder or a whole model folder).
    ///
    /// Reads `tokenizer.json`, or else `vocab.json` with `merges.txt`; then the added tokens and their
    /// flags from `tokenizer_config.json` (`added_tokens_decoder`) and `added_tokens.json` for ids
    /// not already known, plus `bos_token`, `eos_token` and `chat_template`.
    ///
    /// Pre-tokenizers follow transformers 5, whose ids are the reference: when
    /// tokenizer_config.json names `GPT2Tokenizer` (Phi-4-mini, SmolLM2) or there is no
    /// tokenizer.json, `encode` uses GPT-2's regex, as that class installs it regardless of
    /// tokenizer.json; otherwise tokenizer.json's own. `encodeOrdinary` always uses
    /// tokenizer.json's own (o200k for Phi-4-mini, tiktoken's `encode_ordinary`), or o200k when
    /// there is no tokenizer.json.
    ///
    /// - Parameters:
    ///   - vocabularySize: the model's vocabulary (embedding rows). When nil: `vocab_size` of a
    ///     `config.json` beside the tokenizer, else the tokenizer's own size rounded up to a
    ///     multiple of 64 (how Phi-4-mini pads 200,029 tokens to 200,064 rows).
    ///   - preTokenizer: overrides the kind `encode` uses.
    ///   - ordinaryPreTokenizer: overrides the kind `encodeOrdinary` uses.
    /// - Throws: `TokenizerError` naming the missing or malformed file and field.
    public static func load(directory: URL, vocabularySize: Int? = nil, preTokenizer: PreTokenizerKind? = nil,
                            ordinaryPreTokenizer: PreTokenizerKind? = nil) throws(TokenizerError) -> Tokenizer {
        let tokenizerJSON = directory.appendingPathComponent("tokenizer.json")
        let vocabJSON = directory.appendingPathComponent("vocab.json")
        let mergesText = directory.appendingPathComponent("merges.txt")
        let fileManager = FileManager.default

        var builder: VocabularyBuilder
        var addedTokens: [AddedToken] = []
        var fileKind: PreTokenizerKind?
        var ignoresMerges = false
        if fileManager.fileExists(atPath: tokenizerJSON.path) {
            var reader = TokenizerJSONReader(file: tokenizerJSON.lastPathComponent)
            let bytes = try readFile(tokenizerJSON)
            try bytes.withUnsafeBufferPointer { buffer in
                Result { () throws(TokenizerError) in try reader.read(buffer) }
            }.get()
            guard let kind = reader.preTokenizer else {
                throw .missingField(file: tokenizerJSON.lastPathComponent, field: "pre_tokenizer")
            }
            builder = reader.builder
            addedTokens = reader.addedTokens
            fileKind = kind
            ignoresMerges = reader.ignoresMerges
        } else if fileManager.fileExists(atPath: vocabJSON.path) && fileManager.fileExists(atPath: mergesText.path) {
            builder = try readVocabularyAndMerges(vocabJSON, mergesText)
        } else {
            throw .missingFiles(directory: directory.path, expected: "tokenizer.json, or vocab.json and merges.txt")
        }

        var knownIDs = Set(addedTokens.map(\.id))
        var tokenizerClass: String?
        var bosToken: String?
        var eosToken: String?
        var chatTemplate: String?
        let configURL = directory.appendingPathComponent("tokenizer_config.json")
        if let config = try readJSONIfPresent(configURL) {
            let file = configURL.lastPathComponent
            if let decoder = config["added_tokens_decoder"]?.objectValue {
                for member in decoder.members {
                    guard let id = Int(member.key) else {
                        throw .wrongType(file: file, field: "added_tokens_decoder", expected: "integer keys", found: member.key)
                    }
                    guard !knownIDs.contains(id) else { continue }
                    addedTokens.append(try TokenizerJSONReader.addedToken(
                        member.value, id: id, file: file, field: "added_tokens_decoder.\(member.key)"))
                    knownIDs.insert(id)
                }
            }
            tokenizerClass = config["tokenizer_class"]?.stringValue
            bosToken = config["bos_token"]?.stringValue ?? config["bos_token"]?["content"]?.stringValue
            eosToken = config["eos_token"]?.stringValue ?? config["eos_token"]?["content"]?.stringValue
            chatTemplate = config["chat_template"]?.stringValue
                ?? config["chat_template"]?.arrayValue?.first { $0["name"]?.stringValue == "default" }?["template"]?.stringValue
        }
        let addedURL = directory.appendingPathComponent("added_tokens.json")
        if let added = try readJSONIfPresent(addedURL)?.objectValue {
            for member in added.members {
                guard let id = member.value.intValue else {
                    throw .wrongType(file: addedURL.lastPathComponent, field: member.key, expected: "an integer id",
                                     found: member.value.typeName)
                }
                guard !knownIDs.contains(id) else { continue }
                addedTokens.append(AddedToken(id: id, content: member.key, isSpecial: false))
                knownIDs.insert(id)
            }
        }

        var size = vocabularySize
        let modelConfigURL = directory.appendingPathComponent("config.json")
        if size == nil, let modelConfig = try readJSONIfPresent(modelConfigURL) {
            size = modelConfig["vocab_size"]?.intValue
        }
        if size == nil {
            let natural = max(builder.tokenCount, (addedTokens.map(\.id).max() ?? -1) + 1)
            size = (natural + 63) / 64 * 64
        }

        let isGPT2Class = tokenizerClass == "GPT2Tokenizer" || tokenizerClass == "GPT2TokenizerFast"
        let encodeKind = preTokenizer ?? (isGPT2Class ? .gpt2 : fileKind ?? .gpt2)
        var tokenizer = try Tokenizer(builder: builder, addedTokens: addedTokens, preTokenizer: encodeKind,
                                      ordinaryPreTokenizer: ordinaryPreTokenizer ?? fileKind ?? .o200k,
                                      vocabularySize: size, ignoresMerges: ignoresMerges)
        tokenizer.bosTokenID = bosToken.flatMap { tokenizer.id(of: $0) }
        tokenizer.eosTokenID = eosToken.flatMap { tokenizer.id(of: $0) }
        tokenizer.chatTemplateSource = chatTemplate
        return tokenizer
    }

    private static func readFile(_ url: URL) throws(TokenizerError) -> [UInt8] {
        do {
            return [UInt8](try Data(contentsOf: url))
        } catch {
            throw .unreadableFile(path: url.path, reason: error.localizedDescription)
        }
    }

    private static func readJSONIfPresent(_ url: URL) throws(TokenizerError) -> JSONValue? {
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        let bytes = try readFile(url)
        do {
            return try bytes.withUnsafeBufferPointer { buffer in
                Result { () throws(JSONError) in try JSONValue.parse(buffer) }
            }.get()
        } catch {
            throw .malformedJSON(file: url.lastPathComponent, error)
        }
    }

    /// The GPT-2-era pair of files: `vocab.json` (`{"token": id}`) and `merges.txt` (a `#version`
    /// line, then one `left right` merge per line).
    private static func readVocabularyAndMerges(_ vocabURL: URL, _ mergesURL: URL) throws(TokenizerError) -> VocabularyBuilder {
        var reader = TokenizerJSONReader(file: vocabURL.lastPathComponent)
        let vocabBytes = try readFile(vocabURL)
        try vocabBytes.withUnsafeBufferPointer { buffer in
            Result { () throws(TokenizerError) in
                var scanner = JSONScanner(buffer)
                try reader.readVocabulary(&scanner)
            }
        }.get()
        var builder = reader.builder
        let mergeBytes = try readFile(mergesURL)
        try mergeBytes.withUnsafeBufferPointer { all in Result { () throws(TokenizerError) in
            var index = 0
            var lineStart = 0
            var isFirstLine = true
            while lineStart < all.count {
                var lineEnd = lineStart
                while lineEnd < all.count && all[lineEnd] != 0x0A { lineEnd += 1 }
                var contentEnd = lineEnd
                if contentEnd > lineStart && all[contentEnd - 1] == 0x0D { contentEnd -= 1 }
                let line = UnsafeBufferPointer(rebasing: all[lineStart..<contentEnd])
                let isVersionLine = isFirstLine && line.starts(with: "#version".utf8)
                if !line.isEmpty && !isVersionLine {
                    try builder.addMerge(index: index, text: line)
                    index += 1
                }
                isFirstLine = false
                lineStart = lineEnd + 1
            }
        } }.get()
        return builder
    }
}
