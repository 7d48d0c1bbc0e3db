/// The type tag of a GGUF metadata value (`gguf_type`).
public enum GGUFValueType: UInt32, Sendable, Equatable, CaseIterable {
    case uint8 = 0, int8, uint16, int16, uint32, int32, float32, bool, string, array, uint64, int64, float64

    /// Bytes of one value of a fixed-size type; nil for strings and arrays.
    var fixedBytes: Int? {
        switch self {
        case .uint8, .int8, .bool: 1
        case .uint16, .int16: 2
        case .uint32, .int32, .float32: 4
        case .uint64, .int64, .float64: 8
        case .string, .array: nil
        }
    }

    var isInteger: Bool {
        switch self {
        case .uint8, .int8, .uint16, .int16, .uint32, .int32, .uint64, .int64: true
        default: false
        }
    }
}

/// One metadata value. Arrays stay in the mapped file until asked for (`GGUFArray`): a
/// 200,000-entry token list costs nothing until the tokenizer reads it.
public enum GGUFValue: Sendable, Equatable {
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16), uint32(UInt32), int32(Int32)
    case uint64(UInt64), int64(Int64), float32(Float), float64(Double), bool(Bool), string(String)
    case array(GGUFArray)

    public var type: GGUFValueType {
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

    /// The value as an `Int` when it is an integer that fits one.
    public var intValue: Int? {
        switch self {
        case let .uint8(value): Int(value)
        case let .int8(value): Int(value)
        case let .uint16(value): Int(value)
        case let .int16(value): Int(value)
        case let .uint32(value): Int(value)
        case let .int32(value): Int(value)
        case let .uint64(value): Int(exactly: value)
        case let .int64(value): Int(value)
        default: nil
        }
    }

    /// The value as a `Double` when it is a float32 or float64.
    public var floatingValue: Double? {
        switch self {
        case let .float32(value): Double(value)
        case let .float64(value): value
        default: nil
        }
    }

    /// Reads one value of `type` at the cursor. Nested arrays have their extent validated (every
    /// element inside the file) but are decoded only when asked for. `depth` bounds the nesting
    /// a crafted file could use to exhaust the stack.
    static func read(_ type: GGUFValueType, from cursor: inout GGUFCursor, key: String, file: MappedFile,
                     depth: Int = 0) throws -> GGUFValue {
        switch type {
        case .uint8: return .uint8(try cursor.readUInt8())
        case .int8: return .int8(Int8(bitPattern: try cursor.readUInt8()))
        case .uint16: return .uint16(try cursor.readUInt16())
        case .int16: return .int16(Int16(bitPattern: try cursor.readUInt16()))
        case .uint32: return .uint32(try cursor.readUInt32())
        case .int32: return .int32(Int32(bitPattern: try cursor.readUInt32()))
        case .uint64: return .uint64(try cursor.readUInt64())
        case .int64: return .int64(Int64(bitPattern: try cursor.readUInt64()))
        case .float32: return .float32(Float(bitPattern: try cursor.readUInt32()))
        case .float64: return .float64(Double(bitPattern: try cursor.readUInt64()))
        case .bool:
            let start = cursor.offset
            let byte = try cursor.readUInt8()
            guard byte <= 1 else {
                throw CheckpointError.malformedHeader(file: cursor.file, reason: "'\(key)' at byte \(start) is a bool of value \(byte), not 0 or 1")
            }
            return .bool(byte == 1)
        case .string:
            return .string(try cursor.readString("the value of '\(key)'"))
        case .array:
            return .array(try GGUFArray.read(from: &cursor, key: key, file: file, depth: depth))
        }
    }

    static func readType(from cursor: inout GGUFCursor, key: String) throws -> GGUFValueType {
        let start = cursor.offset
        let raw = try cursor.readUInt32()
        guard let type = GGUFValueType(rawValue: raw) else {
            throw CheckpointError.malformedHeader(file: cursor.file, reason: "'\(key)' at byte \(start) has unknown value type \(raw)")
        }
        return type
    }
}

/// A metadata array inside the mapped file: its element type, count and bytes, validated at open
/// and decoded on demand. Holding one keeps its file mapped.
public struct GGUFArray: Sendable, Equatable {
    public let elementType: GGUFValueType
    public let count: Int
    /// The key it belongs to, for error messages (`key[3]` for a nested one).
    public let key: String
    let file: MappedFile
    /// Absolute byte range of the elements.
    let range: Range<Int>

