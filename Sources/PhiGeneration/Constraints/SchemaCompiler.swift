import Foundation
import PhiTokenizer

/// Turns a JSON schema into `SchemaGraph` nodes. Every keyword of draft 2020-12 (and draft-07's
/// `dependencies`, `definitions`, `additionalItems`) is either enforced or refused with
/// `SchemaError.unsupportedKeyword` naming it and its JSON pointer (`SchemaKeywords` sorts them).
/// The graph generates a subset of the valid instances: `allOf`, `$ref` beside other keywords and
/// the keywords beside `anyOf`/`oneOf` are merged into one object; `oneOf` needs alternatives that
/// exclude each other; `uniqueItems` arrays hold at most one item; `multipleOf` numbers are
/// enumerated integers; `minProperties` makes optional properties required, `maxProperties`
/// leaves them out; a dependency's trigger brings its dependents or is left out.
struct SchemaCompiler {
    /// The schema `$ref`s resolve against.
    var rootSchema: JSONValue {
        didSet { references = [:] }
    }
    var nodes: [SchemaGraph.Node] = []
    var tries: [LiteralTrie] = []
    var automata: [ByteAutomaton] = []
    private var automatonIndices: [String: Int] = [:]
    private var references: [String: Int] = [:]
    private var anyNode: Int?
    /// How many `$ref`s deep `inlined` is (merging follows references by copying their targets).
    var inlineDepth = 0
    static let maxInlineDepth = 32
    private var compileDepth = 0
    static let maxCompileDepth = 256
    private var pendingReferences: [(JSONValue, String, Int)] = []

    init(rootSchema: JSONValue) {
        self.rootSchema = rootSchema
    }

    mutating func add(_ node: SchemaGraph.Node) -> Int {
        nodes.append(node)
        return nodes.count - 1
    }

    mutating func addLiterals(_ values: [JSONValue]) -> Int {
        tries.append(LiteralTrie(texts: values.map { Array($0.serialized().utf8) }))
        return add(.literals(trie: tries.count - 1))
    }

    /// Any JSON value at all.
    mutating func anyValue() -> Int {
        if let anyNode { return anyNode }
        let node = add(.anyOf([]))
        anyNode = node
        let alternatives = [
            add(.map(values: node)),
            add(.array(items: node, minItems: 0, maxItems: nil)),
            add(.string(minLength: 0, maxLength: nil)),
            add(.number(NumberKind(isInteger: false))),
            addLiterals([.bool(true), .bool(false), .null]),
        ]
        nodes[node] = .anyOf(alternatives)
        return node
    }

