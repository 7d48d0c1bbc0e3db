import ArgumentParser
import Foundation
import PhiTokenizer

/// `phi-coord tokenize`: the ids of a text file.
struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the token ids of a text file.")

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case json, text
    }

    @Option(help: "Directory holding the tokenizer files (a model directory works too).")
    var tokenizer: String

    @Option(help: "UTF-8 file holding the text to tokenize.")
    var textFile: String

    @Option(help: "json prints {\"ids\": [...]}; text prints the ids separated by commas.")
    var format: Format = .json

    @Flag(help: "Treat added-token text as plain text and use the vocabulary's own regex (tiktoken's encode_ordinary).")
    var ordinary = false

    func run() throws {
        let loaded = try Tokenizer.load(directory: URL(fileURLWithPath: tokenizer))
        let text = try String(contentsOfFile: textFile, encoding: .utf8)
        let ids = ordinary ? loaded.encodeOrdinary(text) : loaded.encode(text)
        let list = ids.map(String.init).joined(separator: format == .json ? ", " : ",")
        print(format == .json ? "{\"ids\": [\(list)]}" : list)
    }
}
