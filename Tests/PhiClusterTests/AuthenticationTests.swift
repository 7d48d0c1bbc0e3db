import Foundation
import Testing
@testable import PhiCluster

@Suite("message authentication")
struct AuthenticationTests {
    let peer = "tcp://10.0.0.12:5555"

    func open(_ bytes: [UInt8], with authenticator: WireAuthenticator) throws(WireError) -> ReceivedMessage {
        let result = bytes.withUnsafeBytes { buffer in
            Result { () throws(WireError) in try authenticator.open(buffer, from: peer) }
        }
        return try result.get()
    }

    @Test("an untagged request to a node with a secret is refused, naming the kind and the peer")
    func missingTag() throws {
        let receiver = WireAuthenticator(secret: try randomSecret())
        receiver.startRun()
        let bytes = WireAuthenticator(secret: nil).seal(.healthRequest)
        let error = try #require(throws: WireError.self) { try open(bytes, with: receiver) }
        #expect(error == .missingTag(peer: peer, kind: "HealthRequest"))
        #expect(error.code == .unauthenticated)
    }

    @Test("a tagged message to a node without a secret is refused")
    func unexpectedTag() throws {
        let sender = WireAuthenticator(secret: try randomSecret())
        sender.startRun()
        let error = try #require(throws: WireError.self) { try open(sender.seal(.healthRequest), with: WireAuthenticator(secret: nil)) }
        #expect(error == .unexpectedTag(peer: peer))
    }

    @Test("a tag under another secret or another run fails")
    func badTag() throws {
        let secret = try randomSecret()
        let sender = WireAuthenticator(secret: secret)
        sender.startRun()
        let otherRun = WireAuthenticator(secret: secret)
        otherRun.startRun()
        let otherSecret = WireAuthenticator(secret: try randomSecret())
        otherSecret.adoptRun(nonce: try #require(sender.runNonce))
        for receiver in [otherRun, otherSecret] {
            #expect(throws: WireError.badTag(peer: peer)) { try open(sender.seal(.healthRequest), with: receiver) }
        }
    }

    @Test("a flipped bit anywhere in a tagged frame is refused")
    func tamperedFrame() throws {
        let secret = try randomSecret()
        let sender = WireAuthenticator(secret: secret)
        let receiver = WireAuthenticator(secret: secret)
        receiver.adoptRun(nonce: sender.startRun())
        let message = try #require(WireSamples.all.first { $0.kindName == "ActivationFrame" })
        let bytes = sender.seal(message)
        for index in stride(from: 0, to: bytes.count, by: max(1, bytes.count / 97)) {
            var tampered = bytes
            tampered[index] ^= 0x10
            #expect(throws: WireError.self, "bit flipped at byte \(index)") { try open(tampered, with: receiver) }
        }
    }

    @Test("a tagged message before Authenticate is refused as not ready")
    func noRunKey() throws {
        let secret = try randomSecret()
        let sender = WireAuthenticator(secret: secret)
        sender.startRun()
        let error = try #require(throws: WireError.self) { try open(sender.seal(.healthRequest), with: WireAuthenticator(secret: secret)) }
        #expect(error.code == .notReady)
    }

    @Test("the handshake and errors may come untagged, marked unauthenticated")
    func untaggedHandshake() throws {
        let receiver = WireAuthenticator(secret: try randomSecret())
        receiver.startRun()
        let hello = try #require(WireSamples.all.first)
        let received = try open(WireAuthenticator(secret: nil).seal(hello), with: receiver)
        #expect(received.message == hello)
        #expect(!received.isAuthenticated)
    }

    @Test("a secret file loses its trailing newline; a short or missing one is named")
    func secretFiles() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("phi-wire-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let withNewline = directory.appendingPathComponent("a")
        let without = directory.appendingPathComponent("b")
        try Data("0123456789abcdefXYZ\n".utf8).write(to: withNewline)
        try Data("0123456789abcdefXYZ".utf8).write(to: without)
        #expect(try SharedSecret(contentsOfFile: withNewline.path).secretID == SharedSecret(contentsOfFile: without.path).secretID)

        let short = directory.appendingPathComponent("short")
        try Data("tiny\n".utf8).write(to: short)
        let tooShort = try #require(throws: SecretError.self) { try SharedSecret(contentsOfFile: short.path) }
        #expect(tooShort.description.contains(short.path) && tooShort.description.contains("4 bytes"))

        let missing = directory.appendingPathComponent("missing").path
        let unreadable = try #require(throws: SecretError.self) { try SharedSecret(contentsOfFile: missing) }
        #expect(unreadable.description.contains(missing))
    }
}