    mutating func compile(_ schema: JSONValue, path: String) throws(SchemaError) -> Int {
        compileDepth += 1
        defer { compileDepth -= 1 }
        guard compileDepth <= Self.maxCompileDepth else {
            throw .unsupported(path: path, reason: "nesting deeper than \(Self.maxCompileDepth) schemas (a reference cycle through anyOf, oneOf or allOf)")
        }
        if schema == .bool(true) { return anyValue() }
        if schema == .bool(false) { throw .invalid(path: path, reason: "`false` allows no value") }
        guard var object = schema.objectValue else {
            throw .invalid(path: path, reason: "expected a schema object, found \(schema.typeName)")
        }
        // A bare `$ref` stays a reference, so recursive schemas become cycles of the graph.
        if let reference = object["$ref"], !object.keys.contains(where: { $0 != "$ref" && SchemaKeywords.isAssertion($0) }) {
            guard let text = reference.stringValue else { throw .invalid(path: path, reason: "$ref is not a string") }
            return try resolve(text, path: path)
        }
        object = try flattened(object, path: path)
        try refuseUnenforced(object, path: path)
        if let values = object["enum"] {
            guard let list = values.arrayValue, !list.isEmpty else { throw .invalid(path: path, reason: "enum is not a non-empty array") }
            return try literals(list, beside: object, keyword: "enum", path: path)
        }
        if let value = object["const"] { return try literals([value], beside: object, keyword: "const", path: path) }
        for keyword in ["anyOf", "oneOf"] {
            guard let alternatives = object[keyword] else { continue }
            guard let list = alternatives.arrayValue, !list.isEmpty else {
                throw .invalid(path: path, reason: "\(keyword) is not a non-empty array")
            }
            // The keywords beside anyOf/oneOf hold for every alternative: merged into each.
            var siblings = object
            siblings[keyword] = nil
            let hasSiblings = siblings.keys.contains(where: SchemaKeywords.isAssertion)
            var schemas: [JSONValue] = []
            for (index, alternative) in list.enumerated() {
                let alternativePath = "\(path)/\(keyword)/\(index)"
                if !hasSiblings || alternative == .bool(false) {
                    schemas.append(alternative)
                } else if alternative == .bool(true) {
                    schemas.append(.object(siblings))
                } else if let alternativeObject = alternative.objectValue {
                    schemas.append(.object(try merged(siblings, try inlined(alternativeObject, path: alternativePath), path: alternativePath)))
                } else {
                    throw .invalid(path: alternativePath, reason: "expected a schema object, found \(alternative.typeName)")
                }
            }
            if keyword == "oneOf" { try requireExclusive(schemas, path: path) }
            let node = add(.anyOf([]))
            var compiled: [Int] = []
            for (index, alternative) in schemas.enumerated() where alternative != .bool(false) {
                do throws(SchemaError) {
                    compiled.append(try compile(alternative, path: "\(path)/\(keyword)/\(index)"))
                } catch {
                    // An alternative the keywords beside it make impossible: the others remain.
                    guard error.isUnsatisfiable && schemas.count > 1 else { throw error }
                }
            }
            if compiled.isEmpty { throw .invalid(path: path, reason: "no alternative of \(keyword) can be satisfied") }
            nodes[node] = .anyOf(compiled)
            return node
        }
        var types: [String]
        switch object["type"] {
        case nil:
            guard let implied = SchemaKeywords.impliedTypes(object) else { return anyValue() }
            types = implied
        case let .string(type)?: types = [type]
        case let .array(list)?:
            types = try list.map { value throws(SchemaError) in
                guard let type = value.stringValue else { throw .invalid(path: path, reason: "type lists a \(value.typeName)") }
                return type
            }
        case let other?: throw .invalid(path: path, reason: "type is a \(other.typeName)")
        }
        if object["nullable"] == .bool(true) && !types.contains("null") { types.append("null") }
        if types.isEmpty { throw .invalid(path: path, reason: "type is an empty list") }
        let alternatives = try types.map { type throws(SchemaError) in try compile(type: type, object, path: path) }
        return alternatives.count == 1 ? alternatives[0] : add(.anyOf(alternatives))
    }

    /// Keywords for every type that the recognizer cannot enforce.
    private func refuseUnenforced(_ object: JSONObject, path: String) throws(SchemaError) {
        for keyword in ["not", "$dynamicRef", "$recursiveRef"] where object[keyword] != nil {
            throw .unsupportedKeyword(path: path, keyword: keyword, detail: nil)
        }
        // `if` alone asserts nothing, nor do `then`/`else` without it.
        if object["if"] != nil && (object["then"] != nil || object["else"] != nil) {
            throw .unsupportedKeyword(path: path, keyword: "if", detail: "with then/else")
        }
    }

    /// `enum`/`const` values, keeping those the keywords beside them allow.
    private mutating func literals(_ values: [JSONValue], beside object: JSONObject, keyword: String,
                                   path: String) throws(SchemaError) -> Int {
        var rest = object
        rest[keyword] = nil
        guard rest.keys.contains(where: SchemaKeywords.isAssertion) else { return addLiterals(values) }
        try requireCheckable(.object(rest), keyword: keyword, path: path)
        let validator = JSONSchemaValidator(schema: rootSchema)
        let kept = values.filter { validator.firstViolation($0, against: .object(rest)) == nil }
        if kept.isEmpty { throw .invalid(path: path, reason: "no value of \(keyword) satisfies the keywords beside it") }
        return addLiterals(kept)
    }

