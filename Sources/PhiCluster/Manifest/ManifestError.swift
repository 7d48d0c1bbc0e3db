/// A manifest that does not describe a usable cluster, naming the file, key, worker or layers at fault.
public enum ManifestError: Error, Equatable, CustomStringConvertible {
    case unreadable(file: String, reason: String)
    case syntax(file: String, line: Int, column: Int, reason: String)
    case unknownKey(file: String, key: String, suggestion: String?)
    case missingKey(file: String, key: String)
    case wrongType(file: String, key: String, expected: String)
    case invalidValue(file: String, key: String, reason: String)
    case duplicate(file: String, key: String, value: String)
    case layers(file: String, reason: String)
    case noWorkers(file: String)

    public var description: String {
        switch self {
        case let .unreadable(file, reason): "cannot read manifest \(file): \(reason)"
        case let .syntax(file, line, column, reason): "\(file):\(line):\(column): \(reason)"
        case let .unknownKey(file, key, suggestion):
            "\(file): unknown key '\(key)'" + (suggestion.map { " (did you mean '\($0)'?)" } ?? "")
        case let .missingKey(file, key): "\(file): '\(key)' is required"
        case let .wrongType(file, key, expected): "\(file): '\(key)' must be \(expected)"
        case let .invalidValue(file, key, reason): "\(file): '\(key)' \(reason)"
        case let .duplicate(file, key, value): "\(file): \(key) '\(value)' appears twice"
        case let .layers(file, reason): "\(file): \(reason)"
        case let .noWorkers(file): "\(file): no [[workers]]: a cluster needs at least one"
        }
    }
}
