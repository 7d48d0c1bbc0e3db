import Foundation
import PhiModel

extension MemoryPlan {
    /// The per-node table, one line a node.
    public func nodeTable() -> String {
        var lines = ["node           layers   weights      embedding    KV cache     scratch      total        budget"]
        for node in nodes {
            let budget = node.budgetBytes.map { ByteCount.format($0) + (node.fits ? "" : "  DOES NOT FIT") } ?? "-"
            lines.append([node.name.padding(toLength: 14, withPad: " ", startingAt: 0),
                          LayerRangeText.format(node.layers).padding(toLength: 8, withPad: " ", startingAt: 0),
                          Self.cell(node.weightBytes), Self.cell(node.embeddingBytes), Self.cell(node.kvBytes),
                          Self.cell(node.scratchBytes), Self.cell(node.totalBytes), budget].joined(separator: " "))
        }
        return lines.joined(separator: "\n")
    }

    /// Whole-model memory (weights, head and KV, one node) over weight formats × contexts, as model
    /// cards tabulate it.
    public static func modelTable(config: ModelConfig, kvFormat: KVFormat,
                                  formats: [WeightFormat] = tableFormats, contexts: [Int] = tableContexts) -> String {
        var lines = ["weights  " + contexts.map { ($0 % 1024 == 0 ? "\($0 / 1024)K" : "\($0)").padding(toLength: 12, withPad: " ", startingAt: 0) }.joined(separator: " ")]
        for format in formats {
            let cells = contexts.map { cell(wholeModelBytes(config: config, format: format, kvFormat: kvFormat, contextTokens: $0)) }
            lines.append(format.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0) + " " + cells.joined(separator: " "))
        }
        return lines.joined(separator: "\n")
    }

    /// The model table as JSON-ready rows: one per weight format, bytes per context.
    public static func modelTableJSON(config: ModelConfig, kvFormat: KVFormat, formats: [WeightFormat] = tableFormats,
                                      contexts: [Int] = tableContexts) -> [[String: Any]] {
        formats.flatMap { format in
            contexts.map { context -> [String: Any] in
                ["format": format.rawValue, "kv_format": kvFormat.rawValue, "context": context,
                 "bytes": wholeModelBytes(config: config, format: format, kvFormat: kvFormat, contextTokens: context)]
            }
        }
    }

    /// The weight formats and contexts of the model table, as model cards show them.
    public static let tableFormats: [WeightFormat] = [.bf16, .q8_0, .q4_0]
    public static let tableContexts = [4096, 16384, 32768, 65536, 131072]

    /// The table's contexts the model reaches, and its longest context when that is not one of them.
    public static func tableContexts(for config: ModelConfig) -> [Int] {
        let longest = config.maxPositionEmbeddings
        let reached = tableContexts.filter { $0 <= longest }
        return reached.contains(longest) ? reached : reached + [longest]
    }

    /// Weights of every layer and the head, and the KV cache of `contextTokens` across all layers.
    static func wholeModelBytes(config: ModelConfig, format: WeightFormat, kvFormat: KVFormat, contextTokens: Int) -> Int {
        layerBytes(config: config, format: format) * config.layerCount + headBytes(config: config, format: format)
            + kvBytes(config: config, format: kvFormat, layers: config.layerCount, tokens: contextTokens)
    }

    private static func cell(_ bytes: Int) -> String {
        ByteCount.format(bytes).padding(toLength: 12, withPad: " ", startingAt: 0)
    }

    /// The plan as JSON-ready values.
    public var jsonObject: [String: Any] {
        [
            "format": format.rawValue, "kv_format": kvFormat.rawValue, "context": contextTokens, "chunk": chunkTokens,
            "fits": fits, "total_bytes": totalBytes,
            "nodes": nodes.map { node -> [String: Any] in
                var object: [String: Any] = [
                    "name": node.name, "layers": LayerRangeText.format(node.layers), "weight_bytes": node.weightBytes,
                    "embedding_bytes": node.embeddingBytes, "kv_bytes": node.kvBytes, "scratch_bytes": node.scratchBytes,
                    "runtime_bytes": MemoryPlan.runtimeBytes, "total_bytes": node.totalBytes, "fits": node.fits,
                ]
                if let budget = node.budgetBytes { object["budget_bytes"] = budget }
                return object
            },
        ]
    }
}
