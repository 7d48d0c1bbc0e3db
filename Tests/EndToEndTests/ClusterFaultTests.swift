import Foundation
import Logging
import PhiGeneration
import PhiTestSupport
import Testing

/// Faults with real phi-worker processes; the coordinator runs in the test process.
@Suite("the cluster survives dead, wrong and hostile peers", .serialized)
struct ClusterFaultTests {
    static let logger = Logger(label: "test-coordinator")

    func connect(_ group: WorkerGroup, spares: [WorkerProcess] = [], secretFile: URL? = nil,
                 model: URL = Fixtures.tinyModel) async throws -> ClusterPipeline {
        let options = ClusterOptions(
            workers: group.workers.map { .init(name: $0.name, address: $0.address) },
            spares: spares.map { .init(name: $0.name, address: $0.address) },
            secretFile: secretFile, contextTokens: 512)
        return try await ClusterPipeline.connect(model: try ModelSource.open(model), options: options, logger: Self.logger)
    }

    /// Greedy tokens after `prompt`, killing `victim` once `killAfter` tokens are out.
    func generate(_ pipeline: ClusterPipeline, prompt: [Int], tokens: Int, kill victim: WorkerProcess?,
                  after killAfter: Int, killedAt: Locked<ContinuousClock.Instant?>) async throws -> GenerationResult {
        try await pipeline.openSession(SessionID(1), contextTokens: 512)
        return try await Generator(pipeline: pipeline).generate(
            session: SessionID(1), prompt: prompt, parameters: .greedy(maxTokens: tokens, ignoreEOS: true),
            onToken: { _ in
                if let victim, killedAt.withLock({ $0 == nil }) {
                    // Count tokens by asking the pipeline: the session log grows by one a step.
                    let count = try await pipeline.sessionLog(SessionID(1)).tokens.count - prompt.count
                    if count >= killAfter - 1 {
                        victim.kill()
                        killedAt.withLock { $0 = ContinuousClock.now }
                    }
                }
                return true
            })
    }

    @Test("a worker killed mid-generation is replaced by the spare, and the tokens equal a run without the fault")
    func failoverToSpare() async throws {
        let golden = try TinyGolden.load().prompt("p64")
        let group = try WorkerGroup(split: [0..<16, 16..<32])
        let spare = try WorkerProcess.start(name: "spare", layers: nil)
        let pipeline = try await connect(group, spares: [spare])
        let killedAt = Locked<ContinuousClock.Instant?>(nil)
        let result = try await generate(pipeline, prompt: golden.ids, tokens: 24, kill: group.workers[1], after: 8, killedAt: killedAt)
        #expect(killedAt.withLock { $0 } != nil)
        #expect(result.tokens == golden.greedy24)
        let stages = await pipeline.stages
        #expect(stages.map(\.name) == ["w1", "spare"])
        #expect(stages.map(\.layers) == [0..<16, 16..<32])
        await pipeline.close()
    }

