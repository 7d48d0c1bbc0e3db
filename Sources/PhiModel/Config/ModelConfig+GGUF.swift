import Foundation

extension ModelConfig {
    /// The GGUF architectures this engine runs, and the tensor layout of each: both become the
    /// same fused Phi3 stage in memory.
    public static let ggufArchitectures: [String: CheckpointLayout] = ["phi3": .ggufPhi3, "llama": .ggufLlama]

    /// Reads the config of a GGUF model from its metadata (`<arch>.*` keys as llama.cpp's
    /// convert_hf_to_gguf writes them) and the tensor table (vocabulary from `token_embd.weight`,
    /// tied embeddings when `output.weight` is absent, LongRoPE factors from
    /// `rope_factors_long/short.weight`). Throws naming the key or tensor that is missing, mistyped
    /// or describes something this engine does not run.
    /// The largest width, count or context a GGUF key may give (2^24): far beyond any model this
    /// engine runs, and small enough that no product of them overflows when sizes are computed.
    static let maxGGUFDimension = 1 << 24

    public init(gguf: GGUFFile) throws {
        let metadata = gguf.metadata
        let file = metadata.file
        let architecture = try metadata.string("general.architecture")
        guard Self.ggufArchitectures[architecture] != nil else {
            throw ConfigError.unsupported(file: file, field: "general.architecture",
                                          reason: "'\(architecture)' (\(Self.ggufArchitectures.keys.sorted().joined(separator: " or ")))")
        }
        func key(_ suffix: String) -> String { "\(architecture).\(suffix)" }
        if let experts = try metadata.optionalInt(key("expert_count")), experts > 0 {
            throw ConfigError.unsupported(file: file, field: key("expert_count"), reason: "\(experts) experts (mixture of experts)")
        }

        let layerCount = try metadata.int(key("block_count"))
        let hiddenSize = try metadata.int(key("embedding_length"))
        let intermediateSize = try metadata.int(key("feed_forward_length"))
        let headCount = try metadata.int(key("attention.head_count"))
        // The GGUF spec: head_count_kv defaults to head_count (no grouped-query attention).
        let kvHeadCount = try metadata.optionalInt(key("attention.head_count_kv")) ?? headCount
        for (name, value) in [("block_count", layerCount), ("embedding_length", hiddenSize), ("feed_forward_length", intermediateSize),
                              ("attention.head_count", headCount), ("attention.head_count_kv", kvHeadCount)]
        where value <= 0 || value > Self.maxGGUFDimension {
            throw ConfigError.invalidValue(file: file, field: key(name), reason: "must be in 1...\(Self.maxGGUFDimension), found \(value)")
        }
        guard headCount % kvHeadCount == 0 else {
            throw ConfigError.invalidValue(file: file, field: key("attention.head_count_kv"),
                                           reason: "(\(kvHeadCount)) must divide attention.head_count (\(headCount))")
        }
        let headDim = try metadata.optionalInt(key("attention.key_length")) ?? hiddenSize / headCount
        guard headDim <= Self.maxGGUFDimension else {
            throw ConfigError.invalidValue(file: file, field: key("attention.key_length"), reason: "must be at most \(Self.maxGGUFDimension), found \(headDim)")
        }
        if let valueLength = try metadata.optionalInt(key("attention.value_length")), valueLength != headDim {
            throw ConfigError.unsupported(file: file, field: key("attention.value_length"),
                                          reason: "\(valueLength), different from the key length \(headDim)")
        }
        guard headDim > 0, headDim % 2 == 0 else {
            throw ConfigError.invalidValue(file: file, field: key("attention.key_length"), reason: "must be a positive even number, found \(headDim)")
        }
        // llama.cpp: rope.dimension_count defaults to the head dimension (full rotary).
        let rotaryDims = try metadata.optionalInt(key("rope.dimension_count")) ?? headDim
        guard rotaryDims > 0, rotaryDims <= headDim, rotaryDims % 2 == 0 else {
            throw ConfigError.invalidValue(file: file, field: key("rope.dimension_count"),
                                           reason: "must be an even number in 2...\(headDim), found \(rotaryDims)")
        }
        // The llama layout's q/k rows are permuted for GGML's adjacent-pair RoPE over whole heads.
        if architecture == "llama", rotaryDims != headDim {
            throw ConfigError.unsupported(file: file, field: key("rope.dimension_count"),
                                          reason: "\(rotaryDims) of \(headDim) dims (llama rotates whole heads)")
        }
        let maxPositions = try metadata.int(key("context_length"))
        let originalMaxPositions = try metadata.optionalInt(key("rope.scaling.original_context_length")) ?? maxPositions
        for (name, value) in [("context_length", maxPositions), ("rope.scaling.original_context_length", originalMaxPositions)]
        where value <= 0 || value > Self.maxGGUFDimension {
            throw ConfigError.invalidValue(file: file, field: key(name), reason: "must be in 1...\(Self.maxGGUFDimension), found \(value)")
        }
        if let window = try metadata.optionalInt(key("attention.sliding_window")), window > 0, window < maxPositions {
            throw ConfigError.unsupported(file: file, field: key("attention.sliding_window"),
                                          reason: "a window of \(window) tokens below context_length (\(maxPositions))")
        }
        let (vocabularySize, _) = try Self.embeddingShape(gguf, hiddenSize: hiddenSize)
        if let declared = try metadata.optionalInt(key("vocab_size")), declared != vocabularySize {
            throw ConfigError.invalidValue(file: file, field: key("vocab_size"),
                                           reason: "is \(declared), but token_embd.weight has \(vocabularySize) rows")
        }
        let eosIds = try ["tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id"]
            .compactMap { try metadata.optionalInt($0) }

        self.init(
            architecture: architecture, hiddenSize: hiddenSize, intermediateSize: intermediateSize,
            layerCount: layerCount, headCount: headCount, kvHeadCount: kvHeadCount, headDim: headDim,
            rotaryDims: rotaryDims, vocabularySize: vocabularySize,
            rmsNormEpsilon: Float(try metadata.double(key("attention.layer_norm_rms_epsilon"))),
            // llama.cpp: rope.freq_base defaults to 10,000.
            ropeTheta: Float(try metadata.optionalDouble(key("rope.freq_base")) ?? 10_000),
            rope: try Self.ggufRopeScaling(gguf, architecture: architecture, rotaryDims: rotaryDims,
                                           maxPositions: maxPositions, originalMaxPositions: originalMaxPositions),
            maxPositionEmbeddings: maxPositions, originalMaxPositionEmbeddings: originalMaxPositions,
            tieWordEmbeddings: !gguf.contains(TensorNames.head(.ggufLlama)),
            bosTokenId: try metadata.optionalInt("tokenizer.ggml.bos_token_id"),
            stopTokenIds: eosIds.reduce(into: []) { ids, id in if !ids.contains(id) { ids.append(id) } })
    }

