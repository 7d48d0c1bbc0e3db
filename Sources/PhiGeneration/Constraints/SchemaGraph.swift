import PhiTokenizer

/// A JSON schema compiled for generation: a graph of nodes (indices, so `$ref` cycles are
/// fine), each describing the values the constrained output may write there, and literal tries
/// for enums, constants and object keys. Built by `SchemaGraph(schema:)`.
///
/// It describes a subset of the schema's instances, always valid ones: objects write their
/// declared properties in order (optional ones may be left out) and nothing else; integers
/// with a small range become enums; whitespace is at most one space after `:` and `,`.
public struct SchemaGraph: Sendable {
    enum Node: Sendable, Equatable {
        /// One of several schemas (`anyOf`, `oneOf`, a list of types, an unconstrained value).
        case anyOf([Int])
        /// Declared properties in order; `keys` is the literal trie of their quoted names.
        case object(properties: [Property], keys: Int)
        /// Any keys (strings of the string node `keys`, when not -1), each value of the node `values`.
        case map(values: Int, keys: Int = -1)
        case array(items: Int, minItems: Int, maxItems: Int?)
        /// `pattern`: an index into `automata` that the characters must match, or -1.
        case string(minLength: Int, maxLength: Int?, pattern: Int = -1)
        case number(NumberKind)
        /// One of fixed JSON texts (`enum`, `const`, booleans, null), as the trie `trie`.
        case literals(trie: Int)
    }

    struct Property: Sendable, Equatable {
        let name: String
        /// `"name"` as JSON text, quotes included.
        let keyBytes: [UInt8]
        let value: Int
        let isRequired: Bool
    }

    var nodes: [Node] = []
    var tries: [LiteralTrie] = []
    /// The automata of string patterns and formats.
    var automata: [ByteAutomaton] = []
    /// Bytes of the shortest valid text of each node.
    var minimumBytes: [Int] = []
    /// For each node, the nodes a value there may start as (anyOf flattened).
    var leaves: [[Int]] = []
    /// For objects, `restBytes[node][n]`: the shortest text that writes every required property
    /// from index `n` on, each with its comma, and the closing brace.
    var restBytes: [[Int]] = []
    public internal(set) var root = 0

    /// Largest number of declared properties of one object (their sets are 64-bit masks).
    public static let maxProperties = 64
    /// Integer ranges up to this many values are generated as enums, which enforces the bounds.
    static let maxEnumeratedIntegers = 1024
    /// Compiles `schema` (a JSON schema object or `true`).
    /// - Throws: `SchemaError` naming the schema path of an unsupported or unsatisfiable part.
    public init(schema: JSONValue) throws(SchemaError) {
        var compiler = SchemaCompiler(rootSchema: schema)
        root = try compiler.compile(schema, path: "#")
        try compiler.compilePendingReferences()
        nodes = compiler.nodes
        tries = compiler.tries
        automata = compiler.automata
        try finish()
    }

    /// A graph whose root is `node` built by hand (the tool-call shape).
    init(nodes: [Node], tries: [LiteralTrie], automata: [ByteAutomaton], root: Int) throws(SchemaError) {
        self.nodes = nodes
        self.tries = tries
        self.automata = automata
        self.root = root
        try finish()
    }

    private mutating func finish() throws(SchemaError) {
        leaves = nodes.indices.map { flattenedLeaves(of: $0) }
        try computeMinimumBytes()
        restBytes = nodes.map { node in
            guard case let .object(properties, _) = node else { return [] }
            var rest = [Int](repeating: 1, count: properties.count + 1)
            for index in stride(from: properties.count - 1, through: 0, by: -1) {
                rest[index] = rest[index + 1] + (properties[index].isRequired ? 1 + itemBytes(properties[index]) : 0)
            }
            return rest
        }
    }

    /// `"key": value` at its shortest (no space).
    func itemBytes(_ property: Property) -> Int {
        property.keyBytes.count + 1 + minimumBytes[property.value]
    }

    private func flattenedLeaves(of node: Int) -> [Int] {
        var result: [Int] = []
        var seen: Set<Int> = []
        var pending = [node]
        while let next = pending.popLast() {
            guard seen.insert(next).inserted else { continue }
            if case let .anyOf(alternatives) = nodes[next] { pending += alternatives.reversed() } else { result.append(next) }
        }
        return result
    }

