import Foundation
import PhiModel
import PhiTestSupport
import Testing

@Suite("config.json of Phi3ForCausalLM")
struct ConfigTests {
    @Test("the real Phi-4-mini config reads with every field it has")
    func realPhi4Mini() throws {
        let config = try ModelConfig.load(directory: Fixtures.phi4MiniConfig)
        #expect(config.architecture == "Phi3ForCausalLM")
        #expect(config.hiddenSize == 3072 && config.intermediateSize == 8192 && config.layerCount == 32)
        #expect(config.headCount == 24 && config.kvHeadCount == 8 && config.headDim == 128)
        #expect(config.rotaryDims == 96)
        #expect(config.vocabularySize == 200_064)
        #expect(config.maxPositionEmbeddings == 131_072 && config.originalMaxPositionEmbeddings == 4096)
        #expect(config.tieWordEmbeddings)
        #expect(config.stopTokenIds == [200_020, 199_999])
        #expect(config.bosTokenId == 199_999)
        guard case let .longRope(short, long, attentionFactor) = config.rope else {
            Issue.record("expected LongRoPE, found \(config.rope)")
            return
        }
        #expect(short.count == 48 && long.count == 48)
        #expect(long.last == 47.77)
        // sqrt(1 + ln(131072/4096) / ln(4096)) ≈ 1.1902 (tiny-phi4-golden README)
        #expect(abs(attentionFactor - 1.190_238) < 1e-5)
        #expect(config.qkvRows == 5120)
    }

    /// Writes the tiny model's config.json with `edit` applied to its JSON object.
    func editedConfig(_ edit: (inout [String: Any]) -> Void) throws -> URL {
        let data = try Data(contentsOf: Fixtures.tinyModel.appendingPathComponent("config.json"))
        var object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        edit(&object)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("phi-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try JSONSerialization.data(withJSONObject: object).write(to: directory.appendingPathComponent("config.json"))
        return directory
    }

    @Test("a missing field is named", arguments: ["hidden_size", "num_hidden_layers", "num_key_value_heads", "vocab_size", "rms_norm_eps"])
    func missingField(_ field: String) throws {
        let directory = try editedConfig { $0.removeValue(forKey: field) }
        let error = try #require(throws: ConfigError.self) { try ModelConfig.load(directory: directory) }
        #expect(error == .missingField(file: directory.appendingPathComponent("config.json").path, field: field))
        #expect(error.description.contains("'\(field)'"))
    }

    @Test("an unknown architecture is named")
    func unknownArchitecture() throws {
        let directory = try editedConfig { $0["architectures"] = ["GPT2LMHeadModel"] }
        let error = try #require(throws: ConfigError.self) { try ModelConfig.load(directory: directory) }
        #expect(error.description.contains("GPT2LMHeadModel"))
    }

    @Test("a LongRoPE factor list of the wrong length is named with both lengths")
    func wrongFactorLength() throws {
        let directory = try editedConfig { object in
            var scaling = object["rope_scaling"] as? [String: Any] ?? [:]
            scaling["long_factor"] = [1.0, 2.0, 3.0]
            object["rope_scaling"] = scaling
        }
        let error = try #require(throws: ConfigError.self) { try ModelConfig.load(directory: directory) }
        #expect(error.description.contains("rope_scaling.long_factor"))
        #expect(error.description.contains("3 entries, expected 6"))
    }

    @Test("a field of the wrong type is named")
    func wrongType() throws {
        let directory = try editedConfig { $0["hidden_size"] = "sixty-four" }
        let error = try #require(throws: ConfigError.self) { try ModelConfig.load(directory: directory) }
        #expect(error.description.contains("'hidden_size' must be an integer"))
    }

    @Test("an unsupported rope scaling type is named")
    func unsupportedRope() throws {
        let directory = try editedConfig { object in
            object["rope_scaling"] = ["type": "yarn", "factor": 4.0]
        }
        let error = try #require(throws: ConfigError.self) { try ModelConfig.load(directory: directory) }
        #expect(error.description.contains("rope_scaling.type") && error.description.contains("yarn"))
    }

    @Test("LongRoPE switches to the long factors when a pass reaches position 4096")
    func factorSwitch() throws {
        let config = try ModelConfig.load(directory: Fixtures.tinyModel)
        #expect(RopeFactorSet.forPass(endingAt: 4095, config: config) == .short)
        #expect(RopeFactorSet.forPass(endingAt: 4096, config: config) == .long)
    }
}
