import Foundation
import PhiTestSupport
import Testing

/// `phi-coord run --job-dir`: a long prompt with checkpoints, killed mid-prefill (the coordinator or a
/// worker, SIGKILL) and resumed, gives the tokens of an uninterrupted run.
@Suite("resumable jobs with real processes", .serialized)
struct JobResumeTests {
    /// Sampling hot enough that every token depends on the sampler's draws and the exact logits.
    static let sampling = ["--max-tokens", "6", "--temperature", "30", "--top-k", "0", "--top-p", "1", "--min-p", "0",
                           "--seed", "11", "--ignore-eos"]
    static let chunking = ["--chunk", "256", "--checkpoint-every", "1024"]

    let golden: TinyGolden
    let scratch: URL

    init() throws {
        golden = try TinyGolden.load()
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("phi-jobs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    /// Two workers with state directories under `scratch`, on fixed ports so a killed one can
    /// come back at its address.
    func startWorkers(ports: [UInt16]) throws -> [WorkerProcess] {
        try zip([0..<16, 16..<32], ports).enumerated().map { index, pair in
            try startWorker(index: index, layers: pair.0, port: pair.1)
        }
    }

    func startWorker(index: Int, layers: Range<Int>, port: UInt16) throws -> WorkerProcess {
        try WorkerProcess.start(name: "w\(index + 1)", layers: layers, extraArguments: [
            "--listen", "tcp://127.0.0.1:\(port)", "--state-dir", scratch.appendingPathComponent("state-w\(index + 1)").path,
        ])
    }

    func jobArguments(_ directory: URL, workers: [WorkerProcess], prompt: String) -> [String] {
        ["run", "--job-dir", directory.path, "--model", Fixtures.tinyModel.path,
         "--workers", workers.map(\.address).joined(separator: ","), "--prompt-ids", prompt, "--format", "json"]
            + Self.chunking + Self.sampling
    }

    /// Starts phi-coord with `arguments` and kills it (SIGKILL) once `job.json` in `directory`
    /// records a checkpoint of at least `tokens` positions; returns that checkpoint.
    func killCoordinator(_ arguments: [String], directory: URL, afterCheckpoint tokens: Int) throws -> Int {
        let process = Process()
        process.executableURL = Executables.url("phi-coord")
        process.arguments = arguments
        let log = scratch.appendingPathComponent("coordinator-\(UUID().uuidString).log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: log)
        try process.run()
        let reached: Int
        do {
            reached = try waitForCheckpoint(directory, atLeast: tokens, while: { process.isRunning })
        } catch {
            throw FixtureError.malformed("\(error); the coordinator wrote: \((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        return reached
    }

    func waitForCheckpoint(_ directory: URL, atLeast tokens: Int, while isRunning: () -> Bool) throws -> Int {
        let deadline = ContinuousClock.now + .seconds(300)
        while ContinuousClock.now < deadline && isRunning() {
            if let checkpoint = try? checkpointTokens(directory), checkpoint >= tokens { return checkpoint }
            Thread.sleep(forTimeInterval: 0.01)
        }
        throw FixtureError.malformed("no checkpoint of \(tokens) tokens in \(directory.path) before the job ended")
    }

    func checkpointTokens(_ directory: URL) throws -> Int {
        let data = try Data(contentsOf: directory.appendingPathComponent("job.json"))
        let object = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        let checkpoint = object?["checkpoint"] as? [String: Any]
        return (checkpoint?["segmentEnds"] as? [Int])?.last ?? 0
    }

    func resume(_ directory: URL) throws -> [String: Any] {
        let output = try Executables.run("phi-coord", ["run", "--resume", directory.path, "--format", "json"])
        guard output.status == 0 else { throw FixtureError.malformed("resume failed: \(output.stderr)") }
        return try Executables.json(output)
    }

    @Test("a coordinator killed mid-prefill resumes from its last checkpoint and gives the uninterrupted tokens")
    func coordinatorKilled() throws {
        let workers = try startWorkers(ports: [try FreePort.find(), try FreePort.find()])
        defer { withExtendedLifetime(workers) {} }  // the processes stop when released
        let prompt = try LongContextTests.promptFile(try golden.prompt("p4300").ids)
        let reference = scratch.appendingPathComponent("uninterrupted")
        let whole = try Executables.run("phi-coord", jobArguments(reference, workers: workers, prompt: prompt))
        #expect(whole.status == 0, "\(whole.stderr)")
        let expected = try #require(try Executables.json(whole)["tokens"] as? [Int])
        #expect(expected.count == 6)

        let interrupted = scratch.appendingPathComponent("interrupted")
        let checkpoint = try killCoordinator(jobArguments(interrupted, workers: workers, prompt: prompt), directory: interrupted,
                                             afterCheckpoint: 1024)
        #expect(checkpoint < 4300, "killed before the prefill ended")
        let resumed = try resume(interrupted)
        #expect(resumed["tokens"] as? [Int] == expected)
        // It continued from the checkpoint instead of starting over.
        #expect(resumed["resumed_tokens"] as? Int == checkpoint)
        #expect(resumed["computed_tokens"] as? Int == 4300 - checkpoint)
    }

    @Test("a worker killed mid-prefill fails the job; once it is back, the job resumes and gives the uninterrupted tokens")
    func workerKilled() throws {
        let ports = [try FreePort.find(), try FreePort.find()]
        var workers = try startWorkers(ports: ports)
        defer { withExtendedLifetime(workers) {} }
        let prompt = try LongContextTests.promptFile(try golden.prompt("p4300").ids)
        let reference = scratch.appendingPathComponent("uninterrupted")
        let expected = try #require(try Executables.json(try Executables.run("phi-coord", jobArguments(reference, workers: workers, prompt: prompt)))["tokens"] as? [Int])

        let job = scratch.appendingPathComponent("job")
        let process = Process()
        process.executableURL = Executables.url("phi-coord")
        process.arguments = jobArguments(job, workers: workers, prompt: prompt)
        let errors = Pipe()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errors
        try process.run()
        let checkpoint = try waitForCheckpoint(job, atLeast: 1024, while: { process.isRunning })
        workers[1].kill()
        process.waitUntilExit()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus != 0)
        #expect(message.contains(workers[1].address), "the error names the dead worker: \(message)")

        workers[1] = try startWorker(index: 1, layers: 16..<32, port: ports[1])
        let resumed = try resume(job)
        #expect(resumed["tokens"] as? [Int] == expected)
        #expect((resumed["resumed_tokens"] as? Int ?? 0) >= checkpoint)
    }

    @Test("a corrupt or truncated KV segment, a worker restarted with another --quant and another --kv are refused, naming what differs; the job is left to resume once it is fixed")
    func badSegment() throws {
        let ports = [try FreePort.find(), try FreePort.find()]
        var workers = try startWorkers(ports: ports)
        defer { withExtendedLifetime(workers) {} }  // the processes stop when released
        let prompt = try LongContextTests.promptFile(Array(try golden.prompt("p4300").ids.prefix(2048)))
        let job = scratch.appendingPathComponent("job")
        let checkpoint = try killCoordinator(jobArguments(job, workers: workers, prompt: prompt), directory: job, afterCheckpoint: 1024)
        let segments = try FileManager.default.contentsOfDirectory(atPath: scratch.appendingPathComponent("state-w2").path)
            .filter { $0.hasSuffix(".0-1024.phikv") }
        let name = try #require(segments.first)
        let file = scratch.appendingPathComponent("state-w2").appendingPathComponent(name)
        let original = try Data(contentsOf: file)
        var corrupt = original
        corrupt[corrupt.count / 2] ^= 0x40
        try corrupt.write(to: file)
        var output = try Executables.run("phi-coord", ["run", "--resume", job.path])
        #expect(output.status != 0)
        #expect(output.stderr.contains(file.path) && output.stderr.contains("corrupt"), "\(output.stderr)")
        try original.prefix(original.count - 100).write(to: file)
        output = try Executables.run("phi-coord", ["run", "--resume", job.path])
        #expect(output.status != 0)
        #expect(output.stderr.contains(file.path) && output.stderr.contains("bytes"), "\(output.stderr)")
        try original.write(to: file)
        output = try Executables.run("phi-coord", ["run", "--resume", job.path, "--kv", "f16"])
        #expect(output.status != 0)
        #expect(output.stderr.contains("keeps its KV cache in f32, not f16"), "\(output.stderr)")
        // The same layers in q8_0: the saved cache came from other weights.
        workers[1].kill()
        workers[1] = try WorkerProcess.start(name: "w2", layers: 16..<32, extraArguments: [
            "--listen", "tcp://127.0.0.1:\(ports[1])", "--state-dir", scratch.appendingPathComponent("state-w2").path, "--quant", "q8_0",
        ])
        output = try Executables.run("phi-coord", ["run", "--resume", job.path])
        #expect(output.status != 0)
        #expect(output.stderr.contains(file.path) && output.stderr.contains("another weight format (--quant)"), "\(output.stderr)")
        workers[1].kill()
        workers[1] = try startWorker(index: 1, layers: 16..<32, port: ports[1])
        let resumed = try resume(job)
        #expect(resumed["resumed_tokens"] as? Int == checkpoint)
        #expect((resumed["tokens"] as? [Int])?.count == 6)
    }
}
