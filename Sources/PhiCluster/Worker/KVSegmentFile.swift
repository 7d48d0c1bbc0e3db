#if canImport(Glibc)
import Glibc
#endif
import Crypto
import Foundation
import PhiModel

/// The header of a KV segment file: positions `firstToken..<endToken` of one session's cache over
/// a worker's layers. Little-endian, 148 bytes, followed by the payload (`KVCache` snapshot order:
/// layer, keys then values, KV head; each region's rows of the positions). `digest` is SHA-256 of
/// the header's other bytes and the payload, so a flipped bit anywhere is caught on load.
struct KVSegmentHeader: Equatable {
    static let magic = Array("PHIKVSG1".utf8)
    static let byteCount = 8 + 32 + 32 + 9 * 4 + 8 + 32

    var configSHA256: [UInt8]
    var sliceSHA256: [UInt8]
    var layers: Range<Int>
    var kvHeads: Int
    var headDim: Int
    var format: KVFormat
    var ropeFactors: RopeFactorSet
    var firstToken: Int
    var endToken: Int
    var rowBytes: Int
    var payloadBytes: Int
    var digest: [UInt8] = Array(repeating: 0, count: 32)

    /// The header's bytes before the digest.
    var fieldBytes: [UInt8] {
        var bytes = Self.magic + padded(configSHA256) + padded(sliceSHA256)
        let formatCode = UInt32(format.wireFormat.rawValue)
        let ropeCode: UInt32 = ropeFactors == .long ? 2 : 1
        for value in [UInt32(layers.lowerBound), UInt32(layers.upperBound), UInt32(kvHeads), UInt32(headDim), formatCode,
                      ropeCode, UInt32(firstToken), UInt32(endToken), UInt32(rowBytes)] {
            bytes += withUnsafeBytes(of: value.littleEndian, Array.init)
        }
        return bytes + withUnsafeBytes(of: UInt64(payloadBytes).littleEndian, Array.init)
    }

    private func padded(_ digest: [UInt8]) -> [UInt8] { Array((digest + Array(repeating: 0, count: 32)).prefix(32)) }

    /// Reads a header, naming `file` in every error.
    init(bytes: [UInt8], file: String) throws(KVCheckpointError) {
        guard bytes.count == Self.byteCount else {
            throw .truncated(file: file, expectedBytes: Self.byteCount, actualBytes: bytes.count)
        }
        guard Array(bytes[0..<8]) == Self.magic else { throw .notASegment(file: file) }
        func u32(_ offset: Int) -> Int {
            Int(UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16 | UInt32(bytes[offset + 3]) << 24)
        }
        configSHA256 = Array(bytes[8..<40])
        sliceSHA256 = Array(bytes[40..<72])
        layers = u32(72)..<max(u32(72), u32(76))
        kvHeads = u32(80)
        headDim = u32(84)
        guard let wire = WireKVFormat(rawValue: UInt32(u32(88))) else {
            throw .mismatch(file: file, field: "format", expected: "f32, f16 or q8_0", found: "code \(u32(88))")
        }
        format = wire.kvFormat
        guard u32(92) == 1 || u32(92) == 2 else {
            throw .mismatch(file: file, field: "LongRoPE factors", expected: "short or long", found: "code \(u32(92))")
        }
        ropeFactors = u32(92) == 2 ? .long : .short
        firstToken = u32(96)
        endToken = u32(100)
        rowBytes = u32(104)
        payloadBytes = (0..<8).reduce(0) { $0 | Int(bytes[108 + $1]) << (8 * $1) }
        digest = Array(bytes[116..<148])
    }

    init(configSHA256: [UInt8], sliceSHA256: [UInt8], layers: Range<Int>, kvHeads: Int, headDim: Int, format: KVFormat,
         ropeFactors: RopeFactorSet, firstToken: Int, endToken: Int, rowBytes: Int, payloadBytes: Int) {
        self.configSHA256 = configSHA256
        self.sliceSHA256 = sliceSHA256
        self.layers = layers
        self.kvHeads = kvHeads
        self.headDim = headDim
        self.format = format
        self.ropeFactors = ropeFactors
        self.firstToken = firstToken
        self.endToken = endToken
        self.rowBytes = rowBytes
        self.payloadBytes = payloadBytes
    }
}

