import Foundation
import PhiCluster
import PhiTestSupport
import Testing

@Suite("cluster manifests")
struct ManifestTests {
    static let file = URL(fileURLWithPath: "/tmp/cluster/test.toml")

    static func parse(_ text: String) throws -> Manifest {
        try Manifest.parse(text, file: file)
    }

    static let twoWorkers = """
        model = "../models/tiny"
        wire_dtype = "f16"
        secret_file = "secret.key"
        [[workers]]
        name = "a"
        address = "tcp://127.0.0.1:5601"
        layers = "0-15"
        local = true
        [[workers]]
        name = "b"
        address = "tcp://127.0.0.1:5602"
        layers = "16-31"
        [[spares]]
        name = "s"
        address = "tcp://127.0.0.1:5609"
        local = true
        """

    @Test("a two-worker manifest reads with paths relative to its file")
    func reads() throws {
        let manifest = try Self.parse(Self.twoWorkers)
        #expect(manifest.modelPath.path == "/tmp/models/tiny")
        #expect(manifest.secretFile?.path == "/tmp/cluster/secret.key")
        #expect(manifest.wireDType == .f16)
        #expect(manifest.workers.map(\.layers) == [0..<16, 16..<32])
        #expect(manifest.workers.map(\.isLocal) == [true, false])
        #expect(manifest.spares.map(\.name) == ["s"])
        try manifest.checkLayerOrder(layerCount: 32)
    }

    @Test("the examples in cluster/ read and cover the tiny model's layers")
    func examples() throws {
        for name in ["tiny-2workers.toml", "tiny-4workers.toml"] {
            let manifest = try Manifest.load(Fixtures.packageRoot.appendingPathComponent("cluster/\(name)"))
            try manifest.checkLayerOrder(layerCount: 32)
            #expect(FileManager.default.fileExists(atPath: manifest.modelPath.appendingPathComponent("config.json").path))
        }
    }

    @Test("a gap names the missing layers and the workers around it")
    func gap() throws {
        let text = Self.twoWorkers.replacingOccurrences(of: "\"16-31\"", with: "\"18-31\"")
        let error = try #require(throws: ManifestError.self) { try Self.parse(text) }
        #expect(error.description.contains("no worker holds layers 16-17"))
        #expect(error.description.contains("'a' and 'b'"))
    }

    @Test("an overlap names both workers and the shared layers")
    func overlap() throws {
        let text = Self.twoWorkers.replacingOccurrences(of: "\"16-31\"", with: "\"12-31\"")
        let error = try #require(throws: ManifestError.self) { try Self.parse(text) }
        #expect(error.description.contains("workers 'a' and 'b' both hold layers 12-15"))
    }

    @Test("layers past the model's are named with the model's count")
    func pastTheModel() throws {
        let manifest = try Self.parse(Self.twoWorkers.replacingOccurrences(of: "\"16-31\"", with: "\"16-40\""))
        let error = try #require(throws: ManifestError.self) { try manifest.checkLayerOrder(layerCount: 32) }
        #expect(error.description.contains("worker 'b' holds layers 16-40, past the model's 32 layers"))
    }

    @Test("layers that stop short of the last are named")
    func shortOfTheEnd() throws {
        let manifest = try Self.parse(Self.twoWorkers.replacingOccurrences(of: "\"16-31\"", with: "\"16-29\""))
        let error = try #require(throws: ManifestError.self) { try manifest.checkLayerOrder(layerCount: 32) }
        #expect(error.description.contains("no worker holds layers 30-31"))
    }

    @Test("a duplicate address is named")
    func duplicateAddress() throws {
        let text = Self.twoWorkers.replacingOccurrences(of: "5609", with: "5602")
        let error = try #require(throws: ManifestError.self) { try Self.parse(text) }
        #expect(error == .duplicate(file: Self.file.path, key: "address", value: "tcp://127.0.0.1:5602"))
    }

    @Test("an unknown key is named, with the key it was probably meant to be")
    func unknownKey() throws {
        let text = Self.twoWorkers.replacingOccurrences(of: "local = true\n[[workers]]", with: "lokal = true\n[[workers]]")
        let error = try #require(throws: ManifestError.self) { try Self.parse(text) }
        #expect(error == .unknownKey(file: Self.file.path, key: "workers[0].lokal", suggestion: "workers[0].local"))
        let top = try #require(throws: ManifestError.self) { try Self.parse("modle = \"x\"\n" + Self.twoWorkers) }
        #expect(top.description.contains("unknown key 'modle'") && top.description.contains("'model'"))
    }

    @Test("wrong types and bad values are named")
    func badValues() throws {
        let layersNumber = try #require(throws: ManifestError.self) {
            try Self.parse(Self.twoWorkers.replacingOccurrences(of: "\"0-15\"", with: "15"))
        }
        #expect(layersNumber == .wrongType(file: Self.file.path, key: "workers[0].layers", expected: "a string"))
        let dtype = try #require(throws: ManifestError.self) {
            try Self.parse(Self.twoWorkers.replacingOccurrences(of: "\"f16\"", with: "\"f8\""))
        }
        #expect(dtype.description.contains("'wire_dtype' must be one of f32, f16, bf16, not 'f8'"))
        let address = try #require(throws: ManifestError.self) {
            try Self.parse(Self.twoWorkers.replacingOccurrences(of: "tcp://127.0.0.1:5601", with: "127.0.0.1:5601"))
        }
        #expect(address.description.contains("workers[0].address"))
        let syntax = try #require(throws: ManifestError.self) { try Self.parse("model = [1,\n") }
        guard case .syntax = syntax else {
            Issue.record("expected a syntax error, got \(syntax)")
            return
        }
    }

    @Test("a missing model and an empty cluster are reported")
    func missing() throws {
        let noModel = try #require(throws: ManifestError.self) {
            try Self.parse(Self.twoWorkers.replacingOccurrences(of: "model = \"../models/tiny\"\n", with: ""))
        }
        #expect(noModel == .missingKey(file: Self.file.path, key: "model"))
        let noWorkers = try #require(throws: ManifestError.self) { try Self.parse("model = \"m\"\n") }
        #expect(noWorkers == .noWorkers(file: Self.file.path))
    }

    @Test("tools read with their schema, command and limits")
    func tools() throws {
        let text = Self.twoWorkers + """

            [[tools]]
            name = "get_weather"
            description = "Current weather in a city"
            parameters = '{"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}'
            command = ["tools/weather.py", "--celsius"]
            timeout_seconds = 2.5
            max_output_bytes = 1000
            """
        let tool = try #require(try Self.parse(text).tools.first)
        #expect(tool.name == "get_weather")
        #expect(tool.command == ["/tmp/cluster/tools/weather.py", "--celsius"])
        #expect(tool.timeout == .milliseconds(2500))
        #expect(tool.maxOutputBytes == 1000)
        #expect(tool.parametersJSON.hasPrefix(#"{"type": "object""#))
    }

    @Test("without layers, memory budgets decide the split")
    func plannedSplit() throws {
        let manifest = try Manifest.load(Fixtures.packageRoot.appendingPathComponent("cluster/boards-example.toml"))
        let config = try ModelConfig.load(directory: Fixtures.phi4MiniConfig)
        let split = try manifest.split(config: config, format: .q4_0, kvFormat: .f16, contextTokens: 32768, chunkTokens: 512)
        try LayerCoverage.check(split, layerCount: 32)
        #expect(split[0].count > split[1].count)
    }
}
