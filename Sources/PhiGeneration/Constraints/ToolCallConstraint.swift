import PhiTokenizer

/// Constrains a generation to Phi-4-mini's tool-call shape,
/// `<|tool_call|>[{"name": "…", "arguments": {…}}, …]<|/tool_call|>`, with each name one of the
/// offered tools and its arguments valid against that tool's `parameters` schema. Used for
/// `tool_choice` `required` (one or more calls to any tool) and a named function (one call).
public struct ToolCallConstraint: TokenConstraint {
    enum Stage: Sendable { case opening, calls, closing, done }

    let vocabulary: TokenVocabulary
    let openID: Int
    let closeID: Int
    private var stage = Stage.opening
    private var matcher: JSONMatcher
    public private(set) var isBroken = false

    /// - Parameters:
    ///   - tools: the functions that may be called (one, for a named `tool_choice`).
    ///   - allowsSeveral: whether the list may hold more than one call.
    /// - Throws: `ToolConstraintError` when the tokenizer lacks the markers or a schema cannot be
    ///   compiled (naming the tool).
    public init(tools: [ToolDefinition], allowsSeveral: Bool, vocabulary: TokenVocabulary) throws(ToolConstraintError) {
        guard let open = vocabulary.tokenizer.id(of: "<|tool_call|>"), let close = vocabulary.tokenizer.id(of: "<|/tool_call|>") else {
            throw .noToolCallTokens
        }
        guard !tools.isEmpty else { throw .noTools }
        self.vocabulary = vocabulary
        openID = open
        closeID = close
        matcher = JSONMatcher(graph: try Self.callsGraph(tools: tools, allowsSeveral: allowsSeveral))
    }

    /// `[call, …]` where each call is `{"name": <one tool's name>, "arguments": <its schema>}`.
    static func callsGraph(tools: [ToolDefinition], allowsSeveral: Bool) throws(ToolConstraintError) -> SchemaGraph {
        var compiler = SchemaCompiler(rootSchema: .null)
        var calls: [Int] = []
        for tool in tools {
            let parameters = tool.function["parameters"] ?? ["type": "object", "properties": [:]]
            compiler.rootSchema = parameters
            let arguments: Int
            do {
                arguments = try compiler.compile(parameters, path: "#")
                try compiler.compilePendingReferences()
            } catch {
                throw .invalidSchema(tool: tool.name, error)
            }
            let name = compiler.addLiterals([.string(tool.name)])
            let properties = [
                SchemaGraph.Property(name: "name", keyBytes: Array(#""name""#.utf8), value: name, isRequired: true),
                SchemaGraph.Property(name: "arguments", keyBytes: Array(#""arguments""#.utf8), value: arguments, isRequired: true),
            ]
            compiler.tries.append(LiteralTrie(texts: properties.map(\.keyBytes)))
            calls.append(compiler.add(.object(properties: properties, keys: compiler.tries.count - 1)))
        }
        let call = calls.count == 1 ? calls[0] : compiler.add(.anyOf(calls))
        let root = compiler.add(.array(items: call, minItems: 1, maxItems: allowsSeveral ? nil : 1))
        do {
            return try SchemaGraph(nodes: compiler.nodes, tries: compiler.tries, automata: compiler.automata, root: root)
        } catch {
            throw .invalidSchema(tool: tools.map(\.name).joined(separator: ", "), error)
        }
    }

    public mutating func allowedTokens(remainingTokens: Int) -> TokenMask {
        var mask = TokenMask(count: vocabulary.vocabularySize, allowsAll: isBroken)
        switch stage {
        case _ where isBroken: break
        case .opening: mask.insert(openID)
        case .calls:
            // One token stays reserved for the closing marker.
            matcher.addAllowedTokens(to: &mask, vocabulary: vocabulary, limit: remainingTokens - 2)
            if mask.isEmpty { matcher.addClosingTokens(to: &mask, vocabulary: vocabulary) }
        case .closing: mask.insert(closeID)
        case .done: break
        }
        return mask
    }

    public mutating func advance(_ token: Int) {
        guard !isBroken else { return }
        switch stage {
        case .opening where token == openID: stage = .calls
        case .calls where vocabulary.isTextToken(token) && matcher.advance(vocabulary.tokenBytes(token)):
            if matcher.isComplete { stage = .closing }
        case .closing where token == closeID: stage = .done
        default: isBroken = true
        }
    }

    public var isComplete: Bool { stage == .done }
}

public enum ToolConstraintError: Error, CustomStringConvertible {
    case noToolCallTokens
    case noTools
    case invalidSchema(tool: String, SchemaError)
    case unknownFunction(name: String, available: [String])

    public var description: String {
        switch self {
        case let .unknownFunction(name, available):
            "tool_choice names '\(name)', which is not among the tools (\(available.isEmpty ? "none given" : available.joined(separator: ", ")))"
        case .noToolCallTokens: "the tokenizer has no <|tool_call|> and <|/tool_call|> tokens, so calls cannot be forced"
        case .noTools: "a tool call was required but no tools were given"
        case let .invalidSchema(tool, error): "the parameters of tool '\(tool)': \(error)"
        }
    }
}
