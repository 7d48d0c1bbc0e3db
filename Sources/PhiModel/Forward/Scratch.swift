/// Working memory of a forward pass, owned by the caller and reused across passes (grown when a
/// pass has more tokens or a longer context than any before). One pass at a time may use it.
public struct Scratch: Sendable {
    let normed = ScratchBuffer<Float>()      // [tokens × hidden]
    let qkv = ScratchBuffer<Float>()         // [tokens × qkvRows]
    let attended = ScratchBuffer<Float>()    // [tokens × heads × headDim]
    let projected = ScratchBuffer<Float>()   // [tokens × hidden]
    let gateUp = ScratchBuffer<Float>()      // [tokens × 2 intermediate]
    let mlpHidden = ScratchBuffer<Float>()   // [tokens × intermediate]
    let ropeTables = ScratchBuffer<Float>()  // [tokens × rotaryDims]: cos | sin per position
    let scores = ScratchBuffer<Float>()      // [chunks × headsPerKV × context] attention weights
    let logits = ScratchBuffer<Float>()      // [tokens × vocabulary]
    var quantized: [UInt8] = []              // activations as q8_0 blocks for integer matmuls

    public init() {}

    /// Bytes of scratch a pass of `tokens` tokens at a context of `context` positions takes,
    /// counting the logits of one position (the last stage) and the q8_0 activations.
    public static func bytes(tokens: Int, context: Int, config: ModelConfig, isLastStage: Bool) -> Int {
        let floats = tokens * (3 * config.hiddenSize + config.qkvRows + config.headCount * config.headDim
            + 3 * config.intermediateSize + config.rotaryDims) + scoreFloats(tokens: tokens, context: context, config: config)
            + (isLastStage ? config.vocabularySize : 0)
        let quantized = WeightFormat.q8_0.rowBytes(columns: max(config.hiddenSize, config.intermediateSize)) * tokens
        return floats * MemoryLayout<Float>.size + quantized
    }

    /// Attention work chunks of one pass at most (each needs its own softmax scratch).
    static let maxAttentionChunks = 64

    static func scoreFloats(tokens: Int, context: Int, config: ModelConfig) -> Int {
        let chunks = config.kvHeadCount * Stage.attentionRuns(tokens: tokens, kvHeads: config.kvHeadCount)
        return chunks * (config.headCount / config.kvHeadCount) * context
    }

    func reserve(tokens: Int, context: Int, config: ModelConfig) {
        normed.reserve(tokens * config.hiddenSize)
        qkv.reserve(tokens * config.qkvRows)
        attended.reserve(tokens * config.headCount * config.headDim)
        projected.reserve(tokens * config.hiddenSize)
        gateUp.reserve(tokens * 2 * config.intermediateSize)
        mlpHidden.reserve(tokens * config.intermediateSize)
        ropeTables.reserve(tokens * config.rotaryDims)
        scores.reserve(Self.scoreFloats(tokens: tokens, context: context, config: config))
    }
}

/// A growable block of memory for scratch values.
///
/// `@unchecked Sendable`: a `Scratch` is used by one forward pass at a time; the pool threads of
/// that pass write disjoint parts of it.
final class ScratchBuffer<Element>: @unchecked Sendable {
    private(set) var pointer: UnsafeMutablePointer<Element>
    private(set) var capacity: Int

    init() {
        capacity = 0
        pointer = UnsafeMutablePointer<Element>.allocate(capacity: 1)
    }

    func reserve(_ count: Int) {
        guard count > capacity else { return }
        pointer.deallocate()
        pointer = UnsafeMutablePointer<Element>.allocate(capacity: count)
        capacity = count
    }

    deinit { pointer.deallocate() }
}
