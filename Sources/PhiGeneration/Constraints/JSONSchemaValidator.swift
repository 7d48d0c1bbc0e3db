import Foundation
import PhiTokenizer

/// Checks a JSON value against a JSON schema: `type`, `properties`, `required`,
/// `additionalProperties`, `items`, `minItems`, `maxItems`, `minLength`, `maxLength`, `minimum`,
/// `maximum`, `exclusiveMinimum`, `exclusiveMaximum`, `enum`, `const`, `anyOf`, `oneOf`, `allOf`,
/// `not`, `nullable`, local `$ref`, `multipleOf`, `uniqueItems`, `minProperties`, `maxProperties`,
/// `dependentRequired`, `pattern` and `format` (as the subset of each format the constraint
/// writes: see `StringFormat`). Other keywords are not checked.
public struct JSONSchemaValidator: Sendable {
    public let schema: JSONValue

    public init(schema: JSONValue) {
        self.schema = schema
    }

    /// The first violation, described with the path of the value at fault (`$.location.city`),
    /// or nil when `value` is valid.
    public func firstViolation(_ value: JSONValue) -> String? {
        violation(value, schema, path: "$", depth: 0)
    }

    /// The first violation of `subschema` (a part of `schema`, whose `$ref`s resolve in `schema`).
    func firstViolation(_ value: JSONValue, against subschema: JSONValue) -> String? {
        violation(value, subschema, path: "$", depth: 0)
    }

    /// The keywords this validator checks; others are not looked at.
    static let checkedKeywords: Set<String> = [
        "type", "properties", "required", "additionalProperties", "items", "minItems", "maxItems", "minLength",
        "maxLength", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "enum", "const", "anyOf",
        "oneOf", "allOf", "not", "nullable", "$ref", "multipleOf", "uniqueItems", "minProperties", "maxProperties",
        "dependentRequired", "pattern", "format",
    ]

    private func violation(_ value: JSONValue, _ schema: JSONValue, path: String, depth: Int) -> String? {
        guard depth < 64 else { return "\(path): the schema nests references too deeply" }
        if schema == .bool(true) { return nil }
        if schema == .bool(false) { return "\(path): no value is allowed here" }
        guard let rules = schema.objectValue else { return nil }
        if let reference = rules["$ref"]?.stringValue {
            guard let target = resolve(reference) else { return "\(path): the schema's $ref '\(reference)' points at nothing" }
            return violation(value, target, path: path, depth: depth + 1)
        }
        if let types = typeList(rules), !types.contains(where: { Self.matches(value, type: $0) }) {
            return "\(path): expected \(types.joined(separator: " or ")), found \(value.typeName)"
        }
        if let options = rules["enum"]?.arrayValue, !options.contains(where: { Self.equal($0, value) }) {
            return "\(path): \(value.serialized()) is not one of \(JSONValue.array(options).serialized())"
        }
        if let constant = rules["const"], !Self.equal(constant, value) {
            return "\(path): expected \(constant.serialized()), found \(value.serialized())"
        }
        if let problem = combinators(value, rules, path: path, depth: depth) { return problem }
        switch value {
        case let .object(object): return objectViolation(object, rules, path: path, depth: depth)
        case let .array(items):
            if let minimum = rules["minItems"]?.intValue, items.count < minimum { return "\(path): \(items.count) items, fewer than minItems \(minimum)" }
            if let maximum = rules["maxItems"]?.intValue, items.count > maximum { return "\(path): \(items.count) items, more than maxItems \(maximum)" }
            if rules["uniqueItems"] == .bool(true) {
                for (index, item) in items.enumerated() where items[..<index].contains(where: { Self.equal($0, item) }) {
                    return "\(path)[\(index)]: repeats an earlier item, but uniqueItems is true"
                }
            }
            if let itemSchema = rules["items"] {
                for (index, item) in items.enumerated() {
                    if let problem = violation(item, itemSchema, path: "\(path)[\(index)]", depth: depth + 1) { return problem }
                }
            }
        case let .string(text):
            let length = text.unicodeScalars.count
            if let minimum = rules["minLength"]?.intValue, length < minimum { return "\(path): \(length) characters, fewer than minLength \(minimum)" }
            if let maximum = rules["maxLength"]?.intValue, length > maximum { return "\(path): \(length) characters, more than maxLength \(maximum)" }
            // Patterns and formats are checked with the automaton the constraint generates from.
            let pattern = rules["pattern"]?.stringValue ?? rules["format"]?.stringValue.flatMap(StringFormat.pattern(for:))
            if let pattern, let automaton = try? ByteAutomaton(pattern: pattern), !automaton.matches(text) {
                return "\(path): \(value.serialized()) does not match \(pattern)"
            }
        case .integer, .double:
            return numberViolation(value.doubleValue ?? 0, rules, path: path)
        default: break
        }
        return nil
    }

