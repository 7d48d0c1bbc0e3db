import Foundation

extension ModelConfig {
    /// Reads `config.json` (and `generation_config.json` when present) of a Hugging Face model
    /// directory. Throws a `ConfigError` naming the file and field that is missing, mistyped or
    /// describes something this engine does not run.
    public static func load(directory: URL) throws -> ModelConfig {
        let fields = try JSONFields.read(directory.appendingPathComponent("config.json"))
        var config = try ModelConfig(huggingFace: fields)
        let generationURL = directory.appendingPathComponent("generation_config.json")
        if FileManager.default.fileExists(atPath: generationURL.path) {
            let generation = try JSONFields.read(generationURL)
            if let stops = try generation.intList("eos_token_id") { config.stopTokenIds = stops }
            if let bos = try generation.optionalInt("bos_token_id") { config.bosTokenId = bos }
        }
        return config
    }

    /// The architectures whose `config.json` this reader accepts: Phi-3/Phi-4 (fused qkv and gate|up).
    public static let supportedArchitectures = ["Phi3ForCausalLM"]

    init(huggingFace fields: JSONFields) throws {
        let file = fields.file
        guard let architectures = try fields.strings("architectures") else {
            throw ConfigError.missingField(file: file, field: "architectures")
        }
        guard let architecture = architectures.first(where: Self.supportedArchitectures.contains) else {
            throw ConfigError.unsupportedArchitecture(file: file, found: architectures.joined(separator: ", "))
        }
        if let activation = try fields.string("hidden_act"), activation != "silu" {
            throw ConfigError.unsupported(file: file, field: "hidden_act", reason: "'\(activation)' (only silu is implemented)")
        }
        if try fields.bool("attention_bias") == true {
            throw ConfigError.unsupported(file: file, field: "attention_bias", reason: "biases on the attention projections")
        }

        let hiddenSize = try fields.int("hidden_size")
        let headCount = try fields.int("num_attention_heads")
        let kvHeadCount = try fields.int("num_key_value_heads")
        let layerCount = try fields.int("num_hidden_layers")
        let intermediateSize = try fields.int("intermediate_size")
        let vocabularySize = try fields.int("vocab_size")
        for (name, value) in [("hidden_size", hiddenSize), ("num_attention_heads", headCount),
                              ("num_key_value_heads", kvHeadCount), ("num_hidden_layers", layerCount),
                              ("intermediate_size", intermediateSize), ("vocab_size", vocabularySize)]
        where value <= 0 {
            throw ConfigError.invalidValue(file: file, field: name, reason: "must be positive, found \(value)")
        }
        guard headCount % kvHeadCount == 0 else {
            throw ConfigError.invalidValue(file: file, field: "num_key_value_heads",
                                reason: "(\(kvHeadCount)) must divide num_attention_heads (\(headCount))")
        }
        let headDim = try fields.optionalInt("head_dim") ?? hiddenSize / headCount
        guard headDim > 0, headDim % 2 == 0 else {
            throw ConfigError.invalidValue(file: file, field: "head_dim", reason: "must be a positive even number, found \(headDim)")
        }
        let scaling = try fields.nested("rope_scaling")
        let partialRotaryFactor = try fields.optionalDouble("partial_rotary_factor")
            ?? scaling?.optionalDouble("partial_rotary_factor") ?? 1.0
        let rotaryDims = Int((Double(headDim) * partialRotaryFactor).rounded(.down))
        guard partialRotaryFactor > 0, partialRotaryFactor <= 1, rotaryDims % 2 == 0, rotaryDims > 0 else {
            throw ConfigError.invalidValue(file: file, field: "partial_rotary_factor",
                                reason: "must give an even number of rotary dims in 1...\(headDim), found \(partialRotaryFactor)")
        }
        let maxPositions = try fields.int("max_position_embeddings")
        let originalMaxPositions = try fields.optionalInt("original_max_position_embeddings")
            ?? scaling?.optionalInt("original_max_position_embeddings") ?? maxPositions
        let ropeTheta = try fields.optionalDouble("rope_theta") ?? scaling?.optionalDouble("rope_theta")
        guard let ropeTheta else { throw ConfigError.missingField(file: file, field: "rope_theta") }
        if let window = try fields.optionalInt("sliding_window"), window < maxPositions {
            throw ConfigError.unsupported(file: file, field: "sliding_window",
                               reason: "a window of \(window) tokens below max_position_embeddings (\(maxPositions))")
        }

        self.init(
            architecture: architecture, hiddenSize: hiddenSize, intermediateSize: intermediateSize,
            layerCount: layerCount, headCount: headCount, kvHeadCount: kvHeadCount, headDim: headDim,
            rotaryDims: rotaryDims, vocabularySize: vocabularySize,
            rmsNormEpsilon: Float(try fields.double("rms_norm_eps")), ropeTheta: Float(ropeTheta),
            rope: try Self.ropeScaling(scaling, rotaryDims: rotaryDims, maxPositions: maxPositions,
                                       originalMaxPositions: originalMaxPositions, file: file),
            maxPositionEmbeddings: maxPositions, originalMaxPositionEmbeddings: originalMaxPositions,
            tieWordEmbeddings: try fields.bool("tie_word_embeddings") ?? false,
            bosTokenId: try fields.optionalInt("bos_token_id"),
            stopTokenIds: try fields.intList("eos_token_id") ?? [])
    }

    /// LongRoPE as transformers computes it (`_compute_longrope_parameters`): the attention factor
    /// is `sqrt(1 + ln(max/original) / ln(original))` unless the config gives one.
    private static func ropeScaling(_ scaling: JSONFields?, rotaryDims: Int, maxPositions: Int,
                                    originalMaxPositions: Int, file: String) throws -> RopeScaling {
        guard let scaling else { return .none }
        let type = try scaling.string("rope_type") ?? scaling.string("type")
        guard let type else { throw ConfigError.missingField(file: file, field: "rope_scaling.type") }
        switch type {
        case "default":
            return .none
        case "longrope", "su":
            let short = try prefixed(scaling, "short_factor") { try scaling.floats("short_factor") }
            let long = try prefixed(scaling, "long_factor") { try scaling.floats("long_factor") }
            for (name, factors) in [("short_factor", short), ("long_factor", long)] where factors.count != rotaryDims / 2 {
                throw ConfigError.invalidValue(file: file, field: "rope_scaling.\(name)",
                                    reason: "has \(factors.count) entries, expected \(rotaryDims / 2) (rotary dims / 2)")
            }
            let attentionFactor: Double
            if let given = try scaling.optionalDouble("attention_factor") {
                attentionFactor = given
            } else {
                let factor = Double(maxPositions) / Double(originalMaxPositions)
                attentionFactor = factor <= 1 ? 1 : (1 + log(factor) / log(Double(originalMaxPositions))).squareRoot()
            }
            return .longRope(shortFactors: short, longFactors: long, attentionFactor: Float(attentionFactor))
        default:
            throw ConfigError.unsupported(file: file, field: "rope_scaling.type", reason: "'\(type)' (longrope or default)")
        }
    }

    /// Re-throws a nested field's error with its `rope_scaling.` prefix.
    private static func prefixed<T>(_ fields: JSONFields, _ name: String,
                                    _ read: () throws -> T) throws -> T {
        do {
            return try read()
        } catch let ConfigError.missingField(file, field) {
            throw ConfigError.missingField(file: file, field: "rope_scaling.\(field)")
        } catch let ConfigError.wrongType(file, field, expected) {
            throw ConfigError.wrongType(file: file, field: "rope_scaling.\(field)", expected: expected)
        }
    }
}
