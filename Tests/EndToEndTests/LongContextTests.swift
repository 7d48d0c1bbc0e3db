import Foundation
import PhiTestSupport
import Testing

/// Long prompts through real workers: chunked, pipelined prefill, LongRoPE beyond 4096, KV
/// formats, progress, and the memory check before a job starts.
@Suite("long prompts through a cluster of real workers", .serialized)
struct LongContextTests {
    let golden: TinyGolden
    init() throws { golden = try TinyGolden.load() }

    /// A prompt as a JSON file for `--prompt-ids @FILE`.
    static func promptFile(_ ids: [Int]) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("phi-prompt-\(UUID().uuidString).json")
        try JSONSerialization.data(withJSONObject: ids).write(to: url)
        return "@" + url.path
    }

    /// A manifest file: `top` lines, then one `[[workers]]` table per worker (name, address,
    /// layers, and memory when given).
    static func manifestFile(_ top: [String], workers: [(name: String, address: String, layers: String, memory: String?)]) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("phi-manifest-\(UUID().uuidString).toml")
        let tables = workers.map { worker in
            ["[[workers]]", "name = \"\(worker.name)\"", "address = \"\(worker.address)\"", "layers = \"\(worker.layers)\""]
                + (worker.memory.map { ["memory = \"\($0)\""] } ?? [])
        }
        try (top + tables.flatMap { $0 }).joined(separator: "\n").write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    /// `phi-coord logits` through `workers`: the argmax of every position and the last logits.
    static func logits(_ ids: [Int], workers: String, extra: [String]) throws -> (argmax: [Int], last: [Float], stderr: String) {
        let logitsFile = FileManager.default.temporaryDirectory.appendingPathComponent("phi-logits-\(UUID().uuidString).f32")
        let output = try Executables.run("phi-coord", [
            "logits", "--model", Fixtures.tinyModel.path, "--workers", workers, "--prompt-ids", try promptFile(ids),
            "--format", "json", "--logits-out", logitsFile.path,
        ] + extra)
        guard output.status == 0 else { throw FixtureError.malformed("phi-coord logits failed: \(output.stderr)") }
        let argmax = try Executables.json(output)["argmax"] as? [Int] ?? []
        return (argmax, try FloatFile.read(logitsFile), output.stderr)
    }

    @Test("the 4,300-token golden holds through 2 workers with chunks of 512, long factors for every chunk")
    func p4300InChunks() throws {
        let group = try WorkerGroup(split: [0..<16, 16..<32])
        let prompt = try golden.prompt("p4300")
        let result = try Self.logits(prompt.ids, workers: group.workersFlag, extra: ["--chunk", "512"])
        let agreeing = zip(result.argmax, prompt.argmax).filter { $0 == $1 }.count
        #expect(result.argmax.count == prompt.ids.count)
        #expect(Double(agreeing) / Double(prompt.ids.count) >= Tolerance.longPromptArgmaxAgreement, "\(agreeing) of 4300")
        // The reference used the long factors for positions below 4096 too: the first 8 chunks
        // agree only if they were rotated with them.
        #expect(maxAbsDifference(result.last, try TinyGolden.lastLogits("p4300")) <= Tolerance.logits)
    }

    @Test("a chunked prefill through the cluster equals a one-shot one", arguments: [1, 64, 128])
    func chunkedEqualsOneShot(_ chunk: Int) throws {
        let group = try WorkerGroup(split: [0..<16, 16..<32])
        let ids = try golden.prompt("p300").ids
        let oneShot = try Self.logits(ids, workers: group.workersFlag, extra: ["--chunk", "300"])
        let chunked = try Self.logits(ids, workers: group.workersFlag, extra: ["--chunk", "\(chunk)"])
        #expect(chunked.argmax == oneShot.argmax)
        #expect(maxAbsDifference(chunked.last, oneShot.last) <= Tolerance.logits)
    }

    @Test("while the last worker computes chunk k, the first computes chunk k+1")
    func chunksOverlap() throws {
        let group = try WorkerGroup(split: [0..<16, 16..<32], extraArguments: ["--log-level", "debug"])
        let ids = try golden.prompt("p4300").ids
        _ = try Self.logits(ids, workers: group.workersFlag, extra: ["--chunk", "512"])
        let first = Self.frameTimes(group.workers[0].log), last = Self.frameTimes(group.workers[1].log)
        #expect(first.count == 9 && last.count == 9, "9 chunks of at most 512 tokens on each worker")
        // Chunk k+1 starts on the first worker before chunk k ends on the last one.
        let overlapping = (0..<(min(first.count, last.count) - 1)).filter { first[$0 + 1].start < last[$0].end }.count
        print("pipelined prefill: \(overlapping) of \(first.count - 1) chunk pairs overlap across the two workers")
        #expect(overlapping >= (first.count - 1) / 2)
    }

    /// (start, end) of each frame a worker computed, in order, from its debug trace.
    static func frameTimes(_ log: String) -> [(start: UInt64, end: UInt64)] {
        log.split(separator: "\n").compactMap { line in
            guard line.contains("computed session"), let range = line.range(of: "monotonic ") else { return nil }
            let times = line[range.upperBound...].prefix { $0 != " " }.split(separator: "-").compactMap { UInt64($0) }
            return times.count == 2 ? (times[0], times[1]) : nil
        }
    }

    @Test("a generation that crosses position 4096 in chunks through the cluster matches greedy12, with progress shown")
    func crossingInCluster() throws {
        let group = try WorkerGroup(split: [0..<16, 16..<32])
        let ids = Array(try golden.prompt("p4300").ids.prefix(4090))
        let output = try Executables.run("phi-coord", [
            "generate", "--model", Fixtures.tinyModel.path, "--workers", group.workersFlag, "--prompt-ids", try Self.promptFile(ids),
            "--chunk", "512", "--max-tokens", "12", "--temperature", "0", "--ignore-eos", "--format", "json",
        ])
        #expect(output.status == 0, "\(output.stderr)")
        #expect(try Executables.json(output)["tokens"] as? [Int] == golden.crossGreedy12)
        // stderr is not a terminal here: plain progress lines, the last one complete.
        #expect(output.stderr.contains("prefill: 4090/4090 tokens (100%)"), "\(output.stderr)")
        #expect(output.stderr.contains("tokens/s"))
    }

    @Test("an f16 KV cache through the cluster keeps the golden argmax of p300")
    func f16Cache() throws {
        let group = try WorkerGroup(split: [0..<8, 8..<32])
        let prompt = try golden.prompt("p300")
        let result = try Self.logits(prompt.ids, workers: group.workersFlag, extra: ["--kv", "f16", "--chunk", "128"])
        #expect(result.argmax == prompt.argmax)
    }

    @Test("a worker pinned to f32 caches refuses a coordinator that asks for q8_0, and the error names it")
    func pinnedFormat() throws {
        let group = try WorkerGroup(split: [0..<16, 16..<32], extraArguments: ["--kv", "f32"])
        let output = try Executables.run("phi-coord", [
            "logits", "--model", Fixtures.tinyModel.path, "--workers", group.workersFlag, "--prompt-ids", "1,2,3", "--kv", "q8_0",
        ])
        #expect(output.status != 0)
        #expect(output.stderr.contains(group.addresses[0]) && output.stderr.contains("q8_0"), "\(output.stderr)")
    }

    @Test("a job whose KV cache would not fit a worker's budget is refused before any pass, with the plan and what would fit")
    func refusal() throws {
        let group = try WorkerGroup(split: [0..<16, 16..<32])
        // 131,072 tokens of f32 KV over 16 layers of tiny-phi4 is 512 MiB per worker.
        let manifest = try Self.manifestFile(["model = \"\(Fixtures.tinyModel.path)\"", "context = 131072"], workers: [
            ("small1", group.addresses[0], "0-15", "450MiB"), ("small2", group.addresses[1], "16-31", "450MiB"),
        ])
        let output = try Executables.run("phi-coord", [
            "generate", "--manifest", manifest.path, "--prompt-ids", "1,2,3", "--max-tokens", "2",
        ])
        #expect(output.status != 0)
        #expect(output.stderr.contains("does not fit"), "\(output.stderr)")
        #expect(output.stderr.contains("worker 'small1'") && output.stderr.contains("budget of 450.00 MiB"))
        #expect(output.stderr.contains("node           layers"), "the plan's table")
        #expect(output.stderr.contains("--kv f16"), "f16 halves the cache, which then fits")
        // No pass ran: neither worker computed a frame.
        #expect(!group.workers[0].log.contains("computed session"))
    }

    @Test("plan --manifest plans the manifest's workers, and exits 1 with a split that fits when its layers do not")
    func planManifest() throws {
        // Phi-4-mini's config in q4_0 at 32K tokens of f16 KV: 16 layers need ~2.9 GiB, so the
        // small board cannot hold half of them.
        let manifest = try Self.manifestFile([
            "model = \"\(Fixtures.phi4MiniConfig.path)\"", "quant = \"q4_0\"", "kv = \"f16\"", "context = 32768",
        ], workers: [("big", "tcp://10.0.0.1:5600", "0-15", "8GiB"), ("small", "tcp://10.0.0.2:5600", "16-31", "2GiB")])
        let output = try Executables.run("phi-coord", ["plan", "--manifest", manifest.path])
        #expect(output.status == 1)
        #expect(output.stdout.contains("small          16-31") && output.stdout.contains("DOES NOT FIT"), "\(output.stdout)")
        #expect(output.stdout.contains("a split that fits: big 0-"), "\(output.stdout)")
    }

    @Test("plan assumes what the coordinator would run: f32 KV and stored weights for a manifest without them; JSON holds the model table; more nodes than layers is refused")
    func planDefaults() throws {
        let manifest = try Self.manifestFile(["model = \"\(Fixtures.tinyModel.path)\"", "context = 2048"], workers: [
            ("w1", "tcp://10.0.0.1:5600", "0-15", nil), ("w2", "tcp://10.0.0.2:5600", "16-31", nil),
        ])
        let planned = try Executables.run("phi-coord", ["plan", "--manifest", manifest.path])
        #expect(planned.status == 0)
        #expect(planned.stdout.contains("2 node(s), bf16 weights, f32 KV, 2048 tokens of context"), "\(planned.stdout)")
        let json = try Executables.run("phi-coord", ["plan", "--model", Fixtures.phi4MiniConfig.path, "--nodes", "2", "--format", "json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(object["kv_format"] as? String == "f16" && object["format"] as? String == "bf16")
        #expect((object["model_table"] as? [[String: Any]])?.count == 15)
        let tooMany = try Executables.run("phi-coord", ["plan", "--model", Fixtures.phi4MiniConfig.path, "--nodes", "33"])
        #expect(tooMany.status != 0 && tooMany.stderr.contains("each node needs at least one layer"), "\(tooMany.stderr)")
    }
}
