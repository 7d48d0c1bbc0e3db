import Foundation
import PhiTokenizer

/// `allOf`, `$ref` beside other keywords, and the keywords beside `anyOf`/`oneOf` are compiled by
/// merging schema objects into one: an instance valid for the merge is valid for every part.
/// A pair of keywords that cannot be merged is refused, naming it.
extension SchemaCompiler {
    /// The schema `reference` points at, as an object (`true` is `{}`).
    func target(of reference: String, path: String) throws(SchemaError) -> JSONObject {
        guard reference == "#" || reference.hasPrefix("#/") else {
            throw .unsupportedKeyword(path: path, keyword: "$ref", detail: "'\(reference)' points outside the schema")
        }
        var target = rootSchema
        for part in reference.dropFirst(2).split(separator: "/", omittingEmptySubsequences: false) where reference != "#" {
            let key = String(part).replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
                .removingPercentEncodingIfPossible
            guard let next = target[key] ?? (Int(key).flatMap { index in
                target.arrayValue.flatMap { index < $0.count ? $0[index] : nil }
            }) else {
                throw .invalid(path: path, reason: "$ref '\(reference)' points at nothing")
            }
            target = next
        }
        if target == .bool(true) { return JSONObject() }
        guard let object = target.objectValue else {
            throw .unsupportedKeyword(path: path, keyword: "$ref", detail: "to '\(reference)', which is no schema object")
        }
        return object
    }

    /// `object` with its `$ref` (when other keywords sit beside it) and `allOf` merged in.
    mutating func flattened(_ object: JSONObject, path: String) throws(SchemaError) -> JSONObject {
        var object = object
        var parts: [(JSONObject, String)] = []
        if let reference = object["$ref"], object.keys.contains(where: { $0 != "$ref" && SchemaKeywords.isAssertion($0) }) {
            guard reference.stringValue != nil else { throw .invalid(path: path, reason: "$ref is not a string") }
            object["$ref"] = nil
            parts.append((try inlined(["$ref": reference], path: path), path))
        }
        if let all = object["allOf"] {
            guard let list = all.arrayValue, !list.isEmpty else { throw .invalid(path: path, reason: "allOf is not a non-empty array") }
            object["allOf"] = nil
            for (index, member) in list.enumerated() {
                let memberPath = "\(path)/allOf/\(index)"
                if member == .bool(true) { continue }
                guard let memberObject = member.objectValue else {
                    if member == .bool(false) { throw .invalid(path: memberPath, reason: "`false` allows no value") }
                    throw .invalid(path: memberPath, reason: "expected a schema object, found \(member.typeName)")
                }
                parts.append((try inlined(memberObject, path: memberPath), memberPath))
            }
        }
        for (part, partPath) in parts { object = try merged(object, part, path: partPath) }
        return object
    }

    /// A member of `allOf` with its own `$ref` and `allOf` merged in, depth-limited (a reference
    /// cycle through `allOf` has no finite merge).
    mutating func inlined(_ object: JSONObject, path: String) throws(SchemaError) -> JSONObject {
        inlineDepth += 1
        defer { inlineDepth -= 1 }
        guard inlineDepth <= Self.maxInlineDepth else {
            throw .unsupportedKeyword(path: path, keyword: "$ref",
                                      detail: "inside allOf/anyOf/oneOf nested more than \(Self.maxInlineDepth) references deep")
        }
        var object = object
        if let reference = object["$ref"] {
            guard let text = reference.stringValue else { throw .invalid(path: path, reason: "$ref is not a string") }
            object["$ref"] = nil
            let target = try inlined(try self.target(of: text, path: path), path: String(text))
            object = try merged(object, target, path: path)
        }
        return try flattened(object, path: path)
    }

    /// One schema object requiring both `a` and `b`.
    func merged(_ a: JSONObject, _ b: JSONObject, path: String) throws(SchemaError) -> JSONObject {
        var result = a
        try closeProperties(&result, against: b, path: path)
        var other = b
        try closeProperties(&other, against: a, path: path)
        for member in other.members {
            let key = member.key, value = member.value
            guard SchemaKeywords.isAssertion(key) else {
                if result[key] == nil { result[key] = value }
                continue
            }
            guard let existing = result[key] else {
                result[key] = value
                continue
            }
            if existing == value { continue }
            result[key] = try mergedKeyword(key, existing, value, path: path)
        }
        return result
    }

