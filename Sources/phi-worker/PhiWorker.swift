import ArgumentParser
import Foundation
import Logging
import PhiCluster

@main
struct PhiWorker: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "phi-worker",
        abstract: "Runs a slice of a model's layers for a phi-cluster coordinator.",
        discussion: "Without --layers the worker starts as an idle spare: the coordinator tells it which layers to load.",
        version: PhiClusterVersion.current)

    @Option(help: "Model directory (config.json + safetensors).")
    var model: String

    @Option(help: "Layers to hold, inclusive: 0-15. Omit to start as a spare.")
    var layers: String?

    @Option(help: "Address to listen on: tcp://HOST:PORT.")
    var listen: String

    @Option(name: .customLong("secret-file"), help: ArgumentHelp(
        "Shared secret (at least 16 bytes) to authenticate with; required to listen beyond loopback (or --insecure).",
        discussion: "Make one with: head -c 32 /dev/urandom > FILE && chmod 600 FILE"))
    var secretFile: String?

    @Flag(help: "Listen beyond loopback without a secret file: anyone who reaches the address can reconfigure or stop the worker.")
    var insecure = false

    @Option(name: .customLong("unauthenticated-timeout"),
            help: "Seconds a connection may stay open without authenticating before it is closed.")
    var unauthenticatedTimeout: Double = 5

    @Option(name: .customLong("max-connections"), help: "Connections the worker keeps at once.")
    var maxConnections: Int = 64

    @Option(help: "Compute threads (default: the available cores).")
    var threads: Int?

    @Option(help: "Run only on these CPUs: 0, 0,1 or 0-3 (default: any). Threads default to their count.")
    var cpus: String?

    @Option(help: "Weight format: f32, f16, bf16, q8_0, q4_0 (default: as stored).")
    var quant: WeightFormat?

    @Option(help: "Name in logs and errors (default: the listen address).")
    var name: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    @Option(help: "KV cache formats the coordinator may choose, comma-separated: f32, f16, q8_0 (default: all).")
    var kv: String?

    @Option(name: .customLong("state-dir"), help: "Directory for KV checkpoints of long jobs (default: ./phi-worker-state).")
    var stateDir: String?

    @Option(name: .customLong("state-dir-max"),
            help: "Most bytes the state directory may hold, e.g. 64GiB (the default) or 500MiB; a SaveKV past it is refused.")
    var stateDirMax: String = "64GiB"

    func validate() throws {
        if let layers, LayerRangeText.parse(layers) == nil {
            throw ValidationError("--layers must look like 0-15, not '\(layers)'")
        }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        if let cpus, CPUAffinity.parse(cpus) == nil { throw ValidationError("--cpus must look like 0, 0,1 or 0-3, not '\(cpus)'") }
        _ = try kvFormats()
        if ByteCount.parse(stateDirMax) == nil {
            throw ValidationError("--state-dir-max must be a size such as 64GiB or 500MiB, not '\(stateDirMax)'")
        }
        if !(unauthenticatedTimeout > 0) { throw ValidationError("--unauthenticated-timeout must be positive") }
        if maxConnections < 1 { throw ValidationError("--max-connections must be at least 1") }
    }

    func kvFormats() throws -> [KVFormat] {
        guard let kv else { return KVFormat.allCases }
        return try kv.split(separator: ",").map { name in
            guard let format = KVFormat(rawValue: name.trimmingCharacters(in: .whitespaces)) else {
                throw ValidationError("--kv takes f32, f16 or q8_0 (comma-separated), not '\(name)'")
            }
            return format
        }
    }

    func run() async throws {
        var logger = Logger(label: "phi-worker")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        let pinned = cpus.flatMap(CPUAffinity.parse)
        if let pinned { try CPUAffinity.pinProcess(to: pinned) }
        var transport = TransportOptions()
        transport.allowsInsecureListening = insecure
        transport.unauthenticatedTimeout = .milliseconds(Int64((unauthenticatedTimeout * 1000).rounded()))
        transport.maxConnections = maxConnections
        let options = WorkerOptions(
            name: name ?? listen, modelPath: URL(fileURLWithPath: model), layers: layers.flatMap(LayerRangeText.parse),
            listenAddress: listen, secretFile: secretFile.map { URL(fileURLWithPath: $0) }, threads: threads ?? pinned?.count, quant: quant,
            transport: transport, kvFormats: try kvFormats(),
            stateDirectory: stateDir.map { URL(fileURLWithPath: $0) } ?? WorkerOptions.defaultStateDirectory,
            maxStateDirectoryBytes: ByteCount.parse(stateDirMax))
        if options.secretFile == nil && insecure {
            logger.warning("listening on \(listen) without a secret file (--insecure): anyone who reaches it can reconfigure or stop this worker")
        }
        let node = try await WorkerNode(options: options, logger: logger)
        // Written unbuffered: whoever started the worker waits for this line to learn the address.
        FileHandle.standardOutput.write(Data("phi-worker \(PhiClusterVersion.current) '\(options.name)' listening on \(node.listener.boundAddress)\n".utf8))
        await node.run()
    }
}

extension WeightFormat: ExpressibleByArgument {}
