import Foundation
import PhiCluster
import PhiTestSupport
import Testing

@Suite("the memory planner")
struct MemoryPlanTests {
    let phi4: ModelConfig

    init() throws { phi4 = try ModelConfig.load(directory: Fixtures.phi4MiniConfig) }

    @Test("Phi-4-mini's KV cache is 128 KiB per token in f16 across all layers")
    func kvPerToken() {
        // 2 (K and V) × 8 KV heads × 128 dims × 32 layers × 2 bytes = 131,072 bytes.
        #expect(MemoryPlan.kvBytes(config: phi4, format: .f16, layers: 32, tokens: 1) == 128 * 1024)
        #expect(MemoryPlan.kvBytes(config: phi4, format: .f16, layers: 32, tokens: 131_072) == 16 << 30)
        #expect(MemoryPlan.kvBytes(config: phi4, format: .q8_0, layers: 32, tokens: 1) == 32 * 2 * 1024 / 32 * 34)
    }

    @Test("bf16 weights of the whole model equal the checkpoint's total size")
    func weights() throws {
        // model.safetensors.index.json: total_size 7,672,043,520 bytes of bf16, the embedding tied.
        let matrices = MemoryPlan.layerBytes(config: phi4, format: .bf16) * 32 + MemoryPlan.headBytes(config: phi4, format: .bf16)
        let norms = (2 * 32 + 1) * 3072 * 4
        #expect(matrices - norms == 7_672_043_520 - (2 * 32 + 1) * 3072 * 2)
        // q4_0 stores 32 weights in 18 bytes.
        #expect(MemoryPlan.layerBytes(config: phi4, format: .q4_0) - 2 * 3072 * 4
                == (MemoryPlan.layerBytes(config: phi4, format: .bf16) - 2 * 3072 * 4) / 64 * 18)
    }

    @Test("a node's total is its weights, embedding rows, KV, scratch and runtime")
    func nodeTotals() {
        let plan = MemoryPlan(config: phi4, format: .q4_0, kvFormat: .f16, contextTokens: 32768, chunkTokens: 512,
                              split: [0..<16, 16..<32])
        let first = plan.nodes[0]
        #expect(first.kvBytes == 16 * 32768 * 2 * 8 * 128 * 2)
        #expect(first.weightBytes == 16 * MemoryPlan.layerBytes(config: phi4, format: .q4_0))
        #expect(plan.nodes[1].weightBytes == 16 * MemoryPlan.layerBytes(config: phi4, format: .q4_0)
                + MemoryPlan.headBytes(config: phi4, format: .q4_0))
        #expect(first.totalBytes == first.weightBytes + first.embeddingBytes + first.kvBytes + first.scratchBytes + MemoryPlan.runtimeBytes)
    }

    @Test("budgets give an uneven split that fits each node")
    func proposedSplit() throws {
        let budgets = [8 << 30, 4 << 30, 4 << 30]
        let split = try MemoryPlan.proposeSplit(config: phi4, format: .q4_0, kvFormat: .f16, contextTokens: 32768,
                                                chunkTokens: 512, budgets: budgets)
        try LayerCoverage.check(split, layerCount: 32)
        #expect(split[0].count > split[1].count)
        let plan = MemoryPlan(config: phi4, format: .q4_0, kvFormat: .f16, contextTokens: 32768, chunkTokens: 512,
                              split: split, budgets: budgets)
        #expect(plan.fits)
    }

    @Test("a job that cannot fit is refused, saying how many layers are missing")
    func refusal() throws {
        // 128K tokens of f16 KV alone is 16 GiB: three 4 GiB boards cannot hold it.
        let error = try #require(throws: PlanError.self) {
            try MemoryPlan.proposeSplit(config: phi4, format: .q4_0, kvFormat: .f16, contextTokens: 131_072,
                                        chunkTokens: 512, budgets: [4 << 30, 4 << 30, 4 << 30])
        }
        guard case let .doesNotFit(missing, _, _) = error else {
            Issue.record("expected doesNotFit, got \(error)")
            return
        }
        #expect(missing > 0)
        #expect(error.description.contains("layers too few"))
    }

    @Test("the even split covers the layers exactly once", arguments: [1, 2, 3, 4, 5, 32])
    func evenSplit(_ nodes: Int) throws {
        let split = MemoryPlan.evenSplit(layerCount: 32, nodes: nodes)
        #expect(split.count == nodes)
        try LayerCoverage.check(split, layerCount: 32)
    }

    @Test("byte counts parse as people write them")
    func byteCounts() {
        #expect(ByteCount.parse("8GiB") == 8 << 30)
        #expect(ByteCount.parse("512 MiB") == 512 << 20)
        #expect(ByteCount.parse("2G") == 2 << 30)
        #expect(ByteCount.parse("1.5GB") == 1_500_000_000)
        #expect(ByteCount.parse("lots") == nil)
        #expect(ByteCount.parse("99999999999T") == nil, "beyond Int: no count rather than a trap")
    }

    @Test("more nodes than layers is refused by the split proposal, and by a manifest without layers")
    func moreNodesThanLayers() throws {
        let error = try #require(throws: PlanError.self) {
            try MemoryPlan.proposeSplit(config: phi4, format: .q4_0, kvFormat: .f16, contextTokens: 4096, chunkTokens: 512,
                                        budgets: Array(repeating: 8 << 30, count: 33))
        }
        #expect(error == .moreNodesThanLayers(nodes: 33, layers: 32))
        let workers = (0..<33).map { "[[workers]]\nname = \"w\($0)\"\naddress = \"tcp://10.0.0.\($0 + 1):5600\"" }
        let manifest = try Manifest.parse("model = \"m\"\n" + workers.joined(separator: "\n"), file: URL(fileURLWithPath: "/tmp/m.toml"))
        let refusal = try #require(throws: ManifestError.self) {
            try manifest.split(config: phi4, format: .q4_0, kvFormat: .f16, contextTokens: 4096, chunkTokens: 512)
        }
        #expect(refusal.description.contains("33 workers for a model of 32 layers"), "\(refusal)")
    }

    @Test("the model table spans the contexts the model reaches, and its longest")
    func tableContexts() {
        #expect(MemoryPlan.tableContexts(for: phi4) == [4096, 16384, 32768, 65536, 131072])
        var short = phi4
        short.maxPositionEmbeddings = 8192
        #expect(MemoryPlan.tableContexts(for: short) == [4096, 8192])
        let rows = MemoryPlan.modelTableJSON(config: phi4, kvFormat: .f16)
        #expect(rows.count == 15)
        let q4At128K = rows.first { $0["format"] as? String == "q4_0" && $0["context"] as? Int == 131072 }
        #expect(q4At128K?["bytes"] as? Int == MemoryPlan.layerBytes(config: phi4, format: .q4_0) * 32
            + MemoryPlan.headBytes(config: phi4, format: .q4_0) + 131072 * 128 * 1024)
    }
}
