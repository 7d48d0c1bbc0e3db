import Crypto
import Foundation
import PhiModel

/// A worker's KV checkpoints: segment files in its state directory, one per `SaveKV`, named
/// `<job>.L<first layer>-<last layer>.<begin>-<end>.phikv` so workers sharing a directory never
/// collide. Written to a temporary name, synced, then renamed: a crash leaves either the old
/// segment or the new one, never half of one.
public struct KVCheckpointStore: Sendable {
    public let directory: URL
    /// The worker's model, and its slice with the format the weights run in, recorded in every
    /// segment and checked on load.
    let configSHA256: [UInt8]
    let sliceSHA256: [UInt8]
    let weightFormat: WeightFormat
    /// Most bytes the files in `directory` may hold after a save; nil for no cap.
    public let maxDirectoryBytes: Int?

    public init(directory: URL, fingerprint: ModelFingerprint, weightFormat: WeightFormat, maxDirectoryBytes: Int? = nil) {
        self.directory = directory
        self.maxDirectoryBytes = maxDirectoryBytes
        self.weightFormat = weightFormat
        configSHA256 = fingerprint.configSHA256
        sliceSHA256 = Array(SHA256.hash(data: fingerprint.sliceSHA256 + Array("weights:\(weightFormat.rawValue)".utf8)))
    }

    public static func fileName(job: String, layers: Range<Int>, positions: Range<Int>) -> String {
        "\(job).L\(layers.lowerBound)-\(layers.upperBound - 1).\(positions.lowerBound)-\(positions.upperBound).phikv"
    }

