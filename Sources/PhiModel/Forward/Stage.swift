import CPhiKernels

/// Runs decoder layers `layers` (a half-open range of absolute layer indices) over hidden states.
/// The single-process engine is `Stage(layers: 0..<32)`; a worker holding `16..<32` runs the same
/// code. `embed` exists only for a stage holding layer 0 and `logits` only for one holding the last
/// layer: the range decides.
public struct Stage: Sendable {
    public let config: ModelConfig
    public let layers: Range<Int>
    let weights: StageWeights
    let rope: LongRoPE
    public let compute: Compute

    /// Called after each layer with its index and the residual stream it produced.
    public typealias LayerObserver = (_ layer: Int, _ hidden: Activations) -> Void

    public init(config: ModelConfig, weights: StageWeights, compute: Compute) {
        self.config = config
        layers = weights.layers
        self.weights = weights
        rope = LongRoPE(config: config)
        self.compute = compute
    }

    public var isFirstStage: Bool { layers.lowerBound == 0 }
    public var isLastStage: Bool { layers.upperBound == config.layerCount }
    public var weightBytes: Int { weights.weightBytes }
    /// The format the stage's matrices are held in.
    public var weightFormat: WeightFormat { weights.layerWeights.first?.qkv.format ?? weights.head?.format ?? .f32 }

