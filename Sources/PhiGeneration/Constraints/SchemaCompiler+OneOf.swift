import PhiTokenizer

/// `oneOf` requires a value to match exactly one alternative. The recognizer generates any
/// alternative's values, so `oneOf` is enforced only when no alternative can generate a value
/// another one accepts; otherwise it is refused rather than served as `anyOf`.
extension SchemaCompiler {
    func requireExclusive(_ alternatives: [JSONValue], path: String) throws(SchemaError) {
        for (i, a) in alternatives.enumerated() {
            for (j, b) in alternatives.enumerated() where i != j && !excludes(a, b, depth: 0) {
                throw .unsupportedKeyword(path: path, keyword: "oneOf",
                                          detail: "whose alternatives \(i) and \(j) may both match one value")
            }
        }
    }

    /// True when no value generated for `a` is valid for `b` (false when unsure).
    func excludes(_ a: JSONValue, _ b: JSONValue, depth: Int) -> Bool {
        guard depth < 8 else { return false }
        if a == .bool(false) || b == .bool(false) { return true }
        guard let left = referenced(a), let right = referenced(b) else { return false }
        for keyword in ["anyOf", "oneOf"] {
            if let list = left[keyword]?.arrayValue, left.keys.allSatisfy({ $0 == keyword || !SchemaKeywords.isAssertion($0) }) {
                return list.allSatisfy { excludes($0, b, depth: depth + 1) }
            }
            if let list = right[keyword]?.arrayValue, right.keys.allSatisfy({ $0 == keyword || !SchemaKeywords.isAssertion($0) }) {
                return list.allSatisfy { excludes(a, $0, depth: depth + 1) }
            }
        }
        let validator = JSONSchemaValidator(schema: rootSchema)
        // The validator checks a format as the subset the recognizer writes: a literal it refuses
        // may still be valid, so it cannot prove two alternatives apart.
        let hasFormat = { (object: JSONObject) in object["format"]?.stringValue.map(StringFormat.isDefined) == true }
        if hasFormat(left) || hasFormat(right) { return false }
        if let values = literalValues(left) {
            return values.allSatisfy { validator.firstViolation($0, against: .object(right)) != nil }
        }
        if let values = literalValues(right) {
            return values.allSatisfy { validator.firstViolation($0, against: .object(left)) != nil }
        }
        let generated = left["type"].map(typeSet) ?? SchemaKeywords.impliedTypes(left)
        if let generated, let accepted = right["type"].map(typeSet) {
            let overlaps = generated.contains { type in
                accepted.contains(type) || (type == "integer" && accepted.contains("number"))
                    || (type == "number" && accepted.contains("integer"))
            }
            if !overlaps { return true }
        }
        // Objects: `a` writes only its declared and required names, and always its required ones.
        guard generated == ["object"] else { return false }
        let declared = left["properties"]?.objectValue ?? JSONObject()
        let required = (left["required"]?.arrayValue ?? []).compactMap(\.stringValue)
        let isDeclared = left["properties"] != nil || !required.isEmpty
        let theirRequired = (right["required"]?.arrayValue ?? []).compactMap(\.stringValue)
        if isDeclared, theirRequired.contains(where: { declared[$0] == nil && !required.contains($0) }) { return true }
        let theirs = right["properties"]?.objectValue ?? JSONObject()
        for name in required {
            guard let mine = declared[name], let their = theirs[name] else {
                if right["additionalProperties"] == .bool(false) && theirs[name] == nil { return true }
                continue
            }
            if excludes(mine, their, depth: depth + 1) { return true }
        }
        return false
    }

    private func referenced(_ schema: JSONValue) -> JSONObject? {
        if schema == .bool(true) { return JSONObject() }
        guard let object = schema.objectValue else { return nil }
        if let reference = object["$ref"]?.stringValue, object.keys.allSatisfy({ $0 == "$ref" || !SchemaKeywords.isAssertion($0) }) {
            return try? target(of: reference, path: "#")
        }
        return object
    }

    private func literalValues(_ object: JSONObject) -> [JSONValue]? {
        if let value = object["const"] { return [value] }
        return object["enum"]?.arrayValue
    }
}