/// Why a KV checkpoint could not be written or read; every case names the file or session.
public enum KVCheckpointError: Error, Equatable, CustomStringConvertible {
    case io(file: String, operation: String, reason: String)
    case missing(file: String)
    case truncated(file: String, expectedBytes: Int, actualBytes: Int)
    case notASegment(file: String)
    case mismatch(file: String, field: String, expected: String, found: String)
    case checksum(file: String)
    case notCached(session: UInt64, holds: Int, needed: Int)
    case noStage
    /// A segment of `neededBytes` would take the state directory past its cap (`--state-dir-max`).
    case stateDirectoryFull(directory: String, usedBytes: Int, neededBytes: Int, capBytes: Int)

    public var description: String {
        switch self {
        case let .io(file, operation, reason): "cannot \(operation) KV segment \(file): \(reason)"
        case let .missing(file): "KV segment \(file) does not exist (was the worker started with another --state-dir, "
            + "or other layers than when the job saved it? Its name holds the job, the layers and the positions)"
        case let .truncated(file, expected, actual): "KV segment \(file) has \(actual) bytes; its header describes \(expected)"
        case let .notASegment(file): "\(file) is not a phi-cluster KV segment (bad magic)"
        case let .mismatch(file, field, expected, found): "KV segment \(file) was saved with \(field) \(found), expected \(expected)"
        case let .checksum(file): "KV segment \(file) is corrupt: its SHA-256 does not match its contents"
        case let .notCached(session, holds, needed):
            "session \(session) holds \(holds) positions here, fewer than the \(needed) to save"
        case .noStage: "this worker has no layers loaded"
        case let .stateDirectoryFull(directory, used, needed, cap):
            "the state directory \(directory) holds \(ByteCount.format(used)); a segment of \(ByteCount.format(needed)) "
                + "would take it past its cap of \(ByteCount.format(cap)) (\(cap) bytes; phi-worker --state-dir-max)"
        }
    }
}

/// A file opened with POSIX calls, so payloads move between disk and the cache without copies.
final class SegmentFileHandle {
    let descriptor: Int32
    let path: String

    init(reading path: String) throws(KVCheckpointError) {
        descriptor = open(path, O_RDONLY | O_CLOEXEC)
        self.path = path
        guard descriptor >= 0 else {
            if errno == ENOENT { throw .missing(file: path) }
            throw .io(file: path, operation: "open", reason: String(cString: strerror(errno)))
        }
    }

    init(creating path: String) throws(KVCheckpointError) {
        descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        self.path = path
        guard descriptor >= 0 else { throw .io(file: path, operation: "create", reason: String(cString: strerror(errno))) }
    }

    deinit { close(descriptor) }

    var size: Int {
        var info = stat()
        return fstat(descriptor, &info) == 0 ? Int(info.st_size) : 0
    }

    /// Fills `buffer` from `offset`; a short file is `truncated`.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int, fileBytes: Int) throws(KVCheckpointError) {
        var done = 0
        while done < buffer.count {
            guard let base = buffer.baseAddress else { return }
            let count = pread(descriptor, base + done, buffer.count - done, off_t(offset + done))
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else {
                if count == 0 { throw .truncated(file: path, expectedBytes: fileBytes, actualBytes: size) }
                throw .io(file: path, operation: "read", reason: String(cString: strerror(errno)))
            }
            done += count
        }
    }

    func write(_ buffer: UnsafeRawBufferPointer, at offset: Int) throws(KVCheckpointError) {
        var done = 0
        while done < buffer.count {
            guard let base = buffer.baseAddress else { return }
            let count = pwrite(descriptor, base + done, buffer.count - done, off_t(offset + done))
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { throw .io(file: path, operation: "write", reason: String(cString: strerror(errno))) }
            done += count
        }
    }

    func sync() throws(KVCheckpointError) {
        guard fsync(descriptor) == 0 else { throw .io(file: path, operation: "sync", reason: String(cString: strerror(errno))) }
    }
}
