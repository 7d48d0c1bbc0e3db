import CPhiKernels

/// Working memory of a forward pass, owned by the caller and reused across passes (grown when a
/// pass has more tokens than any before). One pass at a time may use it. None of it grows with
/// the context: attention works on fixed blocks of keys (`PHI_ATTN_BLOCK`).
public struct Scratch: Sendable {
    let normed = ScratchBuffer<Float>()      // [tokens × hidden]
    let qkv = ScratchBuffer<Float>()         // [tokens × qkvRows]
    let attended = ScratchBuffer<Float>()    // [tokens × heads × headDim]
    let projected = ScratchBuffer<Float>()   // [tokens × hidden]
    let gateUp = ScratchBuffer<Float>()      // [tokens × 2 intermediate]
    let mlpHidden = ScratchBuffer<Float>()   // [tokens × intermediate]
    let ropeTables = ScratchBuffer<Float>()  // [tokens × rotaryDims]: cos | sin per position
    let attentionWork = ScratchBuffer<Float>()    // [slots × phi_attend_work_floats]: widened K/V, queries, scores
    let attentionStates = ScratchBuffer<Float>()  // running (and, split-K, block) softmax states
    let logits = ScratchBuffer<Float>()      // [tokens × vocabulary]
    var quantized: [UInt8] = []              // activations as q8_0 blocks for integer matmuls

    public init() {}

    /// Bytes of scratch a pass of up to `tokens` tokens takes, at any context, counting the
    /// logits of one position (the last stage) and the q8_0 activations.
    public static func bytes(tokens: Int, config: ModelConfig, isLastStage: Bool) -> Int {
        let attention = attentionFloats(tokens: tokens, config: config)
        let floats = tokens * (3 * config.hiddenSize + config.qkvRows + config.headCount * config.headDim
            + 3 * config.intermediateSize + config.rotaryDims) + attention.work + attention.states
            + (isLastStage ? config.vocabularySize : 0)
        let quantized = WeightFormat.q8_0.rowBytes(columns: max(config.hiddenSize, config.intermediateSize)) * tokens
        return floats * MemoryLayout<Float>.size + quantized
    }

    // Attention's shape of work (Stage+Attention.swift).
    /// Query tokens of a prefill tile: each key and value row is read (and widened) once per tile.
    static let attentionTileTokens = 32
    /// Attention work areas at most: each holds one tile's (or one split-K part's) scratch, and
    /// the pool's threads take the tiles of a slot in turn.
    static let attentionSlots = 16
    /// Passes of at most this many tokens (decode) split each KV head's keys across threads.
    static let splitKeysMaxTokens = 4
    /// Key blocks one split-K round computes before folding them, so the block states stay
    /// bounded (64 × 64 = 4,096 positions a round).
    static let splitKeysRoundBlocks = 64

    /// Floats of attention scratch a pass of up to `tokens` tokens takes: the larger of a tiled
    /// prefill's and a split-K decode's.
    static func attentionFloats(tokens: Int, config: ModelConfig) -> (work: Int, states: Int) {
        let headsPerKV = config.headCount / config.kvHeadCount
        let stateFloats = Int(phi_attend_state_floats(Int64(config.headDim)))
        func workFloats(_ tileTokens: Int) -> Int {
            Int(phi_attend_work_floats(Int64(tileTokens), Int64(headsPerKV), Int64(config.headDim)))
        }
        let tileTokens = max(1, min(tokens, attentionTileTokens))
        let tiles = config.kvHeadCount * ((max(1, tokens) + tileTokens - 1) / tileTokens)
        let tileSlots = min(tiles, attentionSlots)
        let splitTokens = max(1, min(tokens, splitKeysMaxTokens))
        let splitSlots = min(config.kvHeadCount * splitKeysRoundBlocks, attentionSlots)
        let splitStates = config.kvHeadCount * splitTokens * headsPerKV * stateFloats * (1 + splitKeysRoundBlocks)
        return (work: max(tileSlots * workFloats(tileTokens), splitSlots * workFloats(splitTokens)),
                states: max(tileSlots * tileTokens * headsPerKV * stateFloats, splitStates))
    }

    func reserve(tokens: Int, config: ModelConfig) {
        normed.reserve(tokens * config.hiddenSize)
        qkv.reserve(tokens * config.qkvRows)
        attended.reserve(tokens * config.headCount * config.headDim)
        projected.reserve(tokens * config.hiddenSize)
        gateUp.reserve(tokens * 2 * config.intermediateSize)
        mlpHidden.reserve(tokens * config.intermediateSize)
        ropeTables.reserve(tokens * config.rotaryDims)
        let attention = Self.attentionFloats(tokens: tokens, config: config)
        attentionWork.reserve(attention.work)
        attentionStates.reserve(attention.states)
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
