import Foundation
import PhiTestSupport
import Testing
@testable import PhiCluster

@Suite("KV checkpoints: segment files and their messages")
struct KVCheckpointTests {
    let config: ModelConfig
    let directory: URL
    let store: KVCheckpointStore

    init() throws {
        config = try TinyModel.source().config
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("phi-kv-\(UUID().uuidString)")
        store = KVCheckpointStore(directory: directory, fingerprint: Self.fingerprint(config: "a", slice: "b"), weightFormat: .bf16)
    }

    static func fingerprint(config: String, slice: String) -> ModelFingerprint {
        ModelFingerprint(modelName: "tiny", configSHA256: ModelFingerprint.configDigest(of: ["id": config]),
                         sliceSHA256: ModelFingerprint.configDigest(of: ["id": slice]), layerCount: 32, hiddenSize: 64,
                         vocabSize: 200_064)
    }

    /// A cache of `tokens` positions of seeded random bytes (a cache's contents are opaque here).
    func filledCache(format: KVFormat, tokens: Int, layers: Range<Int> = 4..<8) throws -> KVCache {
        var cache = try KVCache(config: config, layers: layers, capacity: 64, format: format)
        var state: UInt64 = 42
        try cache.restore(tokens: tokens, ropeFactors: .long) { _, buffer in
            for index in buffer.indices {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                buffer[index] = UInt8(truncatingIfNeeded: state >> 56)
            }
        }
        return cache
    }

    func snapshot(_ cache: KVCache, _ positions: Range<Int>) throws -> [UInt8] {
        var bytes: [UInt8] = []
        try cache.withSnapshotRegions(positions: positions) { bytes += Array($0) }
        return bytes
    }

    @Test("segments saved at chunk boundaries load back into an identical cache", arguments: KVFormat.allCases)
    func roundTrip(_ format: KVFormat) throws {
        let cache = try filledCache(format: format, tokens: 30)
        let first = try store.save(cache, job: "job-1", positions: 0..<16, config: config)
        _ = try store.save(cache, job: "job-1", positions: 16..<30, config: config)
        #expect(first.file == "job-1.L4-7.0-16.phikv")
        #expect(first.bytes == KVSegmentHeader.byteCount + cache.snapshotBytes(positions: 0..<16))
        var restored = try KVCache(config: config, layers: 4..<8, capacity: 64, format: format)
        let read = try store.load(into: &restored, job: "job-1", segmentEnds: [16, 30], ropeFactors: .long, config: config)
        #expect(read == cache.snapshotBytes(positions: 0..<30))
        #expect(restored.tokenCount == 30 && restored.ropeFactors == .long)
        #expect(try snapshot(restored, 0..<30) == snapshot(cache, 0..<30))
    }