    /// The embedding rows of `tokens`. Throws for a stage without layer 0 or an id outside the vocabulary.
    public func embed(tokens: [Int]) throws -> Activations {
        guard let embedding = weights.embedding else { throw StageError.notFirstStage(layers) }
        var hidden = Activations(zeros: tokens.count, width: config.hiddenSize)
        try hidden.values.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            for (index, token) in tokens.enumerated() {
                guard token >= 0, token < config.vocabularySize else {
                    throw StageError.tokenOutOfRange(token: token, vocabularySize: config.vocabularySize)
                }
                try embedding.row(token, into: base + index * config.hiddenSize)
            }
        }
        return hidden
    }

    /// Runs every layer of the stage over `hidden`, the states of `positions`, writing their keys
    /// and values into `cache` first so each token attends to itself and all before it.
    public func run(_ hidden: inout Activations, positions: Range<Int>, ropeFactors: RopeFactorSet,
                    cache: inout KVCache, scratch: inout Scratch, observer: LayerObserver? = nil) throws {
        guard hidden.tokenCount == positions.count, hidden.width == config.hiddenSize else {
            throw StageError.activationShape(tokens: hidden.tokenCount, width: hidden.width,
                                             expectedTokens: positions.count, expectedWidth: config.hiddenSize)
        }
        guard cache.layers == layers else { throw StageError.cacheLayers(cache: cache.layers, stage: layers) }
        try cache.checkAppend(positions: positions, factors: ropeFactors)
        try cache.prepareForWriting()
        run(&hidden, segments: [Segment(rows: 0, positions: positions, ropeFactors: ropeFactors, cache: cache)],
            scratch: &scratch, observer: observer)
        cache.commit(positions: positions, factors: ropeFactors)
    }

    /// One session's part of a batched pass.
    public struct BatchEntry: Sendable {
        public var positions: Range<Int>
        public var ropeFactors: RopeFactorSet

        public init(positions: Range<Int>, ropeFactors: RopeFactorSet) {
            self.positions = positions
            self.ropeFactors = ropeFactors
        }
    }

    /// Runs the tokens of several sessions in one pass: `hidden` holds entry 0's rows, then entry
    /// 1's, and so on; entry i's tokens take `entries[i].positions` of `caches[i]`. The matrices
    /// are read once for all of them (what makes concurrent decoding cheaper than one session at
    /// a time); each session's tokens attend only to its own cache. Every entry is checked before
    /// any layer runs, so a throw leaves every cache as it was.
    public func run(_ hidden: inout Activations, batch entries: [BatchEntry], caches: inout [KVCache],
                    scratch: inout Scratch, observer: LayerObserver? = nil) throws {
        let tokens = entries.reduce(0) { $0 + $1.positions.count }
        guard entries.count == caches.count, hidden.tokenCount == tokens, hidden.width == config.hiddenSize else {
            throw StageError.activationShape(tokens: hidden.tokenCount, width: hidden.width,
                                             expectedTokens: tokens, expectedWidth: config.hiddenSize)
        }
        for (entry, cache) in zip(entries, caches) {
            guard cache.layers == layers else { throw StageError.cacheLayers(cache: cache.layers, stage: layers) }
            try cache.checkAppend(positions: entry.positions, factors: entry.ropeFactors)
        }
        for index in caches.indices { try caches[index].prepareForWriting() }
        var segments: [Segment] = []
        var row = 0
        for (entry, cache) in zip(entries, caches) {
            segments.append(Segment(rows: row, positions: entry.positions, ropeFactors: entry.ropeFactors, cache: cache))
            row += entry.positions.count
        }
        run(&hidden, segments: segments, scratch: &scratch, observer: observer)
        segments.removeAll()
        for (index, entry) in entries.enumerated() {
            caches[index].commit(positions: entry.positions, factors: entry.ropeFactors)
        }
    }

    /// A session's rows in a pass. `cache` shares the session's storage (made unique before), so
    /// the layers write through it; the caller commits the positions afterwards.
    struct Segment {
        /// Index of the segment's first row in the pass's hidden states.
        let rows: Int
        let positions: Range<Int>
        let ropeFactors: RopeFactorSet
        let cache: KVCache
    }

    private func run(_ hidden: inout Activations, segments: [Segment], scratch: inout Scratch, observer: LayerObserver?) {
        let tokens = hidden.tokenCount
        scratch.reserve(tokens: tokens, config: config)
        for segment in segments {
            for (index, position) in segment.positions.enumerated() {
                rope.table(position: position, set: segment.ropeFactors,
                           into: scratch.ropeTables.pointer + (segment.rows + index) * config.rotaryDims)
            }
        }
        for layer in layers {
            hidden.values.withUnsafeMutableBufferPointer { buffer in
                guard let states = buffer.baseAddress else { return }
                runLayer(layer, states: states, tokens: tokens, segments: segments, scratch: &scratch)
            }
            observer?(layer, hidden)
        }
    }

    private func runLayer(_ layer: Int, states: UnsafeMutablePointer<Float>, tokens: Int, segments: [Segment],
                          scratch: inout Scratch) {
        let w = weights[layer]
        let hiddenSize = config.hiddenSize
        let eps = config.rmsNormEpsilon
        // Attention: pre-norm, fused qkv, rotate q and k, store k/v, attend, project, residual.
        for token in 0..<tokens {
            compute.rmsnorm(states + token * hiddenSize, weight: w.attentionNorm, into: scratch.normed.pointer + token * hiddenSize,
                            count: hiddenSize, epsilon: eps)
        }
        compute.matmul(w.qkv, input: scratch.normed.pointer, tokens: tokens, output: scratch.qkv.pointer,
                       outputStride: config.qkvRows, quantized: &scratch.quantized)
        for segment in segments {
            storeKeysAndValues(layer: layer, segment: segment, scratch: scratch)
            attend(layer: layer, segment: segment, scratch: scratch)
        }
        compute.matmul(w.attentionOutput, input: scratch.attended.pointer, tokens: tokens,
                       output: scratch.projected.pointer, outputStride: hiddenSize, quantized: &scratch.quantized)
        phi_add(states, scratch.projected.pointer, Int64(tokens * hiddenSize))
        // MLP: pre-norm, fused gate|up, SwiGLU, down projection, residual.
        for token in 0..<tokens {
            compute.rmsnorm(states + token * hiddenSize, weight: w.mlpNorm, into: scratch.normed.pointer + token * hiddenSize,
                            count: hiddenSize, epsilon: eps)
        }
        let intermediate = config.intermediateSize
        compute.matmul(w.gateUp, input: scratch.normed.pointer, tokens: tokens, output: scratch.gateUp.pointer,
                       outputStride: 2 * intermediate, quantized: &scratch.quantized)
        for token in 0..<tokens {
            let gateUp = scratch.gateUp.pointer + token * 2 * intermediate
            compute.swiglu(gate: gateUp, up: gateUp + intermediate, into: scratch.mlpHidden.pointer + token * intermediate,
                           count: intermediate)
        }
        compute.matmul(w.down, input: scratch.mlpHidden.pointer, tokens: tokens, output: scratch.projected.pointer,
                       outputStride: hiddenSize, quantized: &scratch.quantized)
        phi_add(states, scratch.projected.pointer, Int64(tokens * hiddenSize))
    }

    /// Rotates q and k of every token of the segment in place, then stores each KV head's k and v
    /// in its cache at the token's position, in the cache's format.
    private func storeKeysAndValues(layer: Int, segment: Segment, scratch: Scratch) {
        let headDim = config.headDim
        let qWidth = config.headCount * headDim
        let cache = segment.cache
        let kvWidth = cache.rowWidth
        let rowBytes = cache.rowBytes
        let format = cache.format.kernelFormat
        for (index, position) in segment.positions.enumerated() {
            let token = segment.rows + index
            let row = scratch.qkv.pointer + token * config.qkvRows
            let table = UnsafePointer(scratch.ropeTables.pointer + token * config.rotaryDims)
            rope.rotate(row, heads: config.headCount, headDim: headDim, table: table)
            rope.rotate(row + qWidth, heads: config.kvHeadCount, headDim: headDim, table: table)
            for kvHead in 0..<config.kvHeadCount {
                phi_kv_store_row(format, row + qWidth + kvHead * headDim, cache.keys(layer: layer, kvHead: kvHead) + position * rowBytes,
                                 Int64(headDim))
                phi_kv_store_row(format, row + qWidth + kvWidth + kvHead * headDim,
                                 cache.values(layer: layer, kvHead: kvHead) + position * rowBytes, Int64(headDim))
            }
        }
    }

    /// The logits of the rows `tokens` of `hidden` (the output of the last layer): final RMSNorm,
    /// then the output head. Returns [tokens.count × vocabulary].
    public func logits(from hidden: Activations, tokens: Range<Int>, scratch: inout Scratch) throws -> [Float] {
        try logits(from: hidden, rows: Array(tokens), scratch: &scratch)
    }

    /// The logits of the rows `rows` of `hidden`, in that order, through one pass of the head
    /// (a batch of sessions reads the head once). Returns [rows.count × vocabulary].
    public func logits(from hidden: Activations, rows: [Int], scratch: inout Scratch) throws -> [Float] {
        guard let head = weights.head, let norm = weights.finalNorm else { throw StageError.notLastStage(layers) }
        if let bad = rows.first(where: { $0 < 0 || $0 >= hidden.tokenCount }) {
            throw StageError.activationShape(tokens: hidden.tokenCount, width: hidden.width,
                                             expectedTokens: bad + 1, expectedWidth: config.hiddenSize)
        }
        let hiddenSize = config.hiddenSize
        let vocabulary = config.vocabularySize
        scratch.normed.reserve(rows.count * hiddenSize)
        hidden.values.withUnsafeBufferPointer { buffer in
            guard let states = buffer.baseAddress else { return }
            for (index, token) in rows.enumerated() {
                compute.rmsnorm(states + token * hiddenSize, weight: norm, into: scratch.normed.pointer + index * hiddenSize,
                                count: hiddenSize, epsilon: config.rmsNormEpsilon)
            }
        }
        var logits = [Float](repeating: 0, count: rows.count * vocabulary)
        logits.withUnsafeMutableBufferPointer { buffer in
            guard let output = buffer.baseAddress else { return }
            compute.matmul(head, input: scratch.normed.pointer, tokens: rows.count, output: output,
                           outputStride: vocabulary, quantized: &scratch.quantized)
        }
        return logits
    }

    /// The final RMSNorm alone, as transformers reports the last hidden state.
    public func finalNorm(_ hidden: Activations) throws -> Activations {
        guard let norm = weights.finalNorm else { throw StageError.notLastStage(layers) }
        var output = hidden
        hidden.values.withUnsafeBufferPointer { source in
            output.values.withUnsafeMutableBufferPointer { destination in
                guard let input = source.baseAddress, let result = destination.baseAddress else { return }
                for token in 0..<hidden.tokenCount {
                    compute.rmsnorm(input + token * hidden.width, weight: norm, into: result + token * hidden.width,
                                    count: hidden.width, epsilon: config.rmsNormEpsilon)
                }
            }
        }
        return output
    }
}

public enum StageError: Error, Equatable, CustomStringConvertible {
    case notFirstStage(Range<Int>)
    case notLastStage(Range<Int>)
    case tokenOutOfRange(token: Int, vocabularySize: Int)
    case activationShape(tokens: Int, width: Int, expectedTokens: Int, expectedWidth: Int)
    case cacheLayers(cache: Range<Int>, stage: Range<Int>)

    public var description: String {
        switch self {
        case let .notFirstStage(layers): "layers \(layers.lowerBound)..<\(layers.upperBound) do not start at layer 0, so they have no embedding"
        case let .notLastStage(layers): "layers \(layers.lowerBound)..<\(layers.upperBound) do not end at the last layer, so they have no output head"
        case let .tokenOutOfRange(token, vocabulary): "token id \(token) is outside the vocabulary of \(vocabulary)"
        case let .activationShape(tokens, width, expectedTokens, expectedWidth):
            "activations of \(tokens) × \(width), expected \(expectedTokens) × \(expectedWidth)"
        case let .cacheLayers(cache, stage):
            "a KV cache for layers \(cache.lowerBound)..<\(cache.upperBound) given to the stage of layers \(stage.lowerBound)..<\(stage.upperBound)"
        }
    }
}
