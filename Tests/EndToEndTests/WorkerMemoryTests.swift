import Foundation
import PhiCluster
import PhiTestSupport
import Testing

@Suite("a worker's memory holds its slice, not the model")
struct WorkerMemoryTests {
    @Test("after a generation, a middle worker has not touched the embedding the last one multiplies by")
    func middleWorkerStaysSmall() throws {
        let group = try WorkerGroup(split: [0..<5, 5..<27, 27..<32])
        let prompt = try TinyGolden.load().prompt("p64")
        let output = try Executables.run("phi-coord", [
            "generate", "--model", Fixtures.tinyModel.path, "--workers", group.workersFlag,
            "--prompt-ids", prompt.ids.map(String.init).joined(separator: ","), "--max-tokens", "4", "--temperature", "0",
            "--format", "json",
        ])
        #expect(output.status == 0, "\(output.stderr)")
        let resident = try group.workers.map { worker in
            try #require(SystemMemory.residentBytes(pid: worker.process.processIdentifier))
        }
        // The tied embedding is 200,064 × 64 bf16 = 25.6 MB of the 28 MB checkpoint; 22 middle
        // layers hold 22 × 2 × (128 + 64 + 256 + 64) × 64 bytes ≈ 1.4 MB.
        let embeddingBytes = 200_064 * 64 * 2
        #expect(resident[2] - resident[1] > embeddingBytes * 3 / 4,
                "resident: \(resident.map { ByteCount.format($0) }) (the last worker reads the head, the middle one must not)")
    }
}
