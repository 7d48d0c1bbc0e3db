/// Reads a Hugging Face `tokenizer.json` holding a byte-level BPE.
///
/// The vocabulary (200k entries) and merges (200k pairs) go straight from the file's bytes into a
/// `VocabularyBuilder`; only the small sections become `JSONValue`s. Settings this tokenizer does
/// not implement (a normalizer, another model type, byte fallback, subword prefixes) are errors
/// naming the field, never silently ignored.
struct TokenizerJSONReader {
    let file: String
    var builder: VocabularyBuilder
    var addedTokens: [AddedToken] = []
    var preTokenizer: PreTokenizerKind?
    var ignoresMerges = false

    init(file: String) {
        self.file = file
        self.builder = VocabularyBuilder(source: file)
    }

    /// Reads the whole file; afterwards `builder`, `addedTokens`, `preTokenizer` hold its contents.
    mutating func read(_ bytes: UnsafeBufferPointer<UInt8>) throws(TokenizerError) {
        var scanner = JSONScanner(bytes)
        var sawModel = false
        try json { () throws(JSONError) in try scanner.expect(UInt8(ascii: "{"), "'{' opening tokenizer.json") }
        var isFirst = true
        while let key = try json({ () throws(JSONError) in try scanner.nextKey(isFirst: &isFirst) }) {
            switch key {
            case "model":
                try readModel(&scanner)
                sawModel = true
            case "added_tokens":
                let value = try json { () throws(JSONError) in try scanner.readValue() }
                addedTokens = try Self.addedTokens(value, file: file, field: "added_tokens")
            case "pre_tokenizer":
                let value = try json { () throws(JSONError) in try scanner.readValue() }
                guard !value.isNull else { throw .unsupported(file: file, field: "pre_tokenizer", found: "null") }
                preTokenizer = try PreTokenizerKind(tokenizerJSON: value)
            case "normalizer":
                let value = try json { () throws(JSONError) in try scanner.readValue() }
                guard value.isNull else { throw .unsupported(file: file, field: "normalizer", found: value.serialized()) }
            case "decoder":
                let value = try json { () throws(JSONError) in try scanner.readValue() }
                guard value.isNull || value["type"]?.stringValue == "ByteLevel" else {
                    throw .unsupported(file: file, field: "decoder", found: value.serialized())
                }
            default:
                // truncation, padding, post_processor (which only adds offsets or a BOS we never add)
                try json { () throws(JSONError) in try scanner.skipValue() }
            }
        }
        try json { () throws(JSONError) in try scanner.expectEnd() }
        guard sawModel else { throw .missingField(file: file, field: "model") }
    }

    private mutating func readModel(_ scanner: inout JSONScanner) throws(TokenizerError) {
        try json { () throws(JSONError) in try scanner.expect(UInt8(ascii: "{"), "'{' opening model") }
        var isFirst = true
        var sawVocabulary = false
        while let key = try json({ () throws(JSONError) in try scanner.nextKey(isFirst: &isFirst) }) {
            switch key {
            case "vocab":
                try readVocabulary(&scanner)
                sawVocabulary = true
            case "merges":
                try readMerges(&scanner)
            default:
                let value = try json { () throws(JSONError) in try scanner.readValue() }
                try checkModelSetting(key, value)
            }
        }
        guard sawVocabulary else { throw .missingField(file: file, field: "model.vocab") }
    }

    private mutating func checkModelSetting(_ key: String, _ value: JSONValue) throws(TokenizerError) {
        let field = "model.\(key)"
        switch key {
        case "type":
            guard value.stringValue == "BPE" else { throw .unsupported(file: file, field: field, found: value.serialized()) }
        case "ignore_merges":
            ignoresMerges = value.boolValue ?? false
        case "byte_fallback":
            guard value.boolValue != true else { throw .unsupported(file: file, field: field, found: "true") }
        case "continuing_subword_prefix", "end_of_word_suffix":
            guard value.isNull || value.stringValue == "" else {
                throw .unsupported(file: file, field: field, found: value.serialized())
            }
        case "dropout":
            guard value.isNull || value.doubleValue == 0 else {
                throw .unsupported(file: file, field: field, found: value.serialized())
            }
        default:
            break  // unk_token, fuse_unk: byte-level vocabularies never produce an unknown symbol
        }
    }

