import Foundation
import PhiModel
import PhiTestSupport
import Testing

@Suite("sharded checkpoints")
struct ShardedCheckpointTests {
    @Test("the sharded checkpoint holds the same tensors, byte for byte, as the single file")
    func sameTensors() throws {
        let single = try TinyModel.source()
        let sharded = try TinyModel.source(sharded: true)
        #expect(single.config == sharded.config)
        #expect(single.tensors.tensorNames == sharded.tensors.tensorNames)
        for name in single.tensors.tensorNames {
            let a = try single.tensors.tensor(name)
            let b = try sharded.tensors.tensor(name)
            #expect(a.dtype == b.dtype && a.shape == b.shape, "\(name)")
            #expect(a.bytes.elementsEqual(b.bytes), "\(name) differs")
        }
    }

    @Test("a stage loaded from the shards gives the same logits as one loaded from the single file")
    func sameLogits() throws {
        let ids = try TinyGolden.load().prompt("p7").ids
        let compute = try Compute(threads: 1)
        let fromSingle = try TinyModel.source().loadStage(layers: 0..<32, format: nil, compute: compute)
        let fromShards = try TinyModel.source(sharded: true).loadStage(layers: 0..<32, format: nil, compute: compute)
        #expect(try TinyModel.allLogits(fromSingle, ids: ids) == TinyModel.allLogits(fromShards, ids: ids))
    }
}
