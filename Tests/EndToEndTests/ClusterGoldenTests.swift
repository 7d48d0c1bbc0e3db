import Foundation
import PhiTestSupport
import Testing

/// phi-coord driving real phi-worker processes over nng on loopback.
@Suite("a cluster of real workers gives the tokens and logits of one process", .serialized)
struct ClusterGoldenTests {
    static let splits: [[Range<Int>]] = [[0..<32], [0..<16, 16..<32], [0..<8, 8..<20, 20..<28, 28..<32]]

    @Test("generate gives the golden greedy24 and logits the golden argmax and logits, with the f32 wire", arguments: splits)
    func golden(_ split: [Range<Int>]) throws {
        let group = try WorkerGroup(split: split)
        let golden = try TinyGolden.load()
        for name in ["p7", "p64"] {
            let prompt = try golden.prompt(name)
            let output = try Executables.run("phi-coord", [
                "generate", "--model", Fixtures.tinyModel.path, "--workers", group.workersFlag,
                "--prompt-ids", prompt.ids.map(String.init).joined(separator: ","),
                "--max-tokens", "24", "--temperature", "0", "--ignore-eos", "--format", "json",
            ])
            #expect(output.status == 0, "\(output.stderr)")
            #expect(try Executables.json(output)["tokens"] as? [Int] == prompt.greedy24, "\(name) through \(split)")
        }
        let prompt = try golden.prompt("p300")
        let logitsFile = FileManager.default.temporaryDirectory.appendingPathComponent("phi-cluster-\(UUID().uuidString).f32")
        let output = try Executables.run("phi-coord", [
            "logits", "--model", Fixtures.tinyModel.path, "--workers", group.workersFlag,
            "--prompt-ids", prompt.ids.map(String.init).joined(separator: ","), "--chunk", "128",
            "--format", "json", "--logits-out", logitsFile.path,
        ])
        #expect(output.status == 0, "\(output.stderr)")
        #expect(try Executables.json(output)["argmax"] as? [Int] == prompt.argmax)
        #expect(maxAbsDifference(try FloatFile.read(logitsFile), try TinyGolden.lastLogits("p300")) <= Tolerance.logits)
    }

    @Test("an f16 or bf16 wire halves the bytes between workers; its deviation is measured")
    func halfPrecisionWire() throws {
        let group = try WorkerGroup(split: [0..<8, 8..<20, 20..<28, 28..<32])
        let golden = try TinyGolden.load()
        for dtype in ["f16", "bf16"] {
            var worst: Float = 0
            for name in ["p7", "p64", "p300"] {
                let prompt = try golden.prompt(name)
                let logitsFile = FileManager.default.temporaryDirectory.appendingPathComponent("phi-wire-\(UUID().uuidString).f32")
                let output = try Executables.run("phi-coord", [
                    "logits", "--model", Fixtures.tinyModel.path, "--workers", group.workersFlag, "--wire-dtype", dtype,
                    "--prompt-ids", prompt.ids.map(String.init).joined(separator: ","), "--format", "json",
                    "--logits-out", logitsFile.path,
                ])
                #expect(output.status == 0, "\(output.stderr)")
                let argmax = try #require(try Executables.json(output)["argmax"] as? [Int])
                let agreeing = zip(argmax, prompt.argmax).filter { $0 == $1 }.count
                worst = max(worst, maxAbsDifference(try FloatFile.read(logitsFile), try TinyGolden.lastLogits(name)))
                print("wire \(dtype) \(name): argmax agrees at \(agreeing)/\(prompt.argmax.count) positions")
                // Three hops of rounding to 2-byte floats; the golden margins (≥ 0.065) leave room.
                #expect(Double(agreeing) / Double(prompt.argmax.count) >= 0.99, "\(dtype) \(name)")
            }
            print("wire \(dtype): largest last-logit deviation from the float32 reference over p7, p64, p300: \(worst)")
            #expect(worst.isFinite)
        }
    }

    @Test("up starts the manifest's local workers and answers through them")
    func up() throws {
        let prompt = try TinyGolden.load().prompt("p7")
        let output = try Executables.run("phi-coord", [
            "up", "--manifest", Fixtures.packageRoot.appendingPathComponent("cluster/tiny-4workers.toml").path,
            "--prompt-ids", prompt.ids.map(String.init).joined(separator: ","),
            "--max-tokens", "24", "--temperature", "0", "--ignore-eos",
        ])
        #expect(output.status == 0, "\(output.stderr)")
        let tokens = output.stdout.split(whereSeparator: \.isWhitespace).compactMap { Int($0) }
        #expect(tokens == prompt.greedy24)
        #expect(output.stderr.contains("w1 [0-7] → w2 [8-19] → w3 [20-27] → w4 [28-31]"))
    }
}
