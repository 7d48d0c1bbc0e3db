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

/// A small decoder with random F32 weights, written in either GGUF layout: `llama` (separate
/// q/k/v and gate/up, q/k rows permuted for GGML's RoPE as convert_hf_to_gguf stores them) or
/// `phi3` (the same weights with q/k rows in rotate-half order, fused qkv and gate|up).
/// 3 layers, hidden 32, 4 heads of 8 (2 KV heads), feed-forward 64, vocabulary 40, tied embeddings.
struct SmallModel {
    static let (hidden, heads, kvHeads, headDim, feedForward, vocabulary, layers) = (32, 4, 2, 8, 64, 40, 3)

    /// Tensors of the llama layout: name, dimensions innermost first, values row by row.
    let tensors: [(name: String, dimensions: [Int], values: [Float])]

    init(seed: UInt64 = 7) {
        var random = SeededGenerator(seed: seed)
        var tensors: [(name: String, dimensions: [Int], values: [Float])] = []
        func add(_ name: String, _ dimensions: [Int]) {
            let count = dimensions.reduce(1, *)
            tensors.append((name, dimensions, (0..<count).map { _ in Float.random(in: -0.5...0.5, using: &random) }))
        }
        let (hidden, kvWidth) = (Self.hidden, Self.kvHeads * Self.headDim)
        add("token_embd.weight", [hidden, Self.vocabulary])
        for layer in 0..<Self.layers {
            add("blk.\(layer).attn_norm.weight", [hidden])
            add("blk.\(layer).attn_q.weight", [hidden, Self.heads * Self.headDim])
            add("blk.\(layer).attn_k.weight", [hidden, kvWidth])
            add("blk.\(layer).attn_v.weight", [hidden, kvWidth])
            add("blk.\(layer).attn_output.weight", [Self.heads * Self.headDim, hidden])
            add("blk.\(layer).ffn_norm.weight", [hidden])
            add("blk.\(layer).ffn_gate.weight", [hidden, Self.feedForward])
            add("blk.\(layer).ffn_up.weight", [hidden, Self.feedForward])
            add("blk.\(layer).ffn_down.weight", [Self.feedForward, hidden])
        }
        add("output_norm.weight", [hidden])
        self.tensors = tensors
    }

    static func metadata(_ architecture: String) -> [(key: String, value: GGUFTestBuilder.Value)] {
        [
            ("general.architecture", .string(architecture)),
            ("\(architecture).block_count", .uint32(UInt32(layers))), ("\(architecture).context_length", .uint32(256)),
            ("\(architecture).embedding_length", .uint32(UInt32(hidden))),
            ("\(architecture).feed_forward_length", .uint32(UInt32(feedForward))),
            ("\(architecture).attention.head_count", .uint32(UInt32(heads))),
            ("\(architecture).attention.head_count_kv", .uint32(UInt32(kvHeads))),
            ("\(architecture).rope.freq_base", .float32(10_000)),
            ("\(architecture).attention.layer_norm_rms_epsilon", .float32(1e-5)),
            ("\(architecture).rope.dimension_count", .uint32(UInt32(headDim))),
            ("tokenizer.ggml.bos_token_id", .uint32(1)), ("tokenizer.ggml.eos_token_id", .uint32(2)),
        ]
    }

    /// Replaces the value of `key` in `metadata` (appending it when absent).
    static func set(_ key: String, _ value: GGUFTestBuilder.Value, in metadata: inout [(key: String, value: GGUFTestBuilder.Value)]) {
        if let index = metadata.firstIndex(where: { $0.key == key }) {
            metadata[index].value = value
        } else {
            metadata.append((key, value))
        }
    }

    /// The llama-layout file, without the tensors `skipped`, its keys changed by `edit`.
    func llama(skipping skipped: Set<String> = [],
               edit: (inout [(key: String, value: GGUFTestBuilder.Value)]) -> Void = { _ in }) -> GGUFTestBuilder {
        var builder = GGUFTestBuilder()
        builder.metadata = Self.metadata("llama")
        edit(&builder.metadata)
        for tensor in tensors where !skipped.contains(tensor.name) {
            builder.addTensor(tensor.name, dimensions: tensor.dimensions, floats: tensor.values)
        }
        return builder
    }

    /// The same weights in the phi3 layout: q and k rows back in rotate-half order (per head,
    /// stored row 2j is row j and stored row 2j+1 is row j + headDim/2), then fused. With
    /// `unpermuting` false the rows stay as stored: a model that rotates the wrong pairs.
    func phi3(unpermuting: Bool = true) -> GGUFTestBuilder {
        var builder = GGUFTestBuilder()
        builder.metadata = Self.metadata("phi3")
        let byName = Dictionary(uniqueKeysWithValues: tensors.map { ($0.name, $0.values) })
        func rows(_ name: String) -> [[Float]] {
            let values = byName[name] ?? []
            return stride(from: 0, to: values.count, by: Self.hidden).map { Array(values[$0..<($0 + Self.hidden)]) }
        }
        func rotateHalfOrder(_ stored: [[Float]]) -> [[Float]] {
            guard unpermuting else { return stored }
            let half = Self.headDim / 2
            return stored.indices.map { index in
                let (head, row) = (index / Self.headDim, index % Self.headDim)
                return stored[head * Self.headDim + (row < half ? 2 * row : 2 * (row - half) + 1)]
            }
        }
        for tensor in tensors {
            let parts = tensor.name.split(separator: ".")
            let layer = parts.count > 1 ? String(parts[1]) : ""
            switch parts.count > 2 ? String(parts[2]) : "" {
            case "attn_q":
                let fused = rotateHalfOrder(rows(tensor.name)) + rotateHalfOrder(rows("blk.\(layer).attn_k.weight"))
                    + rows("blk.\(layer).attn_v.weight")
                builder.addTensor("blk.\(layer).attn_qkv.weight", dimensions: [Self.hidden, fused.count], floats: fused.flatMap { $0 })
            case "ffn_gate":
                let fused = rows(tensor.name) + rows("blk.\(layer).ffn_up.weight")
                builder.addTensor("blk.\(layer).ffn_up.weight", dimensions: [Self.hidden, fused.count], floats: fused.flatMap { $0 })
            case "attn_k", "attn_v", "ffn_up":
                continue
            default:
                builder.addTensor(tensor.name, dimensions: tensor.dimensions, floats: tensor.values)
            }
        }
        return builder
    }
}
