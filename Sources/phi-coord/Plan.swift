import ArgumentParser
import Foundation
import PhiGeneration

struct Plan: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Prints the memory each node needs (weights, KV cache, scratch) and the model's memory table.")

    @Option(help: "Model directory (only its config is read).")
    var model: String

    @Option(help: "Context budget in tokens.")
    var context: Int = 4096

    @Option(help: "Weight format: f32, f16, bf16, q8_0, q4_0.")
    var quant: WeightFormat = .bf16

    @Option(help: "KV cache format: f32, f16, q8_0.")
    var kv: KVFormat = .f16

    @Option(help: "Nodes to split the layers over evenly.")
    var nodes: Int = 1

    @Option(help: "Memory budget of each node (e.g. 8GiB,8GiB,4GiB): proposes a split that fits.")
    var budgets: String?

    @Option(help: "Tokens per prefill chunk (sizes the scratch).")
    var chunk: Int = Generator.defaultChunkTokens

    @Option(help: "Output: text or json.")
    var format: OutputFormat = .text

    func run() async throws {
        let config = try ModelSource.openConfig(URL(fileURLWithPath: model))
        var split = MemoryPlan.evenSplit(layerCount: config.layerCount, nodes: nodes)
        var budgetBytes: [Int?]?
        if let budgets {
            let parsed = try budgets.split(separator: ",").map { text -> Int in
                guard let bytes = ByteCount.parse(String(text)) else { throw ValidationError("cannot read the budget '\(text)'") }
                return bytes
            }
            budgetBytes = parsed
            split = try MemoryPlan.proposeSplit(config: config, format: quant, kvFormat: kv, contextTokens: context,
                                                chunkTokens: chunk, budgets: parsed)
        }
        let plan = MemoryPlan(config: config, format: quant, kvFormat: kv, contextTokens: context, chunkTokens: chunk,
                              split: split, budgets: budgetBytes)
        switch format {
        case .json:
            var object = plan.jsonObject
            object["kv_bytes_per_token"] = MemoryPlan.kvBytes(config: config, format: kv, layers: config.layerCount, tokens: 1)
            try printJSON(object)
        case .text:
            print("\(plan.nodes.count) node(s), \(quant.rawValue) weights, \(kv.rawValue) KV, \(context) tokens of context")
            print(plan.nodeTable())
            print("\nwhole model on one node (weights + KV cache in \(kv.rawValue)):")
            print(MemoryPlan.modelTable(config: config, kvFormat: kv))
        }
    }
}

extension KVFormat: ExpressibleByArgument {}
