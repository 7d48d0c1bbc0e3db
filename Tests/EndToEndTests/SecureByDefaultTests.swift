import Foundation
import PhiGeneration
import PhiTestSupport
import Testing

/// Secure by default, with the real executables: a worker beyond loopback needs a secret file or
/// --insecure; `phi-coord up` makes a secret for a cluster whose manifest names none.
@Suite("secure by default", .serialized)
struct SecureByDefaultTests {
    @Test("a worker on 0.0.0.0 without a secret file refuses to start, naming --secret-file and --insecure; with either it starts")
    func workerNeedsSecretBeyondLoopback() throws {
        let refused = try Executables.run("phi-worker", [
            "--model", Fixtures.tinyModel.path, "--layers", "0-31", "--listen", "tcp://0.0.0.0:0", "--threads", "1",
        ], timeout: .seconds(60))
        #expect(refused.status != 0)
        for fragment in ["refusing to listen on tcp://0.0.0.0:0 without a secret file", "--secret-file", "--insecure",
                         "head -c 32 /dev/urandom"] {
            #expect(refused.stderr.contains(fragment), "missing '\(fragment)' in: \(refused.stderr)")
        }
        let insecure = try WorkerProcess.start(name: "open", layers: 0 ..< 32, extraArguments: ["--listen", "tcp://0.0.0.0:0", "--insecure"])
        #expect(insecure.address.hasPrefix("tcp://0.0.0.0:"))
        #expect(insecure.log.contains("without a secret file (--insecure)"))
        insecure.stop()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("phi-secure-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let secret = directory.appendingPathComponent("cluster.secret")
        try Data("a secret of more than sixteen bytes".utf8).write(to: secret)
        let authenticated = try WorkerProcess.start(name: "closed", layers: 0 ..< 32,
                                                    extraArguments: ["--listen", "tcp://0.0.0.0:0", "--secret-file", secret.path])
        #expect(authenticated.process.isRunning)
        authenticated.stop()
    }

    @Test("up makes a secret file beside a manifest that names none (32 random bytes, mode 0600), starts the workers with it, and reuses it")
    func upCreatesSecret() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("phi-up-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let ports = try [FreePort.find(), FreePort.find()]
        let manifest = directory.appendingPathComponent("two.toml")
        try """
        model = "\(Fixtures.tinyModel.path)"
        context = 512

        [[workers]]
        name = "w1"
        address = "tcp://127.0.0.1:\(ports[0])"
        layers = "0-15"
        local = true

        [[workers]]
        name = "w2"
        address = "tcp://127.0.0.1:\(ports[1])"
        layers = "16-31"
        local = true
        """.write(to: manifest, atomically: true, encoding: .utf8)
        let prompt = try TinyGolden.load().prompt("p7")
        let arguments = ["up", "--manifest", manifest.path, "--prompt-ids", prompt.ids.map(String.init).joined(separator: ","),
                         "--max-tokens", "24", "--temperature", "0", "--ignore-eos"]
        let first = try Executables.run("phi-coord", arguments)
        #expect(first.status == 0, "\(first.stderr)")
        let secret = directory.appendingPathComponent("two.secret")
        #expect(first.stderr.contains("created secret file \(secret.path)"), "\(first.stderr)")
        #expect(first.stdout.split(whereSeparator: \.isWhitespace).compactMap { Int($0) } == prompt.greedy24)
        let attributes = try FileManager.default.attributesOfItem(atPath: secret.path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let text = try String(contentsOf: secret, encoding: .utf8)
        #expect(text.count == 65 && text.hasSuffix("\n") && text.dropLast().allSatisfy(\.isHexDigit), "\(text)")
        // The workers were started with it.
        let logs = try #require(first.stderr.range(of: "(logs in ").map { first.stderr[$0.upperBound...].prefix { $0 != ")" } })
        let secretID = try SharedSecret(contentsOfFile: secret.path).secretIDHex
        for name in ["w1", "w2"] {
            let log = try String(contentsOfFile: "\(logs)/\(name).log", encoding: .utf8)
            #expect(log.contains("secret id \(secretID)"), "\(log)")
        }
        let second = try Executables.run("phi-coord", arguments)
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stderr.contains("using secret file \(secret.path)"), "\(second.stderr)")
        #expect(try String(contentsOf: secret, encoding: .utf8) == text)
        #expect(second.stdout.split(whereSeparator: \.isWhitespace).compactMap { Int($0) } == prompt.greedy24)
    }
}
