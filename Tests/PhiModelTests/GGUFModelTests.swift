import Foundation
import PhiModel
import PhiTestSupport
import Testing

@Suite("GGUF models: both layouts, layer slices, config errors, how a path is opened")
struct GGUFModelTests {
    static func logits(_ url: URL, split: [Range<Int>], ids: [Int]) throws -> [Float] {
        let source = try ModelSource.open(url)
        let compute = try Compute(threads: 1)
        let stages = try split.map { try source.loadStage(layers: $0, format: .f32, compute: compute) }
        var hidden = try stages[0].embed(tokens: ids)
        var scratch = Scratch()
        for stage in stages {
            var cache = try KVCache(config: stage.config, layers: stage.layers, capacity: ids.count)
            try stage.run(&hidden, positions: 0..<ids.count, ropeFactors: .short, cache: &cache, scratch: &scratch)
        }
        return try stages[stages.count - 1].logits(from: hidden, tokens: 0..<ids.count, scratch: &scratch)
    }

    @Test("the llama layout (q/k permuted, separate projections) runs exactly as the same weights in the phi3 layout")
    func layoutsAgree() throws {
        let model = SmallModel()
        let llama = try model.llama().write(name: "llama.gguf").url
        let phi3 = try model.phi3().write(name: "phi3.gguf").url
        #expect(try ModelSource.open(llama).layout == .ggufLlama && ModelSource.open(phi3).layout == .ggufPhi3)
        let ids = [3, 17, 5, 39, 0, 22, 8]
        let fromLlama = try Self.logits(llama, split: [0..<3], ids: ids)
        let fromPhi3 = try Self.logits(phi3, split: [0..<3], ids: ids)
        #expect(fromLlama.count == ids.count * SmallModel.vocabulary)
        #expect(fromLlama == fromPhi3)
        // Rows left in GGML's order rotate the wrong pairs of dims: the comparison can fail.
        let wrong = try model.phi3(unpermuting: false).write(name: "wrong.gguf").url
        #expect(try Self.logits(wrong, split: [0..<3], ids: ids) != fromLlama)
        #expect(try Self.logits(llama, split: [0..<1, 1..<3], ids: ids) == fromLlama)
    }

    @Test("a stage reads only its own layers' tensors: a file missing layer 0 serves layers 1..<3")
    func onlyItsLayers() throws {
        let layer0 = Set(SmallModel().tensors.map(\.name).filter { $0.hasPrefix("blk.0.") })
        let url = try SmallModel().llama(skipping: layer0).write().url
        let source = try ModelSource.open(url)
        let stage = try source.loadStage(layers: 1..<3, format: nil, compute: try Compute(threads: 1))
        #expect(stage.layers == 1..<3 && stage.isLastStage && !stage.isFirstStage)
        #expect(throws: CheckpointError.missingTensor(name: "blk.0.attn_q.weight", searched: "model.gguf")) {
            try source.loadStage(layers: 0..<3, format: nil, compute: try Compute(threads: 1))
        }
    }

    @Test("a missing or mistyped key is named; an unknown architecture is named")
    func configErrors() throws {
        func open(_ edit: @escaping (inout [(key: String, value: GGUFTestBuilder.Value)]) -> Void,
                  skipping: Set<String> = []) throws -> ModelSource {
            try ModelSource.open(try SmallModel().llama(skipping: skipping, edit: edit).write().url)
        }
        #expect(throws: ConfigError.missingField(file: "model.gguf", field: "llama.block_count")) {
            try open { $0.removeAll { $0.key == "llama.block_count" } }
        }
        #expect(throws: ConfigError.missingField(file: "model.gguf", field: "llama.attention.layer_norm_rms_epsilon")) {
            try open { $0.removeAll { $0.key == "llama.attention.layer_norm_rms_epsilon" } }
        }
        #expect(throws: ConfigError.wrongType(file: "model.gguf", field: "llama.embedding_length", expected: "an integer (it holds string)")) {
            try open { SmallModel.set("llama.embedding_length", .string("32"), in: &$0) }
        }
        let unknown = try #require(throws: ConfigError.self) {
            try open { SmallModel.set("general.architecture", .string("gemma"), in: &$0) }
        }
        #expect(unknown.description.contains("'gemma'"))
        let experts = try #require(throws: ConfigError.self) { try open { SmallModel.set("llama.expert_count", .uint32(8), in: &$0) } }
        #expect(experts.description.contains("llama.expert_count"))
        let scaling = try #require(throws: ConfigError.self) {
            try open { SmallModel.set("llama.rope.scaling.type", .string("linear"), in: &$0) }
        }
        #expect(scaling.description.contains("'linear'"))
        #expect(throws: CheckpointError.missingTensor(name: "token_embd.weight", searched: "model.gguf")) {
            try open({ _ in }, skipping: ["token_embd.weight"])
        }
        #expect(throws: ConfigError.invalidValue(file: "model.gguf", field: "llama.context_length", reason: "must be in 1...16777216, found 0")) {
            try open { SmallModel.set("llama.context_length", .uint32(0), in: &$0) }
        }
    }

    @Test("a .gguf path, or a directory holding exactly one, opens; two are refused by name")
    func paths() throws {
        let url = try SmallModel().llama().write(name: "small.gguf").url
        let directory = url.deletingLastPathComponent()
        #expect(try ModelSource.open(url).config.layerCount == 3)
        #expect(try ModelSource.open(directory).gguf?.file.fileName == "small.gguf")
        try FileManager.default.copyItem(at: url, to: directory.appendingPathComponent("other.gguf"))
        let error = try #require(throws: CheckpointError.self) { try ModelSource.open(directory) }
        #expect(error.description.contains("other.gguf") && error.description.contains("small.gguf"))
        let text = directory.appendingPathComponent("notes.txt")
        try Data("x".utf8).write(to: text)
        #expect(throws: CheckpointError.self) { try ModelSource.open(text) }
    }
}
