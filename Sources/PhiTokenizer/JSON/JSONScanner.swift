/// A strict JSON reader over UTF-8 bytes, usable value by value.
///
/// `JSONValue.parse` reads whole values with it; the tokenizer.json loader walks the 15 MB file
/// with the same primitives and reads the vocabulary and merges straight into byte buffers,
/// without building a `JSONValue` for them.
struct JSONScanner {
    /// Nesting deeper than this is refused rather than risking the stack on hostile input.
    static let depthLimit = 512

    let bytes: UnsafeBufferPointer<UInt8>
    private(set) var offset = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    var isAtEnd: Bool { offset >= bytes.count }

    mutating func skipWhitespace() {
        while offset < bytes.count {
            switch bytes[offset] {
            case 0x20, 0x0A, 0x0D, 0x09: offset += 1
            default: return
            }
        }
    }

    /// The next non-whitespace byte, not consumed.
    mutating func peek() -> UInt8? {
        skipWhitespace()
        return offset < bytes.count ? bytes[offset] : nil
    }

    mutating func expect(_ byte: UInt8, _ expected: String) throws(JSONError) {
        guard let found = peek() else { throw .unexpectedEnd(offset: offset, expected: expected) }
        guard found == byte else { throw unexpected(expected) }
        offset += 1
    }

    mutating func expectEnd() throws(JSONError) {
        if peek() != nil { throw unexpected("the end of the JSON") }
    }

    func unexpected(_ expected: String) -> JSONError {
        guard offset < bytes.count else { return .unexpectedEnd(offset: offset, expected: expected) }
        let byte = bytes[offset]
        let found = byte >= 0x20 && byte < 0x7F ? "'\(Character(Unicode.Scalar(byte)))'" : "byte 0x\(String(byte, radix: 16))"
        return .unexpectedCharacter(offset: offset, found: found, expected: expected)
    }

    // MARK: Containers

    /// The next key of an object whose `{` was consumed, or nil at its `}`. `isFirst` tracks commas.
    mutating func nextKey(isFirst: inout Bool) throws(JSONError) -> String? {
        guard try advanceInContainer(closing: UInt8(ascii: "}"), isFirst: &isFirst) else { return nil }
        let key = try readString()
        try expect(UInt8(ascii: ":"), "':' after an object key")
        return key
    }

    /// Like `nextKey`, with the key's UTF-8 bytes written into `key` instead of returned.
    mutating func nextKey(into key: inout [UInt8], isFirst: inout Bool) throws(JSONError) -> Bool {
        guard try advanceInContainer(closing: UInt8(ascii: "}"), isFirst: &isFirst) else { return false }
        try readStringBytes(into: &key)
        try expect(UInt8(ascii: ":"), "':' after an object key")
        return true
    }

    /// True when another element of an array whose `[` was consumed follows; false at its `]`.
    mutating func nextElement(isFirst: inout Bool) throws(JSONError) -> Bool {
        try advanceInContainer(closing: UInt8(ascii: "]"), isFirst: &isFirst)
    }

    private mutating func advanceInContainer(closing: UInt8, isFirst: inout Bool) throws(JSONError) -> Bool {
        guard let byte = peek() else { throw .unexpectedEnd(offset: offset, expected: "'\(Character(Unicode.Scalar(closing)))'") }
        if byte == closing {
            offset += 1
            return false
        }
        if !isFirst {
            guard byte == UInt8(ascii: ",") else { throw unexpected("',' or '\(Character(Unicode.Scalar(closing)))'") }
            offset += 1
        }
        isFirst = false
        return true
    }

    // MARK: Values

    mutating func readValue(depth: Int = 0) throws(JSONError) -> JSONValue {
        guard depth < Self.depthLimit else { throw .tooDeep(offset: offset, limit: Self.depthLimit) }
        guard let byte = peek() else { throw .unexpectedEnd(offset: offset, expected: "a value") }
        switch byte {
        case UInt8(ascii: "{"):
            offset += 1
            var object = JSONObject()
            var isFirst = true
            while let key = try nextKey(isFirst: &isFirst) {
                object[key] = try readValue(depth: depth + 1)
            }
            return .object(object)
        case UInt8(ascii: "["):
            offset += 1
            var array: [JSONValue] = []
            var isFirst = true
            while try nextElement(isFirst: &isFirst) { array.append(try readValue(depth: depth + 1)) }
            return .array(array)
        case UInt8(ascii: "\""):
            return .string(try readString())
        case UInt8(ascii: "t"):
            try readLiteral("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try readLiteral("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try readLiteral("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return try readNumber()
        default:
            throw unexpected("a value")
        }
    }

    /// A non-negative integer below 2^31 written as plain digits, or nil (nothing consumed) when the
    /// next value is anything else. The vocabulary's 200k ids are read this way, without strings.
    mutating func readSmallInteger() throws(JSONError) -> Int? {
        guard let first = peek(), (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else { return nil }
        var i = offset
        var value = 0
        while i < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[i]), value < Int(Int32.max) {
            value = value * 10 + Int(bytes[i] - UInt8(ascii: "0"))
            i += 1
        }
        let isPlain = i == bytes.count || !(bytes[i] == UInt8(ascii: ".") || bytes[i] | 0x20 == UInt8(ascii: "e")
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[i]))
        guard isPlain, value < Int(Int32.max), !(first == UInt8(ascii: "0") && i - offset > 1) else { return nil }
        offset = i
        return value
    }

    /// Skips one value of any type, checking its syntax.
    mutating func skipValue() throws(JSONError) {
        _ = try readValue()
    }

    private mutating func readLiteral(_ word: StaticString) throws(JSONError) {
        let start = offset
        let count = word.utf8CodeUnitCount
        guard offset + count <= bytes.count else { throw .unexpectedEnd(offset: bytes.count, expected: "\(word)") }
        for i in 0..<count where bytes[offset + i] != word.utf8Start[i] {
            offset += i
            throw unexpected("'\(word)'")
        }
        offset = start + count
    }

    private mutating func readNumber() throws(JSONError) -> JSONValue {
        let start = offset
        var isInteger = true
        func digits(_ scanner: inout JSONScanner) -> Int {
            let first = scanner.offset
            while scanner.offset < scanner.bytes.count,
                  (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(scanner.bytes[scanner.offset]) {
                scanner.offset += 1
            }
            return scanner.offset - first
        }
        if bytes[offset] == UInt8(ascii: "-") { offset += 1 }
        let integerStart = offset
        let integerDigits = digits(&self)
        var isValid = integerDigits > 0 && !(integerDigits > 1 && bytes[integerStart] == UInt8(ascii: "0"))
        if offset < bytes.count && bytes[offset] == UInt8(ascii: ".") {
            offset += 1
            isInteger = false
            isValid = isValid && digits(&self) > 0
        }
        if offset < bytes.count && (bytes[offset] | 0x20) == UInt8(ascii: "e") {
            offset += 1
            isInteger = false
            if offset < bytes.count && (bytes[offset] == UInt8(ascii: "+") || bytes[offset] == UInt8(ascii: "-")) {
                offset += 1
            }
            isValid = isValid && digits(&self) > 0
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<offset]), as: UTF8.self)
        guard isValid else { throw .invalidNumber(offset: start, text: text) }
        if isInteger, let value = Int(text) { return .integer(value) }
        guard let value = Double(text) else { throw .invalidNumber(offset: start, text: text) }
        return .double(value)
    }

