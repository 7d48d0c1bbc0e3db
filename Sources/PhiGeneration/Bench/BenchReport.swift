import Foundation

/// Everything `phi-coord bench` measured, as a text table or a JSON object.
public struct BenchReport: Sendable {
    /// What ran: model, weight format, threads, kernels, and where the layers were.
    public struct Setup: Sendable {
        public var model: String
        public var quant: String
        public var threads: Int
        public var kernels: String
        /// "local, layers 0-31" or the workers in pipeline order.
        public var pipeline: String
        /// The layers of an in-process pipeline (its one stage), for the per-stage lines.
        public var localLayers: Range<Int>?

        public init(model: String, quant: String, threads: Int, kernels: String, pipeline: String) {
            self.model = model
            self.quant = quant
            self.threads = threads
            self.kernels = kernels
            self.pipeline = pipeline
        }
    }

    /// A process's peak resident memory (VmHWM) where it can be read, else its resident memory now.
    public struct ProcessMemory: Sendable {
        public var name: String
        public var peakBytes: Int?
        public var residentBytes: Int?

        public init(name: String, peakBytes: Int?, residentBytes: Int?) {
            self.name = name
            self.peakBytes = peakBytes
            self.residentBytes = residentBytes
        }
    }

    public var setup: Setup
    public var benchmark: ThroughputBenchmark
    public var prefill: ThroughputBenchmark.Phase?
    public var decode: ThroughputBenchmark.Phase?
    /// Streaming read bandwidth with the compute threads, bytes per second.
    public var bandwidthBytesPerSecond: Double?
    /// Bytes of weights one decode pass reads: every layer's matrices and the output head.
    public var weightBytesPerToken: Int
    public var processes: [ProcessMemory]
    public var comparison: PipelineComparison.Result?
    public var machine: String
    public var date: Date

    public init(setup: Setup, benchmark: ThroughputBenchmark, prefill: ThroughputBenchmark.Phase?, decode: ThroughputBenchmark.Phase?,
                bandwidthBytesPerSecond: Double?, weightBytesPerToken: Int, processes: [ProcessMemory],
                comparison: PipelineComparison.Result? = nil, machine: String = MachineInfo.cpuModel, date: Date = Date()) {
        self.setup = setup
        self.benchmark = benchmark
        self.prefill = prefill
        self.decode = decode
        self.bandwidthBytesPerSecond = bandwidthBytesPerSecond
        self.weightBytesPerToken = weightBytesPerToken
        self.processes = processes
        self.comparison = comparison
        self.machine = machine
        self.date = date
    }

    /// Decode passes per second the bandwidth allows when every pass streams the weights once.
    public var decodeCeiling: Double? {
        bandwidthBytesPerSecond.map { $0 / Double(max(weightBytesPerToken, 1)) }
    }

    /// The measured decode rate as a share of the ceiling.
    public var ceilingShare: Double? {
        guard let decode, let ceiling = decodeCeiling, ceiling > 0 else { return nil }
        return decode.rate.mean / ceiling
    }

    /// Milliseconds per token of each stage over a phase: each worker's compute time per token
    /// it ran, or in-process the wall time per token of the whole pass.
    public func stageMilliseconds(_ phase: ThroughputBenchmark.Phase) -> [(name: String, layers: String, milliseconds: Double)] {
        guard let workers = phase.workers else {
            let layers = setup.localLayers.map(LayerRangeText.format) ?? "all"
            return [("local", layers, 1000 / max(phase.rate.mean, .leastNonzeroMagnitude))]
        }
        return workers.map { worker in
            let tokens = max(Double(worker.stats.tokens), 1)
            return (worker.name, LayerRangeText.format(worker.stats.layers), worker.stats.computeTime.seconds * 1000 / tokens)
        }
    }

    public var text: String {
        var lines = ["phi-coord bench: \(setup.model), \(setup.quant), \(setup.threads) thread(s), \(setup.kernels) kernels, \(setup.pipeline)"]
        lines.append("machine: \(machine), \(ISO8601DateFormatter().string(from: date))")
        if let prefill {
            lines.append("prefill pp\(benchmark.promptTokens): \(prefill.rate.text) tokens/s (\(benchmark.repetitions) runs, chunks of \(benchmark.chunkTokens))")
            lines += stageMilliseconds(prefill).map { "  \($0.name) [\($0.layers)]: \(RateSummary.format($0.milliseconds)) ms/token" }
        }
        if let decode {
            lines.append("decode tg\(benchmark.generatedTokens) at depth \(benchmark.depth): \(decode.rate.text) tokens/s (\(benchmark.repetitions) runs)")
            lines += stageMilliseconds(decode).map { "  \($0.name) [\($0.layers)]: \(RateSummary.format($0.milliseconds)) ms/token" }
        }
        if let bandwidth = bandwidthBytesPerSecond, let ceiling = decodeCeiling {
            var line = "bandwidth: \(RateSummary.format(bandwidth / 1e9)) GB/s streaming read; \(ByteCount.format(weightBytesPerToken)) of weights "
                + "per token → decode ceiling \(RateSummary.format(ceiling)) tokens/s"
            if let share = ceilingShare { line += ", reached \(Int((share * 100).rounded()))%" }
            lines.append(line)
        }
        for process in processes {
            let peak = process.peakBytes.map { "peak RSS \(ByteCount.format($0))" } ?? "RSS now \(ByteCount.format(process.residentBytes ?? 0))"
            lines.append("memory: \(process.name) \(peak)")
        }
        if let comparison { lines += comparisonLines(comparison) }
        return lines.joined(separator: "\n")
    }

