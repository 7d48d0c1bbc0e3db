import Foundation
import PhiModel

/// Writes small GGUF files byte by byte, so tests control every field, and remembers where each
/// tensor's type and offset fields sit so a test can corrupt exactly one of them.
struct GGUFTestBuilder {
    indirect enum Value {
        case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16), uint32(UInt32), int32(Int32)
        case uint64(UInt64), int64(Int64), float32(Float), float64(Double), bool(Bool), string(String)
        case array(GGUFValueType, [Value])

        var type: GGUFValueType {
            switch self {
            case .uint8: .uint8
            case .int8: .int8
            case .uint16: .uint16
            case .int16: .int16
            case .uint32: .uint32
            case .int32: .int32
            case .uint64: .uint64
            case .int64: .int64
            case .float32: .float32
            case .float64: .float64
            case .bool: .bool
            case .string: .string
            case .array: .array
            }
        }
    }

    struct Tensor {
        let name: String
        /// Innermost first, as GGUF stores them.
        let dimensions: [Int]
        let type: UInt32
        let data: [UInt8]
    }

    /// Where the fields of the written file are.
    struct Layout {
        var typeFieldOffset: [String: Int] = [:]
        var offsetFieldOffset: [String: Int] = [:]
        var dataStart = 0
    }

    var version: UInt32 = 3
    var alignment = GGUFFile.defaultAlignment
    var metadata: [(key: String, value: Value)] = []
    var tensors: [Tensor] = []

    mutating func add(_ key: String, _ value: Value) { metadata.append((key, value)) }

    mutating func addTensor(_ name: String, dimensions: [Int], type: UInt32, data: [UInt8]) {
        tensors.append(Tensor(name: name, dimensions: dimensions, type: type, data: data))
    }

    /// An F32 tensor of `values`, dimensions innermost first.
    mutating func addTensor(_ name: String, dimensions: [Int], floats values: [Float]) {
        addTensor(name, dimensions: dimensions, type: 0, data: values.flatMap { Self.bytes(of: $0.bitPattern) })
    }

    func build() -> (bytes: [UInt8], layout: Layout) {
        var out: [UInt8] = Array("GGUF".utf8)
        var layout = Layout()
        append(version, to: &out)
        append(UInt64(tensors.count), to: &out)
        append(UInt64(metadata.count), to: &out)
        for (key, value) in metadata {
            appendString(key, to: &out)
            append(value.type.rawValue, to: &out)
            appendValue(value, to: &out)
        }
        var offset = 0
        var offsets: [Int] = []
        for tensor in tensors {
            offsets.append(offset)
            offset = (offset + tensor.data.count + alignment - 1) / alignment * alignment
        }
        for (tensor, dataOffset) in zip(tensors, offsets) {
            appendString(tensor.name, to: &out)
            append(UInt32(tensor.dimensions.count), to: &out)
            for dimension in tensor.dimensions { append(UInt64(dimension), to: &out) }
            layout.typeFieldOffset[tensor.name] = out.count
            append(tensor.type, to: &out)
            layout.offsetFieldOffset[tensor.name] = out.count
            append(UInt64(dataOffset), to: &out)
        }
        pad(&out)
        layout.dataStart = out.count
        for tensor in tensors {
            out += tensor.data
            pad(&out)
        }
        return (out, layout)
    }

    /// Writes the file as `name` in a new temporary directory.
    func write(name: String = "model.gguf") throws -> (url: URL, layout: Layout) {
        let (bytes, layout) = build()
        let url = try GGUFScripts.temporaryDirectory("phi-gguf").appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return (url, layout)
    }

    private func pad(_ out: inout [UInt8]) {
        while out.count % alignment != 0 { out.append(0) }
    }

    static func bytes<T: FixedWidthInteger>(of value: T) -> [UInt8] {
        withUnsafeBytes(of: value.littleEndian) { Array($0) }
    }

    private func append<T: FixedWidthInteger>(_ value: T, to out: inout [UInt8]) { out += Self.bytes(of: value) }

    private func appendString(_ string: String, to out: inout [UInt8]) {
        append(UInt64(string.utf8.count), to: &out)
        out += Array(string.utf8)
    }

    private func appendValue(_ value: Value, to out: inout [UInt8]) {
        switch value {
        case let .uint8(v): append(v, to: &out)
        case let .int8(v): append(v, to: &out)
        case let .uint16(v): append(v, to: &out)
        case let .int16(v): append(v, to: &out)
        case let .uint32(v): append(v, to: &out)
        case let .int32(v): append(v, to: &out)
        case let .uint64(v): append(v, to: &out)
        case let .int64(v): append(v, to: &out)
        case let .float32(v): append(v.bitPattern, to: &out)
        case let .float64(v): append(v.bitPattern, to: &out)
        case let .bool(v): append(UInt8(v ? 1 : 0), to: &out)
        case let .string(v): appendString(v, to: &out)
        case let .array(elementType, elements):
            append(elementType.rawValue, to: &out)
            append(UInt64(elements.count), to: &out)
            for element in elements { appendValue(element, to: &out) }
        }
    }
}

extension GGUFTestBuilder {
    /// A small llama-architecture model with random F32 weights: 3 layers, hidden 32, 4 heads
    /// of 8 (2 KV heads), feed-forward 64, vocabulary 40, tied embeddings. `skipping` leaves
    /// tensors out; `metadataEdit` changes the keys before they are written.
    static func smallLlama(skipping skipped: Set<String> = [], seed: UInt64 = 7,
                           metadataEdit: (inout [(key: String, value: Value)]) -> Void = { _ in }) -> GGUFTestBuilder {
        var builder = GGUFTestBuilder()
        var metadata: [(key: String, value: Value)] = [
            ("general.architecture", .string("llama")),
            ("llama.block_count", .uint32(3)), ("llama.context_length", .uint32(256)),
            ("llama.embedding_length", .uint32(32)), ("llama.feed_forward_length", .uint32(64)),
            ("llama.attention.head_count", .uint32(4)), ("llama.attention.head_count_kv", .uint32(2)),
            ("llama.rope.freq_base", .float32(10_000)), ("llama.attention.layer_norm_rms_epsilon", .float32(1e-5)),
            ("llama.rope.dimension_count", .uint32(8)),
            ("tokenizer.ggml.bos_token_id", .uint32(1)), ("tokenizer.ggml.eos_token_id", .uint32(2)),
        ]
        metadataEdit(&metadata)
        builder.metadata = metadata
        var random = SeededGenerator(seed: seed)
        func add(_ name: String, _ dimensions: [Int]) {
            guard !skipped.contains(name) else { return }
            let count = dimensions.reduce(1, *)
            builder.addTensor(name, dimensions: dimensions, floats: (0..<count).map { _ in Float.random(in: -0.5...0.5, using: &random) })
        }
        add("token_embd.weight", [32, 40])
        for layer in 0..<3 {
            add("blk.\(layer).attn_norm.weight", [32])
            add("blk.\(layer).attn_q.weight", [32, 32])
            add("blk.\(layer).attn_k.weight", [32, 16])
            add("blk.\(layer).attn_v.weight", [32, 16])
            add("blk.\(layer).attn_output.weight", [32, 32])
            add("blk.\(layer).ffn_norm.weight", [32])
            add("blk.\(layer).ffn_gate.weight", [32, 64])
            add("blk.\(layer).ffn_up.weight", [32, 64])
            add("blk.\(layer).ffn_down.weight", [64, 32])
        }
        add("output_norm.weight", [32])
        return builder
    }
}
