import Foundation
import PhiModel
import PhiTestSupport
import Testing

/// A failure of the test's own setup (a script, a missing download), with what to do about it.
struct GGUFTestSetupError: Error, CustomStringConvertible {
    let description: String
}

/// The Python scripts beside these tests (`gguf/*.py`), run with the `gguf` PyPI package.
enum GGUFScripts {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("gguf")

    /// Runs `python3 gguf/<script> arguments…`, failing with its stderr when it fails.
    static func run(_ script: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", directory.appendingPathComponent(script).path] + arguments
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw GGUFTestSetupError(description: "python3 \(script) \(arguments.joined(separator: " ")) failed "
                + "(status \(process.terminationStatus)); is the gguf PyPI package installed (scripts/install-deps --python)? "
                + String(decoding: message, as: UTF8.self))
        }
    }

    static func temporaryDirectory(_ prefix: String) throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }
}

/// tiny-phi4 written as GGUF by `gguf/write_tiny_phi4.py` (as convert_hf_to_gguf writes Phi-4-mini),
/// once per test process.
enum TinyGGUF {
    private static let written: Result<URL, any Error> = Result {
        let url = try GGUFScripts.temporaryDirectory("phi-tiny-gguf").appendingPathComponent("tiny-phi4.gguf")
        try GGUFScripts.run("write_tiny_phi4.py", [Fixtures.tinyModel.path, Fixtures.tokenizer.path, url.path])
        return url
    }

    static func url() throws -> URL { try written.get() }

    private static let opened: Result<ModelSource, any Error> = Result { try ModelSource.open(try url()) }

    static func source() throws -> ModelSource { try opened.get() }
}

extension SmolLM2 {
    /// The weights of the whole model in float32 (the reference dequantized every tensor to
    /// float32), loaded once per process.
    private static let loaded: Result<(config: ModelConfig, weights: StageWeights), any Error> = Result {
        let source = try ModelSource.open(try url())
        let weights = try StageWeights.load(from: source.tensors, layout: source.layout, config: source.config,
                                            layers: source.config.allLayers, format: .f32, compute: try Compute(threads: 2))
        return (source.config, weights)
    }

    /// A stage of the whole model with a compute pool of its own: a `ThreadPool` runs one job at
    /// a time, so concurrent tests must not share one.
    static func stage() throws -> Stage {
        let (config, weights) = try loaded.get()
        return Stage(config: config, weights: weights, compute: try Compute(threads: 2))
    }
}

/// A deterministic generator (SplitMix64), so random blocks and fuzzed files repeat run to run.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Greedy decoding of `count` tokens after `ids` with the KV cache, one token per pass.
func greedyTokens(_ stage: Stage, after ids: [Int], count: Int) throws -> [Int] {
    var cache = try KVCache(config: stage.config, layers: stage.layers, capacity: ids.count + count)
    var scratch = Scratch()
    var hidden = try stage.embed(tokens: ids)
    try stage.run(&hidden, positions: 0..<ids.count, ropeFactors: .short, cache: &cache, scratch: &scratch)
    var logits = try stage.logits(from: hidden, tokens: (ids.count - 1)..<ids.count, scratch: &scratch)
    var generated: [Int] = []
    while generated.count < count {
        let next = argmax(logits[...])
        generated.append(next)
        guard generated.count < count else { break }
        let position = ids.count + generated.count - 1
        var step = try stage.embed(tokens: [next])
        try stage.run(&step, positions: position..<(position + 1), ropeFactors: .short, cache: &cache, scratch: &scratch)
        logits = try stage.logits(from: step, tokens: 0..<1, scratch: &scratch)
    }
    return generated
}
