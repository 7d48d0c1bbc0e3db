import Foundation
import PhiModel

extension Manifest {
    /// Names and addresses must be unique across workers and spares.
    func checkUnique() throws {
        var names = Set<String>()
        var addresses = Set<String>()
        for node in workers + spares {
            if !names.insert(node.name).inserted { throw ManifestError.duplicate(file: file.path, key: "name", value: node.name) }
            if !addresses.insert(node.address).inserted {
                throw ManifestError.duplicate(file: file.path, key: "address", value: node.address)
            }
        }
        for (index, tool) in tools.enumerated() where tools[..<index].contains(where: { $0.name == tool.name }) {
            throw ManifestError.duplicate(file: file.path, key: "tool name", value: tool.name)
        }
    }

    /// The workers' layers, in order, must cover `0..<layerCount` once (with a nil count: no gaps or
    /// overlaps, starting at 0). Errors name the workers involved.
    public func checkLayerOrder(layerCount: Int?) throws {
        var next = 0
        for (index, worker) in workers.enumerated() {
            guard let layers = worker.layers else {
                throw ManifestError.layers(file: file.path, reason: "worker '\(worker.name)' gives no layers while others do")
            }
            if layers.lowerBound > next {
                throw ManifestError.layers(file: file.path, reason: "no worker holds layers \(LayerRangeText.format(next..<layers.lowerBound)) "
                    + (index == 0 ? "(the first worker must start at layer 0)" : "(between '\(workers[index - 1].name)' and '\(worker.name)')"))
            }
            if layers.lowerBound < next {
                throw ManifestError.layers(file: file.path, reason: "workers '\(workers[index - 1].name)' and '\(worker.name)' both hold layers "
                    + LayerRangeText.format(layers.lowerBound..<min(next, layers.upperBound)))
            }
            if let layerCount, layers.upperBound > layerCount {
                throw ManifestError.layers(file: file.path, reason: "worker '\(worker.name)' holds layers \(LayerRangeText.format(layers)), "
                    + "past the model's \(layerCount) layers (0-\(layerCount - 1))")
            }
            next = layers.upperBound
        }
        if let layerCount, next < layerCount {
            throw ManifestError.layers(file: file.path, reason: "no worker holds layers \(LayerRangeText.format(next..<layerCount)) "
                + "(after '\(workers[workers.count - 1].name)')")
        }
    }

    /// The split the workers run: their own layers when given, else a plan from their memory
    /// budgets, else an even split.
    public func split(config: ModelConfig, format: WeightFormat, kvFormat: KVFormat, contextTokens: Int,
                      chunkTokens: Int) throws -> [Range<Int>] {
        guard workers.count <= config.layerCount else {
            throw ManifestError.layers(file: file.path, reason: "\(workers.count) workers for a model of \(config.layerCount) layers: "
                + "each worker needs at least one layer")
        }
        if workers.allSatisfy({ $0.layers != nil }) {
            try checkLayerOrder(layerCount: config.layerCount)
            return workers.compactMap(\.layers)
        }
        if workers.contains(where: { $0.layers != nil }) { try checkLayerOrder(layerCount: config.layerCount) }
        let budgets = workers.compactMap(\.memoryBytes)
        if budgets.count == workers.count {
            return try MemoryPlan.proposeSplit(config: config, format: format, kvFormat: kvFormat, contextTokens: contextTokens,
                                               chunkTokens: chunkTokens, budgets: budgets)
        }
        return MemoryPlan.evenSplit(layerCount: config.layerCount, nodes: workers.count)
    }
}

extension Manifest {
    /// When every worker gives its layers, they must cover the model's; otherwise the workers'
    /// Hellos decide (and the coordinator checks them then).
    public func checkLayerOrderIfGiven(layerCount: Int) throws {
        if workers.contains(where: { $0.layers != nil }) { try checkLayerOrder(layerCount: layerCount) }
    }
}
