import Foundation
import PhiModel
import PhiTestSupport
import Testing

/// A small valid GGUF with every kind of field: strings, a bool, a float64, an array of strings,
/// nested arrays (one empty), and F32 and Q8_0 tensors, one of them 1-D.
func sampleGGUF() -> GGUFTestBuilder {
    var builder = GGUFTestBuilder()
    builder.add("general.architecture", .string("llama"))
    builder.add("general.name", .string("sample"))
    builder.add("list", .array(.string, [.string("a"), .string("bc"), .string("")]))
    builder.add("nested", .array(.array, [.array(.int32, [.int32(1), .int32(-2)]), .array(.uint8, [])]))
    builder.add("flag", .bool(true))
    builder.add("pi", .float64(3.25))
    builder.addTensor("a", dimensions: [4, 2], floats: (0..<8).map(Float.init))
    var q8 = [UInt8](repeating: 0, count: 2 * 34)
    q8[0] = 0x00; q8[1] = 0x3c  // d = 1.0 (f16 0x3c00) in the first block
    for index in 2..<34 { q8[index] = UInt8(index) }
    builder.addTensor("q", dimensions: [32, 2], type: 8, data: q8)
    builder.addTensor("b", dimensions: [3], floats: [1, 2, 3])
    return builder
}

extension Array where Element == UInt8 {
    /// Overwrites the little-endian bytes of `value` at `offset`.
    mutating func patch<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        let bytes = GGUFTestBuilder.bytes(of: value)
        replaceSubrange(offset..<(offset + bytes.count), with: bytes)
    }

    /// Where `needle` first occurs.
    func offset(of needle: [UInt8]) -> Int? {
        guard needle.count <= count else { return nil }
        return (0...(count - needle.count)).first { self[$0..<($0 + needle.count)].elementsEqual(needle) }
    }
}

/// Writes `bytes` as model.gguf in a new temporary directory and opens it.
func openGGUF(_ bytes: [UInt8]) throws -> GGUFFile {
    let url = try GGUFScripts.temporaryDirectory("phi-bad-gguf").appendingPathComponent("model.gguf")
    try Data(bytes).write(to: url)
    return try GGUFFile(path: url.path)
}

@Suite("corrupt GGUF files are reported, not crashed on")
struct GGUFErrorTests {
    @Test("a file cut off at any byte before its last tensor ends is a truncation naming the file")
    func truncatedAnywhere() throws {
        let (bytes, _) = sampleGGUF().build()
        let file = try openGGUF(bytes)
        let end = try #require(file.tensorInfos.map(\.range.upperBound).max())
        for length in 0..<end {
            let error = try #require(throws: CheckpointError.self) { try openGGUF(Array(bytes.prefix(length))) }
            guard case let .truncated(name, expected, actual) = error else {
                Issue.record("cut at \(length): expected a truncation, got \(error)")
                continue
            }
            #expect(name == "model.gguf" && actual == length && expected > length, "cut at \(length): \(error)")
            #expect(error.description.contains("model.gguf has \(length) bytes"))
        }
        _ = try openGGUF(Array(bytes.prefix(end)))  // the padding after the last tensor is optional
    }

    @Test("a real GGUF cut short names the bytes its tensor table describes")
    func truncatedRealFile() throws {
        let data = try Data(contentsOf: try TinyGGUF.url())
        let whole = try GGUFFile(path: try TinyGGUF.url().path)
        let end = try #require(whole.tensorInfos.map(\.range.upperBound).max())
        let error = try #require(throws: CheckpointError.self) { try openGGUF(Array(data.prefix(data.count - 1000))) }
        #expect(error == .truncated(file: "model.gguf", expectedBytes: end, actualBytes: data.count - 1000))
    }

    @Test("a file that does not begin with GGUF is refused by its first bytes", arguments: ["GGML", "\u{0}\u{0}\u{0}\u{0}", "XY"])
    func badMagic(_ start: String) throws {
        var bytes = sampleGGUF().build().bytes
        bytes.replaceSubrange(0..<4, with: Array(start.utf8))
        let found = Array(Array(start.utf8).prefix(4))
        let error = try #require(throws: CheckpointError.self) { try openGGUF(start == "XY" ? Array(start.utf8) : bytes) }
        #expect(error == .badMagic(file: "model.gguf", found: found))
        #expect(error.description.contains("model.gguf is not a GGUF file"))
    }