    /// `{"token": id, …}` into the builder, each key's bytes decoded from the byte-level alphabet.
    mutating func readVocabulary(_ scanner: inout JSONScanner) throws(TokenizerError) {
        try json { () throws(JSONError) in try scanner.expect(UInt8(ascii: "{"), "'{' opening the vocabulary") }
        var isFirst = true
        var key: [UInt8] = []
        while try json({ () throws(JSONError) in try scanner.nextKey(into: &key, isFirst: &isFirst) }) {
            let id = try json { () throws(JSONError) in try scanner.readSmallInteger() }
            guard let id else {
                let value = try json { () throws(JSONError) in try scanner.readValue() }
                throw .wrongType(file: file, field: "vocab[\(String(decoding: key, as: UTF8.self))]",
                                 expected: "an id (an integer in 0..<2^31)", found: value.serialized())
            }
            key.withUnsafeBufferPointer { builder.add(id: id, byteLevelString: $0) }
        }
    }

    /// `["a b", …]` or `[["a", "b"], …]` into the builder.
    private mutating func readMerges(_ scanner: inout JSONScanner) throws(TokenizerError) {
        try json { () throws(JSONError) in try scanner.expect(UInt8(ascii: "["), "'[' opening the merges") }
        var isFirst = true
        var left: [UInt8] = []
        var right: [UInt8] = []
        var index = 0
        while try json({ () throws(JSONError) in try scanner.nextElement(isFirst: &isFirst) }) {
            if try json({ () throws(JSONError) in scanner.peek() }) == UInt8(ascii: "[") {
                try json { () throws(JSONError) in
                    try scanner.expect(UInt8(ascii: "["), "'['")
                    try scanner.readStringBytes(into: &left)
                    try scanner.expect(UInt8(ascii: ","), "',' between the halves of a merge")
                    try scanner.readStringBytes(into: &right)
                    try scanner.expect(UInt8(ascii: "]"), "']' closing a merge")
                }
                left.withUnsafeBufferPointer { l in
                    right.withUnsafeBufferPointer { r in builder.addMerge(index: index, left: l, right: r) }
                }
            } else {
                try json { () throws(JSONError) in try scanner.readStringBytes(into: &left) }
                try left.withUnsafeBufferPointer { text in
                    Result { () throws(TokenizerError) in try builder.addMerge(index: index, text: text) }
                }.get()
            }
            index += 1
        }
    }

    /// Runs a scanner step, reporting a syntax error with this file's name.
    private func json<T>(_ body: () throws(JSONError) -> T) throws(TokenizerError) -> T {
        do {
            return try body()
        } catch {
            throw .malformedJSON(file: file, error)
        }
    }

    /// Added tokens from tokenizer.json's `added_tokens` list.
    static func addedTokens(_ value: JSONValue, file: String, field: String) throws(TokenizerError) -> [AddedToken] {
        guard let list = value.arrayValue else {
            throw .wrongType(file: file, field: field, expected: "a list", found: value.typeName)
        }
        var tokens: [AddedToken] = []
        for (index, entry) in list.enumerated() {
            guard let id = entry["id"]?.intValue else { throw .missingField(file: file, field: "\(field)[\(index)].id") }
            tokens.append(try addedToken(entry, id: id, file: file, field: "\(field)[\(index)]"))
        }
        return tokens
    }

    /// One added token's flags (`content`, `special`, `lstrip`, `rstrip`, `single_word`, `normalized`).
    static func addedToken(_ entry: JSONValue, id: Int, file: String, field: String) throws(TokenizerError) -> AddedToken {
        guard let content = entry["content"]?.stringValue else {
            throw .missingField(file: file, field: "\(field).content")
        }
        let isSpecial = entry["special"]?.boolValue ?? false
        return AddedToken(id: id, content: content, isSpecial: isSpecial,
                          stripsLeft: entry["lstrip"]?.boolValue ?? false,
                          stripsRight: entry["rstrip"]?.boolValue ?? false,
                          matchesSingleWordOnly: entry["single_word"]?.boolValue ?? false,
                          isNormalized: entry["normalized"]?.boolValue)
    }
}