    // MARK: Strings

    mutating func readString() throws(JSONError) -> String {
        let start = offset
        try expect(UInt8(ascii: "\""), "a string")
        // Fast path: no escapes, so the string is the bytes between the quotes.
        var i = offset
        while i < bytes.count, bytes[i] != UInt8(ascii: "\""), bytes[i] != UInt8(ascii: "\\"), bytes[i] >= 0x20 {
            i += 1
        }
        if i < bytes.count && bytes[i] == UInt8(ascii: "\"") {
            let raw = UnsafeBufferPointer(rebasing: bytes[offset..<i])
            guard let string = String(validating: raw, as: UTF8.self) else { throw .invalidUTF8(offset: offset) }
            offset = i + 1
            return string
        }
        offset = start
        var buffer: [UInt8] = []
        try readStringBytes(into: &buffer)
        guard let string = String(validating: buffer, as: UTF8.self) else { throw .invalidUTF8(offset: start) }
        return string
    }

    /// Reads a string, writing its unescaped UTF-8 into `buffer` (replacing what was there).
    /// A lone surrogate escape becomes U+FFFD.
    mutating func readStringBytes(into buffer: inout [UInt8]) throws(JSONError) {
        buffer.removeAll(keepingCapacity: true)
        try expect(UInt8(ascii: "\""), "a string")
        while true {
            guard offset < bytes.count else { throw .unexpectedEnd(offset: offset, expected: "'\"'") }
            let byte = bytes[offset]
            if byte == UInt8(ascii: "\"") {
                offset += 1
                return
            }
            if byte < 0x20 { throw unexpected("a string character (control characters must be escaped)") }
            if byte != UInt8(ascii: "\\") {
                buffer.append(byte)
                offset += 1
                continue
            }
            guard offset + 1 < bytes.count else { throw .unexpectedEnd(offset: offset + 1, expected: "an escape") }
            let escapeStart = offset
            offset += 2
            switch bytes[escapeStart + 1] {
            case UInt8(ascii: "\""): buffer.append(UInt8(ascii: "\""))
            case UInt8(ascii: "\\"): buffer.append(UInt8(ascii: "\\"))
            case UInt8(ascii: "/"): buffer.append(UInt8(ascii: "/"))
            case UInt8(ascii: "b"): buffer.append(0x08)
            case UInt8(ascii: "f"): buffer.append(0x0C)
            case UInt8(ascii: "n"): buffer.append(0x0A)
            case UInt8(ascii: "r"): buffer.append(0x0D)
            case UInt8(ascii: "t"): buffer.append(0x09)
            case UInt8(ascii: "u"):
                var value = try readHex4(at: escapeStart)
                if (0xD800..<0xDC00).contains(value), offset + 1 < bytes.count,
                   bytes[offset] == UInt8(ascii: "\\"), bytes[offset + 1] == UInt8(ascii: "u") {
                    let low = try readHex4(at: offset, consuming: false)
                    if (0xDC00..<0xE000).contains(low) {
                        offset += 6
                        value = 0x10000 + (value - 0xD800) << 10 + (low - 0xDC00)
                    }
                }
                let scalar = Unicode.Scalar(value) ?? "\u{FFFD}"
                buffer.append(contentsOf: String(scalar).utf8)
            default:
                offset = escapeStart
                throw .invalidEscape(offset: escapeStart)
            }
        }
    }

    /// The four hex digits after the `\u` at `escapeStart`; advances past them when consuming.
    private mutating func readHex4(at escapeStart: Int, consuming: Bool = true) throws(JSONError) -> UInt32 {
        guard escapeStart + 6 <= bytes.count else { throw .invalidEscape(offset: escapeStart) }
        var value: UInt32 = 0
        for i in (escapeStart + 2)..<(escapeStart + 6) {
            let byte = bytes[i]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw .invalidEscape(offset: escapeStart)
            }
            value = value << 4 | UInt32(digit)
        }
        if consuming { offset = escapeStart + 6 }
        return value
    }
}