    /// Writes `positions` of `cache` as a segment of `job`; returns its file name, size and digest.
    public func save(_ cache: KVCache, job: String, positions: Range<Int>, config: ModelConfig) throws -> (file: String, bytes: Int, sha256: [UInt8]) {
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw KVCheckpointError.io(file: directory.path, operation: "create the state directory for", reason: "\(error)")
        }
        guard let ropeFactors = cache.ropeFactors, positions.upperBound <= cache.tokenCount else {
            throw KVCheckpointError.notCached(session: 0, holds: cache.tokenCount, needed: positions.upperBound)
        }
        let name = Self.fileName(job: job, layers: cache.layers, positions: positions)
        let path = directory.appendingPathComponent(name).path
        if let maxDirectoryBytes {
            let needed = KVSegmentHeader.byteCount + cache.snapshotBytes(positions: positions)
            // A segment saved again replaces its file: that file's bytes are freed by the save.
            let used = Self.usedBytes(in: directory, excluding: name)
            guard used + needed <= maxDirectoryBytes else {
                throw KVCheckpointError.stateDirectoryFull(directory: directory.path, usedBytes: used, neededBytes: needed,
                                                           capBytes: maxDirectoryBytes)
            }
        }
        var header = KVSegmentHeader(configSHA256: configSHA256, sliceSHA256: sliceSHA256, layers: cache.layers,
                                     kvHeads: config.kvHeadCount, headDim: config.headDim, format: cache.format,
                                     ropeFactors: ropeFactors, firstToken: positions.lowerBound, endToken: positions.upperBound,
                                     rowBytes: cache.snapshotRowBytes, payloadBytes: cache.snapshotBytes(positions: positions))
        let temporary = path + ".partial"
        let file = try SegmentFileHandle(creating: temporary)
        var hasher = SHA256()
        let fields = header.fieldBytes
        hasher.update(data: fields)
        var offset = KVSegmentHeader.byteCount
        try cache.withSnapshotRegions(positions: positions) { region in
            hasher.update(bufferPointer: region)
            try file.write(region, at: offset)
            offset += region.count
        }
        header.digest = Array(hasher.finalize())
        try (fields + header.digest).withUnsafeBytes { try file.write($0, at: 0) }
        try file.sync()
        guard rename(temporary, path) == 0 else {
            throw KVCheckpointError.io(file: path, operation: "rename into place", reason: String(cString: strerror(errno)))
        }
        return (name, offset, header.digest)
    }

    /// Bytes of the regular files in `directory` (not in subdirectories), leaving out `excluded`.
    static func usedBytes(in directory: URL, excluding excluded: String) -> Int {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.reduce(0) { total, name in
            guard name != excluded, let attributes = try? FileManager.default.attributesOfItem(
                atPath: directory.appendingPathComponent(name).path),
                attributes[.type] as? FileAttributeType == .typeRegular else { return total }
            return total + ((attributes[.size] as? NSNumber)?.intValue ?? 0)
        }
    }

    /// Makes `cache` hold positions `0..<segmentEnds.last` from the segments of `job`: every
    /// header is checked against this worker's model, slice, layers and `cache`'s format first;
    /// payloads are checked against their digests as they are read (a bad one leaves the cache
    /// empty). Returns the bytes read. Errors name the file.
    public func load(into cache: inout KVCache, job: String, segmentEnds: [Int], ropeFactors: RopeFactorSet,
                     config: ModelConfig) throws -> Int {
        let starts = [0] + segmentEnds.dropLast()
        var files: [(path: String, header: KVSegmentHeader)] = []
        for (start, end) in zip(starts, segmentEnds) {
            let path = directory.appendingPathComponent(Self.fileName(job: job, layers: cache.layers, positions: start..<end)).path
            files.append((path, try readHeader(path: path, expected: start..<end, cache: cache, ropeFactors: ropeFactors, config: config)))
        }
        var hashers = files.map { file -> SHA256 in
            var hasher = SHA256()
            hasher.update(data: file.header.fieldBytes)
            return hasher
        }
        let handles = try files.map { try SegmentFileHandle(reading: $0.path) }
        let rowBytes = cache.snapshotRowBytes
        var read = 0
        do {
            try cache.restore(tokens: segmentEnds.last ?? 0, ropeFactors: ropeFactors) { region, buffer in
                for (index, file) in files.enumerated() {
                    let header = file.header
                    let count = (header.endToken - header.firstToken) * rowBytes
                    let slice = UnsafeMutableRawBufferPointer(rebasing: buffer[(header.firstToken * rowBytes)..<(header.firstToken * rowBytes + count)])
                    try handles[index].read(into: slice, at: KVSegmentHeader.byteCount + region * count,
                                            fileBytes: KVSegmentHeader.byteCount + header.payloadBytes)
                    hashers[index].update(bufferPointer: UnsafeRawBufferPointer(slice))
                    read += count
                }
            }
        } catch {
            cache.truncate(toTokens: 0)
            throw error
        }
        for (index, file) in files.enumerated() where Array(hashers[index].finalize()) != file.header.digest {
            cache.truncate(toTokens: 0)
            throw KVCheckpointError.checksum(file: file.path)
        }
        return read
    }

    /// Reads and checks one segment's header against what this worker expects.
    private func readHeader(path: String, expected: Range<Int>, cache: KVCache, ropeFactors: RopeFactorSet,
                            config: ModelConfig) throws -> KVSegmentHeader {
        let handle = try SegmentFileHandle(reading: path)
        var bytes = [UInt8](repeating: 0, count: KVSegmentHeader.byteCount)
        let size = handle.size
        guard size >= KVSegmentHeader.byteCount else {
            throw KVCheckpointError.truncated(file: path, expectedBytes: KVSegmentHeader.byteCount, actualBytes: size)
        }
        try bytes.withUnsafeMutableBytes { try handle.read(into: $0, at: 0, fileBytes: KVSegmentHeader.byteCount) }
        let header = try KVSegmentHeader(bytes: bytes, file: path)
        func check(_ field: String, _ found: some Equatable & CustomStringConvertible, _ wanted: some Equatable & CustomStringConvertible) throws {
            guard "\(found)" == "\(wanted)" else {
                throw KVCheckpointError.mismatch(file: path, field: field, expected: "\(wanted)", found: "\(found)")
            }
        }
        guard header.configSHA256 == configSHA256 else {
            throw KVCheckpointError.mismatch(file: path, field: "model", expected: "this worker's model", found: "another model's configuration")
        }
        guard header.sliceSHA256 == sliceSHA256 else {
            throw KVCheckpointError.mismatch(file: path, field: "slice", expected: "this worker's tensors in \(weightFormat.rawValue)",
                                             found: "other tensors or another weight format (--quant)")
        }
        try check("layers", LayerRangeText.format(header.layers), LayerRangeText.format(cache.layers))
        try check("KV heads", header.kvHeads, config.kvHeadCount)
        try check("head dimension", header.headDim, config.headDim)
        try check("KV format", header.format.rawValue, cache.format.rawValue)
        try check("LongRoPE factors", header.ropeFactors.rawValue, ropeFactors.rawValue)
        try check("positions", "\(header.firstToken)-\(header.endToken)", "\(expected.lowerBound)-\(expected.upperBound)")
        try check("row bytes", header.rowBytes, cache.snapshotRowBytes)
        let payload = cache.snapshotRegionCount * expected.count * cache.snapshotRowBytes
        try check("payload bytes", header.payloadBytes, payload)
        guard size == KVSegmentHeader.byteCount + payload else {
            throw KVCheckpointError.truncated(file: path, expectedBytes: KVSegmentHeader.byteCount + payload, actualBytes: size)
        }
        return header
    }
}
