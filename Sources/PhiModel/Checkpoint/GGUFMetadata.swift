/// The key/value metadata of a GGUF file, in file order, with typed accessors that fail naming
/// the file and key (`ConfigError.missingField` / `.wrongType`).
public struct GGUFMetadata: Sendable {
    /// The file's name, for error messages.
    public let file: String
    /// Keys in the order the file lists them.
    public let keys: [String]
    private let values: [String: GGUFValue]

    init(file: String, entries: [(key: String, value: GGUFValue)]) throws {
        self.file = file
        var values: [String: GGUFValue] = [:]
        for (key, value) in entries {
            guard values.updateValue(value, forKey: key) == nil else {
                throw CheckpointError.malformedHeader(file: file, reason: "metadata key '\(key)' appears twice")
            }
        }
        self.values = values
        keys = entries.map(\.key)
    }

    public subscript(key: String) -> GGUFValue? { values[key] }

    public func contains(_ key: String) -> Bool { values[key] != nil }

    /// The integer at `key` (any GGUF integer type that fits an `Int`).
    public func int(_ key: String) throws -> Int {
        guard let value = values[key] else { throw ConfigError.missingField(file: file, field: key) }
        guard let integer = value.intValue else { throw wrongType(key, "an integer", value) }
        return integer
    }

    public func optionalInt(_ key: String) throws -> Int? {
        contains(key) ? try int(key) : nil
    }

    /// The float32 or float64 at `key`.
    public func double(_ key: String) throws -> Double {
        guard let value = values[key] else { throw ConfigError.missingField(file: file, field: key) }
        guard let number = value.floatingValue else { throw wrongType(key, "a float", value) }
        return number
    }

    public func optionalDouble(_ key: String) throws -> Double? {
        contains(key) ? try double(key) : nil
    }

    public func string(_ key: String) throws -> String {
        guard let value = values[key] else { throw ConfigError.missingField(file: file, field: key) }
        guard case let .string(string) = value else { throw wrongType(key, "a string", value) }
        return string
    }

    public func optionalString(_ key: String) throws -> String? {
        contains(key) ? try string(key) : nil
    }

    public func optionalBool(_ key: String) throws -> Bool? {
        guard let value = values[key] else { return nil }
        guard case let .bool(bool) = value else { throw wrongType(key, "true or false", value) }
        return bool
    }

    public func array(_ key: String) throws -> GGUFArray {
        guard let value = values[key] else { throw ConfigError.missingField(file: file, field: key) }
        guard case let .array(array) = value else { throw wrongType(key, "an array", value) }
        return array
    }

    public func optionalArray(_ key: String) throws -> GGUFArray? {
        contains(key) ? try array(key) : nil
    }

    private func wrongType(_ key: String, _ expected: String, _ value: GGUFValue) -> ConfigError {
        ConfigError.wrongType(file: file, field: key, expected: "\(expected) (it holds \(value.type))")
    }
}
