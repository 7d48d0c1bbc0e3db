import Foundation
import Testing
@testable import PhiCluster

/// What a hostile peer can put in a node's log: one line per host per interval, its text escaped.
@Suite("refusal log and peer text")
struct RefusalLogTests {
    @Test("a flood from one host is one line per interval, and the next line counts what was left out")
    func rateLimited() async throws {
        let capture = LogCapture()
        let log = RefusalLog(logger: capture.logger, interval: .milliseconds(300))
        for port in 0 ..< 50 { log.warning(peer: "tcp://10.0.0.9:\(40000 + port)", "refused \(port)") }
        log.warning(peer: "tcp://10.0.0.10:1", "refused other")
        #expect(capture.text.split(separator: "\n").count == 2, "\(capture.text)")
        try await Task.sleep(for: .milliseconds(400))
        #expect(log.warning(peer: "tcp://10.0.0.9:1", "refused again"))
        let lines = capture.text.split(separator: "\n")
        #expect(lines.count == 3)
        #expect(lines.last?.contains("refused again (49 more from 10.0.0.9 left out since the last line)") == true, "\(capture.text)")
    }

    @Test("control characters, line breaks, ANSI escapes and bidirectional overrides are shown escaped, and long text is cut")
    func escaped() {
        #expect(PeerText.escaped("ok\nERROR forged\r\t\u{1b}[31mred\u{7f}\u{85}\u{202e}txt\\") ==
            "ok\\nERROR forged\\r\\t\\u{1b}[31mred\\u{7f}\\u{85}\\u{202e}txt\\\\")
        #expect(PeerText.escaped("naïve 東京 ✓") == "naïve 東京 ✓")
        let long = PeerText.escaped(String(repeating: "a", count: 250))
        #expect(long == String(repeating: "a", count: 200) + "…(50 more characters)")
    }
}

/// The secret `phi-coord up` gives a manifest that names none.
@Suite("manifest secrets")
struct ManifestSecretTests {
    func manifest(_ directory: URL, local: Bool, extra: String = "") throws -> Manifest {
        let file = directory.appendingPathComponent("two.toml")
        try """
        model = "m"
        \(extra)
        [[workers]]
        name = "w1"
        address = "tcp://127.0.0.1:5601"
        layers = "0-15"
        local = true

        [[workers]]
        name = "w2"
        address = "tcp://10.0.0.2:5602"
        layers = "16-31"
        local = \(local)
        """.write(to: file, atomically: true, encoding: .utf8)
        return try Manifest.load(file)
    }

    func scratch() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("phi-manifest-secret-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    @Test("an all-local cluster gets a new 0600 secret beside its manifest, reused the next time")
    func createdAndReused() throws {
        let directory = try scratch()
        let (secured, created) = try manifest(directory, local: true).securedForLaunch()
        let file = directory.appendingPathComponent("two.secret")
        #expect(created == file && secured.secretFile == file)
        let permissions = try FileManager.default.attributesOfItem(atPath: file.path)[.posixPermissions] as? NSNumber
        #expect(permissions?.intValue == 0o600)
        let secret = try SharedSecret(contentsOfFile: file.path)
        let (again, createdAgain) = try manifest(directory, local: true).securedForLaunch()
        #expect(createdAgain == nil && again.secretFile == file)
        #expect(try SharedSecret(contentsOfFile: file.path).secretID == secret.secretID)
        #expect(try manifest(directory, local: false).withExistingGeneratedSecret.secretFile == file)
    }

    @Test("a cluster with a remote worker, an insecure one, or one naming its secret gets no new secret")
    func notCreated() throws {
        let directory = try scratch()
        let remote = try manifest(directory, local: false).securedForLaunch()
        #expect(remote.createdSecretFile == nil && remote.manifest.secretFile == nil)
        let insecure = try manifest(directory, local: true, extra: "insecure = true").securedForLaunch()
        #expect(insecure.createdSecretFile == nil && insecure.manifest.secretFile == nil && insecure.manifest.isInsecure)
        #expect(ClusterOptions(manifest: insecure.manifest, contextTokens: 16).transport.allowsInsecureListening)
        let named = try manifest(directory, local: true, extra: "secret_file = \"mine.key\"").securedForLaunch()
        #expect(named.createdSecretFile == nil && named.manifest.secretFile?.lastPathComponent == "mine.key")
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("two.secret").path))
    }
}
