import Foundation

/// One `.safetensors` file: an 8-byte little-endian header length, a JSON header mapping tensor
/// names to dtype, shape and `data_offsets` (relative to the end of the header), then the data.
/// Opening validates every entry of the header against the file; the data stays on disk until read.
public struct SafetensorsFile: Sendable {
    public let file: MappedFile
    let entries: [String: Entry]

    struct Entry: Sendable {
        let dtypeName: String
        let shape: [Int]
        let range: Range<Int>  // absolute byte range in the file
    }

    /// Names of all tensors in the file.
    public var tensorNames: [String] { entries.keys.sorted() }

    public init(path: String) throws {
        let file = try MappedFile(path: path)
        self.file = file
        let name = file.fileName
        guard file.byteCount >= 8 else {
            throw CheckpointError.truncated(file: name, expectedBytes: 8, actualBytes: file.byteCount)
        }
        let lengthBytes = file.bytes(0..<8)
        var headerLength: UInt64 = 0
        for index in 0..<8 { headerLength |= UInt64(lengthBytes[index]) << (8 * UInt64(index)) }
        guard headerLength <= UInt64(file.byteCount - 8) else {
            throw CheckpointError.truncated(file: name, expectedBytes: headerLength > UInt64(Int.max - 8) ? Int.max : 8 + Int(headerLength),
                                            actualBytes: file.byteCount)
        }
        let dataStart = 8 + Int(headerLength)
        let headerBytes = Data(file.bytes(8..<dataStart))
        entries = try Self.parseHeader(headerBytes, file: name, dataStart: dataStart, fileBytes: file.byteCount)
    }

    /// The tensor `name`, or nil when the file does not hold it.
    public func tensor(_ tensorName: String) throws -> TensorView? {
        guard let entry = entries[tensorName] else { return nil }
        guard let dtype = Self.dtypes[entry.dtypeName] else {
            throw CheckpointError.unsupportedDType(file: file.fileName, tensor: tensorName, dtype: entry.dtypeName)
        }
        return TensorView(name: tensorName, dtype: dtype, shape: entry.shape, bytes: file.bytes(entry.range), file: file)
    }

    /// The dtypes the engine reads; others are validated but refused when asked for.
    static let dtypes: [String: TensorDType] = ["F32": .f32, "F16": .f16, "BF16": .bf16]
    /// Element sizes of every safetensors dtype, to validate byte lengths of all entries.
    static let elementBytes: [String: Int] = [
        "F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1,
        "U16": 2, "U32": 4, "U64": 8, "BOOL": 1, "F8_E4M3": 1, "F8_E5M2": 1,
    ]

    private static func parseHeader(_ data: Data, file: String, dataStart: Int, fileBytes: Int) throws -> [String: Entry] {
        let parsed: Any
        do {
            parsed = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw CheckpointError.malformedHeader(file: file, reason: "the header is not valid JSON")
        }
        guard let object = parsed as? [String: Any] else {
            throw CheckpointError.malformedHeader(file: file, reason: "the header is not a JSON object")
        }
        var entries: [String: Entry] = [:]
        for (name, value) in object where name != "__metadata__" {
            guard let fields = value as? [String: Any],
                  let dtypeName = fields["dtype"] as? String,
                  let shape = fields["shape"] as? [Int],
                  let offsets = fields["data_offsets"] as? [Int], offsets.count == 2
            else {
                throw CheckpointError.malformedHeader(file: file, reason: "tensor '\(name)' lacks dtype, shape or data_offsets")
            }
            guard let size = elementBytes[dtypeName] else {
                throw CheckpointError.unsupportedDType(file: file, tensor: name, dtype: dtypeName)
            }
            guard shape.allSatisfy({ $0 >= 0 }), offsets[0] >= 0, offsets[0] <= offsets[1] else {
                throw CheckpointError.malformedHeader(file: file, reason: "tensor '\(name)' has a negative dimension or reversed data_offsets \(offsets)")
            }
            var elements = 1
            for dimension in shape {
                let (product, overflow) = elements.multipliedReportingOverflow(by: dimension)
                guard !overflow else { throw CheckpointError.malformedHeader(file: file, reason: "tensor '\(name)' has an impossibly large shape \(shape)") }
                elements = product
            }
            let (expected, overflow) = elements.multipliedReportingOverflow(by: size)
            let actual = offsets[1] - offsets[0]
            guard !overflow, expected == actual else {
                throw CheckpointError.byteCountMismatch(file: file, tensor: name, dtype: dtypeName, shape: shape,
                                                        expectedBytes: overflow ? Int.max : expected, actualBytes: actual)
            }
            let (start, startOverflow) = dataStart.addingReportingOverflow(offsets[0])
            let (end, endOverflow) = dataStart.addingReportingOverflow(offsets[1])
            guard !startOverflow, !endOverflow else {
                throw CheckpointError.offsetOutOfBounds(file: file, tensor: name, end: Int.max, fileBytes: fileBytes)
            }
            entries[name] = Entry(dtypeName: dtypeName, shape: shape, range: start..<end)
        }
        try checkExtent(entries, file: file, dataStart: dataStart, fileBytes: fileBytes)
        return entries
    }

    /// Every tensor must lie inside the file. When the tensors tile the data area without gaps and
    /// only the file is short, the file was cut off (truncated); otherwise the offending tensor is named.
    private static func checkExtent(_ entries: [String: Entry], file: String, dataStart: Int, fileBytes: Int) throws {
        let sorted = entries.sorted { $0.value.range.lowerBound < $1.value.range.lowerBound }
        var cursor = dataStart
        var contiguous = true
        for (name, entry) in sorted {
            if entry.range.lowerBound < cursor {
                throw CheckpointError.malformedHeader(file: file, reason: "tensor '\(name)' overlaps the tensor before it")
            }
            if entry.range.lowerBound != cursor { contiguous = false }
            cursor = entry.range.upperBound
        }
        guard cursor > fileBytes else { return }
        if contiguous {
            throw CheckpointError.truncated(file: file, expectedBytes: cursor, actualBytes: fileBytes)
        }
        let culprit = sorted.first { $0.value.range.upperBound > fileBytes }
        throw CheckpointError.offsetOutOfBounds(file: file, tensor: culprit?.key ?? "?", end: cursor, fileBytes: fileBytes)
    }
}
