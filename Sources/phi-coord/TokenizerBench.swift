import ArgumentParser
import Foundation
import PhiTokenizer

/// `phi-coord bench-tokenizer`: single-threaded encoding speed, printed like
/// `tiktoken_phi4.py bench` so the two can be recorded side by side.
struct TokenizerBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-tokenizer",
        abstract: "Measure single-threaded encoding speed (MB/s) on a corpus file.")

    enum Mode: String, ExpressibleByArgument, CaseIterable {
        /// `encodeOrdinary`: o200k regex, no added tokens; what tiktoken's `encode_ordinary` does.
        case ordinary
        /// `encode`: added tokens and Hugging Face's pre-tokenizer.
        case hf
    }

    @Option(help: "Directory holding tokenizer.json (or vocab.json and merges.txt).")
    var tokenizer: String

    @Option(help: "UTF-8 text file to encode (tiktoken_phi4.py corpus OUT writes one).")
    var corpus: String

    @Option(help: "Encoding mode(s): ordinary, hf.")
    var mode: [Mode] = [.ordinary, .hf]

    @Option(help: "Runs per mode; the best is reported.")
    var repetitions: Int = 5

    @Option(help: "Encode the corpus in pieces of about this many bytes (cut at line ends), as prompts arrive; 0 encodes it whole.")
    var chunkBytes: Int = 0

    func validate() throws {
        guard repetitions > 0 else { throw ValidationError("--repetitions must be at least 1, got \(repetitions)") }
        guard chunkBytes >= 0 else { throw ValidationError("--chunk-bytes must not be negative, got \(chunkBytes)") }
    }

    func run() throws {
        let clock = ContinuousClock()
        var loaded: Tokenizer?
        let loadTime = try clock.measure { loaded = try Tokenizer.load(directory: URL(fileURLWithPath: tokenizer)) }
        guard let loaded else { return }
        let text = try String(contentsOfFile: corpus, encoding: .utf8)
        let megabytes = Double(text.utf8.count) / 1e6
        let chunks = chunkBytes == 0 ? [text] : Self.chunks(of: text, bytes: chunkBytes)
        for mode in mode {
            var best = Duration.seconds(Int64.max)
            var tokens = 0
            for _ in 0..<repetitions {
                let elapsed = clock.measure {
                    tokens = 0
                    for chunk in chunks {
                        tokens += (mode == .ordinary ? loaded.encodeOrdinary(chunk) : loaded.encode(chunk)).count
                    }
                }
                best = min(best, elapsed)
            }
            let seconds = Double(best.components.seconds) + Double(best.components.attoseconds) * 1e-18
            let loadSeconds = Double(loadTime.components.seconds) + Double(loadTime.components.attoseconds) * 1e-18
            let fields = [
                "\"tokenizer\": \"phi-cluster \(mode.rawValue)\"", "\"bytes\": \(text.utf8.count)", "\"chunks\": \(chunks.count)",
                "\"tokens\": \(tokens)", "\"seconds\": \(round(seconds * 1e4) / 1e4)",
                "\"MB_per_s\": \(round(megabytes / seconds * 100) / 100)", "\"load_seconds\": \(round(loadSeconds * 1e3) / 1e3)",
            ]
            print("{" + fields.joined(separator: ", ") + "}")
        }
    }

    /// The text cut after the first newline past every `bytes` bytes.
    static func chunks(of text: String, bytes: Int) -> [String] {
        var chunks: [String] = []
        var current = ""
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        for (index, line) in lines.enumerated() {
            current += line
            if index < lines.count - 1 { current += "\n" }
            if current.utf8.count >= bytes {
                chunks.append(current)
                current = ""
            }
        }
        if !current.isEmpty { chunks.append(current) }
        return chunks
    }
}
