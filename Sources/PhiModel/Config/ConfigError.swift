/// A config file that cannot describe a model this engine runs, naming the field at fault.
public enum ConfigError: Error, Equatable, CustomStringConvertible {
    case unreadable(file: String, reason: String)
    case missingField(file: String, field: String)
    case wrongType(file: String, field: String, expected: String)
    case invalidValue(file: String, field: String, reason: String)
    case unsupportedArchitecture(file: String, found: String)
    case unsupported(file: String, field: String, reason: String)

    public var description: String {
        switch self {
        case let .unreadable(file, reason): "cannot read \(file): \(reason)"
        case let .missingField(file, field): "\(file) has no field '\(field)'"
        case let .wrongType(file, field, expected): "\(file): field '\(field)' must be \(expected)"
        case let .invalidValue(file, field, reason): "\(file): field '\(field)' \(reason)"
        case let .unsupportedArchitecture(file, found):
            "\(file): architecture '\(found)' is not supported (expected Phi3ForCausalLM, LlamaForCausalLM or MistralForCausalLM)"
        case let .unsupported(file, field, reason): "\(file): field '\(field)' is not supported: \(reason)"
        }
    }
}
