/// Why a JSON text could not be parsed, with the byte offset where parsing stopped.
public enum JSONError: Error, Equatable, CustomStringConvertible {
    case unexpectedEnd(offset: Int, expected: String)
    case unexpectedCharacter(offset: Int, found: String, expected: String)
    case invalidEscape(offset: Int)
    case invalidNumber(offset: Int, text: String)
    case invalidUTF8(offset: Int)
    case tooDeep(offset: Int, limit: Int)

    public var offset: Int {
        switch self {
        case let .unexpectedEnd(offset, _), let .unexpectedCharacter(offset, _, _), let .invalidEscape(offset),
             let .invalidNumber(offset, _), let .invalidUTF8(offset), let .tooDeep(offset, _):
            offset
        }
    }

    public var description: String {
        switch self {
        case let .unexpectedEnd(offset, expected):
            "the JSON ends at byte \(offset) where \(expected) should follow"
        case let .unexpectedCharacter(offset, found, expected):
            "byte \(offset) of the JSON is \(found), expected \(expected)"
        case let .invalidEscape(offset):
            "byte \(offset) of the JSON starts an invalid string escape"
        case let .invalidNumber(offset, text):
            "byte \(offset) of the JSON starts an invalid number '\(text)'"
        case let .invalidUTF8(offset):
            "byte \(offset) of the JSON is not valid UTF-8"
        case let .tooDeep(offset, limit):
            "the JSON nests deeper than \(limit) levels at byte \(offset)"
        }
    }
}
