/// A bounds-checked little-endian reader over the bytes of a GGUF file. Every read checks that
/// it stays inside the file and fails with `CheckpointError.truncated` (naming the byte it
/// needed) otherwise, so a corrupt or cut-off header can never read out of bounds.
struct GGUFCursor {
    let bytes: UnsafeRawBufferPointer
    let file: String
    var offset: Int

    init(bytes: UnsafeRawBufferPointer, file: String, offset: Int = 0) {
        self.bytes = bytes
        self.file = file
        self.offset = offset
    }

    var remaining: Int { bytes.count - offset }

    /// Fails unless `count` more bytes lie inside the file.
    func require(_ count: Int) throws {
        guard count >= 0, count <= remaining else {
            let (end, overflow) = offset.addingReportingOverflow(max(count, 0))
            throw CheckpointError.truncated(file: file, expectedBytes: overflow ? Int.max : end, actualBytes: bytes.count)
        }
    }

    mutating func skip(_ count: Int) throws {
        try require(count)
        offset += count
    }

    mutating func readUInt8() throws -> UInt8 {
        try require(1)
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func readUInt16() throws -> UInt16 {
        try require(2)
        defer { offset += 2 }
        return UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    mutating func readUInt32() throws -> UInt32 {
        try require(4)
        defer { offset += 4 }
        return UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    mutating func readUInt64() throws -> UInt64 {
        try require(8)
        defer { offset += 8 }
        return UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    /// A u64 count or length that must fit an `Int` (GGUF stores them unsigned).
    mutating func readCount(_ what: @autoclosure () -> String) throws -> Int {
        let start = offset
        let value = try readUInt64()
        guard value <= UInt64(Int.max) else {
            throw CheckpointError.malformedHeader(file: file, reason: "\(what()) at byte \(start) is \(value), beyond any file")
        }
        return Int(value)
    }

    /// A GGUF string: u64 byte length, then that many bytes of UTF-8 (no terminator).
    mutating func readString(_ what: @autoclosure () -> String) throws -> String {
        let start = offset
        let length = try readCount("the length of \(what())")
        try require(length)
        defer { offset += length }
        let slice = UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + length)])
        guard let string = String(validating: slice, as: UTF8.self) else {
            throw CheckpointError.malformedHeader(file: file, reason: "\(what()) at byte \(start) is not valid UTF-8")
        }
        return string
    }

    /// Skips a string without decoding it (walking large token lists at open).
    mutating func skipString(_ what: @autoclosure () -> String) throws {
        let length = try readCount("the length of \(what())")
        try skip(length)
    }
}