    private func combinators(_ value: JSONValue, _ rules: JSONObject, path: String, depth: Int) -> String? {
        if let all = rules["allOf"]?.arrayValue {
            for member in all { if let problem = violation(value, member, path: path, depth: depth + 1) { return problem } }
        }
        if let any = rules["anyOf"]?.arrayValue, !any.contains(where: { violation(value, $0, path: path, depth: depth + 1) == nil }) {
            return "\(path): matches none of anyOf"
        }
        if let one = rules["oneOf"]?.arrayValue {
            let matching = one.filter { violation(value, $0, path: path, depth: depth + 1) == nil }.count
            if matching != 1 { return "\(path): matches \(matching) of oneOf, expected exactly 1" }
        }
        if let not = rules["not"], violation(value, not, path: path, depth: depth + 1) == nil {
            return "\(path): matches the schema under 'not'"
        }
        return nil
    }

    private func objectViolation(_ object: JSONObject, _ rules: JSONObject, path: String, depth: Int) -> String? {
        for name in rules["required"]?.arrayValue?.compactMap(\.stringValue) ?? [] where object[name] == nil {
            return "\(path): missing required property '\(name)'"
        }
        if let minimum = rules["minProperties"]?.intValue, object.count < minimum { return "\(path): fewer than minProperties \(minimum)" }
        if let maximum = rules["maxProperties"]?.intValue, object.count > maximum { return "\(path): more than maxProperties \(maximum)" }
        for member in rules["dependentRequired"]?.objectValue?.members ?? [] where object[member.key] != nil {
            for name in (member.value.arrayValue ?? []).compactMap(\.stringValue) where object[name] == nil {
                return "\(path): '\(member.key)' is present, so '\(name)' is required"
            }
        }
        let properties = rules["properties"]?.objectValue ?? JSONObject()
        for member in object.members {
            let memberPath = "\(path).\(member.key)"
            if let propertySchema = properties[member.key] {
                if let problem = violation(member.value, propertySchema, path: memberPath, depth: depth + 1) { return problem }
            } else if let additional = rules["additionalProperties"] {
                if additional == .bool(false) { return "\(path): property '\(member.key)' is not allowed" }
                if let problem = violation(member.value, additional, path: memberPath, depth: depth + 1) { return problem }
            }
        }
        return nil
    }

    private func numberViolation(_ number: Double, _ rules: JSONObject, path: String) -> String? {
        if let divisor = rules["multipleOf"]?.doubleValue, divisor > 0 {
            let quotient = number / divisor
            if quotient != quotient.rounded() { return "\(path): \(number) is not a multiple of \(divisor)" }
        }
        if let minimum = rules["minimum"]?.doubleValue, number < minimum { return "\(path): \(number) is below minimum \(minimum)" }
        if let maximum = rules["maximum"]?.doubleValue, number > maximum { return "\(path): \(number) is above maximum \(maximum)" }
        if let bound = rules["exclusiveMinimum"] {
            let limit = bound.doubleValue ?? (bound == .bool(true) ? rules["minimum"]?.doubleValue : nil)
            if let limit, number <= limit { return "\(path): \(number) is not above \(limit)" }
        }
        if let bound = rules["exclusiveMaximum"] {
            let limit = bound.doubleValue ?? (bound == .bool(true) ? rules["maximum"]?.doubleValue : nil)
            if let limit, number >= limit { return "\(path): \(number) is not below \(limit)" }
        }
        return nil
    }

    private func typeList(_ rules: JSONObject) -> [String]? {
        var types: [String]
        switch rules["type"] {
        case let .string(type)?: types = [type]
        case let .array(list)?: types = list.compactMap(\.stringValue)
        default: return nil
        }
        if rules["nullable"] == .bool(true) { types.append("null") }
        return types
    }

    static func matches(_ value: JSONValue, type: String) -> Bool {
        switch (type, value) {
        case ("object", .object), ("array", .array), ("string", .string), ("boolean", .bool), ("null", .null): true
        case ("number", .integer), ("number", .double): true
        case ("integer", _): value.intValue != nil && value.typeName == "number"
        default: false
        }
    }

    /// JSON equality: numbers by value (1 equals 1.0), objects regardless of key order.
    static func equal(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (a, b) {
        case let (.array(x), .array(y)): x.count == y.count && zip(x, y).allSatisfy { equal($0, $1) }
        case let (.object(x), .object(y)):
            x.count == y.count && x.members.allSatisfy { member in y[member.key].map { equal(member.value, $0) } ?? false }
        default:
            if let x = a.doubleValue, let y = b.doubleValue { x == y } else { a == b }
        }
    }

    private func resolve(_ reference: String) -> JSONValue? {
        guard reference == "#" || reference.hasPrefix("#/") else { return nil }
        var target = schema
        for part in reference.dropFirst(2).split(separator: "/", omittingEmptySubsequences: false) where reference != "#" {
            guard let next = target[part.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")] else {
                return nil
            }
            target = next
        }
        return target
    }
}