    private mutating func compile(type: String, _ object: JSONObject, path: String) throws(SchemaError) -> Int {
        switch type {
        case "object": return try compileObject(object, path: path)
        case "array": return try compileArray(object, path: path)
        case "string": return try compileString(object, path: path)
        case "integer", "number": return try compileNumber(object, isInteger: type == "integer", path: path)
        case "boolean": return addLiterals([.bool(true), .bool(false)])
        case "null": return addLiterals([.null])
        default: throw .invalid(path: path, reason: "unknown type '\(type)'")
        }
    }

    private mutating func compileArray(_ object: JSONObject, path: String) throws(SchemaError) -> Int {
        for keyword in ["prefixItems", "contains"] where object[keyword] != nil {
            throw .unsupportedKeyword(path: path, keyword: keyword, detail: nil)
        }
        if object["items"]?.arrayValue != nil { throw .unsupportedKeyword(path: path, keyword: "items", detail: "as an array (a tuple)") }
        // Without prefixItems and contains, every item is evaluated by `items`, or by
        // `unevaluatedItems` when `items` is absent; `additionalItems` applies only beside tuples.
        let itemSchema = object["items"] ?? object["unevaluatedItems"]
        let items = try itemSchema.map { items throws(SchemaError) in
            try compile(items, path: path + (object["items"] != nil ? "/items" : "/unevaluatedItems"))
        } ?? anyValue()
        let minItems = try count(object, "minItems", path: path) ?? 0
        var maxItems = try count(object, "maxItems", path: path)
        if let maxItems, maxItems < minItems { throw .invalid(path: path, reason: "maxItems \(maxItems) < minItems \(minItems)") }
        if object["uniqueItems"] == .bool(true) && maxItems.map({ $0 > 1 }) ?? true {
            // Arrays of at most one item are unique; longer unique arrays are not generated.
            guard minItems <= 1 else {
                throw .unsupportedKeyword(path: path, keyword: "uniqueItems", detail: "with minItems above 1")
            }
            maxItems = 1
        }
        return add(.array(items: items, minItems: minItems, maxItems: maxItems))
    }

    private mutating func compileString(_ object: JSONObject, path: String) throws(SchemaError) -> Int {
        let minLength = try count(object, "minLength", path: path) ?? 0
        let maxLength = try count(object, "maxLength", path: path)
        if let maxLength, maxLength < minLength { throw .invalid(path: path, reason: "maxLength \(maxLength) < minLength \(minLength)") }
        var patterns: [(keyword: String, source: String)] = []
        if let pattern = object["pattern"] {
            guard let text = pattern.stringValue else { throw .invalid(path: path, reason: "pattern is not a string") }
            patterns.append(("pattern", text))
        }
        if let format = object["format"]?.stringValue, StringFormat.isDefined(format) {
            guard let source = StringFormat.pattern(for: format) else {
                throw .unsupportedKeyword(path: path, keyword: "format", detail: "'\(format)'")
            }
            patterns.append(("format", source))
        }
        guard let first = patterns.first else { return add(.string(minLength: minLength, maxLength: maxLength)) }
        let (keyword, source) = (first.keyword, first.source)
        if patterns.count > 1 { throw .unsupportedKeyword(path: path, keyword: "format", detail: "beside pattern") }
        let index = try automaton(for: source, keyword: keyword, path: path)
        guard automata[index].isViable(ByteAutomaton.start, length: 0, minimumLength: minLength, maximumLength: maxLength) else {
            throw .invalid(path: path, reason: "no string of the allowed length matches the \(keyword)")
        }
        return add(.string(minLength: minLength, maxLength: maxLength, pattern: index))
    }

    /// The automaton of `source`, compiled once per schema.
    private mutating func automaton(for source: String, keyword: String, path: String) throws(SchemaError) -> Int {
        if let index = automatonIndices[source] { return index }
        do throws(RegexError) {
            automata.append(try ByteAutomaton(pattern: source))
        } catch {
            if error.reason.hasPrefix("a pattern no writable") { throw .invalid(path: path, reason: "no string matches the \(keyword)") }
            throw .unsupportedKeyword(path: path, keyword: keyword, detail: "with \(error.reason)")
        }
        automatonIndices[source] = automata.count - 1
        return automata.count - 1
    }

