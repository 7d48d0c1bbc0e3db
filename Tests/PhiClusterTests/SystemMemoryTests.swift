import PhiCluster
import Testing

@Suite("memory figures from /proc")
struct SystemMemoryTests {
    @Test("this process's resident and peak sets, and the machine's memory, are read")
    func figures() throws {
        let resident = try #require(SystemMemory.residentBytes)
        let peak = try #require(SystemMemory.peakResidentBytes)
        #expect(resident > 1 << 20 && peak >= resident)
        let total = try #require(SystemMemory.totalBytes)
        let available = try #require(SystemMemory.availableBytes)
        #expect(available > 0 && available <= total)
    }
}
