/// What a listener can tell about an envelope without decoding it: whether it carries an
/// authentication tag. It walks the top-level protobuf fields of `phi.wire.v1.Envelope`
/// (1 protocol_major, 2 protocol_minor: varints; 3 auth_tag, 4 body: length-delimited) and copies
/// nothing, so a large message from an unauthenticated connection can be refused unread.
enum EnvelopePeek {
    /// The length of the `auth_tag` field (0 when absent), or nil when the bytes are not a
    /// well-formed sequence of fields.
    static func tagLength(_ bytes: UnsafeRawBufferPointer) -> Int? {
        var offset = 0
        var tagLength = 0
        while offset < bytes.count {
            guard let key = varint(bytes, &offset) else { return nil }
            let field = key >> 3
            switch key & 7 {
            case 0:
                guard varint(bytes, &offset) != nil else { return nil }
            case 2:
                guard let length = varint(bytes, &offset), length <= UInt64(bytes.count - offset) else { return nil }
                if field == 3 { tagLength = Int(length) }
                offset += Int(length)
            case 1:
                guard bytes.count - offset >= 8 else { return nil }
                offset += 8
            case 5:
                guard bytes.count - offset >= 4 else { return nil }
                offset += 4
            default:
                return nil
            }
        }
        return tagLength
    }

    private static func varint(_ bytes: UnsafeRawBufferPointer, _ offset: inout Int) -> UInt64? {
        var value: UInt64 = 0
        for shift in stride(from: 0, to: 64, by: 7) {
            guard offset < bytes.count else { return nil }
            let byte = bytes[offset]
            offset += 1
            value |= UInt64(byte & 0x7f) << UInt64(shift)
            if byte & 0x80 == 0 { return value }
        }
        return nil
    }
}