    @Test("without a spare the generation fails within 5 seconds, naming the worker and keeping the tokens so far")
    func failureWithoutSpare() async throws {
        let golden = try TinyGolden.load().prompt("p64")
        let expected = try #require(golden.greedy24)
        let group = try WorkerGroup(split: [0..<10, 10..<21, 21..<32])
        let pipeline = try await connect(group)
        let killedAt = Locked<ContinuousClock.Instant?>(nil)
        let error = await #expect(throws: GenerationInterrupted.self) {
            _ = try await generate(pipeline, prompt: golden.ids, tokens: 24, kill: group.workers[1], after: 8, killedAt: killedAt)
        }
        let failedAt = ContinuousClock.now
        let killed = try #require(killedAt.withLock { $0 })
        #expect(failedAt - killed < .seconds(5))
        let interrupted = try #require(error)
        #expect(!interrupted.tokens.isEmpty && interrupted.tokens == Array(expected.prefix(interrupted.tokens.count)))
        #expect(interrupted.description.contains("w2") && interrupted.description.contains(group.workers[1].address))
        let health = await pipeline.health()
        #expect(health.map(\.state) == [.ready, .unreachable, .ready])
        await pipeline.close()
    }

    @Test("a worker that is down at start is named within 5 seconds")
    func downAtStart() throws {
        let port = try FreePort.find()
        let started = ContinuousClock.now
        let output = try Executables.run("phi-coord", [
            "generate", "--model", Fixtures.tinyModel.path, "--workers", "tcp://127.0.0.1:\(port)", "--prompt-ids", "1,2,3",
            "--max-tokens", "2",
        ])
        #expect(ContinuousClock.now - started < .seconds(5))
        #expect(output.status != 0)
        #expect(output.stderr.contains("tcp://127.0.0.1:\(port)"), "\(output.stderr)")
    }

    @Test("a wrong secret is refused, and both sides name the secrets that differ")
    func wrongSecret() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("phi-secret-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let workerSecret = directory.appendingPathComponent("worker.key")
        let coordinatorSecret = directory.appendingPathComponent("coordinator.key")
        try Data("the workers' shared secret, 32 bytes".utf8).write(to: workerSecret)
        try Data("some other secret of 32 bytes....".utf8).write(to: coordinatorSecret)
        let group = try WorkerGroup(split: [0..<32], extraArguments: ["--secret-file", workerSecret.path])
        let error = await #expect(throws: ClusterError.self) {
            _ = try await connect(group, secretFile: coordinatorSecret)
        }
        #expect(error?.description.contains("secret") == true, "\(String(describing: error))")
        try await Task.sleep(for: .milliseconds(200))
        #expect(group.workers[0].log.contains("secret"), "worker log: \(group.workers[0].log)")
        // With the right secret the same worker is admitted.
        let pipeline = try await connect(group, secretFile: workerSecret)
        await pipeline.close()
    }

    @Test("a worker with another model is refused, and both sides say what differs")
    func wrongModel() async throws {
        let other = try OtherModel.make { $0["rope_theta"] = 20000.0 }
        let group = try WorkerGroup(split: [0..<32], model: other)
        let error = await #expect(throws: ClusterError.self) { _ = try await connect(group) }
        #expect(error?.description.contains("config sha256") == true, "\(String(describing: error))")
        try await Task.sleep(for: .milliseconds(200))
        #expect(group.workers[0].log.contains("config sha256"), "worker log: \(group.workers[0].log)")
    }

    @Test("a protocol major mismatch, a garbage frame and an oversized frame are refused, and the worker serves on")
    func hostileFrames() async throws {
        let group = try WorkerGroup(split: [0..<16, 16..<32])
        let worker = group.workers[0]
        let authenticator = WireAuthenticator(secret: nil)
        let connection = try await PeerConnection.connect(to: worker.address, authenticator: authenticator)
        let hello = WireMessage.hello(Hello(softwareVersion: "9.9", nodeName: "intruder", clientNonce: [UInt8](repeating: 7, count: 32),
                                            authMode: .none, secretID: [], model: ModelFingerprint(modelName: "x", configSHA256: [],
                                                                                                   layerCount: 32, hiddenSize: 64, vocabSize: 200_064)))
        let future = authenticator.seal(hello, version: ProtocolVersion(major: 2, minor: 0), tagged: false)
        let reply = try await connection.requestRaw(future)
        let decoded = try WireMessage.decode(reply, from: worker.address)
        guard case let .error(report) = decoded else {
            Issue.record("expected an Error reply, got \(decoded.kindName)")
            return
        }
        #expect(report.code == .protocolMismatch)
        #expect(report.message.contains("2.0") && report.message.contains("1.0"), "\(report.message)")

        var random = SplitMix64(seed: 17)
        let garbage = (0..<4096).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        if let garbageReply = try? await connection.requestRaw(garbage) {
            let refusal = try WireMessage.decode(garbageReply, from: worker.address)
            guard case .error = refusal else {
                Issue.record("garbage was answered with \(refusal.kindName)")
                return
            }
        }
        // Above the 64 MiB receive limit: nng drops the connection; the request fails.
        let oversized = [UInt8](repeating: 0x41, count: 80 << 20)
        await #expect(throws: TransportError.self) { _ = try await connection.requestRaw(oversized, timeout: .seconds(10)) }
        await connection.close()

        let prompt = try TinyGolden.load().prompt("p7")
        let output = try Executables.run("phi-coord", [
            "generate", "--model", Fixtures.tinyModel.path, "--workers", group.workersFlag,
            "--prompt-ids", prompt.ids.map(String.init).joined(separator: ","), "--max-tokens", "24", "--temperature", "0",
            "--ignore-eos", "--format", "json",
        ])
        #expect(try Executables.json(output)["tokens"] as? [Int] == prompt.greedy24, "\(output.stderr)")
    }
}

/// A copy of tiny-phi4 whose config.json is edited (its weights are the same files, linked).
enum OtherModel {
    static func make(_ edit: (inout [String: Any]) -> Void) throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("phi-other-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let data = try Data(contentsOf: Fixtures.tinyModel.appendingPathComponent("config.json"))
        var config = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        edit(&config)
        try JSONSerialization.data(withJSONObject: config).write(to: directory.appendingPathComponent("config.json"))
        for file in ["generation_config.json", "model.safetensors"] {
            try FileManager.default.createSymbolicLink(at: directory.appendingPathComponent(file),
                                                       withDestinationURL: Fixtures.tinyModel.appendingPathComponent(file))
        }
        return directory
    }
}
