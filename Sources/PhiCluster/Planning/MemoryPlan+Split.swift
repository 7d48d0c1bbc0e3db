import Foundation
import PhiModel

extension MemoryPlan {
    /// A layer split for nodes with the memory `budgets` (in pipeline order) that fits each node,
    /// uneven where budgets differ: layers are shared in proportion to what each node can hold
    /// after its fixed costs (embedding on the first, head on the last, scratch and runtime on all).
    /// Throws `PlanError.doesNotFit` saying how much is missing when no split fits.
    public static func proposeSplit(config: ModelConfig, format: WeightFormat, kvFormat: KVFormat, contextTokens: Int,
                                    chunkTokens: Int, budgets: [Int], storedBytesPerWeight: Int = 2) throws -> [Range<Int>] {
        guard !budgets.isEmpty else { throw PlanError.noNodes }
        let layerCount = config.layerCount
        guard budgets.count <= layerCount else { throw PlanError.moreNodesThanLayers(nodes: budgets.count, layers: layerCount) }
        let perLayer = layerBytes(config: config, format: format)
            + kvBytes(config: config, format: kvFormat, layers: 1, tokens: contextTokens)
        let nodeCount = budgets.count
        let capacities: [Int] = budgets.enumerated().map { index, budget in
            let isLast = index == nodeCount - 1
            let fixed = runtimeBytes
                + Scratch.bytes(tokens: min(chunkTokens, contextTokens), config: config, isLastStage: isLast)
                + (isLast ? headBytes(config: config, format: format) : 0)
                + (index == 0 ? min(config.vocabularySize, contextTokens) * config.hiddenSize * storedBytesPerWeight : 0)
            return max(0, min(layerCount, (budget - fixed) / perLayer))
        }
        let capacity = capacities.reduce(0, +)
        guard capacity >= layerCount, capacities.allSatisfy({ $0 > 0 }) else {
            let shortLayers = max(0, layerCount - capacity)
            let emptyNodes = capacities.enumerated().filter { $0.element == 0 }.map { $0.offset + 1 }
            throw PlanError.doesNotFit(missingLayers: shortLayers, bytesPerLayer: perLayer, nodesHoldingNoLayer: emptyNodes)
        }
        // Share layers in proportion to capacity (largest remainder), never above a node's capacity.
        var counts = capacities.map { max(1, $0 * layerCount / capacity) }
        var assigned = counts.reduce(0, +)
        while assigned > layerCount, let index = counts.indices.filter({ counts[$0] > 1 }).max(by: { counts[$0] < counts[$1] }) {
            counts[index] -= 1
            assigned -= 1
        }
        while assigned < layerCount,
              let index = counts.indices.filter({ counts[$0] < capacities[$0] })
                  .max(by: { Double(capacities[$0]) / Double(counts[$0]) < Double(capacities[$1]) / Double(counts[$1]) }) {
            counts[index] += 1
            assigned += 1
        }
        var start = 0
        return counts.map { count in
            defer { start += count }
            return start..<(start + count)
        }
    }
}

public enum PlanError: Error, Equatable, CustomStringConvertible {
    case noNodes
    case moreNodesThanLayers(nodes: Int, layers: Int)
    case doesNotFit(missingLayers: Int, bytesPerLayer: Int, nodesHoldingNoLayer: [Int])

    public var description: String {
        switch self {
        case .noNodes: "no nodes to plan for"
        case let .moreNodesThanLayers(nodes, layers): "\(nodes) nodes for a model of \(layers) layers: each node needs at least one layer"
        case let .doesNotFit(missing, perLayer, empty):
            (missing > 0
                ? "the nodes' budgets hold \(missing) layers too few (each layer needs \(ByteCount.format(perLayer)) with its KV cache)"
                : "every node must hold at least one layer")
                + (empty.isEmpty ? "" : "; node(s) \(empty.map(String.init).joined(separator: ", ")) cannot hold even one layer after their fixed costs")
        }
    }
}

/// Byte counts as people read them.
public enum ByteCount {
    public static func format(_ bytes: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var unit = 0
        while abs(value) >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(bytes) B" : String(format: "%.2f %@", value, units[unit])
    }

    /// "8GiB", "512 MiB", "2G", "1000000": bytes, or nil.
    public static func parse(_ text: String) -> Int? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let digits = trimmed.prefix { $0.isNumber || $0 == "." }
        guard let number = Double(digits), number >= 0 else { return nil }
        let unit = trimmed.dropFirst(digits.count).trimmingCharacters(in: .whitespaces).lowercased()
        let multipliers: [String: Double] = [
            "": 1, "b": 1, "k": 1024, "kb": 1000, "kib": 1024, "m": Double(1 << 20), "mb": 1e6, "mib": Double(1 << 20),
            "g": Double(1 << 30), "gb": 1e9, "gib": Double(1 << 30), "t": Double(1 << 40), "tb": 1e12, "tib": Double(1 << 40),
        ]
        guard let multiplier = multipliers[unit] else { return nil }
        return Int(exactly: (number * multiplier).rounded(.down))
    }
}
