import CPhiKernels
import Foundation

/// Writes a checkpoint of random bf16 weights with exactly the tensor names, shapes, dtype and
/// shard map of a model directory (its `config.json` and `model.safetensors.index.json`, or its
/// single `model.safetensors`), one row at a time so memory stays small whatever the model size.
///
/// Matrices are uniform with the standard deviation of the config's `initializer_range`
/// (0.02 by default, as transformers initialises), norms are 1: activations stay finite through
/// every layer, and logits are spread enough for greedy decoding to be stable.
public enum SyntheticCheckpoint {
    public static func write(like source: URL, to destination: URL, seed: UInt64,
                             progress: ((_ file: String, _ bytes: Int) -> Void)? = nil) throws {
        let config = try ModelConfig.load(directory: source)
        let shardMap = try shardAssignments(source)
        try FileManager.default.createDirectory(at: destination, withIntermediateDirectories: true)
        for name in ["config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json"] {
            let from = source.appendingPathComponent(name)
            let to = destination.appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: from.path) {
                try? FileManager.default.removeItem(at: to)
                try FileManager.default.copyItem(at: from, to: to)
            }
        }
        let standardDeviation = Float(initializerRange(source) ?? 0.02)
        var random = SyntheticWeights(seed: seed, standardDeviation: standardDeviation)
        var totalBytes = 0
        for (file, names) in shardMap.files {
            let entries = try names.map { SafetensorsWriter.Entry(name: $0, dtype: "BF16", shape: try shape(of: $0, config: config)) }
            let writer = try SafetensorsWriter(path: destination.appendingPathComponent(file).path, entries: entries)
            for entry in entries {
                let columns = entry.shape.last ?? 1
                let rows = entry.shape.count >= 2 ? entry.shape[0] : 1
                let isNorm = entry.shape.count == 1
                var row = [UInt16](repeating: 0, count: columns)
                for _ in 0..<rows {
                    random.fill(&row, ones: isNorm)
                    try row.withUnsafeBytes { try writer.write($0) }
                }
                totalBytes += entry.byteCount
                progress?(file, totalBytes)
            }
            try writer.finish()
        }
        if shardMap.isSharded {
            let index: [String: Any] = ["metadata": ["total_size": totalBytes], "weight_map": shardMap.weightMap]
            let data = try JSONSerialization.data(withJSONObject: index, options: [.prettyPrinted, .sortedKeys])
            try data.write(to: destination.appendingPathComponent("model.safetensors.index.json"))
        }
    }

    /// The shape a Phi3 checkpoint gives tensor `name`; unknown names are an error.
    public static func shape(of name: String, config: ModelConfig) throws -> [Int] {
        let hidden = config.hiddenSize
        let layout = CheckpointLayout.huggingFacePhi3
        if name == TensorNames.embedding(layout) || name == TensorNames.head(layout) { return [config.vocabularySize, hidden] }
        if name == TensorNames.finalNorm(layout) { return [hidden] }
        for layer in config.allLayers {
            switch name {
            case TensorNames.attentionNorm(layout, layer: layer), TensorNames.mlpNorm(layout, layer: layer): return [hidden]
            case TensorNames.qkv(layout, layer: layer, config: config)[0].name: return [config.qkvRows, hidden]
            case TensorNames.attentionOutput(layout, layer: layer): return [hidden, config.headCount * config.headDim]
            case TensorNames.gateUp(layout, layer: layer)[0].name: return [2 * config.intermediateSize, hidden]
            case TensorNames.down(layout, layer: layer): return [hidden, config.intermediateSize]
            default: continue
            }
        }
        throw CheckpointError.missingTensor(name: name, searched: "the Phi3 tensor names this synthesiser knows")
    }

    struct ShardMap {
        var files: [(String, [String])]
        var weightMap: [String: String]
        var isSharded: Bool
    }

    /// Shards and their tensors (sorted by name, as the index lists them) from the index, or the
    /// single file's header.
    static func shardAssignments(_ source: URL) throws -> ShardMap {
        let indexURL = source.appendingPathComponent("model.safetensors.index.json")
        if FileManager.default.fileExists(atPath: indexURL.path) {
            guard let object = try JSONSerialization.jsonObject(with: Data(contentsOf: indexURL)) as? [String: Any],
                  let map = object["weight_map"] as? [String: String]
            else { throw CheckpointError.badIndex(file: indexURL.lastPathComponent, reason: "has no 'weight_map'") }
            let files = Dictionary(grouping: map.keys, by: { map[$0] ?? "" })
                .map { ($0.key, $0.value.sorted()) }.sorted { $0.0 < $1.0 }
            return ShardMap(files: files, weightMap: map, isSharded: true)
        }
        let single = try SafetensorsFile(path: source.appendingPathComponent("model.safetensors").path)
        return ShardMap(files: [("model.safetensors", single.tensorNames)], weightMap: [:], isSharded: false)
    }

    static func initializerRange(_ source: URL) -> Double? {
        guard let data = try? Data(contentsOf: source.appendingPathComponent("config.json")),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
        return (object["initializer_range"] as? NSNumber)?.doubleValue
    }
}

/// Uniform bf16 values with a given standard deviation from a seeded SplitMix64.
struct SyntheticWeights {
    private var state: UInt64
    private let halfWidth: Float

    init(seed: UInt64, standardDeviation: Float) {
        state = seed
        halfWidth = standardDeviation * Float(3).squareRoot()  // uniform on [-a, a] has σ = a / √3
    }

    mutating func fill(_ row: inout [UInt16], ones: Bool) {
        if ones {
            for index in row.indices { row[index] = phi_f32_to_bf16(1) }
            return
        }
        for index in row.indices {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            let unit = Float(z >> 40) * (1.0 / 16_777_216.0)  // [0, 1)
            row[index] = phi_f32_to_bf16((unit * 2 - 1) * halfWidth)
        }
    }
}
