import Foundation
import TOMLKit

/// Typed reads of one TOML table, naming the full key (`workers[2].layers`) in every error, and
/// refusing keys the table may not have.
struct TOMLFields {
    let file: String
    let table: TOMLTable
    let path: String

    func key(_ name: String) -> String { path.isEmpty ? name : "\(path).\(name)" }

    /// Fails on the first key not in `allowed`, suggesting the closest allowed one.
    func checkKeys(_ allowed: [String]) throws {
        for (name, _) in table where !allowed.contains(name) {
            let suggestion = allowed.min { editDistance($0, name) < editDistance($1, name) }
                .flatMap { editDistance($0, name) <= 3 ? $0 : nil }
            throw ManifestError.unknownKey(file: file, key: key(name), suggestion: suggestion.map { key($0) })
        }
    }

    func string(_ name: String) throws -> String? {
        guard let value = table[name] else { return nil }
        guard let text = value.string else { throw ManifestError.wrongType(file: file, key: key(name), expected: "a string") }
        return text
    }

    func requiredString(_ name: String) throws -> String {
        guard let text = try string(name) else { throw ManifestError.missingKey(file: file, key: key(name)) }
        return text
    }

    func int(_ name: String) throws -> Int? {
        guard let value = table[name] else { return nil }
        guard let number = value.int else { throw ManifestError.wrongType(file: file, key: key(name), expected: "an integer") }
        return number
    }

    func positiveInt(_ name: String) throws -> Int? {
        guard let number = try int(name) else { return nil }
        guard number > 0 else { throw ManifestError.invalidValue(file: file, key: key(name), reason: "must be positive, not \(number)") }
        return number
    }

    func bool(_ name: String) throws -> Bool? {
        guard let value = table[name] else { return nil }
        guard let flag = value.bool else { throw ManifestError.wrongType(file: file, key: key(name), expected: "true or false") }
        return flag
    }

    func double(_ name: String) throws -> Double? {
        guard let value = table[name] else { return nil }
        if let number = value.double { return number }
        if let number = value.int { return Double(number) }
        throw ManifestError.wrongType(file: file, key: key(name), expected: "a number")
    }

    func strings(_ name: String) throws -> [String]? {
        guard let value = table[name] else { return nil }
        guard let array = value.array else { throw ManifestError.wrongType(file: file, key: key(name), expected: "a list of strings") }
        return try array.map { element in
            guard let text = element.string else {
                throw ManifestError.wrongType(file: file, key: key(name), expected: "a list of strings")
            }
            return text
        }
    }

    /// An array of tables (`[[name]]`), each as fields with its indexed path.
    func tables(_ name: String) throws -> [TOMLFields] {
        guard let value = table[name] else { return [] }
        guard let array = value.array else { throw ManifestError.wrongType(file: file, key: key(name), expected: "an array of tables ([[\(name)]])") }
        return try array.enumerated().map { index, element in
            guard let child = element.table else {
                throw ManifestError.wrongType(file: file, key: "\(key(name))[\(index)]", expected: "a table")
            }
            return TOMLFields(file: file, table: child, path: "\(key(name))[\(index)]")
        }
    }

    /// A raw value (for JSON conversion).
    func value(_ name: String) -> TOMLValueConvertible? { table[name] }
}

/// Levenshtein distance, for "did you mean" suggestions.
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    var previous = Array(0...b.count)
    for (i, x) in a.enumerated() {
        var current = [i + 1] + Array(repeating: 0, count: b.count)
        for (j, y) in b.enumerated() {
            current[j + 1] = min(previous[j + 1] + 1, current[j] + 1, previous[j] + (x == y ? 0 : 1))
        }
        previous = current
    }
    return previous[b.count]
}