    private mutating func compileObject(_ object: JSONObject, path: String) throws(SchemaError) -> Int {
        var object = object
        var patterns: [(automaton: Int, schema: JSONValue, source: String)] = []
        if let entries = object["patternProperties"] {
            guard let map = entries.objectValue else { throw .invalid(path: path, reason: "patternProperties is not an object") }
            for member in map.members {
                let index = try automaton(for: member.key, keyword: "patternProperties", path: path + "/patternProperties")
                patterns.append((index, member.value, member.key))
            }
        }
        let propertyNames = object["propertyNames"]
        // With every property evaluated by `properties` or `additionalProperties` (subschemas are
        // merged in), `unevaluatedProperties` applies exactly where `additionalProperties` would.
        if let unevaluated = object["unevaluatedProperties"] {
            if object["additionalProperties"] == nil { object["additionalProperties"] = unevaluated }
            object["unevaluatedProperties"] = nil
        }
        let dependencyKeywords = ["dependentRequired", "dependentSchemas", "dependencies"]
        var required = try names(object["required"], "required", path: path)
        let minProperties = try count(object, "minProperties", path: path) ?? 0
        let maxProperties = try count(object, "maxProperties", path: path)
        let additional = object["additionalProperties"]
        // Without `properties`, an object is a map; with them (even none), only those are written.
        if object["properties"] == nil && required.isEmpty {
            if let keyword = dependencyKeywords.first(where: { object[$0] != nil }) {
                throw .unsupportedKeyword(path: path, keyword: keyword, detail: "on an object without properties")
            }
            if (additional == .bool(false) && patterns.isEmpty) || maxProperties == 0 {
                guard minProperties == 0 else { throw .invalid(path: path, reason: "minProperties \(minProperties) but no property is allowed") }
                return add(.object(properties: [], keys: addKeyTrie([])))
            }
            if minProperties > 0 || maxProperties != nil {
                throw .unsupportedKeyword(path: path, keyword: minProperties > 0 ? "minProperties" : "maxProperties",
                                          detail: "on an object without properties")
            }
            // Keys: those of the one pattern, or the strings propertyNames allows.
            if patterns.count > 1 {
                throw .unsupportedKeyword(path: path, keyword: "patternProperties", detail: "with several patterns on an object without properties")
            }
            if let pattern = patterns.first {
                if propertyNames != nil {
                    throw .unsupportedKeyword(path: path, keyword: "propertyNames", detail: "beside patternProperties")
                }
                let values = try compile(pattern.schema, path: path + "/patternProperties/" + pointerEscaped(pattern.source))
                let keys = add(.string(minLength: 0, maxLength: nil, pattern: pattern.automaton))
                return add(.map(values: values, keys: keys))
            }
            var keys = -1
            if let propertyNames {
                var names = propertyNames.objectValue ?? JSONObject()
                if propertyNames == .bool(false) { return add(.object(properties: [], keys: addKeyTrie([]))) }
                names["type"] = "string"
                keys = try compile(.object(names), path: path + "/propertyNames")
                guard case .string = nodes[keys] else {
                    throw .unsupportedKeyword(path: path + "/propertyNames", keyword: "propertyNames", detail: "other than a string schema")
                }
            }
            let values = try additional.map { value throws(SchemaError) in
                try compile(value, path: path + "/additionalProperties")
            } ?? anyValue()
            return add(.map(values: values, keys: keys))
        }
        guard var declared = (object["properties"] ?? .object(JSONObject())).objectValue else {
            throw .invalid(path: path, reason: "properties is not an object")
        }
        try applyDependencies(&object, declared: &declared, required: &required, path: path)
        // A declared name that a patternProperties pattern matches must satisfy both schemas.
        // Required names that are not declared are written too, with the schemas of the patterns
        // they match, or else the additional-properties schema.
        var members: [(String, JSONValue)] = declared.members.map { member in
            let matching = patterns.filter { automata[$0.automaton].matches(member.key) }.map(\.schema)
            return (member.key, matching.isEmpty || member.value == .bool(false) ? member.value : .object(["allOf": .array([member.value] + matching)]))
        }
        for name in required where declared[name] == nil {
            let matching = patterns.filter { automata[$0.automaton].matches(name) }.map(\.schema)
            if !matching.isEmpty {
                members.append((name, matching.count == 1 ? matching[0] : .object(["allOf": .array(matching)])))
                continue
            }
            if additional == .bool(false) {
                throw .invalid(path: path, reason: "'\(name)' is required but additionalProperties is false and it is not declared")
            }
            members.append((name, additional ?? .bool(true)))
        }
        // propertyNames: a declared name it refuses is not written (or the schema has no instance).
        if let propertyNames {
            let validator = JSONSchemaValidator(schema: rootSchema)
            try requireCheckable(propertyNames, keyword: "propertyNames", path: path + "/propertyNames")
            for (name, _) in members where validator.firstViolation(.string(name), against: propertyNames) != nil {
                if required.contains(name) {
                    throw .invalid(path: path, reason: "the required name '\(name)' is refused by propertyNames")
                }
                members.removeAll { $0.0 == name }
            }
        }
        // A property whose schema is `false` (or left out by a merge) is never written.
        for (name, schema) in members where schema == .bool(false) && required.contains(name) {
            throw .invalid(path: "\(path)/properties/\(name)", reason: "'\(name)' is required but its schema is `false`")
        }
        members.removeAll { $0.1 == .bool(false) }
        // minProperties: optional properties become required, in order, until there are enough;
        // maxProperties: optional properties past the limit are not written.
        var requiredCount = members.filter { required.contains($0.0) }.count
        for (name, _) in members where requiredCount < minProperties && !required.contains(name) {
            required.append(name)
            requiredCount += 1
        }
        if requiredCount < minProperties {
            throw .unsupportedKeyword(path: path, keyword: "minProperties", detail: "above the number of declared properties")
        }
        if let maxProperties {
            if requiredCount > maxProperties {
                throw .invalid(path: path, reason: "\(requiredCount) required properties but maxProperties \(maxProperties)")
            }
            var optionalRoom = maxProperties - requiredCount
            members.removeAll { member in
                if required.contains(member.0) { return false }
                if optionalRoom > 0 { optionalRoom -= 1; return false }
                return true
            }
        }
        if members.count > SchemaGraph.maxProperties {
            throw .unsupported(path: path, reason: "more than \(SchemaGraph.maxProperties) properties")
        }
        let node = add(.anyOf([]))  // placeholder: properties may refer back to this object
        var properties: [SchemaGraph.Property] = []
        for (name, schema) in members {
            let value = try compile(schema, path: "\(path)/properties/\(pointerEscaped(name))")
            properties.append(.init(name: name, keyBytes: Array(JSONValue.string(name).serialized().utf8),
                                    value: value, isRequired: required.contains(name)))
        }
        nodes[node] = .object(properties: properties, keys: addKeyTrie(properties.map(\.keyBytes)))
        return node
    }

