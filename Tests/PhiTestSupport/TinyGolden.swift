import Foundation

/// The Hugging Face reference outputs for tiny-phi4 (`Tests/Fixtures/tiny-phi4-golden/golden.json`).
public struct TinyGolden: Sendable {
    public struct Prompt: Sendable {
        public let name: String
        public let ids: [Int]
        public let argmax: [Int]
        /// The 10 best (id, logit) pairs at the last position.
        public let topLast: [(id: Int, logit: Float)]
        public let greedy24: [Int]?
    }

    public let prompts: [String: Prompt]
    /// 12 greedy tokens after the first 4,090 ids of p4300 (the generation crosses position 4096).
    public let crossGreedy12: [Int]

    public static func load(from directory: URL = Fixtures.tinyGolden) throws -> TinyGolden {
        let data = try Data(contentsOf: directory.appendingPathComponent("golden.json"))
        guard let root = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              let prompts = root["prompts"] as? [String: Any],
              let cross = prompts["p4090_cross"] as? [String: Any],
              let greedy12 = cross["greedy12"] as? [Int]
        else { throw FixtureError.malformed("golden.json") }
        var parsed: [String: Prompt] = [:]
        for (name, value) in prompts where name != "p4090_cross" {
            guard let fields = value as? [String: Any], let ids = fields["ids"] as? [Int],
                  let argmax = fields["argmax"] as? [Int], let top = fields["top_last"] as? [[Double]]
            else { throw FixtureError.malformed("golden.json prompt \(name)") }
            parsed[name] = Prompt(name: name, ids: ids, argmax: argmax,
                                  topLast: top.map { (Int($0[0]), Float($0[1])) },
                                  greedy24: fields["greedy24"] as? [Int])
        }
        return TinyGolden(prompts: parsed, crossGreedy12: greedy12)
    }

    public func prompt(_ name: String) throws -> Prompt {
        guard let prompt = prompts[name] else { throw FixtureError.malformed("golden.json has no prompt \(name)") }
        return prompt
    }

    /// The reference's last-position logits of `prompt` (`<name>.last_logits.f32`).
    public static func lastLogits(_ prompt: String, directory: URL = Fixtures.tinyGolden) throws -> [Float] {
        try FloatFile.read(directory.appendingPathComponent("\(prompt).last_logits.f32"))
    }
}

public enum FixtureError: Error, CustomStringConvertible {
    case malformed(String)
    /// A fixture that must be fetched first; the text says how.
    case missing(String)
    public var description: String {
        switch self {
        case let .malformed(what): "fixture \(what) is malformed"
        case let .missing(howTo): howTo
        }
    }
}

/// Raw little-endian float32 files.
public enum FloatFile {
    public static func read(_ url: URL) throws -> [Float] {
        let data = try Data(contentsOf: url)
        return data.withUnsafeBytes { raw in
            (0..<(data.count / 4)).map { Float(bitPattern: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self).littleEndian) }
        }
    }
}

/// Largest |a[i] - b[i]|; infinity when the lengths differ.
public func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
    guard a.count == b.count else { return .infinity }
    var worst: Float = 0
    for index in a.indices {
        let difference = abs(a[index] - b[index])
        if difference.isNaN { return .infinity }
        worst = max(worst, difference)
    }
    return worst
}

/// Index of the largest value (the first on ties).
public func argmax(_ values: ArraySlice<Float>) -> Int {
    var best = values.startIndex
    for index in values.indices where values[index] > values[best] { best = index }
    return best - values.startIndex
}