    private func comparisonLines(_ result: PipelineComparison.Result) -> [String] {
        let one = result.oneWorker, two = result.twoWorkers
        func rate(_ phase: ThroughputBenchmark.Phase?) -> String { phase.map(\.rate.text) ?? "-" }
        var lines = ["pipeline: 1 worker on 1 core vs 2 workers on 1 core each (\(two.workers.map { "\($0.name) [\(LayerRangeText.format($0.layers))]" }.joined(separator: ", ")))"]
        lines.append("  prefill: \(rate(one.prefill)) → \(rate(two.prefill)) tokens/s, ratio \(RateSummary.format(result.prefillRatio))")
        lines.append("  decode, one stream: \(rate(one.decode)) → \(rate(two.decode)) tokens/s, ratio \(RateSummary.format(result.decodeRatio))")
        lines.append("  \(result.sessions) sessions at once through 2 workers: \(RateSummary.format(two.concurrent ?? 0)) tokens/s in all, "
            + "\(RateSummary.format(result.concurrentRatio))× one session's \(RateSummary.format(two.singleStream))")
        for (worker, peak) in zip(one.workers + two.workers, one.peakResidentBytes + two.peakResidentBytes) {
            lines.append("  memory: \(worker.name) [\(LayerRangeText.format(worker.layers))] peak RSS \(peak.map(ByteCount.format) ?? "unknown")")
        }
        return lines
    }

    public var jsonObject: [String: Any] {
        var object: [String: Any] = [
            "model": setup.model, "quant": setup.quant, "threads": setup.threads, "kernels": setup.kernels,
            "pipeline": setup.pipeline, "machine": machine, "date": ISO8601DateFormatter().string(from: date),
            "prompt_tokens": benchmark.promptTokens, "generated_tokens": benchmark.generatedTokens, "depth": benchmark.depth,
            "repetitions": benchmark.repetitions, "chunk_tokens": benchmark.chunkTokens,
            "weight_bytes_per_token": weightBytesPerToken,
            "processes": processes.map { ["name": $0.name, "peak_rss_bytes": $0.peakBytes as Any, "rss_bytes": $0.residentBytes as Any] },
        ]
        func phase(_ phase: ThroughputBenchmark.Phase) -> [String: Any] {
            var fields: [String: Any] = [
                "tokens_per_second": phase.rate.jsonObject,
                "stages": stageMilliseconds(phase).map { ["name": $0.name, "layers": $0.layers, "ms_per_token": $0.milliseconds] },
            ]
            if let workers = phase.workers {
                fields["worker_counters"] = workers.map {
                    ["name": $0.name, "frames": $0.stats.frames, "tokens": $0.stats.tokens, "compute_seconds": $0.stats.computeTime.seconds,
                     "queue_wait_seconds": $0.stats.queueWaitTime.seconds, "send_seconds": $0.stats.sendTime.seconds,
                     "max_queue_depth": $0.stats.maxQueueDepth]
                }
            }
            return fields
        }
        if let prefill { object["prefill"] = phase(prefill) }
        if let decode { object["decode"] = phase(decode) }
        if let bandwidth = bandwidthBytesPerSecond { object["bandwidth_bytes_per_second"] = bandwidth }
        if let ceiling = decodeCeiling { object["decode_ceiling_tokens_per_second"] = ceiling }
        if let share = ceilingShare { object["decode_ceiling_share"] = share }
        if let comparison {
            func setup(_ setup: PipelineComparison.Setup) -> [String: Any] {
                var fields: [String: Any] = [
                    "workers": zip(setup.workers, setup.peakResidentBytes).map {
                        ["name": $0.name, "layers": LayerRangeText.format($0.layers), "cpus": $0.cpus ?? [], "peak_rss_bytes": $1 as Any]
                    },
                    "single_stream_passes_per_second": setup.singleStream,
                ]
                if let prefill = setup.prefill { fields["prefill"] = phase(prefill) }
                if let decode = setup.decode { fields["decode"] = phase(decode) }
                if let concurrent = setup.concurrent { fields["concurrent_passes_per_second"] = concurrent }
                return fields
            }
            object["pipeline_comparison"] = [
                "one_worker": setup(comparison.oneWorker), "two_workers": setup(comparison.twoWorkers),
                "sessions": comparison.sessions, "prefill_ratio": comparison.prefillRatio,
                "decode_ratio": comparison.decodeRatio, "concurrent_ratio": comparison.concurrentRatio,
            ]
        }
        return object
    }
}

/// The machine's processor as /proc/cpuinfo names it.
public enum MachineInfo {
    public static var cpuModel: String {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return "unknown CPU" }
        let model = text.split(separator: "\n").first { $0.hasPrefix("model name") }?
            .split(separator: ":", maxSplits: 1).last?.trimmingCharacters(in: .whitespaces)
        return "\(model ?? "unknown CPU"), \(ProcessInfo.processInfo.activeProcessorCount) cores"
    }
}