    /// `dependentRequired`, `dependentSchemas` and draft-07 `dependencies` on an object whose
    /// properties are declared: a required trigger brings its dependents (required names, or its
    /// schema merged in); an optional trigger makes its dependent names required too, or is left
    /// out when its dependency is a schema.
    private mutating func applyDependencies(_ object: inout JSONObject, declared: inout JSONObject, required: inout [String],
                                            path: String) throws(SchemaError) {
        var nameDependencies: [(String, [String], String)] = []
        var schemaDependencies: [(String, JSONValue, String)] = []
        for keyword in ["dependentRequired", "dependentSchemas", "dependencies"] {
            guard let entries = object[keyword] else { continue }
            guard let map = entries.objectValue else { throw .invalid(path: path, reason: "\(keyword) is not an object") }
            object[keyword] = nil
            for member in map.members {
                let entryPath = "\(path)/\(keyword)/\(pointerEscaped(member.key))"
                if member.value.arrayValue != nil && keyword != "dependentSchemas" {
                    nameDependencies.append((member.key, try names(member.value, keyword, path: entryPath), entryPath))
                } else {
                    schemaDependencies.append((member.key, member.value, entryPath))
                }
            }
        }
        // A merged-in schema may require further triggers: settle until nothing changes.
        var pending = schemaDependencies
        var progressed = true
        while progressed {
            progressed = false
            for (index, entry) in pending.enumerated() where required.contains(entry.0) {
                pending.remove(at: index)
                progressed = true
                if entry.1 == .bool(true) { break }
                guard let dependent = entry.1.objectValue else {
                    throw .invalid(path: entry.2, reason: "'\(entry.0)' is required but its dependent schema allows nothing")
                }
                var combined = try merged(object, try inlined(dependent, path: entry.2), path: entry.2)
                if let keyword = ["anyOf", "oneOf", "not", "if"].first(where: { combined[$0] != nil && object[$0] == nil }) {
                    throw .unsupportedKeyword(path: entry.2, keyword: "dependentSchemas", detail: "bringing \(keyword)")
                }
                combined["properties"] = combined["properties"] ?? .object(JSONObject())
                object = combined
                declared = combined["properties"]?.objectValue ?? JSONObject()
                required = try names(combined["required"], "required", path: path)
                break
            }
        }
        for (trigger, _, _) in pending where !required.contains(trigger) { declared[trigger] = .bool(false) }
        for (trigger, dependents, entryPath) in nameDependencies where required.contains(trigger) || declared[trigger] != nil {
            let closed = object["additionalProperties"] == .bool(false)
            if let missing = dependents.first(where: { declared[$0] == nil && closed }) {
                if required.contains(trigger) {
                    throw .invalid(path: entryPath, reason: "'\(trigger)' requires '\(missing)', which additionalProperties forbids")
                }
                declared[trigger] = .bool(false)
                continue
            }
            for name in dependents where !required.contains(name) { required.append(name) }
        }
    }

