import Foundation
import PhiModel
import PhiTestSupport
import Testing

@Suite("GGUF metadata and tensor tables read as written")
struct GGUFMetadataTests {
    @Test("every value type reads back, nested and empty arrays included, in file order")
    func everyValueType() throws {
        var builder = GGUFTestBuilder()
        let scalars: [(String, GGUFTestBuilder.Value, GGUFValue)] = [
            ("u8", .uint8(200), .uint8(200)), ("i8", .int8(-100), .int8(-100)),
            ("u16", .uint16(60_000), .uint16(60_000)), ("i16", .int16(-30_000), .int16(-30_000)),
            ("u32", .uint32(4_000_000_000), .uint32(4_000_000_000)), ("i32", .int32(-2_000_000_000), .int32(-2_000_000_000)),
            ("u64", .uint64(UInt64.max), .uint64(UInt64.max)), ("i64", .int64(Int64.min), .int64(Int64.min)),
            ("f32", .float32(0.1), .float32(0.1)), ("f64", .float64(0.1), .float64(0.1)),
            ("yes", .bool(true), .bool(true)), ("text", .string("héllo ✓"), .string("héllo ✓")),
        ]
        for (key, written, _) in scalars { builder.add(key, written) }
        builder.add("strings", .array(.string, [.string("a"), .string(""), .string("ü b")]))
        builder.add("floats", .array(.float32, [.float32(1.5), .float32(-2)]))
        builder.add("nested", .array(.array, [.array(.int16, [.int16(-1), .int16(7)]), .array(.string, [])]))
        builder.add("empty", .array(.uint64, []))
        let (url, _) = try builder.write()
        let metadata = try GGUFFile(path: url.path).metadata

        #expect(metadata.keys == scalars.map(\.0) + ["strings", "floats", "nested", "empty"])
        for (key, _, expected) in scalars { #expect(metadata[key] == expected, "\(key)") }
        #expect(try metadata.int("u32") == 4_000_000_000 && metadata.int("i64") == Int(Int64.min))
        #expect(try metadata.double("f32") == Double(Float(0.1)) && metadata.double("f64") == 0.1)
        #expect(try metadata.string("text") == "héllo ✓" && metadata.optionalBool("yes") == true)
        #expect(try metadata.array("strings").strings() == ["a", "", "ü b"])
        #expect(try metadata.array("floats").floats() == [1.5, -2])
        let nested = try metadata.array("nested").arrays()
        #expect(nested.count == 2)
        #expect(try nested[0].integers() == [-1, 7] && nested[1].strings().isEmpty && nested[1].count == 0)
        #expect(try metadata.array("empty").integers().isEmpty)

        // Typed accessors name the key and what it holds.
        #expect(throws: ConfigError.wrongType(file: "model.gguf", field: "u64", expected: "an integer (it holds uint64)")) {
            try metadata.int("u64")
        }
        #expect(throws: ConfigError.wrongType(file: "model.gguf", field: "text", expected: "an integer (it holds string)")) {
            try metadata.int("text")
        }
        #expect(throws: ConfigError.wrongType(file: "model.gguf", field: "floats", expected: "an array of strings (it holds float32)")) {
            try metadata.array("floats").strings()
        }
        #expect(throws: ConfigError.missingField(file: "model.gguf", field: "absent")) { try metadata.string("absent") }
    }

    @Test("GGUF version 2 reads as version 3 does")
    func version2() throws {
        var builder = sampleGGUF()
        builder.version = 2
        let file = try GGUFFile(path: try builder.write().url.path)
        #expect(file.version == 2)
        #expect(try file.metadata.array("list").strings() == ["a", "bc", ""])
        #expect(file.tensorInfos.map(\.name) == ["a", "q", "b"])
    }

    @Test("shapes are presented outermost first, rows as stored")
    func shapes() throws {
        var builder = GGUFTestBuilder()
        builder.addTensor("m", dimensions: [4, 3], floats: (0..<12).map(Float.init))
        let file = try GGUFFile(path: try builder.write().url.path)
        let info = try #require(file.info("m"))
        #expect(info.dimensions == [4, 3] && info.shape == [3, 4] && info.type.name == "F32")
        let view = try file.tensor("m")
        #expect(view.shape == [3, 4] && view.rows == 3 && view.columns == 4 && view.dtype == .f32)
        var row = [Float](repeating: 0, count: 4)
        try row.withUnsafeMutableBufferPointer { try view.row(1, into: try #require($0.baseAddress)) }
        #expect(row == [4, 5, 6, 7])
    }

    @Test("general.alignment places the data section and every tensor on its multiple")
    func alignment() throws {
        var builder = sampleGGUF()
        builder.alignment = 64
        builder.add("general.alignment", .uint32(64))
        let (url, layout) = try builder.write()
        let file = try GGUFFile(path: url.path)
        #expect(file.alignment == 64 && file.dataStart == layout.dataStart && file.dataStart % 64 == 0)
        #expect(file.tensorInfos.allSatisfy { $0.range.lowerBound % 64 == 0 })
        var values = [Float](repeating: 0, count: 3)
        try values.withUnsafeMutableBufferPointer { try file.tensor("b").row(0, into: try #require($0.baseAddress)) }
        #expect(values == [1, 2, 3])
        var q8 = [Float](repeating: 0, count: 32)
        try q8.withUnsafeMutableBufferPointer { try file.tensor("q").row(0, into: try #require($0.baseAddress)) }
        #expect(q8 == (2..<34).map(Float.init))
    }

    @Test("tokenizer metadata checks counts and ids against the token list")
    func tokenizerConsistency() throws {
        func tokenizer(_ extra: [(String, GGUFTestBuilder.Value)]) throws -> GGUFTokenizerMetadata {
            var builder = GGUFTestBuilder()
            builder.add("tokenizer.ggml.model", .string("gpt2"))
            builder.add("tokenizer.ggml.tokens", .array(.string, [.string("a"), .string("b"), .string("<end>")]))
            for (key, value) in extra { builder.add(key, value) }
            return try GGUFFile(path: try builder.write().url.path).tokenizerMetadata()
        }
        let plain = try tokenizer([("tokenizer.ggml.eos_token_id", .uint32(2)),
                                   ("tokenizer.ggml.token_type", .array(.int32, [.int32(1), .int32(1), .int32(3)]))])
        #expect(plain.tokens == ["a", "b", "<end>"] && plain.eosTokenId == 2 && plain.tokenTypes?.last == .control)
        #expect(plain.preTokenizer == nil && plain.merges == nil && plain.chatTemplate == nil)
        #expect(throws: ConfigError.invalidValue(file: "model.gguf", field: "tokenizer.ggml.eos_token_id", reason: "is 3, outside the 3 tokens")) {
            try tokenizer([("tokenizer.ggml.eos_token_id", .uint32(3))])
        }
        #expect(throws: ConfigError.invalidValue(file: "model.gguf", field: "tokenizer.ggml.token_type", reason: "has 1 entries for 3 tokens")) {
            try tokenizer([("tokenizer.ggml.token_type", .array(.int32, [.int32(1)]))])
        }
        #expect(throws: ConfigError.missingField(file: "model.gguf", field: "tokenizer.ggml.model")) {
            try GGUFFile(path: try GGUFTestBuilder().write().url.path).tokenizerMetadata()
        }
    }
}
