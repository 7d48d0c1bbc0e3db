import PhiModel

/// What each node of a pipeline needs in memory for a job: its weights, the KV cache of its
/// layers at the job's context, and scratch for a prefill chunk. The numbers come from the same
/// formulas the engine allocates with (`WeightFormat.rowBytes`, `KVCache.bytes`, `Scratch.bytes`).
public struct MemoryPlan: Sendable, Equatable {
    public struct Node: Sendable, Equatable {
        public let name: String
        public let layers: Range<Int>
        /// Layer matrices and norms, plus the output head on the last node.
        public let weightBytes: Int
        /// Embedding rows the first node reads from the mapped checkpoint (one per distinct token at most).
        public let embeddingBytes: Int
        public let kvBytes: Int
        public let scratchBytes: Int
        /// Memory the node may use, when known (from a manifest or the worker's report).
        public let budgetBytes: Int?

        public var totalBytes: Int { weightBytes + embeddingBytes + kvBytes + scratchBytes + MemoryPlan.runtimeBytes }
        public var fits: Bool { budgetBytes.map { totalBytes <= $0 } ?? true }
    }

    public let format: WeightFormat
    public let kvFormat: KVFormat
    public let contextTokens: Int
    public let chunkTokens: Int
    public let nodes: [Node]

    /// The process itself: Swift runtime, code, thread stacks, allocator slack (measured peak RSS
    /// of an idle phi-worker is ~30 MiB; twice that leaves room).
    public static let runtimeBytes = 64 << 20

    public var fits: Bool { nodes.allSatisfy(\.fits) }
    public var totalBytes: Int { nodes.reduce(0) { $0 + $1.totalBytes } }

    public init(config: ModelConfig, format: WeightFormat, kvFormat: KVFormat, contextTokens: Int, chunkTokens: Int,
                split: [Range<Int>], names: [String]? = nil, budgets: [Int?]? = nil, storedBytesPerWeight: Int = 2) {
        self.format = format
        self.kvFormat = kvFormat
        self.contextTokens = contextTokens
        self.chunkTokens = chunkTokens
        nodes = split.enumerated().map { index, layers in
            let isFirst = layers.lowerBound == 0
            let isLast = layers.upperBound == config.layerCount
            let chunk = min(chunkTokens, contextTokens)
            return Node(
                name: names?[index] ?? "node \(index + 1)", layers: layers,
                weightBytes: Self.layerBytes(config: config, format: format) * layers.count
                    + (isLast ? Self.headBytes(config: config, format: format) : 0),
                embeddingBytes: isFirst ? min(config.vocabularySize, contextTokens) * config.hiddenSize * storedBytesPerWeight : 0,
                kvBytes: Self.kvBytes(config: config, format: kvFormat, layers: layers.count, tokens: contextTokens),
                scratchBytes: Scratch.bytes(tokens: chunk, config: config, isLastStage: isLast),
                budgetBytes: budgets?[index] ?? nil)
        }
    }

    /// Bytes of one decoder layer's weights in `format`: the four matrices and two norms (f32).
    public static func layerBytes(config: ModelConfig, format: WeightFormat) -> Int {
        let hidden = config.hiddenSize
        return config.qkvRows * format.rowBytes(columns: hidden)
            + hidden * format.rowBytes(columns: config.headCount * config.headDim)
            + 2 * config.intermediateSize * format.rowBytes(columns: hidden)
            + hidden * format.rowBytes(columns: config.intermediateSize)
            + 2 * hidden * MemoryLayout<Float>.size
    }

    /// The output head ([vocabulary × hidden] in `format`) and the final norm.
    public static func headBytes(config: ModelConfig, format: WeightFormat) -> Int {
        config.vocabularySize * format.rowBytes(columns: config.hiddenSize) + config.hiddenSize * MemoryLayout<Float>.size
    }

    /// K and V of `layers` layers for `tokens` positions: what `KVCache` reserves.
    public static func kvBytes(config: ModelConfig, format: KVFormat, layers: Int, tokens: Int) -> Int {
        KVCache.bytes(config: config, format: format, layerCount: layers, tokens: tokens)
    }

    /// `layerCount` layers over `nodes` nodes, as evenly as possible (earlier nodes take the remainder).
    public static func evenSplit(layerCount: Int, nodes: Int) -> [Range<Int>] {
        let count = max(1, min(nodes, layerCount))
        var ranges: [Range<Int>] = []
        var start = 0
        for index in 0..<count {
            let size = layerCount / count + (index < layerCount % count ? 1 : 0)
            ranges.append(start..<(start + size))
            start += size
        }
        return ranges
    }
}
