import ArgumentParser
import Foundation
import PhiGeneration

/// `phi-coord bench`: prefill and decode speed, per-stage time, peak memory and the bandwidth
/// ceiling of decode, in this process or through workers; `--compare-pipeline` instead starts
/// local workers: one on one core against two on a core each. See docs/PERFORMANCE.md.
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
          help: "Start local phi-workers instead: 1 on 1 core, then 2 pinned to a core each (prefill, decode, concurrent sessions).")
    var comparePipeline = false

    @Option(help: "The two workers' layers for --compare-pipeline, e.g. 0-16,17-31 (default: balanced for prefill and decode).")
    var split: String?

    @Option(help: "Sessions generating at once in --compare-pipeline.")
    var sessions: Int = 4

    @Option(help: "Output: text or json.")
    var format: OutputFormat = .text

    @Option(name: .customLong("json-out"), help: "Also write the JSON report to this file.")
    var jsonOut: String?

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
        let threads = modelOptions.layers.threads ?? ThreadPool.availableCores
        let report: BenchReport
        if comparePipeline {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("phi-bench-\(ProcessInfo.processInfo.processIdentifier)")
            let comparison = PipelineComparison(
                workerExecutable: LaunchedCluster.siblingExecutable("phi-worker"), model: source, quant: modelOptions.layers.quant,
                split: split.flatMap(parsedSplit)
                    ?? PipelineComparison.balancedSplit(config: source.config, format: modelOptions.layers.quant ?? source.loadedWeightFormat),
                benchmark: benchmark, sessions: sessions, logDirectory: directory)
            report = try await BenchReport.measureComparison(comparison, log: log)
        } else if try modelOptions.layers.workers != nil || !(modelOptions.loadManifest()?.workers.isEmpty ?? true) {
            let pipeline = try await modelOptions.pipeline(source, contextTokens: modelOptions.context ?? benchmark.contextTokens)
            guard let cluster = pipeline as? ClusterPipeline else { throw ValidationError("--workers and --manifest make a cluster") }
            do {
                report = try await BenchReport.measureCluster(cluster, model: source, quant: modelOptions.layers.quant, threads: threads,
                                                              benchmark: benchmark, log: log)
            } catch {
                await cluster.close()
                throw error
            }
            await cluster.close()
        } else {
            report = try await BenchReport.measureLocal(model: source, format: modelOptions.layers.quant,
                                                        compute: try Compute(threads: threads, kernels: modelOptions.layers.kernels),
                                                        benchmark: benchmark, log: log)
        }
        switch format {
        case .text: print(report.text)
        case .json: try printJSON(report.jsonObject)
        }
        if let jsonOut {
            let data = try JSONSerialization.data(withJSONObject: report.jsonObject, options: [.sortedKeys, .prettyPrinted])
            try data.write(to: URL(fileURLWithPath: jsonOut))
        }
    }

    private func parsedSplit(_ text: String) -> [Range<Int>]? {
        let ranges = text.split(separator: ",").compactMap { LayerRangeText.parse(String($0)) }
        return ranges.count == 2 ? ranges : nil
    }
}
