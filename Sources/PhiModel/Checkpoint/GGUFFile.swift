/// A GGUF file (versions 2 and 3, little-endian), memory-mapped: magic `GGUF`, version, tensor
/// and metadata counts, the metadata, the tensor table, then the tensor data from the first
/// multiple of `general.alignment` (default 32) after the table. Opening validates all of it
/// against the file — every read bounds-checked, every tensor of a known type, a whole number of
/// blocks per row, aligned, and inside the file without overlap — but reads no tensor data;
/// a stage touches only the pages of its own tensors.
public struct GGUFFile: TensorSource {
    public let file: MappedFile
    public let version: UInt32
    public let metadata: GGUFMetadata
    /// Alignment of the data section and of every tensor in it.
    public let alignment: Int
    /// Absolute offset of the data section.
    public let dataStart: Int
    /// The tensor table, in file order.
    public let tensorInfos: [GGUFTensorInfo]
    private let indexOfTensor: [String: Int]

    public static let defaultAlignment = 32
    static let magic: [UInt8] = Array("GGUF".utf8)
    /// GGML_MAX_DIMS: no tensor has more dimensions.
    static let maxDimensions = 4

    public init(path: String) throws {
        let file = try MappedFile(path: path)
        self.file = file
        let name = file.fileName
        var cursor = GGUFCursor(bytes: file.bytes(0..<file.byteCount), file: name)

        let head = Array(cursor.bytes.prefix(4))
        guard head == Array(Self.magic.prefix(head.count)) else { throw CheckpointError.badMagic(file: name, found: head) }
        try cursor.skip(4)
        version = try cursor.readUInt32()
        guard version == 2 || version == 3 else {
            throw CheckpointError.unsupportedVersion(file: name, version: version)
        }
        let tensorCount = try cursor.readCount("the tensor count")
        let metadataCount = try cursor.readCount("the metadata count")

        // Each entry takes at least 13 bytes (key length, type, a one-byte value): a larger count is a cut-off file.
        try cursor.require(metadataCount.multipliedReportingOverflow(by: 13).overflow ? Int.max : metadataCount * 13)
        var entries: [(key: String, value: GGUFValue)] = []
        for index in 0..<metadataCount {
            let key = try cursor.readString("metadata key #\(index)")
            let type = try GGUFValue.readType(from: &cursor, key: key)
            entries.append((key, try GGUFValue.read(type, from: &cursor, key: key, file: file)))
        }
        metadata = try GGUFMetadata(file: name, entries: entries)
        alignment = try Self.alignment(metadata)

        // Each tensor entry takes at least 32 bytes (name length, one dimension, type, offset).
        try cursor.require(tensorCount.multipliedReportingOverflow(by: 32).overflow ? Int.max : tensorCount * 32)
        var entriesOfTensors: [(name: String, dimensions: [Int], type: GGMLType, offset: Int, bytes: Int)] = []
        for index in 0..<tensorCount {
            entriesOfTensors.append(try Self.readTensorEntry(&cursor, index: index, alignment: alignment))
        }
        let (dataStart, overflow) = Self.aligned(cursor.offset, to: alignment)
        guard !overflow else { throw CheckpointError.malformedHeader(file: name, reason: "the data section starts beyond any file") }
        self.dataStart = dataStart

        var infos: [GGUFTensorInfo] = []
        var indexOfTensor: [String: Int] = [:]
        for entry in entriesOfTensors {
            let (start, startOverflow) = dataStart.addingReportingOverflow(entry.offset)
            let (end, endOverflow) = start.addingReportingOverflow(entry.bytes)
            guard !startOverflow, !endOverflow else {
                throw CheckpointError.offsetOutOfBounds(file: name, tensor: entry.name, end: Int.max, fileBytes: file.byteCount)
            }
            guard indexOfTensor.updateValue(infos.count, forKey: entry.name) == nil else {
                throw CheckpointError.malformedHeader(file: name, reason: "tensor '\(entry.name)' appears twice in the tensor table")
            }
            infos.append(GGUFTensorInfo(name: entry.name, dimensions: entry.dimensions, type: entry.type,
                                        offset: entry.offset, range: start..<end))
        }
        try Self.checkExtent(infos, file: name, dataStart: dataStart, alignment: alignment, fileBytes: file.byteCount)
        tensorInfos = infos
        self.indexOfTensor = indexOfTensor
    }

    public var tensorNames: [String] { tensorInfos.map(\.name).sorted() }

    public func contains(_ name: String) -> Bool { indexOfTensor[name] != nil }

    /// The table entry of `name`, or nil when the file has no such tensor.
    public func info(_ name: String) -> GGUFTensorInfo? {
        indexOfTensor[name].map { tensorInfos[$0] }
    }

