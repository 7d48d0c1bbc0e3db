import Foundation
import PhiModel
import PhiTestSupport
import Testing

/// Hand-made safetensors files with one defect each.
enum BadSafetensors {
    static func write(header: String, dataBytes: Int, name: String = "model.safetensors") throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("phi-st-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var bytes = Data()
        let headerData = Data(header.utf8)
        var length = UInt64(headerData.count).littleEndian
        bytes.append(Data(bytes: &length, count: 8))
        bytes.append(headerData)
        bytes.append(Data(count: dataBytes))
        let url = directory.appendingPathComponent(name)
        try bytes.write(to: url)
        return url
    }
}

@Suite("bad safetensors files are reported, not crashed on")
struct SafetensorsErrorTests {
    @Test("a truncated file names the file and both sizes")
    func truncated() throws {
        let whole = Fixtures.tinyModel.appendingPathComponent("model.safetensors")
        let data = try Data(contentsOf: whole)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("phi-trunc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let cut = directory.appendingPathComponent("model.safetensors")
        try data.prefix(data.count - 1000).write(to: cut)
        let error = try #require(throws: CheckpointError.self) { try SafetensorsFile(path: cut.path) }
        #expect(error == .truncated(file: "model.safetensors", expectedBytes: data.count, actualBytes: data.count - 1000))
        #expect(error.description.contains("model.safetensors has \(data.count - 1000) bytes"))
    }

    @Test("a header longer than the file is a truncation")
    func headerPastEnd() throws {
        let url = try BadSafetensors.write(header: "{}", dataBytes: 0)
        var data = try Data(contentsOf: url)
        data.replaceSubrange(0..<8, with: [0xff, 0xff, 0, 0, 0, 0, 0, 0])
        try data.write(to: url)
        #expect(throws: CheckpointError.truncated(file: "model.safetensors", expectedBytes: 8 + 65535, actualBytes: data.count)) {
            try SafetensorsFile(path: url.path)
        }
    }

    @Test("an offset past the end of the file names the tensor")
    func offsetPastEnd() throws {
        let header = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[1000,1008]}}"#
        let url = try BadSafetensors.write(header: header, dataBytes: 16)
        let error = try #require(throws: CheckpointError.self) { try SafetensorsFile(path: url.path) }
        guard case let .offsetOutOfBounds(_, tensor, _, _) = error else {
            Issue.record("expected offsetOutOfBounds, got \(error)")
            return
        }
        #expect(tensor == "b")
        #expect(error.description.contains("'b'"))
    }

    @Test("a dtype inconsistent with the byte length names the tensor, dtype and shape")
    func wrongByteLength() throws {
        let header = #"{"w":{"dtype":"BF16","shape":[4,4],"data_offsets":[0,64]}}"#
        let url = try BadSafetensors.write(header: header, dataBytes: 64)
        let error = try #require(throws: CheckpointError.self) { try SafetensorsFile(path: url.path) }
        #expect(error == .byteCountMismatch(file: "model.safetensors", tensor: "w", dtype: "BF16", shape: [4, 4],
                                            expectedBytes: 32, actualBytes: 64))
    }

    @Test("an unknown dtype is named")
    func unknownDType() throws {
        let header = #"{"w":{"dtype":"Q9","shape":[4],"data_offsets":[0,4]}}"#
        let url = try BadSafetensors.write(header: header, dataBytes: 4)
        #expect(throws: CheckpointError.unsupportedDType(file: "model.safetensors", tensor: "w", dtype: "Q9")) {
            try SafetensorsFile(path: url.path)
        }
    }

    @Test("a dtype the engine does not compute with is refused when the tensor is used")
    func integerTensor() throws {
        let header = #"{"w":{"dtype":"I32","shape":[4],"data_offsets":[0,16]}}"#
        let url = try BadSafetensors.write(header: header, dataBytes: 16)
        let file = try SafetensorsFile(path: url.path)
        #expect(throws: CheckpointError.unsupportedDType(file: "model.safetensors", tensor: "w", dtype: "I32")) {
            try file.tensor("w")
        }
    }

    @Test("a header that is not JSON is reported")
    func garbageHeader() throws {
        let url = try BadSafetensors.write(header: "not json at all", dataBytes: 0)
        let error = try #require(throws: CheckpointError.self) { try SafetensorsFile(path: url.path) }
        #expect(error.description.contains("malformed header"))
    }

    @Test("a missing tensor is named, and a wrong shape gives both shapes")
    func missingAndMisshapen() throws {
        let model = try TinyModel.source()
        #expect(throws: CheckpointError.missingTensor(name: "model.layers.99.mlp.down_proj.weight", searched: "model")) {
            try model.tensors.tensor("model.layers.99.mlp.down_proj.weight")
        }
        let norm = try model.tensors.tensor("model.norm.weight")
        #expect(throws: CheckpointError.shapeMismatch(tensor: "model.norm.weight", expected: [128], found: [64])) {
            try norm.requireShape([128])
        }
    }

    @Test("a shard listed in the index but absent is named")
    func missingShard() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("phi-shard-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let index = #"{"weight_map":{"w":"model-00001-of-00002.safetensors"}}"#
        try Data(index.utf8).write(to: directory.appendingPathComponent("model.safetensors.index.json"))
        let error = try #require(throws: CheckpointError.self) { try SafetensorsCheckpoint(directory: directory) }
        #expect(error.description.contains("model-00001-of-00002.safetensors"))
    }

    @Test("loading layers beyond the model names the range")
    func layersOutOfRange() throws {
        let model = try TinyModel.source()
        #expect(throws: CheckpointError.layersOutOfRange(requested: 30..<33, layerCount: 32)) {
            try model.loadStage(layers: 30..<33, format: nil, compute: try Compute(threads: 1))
        }
    }
}
