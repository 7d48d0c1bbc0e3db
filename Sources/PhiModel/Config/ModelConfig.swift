/// The shape and hyper-parameters of a Phi3-family decoder, read from a Hugging Face `config.json`
/// (and `generation_config.json`) or from GGUF metadata.
public struct ModelConfig: Sendable, Equatable {
    /// The architecture as the checkpoint names it (`Phi3ForCausalLM`, or a GGUF `general.architecture`).
    public var architecture: String
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var layerCount: Int
    public var headCount: Int
    public var kvHeadCount: Int
    public var headDim: Int
    /// Dimensions of each head that rotate: `headDim * partial_rotary_factor` (96 of 128 for Phi-4-mini).
    public var rotaryDims: Int
    public var vocabularySize: Int
    public var rmsNormEpsilon: Float
    public var ropeTheta: Float
    public var rope: RopeScaling
    /// Positions the model supports (`max_position_embeddings`, 131,072 for Phi-4-mini).
    public var maxPositionEmbeddings: Int
    /// Positions it was pre-trained on (`original_max_position_embeddings`, 4,096): beyond, LongRoPE's long factors apply.
    public var originalMaxPositionEmbeddings: Int
    public var tieWordEmbeddings: Bool
    public var bosTokenId: Int?
    /// Ids that end a generation (`generation_config.json` `eos_token_id`, else `config.json`'s).
    public var stopTokenIds: [Int]

    public init(architecture: String, hiddenSize: Int, intermediateSize: Int, layerCount: Int,
                headCount: Int, kvHeadCount: Int, headDim: Int, rotaryDims: Int, vocabularySize: Int,
                rmsNormEpsilon: Float, ropeTheta: Float, rope: RopeScaling, maxPositionEmbeddings: Int,
                originalMaxPositionEmbeddings: Int, tieWordEmbeddings: Bool, bosTokenId: Int?,
                stopTokenIds: [Int]) {
        self.architecture = architecture
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.layerCount = layerCount
        self.headCount = headCount
        self.kvHeadCount = kvHeadCount
        self.headDim = headDim
        self.rotaryDims = rotaryDims
        self.vocabularySize = vocabularySize
        self.rmsNormEpsilon = rmsNormEpsilon
        self.ropeTheta = ropeTheta
        self.rope = rope
        self.maxPositionEmbeddings = maxPositionEmbeddings
        self.originalMaxPositionEmbeddings = originalMaxPositionEmbeddings
        self.tieWordEmbeddings = tieWordEmbeddings
        self.bosTokenId = bosTokenId
        self.stopTokenIds = stopTokenIds
    }

    /// Rows of the fused qkv projection: q for every head, then k and v for every KV head.
    public var qkvRows: Int { (headCount + 2 * kvHeadCount) * headDim }
    /// Floats of K plus V stored per token per layer.
    public var kvValuesPerTokenPerLayer: Int { 2 * kvHeadCount * headDim }
    /// All layers, as a half-open range.
    public var allLayers: Range<Int> { 0..<layerCount }
}

/// How rotary position embeddings are scaled.
public enum RopeScaling: Sendable, Equatable {
    /// Plain RoPE: inverse frequencies `1 / theta^(2i/rotaryDims)`, no attention factor.
    case none
    /// Phi-3/Phi-4 LongRoPE: per-frequency factors, short below `originalMaxPositionEmbeddings`,
    /// long beyond, and cos/sin multiplied by `attentionFactor`.
    case longRope(shortFactors: [Float], longFactors: [Float], attentionFactor: Float)
}

/// Which LongRoPE factors a forward pass uses. The reference uses the long factors for every
/// position of a pass whose highest position is at or beyond `originalMaxPositionEmbeddings`.
public enum RopeFactorSet: String, Sendable, Equatable, Codable {
    case short
    case long

    /// The factor set for a pass whose highest position is `lastPosition` (0-based).
    public static func forPass(endingAt lastPosition: Int, config: ModelConfig) -> RopeFactorSet {
        lastPosition + 1 > config.originalMaxPositionEmbeddings ? .long : .short
    }
}
