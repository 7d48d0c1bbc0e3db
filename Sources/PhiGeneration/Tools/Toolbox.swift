import Foundation
import PhiCluster
import PhiTokenizer

/// The manifest's tools as the model sees them (definitions for the prompt) and as the
/// coordinator runs them: unknown names and invalid arguments are refused before anything runs.
public struct Toolbox: Sendable {
    public let specs: [Manifest.ToolSpec]
    public let definitions: [ToolDefinition]

    /// - Throws: `ToolboxError.invalidParameters` naming the tool whose schema is not JSON.
    public init(_ specs: [Manifest.ToolSpec]) throws(ToolboxError) {
        self.specs = specs
        var definitions: [ToolDefinition] = []
        for spec in specs {
            let parameters: JSONValue
            do {
                parameters = try JSONValue.parse(spec.parametersJSON)
            } catch {
                throw .invalidParameters(tool: spec.name, reason: error.description)
            }
            definitions.append(ToolDefinition(name: spec.name, description: spec.description.isEmpty ? nil : spec.description,
                                              parameters: parameters))
        }
        self.definitions = definitions
    }

    public var names: [String] { specs.map(\.name) }

    /// Checks `call` and runs its tool. Every problem is a `.failure` the model can read.
    public func call(_ call: ToolCall) async -> ToolOutcome {
        guard let index = specs.firstIndex(where: { $0.name == call.name }) else {
            return .failure("there is no tool named '\(call.name)'; available: \(names.joined(separator: ", "))")
        }
        if let schema = definitions[index].function["parameters"],
           let violation = JSONSchemaValidator(schema: schema).firstViolation(call.arguments) {
            return .failure("the arguments of '\(call.name)' are invalid: \(violation)")
        }
        return await ToolRunner.run(specs[index], argumentsJSON: call.argumentsJSON)
    }
}

public enum ToolboxError: Error, Equatable, CustomStringConvertible {
    case invalidParameters(tool: String, reason: String)

    public var description: String {
        switch self {
        case let .invalidParameters(tool, reason): "the parameters of tool '\(tool)' are not valid JSON: \(reason)"
        }
    }
}