    public static func == (lhs: GGUFArray, rhs: GGUFArray) -> Bool {
        lhs.elementType == rhs.elementType && lhs.count == rhs.count && lhs.range == rhs.range && lhs.file === rhs.file
    }

    /// The deepest nesting of arrays accepted (GGUF files in the wild use one level).
    static let maxDepth = 8

    /// Reads an array header at the cursor and skips over its elements, checking each one.
    static func read(from cursor: inout GGUFCursor, key: String, file: MappedFile, depth: Int) throws -> GGUFArray {
        guard depth < maxDepth else {
            throw CheckpointError.malformedHeader(file: cursor.file, reason: "'\(key)' nests arrays deeper than \(maxDepth) levels at byte \(cursor.offset)")
        }
        let elementType = try GGUFValue.readType(from: &cursor, key: key)
        let count = try cursor.readCount("the element count of '\(key)'")
        let start = cursor.offset
        if let size = elementType.fixedBytes {
            let (bytes, overflow) = count.multipliedReportingOverflow(by: size)
            try cursor.skip(overflow ? Int.max : bytes)
            if elementType == .bool {
                var check = GGUFCursor(bytes: cursor.bytes, file: cursor.file, offset: start)
                for index in 0..<count { _ = try GGUFValue.read(.bool, from: &check, key: "\(key)[\(index)]", file: file) }
            }
        } else {
            // Every string or nested array takes at least 8 bytes: a count beyond that is a cut-off file.
            try cursor.require(count.multipliedReportingOverflow(by: 8).overflow ? Int.max : count * 8)
            for index in 0..<count {
                if elementType == .string {
                    try cursor.skipString("'\(key)[\(index)]'")
                } else {
                    _ = try read(from: &cursor, key: "\(key)[\(index)]", file: file, depth: depth + 1)
                }
            }
        }
        return GGUFArray(elementType: elementType, count: count, key: key, file: file, range: start..<cursor.offset)
    }

    /// Every element, decoded.
    public func values() throws -> [GGUFValue] {
        var cursor = GGUFCursor(bytes: file.bytes(0..<file.byteCount), file: file.fileName, offset: range.lowerBound)
        var values: [GGUFValue] = []
        values.reserveCapacity(count)
        for index in 0..<count {
            values.append(try GGUFValue.read(elementType, from: &cursor, key: "\(key)[\(index)]", file: file, depth: 1))
        }
        return values
    }

    /// The elements as strings; fails naming the key unless they are strings.
    public func strings() throws -> [String] {
        guard elementType == .string else { throw wrongType("an array of strings") }
        var cursor = GGUFCursor(bytes: file.bytes(0..<file.byteCount), file: file.fileName, offset: range.lowerBound)
        var strings: [String] = []
        strings.reserveCapacity(count)
        for index in 0..<count { strings.append(try cursor.readString("'\(key)[\(index)]'")) }
        return strings
    }

    /// The elements as integers; fails naming the key unless they are integers that fit an `Int`.
    public func integers() throws -> [Int] {
        guard elementType.isInteger else { throw wrongType("an array of integers") }
        return try values().enumerated().map { index, value in
            guard let integer = value.intValue else {
                throw ConfigError.wrongType(file: file.fileName, field: "\(key)[\(index)]", expected: "an integer that fits 64 signed bits")
            }
            return integer
        }
    }

    /// The elements as floats; fails naming the key unless they are float32 or float64.
    public func floats() throws -> [Float] {
        guard elementType == .float32 || elementType == .float64 else { throw wrongType("an array of floats") }
        return try values().map { Float($0.floatingValue ?? .nan) }
    }

    /// The elements of an array of arrays.
    public func arrays() throws -> [GGUFArray] {
        guard elementType == .array else { throw wrongType("an array of arrays") }
        return try values().compactMap { value in
            if case let .array(array) = value { array } else { nil }
        }
    }

    private func wrongType(_ expected: String) -> ConfigError {
        ConfigError.wrongType(file: file.fileName, field: key, expected: "\(expected) (it holds \(elementType))")
    }
}
