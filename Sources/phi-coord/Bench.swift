import ArgumentParser
import Foundation
import PhiGeneration

/// `phi-coord bench`: prefill and decode speed, per-stage time, peak memory and the bandwidth
/// ceiling of decode, in this process or through workers; `--compare-pipeline` adds one worker on
/// one core against two workers on a core each. See docs/PERFORMANCE.md.
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measures prefill and decode speed (as llama-bench's pp and tg), memory and the bandwidth ceiling.")

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "Prompt tokens of the prefill measurement (0 skips it).")
    var prompt: Int = 512

    @Option(help: "Decode passes of the decode measurement (0 skips it).")
    var gen: Int = 128

    @Option(help: "Cached positions before the decode passes (llama-bench's -d).")
    var depth: Int = 0

    @Option(help: "Timed runs of each measurement.")
    var repetitions: Int = 3

    @Flag(name: .customLong("compare-pipeline"),
          help: "Also start local phi-workers: 1 on 1 core, then 2 pinned to a core each (prefill, decode, concurrent sessions).")
    var comparePipeline = false

    @Option(help: "The two workers' layers for --compare-pipeline, e.g. 0-16,17-31 (default: balanced for prefill and decode).")
    var split: String?

    @Option(help: "Sessions generating at once in --compare-pipeline.")
    var sessions: Int = 4

    @Option(help: "Output: text or json.")
    var format: OutputFormat = .text

    func validate() throws {
        guard prompt >= 0, gen >= 0, depth >= 0, repetitions >= 1, sessions >= 1 else {
            throw ValidationError("--prompt, --gen and --depth must be ≥ 0, --repetitions and --sessions ≥ 1")
        }
        if let split, parsedSplit(split) == nil { throw ValidationError("--split must look like 0-16,17-31, not '\(split)'") }
    }

    func run() async throws {
        let source = try modelOptions.openModel()
        let benchmark = ThroughputBenchmark(promptTokens: prompt, generatedTokens: gen, depth: depth, repetitions: repetitions,
                                            chunkTokens: modelOptions.chunkTokens)
        let log: @Sendable (String) -> Void = { FileHandle.standardError.write(Data("bench: \($0)\n".utf8)) }
        let threads = modelOptions.threads ?? ThreadPool.availableCores
        let bandwidth = BandwidthProbe.measure(threads: threads)
        var setup = BenchReport.Setup(model: source.path.lastPathComponent, quant: modelOptions.quant?.rawValue ?? "as stored",
                                      threads: threads, kernels: modelOptions.kernels.rawValue, pipeline: "local")
        let pipeline: any Pipeline
        var weightBytes = 0
        if modelOptions.manifest != nil || modelOptions.workers != nil {
            pipeline = try await modelOptions.pipeline(source, contextTokens: modelOptions.context ?? benchmark.contextTokens)
        } else {
            let stage = try source.loadStage(layers: source.config.allLayers, format: modelOptions.quant,
                                             compute: try Compute(threads: threads, kernels: modelOptions.kernels))
            setup.quant = stage.weightFormat.rawValue
            setup.kernels = stage.compute.kernelName
            setup.pipeline = "local, layers \(LayerRangeText.format(stage.layers))"
            setup.localLayers = stage.layers
            weightBytes = stage.weightBytes
            pipeline = try LocalPipeline(stages: [stage])
        }
        let (prefill, decode) = try await benchmark.run(on: pipeline, log: log)
        var processes = [BenchReport.ProcessMemory(name: "phi-coord", peakBytes: SystemMemory.peakResidentBytes,
                                                   residentBytes: SystemMemory.residentBytes)]
        if let cluster = pipeline as? ClusterPipeline {
            let workers = try await cluster.workerStats(reset: false)
            setup.pipeline = workers.map { "\($0.name) [\(LayerRangeText.format($0.stats.layers))]" }.joined(separator: " → ")
            weightBytes = workers.reduce(0) { $0 + Int($1.stats.weightBytes) }
            processes += workers.map { .init(name: $0.name, peakBytes: nil, residentBytes: Int($0.stats.residentBytes)) }
            await cluster.close()
        }
        var report = BenchReport(setup: setup, benchmark: benchmark, prefill: prefill, decode: decode,
                                 bandwidthBytesPerSecond: bandwidth, weightBytesPerToken: weightBytes, processes: processes)
        if comparePipeline {
            let format = modelOptions.quant ?? .bf16
            let comparison = PipelineComparison(
                workerExecutable: Up.siblingExecutable("phi-worker"), model: source, quant: modelOptions.quant,
                split: split.flatMap(parsedSplit) ?? PipelineComparison.balancedSplit(config: source.config, format: format),
                benchmark: benchmark, sessions: sessions,
                logDirectory: FileManager.default.temporaryDirectory.appendingPathComponent("phi-bench-\(ProcessInfo.processInfo.processIdentifier)"))
            report.comparison = try await comparison.run(log: log)
        }
        switch format {
        case .text: print(report.text)
        case .json: try printJSON(report.jsonObject)
        }
    }

    private func parsedSplit(_ text: String) -> [Range<Int>]? {
        let ranges = text.split(separator: ",").compactMap { LayerRangeText.parse(String($0)) }
        return ranges.count == 2 ? ranges : nil
    }
}
