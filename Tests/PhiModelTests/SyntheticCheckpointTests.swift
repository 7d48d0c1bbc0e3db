import Foundation
import PhiModel
import PhiTestSupport
import Testing

@Suite("synthetic checkpoints")
struct SyntheticCheckpointTests {
    @Test("every tensor of the real Phi-4-mini index gets the shape whose bf16 bytes sum to its total_size")
    func phi4MiniShapes() throws {
        let config = try ModelConfig.load(directory: Fixtures.phi4MiniConfig)
        let data = try Data(contentsOf: Fixtures.phi4MiniConfig.appendingPathComponent("model.safetensors.index.json"))
        let index = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let map = try #require(index["weight_map"] as? [String: String])
        let total = try #require((index["metadata"] as? [String: Any])?["total_size"] as? Int)
        #expect(map.count == 194)
        let bytes = try map.keys.reduce(0) { $0 + (try SyntheticCheckpoint.shape(of: $1, config: config)).reduce(2, *) }
        #expect(bytes == total)
    }

    @Test("a synthetic tiny-phi4 has the names, shapes, dtype and shards of the original, loads, and stays finite")
    func imitatesTiny() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("phi-synth-\(UUID().uuidString)")
        try SyntheticCheckpoint.write(like: Fixtures.tinyModelSharded, to: out, seed: 5)
        let original = try SafetensorsCheckpoint(directory: Fixtures.tinyModelSharded)
        let synthetic = try SafetensorsCheckpoint(directory: out)
        #expect(original.tensorNames == synthetic.tensorNames)
        for name in original.tensorNames {
            let a = try original.tensor(name)
            let b = try synthetic.tensor(name)
            #expect(a.shape == b.shape && a.dtype == b.dtype, "\(name)")
            #expect(a.file.fileName == b.file.fileName, "\(name) is in another shard")
        }
        let stage = try ModelSource.open(out).loadStage(layers: 0..<32, format: nil, compute: try Compute(threads: 1))
        let logits = try TinyModel.allLogits(stage, ids: [1, 2, 3, 4, 5])
        #expect(logits.allSatisfy { $0.isFinite })

        let again = FileManager.default.temporaryDirectory.appendingPathComponent("phi-synth-\(UUID().uuidString)")
        try SyntheticCheckpoint.write(like: Fixtures.tinyModelSharded, to: again, seed: 5)
        let name = "model.layers.3.mlp.down_proj.weight"
        let first = try synthetic.tensor(name)
        let second = try SafetensorsCheckpoint(directory: again).tensor(name)
        #expect(first.bytes.elementsEqual(second.bytes))
    }
}
