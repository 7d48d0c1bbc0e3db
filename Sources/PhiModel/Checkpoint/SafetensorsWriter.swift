import Foundation

/// Writes one `.safetensors` file front to back: the header for all tensors first, then each
/// tensor's bytes in header order, so a caller can stream gigabytes without holding them.
public final class SafetensorsWriter {
    public struct Entry: Sendable {
        public let name: String
        public let dtype: String  // "BF16", "F16", "F32"
        public let shape: [Int]
        public init(name: String, dtype: String, shape: [Int]) {
            self.name = name
            self.dtype = dtype
            self.shape = shape
        }
        var byteCount: Int { shape.reduce(1, *) * (dtype == "F32" ? 4 : 2) }
    }

    private let handle: FileHandle
    private let path: String
    private let entries: [Entry]
    private var current = 0
    private var writtenOfCurrent = 0

    /// Total bytes of tensor data the file will hold.
    public var dataBytes: Int { entries.reduce(0) { $0 + $1.byteCount } }

    public init(path: String, entries: [Entry]) throws {
        self.path = path
        self.entries = entries
        guard FileManager.default.createFile(atPath: path, contents: nil) else {
            throw CheckpointError.unreadable(file: path, reason: "cannot create the file")
        }
        handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        var header = "{"
        var offset = 0
        for (index, entry) in entries.enumerated() {
            if index > 0 { header += "," }
            let shape = entry.shape.map(String.init).joined(separator: ",")
            header += "\"\(entry.name)\":{\"dtype\":\"\(entry.dtype)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + entry.byteCount)]}"
            offset += entry.byteCount
        }
        header += "}"
        // The data area starts 8-byte aligned, the header padded with spaces as safetensors does.
        while (header.utf8.count % 8) != 0 { header += " " }
        var length = UInt64(header.utf8.count).littleEndian
        try handle.write(contentsOf: Data(bytes: &length, count: 8))
        try handle.write(contentsOf: Data(header.utf8))
    }

    /// Appends bytes of the current tensor (and moves on to the next when it is complete).
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard current < entries.count, writtenOfCurrent + bytes.count <= entries[current].byteCount else {
            throw CheckpointError.malformedHeader(file: path, reason: "more data written than the header describes")
        }
        try handle.write(contentsOf: Data(bytes))
        writtenOfCurrent += bytes.count
        if writtenOfCurrent == entries[current].byteCount {
            current += 1
            writtenOfCurrent = 0
        }
    }

    /// Closes the file; throws when a tensor was left incomplete.
    public func finish() throws {
        try handle.close()
        guard current == entries.count else {
            throw CheckpointError.truncated(file: path, expectedBytes: dataBytes, actualBytes: -1)
        }
    }
}