    /// The shortest text of each node, by fixpoint iteration (nodes may refer to themselves).
    private mutating func computeMinimumBytes() throws(SchemaError) {
        let unknown = Int.max / 4
        var minimum = [Int](repeating: unknown, count: nodes.count)
        var changed = true
        while changed {
            changed = false
            for (index, node) in nodes.enumerated() {
                var value: Int
                switch node {
                case let .anyOf(alternatives): value = alternatives.map { minimum[$0] }.min() ?? unknown
                case let .object(properties, _):
                    let required = properties.filter(\.isRequired)
                    value = 2 + max(0, required.count - 1)
                    for property in required { value = min(unknown, value + property.keyBytes.count + 1 + minimum[property.value]) }
                case .map: value = 2
                case let .array(items, minItems, _):
                    // Saturating at `unknown`: minItems × an unknown item would overflow the sum.
                    let (product, overflow) = minItems.multipliedReportingOverflow(by: minimum[items])
                    value = minItems == 0 ? 2 : (overflow || product >= unknown ? unknown : min(unknown, 2 + product + minItems - 1))
                case let .string(minLength, _, pattern):
                    value = 2 + max(minLength, pattern >= 0 ? Int(automata[pattern].minimumBytes[0]) : 0)
                case let .number(kind): value = kind.minimumBytes
                case let .literals(trie): value = tries[trie].minimumRemaining[0]
                }
                value = min(value, unknown)
                if value < minimum[index] {
                    minimum[index] = value
                    changed = true
                }
            }
        }
        if minimum[root] >= unknown { throw .noFiniteInstance(path: "#") }
        minimumBytes = minimum
    }
}

/// A trie of fixed JSON texts; node 0 is the root.
struct LiteralTrie: Sendable, Equatable {
    var children: [[(byte: UInt8, node: Int32)]] = [[]]
    /// For key tries, the property index ending at a node; for value tries, 0 at every end.
    var terminal: [Int32] = [-1]
    /// Property indices (bits) of the ends below each node, for key tries.
    var reachable: [UInt64] = [0]
    /// Bytes from each node to its nearest end.
    var minimumRemaining: [Int] = [0]

    init(texts: [[UInt8]]) {
        for (index, text) in texts.enumerated() {
            var node = 0
            reachable[0] |= index < 64 ? 1 << UInt64(index) : 0
            for byte in text {
                if let next = children[node].first(where: { $0.byte == byte })?.node {
                    node = Int(next)
                } else {
                    children.append([])
                    terminal.append(-1)
                    reachable.append(0)
                    minimumRemaining.append(0)
                    children[node].append((byte, Int32(children.count - 1)))
                    node = children.count - 1
                }
                reachable[node] |= index < 64 ? 1 << UInt64(index) : 0
            }
            if terminal[node] < 0 { terminal[node] = Int32(index) }
        }
        // Children are always created after their parent, so one backward pass settles distances.
        for node in stride(from: children.count - 1, through: 0, by: -1) {
            minimumRemaining[node] = terminal[node] >= 0 ? 0 : (children[node].map { minimumRemaining[Int($0.node)] + 1 }.min() ?? 0)
        }
    }

    func child(_ node: Int, _ byte: UInt8) -> Int? {
        for entry in children[node] where entry.byte == byte { return Int(entry.node) }
        return nil
    }

    static func == (a: LiteralTrie, b: LiteralTrie) -> Bool {
        a.terminal == b.terminal && a.children.map { $0.map(\.byte) } == b.children.map { $0.map(\.byte) }
    }
}

/// A schema the constraint cannot generate for, naming where in the schema.
public enum SchemaError: Error, Equatable, CustomStringConvertible {
    case unsupported(path: String, reason: String)
    /// A JSON Schema keyword the constraint cannot enforce, at the JSON pointer `path`.
    case unsupportedKeyword(path: String, keyword: String, detail: String?)
    case invalid(path: String, reason: String)
    case noFiniteInstance(path: String)

    public var description: String {
        switch self {
        case let .unsupported(path, reason): "schema \(path): \(reason) is not supported"
        case let .unsupportedKeyword(path, keyword, detail):
            "schema \(path): keyword '\(keyword)'\(detail.map { " " + $0 } ?? "") is not supported"
        case let .invalid(path, reason): "schema \(path): \(reason)"
        case let .noFiniteInstance(path): "schema \(path) has no finite valid value"
        }
    }

    /// The schema allows no value (as opposed to one the constraint cannot serve).
    var isUnsatisfiable: Bool {
        if case .invalid = self { true } else { false }
    }
}
