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
                                  formats: [WeightFormat] = [.bf16, .q8_0, .q4_0],
                                  contexts: [Int] = [4096, 16384, 32768, 65536, 131072]) -> String {
        var lines = ["weights  " + contexts.map { "\($0 / 1024)K".padding(toLength: 12, withPad: " ", startingAt: 0) }.joined(separator: " ")]
        for format in formats {
            let cells = contexts.map { context in
                cell(layerBytes(config: config, format: format) * config.layerCount + headBytes(config: config, format: format)
                     + kvBytes(config: config, format: kvFormat, layers: config.layerCount, tokens: context))
            }
            lines.append(format.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0) + " " + cells.joined(separator: " "))
        }
        return lines.joined(separator: "\n")
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
