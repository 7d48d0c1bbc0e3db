import Foundation
import PhiModel

/// The tiny-phi4 fixture loaded whole, in one process.
public enum TinyModel {
    public static func source(sharded: Bool = false) throws -> ModelSource {
        try ModelSource.open(sharded ? Fixtures.tinyModelSharded : Fixtures.tinyModel)
    }

    /// A stage of `layers` (all by default) with the stored bf16 weights.
    public static func stage(_ layers: Range<Int>? = nil, format: WeightFormat? = nil, threads: Int = 2) throws -> Stage {
        let source = try source()
        return try source.loadStage(layers: layers ?? source.config.allLayers, format: format,
                                    compute: try Compute(threads: threads))
    }

    /// Runs `ids` through `stage` (which must hold every layer) in one pass and returns the logits
    /// of every position, [ids.count × vocabulary].
    public static func allLogits(_ stage: Stage, ids: [Int]) throws -> [Float] {
        let factors = RopeFactorSet.forPass(endingAt: ids.count - 1, config: stage.config)
        var hidden = try stage.embed(tokens: ids)
        var cache = try KVCache(config: stage.config, layers: stage.layers, capacity: ids.count)
        var scratch = Scratch()
        try stage.run(&hidden, positions: 0..<ids.count, ropeFactors: factors, cache: &cache, scratch: &scratch)
        return try stage.logits(from: hidden, tokens: 0..<ids.count, scratch: &scratch)
    }
}