    /// `schema` uses only keywords `JSONSchemaValidator` checks (its `$ref` targets too).
    private func requireCheckable(_ schema: JSONValue, keyword: String, path: String, depth: Int = 0) throws(SchemaError) {
        guard let object = schema.objectValue, depth < 16 else { return }
        for key in object.keys where SchemaKeywords.isAssertion(key) && !JSONSchemaValidator.checkedKeywords.contains(key) {
            if key == "format", object[key]?.stringValue.map(StringFormat.isDefined) != true { continue }  // an annotation
            throw .unsupportedKeyword(path: path, keyword: key, detail: "inside \(keyword)")
        }
        if let reference = object["$ref"]?.stringValue {
            try requireCheckable(.object(try target(of: reference, path: path)), keyword: keyword, path: path, depth: depth + 1)
        }
        for key in ["anyOf", "oneOf", "allOf"] {
            for member in object[key]?.arrayValue ?? [] { try requireCheckable(member, keyword: keyword, path: path, depth: depth + 1) }
        }
    }

    private func names(_ value: JSONValue?, _ keyword: String, path: String) throws(SchemaError) -> [String] {
        guard let value else { return [] }
        guard let list = value.arrayValue, case let names = list.compactMap(\.stringValue), names.count == list.count else {
            throw .invalid(path: path, reason: "\(keyword) is not an array of strings")
        }
        return names
    }

    /// A property name as a JSON-pointer token (RFC 6901).
    func pointerEscaped(_ name: String) -> String {
        name.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
    }

    private mutating func addKeyTrie(_ keys: [[UInt8]]) -> Int {
        tries.append(LiteralTrie(texts: keys))
        return tries.count - 1
    }

