import PhiTokenizer

/// Every keyword of JSON Schema draft 2020-12 (and draft-07's `dependencies`, `definitions`,
/// `additionalItems`), sorted by what the compiler does with it. A keyword the compiler cannot
/// enforce is refused by name and pointer, never ignored. Names that are no JSON Schema keyword
/// (`x-foo`, OpenAPI's `discriminator`, …) are annotations, as the specification treats unknown
/// keywords.
enum SchemaKeywords {
    /// Accepted and ignored: they do not restrict instances.
    static let annotations: Set<String> = [
        "title", "description", "examples", "default", "$schema", "$id", "$comment", "deprecated", "readOnly",
        "writeOnly", "contentMediaType", "contentEncoding", "contentSchema", "$anchor", "$dynamicAnchor",
        "$recursiveAnchor", "$vocabulary", "$defs", "definitions",
    ]

    /// Keywords that restrict objects only, arrays only, strings only, numbers only.
    static let objectKeywords: Set<String> = [
        "properties", "required", "additionalProperties", "patternProperties", "propertyNames", "minProperties",
        "maxProperties", "dependentRequired", "dependentSchemas", "dependencies", "unevaluatedProperties",
    ]
    static let arrayKeywords: Set<String> = [
        "items", "prefixItems", "additionalItems", "minItems", "maxItems", "uniqueItems", "contains", "minContains",
        "maxContains", "unevaluatedItems",
    ]
    static let stringKeywords: Set<String> = ["minLength", "maxLength", "pattern", "format"]
    static let numberKeywords: Set<String> = ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"]

    /// Keywords for any type that the compiler handles itself (merged, distributed or compiled).
    static let generalKeywords: Set<String> = [
        "type", "enum", "const", "$ref", "allOf", "anyOf", "oneOf", "nullable", "if", "then", "else", "not",
        "$dynamicRef", "$recursiveRef",
    ]

    static func isKeyword(_ name: String) -> Bool {
        annotations.contains(name) || generalKeywords.contains(name) || objectKeywords.contains(name)
            || arrayKeywords.contains(name) || stringKeywords.contains(name) || numberKeywords.contains(name)
    }

    /// Whether `name` restricts instances (a JSON Schema keyword that is no annotation).
    static func isAssertion(_ name: String) -> Bool { isKeyword(name) && !annotations.contains(name) }

    /// The types a schema without `type` is generated as: those its keywords restrict (a subset
    /// of what it allows, so always valid), or nil when no keyword says (any value).
    static func impliedTypes(_ object: JSONObject) -> [String]? {
        var types: [String] = []
        let names = Set(object.members.map(\.key))
        if !names.isDisjoint(with: objectKeywords) { types.append("object") }
        if !names.isDisjoint(with: arrayKeywords) { types.append("array") }
        if !names.isDisjoint(with: stringKeywords.subtracting(["format"]))
            || object["format"]?.stringValue.map(StringFormat.isDefined) == true {
            types.append("string")
        }
        if !names.isDisjoint(with: numberKeywords) { types.append("number") }
        return types.isEmpty ? nil : types
    }
}
