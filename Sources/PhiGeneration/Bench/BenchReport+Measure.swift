import Foundation

extension BenchReport {
    /// Loads every layer of `model` in this process (in `format`, on `compute`), runs
    /// `benchmark`, then measures the streaming bandwidth with the same threads. (The probe runs
    /// last, after memory is read: its 1 GiB buffer is not the engine's.)
    public static func measureLocal(model: ModelSource, format: WeightFormat?, compute: Compute, benchmark: ThroughputBenchmark,
                                    log: (@Sendable (String) -> Void)? = nil) async throws -> BenchReport {
        let stage = try model.loadStage(layers: model.config.allLayers, format: format, compute: compute)
        var setup = Setup(model: model.path.lastPathComponent, quant: stage.weightFormat.rawValue, threads: compute.pool.threadCount,
                          kernels: compute.kernelName, pipeline: "local, layers \(LayerRangeText.format(stage.layers))")
        setup.localLayers = stage.layers
        let (prefill, decode) = try await benchmark.run(on: try LocalPipeline(stages: [stage]), log: log)
        let memory = ProcessMemory.coordinator
        return BenchReport(setup: setup, benchmark: benchmark, prefill: prefill, decode: decode,
                           bandwidthBytesPerSecond: BandwidthProbe.measure(threads: compute.pool.threadCount),
                           weightBytesPerToken: stage.weightBytes, processes: [memory])
    }

    /// Runs `benchmark` through an assembled cluster; the workers report their compute times,
    /// weights and resident memory. `threads` is the workers' thread count, for the bandwidth
    /// probe (which runs here, after the workers' counters are read, so it describes the
    /// workers' machine only when they share it).
    public static func measureCluster(_ pipeline: ClusterPipeline, model: ModelSource, quant: WeightFormat?, threads: Int,
                                      benchmark: ThroughputBenchmark, log: (@Sendable (String) -> Void)? = nil) async throws -> BenchReport {
        let (prefill, decode) = try await benchmark.run(on: pipeline, log: log)
        let workers = try await pipeline.workerStats(reset: false)
        let setup = Setup(model: model.path.lastPathComponent, quant: quant?.rawValue ?? "as stored", threads: threads,
                          kernels: "the workers'",
                          pipeline: workers.map { "\($0.name) [\(LayerRangeText.format($0.stats.layers))]" }.joined(separator: " → "))
        let processes = [ProcessMemory.coordinator]
            + workers.map { ProcessMemory(name: $0.name, peakBytes: nil, residentBytes: Int($0.stats.residentBytes)) }
        return BenchReport(setup: setup, benchmark: benchmark, prefill: prefill, decode: decode,
                           bandwidthBytesPerSecond: BandwidthProbe.measure(threads: threads),
                           weightBytesPerToken: workers.reduce(0) { $0 + Int($1.stats.weightBytes) }, processes: processes)
    }

    /// The pipeline comparison alone: local workers pinned to one core each (nothing is loaded
    /// in this process). The bandwidth probe runs with one thread, as each worker has.
    public static func measureComparison(_ comparison: PipelineComparison,
                                         log: (@Sendable (String) -> Void)? = nil) async throws -> BenchReport {
        let result = try await comparison.run(log: log)
        let memory = ProcessMemory.coordinator
        let config = comparison.model.config
        let format = comparison.quant ?? .bf16
        let setup = Setup(model: comparison.model.path.lastPathComponent, quant: format.rawValue, threads: 1, kernels: "the workers'",
                          pipeline: "local phi-workers, 1 thread and 1 core each")
        // What one pass reads over the two workers: every layer and the head.
        let weightBytes = MemoryPlan.layerBytes(config: config, format: format) * config.layerCount
            + MemoryPlan.headBytes(config: config, format: format)
        return BenchReport(setup: setup, benchmark: comparison.benchmark, prefill: nil, decode: nil,
                           bandwidthBytesPerSecond: BandwidthProbe.measure(threads: 1), weightBytesPerToken: weightBytes,
                           processes: [memory], comparison: result)
    }
}

extension BenchReport.ProcessMemory {
    /// This process (phi-coord): peak and current resident memory.
    public static var coordinator: BenchReport.ProcessMemory {
        BenchReport.ProcessMemory(name: "phi-coord", peakBytes: SystemMemory.peakResidentBytes, residentBytes: SystemMemory.residentBytes)
    }
}