    @Test("a segment of another model, slice, format or factors is refused, naming the file and the field")
    func mismatches() throws {
        let cache = try filledCache(format: .f16, tokens: 20)
        _ = try store.save(cache, job: "job-2", positions: 0..<20, config: config)
        let file = directory.appendingPathComponent("job-2.L4-7.0-20.phikv").path
        func refusal(_ store: KVCheckpointStore, format: KVFormat = .f16, factors: RopeFactorSet = .long) throws -> String {
            var target = try KVCache(config: config, layers: 4..<8, capacity: 64, format: format)
            let error = try #require(throws: KVCheckpointError.self) {
                try store.load(into: &target, job: "job-2", segmentEnds: [20], ropeFactors: factors, config: config)
            }
            #expect(target.tokenCount == 0)
            return error.description
        }
        let otherModel = KVCheckpointStore(directory: directory, fingerprint: Self.fingerprint(config: "x", slice: "b"), weightFormat: .bf16)
        let otherSlice = KVCheckpointStore(directory: directory, fingerprint: Self.fingerprint(config: "a", slice: "x"), weightFormat: .bf16)
        let otherWeights = KVCheckpointStore(directory: directory, fingerprint: Self.fingerprint(config: "a", slice: "b"), weightFormat: .q4_0)
        for (message, field) in [(try refusal(otherModel), "model"), (try refusal(otherSlice), "slice"),
                                 (try refusal(otherWeights), "another weight format (--quant)"),
                                 (try refusal(store, format: .q8_0), "KV format f16, expected q8_0"),
                                 (try refusal(store, factors: .short), "LongRoPE factors long, expected short")] {
            #expect(message.contains(file) && message.contains(field), "\(message)")
        }
        var target = try KVCache(config: config, layers: 4..<8, capacity: 64, format: .f16)
        let missing = try #require(throws: KVCheckpointError.self) {
            try store.load(into: &target, job: "job-2", segmentEnds: [10, 20], ropeFactors: .long, config: config)
        }
        #expect(missing.description.contains("job-2.L4-7.0-10.phikv") && missing.description.contains("does not exist"))
    }

    @Test("a flipped bit anywhere in a segment, or a cut one, is caught on load")
    func damage() throws {
        let cache = try filledCache(format: .q8_0, tokens: 12)
        _ = try store.save(cache, job: "job-3", positions: 0..<12, config: config)
        let url = directory.appendingPathComponent("job-3.L4-7.0-12.phikv")
        let original = try Data(contentsOf: url)
        // The payload's first and last bytes, and the header's token count.
        for offset in [KVSegmentHeader.byteCount, original.count - 1, 100] {
            var damaged = original
            damaged[offset] ^= 0x01
            try damaged.write(to: url)
            var target = try KVCache(config: config, layers: 4..<8, capacity: 64, format: .q8_0)
            let error = try #require(throws: KVCheckpointError.self) {
                try store.load(into: &target, job: "job-3", segmentEnds: [12], ropeFactors: .long, config: config)
            }
            #expect(error.description.contains(url.path), "byte \(offset): \(error)")
            #expect(target.tokenCount == 0)
        }
        try original.prefix(original.count - 1).write(to: url)
        var target = try KVCache(config: config, layers: 4..<8, capacity: 64, format: .q8_0)
        #expect(throws: KVCheckpointError.truncated(file: url.path, expectedBytes: original.count, actualBytes: original.count - 1)) {
            try store.load(into: &target, job: "job-3", segmentEnds: [12], ropeFactors: .long, config: config)
        }
    }

    @Test("saving positions the cache does not hold is refused")
    func notCached() throws {
        let cache = try filledCache(format: .f32, tokens: 8)
        #expect(throws: KVCheckpointError.self) { try store.save(cache, job: "job-4", positions: 0..<9, config: config) }
    }

    @Test("checkpoint messages and Configure's KV format survive a round trip; bad names and ends are refused")
    func messages() throws {
        let messages: [WireMessage] = [
            .saveKV(SaveKV(sessionID: 3, name: "job-ab_12", firstToken: 512, endToken: 1024)),
            .kvSaved(KVSaved(sessionID: 3, file: "job-ab_12.L0-15.512-1024.phikv", firstToken: 512, endToken: 1024, bytes: 99,
                             sha256: Array(repeating: 7, count: 32))),
            .loadKV(LoadKV(sessionID: 3, name: "job-ab_12", segmentEnds: [512, 1024, 1500], ropeFactors: .long)),
            .kvLoaded(KVLoaded(sessionID: 3, tokens: 1500, bytes: 1 << 33)),
            .configure(Configure(nextHop: "tcp://127.0.0.1:9", coordinator: "", wireDType: .f16, sessionContextTokens: 131_072,
                                 maxSessions: 2, layers: 0..<16, kvFormat: .q8_0)),
        ]
        for message in messages {
            #expect(try WireMessage.decode(message.encode(), from: "tcp://127.0.0.1:1") == message)
        }
        for bad in [WireMessage.saveKV(SaveKV(sessionID: 1, name: "../etc", firstToken: 0, endToken: 4)),
                    .saveKV(SaveKV(sessionID: 1, name: "job", firstToken: 4, endToken: 4)),
                    .loadKV(LoadKV(sessionID: 1, name: "job", segmentEnds: [512, 256], ropeFactors: .short)),
                    .loadKV(LoadKV(sessionID: 1, name: "job", segmentEnds: [], ropeFactors: .short))] {
            let error = try #require(throws: WireError.self) { try WireMessage.decode(bad.encode(), from: "tcp://127.0.0.1:1") }
            #expect("\(error)".contains("tcp://127.0.0.1:1"))
        }
    }
}