    private mutating func compileNumber(_ object: JSONObject, isInteger: Bool, path: String) throws(SchemaError) -> Int {
        var lower: Double? = object["minimum"]?.doubleValue
        var upper: Double? = object["maximum"]?.doubleValue
        var lowerIsExclusive = false
        var upperIsExclusive = false
        // Draft 6+: exclusiveMinimum is a number; draft 4: a boolean modifying minimum.
        if let value = object["exclusiveMinimum"] {
            if let number = value.doubleValue {
                if lower.map({ number >= $0 }) ?? true { lower = number; lowerIsExclusive = true }
            } else if value == .bool(true) {
                lowerIsExclusive = true
            }
        }
        if let value = object["exclusiveMaximum"] {
            if let number = value.doubleValue {
                if upper.map({ number <= $0 }) ?? true { upper = number; upperIsExclusive = true }
            } else if value == .bool(true) {
                upperIsExclusive = true
            }
        }
        // The integers the bounds admit; a fraction is written only between two of them.
        let low = lower.map { lowerIsExclusive ? $0.rounded(.down) + 1 : $0.rounded(.up) }
        let high = upper.map { upperIsExclusive ? $0.rounded(.up) - 1 : $0.rounded(.down) }
        let limit = Double(NumberKind.largestMagnitude)
        if let low, let high, low > high { throw .invalid(path: path, reason: "no integer lies between the minimum and maximum") }
        if let low, low > limit { throw .unsupported(path: path, reason: "a minimum beyond \(NumberKind.largestMagnitude)") }
        if let high, high < -limit { throw .unsupported(path: path, reason: "a maximum below -\(NumberKind.largestMagnitude)") }
        // multipleOf: an integer step is enforced by generating the integers that are its multiples
        // (a subset of the numbers it allows), enumerated; a fractional step is refused.
        var isInteger = isInteger
        var step = 1
        if let value = object["multipleOf"] {
            guard let divisor = value.doubleValue, divisor > 0 else { throw .invalid(path: path, reason: "multipleOf is not a positive number") }
            guard divisor == divisor.rounded(), divisor < limit else {
                throw .unsupportedKeyword(path: path, keyword: "multipleOf", detail: "\(value.serialized()) (only integer steps)")
            }
            step = Int(divisor)
            isInteger = true
        }
        if isInteger, let low, let high, (high - low) / Double(step) < Double(SchemaGraph.maxEnumeratedIntegers) {
            let values = (Int(low)...Int(high)).filter { $0 % step == 0 }
            if values.isEmpty { throw .invalid(path: path, reason: "no multiple of \(step) lies between the minimum and maximum") }
            return addLiterals(values.map { .integer($0) })
        }
        if step != 1 {
            throw .unsupportedKeyword(path: path, keyword: "multipleOf",
                                      detail: "over more than \(SchemaGraph.maxEnumeratedIntegers) multiples")
        }
        let kind = NumberKind(isInteger: isInteger,
                              lower: low.flatMap { $0 < -limit ? nil : Int64($0) },
                              upper: high.flatMap { $0 > limit ? nil : Int64($0) })
        return add(.number(kind))
    }

    private func count(_ object: JSONObject, _ key: String, path: String) throws(SchemaError) -> Int? {
        guard let value = object[key] else { return nil }
        guard let number = value.intValue, number >= 0 else {
            throw .invalid(path: path, reason: "\(key) is not a non-negative integer")
        }
        return number
    }

    /// A `$ref` into this schema. Each target is compiled once, so recursive schemas become cycles.
    private mutating func resolve(_ reference: String, path: String) throws(SchemaError) -> Int {
        if let node = references[reference] { return node }
        let target = JSONValue.object(try self.target(of: reference, path: path))
        let placeholder = add(.anyOf([]))
        references[reference] = placeholder
        pendingReferences.append((target, reference, placeholder))
        return placeholder
    }

    /// Compiles the targets of the references met so far (and those they meet), each into its
    /// placeholder: a worklist, so long chains of references do not nest calls.
    mutating func compilePendingReferences() throws(SchemaError) {
        while !pendingReferences.isEmpty {
            let (target, reference, placeholder) = pendingReferences.removeFirst()
            let node = try compile(target, path: reference)
            nodes[placeholder] = .anyOf([node])
        }
    }
}
