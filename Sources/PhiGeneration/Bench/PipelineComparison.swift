import Foundation
import Logging

/// One worker on one core against two workers pinned to a core each, all on this machine: prefill
/// throughput of one prompt (its chunks pipelined through the ring), single-stream decode, and the
/// total decode rate of several sessions generating at once through the two workers.
public struct PipelineComparison: Sendable {
    /// The phi-worker binary.
    public var workerExecutable: URL
    public var model: ModelSource
    public var quant: WeightFormat?
    /// The two workers' layers.
    public var split: [Range<Int>]
    /// Prompt, generation, repetitions and chunk size of every measurement.
    public var benchmark: ThroughputBenchmark
    /// Sessions generating at once in the concurrent measurement.
    public var sessions: Int
    /// CPUs of the first and second worker (the single worker takes the first).
    public var cpus: [Int]
    public var logDirectory: URL

    public init(workerExecutable: URL, model: ModelSource, quant: WeightFormat?, split: [Range<Int>],
                benchmark: ThroughputBenchmark, sessions: Int = 4, cpus: [Int] = [0, 1], logDirectory: URL) {
        self.workerExecutable = workerExecutable
        self.model = model
        self.quant = quant
        self.split = split
        self.benchmark = benchmark
        self.sessions = sessions
        self.cpus = cpus
        self.logDirectory = logDirectory
    }

    public struct Setup: Sendable {
        public let workers: [BenchWorkers.Worker]
        public let prefill: ThroughputBenchmark.Phase?
        public let decode: ThroughputBenchmark.Phase?
        /// Decode passes per second of one session and of `sessions` at once.
        public let singleStream: Double
        public let concurrent: Double?
        /// Peak resident bytes of each worker process (VmHWM), in pipeline order.
        public let peakResidentBytes: [Int?]
    }

    public struct Result: Sendable {
        public let oneWorker: Setup
        public let twoWorkers: Setup
        public let sessions: Int

        public var prefillRatio: Double { (twoWorkers.prefill?.rate.mean ?? 0) / max(oneWorker.prefill?.rate.mean ?? 0, .leastNonzeroMagnitude) }
        public var decodeRatio: Double { (twoWorkers.decode?.rate.mean ?? 0) / max(oneWorker.decode?.rate.mean ?? 0, .leastNonzeroMagnitude) }
        public var concurrentRatio: Double { (twoWorkers.concurrent ?? 0) / max(twoWorkers.singleStream, .leastNonzeroMagnitude) }
    }

    public func run(log: (@Sendable (String) -> Void)? = nil) async throws -> Result {
        guard split.count == 2, cpus.count >= 2 else {
            throw BenchmarkError.invalidSplit("the comparison needs two layer ranges and two CPUs")
        }
        try LayerCoverage.check(split, layerCount: model.config.layerCount)
        log?("one worker, layers \(LayerRangeText.format(model.config.allLayers)), CPU \(cpus[0])")
        let one = try await measure(split: [model.config.allLayers], cpus: [[cpus[0]]], concurrent: false, log: log)
        log?("two workers, layers \(split.map(LayerRangeText.format).joined(separator: " and ")), CPUs \(cpus[0]) and \(cpus[1])")
        let two = try await measure(split: split, cpus: [[cpus[0]], [cpus[1]]], concurrent: true, log: log)
        return Result(oneWorker: one, twoWorkers: two, sessions: sessions)
    }

    private func measure(split: [Range<Int>], cpus: [[Int]?], concurrent: Bool,
                         log: (@Sendable (String) -> Void)?) async throws -> Setup {
        let workers = try BenchWorkers(executable: workerExecutable, model: model.path, split: split, quant: quant,
                                       threads: 1, cpus: cpus, logDirectory: logDirectory)
        defer { workers.stop() }
        var logger = Logger(label: "phi-coord-bench")
        logger.logLevel = .warning
        // A worker answers health checks only between frames (its StageService is busy during
        // one), and one prefill chunk on one core can take tens of seconds: the ping may wait
        // that long without the worker being down.
        let options = ClusterOptions(workers: workers.endpoints, contextTokens: benchmark.contextTokens,
                                     maxSessions: max(sessions, 1) + 1, healthTimeout: .seconds(300))
        let pipeline = try await ClusterPipeline.connect(model: model, options: options, logger: logger)
        do {
            let (prefill, decode) = try await benchmark.run(on: pipeline, log: log)
            let single = try await benchmark.concurrentDecode(on: pipeline, sessions: 1)
            log?("1 session: \(RateSummary.format(single)) passes/s")
            var together: Double?
            if concurrent {
                together = try await benchmark.concurrentDecode(on: pipeline, sessions: sessions)
                log?("\(sessions) sessions: \(RateSummary.format(together ?? 0)) passes/s")
            }
            let peaks = workers.workers.map { SystemMemory.peakResidentBytes(pid: $0.processID) }
            await pipeline.close()
            return Setup(workers: workers.workers, prefill: prefill, decode: decode, singleStream: single,
                         concurrent: together, peakResidentBytes: peaks)
        } catch {
            await pipeline.close()
            throw error
        }
    }

    /// The two-worker split that best serves both targets: prefill (whose time goes to the
    /// layers: the head runs for one position per prompt) wants equal layer counts, decode
    /// (which streams the head every token) wants equal bytes. Picks the first layer of the
    /// second worker maximising the smaller of the two ideal speed-ups.
    public static func balancedSplit(config: ModelConfig, format: WeightFormat) -> [Range<Int>] {
        let layers = config.layerCount
        let layerBytes = Double(MemoryPlan.layerBytes(config: config, format: format))
        let headBytes = Double(MemoryPlan.headBytes(config: config, format: format))
        let totalBytes = Double(layers) * layerBytes + headBytes
        var best = (boundary: layers / 2, speedUp: 0.0)
        for boundary in 1..<max(layers, 2) {
            let prefill = Double(layers) / Double(max(boundary, layers - boundary))
            let decode = totalBytes / max(Double(boundary) * layerBytes, Double(layers - boundary) * layerBytes + headBytes)
            if min(prefill, decode) > best.speedUp { best = (boundary, min(prefill, decode)) }
        }
        return [0..<best.boundary, best.boundary..<layers]
    }
}
