import Crypto

/// The HMAC-SHA256 computations of the handshake and of message tags. Every input starts with a
/// label of its own, so that no proof, key or tag can stand in for another (docs/WIRE.md).
enum WireCrypto {
    static let secretIDLabel = Array("phi.wire.v1 secret id".utf8)
    static let workerProofLabel = Array("phi.wire.v1 worker proof".utf8)
    static let coordinatorProofLabel = Array("phi.wire.v1 coordinator proof".utf8)
    static let runKeyLabel = Array("phi.wire.v1 run key".utf8)

    static func mac(_ key: SymmetricKey, _ parts: [UInt8]...) -> [UInt8] {
        var hmac = HMAC<SHA256>(key: key)
        for part in parts { hmac.update(data: part) }
        return Array(hmac.finalize())
    }

    /// Constant-time check of `code` against HMAC(key, parts...).
    static func isValid(_ code: [UInt8], _ key: SymmetricKey, _ parts: [UInt8]...) -> Bool {
        var hmac = HMAC<SHA256>(key: key)
        for part in parts { hmac.update(data: part) }
        let expected = hmac.finalize()
        guard code.count == SHA256.byteCount else { return false }
        var difference: UInt8 = 0
        for (index, byte) in expected.enumerated() { difference |= byte ^ code[index] }
        return difference == 0
    }

    static func secretID(key: SymmetricKey) -> [UInt8] {
        Array(mac(key, secretIDLabel).prefix(HandshakeSizes.secretID))
    }

    /// The worker's proof in HelloReply: HMAC(secret, label ‖ client nonce ‖ server nonce).
    static func workerProof(_ secret: SharedSecret, clientNonce: [UInt8], serverNonce: [UInt8]) -> [UInt8] {
        mac(secret.key, workerProofLabel, clientNonce, serverNonce)
    }

    /// The coordinator's proof in Authenticate; it also binds the run nonce.
    static func coordinatorProof(_ secret: SharedSecret, clientNonce: [UInt8], serverNonce: [UInt8],
                                 runNonce: [UInt8]) -> [UInt8] {
        mac(secret.key, coordinatorProofLabel, clientNonce, serverNonce, runNonce)
    }

    /// The key of message tags for one run, known to every node that knows the secret and the run nonce.
    static func runKeyBytes(_ secret: SharedSecret, runNonce: [UInt8]) -> [UInt8] {
        mac(secret.key, runKeyLabel, runNonce)
    }

    /// Tag input: protocol major and minor (4 bytes little-endian each), then the body.
    static func tagHeader(_ version: ProtocolVersion) -> [UInt8] {
        withUnsafeBytes(of: version.major.littleEndian, Array.init) + withUnsafeBytes(of: version.minor.littleEndian, Array.init)
    }

    static func randomNonce() -> [UInt8] {
        var generator = SystemRandomNumberGenerator()  // getrandom(2) on Linux: cryptographically secure
        return (0 ..< HandshakeSizes.nonce).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }
}