    /// The tensor `name`, its shape outermost first ([rows, columns]). Throws `missingTensor`
    /// when absent and `unsupportedDType` for a valid GGML type the engine does not compute with.
    public func tensor(_ name: String) throws -> TensorView {
        guard let info = info(name) else {
            throw CheckpointError.missingTensor(name: name, searched: file.fileName)
        }
        guard let dtype = info.type.dtype else {
            throw CheckpointError.unsupportedDType(file: file.fileName, tensor: name, dtype: info.type.name)
        }
        return TensorView(name: name, dtype: dtype, shape: info.shape, bytes: file.bytes(info.range), file: file)
    }

    /// The tokenizer's vocabulary, merges, special ids and chat template (decoded on each call:
    /// the token list is large).
    public func tokenizerMetadata() throws -> GGUFTokenizerMetadata {
        try GGUFTokenizerMetadata(metadata)
    }

    /// `general.alignment`: a u32 power of two, 32 when absent.
    private static func alignment(_ metadata: GGUFMetadata) throws -> Int {
        guard let value = metadata["general.alignment"] else { return defaultAlignment }
        guard case let .uint32(alignment) = value, alignment > 0, alignment & (alignment - 1) == 0 else {
            throw CheckpointError.malformedHeader(file: metadata.file, reason: "general.alignment must be a u32 power of two, found \(value)")
        }
        return Int(alignment)
    }

    private static func readTensorEntry(_ cursor: inout GGUFCursor, index: Int, alignment: Int) throws
        -> (name: String, dimensions: [Int], type: GGMLType, offset: Int, bytes: Int) {
        let file = cursor.file
        let name = try cursor.readString("the name of tensor #\(index)")
        let dimensionCount = try cursor.readUInt32()
        guard (1...UInt32(maxDimensions)).contains(dimensionCount) else {
            throw CheckpointError.malformedHeader(file: file, reason: "tensor '\(name)' has \(dimensionCount) dimensions (1 to \(maxDimensions) allowed)")
        }
        var dimensions: [Int] = []
        var elements = 1
        for _ in 0..<dimensionCount {
            let dimension = try cursor.readCount("a dimension of tensor '\(name)'")
            let (product, overflow) = elements.multipliedReportingOverflow(by: dimension)
            guard !overflow else {
                throw CheckpointError.malformedHeader(file: file, reason: "tensor '\(name)' has an impossibly large shape")
            }
            dimensions.append(dimension)
            elements = product
        }
        let typeOffset = cursor.offset
        let typeId = try cursor.readUInt32()
        guard let type = GGMLType(id: typeId) else {
            throw CheckpointError.unknownTensorType(file: file, tensor: name, type: typeId, headerOffset: typeOffset)
        }
        let offset = try cursor.readCount("the data offset of tensor '\(name)'")
        guard dimensions[0] % type.blockElements == 0 else {
            throw CheckpointError.malformedHeader(
                file: file, reason: "tensor '\(name)' has rows of \(dimensions[0]) elements, not a whole number of \(type.name) blocks of \(type.blockElements)")
        }
        let (bytes, overflow) = (elements / type.blockElements).multipliedReportingOverflow(by: type.blockBytes)
        guard !overflow else {
            throw CheckpointError.malformedHeader(file: file, reason: "tensor '\(name)' has an impossibly large shape")
        }
        guard offset % alignment == 0 else {
            throw CheckpointError.malformedHeader(file: file, reason: "tensor '\(name)' starts at data offset \(offset), not a multiple of the alignment \(alignment)")
        }
        return (name, dimensions, type, offset, bytes)
    }

    static func aligned(_ offset: Int, to alignment: Int) -> (Int, overflow: Bool) {
        let (padded, overflow) = offset.addingReportingOverflow(alignment - 1)
        return (padded / alignment * alignment, overflow)
    }

    /// Every tensor must lie inside the file without overlapping another. When the tensors tile
    /// the data section (each at the next aligned offset) and only the file is short, the file was
    /// cut off (truncated); otherwise the tensor reaching past the end is named.
    private static func checkExtent(_ infos: [GGUFTensorInfo], file: String, dataStart: Int, alignment: Int, fileBytes: Int) throws {
        let sorted = infos.filter { !$0.range.isEmpty }.sorted { $0.range.lowerBound < $1.range.lowerBound }
        var cursor = dataStart
        var contiguous = true
        var previous: String?
        for info in sorted {
            if info.range.lowerBound < cursor, let previous {
                throw CheckpointError.malformedHeader(file: file, reason: "tensor '\(info.name)' overlaps tensor '\(previous)'")
            }
            if info.range.lowerBound != aligned(cursor, to: alignment).0 { contiguous = false }
            cursor = info.range.upperBound
            previous = info.name
        }
        guard cursor > fileBytes else { return }
        if contiguous {
            throw CheckpointError.truncated(file: file, expectedBytes: cursor, actualBytes: fileBytes)
        }
        let culprit = sorted.first { $0.range.upperBound > fileBytes }
        throw CheckpointError.offsetOutOfBounds(file: file, tensor: culprit?.name ?? "?", end: culprit?.range.upperBound ?? cursor,
                                                fileBytes: fileBytes)
    }
}
