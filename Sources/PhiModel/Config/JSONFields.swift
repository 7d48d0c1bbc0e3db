import Foundation

/// Typed access to the fields of a parsed JSON object, failing with the file and field named.
struct JSONFields {
    let file: String
    let object: [String: Any]

    static func read(_ url: URL) throws -> JSONFields {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw ConfigError.unreadable(file: url.path, reason: error.localizedDescription)
        }
        let parsed: Any
        do {
            parsed = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw ConfigError.unreadable(file: url.path, reason: "not valid JSON (\(error.localizedDescription))")
        }
        guard let object = parsed as? [String: Any] else {
            throw ConfigError.unreadable(file: url.path, reason: "the top level is not a JSON object")
        }
        return JSONFields(file: url.path, object: object)
    }

    func has(_ field: String) -> Bool {
        guard let value = object[field] else { return false }
        return !(value is NSNull)
    }

    func nested(_ field: String) throws -> JSONFields? {
        guard has(field) else { return nil }
        guard let value = object[field] as? [String: Any] else {
            throw ConfigError.wrongType(file: file, field: field, expected: "an object")
        }
        return JSONFields(file: file, object: value)
    }

    func int(_ field: String) throws -> Int {
        guard has(field) else { throw ConfigError.missingField(file: file, field: field) }
        return try intValue(object[field], field: field)
    }

    func optionalInt(_ field: String) throws -> Int? {
        has(field) ? try int(field) : nil
    }

    func double(_ field: String) throws -> Double {
        guard has(field) else { throw ConfigError.missingField(file: file, field: field) }
        guard let number = object[field] as? NSNumber, !isBool(number) else {
            throw ConfigError.wrongType(file: file, field: field, expected: "a number")
        }
        return number.doubleValue
    }

    func optionalDouble(_ field: String) throws -> Double? {
        has(field) ? try double(field) : nil
    }

    func bool(_ field: String) throws -> Bool? {
        guard has(field) else { return nil }
        guard let number = object[field] as? NSNumber, isBool(number) else {
            throw ConfigError.wrongType(file: file, field: field, expected: "true or false")
        }
        return number.boolValue
    }

    func string(_ field: String) throws -> String? {
        guard has(field) else { return nil }
        guard let value = object[field] as? String else {
            throw ConfigError.wrongType(file: file, field: field, expected: "a string")
        }
        return value
    }

    func strings(_ field: String) throws -> [String]? {
        guard has(field) else { return nil }
        guard let value = object[field] as? [String] else {
            throw ConfigError.wrongType(file: file, field: field, expected: "a list of strings")
        }
        return value
    }

    func floats(_ field: String) throws -> [Float] {
        guard has(field) else { throw ConfigError.missingField(file: file, field: field) }
        guard let list = object[field] as? [Any] else {
            throw ConfigError.wrongType(file: file, field: field, expected: "a list of numbers")
        }
        var result: [Float] = []
        for (index, element) in list.enumerated() {
            guard let number = element as? NSNumber, !isBool(number) else {
                throw ConfigError.wrongType(file: file, field: "\(field)[\(index)]", expected: "a number")
            }
            result.append(number.floatValue)
        }
        return result
    }

    /// An int or a list of ints (`eos_token_id` is either).
    func intList(_ field: String) throws -> [Int]? {
        guard has(field) else { return nil }
        if let list = object[field] as? [Any] {
            var result: [Int] = []
            for (index, element) in list.enumerated() {
                result.append(try intValue(element, field: "\(field)[\(index)]"))
            }
            return result
        }
        return [try intValue(object[field], field: field)]
    }

    private func intValue(_ value: Any?, field: String) throws -> Int {
        guard let number = value as? NSNumber, !isBool(number) else {
            throw ConfigError.wrongType(file: file, field: field, expected: "an integer")
        }
        let double = number.doubleValue
        guard double.rounded() == double, abs(double) < 1e15 else {
            throw ConfigError.wrongType(file: file, field: field, expected: "an integer")
        }
        return Int(double)
    }

    /// JSONSerialization hands booleans back as NSNumber with Objective-C type "c" on every platform.
    private func isBool(_ number: NSNumber) -> Bool {
        String(cString: number.objCType) == "c"
    }
}