    /// Properties `b` declares that `a` does not are `a`'s additional ones: they must satisfy
    /// `a`'s `additionalProperties` too, or be left out when it is `false`.
    private func closeProperties(_ a: inout JSONObject, against b: JSONObject, path: String) throws(SchemaError) {
        guard let additional = a["additionalProperties"], additional != .bool(true) else { return }
        if a["patternProperties"] != nil {
            throw .unsupportedKeyword(path: path, keyword: "patternProperties", detail: "in an allOf member beside additionalProperties")
        }
        let own = a["properties"]?.objectValue ?? JSONObject()
        guard var theirs = b["properties"]?.objectValue else { return }
        let required = Set((b["required"]?.arrayValue ?? []).compactMap(\.stringValue) + (a["required"]?.arrayValue ?? []).compactMap(\.stringValue))
        for name in theirs.keys where own[name] == nil {
            if additional == .bool(false) {
                if required.contains(name) {
                    throw .invalid(path: path, reason: "'\(name)' is required but an allOf member allows no such property")
                }
                theirs[name] = nil
                // Recorded as `false` so the merge leaves it out.
                var declared = a["properties"]?.objectValue ?? JSONObject()
                declared[name] = .bool(false)
                a["properties"] = .object(declared)
            } else {
                var declared = a["properties"]?.objectValue ?? JSONObject()
                declared[name] = additional
                a["properties"] = .object(declared)
            }
        }
    }

    private func mergedKeyword(_ key: String, _ a: JSONValue, _ b: JSONValue, path: String) throws(SchemaError) -> JSONValue {
        switch key {
        case "type":
            let left = typeSet(a), right = typeSet(b)
            var both = left.filter(right.contains)
            if left.contains("integer") && right.contains("number") && !both.contains("integer") { both.append("integer") }
            if right.contains("integer") && left.contains("number") && !both.contains("integer") { both.append("integer") }
            if both.isEmpty { throw .invalid(path: path, reason: "allOf members share no type") }
            return both.count == 1 ? .string(both[0]) : .array(both.map { .string($0) })
        case "properties":
            guard var left = a.objectValue, let right = b.objectValue else { throw .invalid(path: path, reason: "properties is not an object") }
            for member in right.members {
                if let existing = left[member.key] {
                    left[member.key] = existing == .bool(false) || member.value == .bool(false)
                        ? .bool(false) : ["allOf": [existing, member.value]]
                } else {
                    left[member.key] = member.value
                }
            }
            return .object(left)
        case "required":
            let names = (a.arrayValue ?? []) + (b.arrayValue ?? []).filter { !(a.arrayValue ?? []).contains($0) }
            return .array(names)
        case "minimum", "minLength", "minItems", "minProperties", "minContains":
            guard let x = a.doubleValue, let y = b.doubleValue else { break }
            return x >= y ? a : b
        case "maximum", "maxLength", "maxItems", "maxProperties", "maxContains":
            guard let x = a.doubleValue, let y = b.doubleValue else { break }
            return x <= y ? a : b
        case "exclusiveMinimum":
            guard let x = a.doubleValue, let y = b.doubleValue else { break }
            return x >= y ? a : b
        case "exclusiveMaximum":
            guard let x = a.doubleValue, let y = b.doubleValue else { break }
            return x <= y ? a : b
        case "enum":
            guard let left = a.arrayValue, let right = b.arrayValue else { break }
            let both = left.filter { value in right.contains { JSONSchemaValidator.equal($0, value) } }
            if both.isEmpty { throw .invalid(path: path, reason: "allOf members' enums share no value") }
            return .array(both)
        case "const":
            if JSONSchemaValidator.equal(a, b) { return a }
            throw .invalid(path: path, reason: "allOf members require different constants")
        case "items", "additionalProperties", "propertyNames", "contains", "unevaluatedProperties", "unevaluatedItems":
            if a == .bool(false) || b == .bool(false) { return .bool(false) }
            if a == .bool(true) { return b }
            if b == .bool(true) { return a }
            return ["allOf": [a, b]]
        case "allOf":
            return .array((a.arrayValue ?? []) + (b.arrayValue ?? []))
        case "uniqueItems":
            return .bool(a == .bool(true) || b == .bool(true))
        case "nullable":
            return .bool(a == .bool(true) && b == .bool(true))
        default:
            break
        }
        throw .unsupportedKeyword(path: path, keyword: key, detail: "with different values in several allOf members")
    }

    func typeSet(_ value: JSONValue) -> [String] {
        if let single = value.stringValue { return [single] }
        return (value.arrayValue ?? []).compactMap(\.stringValue)
    }
}

extension String {
    /// JSON pointers inside URI fragments may be percent-encoded (`#/$defs/a%20b`).
    var removingPercentEncodingIfPossible: String {
        contains("%") ? (removingPercentEncoding ?? self) : self
    }
}
