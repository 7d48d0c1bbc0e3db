import Crypto
import Foundation

/// The cluster's shared secret, read from the file that `--secret-file` names.
///
/// It never travels: nodes prove they know it with HMAC-SHA256 over nonces, and name it in errors
/// by `secretID`, 8 bytes of an HMAC under it that tell two secrets apart without revealing either.
public struct SharedSecret: Sendable {
    /// Fewer bytes than this are refused: 16 random bytes (or a 22-character base64 line) are
    /// 128 bits, the strength of the HMAC-SHA256 proofs' security target.
    public static let minimumBytes = 16

    // SymmetricKey is not Sendable in swift-crypto 3 on Linux; the bytes are, and a key is cheap to make.
    private let bytes: [UInt8]
    var key: SymmetricKey { SymmetricKey(data: bytes) }
    /// 8 bytes naming this secret in handshakes and errors.
    public let secretID: [UInt8]

    /// A secret from its bytes; throws when there are fewer than `minimumBytes`.
    public init(bytes: [UInt8], source: String = "the secret") throws(SecretError) {
        guard bytes.count >= Self.minimumBytes else {
            throw .tooShort(source: source, byteCount: bytes.count, minimum: Self.minimumBytes)
        }
        self.bytes = bytes
        secretID = WireCrypto.secretID(key: SymmetricKey(data: bytes))
    }

    /// The secret in the file at `path`: its bytes without trailing spaces and newlines, so that
    /// `echo "$secret" > file` and an editor's final newline do not change it.
    public init(contentsOfFile path: String) throws(SecretError) {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw .unreadable(path: path, reason: "\(error.localizedDescription)")
        }
        var bytes = [UInt8](data)
        while let last = bytes.last, last == 0x0a || last == 0x0d || last == 0x20 || last == 0x09 {
            bytes.removeLast()
        }
        try self.init(bytes: bytes, source: "secret file \(path)")
    }

    /// `secretID` in hex, as errors show it.
    public var secretIDHex: String { hexPrefix(secretID) }
}

public enum SecretError: Error, Equatable, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case tooShort(source: String, byteCount: Int, minimum: Int)
    case uncreatable(path: String, reason: String)

    public var description: String {
        switch self {
        case let .unreadable(path, reason): "cannot read secret file \(path): \(reason)"
        case let .tooShort(source, count, minimum): "\(source) holds \(count) bytes; at least \(minimum) are required"
        case let .uncreatable(path, reason): "cannot create secret file \(path): \(reason)"
        }
    }
}

extension SharedSecret {
    /// Bytes of randomness in a secret file that `createFile(at:)` makes.
    public static let generatedBytes = 32

    /// Creates a secret file at `path`: `generatedBytes` random bytes written as one line of hex,
    /// readable by its owner only (mode 0600). Refuses to replace an existing file.
    public static func createFile(at path: String) throws(SecretError) {
        let line = Array((hexPrefix(WireCrypto.randomNonce(), count: generatedBytes) + "\n").utf8)
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard descriptor >= 0 else { throw .uncreatable(path: path, reason: String(cString: strerror(errno))) }
        defer { close(descriptor) }
        let written = line.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        guard written == line.count, fsync(descriptor) == 0 else {
            throw .uncreatable(path: path, reason: String(cString: strerror(errno)))
        }
    }
}
