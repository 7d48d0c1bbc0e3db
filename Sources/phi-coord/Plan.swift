import ArgumentParser
import Foundation
import PhiGeneration

struct Plan: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Prints the memory each node needs (weights, KV cache, scratch) and the model's memory table.",
        discussion: "With --manifest, the nodes are its workers: their layers (or a split by their memory budgets), "
            + "and its model, quant, kv, context and chunk unless flags say otherwise. Exits 1 when a node does not fit.")

    @Option(help: "Model directory (only its config is read). Optional with --manifest.")
    var model: String?

    @Option(help: "Cluster manifest (TOML): plan for its workers.")
    var manifest: String?

    @Option(help: "Context budget in tokens (default: the manifest's, else 4096).")
    var context: Int?

    @Option(help: "Weight format: f32, f16, bf16, q8_0, q4_0 (default: the manifest's, else as the workers load it: as stored, bf16 for a config alone).")
    var quant: WeightFormat?

    @Option(help: "KV cache format: f32, f16, q8_0 (default: the manifest's, else f32 with --manifest as the coordinator runs it, f16 with --model as model cards count).")
    var kv: KVFormat?

    @Option(help: "Nodes to split the layers over evenly.")
    var nodes: Int = 1

    @Option(help: "Memory budget of each node (e.g. 8GiB,8GiB,4GiB): proposes a split that fits.")
    var budgets: String?

    @Option(help: "Tokens per prefill chunk, which sizes the scratch (default: the manifest's, else 512).")
    var chunk: Int?

    @Option(help: "Output: text or json.")
    var format: OutputFormat = .text

    func validate() throws {
        if model == nil && manifest == nil { throw ValidationError("give --model DIR or --manifest FILE") }
        if manifest != nil && budgets != nil { throw ValidationError("--budgets comes from the manifest's workers with --manifest") }
        if nodes < 1 { throw ValidationError("--nodes must be at least 1, not \(nodes)") }
        if let context, context < 1 { throw ValidationError("--context must be at least 1, not \(context)") }
        if let chunk, chunk < 1 { throw ValidationError("--chunk must be at least 1, not \(chunk)") }
    }

    func run() async throws {
        let manifest = try self.manifest.map { try Manifest.load(URL(fileURLWithPath: $0)) }
        let modelURL = model.map { URL(fileURLWithPath: $0) } ?? manifest?.modelPath
        guard let modelURL else { throw ValidationError("give --model DIR or --manifest FILE") }
        let config = try ModelSource.openConfig(modelURL)
        guard nodes <= config.layerCount else {
            throw ValidationError("--nodes \(nodes) for a model of \(config.layerCount) layers: each node needs at least one layer")
        }
        let quant = try self.quant ?? manifest?.quant ?? Self.loadedFormat(modelURL) ?? .bf16
        let kv = self.kv ?? manifest.map { $0.kvFormat ?? .f32 } ?? .f16
        let context = self.context ?? manifest?.contextTokens ?? 4096
        let chunk = self.chunk ?? manifest?.chunkTokens ?? Generator.defaultChunkTokens
        var split = MemoryPlan.evenSplit(layerCount: config.layerCount, nodes: nodes)
        var names: [String]?
        var budgetBytes: [Int?]?
        var proposal: String?
        if let manifest {
            names = manifest.workers.map(\.name)
            budgetBytes = manifest.workers.map(\.memoryBytes)
            split = try manifest.split(config: config, format: quant, kvFormat: kv, contextTokens: context, chunkTokens: chunk)
            proposal = Self.proposal(config: config, quant: quant, kv: kv, context: context, chunk: chunk, split: split,
                                     names: manifest.workers.map(\.name), budgets: manifest.workers.map(\.memoryBytes))
        } else if let budgets {
            let parsed = try budgets.split(separator: ",").map { text -> Int in
                guard let bytes = ByteCount.parse(String(text)) else { throw ValidationError("cannot read the budget '\(text)'") }
                return bytes
            }
            budgetBytes = parsed
            split = try MemoryPlan.proposeSplit(config: config, format: quant, kvFormat: kv, contextTokens: context,
                                                chunkTokens: chunk, budgets: parsed)
        }
        let plan = MemoryPlan(config: config, format: quant, kvFormat: kv, contextTokens: context, chunkTokens: chunk,
                              split: split, names: names, budgets: budgetBytes)
        switch format {
        case .json:
            var object = plan.jsonObject
            object["kv_bytes_per_token"] = MemoryPlan.kvBytes(config: config, format: kv, layers: config.layerCount, tokens: 1)
            object["model_table"] = MemoryPlan.modelTableJSON(config: config, kvFormat: kv, contexts: MemoryPlan.tableContexts(for: config))
            if let proposal { object["proposal"] = proposal }
            try printJSON(object)
        case .text:
            print("\(plan.nodes.count) node(s), \(quant.rawValue) weights, \(kv.rawValue) KV, \(context) tokens of context")
            print(plan.nodeTable())
            if let proposal { print("\n\(proposal)") }
            print("\nwhole model on one node (weights + KV cache in \(kv.rawValue)):")
            print(MemoryPlan.modelTable(config: config, kvFormat: kv, contexts: MemoryPlan.tableContexts(for: config)))
        }
        if !plan.fits { throw ExitCode(1) }
    }

    /// The format the model's matrices load in when no --quant is given; nil for a directory
    /// holding only a config (a plan before the weights are downloaded).
    static func loadedFormat(_ url: URL) throws -> WeightFormat? {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue,
           !((try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []).contains(where: { $0.hasSuffix(".safetensors") }) {
            return nil
        }
        return try ModelSource.open(url).loadedWeightFormat
    }

    /// When the manifest's split does not fit its budgets: the split that would, or why none does.
    static func proposal(config: ModelConfig, quant: WeightFormat, kv: KVFormat, context: Int, chunk: Int,
                         split: [Range<Int>], names: [String], budgets: [Int?]) -> String? {
        let plan = MemoryPlan(config: config, format: quant, kvFormat: kv, contextTokens: context, chunkTokens: chunk,
                              split: split, names: names, budgets: budgets)
        guard !plan.fits else { return nil }
        guard budgets.allSatisfy({ $0 != nil }) else { return "some workers have no memory budget to plan a split with" }
        do {
            let proposed = try MemoryPlan.proposeSplit(config: config, format: quant, kvFormat: kv, contextTokens: context,
                                                       chunkTokens: chunk, budgets: budgets.compactMap { $0 })
            return "a split that fits: " + zip(names, proposed).map { "\($0) \(LayerRangeText.format($1))" }.joined(separator: ", ")
        } catch {
            return "no split fits: \(error)"
        }
    }
}

extension KVFormat: ExpressibleByArgument {}
