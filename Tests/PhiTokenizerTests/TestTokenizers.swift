import Foundation
import Testing
import PhiTestSupport
@testable import PhiTokenizer

/// The Phi-4-mini tokenizer, loaded once per test process (a 15 MB tokenizer.json).
enum TestTokenizers {
    private static let phi4Mini = Result { () throws(TokenizerError) in try Tokenizer.load(directory: Fixtures.tokenizer) }

    static func phi4() throws -> Tokenizer { try phi4Mini.get() }
}

/// One line of tokenizer_golden.jsonl.
struct TokenizerGoldenLine: Sendable, CustomTestStringConvertible {
    let number: Int
    let text: String
    let idsHF: [Int]
    let idsOrdinary: [Int]
    let decoded: String
    let decodedOrdinary: String

    var testDescription: String { "line \(number): \(text.debugDescription.prefix(40))" }

    static let all: [TokenizerGoldenLine] = {
        let url = Fixtures.tokenizer.appendingPathComponent("tokenizer_golden.jsonl")
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").enumerated().compactMap { index, line in
            guard let value = try? JSONValue.parse(String(line)) else { return nil }
            return TokenizerGoldenLine(
                number: index + 1, text: value["text"]?.stringValue ?? "",
                idsHF: value["ids_hf"]?.arrayValue?.compactMap(\.intValue) ?? [],
                idsOrdinary: value["ids_ordinary"]?.arrayValue?.compactMap(\.intValue) ?? [],
                decoded: value["decoded"]?.stringValue ?? "",
                decodedOrdinary: value["decoded_ordinary"]?.stringValue ?? "")
        }
    }()
}
