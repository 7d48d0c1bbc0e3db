import ArgumentParser
import Foundation
import PhiTokenizer

/// `phi-coord detokenize`: the text of a list of ids.
struct Detokenize: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the text of comma-separated token ids.")

    @Option(help: "Directory holding the tokenizer files (a model directory works too).")
    var tokenizer: String

    @Option(help: "Token ids separated by commas, e.g. 24912,11,2375.")
    var ids: String

    @Flag(help: "Leave out special tokens such as <|end|>.")
    var skipSpecialTokens = false

    @Option(help: "text prints the text exactly (a newline is added only on a terminal); json prints {\"text\": ...}.")
    var format: Tokenize.Format = .text

    func validate() throws {
        _ = try parsedIDs()
    }

    func parsedIDs() throws -> [Int] {
        let fields = ids.split(separator: ",", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        if fields == [""] { return [] }
        return try fields.enumerated().map { index, field in
            guard let id = Int(field) else {
                throw ValidationError("--ids item \(index + 1) '\(field)' is not an integer")
            }
            return id
        }
    }

    func run() throws {
        let loaded = try Tokenizer.load(directory: URL(fileURLWithPath: tokenizer))
        let text = try loaded.decode(try parsedIDs(), skipSpecialTokens: skipSpecialTokens)
        switch format {
        case .json: print(JSONValue.object(["text": .string(text)]).serialized())
        case .text: print(text, terminator: isatty(STDOUT_FILENO) != 0 ? "\n" : "")
        }
    }
}
