import CPhiWire

/// Reads fields of an unpacked protobuf-c message into Swift values, checking each against the
/// limits, and names the peer and the field in every error.
struct FieldReader {
    let peer: String
    let limits: WireLimits

    /// The sub-message at `pointer`, or `missingField` when unset.
    func required<T>(_ pointer: UnsafeMutablePointer<T>?, _ field: String) throws(WireError) -> T {
        guard let pointer else { throw .missingField(peer: peer, field: field) }
        return pointer.pointee
    }

    /// A string field: valid UTF-8 of at most `maxStringBytes` bytes.
    func string(_ pointer: UnsafeMutablePointer<CChar>?, _ field: String) throws(WireError) -> String {
        guard let pointer else { return "" }
        // protobuf-c terminates strings with NUL; the scan stops one past the limit.
        var length = 0
        while pointer[length] != 0 {
            length += 1
            guard length <= limits.maxStringBytes else {
                throw .tooLarge(peer: peer, field: "\(field) (bytes)", value: length, limit: limits.maxStringBytes)
            }
        }
        let bytes = UnsafeRawBufferPointer(start: pointer, count: length)
        guard let string = String(validating: bytes, as: UTF8.self) else {
            throw .invalidField(peer: peer, field: field, reason: "not valid UTF-8")
        }
        return string
    }

    /// A bytes field, optionally required to hold one of `allowedCounts` bytes.
    func bytes(_ data: ProtobufCBinaryData, _ field: String, allowedCounts: [Int]? = nil) throws(WireError) -> [UInt8] {
        if let allowedCounts, !allowedCounts.contains(data.len) {
            let expected = allowedCounts.map(String.init).joined(separator: " or ")
            throw .invalidField(peer: peer, field: field, reason: "holds \(data.len) bytes, expected \(expected)")
        }
        guard data.len > 0, let base = data.data else { return [] }
        return Array(UnsafeBufferPointer(start: base, count: data.len))
    }

    /// An enum field; 0 (unset) is missing, numbers this version lacks are unknown.
    func enumValue<E: RawRepresentable>(_ raw: some BinaryInteger, _ field: String) throws(WireError) -> E
        where E.RawValue == UInt32 {
        let value = UInt32(truncatingIfNeeded: raw)
        if value == 0 { throw .missingField(peer: peer, field: field) }
        guard let decoded = E(rawValue: value) else { throw .unknownEnumValue(peer: peer, field: field, value: value) }
        return decoded
    }

    /// A count at most `limit`.
    func count(_ value: some BinaryInteger, _ field: String, limit: Int) throws(WireError) -> Int {
        guard value <= limit else {
            throw .tooLarge(peer: peer, field: field, value: Int(clamping: value), limit: limit)
        }
        return Int(value)
    }

    /// A layer range within `maxLayers`, with begin <= end (empty only when `allowEmpty`).
    func layers(_ pointer: UnsafeMutablePointer<Phi__Wire__V1__LayerRange>?, _ field: String,
                allowEmpty: Bool) throws(WireError) -> Range<Int> {
        let range = try required(pointer, field)
        let begin = try count(range.begin, "\(field).begin", limit: limits.maxLayers)
        let end = try count(range.end, "\(field).end", limit: limits.maxLayers)
        guard begin <= end, allowEmpty || begin < end else {
            throw .invalidField(peer: peer, field: field, reason: "[\(begin), \(end)) is not a non-empty layer range")
        }
        return begin ..< end
    }

    /// Token ids: each below 2^31, as the model's vocabulary indices are.
    func tokenIDs(_ count: Int, _ pointer: UnsafeMutablePointer<UInt32>?, _ field: String) throws(WireError) -> [Int] {
        guard count > 0, let pointer else { return [] }
        var ids: [Int] = []
        ids.reserveCapacity(count)
        for index in 0 ..< count {
            guard pointer[index] <= UInt32(Int32.max) else {
                throw .invalidField(peer: peer, field: "\(field)[\(index)]", reason: "token id \(pointer[index]) exceeds 2^31 - 1")
            }
            ids.append(Int(pointer[index]))
        }
        return ids
    }

    /// A duration in nanoseconds.
    func duration(_ nanoseconds: UInt64) -> Duration {
        .nanoseconds(Int64(clamping: nanoseconds))
    }
}

extension Duration {
    /// Whole nanoseconds, clamped to the wire's unsigned 64 bits.
    var wireNanoseconds: UInt64 {
        let (seconds, attoseconds) = components
        guard seconds >= 0 else { return 0 }
        let (whole, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? .max : whole &+ UInt64(attoseconds / 1_000_000_000)
    }
}
