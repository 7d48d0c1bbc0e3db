#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Logging
import PhiGeneration

/// A manifest's cluster as `up`, `serve`, `chat` and `run` use it: the workers and spares marked
/// `local = true` started on this machine (unless something already listens at their address),
/// the ring linked, and a pipeline over it. `stop()` (or Ctrl-C) stops what was started.
final class LaunchedCluster: Sendable {
    let pipeline: ClusterPipeline
    let workers: LocalWorkers
    private let stopper: SignalStopper

    private init(pipeline: ClusterPipeline, workers: LocalWorkers, stopper: SignalStopper) {
        self.pipeline = pipeline
        self.workers = workers
        self.stopper = stopper
    }

    /// Starts the local workers, waits until they listen, and connects. The layers of workers
    /// without `layers` come from their memory budgets (or an even split); the coordinator
    /// refuses, before any pass, workers that cannot hold `contextTokens` in `kvFormat`.
    static func launch(manifest given: Manifest, source: ModelSource, contextTokens: Int, kvFormat: KVFormat,
                       chunkTokens: Int, startTimeout: Duration) async throws -> LaunchedCluster {
        // A cluster whose manifest names no secret gets one beside the manifest (see securedForLaunch).
        let (manifest, created) = try given.securedForLaunch()
        if let created {
            let line = "created secret file \(created.path) (32 random bytes, mode 0600) for this cluster: "
                + "its workers and coordinator authenticate with it; give it to remote workers with --secret-file\n"
            FileHandle.standardError.write(Data(line.utf8))
        } else if given.secretFile == nil, let secret = manifest.secretFile {
            FileHandle.standardError.write(Data("using secret file \(secret.path)\n".utf8))
        }
        let split = try manifest.split(config: source.config, format: manifest.quant ?? source.loadedWeightFormat, kvFormat: kvFormat,
                                       contextTokens: contextTokens, chunkTokens: chunkTokens)
        let workers = LocalWorkers(logDirectory: FileManager.default.temporaryDirectory
            .appendingPathComponent("phi-cluster-\(ProcessInfo.processInfo.processIdentifier)"))
        let stopper = SignalStopper { workers.stopAll() }
        do {
            try workers.start(manifest, split: split, executable: siblingExecutable("phi-worker"))
            try await workers.waitUntilListening(manifest, timeout: startTimeout)
            var withSplit = manifest
            for index in withSplit.workers.indices { withSplit.workers[index].layers = split[index] }
            var logger = Logger(label: "phi-coord")
            logger.logLevel = .warning
            var options = ClusterOptions(manifest: withSplit, contextTokens: contextTokens)
            options.kvFormat = kvFormat
            options.chunkTokens = chunkTokens
            let pipeline = try await ClusterPipeline.connect(model: source, options: options, logger: logger)
            return LaunchedCluster(pipeline: pipeline, workers: workers, stopper: stopper)
        } catch {
            workers.stopAll()
            stopper.cancel()
            throw error
        }
    }

    /// "w1 [0-15] → w2 [16-31]", for a line on stderr.
    func describe() async -> String {
        await pipeline.stages.map { "\($0.name) [\(LayerRangeText.format($0.layers))]" }.joined(separator: " → ")
    }

    func stop() {
        pipeline.beginShutdown()  // workers stopping now are not failures
        workers.stopAll()
        stopper.cancel()
    }

    /// An executable built beside this one.
    static func siblingExecutable(_ name: String) -> URL {
        URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent(name)
    }
}

/// Stops local workers when the coordinator is interrupted (Ctrl-C) or terminated.
///
/// `@unchecked Sendable`: `sources` is set once in init and only cancelled afterwards.
final class SignalStopper: @unchecked Sendable {
    private let sources: [any DispatchSourceSignal]

    init(_ stop: @escaping @Sendable () -> Void) {
        sources = [SIGINT, SIGTERM].map { signalNumber in
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler {
                stop()
                exit(128 + signalNumber)
            }
            source.resume()
            return source
        }
    }

    func cancel() { sources.forEach { $0.cancel() } }
}
