/// The weights of one decoder layer, in the fused Phi3 layout whatever the checkpoint's layout.
struct LayerWeights: Sendable {
    let attentionNorm: [Float]     // [hidden]
    let qkv: WeightMatrix          // [(heads + 2 kvHeads) × headDim, hidden] = q | k | v
    let attentionOutput: WeightMatrix  // [hidden, heads × headDim]
    let mlpNorm: [Float]           // [hidden]
    let gateUp: WeightMatrix       // [2 × intermediate, hidden] = gate | up
    let down: WeightMatrix         // [hidden, intermediate]
}

/// The weights a stage needs: its layers only, plus the embedding when it holds layer 0 and the
/// final norm and output head when it holds the last layer.
public struct StageWeights: Sendable {
    public let layers: Range<Int>
    let layerWeights: [LayerWeights]
    let embedding: TensorView?
    let finalNorm: [Float]?
    let head: WeightMatrix?

    subscript(layer: Int) -> LayerWeights { layerWeights[layer - layers.lowerBound] }

    /// Bytes of weights this stage holds in memory (mapped or converted).
    public var weightBytes: Int {
        let perLayer = layerWeights.reduce(0) { total, layer in
            total + layer.qkv.byteCount + layer.attentionOutput.byteCount + layer.gateUp.byteCount
                + layer.down.byteCount + 8 * layer.attentionNorm.count
        }
        return perLayer + (head?.byteCount ?? 0) + (finalNorm?.count ?? 0) * 4
    }

    /// Reads the tensors of `layers` from `source`, converting matrices to `format` (or keeping
    /// the stored format when nil). Only these tensors are touched.
    public static func load(from source: some TensorSource, layout: CheckpointLayout, config: ModelConfig,
                            layers: Range<Int>, format: WeightFormat?, compute: Compute) throws -> StageWeights {
        guard layers.lowerBound >= 0, layers.upperBound <= config.layerCount, !layers.isEmpty else {
            throw CheckpointError.layersOutOfRange(requested: layers, layerCount: config.layerCount)
        }
        let hidden = config.hiddenSize
        var layerWeights: [LayerWeights] = []
        for layer in layers {
            let qkv = try matrix(TensorNames.qkv(layout, layer: layer, config: config), source: source,
                                 shape: [config.qkvRows, hidden], format: format, compute: compute)
            let output = try matrix([TensorPart(TensorNames.attentionOutput(layout, layer: layer))], source: source,
                                    shape: [hidden, config.headCount * config.headDim], format: format, compute: compute)
            let gateUp = try matrix(TensorNames.gateUp(layout, layer: layer), source: source,
                                    shape: [2 * config.intermediateSize, hidden], format: format, compute: compute)
            let down = try matrix([TensorPart(TensorNames.down(layout, layer: layer))], source: source,
                                  shape: [hidden, config.intermediateSize], format: format, compute: compute)
            layerWeights.append(LayerWeights(
                attentionNorm: try vector(TensorNames.attentionNorm(layout, layer: layer), source: source, count: hidden),
                qkv: qkv, attentionOutput: output,
                mlpNorm: try vector(TensorNames.mlpNorm(layout, layer: layer), source: source, count: hidden),
                gateUp: gateUp, down: down))
        }
        var embedding: TensorView?
        if layers.lowerBound == 0 {
            let view = try source.tensor(TensorNames.embedding(layout))
            try view.requireShape([config.vocabularySize, hidden])
            embedding = view
        }
        var finalNorm: [Float]?
        var head: WeightMatrix?
        if layers.upperBound == config.layerCount {
            finalNorm = try vector(TensorNames.finalNorm(layout), source: source, count: hidden)
            let headName = config.tieWordEmbeddings || !source.contains(TensorNames.head(layout))
                ? TensorNames.embedding(layout) : TensorNames.head(layout)
            head = try matrix([TensorPart(headName)], source: source, shape: [config.vocabularySize, hidden], format: format, compute: compute)
        }
        return StageWeights(layers: layers, layerWeights: layerWeights, embedding: embedding,
                            finalNorm: finalNorm, head: head)
    }

    private static func matrix(_ parts: [TensorPart], source: some TensorSource, shape: [Int],
                               format: WeightFormat?, compute: Compute) throws -> WeightMatrix {
        let views = try parts.map { (view: try source.tensor($0.name), unpermuteHeads: $0.unpermuteHeads) }
        let rows = views.reduce(0) { $0 + $1.view.rows }
        guard rows == shape[0], views.allSatisfy({ $0.view.shape.count == 2 && $0.view.columns == shape[1] }) else {
            let found = views.count == 1 ? views[0].view.shape : [rows, views.first?.view.columns ?? 0]
            throw CheckpointError.shapeMismatch(tensor: parts.map(\.name).joined(separator: " + "), expected: shape, found: found)
        }
        return try WeightMatrix.load(views, columns: shape[1], format: format, compute: compute)
    }

    private static func vector(_ name: String, source: some TensorSource, count: Int) throws -> [Float] {
        let view = try source.tensor(name)
        guard view.elementCount == count, view.shape.count == 1 || view.rows == 1 else {
            throw CheckpointError.shapeMismatch(tensor: name, expected: [count], found: view.shape)
        }
        var values = [Float](repeating: 0, count: count)
        try values.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            try view.row(0, into: base)
        }
        return values
    }
}