    /// [vocabulary, hidden] of `token_embd.weight`.
    private static func embeddingShape(_ gguf: GGUFFile, hiddenSize: Int) throws -> (Int, Int) {
        let name = TensorNames.embedding(.ggufLlama)
        guard let info = gguf.info(name) else { throw CheckpointError.missingTensor(name: name, searched: gguf.file.fileName) }
        guard info.shape.count == 2, info.shape[1] == hiddenSize, info.shape[0] > 0 else {
            throw CheckpointError.shapeMismatch(tensor: name, expected: [info.shape.first ?? 0, hiddenSize], found: info.shape)
        }
        return (info.shape[0], info.shape[1])
    }

    /// Plain RoPE, or Phi-3's LongRoPE when the file has the factor tensors (convert_hf_to_gguf
    /// writes them for `longrope`/`su` scaling, with `rope.scaling.attn_factor`). The attention
    /// factor, when the key is absent, is computed as transformers does.
    private static func ggufRopeScaling(_ gguf: GGUFFile, architecture: String, rotaryDims: Int,
                                        maxPositions: Int, originalMaxPositions: Int) throws -> RopeScaling {
        let metadata = gguf.metadata
        let file = metadata.file
        if let type = try metadata.optionalString("\(architecture).rope.scaling.type"), type != "none" {
            throw ConfigError.unsupported(file: file, field: "\(architecture).rope.scaling.type", reason: "'\(type)' (only LongRoPE factor tensors or none)")
        }
        // Llama 3's frequency factors change every angle; running without them would be silently wrong.
        if gguf.contains("rope_freqs.weight") {
            throw ConfigError.unsupported(file: file, field: "rope_freqs.weight", reason: "Llama-3-style RoPE frequency factors")
        }
        let longName = "rope_factors_long.weight"
        let shortName = "rope_factors_short.weight"
        guard gguf.contains(longName) || gguf.contains(shortName) else { return .none }
        let long = try factors(gguf, longName, count: rotaryDims / 2)
        let short = try factors(gguf, shortName, count: rotaryDims / 2)
        let attentionFactor: Double
        if let given = try metadata.optionalDouble("\(architecture).rope.scaling.attn_factor") {
            attentionFactor = given
        } else {
            let scale = Double(maxPositions) / Double(originalMaxPositions)
            attentionFactor = scale <= 1 ? 1 : (1 + log(scale) / log(Double(originalMaxPositions))).squareRoot()
        }
        return .longRope(shortFactors: short, longFactors: long, attentionFactor: Float(attentionFactor))
    }

    private static func factors(_ gguf: GGUFFile, _ name: String, count: Int) throws -> [Float] {
        let view = try gguf.tensor(name)
        guard view.shape == [count] else { throw CheckpointError.shapeMismatch(tensor: name, expected: [count], found: view.shape) }
        var values = [Float](repeating: 0, count: count)
        try values.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            try view.row(0, into: base)
        }
        return values
    }
}
