import Foundation
import PhiTokenizer

/// Turns a JSON schema into `SchemaGraph` nodes. Supported: `type` (one or a list), `properties`,
/// `required`, `additionalProperties`, `items`, `minItems`, `maxItems`, `minLength`,
/// `maxLength`, `minimum`, `maximum`, `exclusiveMinimum`, `exclusiveMaximum`, `enum`, `const`,
/// `anyOf`, `oneOf`, a one-element `allOf`, `nullable`, and local `$ref` (`#`, `#/$defs/…`,
/// `#/definitions/…`). Annotations (`description`, `title`, `format`, `pattern`, `default`, …) are
/// ignored.
struct SchemaCompiler {
    /// The schema `$ref`s resolve against.
    var rootSchema: JSONValue {
        didSet { references = [:] }
    }
    var nodes: [SchemaGraph.Node] = []
    var tries: [LiteralTrie] = []
    private var references: [String: Int] = [:]
    private var anyNode: Int?

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
        if schema == .bool(true) { return anyValue() }
        if schema == .bool(false) { throw .invalid(path: path, reason: "`false` allows no value") }
        guard var object = schema.objectValue else {
            throw .invalid(path: path, reason: "expected a schema object, found \(schema.typeName)")
        }
        if let reference = object["$ref"] {
            guard let text = reference.stringValue else { throw .invalid(path: path, reason: "$ref is not a string") }
            return try resolve(text, path: path)
        }
        if let all = object["allOf"] {
            guard let list = all.arrayValue, list.count == 1, let only = list[0].objectValue else {
                throw .unsupported(path: path, reason: "allOf with other than one schema object")
            }
            object["allOf"] = nil
            for member in only.members where object[member.key] == nil { object[member.key] = member.value }
        }
        if let values = object["enum"] {
            guard let list = values.arrayValue, !list.isEmpty else { throw .invalid(path: path, reason: "enum is not a non-empty array") }
            return addLiterals(list)
        }
        if let value = object["const"] { return addLiterals([value]) }
        for keyword in ["anyOf", "oneOf"] {
            guard let alternatives = object[keyword] else { continue }
            guard let list = alternatives.arrayValue, !list.isEmpty else {
                throw .invalid(path: path, reason: "\(keyword) is not a non-empty array")
            }
            let node = add(.anyOf([]))
            var compiled: [Int] = []
            for (index, alternative) in list.enumerated() {
                compiled.append(try compile(alternative, path: "\(path)/\(keyword)/\(index)"))
            }
            nodes[node] = .anyOf(compiled)
            return node
        }
        var types: [String]
        switch object["type"] {
        case nil:
            if object["properties"] != nil || object["additionalProperties"] != nil || object["required"] != nil {
                types = ["object"]
            } else if object["items"] != nil {
                types = ["array"]
            } else {
                return anyValue()
            }
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

    private mutating func compile(type: String, _ object: JSONObject, path: String) throws(SchemaError) -> Int {
        switch type {
        case "object": return try compileObject(object, path: path)
        case "array":
            if object["prefixItems"] != nil { throw .unsupported(path: path, reason: "prefixItems") }
            let items = try object["items"].map { items throws(SchemaError) in try compile(items, path: path + "/items") } ?? anyValue()
            let minItems = try count(object, "minItems", path: path) ?? 0
            let maxItems = try count(object, "maxItems", path: path)
            if let maxItems, maxItems < minItems { throw .invalid(path: path, reason: "maxItems \(maxItems) < minItems \(minItems)") }
            return add(.array(items: items, minItems: minItems, maxItems: maxItems))
        case "string":
            let minLength = try count(object, "minLength", path: path) ?? 0
            let maxLength = try count(object, "maxLength", path: path)
            if let maxLength, maxLength < minLength { throw .invalid(path: path, reason: "maxLength \(maxLength) < minLength \(minLength)") }
            return add(.string(minLength: minLength, maxLength: maxLength))
        case "integer", "number": return try compileNumber(object, isInteger: type == "integer", path: path)
        case "boolean": return addLiterals([.bool(true), .bool(false)])
        case "null": return addLiterals([.null])
        default: throw .invalid(path: path, reason: "unknown type '\(type)'")
        }
    }

    private mutating func compileObject(_ object: JSONObject, path: String) throws(SchemaError) -> Int {
        let declared = object["properties"]?.objectValue ?? JSONObject()
        var required: [String] = []
        if let list = object["required"] {
            guard let names = list.arrayValue?.compactMap(\.stringValue), names.count == list.arrayValue?.count else {
                throw .invalid(path: path, reason: "required is not an array of strings")
            }
            required = names
        }
        let additional = object["additionalProperties"]
        // Without `properties`, an object is a map; with them (even none), only those are written.
        if object["properties"] == nil && required.isEmpty {
            if additional == .bool(false) { return add(.object(properties: [], keys: addKeyTrie([]))) }
            let values = try additional.map { value throws(SchemaError) in
                value.objectValue != nil || value == .bool(true) ? try compile(value, path: path + "/additionalProperties") : anyValue()
            } ?? anyValue()
            return add(.map(values: values))
        }
        // Required names that are not declared are written too, with the additional-properties schema.
        var members = declared.members.map { ($0.key, $0.value) }
        for name in required where declared[name] == nil {
            if additional == .bool(false) {
                throw .invalid(path: path, reason: "'\(name)' is required but additionalProperties is false and it is not declared")
            }
            members.append((name, additional?.objectValue != nil ? additional ?? .bool(true) : .bool(true)))
        }
        if members.count > SchemaGraph.maxProperties {
            throw .unsupported(path: path, reason: "more than \(SchemaGraph.maxProperties) properties")
        }
        let node = add(.anyOf([]))  // placeholder: properties may refer back to this object
        var properties: [SchemaGraph.Property] = []
        for (name, schema) in members {
            let value = try compile(schema, path: "\(path)/properties/\(name)")
            properties.append(.init(name: name, keyBytes: Array(JSONValue.string(name).serialized().utf8),
                                    value: value, isRequired: required.contains(name)))
        }
        nodes[node] = .object(properties: properties, keys: addKeyTrie(properties.map(\.keyBytes)))
        return node
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
        if isInteger, let low, let high, high - low < Double(SchemaGraph.maxEnumeratedIntegers) {
            return addLiterals((Int(low)...Int(high)).map { .integer($0) })
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
        guard reference == "#" || reference.hasPrefix("#/") else {
            throw .unsupported(path: path, reason: "$ref '\(reference)' (only references within the schema)")
        }
        var target = rootSchema
        for part in reference.dropFirst(2).split(separator: "/", omittingEmptySubsequences: false) where reference != "#" {
            let key = part.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            guard let next = target[key] else { throw .invalid(path: path, reason: "$ref '\(reference)' points at nothing") }
            target = next
        }
        let placeholder = add(.anyOf([]))
        references[reference] = placeholder
        let node = try compile(target, path: String(reference))
        nodes[placeholder] = .anyOf([node])
        return placeholder
    }
}
