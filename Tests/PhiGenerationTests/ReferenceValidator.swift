import Foundation
@testable import PhiGeneration
import PhiTokenizer

/// Python's `jsonschema` (the draft the schema's `$schema` names, else 2020-12, with that draft's format checker) as the reference the recognizer
/// is compared with: one `python3` run answers a batch of (schema, text) cases.
enum ReferenceValidator {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static let script = """
        import json, sys
        from jsonschema import Draft202012Validator
        from jsonschema.validators import validator_for
        answers = []
        for line in sys.stdin:
            case = json.loads(line)
            try:
                instance = json.loads(case["text"])
            except ValueError:
                answers.append(False)
                continue
            cls = validator_for(case["schema"], default=Draft202012Validator)
            validator = cls(case["schema"], format_checker=cls.FORMAT_CHECKER)
            answers.append(validator.is_valid(instance))
        print(json.dumps(answers))
        """

    /// Whether each text is a JSON document valid for its schema.
    static func accepts(_ cases: [(schema: JSONValue, text: String)]) throws -> [Bool] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script]
        let input = Pipe(), output = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        var lines = ""
        for (schema, text) in cases {
            lines += JSONValue.object(["schema": schema, "text": .string(text)]).serialized() + "\n"
        }
        input.fileHandleForWriting.write(Data(lines.utf8))
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let problems = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0,
              let answers = try? JSONValue.parse(String(decoding: data, as: UTF8.self)).arrayValue,
              answers.count == cases.count else {
            throw Failure(description: "python3 jsonschema failed: \(problems)")
        }
        return answers.map { $0 == .bool(true) }
    }
}

/// Whether the recognizer of `graph` accepts `text` as a complete value.
func recognizerAccepts(_ graph: SchemaGraph, _ text: String) -> Bool {
    var matcher = JSONMatcher(graph: graph)
    return matcher.advance(Array(text.utf8)) && matcher.isAccepting
}