    @Test("versions other than 2 and 3 are refused; a big-endian file is named as such")
    func versions() throws {
        var bytes = sampleGGUF().build().bytes
        bytes.patch(UInt32(1), at: 4)
        #expect(throws: CheckpointError.unsupportedVersion(file: "model.gguf", version: 1)) { try openGGUF(bytes) }
        bytes.patch(UInt32(3).byteSwapped, at: 4)
        let error = try #require(throws: CheckpointError.self) { try openGGUF(bytes) }
        #expect(error.description.contains("big-endian"))
        bytes.patch(UInt32(2), at: 4)
        #expect(try openGGUF(bytes).version == 2)
    }

    @Test("a tensor whose data lies past the end of the file is named")
    func tensorPastEnd() throws {
        var (bytes, layout) = sampleGGUF().build()
        bytes.patch(UInt64(1 << 20), at: try #require(layout.offsetFieldOffset["b"]))
        let error = try #require(throws: CheckpointError.self) { try openGGUF(bytes) }
        #expect(error == .offsetOutOfBounds(file: "model.gguf", tensor: "b", end: layout.dataStart + (1 << 20) + 12, fileBytes: bytes.count))
        #expect(error.description.contains("tensor 'b' ends at byte"))
    }

    @Test("an unknown tensor type is named with the tensor and where its type field is")
    func unknownType() throws {
        var (bytes, layout) = sampleGGUF().build()
        let field = try #require(layout.typeFieldOffset["q"])
        bytes.patch(UInt32(99), at: field)
        let error = try #require(throws: CheckpointError.self) { try openGGUF(bytes) }
        #expect(error == .unknownTensorType(file: "model.gguf", tensor: "q", type: 99, headerOffset: field))
        #expect(error.description.contains("tensor 'q' has unknown GGML type 99"))
    }

    @Test("a type GGML knows but the engine does not compute with opens, and is refused when used")
    func knownButUnsupported() throws {
        var builder = GGUFTestBuilder()
        builder.addTensor("x", dimensions: [32], type: 6, data: [UInt8](repeating: 0, count: 22))  // Q5_0
        let file = try openGGUF(builder.build().bytes)
        #expect(file.info("x")?.type.name == "Q5_0")
        #expect(throws: CheckpointError.unsupportedDType(file: "model.gguf", tensor: "x", dtype: "Q5_0")) { try file.tensor("x") }
    }

    @Test("misaligned, overlapping, misshapen and duplicated tensors are malformed headers naming the tensor")
    func malformedTensors() throws {
        var (bytes, layout) = sampleGGUF().build()
        let offsetOfB = try #require(layout.offsetFieldOffset["b"])
        bytes.patch(UInt64(8), at: offsetOfB)
        try expectMalformed(bytes, mentioning: ["'b'", "alignment"])
        bytes.patch(UInt64(0), at: offsetOfB)
        try expectMalformed(bytes, mentioning: ["'b'", "overlaps"])

        var rows = GGUFTestBuilder()
        rows.addTensor("q", dimensions: [16, 2], type: 8, data: [UInt8](repeating: 0, count: 34))
        try expectMalformed(rows.build().bytes, mentioning: ["'q'", "16 elements", "Q8_0"])

        var twice = GGUFTestBuilder()
        twice.addTensor("t", dimensions: [1], floats: [1])
        twice.addTensor("t", dimensions: [1], floats: [2])
        try expectMalformed(twice.build().bytes, mentioning: ["'t'", "twice"])

        var deep = GGUFTestBuilder()
        deep.addTensor("t", dimensions: [1, 1, 1, 1, 1], floats: [1])
        try expectMalformed(deep.build().bytes, mentioning: ["'t'", "5 dimensions"])
    }

    @Test("bad metadata is a malformed header naming the key: value type, bool, UTF-8, duplicate, alignment")
    func malformedMetadata() throws {
        let (bytes, _) = sampleGGUF().build()
        let flagKey = try #require(bytes.offset(of: Array("flag".utf8)))
        var badType = bytes
        badType.patch(UInt32(13), at: flagKey + 4)
        try expectMalformed(badType, mentioning: ["'flag'", "unknown value type 13"])
        var badBool = bytes
        badBool.patch(UInt8(2), at: flagKey + 8)
        try expectMalformed(badBool, mentioning: ["'flag'", "bool of value 2"])
        var badKey = bytes
        badKey[flagKey] = 0xff
        try expectMalformed(badKey, mentioning: ["not valid UTF-8"])

        var twice = GGUFTestBuilder()
        twice.add("k", .uint8(1))
        twice.add("k", .uint8(2))
        try expectMalformed(twice.build().bytes, mentioning: ["'k'", "twice"])

        for alignment: GGUFTestBuilder.Value in [.uint32(48), .uint32(0), .uint64(64)] {
            var aligned = GGUFTestBuilder()
            aligned.add("general.alignment", alignment)
            try expectMalformed(aligned.build().bytes, mentioning: ["general.alignment"])
        }
    }

    @Test("counts and lengths beyond the file are truncations, never huge allocations")
    func hugeCounts() throws {
        let (bytes, _) = sampleGGUF().build()
        for (offset, value) in [(8, UInt64(1) << 40), (16, UInt64(1) << 40), (16, UInt64.max)] {
            var patched = bytes
            patched.patch(value, at: offset)
            let error = try #require(throws: CheckpointError.self) { try openGGUF(patched) }
            switch error {
            case .truncated, .malformedHeader: break
            default: Issue.record("count \(value) at byte \(offset): unexpected \(error)")
            }
        }
        let listKey = try #require(bytes.offset(of: Array("list".utf8)))
        var longString = bytes
        longString.patch(UInt64(1) << 50, at: listKey + 4 + 4 + 4 + 8)  // key, value type, element type, count: the first length
        #expect(throws: CheckpointError.self) { try openGGUF(longString) }
    }

    @Test("random truncations and byte changes give a specific error or a readable file, never a crash")
    func fuzz() throws {
        let model = SmallModel()
        for (seed, original) in [(UInt64(1), sampleGGUF().build()), (UInt64(2), model.llama().build())] {
            var random = SeededGenerator(seed: seed)
            let (bytes, layout) = original
            let directory = try GGUFScripts.temporaryDirectory("phi-fuzz")
            var (readable, refused) = (0, 0)
            for iteration in 0..<150 {
                var corrupt = bytes
                // Mostly the header, where a change alters structure; sometimes anywhere.
                let reach = Bool.random(using: &random) ? layout.dataStart : corrupt.count
                for _ in 0..<Int.random(in: 1...3, using: &random) {
                    let index = Int.random(in: 0..<reach, using: &random)
                    corrupt[index] = Bool.random(using: &random) ? UInt8.random(in: 0...255, using: &random)
                        : corrupt[index] ^ (1 << UInt8.random(in: 0...7, using: &random))
                }
                if Int.random(in: 0..<4, using: &random) == 0 {
                    corrupt = Array(corrupt.prefix(Int.random(in: 0..<corrupt.count, using: &random)))
                }
                let url = directory.appendingPathComponent("fuzz-\(iteration).gguf")
                try Data(corrupt).write(to: url)
                do {
                    try exerciseEverything(url)
                    readable += 1
                } catch is CheckpointError {
                    refused += 1
                } catch is ConfigError {
                    refused += 1
                } catch is StageError {
                    refused += 1
                } catch {
                    Issue.record("seed \(seed) iteration \(iteration): unexpected \(type(of: error)): \(error)")
                }
            }
            // Both outcomes must occur, or the fuzzing proves nothing. The sample is no model, so
            // only the small llama can be fully read; the header of both is corrupted often enough.
            #expect(refused >= 30, "seed \(seed): \(refused) refused, \(readable) readable")
            if seed == 2 { #expect(readable >= 10, "\(readable) readable") }
        }
    }

    /// Opens the file and reads everything it offers: every tensor row, every metadata array
    /// (nested ones too), the config, and a forward pass when it is a model.
    private func exerciseEverything(_ url: URL) throws {
        let file = try GGUFFile(path: url.path)
        for info in file.tensorInfos {
            guard let view = try? file.tensor(info.name) else { continue }
            var row = [Float](repeating: 0, count: max(view.columns, 1))
            try row.withUnsafeMutableBufferPointer { buffer in
                guard let base = buffer.baseAddress else { return }
                for index in 0..<view.rows { try view.row(index, into: base) }
            }
        }
        func walk(_ array: GGUFArray) {
            _ = try? array.values()
            _ = try? array.strings()
            _ = try? array.integers()
            _ = try? array.floats()
            for nested in (try? array.arrays()) ?? [] { walk(nested) }
        }
        for key in file.metadata.keys {
            if case let .array(array) = file.metadata[key] { walk(array) }
        }
        _ = try? file.tokenizerMetadata()
        let source = try ModelSource.open(url)
        let stage = try source.loadStage(layers: source.config.allLayers, format: nil, compute: try Compute(threads: 1))
        _ = try TinyModel.allLogits(stage, ids: [1, 2])
    }

    private func expectMalformed(_ bytes: [UInt8], mentioning parts: [String],
                                 sourceLocation: SourceLocation = #_sourceLocation) throws {
        let error = try #require(throws: CheckpointError.self, sourceLocation: sourceLocation) { try openGGUF(bytes) }
        guard case .malformedHeader = error else {
            Issue.record("expected a malformed header, got \(error)", sourceLocation: sourceLocation)
            return
        }
        for part in parts {
            #expect(error.description.contains(part), "'\(part)' not in: \(error.description)", sourceLocation: sourceLocation)
        }
    }
}
