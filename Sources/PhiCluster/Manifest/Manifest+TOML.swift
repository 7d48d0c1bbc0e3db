import Foundation
import PhiModel
import TOMLKit

extension Manifest {
    static let topKeys = ["model", "tokenizer", "quant", "kv", "wire_dtype", "secret_file", "insecure", "context", "chunk", "threads",
                          "coordinator", "workers", "spares", "tools"]
    static let nodeKeys = ["name", "address", "layers", "local", "memory", "threads"]
    static let toolKeys = ["name", "description", "parameters", "command", "timeout_seconds", "max_output_bytes"]

    /// Reads and checks a manifest file: syntax, known keys, types, unique names and addresses, and
    /// (when the workers give layers) ranges that cover the layers once, in order. Checks that need the
    /// model's layer count are in `validate(layerCount:)`.
    public static func load(_ url: URL) throws -> Manifest {
        let text: String
        do {
            text = try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw ManifestError.unreadable(file: url.path, reason: error.localizedDescription)
        }
        return try parse(text, file: url)
    }

    public static func parse(_ text: String, file url: URL) throws -> Manifest {
        let file = url.path
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw ManifestError.syntax(file: file, line: Int(error.source.begin.line), column: Int(error.source.begin.column),
                                       reason: error.description)
        }
        let top = TOMLFields(file: file, table: table, path: "")
        try top.checkKeys(topKeys)
        let directory = url.deletingLastPathComponent()
        func resolve(_ path: String) -> URL {
            path.hasPrefix("/") ? URL(fileURLWithPath: path) : directory.appendingPathComponent(path).standardizedFileURL
        }
        var manifest = Manifest(
            file: url,
            modelPath: resolve(try top.requiredString("model")),
            tokenizerPath: try top.string("tokenizer").map(resolve),
            quant: try top.string("quant").map { try enumValue($0, key: "quant", file: file) },
            kvFormat: try top.string("kv").map { try enumValue($0, key: "kv", file: file) },
            wireDType: try top.string("wire_dtype").map { try enumValue($0, key: "wire_dtype", file: file) } ?? .f32,
            secretFile: try top.string("secret_file").map(resolve),
            contextTokens: try top.positiveInt("context"),
            chunkTokens: try top.positiveInt("chunk"),
            threads: try top.positiveInt("threads"),
            coordinatorAddress: try top.string("coordinator"),
            workers: try top.tables("workers").map(node),
            spares: try top.tables("spares").map(node),
            tools: try top.tables("tools").map { try tool($0, resolve: resolve) })
        manifest.isInsecure = try top.bool("insecure") ?? false
        if manifest.workers.isEmpty { throw ManifestError.noWorkers(file: file) }
        try manifest.checkUnique()
        if manifest.workers.allSatisfy({ $0.layers != nil }) {
            try manifest.checkLayerOrder(layerCount: nil)
        }
        return manifest
    }

    private static func node(_ fields: TOMLFields) throws -> Node {
        try fields.checkKeys(nodeKeys)
        let address = try fields.requiredString("address")
        guard address.hasPrefix("tcp://") || address.hasPrefix("ipc://") || address.hasPrefix("inproc://") else {
            throw ManifestError.invalidValue(file: fields.file, key: fields.key("address"),
                                             reason: "must be an nng address such as tcp://192.168.1.20:5600, not '\(address)'")
        }
        var layers: Range<Int>?
        if let text = try fields.string("layers") {
            guard let range = LayerRangeText.parse(text) else {
                throw ManifestError.invalidValue(file: fields.file, key: fields.key("layers"),
                                                 reason: "must be a range such as \"0-15\", not '\(text)'")
            }
            layers = range
        }
        var memory: Int?
        if let text = try fields.string("memory") {
            guard let bytes = ByteCount.parse(text) else {
                throw ManifestError.invalidValue(file: fields.file, key: fields.key("memory"),
                                                 reason: "must be a size such as \"8GiB\", not '\(text)'")
            }
            memory = bytes
        }
        return Node(name: try fields.requiredString("name"), address: address, layers: layers,
                    isLocal: try fields.bool("local") ?? false, memoryBytes: memory, threads: try fields.positiveInt("threads"))
    }

    private static func tool(_ fields: TOMLFields, resolve: (String) -> URL) throws -> ToolSpec {
        try fields.checkKeys(toolKeys)
        guard var command = try fields.strings("command"), let program = command.first, !program.isEmpty else {
            throw ManifestError.missingKey(file: fields.file, key: fields.key("command"))
        }
        if program.contains("/") && !program.hasPrefix("/") { command[0] = resolve(program).path }
        let timeout = try fields.double("timeout_seconds") ?? 30
        guard timeout > 0 else {
            throw ManifestError.invalidValue(file: fields.file, key: fields.key("timeout_seconds"), reason: "must be positive")
        }
        return ToolSpec(name: try fields.requiredString("name"), description: try fields.string("description") ?? "",
                        parametersJSON: try parametersJSON(fields), command: command,
                        timeout: .milliseconds(Int(timeout * 1000)),
                        maxOutputBytes: try fields.positiveInt("max_output_bytes") ?? 64 * 1024)
    }

    /// `parameters` as JSON text: given as a JSON string (key order kept), or as a TOML table.
    private static func parametersJSON(_ fields: TOMLFields) throws -> String {
        guard let value = fields.value("parameters") else { return #"{"type": "object", "properties": {}}"# }
        if let text = value.tomlValue.string {
            guard (try? JSONSerialization.jsonObject(with: Data(text.utf8))) is [String: Any] else {
                throw ManifestError.invalidValue(file: fields.file, key: fields.key("parameters"), reason: "is not a JSON object")
            }
            return text
        }
        guard let table = value.tomlValue.table else {
            throw ManifestError.wrongType(file: fields.file, key: fields.key("parameters"), expected: "a JSON schema (a JSON string or a table)")
        }
        return table.convert(to: .json)
    }

    static func enumValue<T: RawRepresentable & CaseIterable>(_ text: String, key: String, file: String) throws -> T
    where T.RawValue == String {
        guard let value = T(rawValue: text) else {
            throw ManifestError.invalidValue(file: file, key: key,
                                             reason: "must be one of \(T.allCases.map(\.rawValue).joined(separator: ", ")), not '\(text)'")
        }
        return value
    }
}
