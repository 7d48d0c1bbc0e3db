/// Why a received message was refused. Every case names the peer it came from and, where one is
/// at fault, the field ("frame from tcp://10.0.0.12:5555 carries 3071 floats, expected 3072").
public enum WireError: Error, Equatable, CustomStringConvertible {
    /// The bytes are not a protobuf `what` (truncated, garbage, or a wrong field type).
    case malformed(peer: String, what: String, byteCount: Int)
    /// The envelope carries a protocol major this node does not speak.
    case protocolMismatch(peer: String, theirs: ProtocolVersion, ours: ProtocolVersion)
    /// A field every message of its kind must carry is unset.
    case missingField(peer: String, field: String)
    /// An enum field holds a number this version does not define.
    case unknownEnumValue(peer: String, field: String, value: UInt32)
    /// A payload whose byte count disagrees with its shape; `expected` and `actual` are bytes, `unit`
    /// names the elements ("floats", "f16 values").
    case payloadSize(peer: String, field: String, expected: Int, actual: Int, elementBytes: Int, unit: String)
    /// A count or size above a `WireLimits` bound.
    case tooLarge(peer: String, field: String, value: Int, limit: Int)
    /// A value outside its range or inconsistent with another field.
    case invalidField(peer: String, field: String, reason: String)
    /// No tag on a message that needs one: this node has a secret.
    case missingTag(peer: String, kind: String)
    /// A tag on a message to a node without a secret: the peer has one.
    case unexpectedTag(peer: String)
    /// The tag does not verify under this run's key.
    case badTag(peer: String)
    /// A tagged message before this node knows the run key (no `Authenticate` yet).
    case noRunKey(peer: String, kind: String)

    public var description: String {
        switch self {
        case let .malformed(peer, what, count):
            "message from \(peer) is not a valid \(what) (\(count) bytes): it is truncated or garbled"
        case let .protocolMismatch(peer, theirs, ours):
            "\(peer) speaks wire protocol \(theirs), this node speaks \(ours): major versions must match"
        case let .missingField(peer, field):
            "message from \(peer) lacks \(field)"
        case let .unknownEnumValue(peer, field, value):
            "message from \(peer) has unknown value \(value) in \(field)"
        case let .payloadSize(peer, field, expected, actual, elementBytes, unit):
            if actual % elementBytes == 0 {
                "frame from \(peer) carries \(actual / elementBytes) \(unit) in \(field), expected \(expected / elementBytes)"
            } else {
                "frame from \(peer) carries \(actual) bytes in \(field), expected \(expected)"
            }
        case let .tooLarge(peer, field, value, limit):
            "message from \(peer) has \(field) = \(value), above the limit of \(limit)"
        case let .invalidField(peer, field, reason):
            "message from \(peer) has an invalid \(field): \(reason)"
        case let .missingTag(peer, kind):
            "\(kind) from \(peer) carries no authentication tag, but this node has a secret file: "
                + "the peer runs without one, or skipped the handshake"
        case let .unexpectedTag(peer):
            "message from \(peer) carries an authentication tag, but this node has no secret file"
        case let .badTag(peer):
            "message from \(peer) fails authentication: its tag does not match this run's key "
                + "(a different secret, another run, or a corrupted message)"
        case let .noRunKey(peer, kind):
            "\(kind) from \(peer) arrived before this node was authenticated for a run: say Hello and Authenticate first"
        }
    }

    /// The code an `ErrorReport` replying to this error carries.
    public var code: WireErrorCode {
        switch self {
        case .malformed, .missingField, .unknownEnumValue: .malformed
        case .protocolMismatch: .protocolMismatch
        case .payloadSize, .invalidField: .invalidField
        case .tooLarge: .tooLarge
        case .missingTag, .unexpectedTag, .badTag: .unauthenticated
        case .noRunKey: .notReady
        }
    }

    /// The peer the message came from.
    public var peer: String {
        switch self {
        case let .malformed(peer, _, _), let .protocolMismatch(peer, _, _), let .missingField(peer, _),
             let .unknownEnumValue(peer, _, _), let .payloadSize(peer, _, _, _, _, _), let .tooLarge(peer, _, _, _),
             let .invalidField(peer, _, _), let .missingTag(peer, _), let .unexpectedTag(peer), let .badTag(peer),
             let .noRunKey(peer, _):
            peer
        }
    }

    /// The field at fault, or "" when the message as a whole is.
    public var field: String {
        switch self {
        case let .missingField(_, field), let .unknownEnumValue(_, field, _), let .payloadSize(_, field, _, _, _, _),
             let .tooLarge(_, field, _, _), let .invalidField(_, field, _):
            field
        case .malformed, .protocolMismatch, .missingTag, .unexpectedTag, .badTag, .noRunKey:
            ""
        }
    }

    /// The reply a node sends for this error.
    public func report(origin: String) -> ErrorReport {
        ErrorReport(code: code, message: description, origin: origin, peer: peer, field: field)
    }
}
