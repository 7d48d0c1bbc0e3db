import Foundation
import PhiTestSupport
import Testing

@Suite("phi-coord's generate and logits commands, in one process")
struct CommandLineTests {
    let model = Fixtures.tinyModel.path

    @Test("generate prints the golden greedy tokens as JSON", arguments: ["p7", "p64"])
    func generate(_ name: String) throws {
        let prompt = try TinyGolden.load().prompt(name)
        let output = try Executables.run("phi-coord", [
            "generate", "--model", model, "--prompt-ids", prompt.ids.map(String.init).joined(separator: ","),
            "--max-tokens", "24", "--temperature", "0", "--ignore-eos", "--format", "json",
        ])
        #expect(output.status == 0, "\(output.stderr)")
        let json = try Executables.json(output)
        #expect(json["tokens"] as? [Int] == prompt.greedy24)
    }

    @Test("logits prints every argmax and the best 10 at the last position, and writes the raw logits")
    func logits() throws {
        let prompt = try TinyGolden.load().prompt("p64")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("phi-logits-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let idsFile = directory.appendingPathComponent("ids.json")
        try JSONSerialization.data(withJSONObject: prompt.ids).write(to: idsFile)
        let logitsFile = directory.appendingPathComponent("last.f32")
        let output = try Executables.run("phi-coord", [
            "logits", "--model", model, "--prompt-ids", "@\(idsFile.path)", "--format", "json",
            "--logits-out", logitsFile.path,
        ])
        #expect(output.status == 0, "\(output.stderr)")
        let json = try Executables.json(output)
        #expect(json["argmax"] as? [Int] == prompt.argmax)
        let top = try #require(json["top"] as? [[Double]])
        #expect(top.map { Int($0[0]) } == prompt.topLast.map(\.id))
        for (pair, expected) in zip(top, prompt.topLast) {
            #expect(abs(Float(pair[1]) - expected.logit) <= Tolerance.logits)
        }
        let written = try FloatFile.read(logitsFile)
        #expect(maxAbsDifference(written, try TinyGolden.lastLogits("p64")) <= Tolerance.logits)
    }

    @Test("bad arguments fail with a message naming them")
    func badArguments() throws {
        let missingModel = try Executables.run("phi-coord", ["generate", "--model", "/nonexistent", "--prompt-ids", "1"])
        #expect(missingModel.status != 0)
        #expect(missingModel.stderr.contains("/nonexistent"))
        let badIDs = try Executables.run("phi-coord", ["generate", "--model", model, "--prompt-ids", "1,x,3"])
        #expect(badIDs.status != 0)
        #expect(badIDs.stderr.contains("prompt-ids"))
        let outOfVocabulary = try Executables.run("phi-coord", ["generate", "--model", model, "--prompt-ids", "300000"])
        #expect(outOfVocabulary.status != 0)
        #expect(outOfVocabulary.stderr.contains("300000"))
    }
}
