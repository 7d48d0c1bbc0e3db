import ArgumentParser
import Foundation
import PhiGeneration
import PhiTokenizer
import Synchronization

/// A long prompt as a resumable job on a cluster (`phi-coord run --job-dir DIR …`, `run --resume
/// DIR`): the token log and the sampler's position in DIR, each worker's KV slice in its
/// `--state-dir`, checkpointed at chunk boundaries; a resumed job continues from its last
/// checkpoint and its output equals an uninterrupted run's.
struct LongJobCommand {
    /// A new job's directory, or nil when resuming.
    var jobDirectory: URL?
    /// The job to resume, or nil for a new one.
    var resumeDirectory: URL?
    /// A new job's prompt.
    var promptIDs: [Int]?
    var checkpointEvery: Int
    /// The cluster flags given on this command line, as arguments of `ModelOptions` (remembered
    /// by the job; on resume, flags given again replace them).
    var clusterArguments: [(String, String)]
    /// Where to find a tokenizer for printing text (the model's own, a manifest's, or none: ids).
    var tokenizerDirectory: URL?
    var sampling: SamplingOptions
    var format: OutputFormat

    func run() async throws {
        let directory = JobDirectory(resumeDirectory ?? jobDirectory ?? URL(fileURLWithPath: "."))
        var arguments = clusterArguments
        if resumeDirectory != nil {
            let stored = try directory.load().state.clusterArguments
            let given = Set(arguments.map(\.0))
            arguments = stride(from: 0, to: stored.count - 1, by: 2).map { (stored[$0], stored[$0 + 1]) }
                .filter { !given.contains($0.0) } + arguments
        }
        let modelOptions = try ModelOptions.parse(arguments.flatMap { [$0.0, $0.1] })
        guard modelOptions.manifest != nil || modelOptions.layers.workers != nil else { throw JobError.needsCheckpointingPipeline }
        let source = try modelOptions.openModel()
        let configDigest = try source.fingerprint(layers: nil).configSHA256.map { String(format: "%02x", $0) }.joined()
        if let promptIDs, jobDirectory != nil {
            let parameters = try sampling.parameters(config: source.config)
            try LongJob.create(in: directory, prompt: promptIDs, parameters: parameters, modelConfigSHA256: configDigest,
                               chunkTokens: modelOptions.chunkTokens, checkpointTokens: checkpointEvery,
                               contextTokens: modelOptions.contextBudget(needed: promptIDs.count + parameters.maxTokens,
                                                                         config: source.config),
                               kvFormat: modelOptions.kvFormat, clusterArguments: arguments.flatMap { [$0.0, $0.1] })
        }
        let state = try directory.load().state
        guard state.kvFormat == modelOptions.kvFormat else {
            throw JobError.otherKVFormat(file: directory.url.path, job: state.kvFormat, given: modelOptions.kvFormat)
        }
        guard let pipeline = try await modelOptions.pipeline(source, contextTokens: state.contextTokens) as? any CheckpointingPipeline else {
            throw JobError.needsCheckpointingPipeline
        }
        let manifestTokenizer = (try? modelOptions.loadManifest())??.tokenizerPath
        let tokenizer = try? ModelTokenizer.load(for: source, directory: tokenizerDirectory ?? manifestTokenizer)
        let output = JobOutput(tokenizer: tokenizer, printsText: format == .text)
        let reporter = ProgressReporter()
        defer { reporter.finish() }
        let outcome = try await LongJob(pipeline: pipeline, directory: directory).run(modelConfigSHA256: configDigest) { event in
            switch event {
            case let .resumed(tokens): reporter.note("resumed from the checkpoint of \(tokens) tokens")
            case let .prefill(progress): if progress.totalTokens > state.chunkTokens { reporter.show(progress) }
            case let .checkpoint(tokens): reporter.note("checkpoint: every worker saved positions up to \(tokens)")
            case let .token(token): output.show(token)
            }
        }
        let text = output.finish()
        switch format {
        case .json:
            var object: [String: Any] = [
                "tokens": outcome.tokens, "finish_reason": outcome.finishReason.rawValue, "resumed_tokens": outcome.resumedTokens,
                "computed_tokens": outcome.computedTokens, "prefill_seconds": outcome.prefillDuration.seconds,
                "job_dir": directory.url.path,
            ]
            if let text { object["text"] = text }
            try printJSON(object)
        case .text:
            print("\n[\(outcome.tokens.count) tokens, \(outcome.finishReason.rawValue); resumed \(outcome.resumedTokens), "
                + "computed \(outcome.computedTokens) tokens]")
        }
    }
}

/// A job's generated tokens as they come: text through the model's tokenizer when it has one
/// (ids otherwise), printed unless the output is JSON.
final class JobOutput: Sendable {
    private struct State {
        var detokenizer: StreamingDetokenizer?
        var text = ""
    }

    private let state: Mutex<State>
    private let printsText: Bool

    init(tokenizer: Tokenizer?, printsText: Bool) {
        state = Mutex(State(detokenizer: tokenizer.map { StreamingDetokenizer(tokenizer: $0, skipSpecialTokens: true) }))
        self.printsText = printsText
    }

    func show(_ token: Int) {
        let piece = state.withLock { state -> String in
            guard state.detokenizer != nil else { return "\(token) " }
            let piece = (try? state.detokenizer?.feed(token)) ?? ""
            state.text += piece
            return piece
        }
        if printsText {
            print(piece, terminator: "")
            fflush(nil)
        }
    }

    /// The whole text (nil without a tokenizer), after printing what the detokenizer held back.
    func finish() -> String? {
        let (rest, text) = state.withLock { state -> (String, String?) in
            guard let rest = state.detokenizer?.finish() else { return ("", nil) }
            state.text += rest
            return (rest, state.text)
        }
        if printsText { print(rest, terminator: "") }
        return text
    }
}

extension CoordinatorOptions {
    /// The cluster flags of this command line as a job remembers them (paths made absolute, so a
    /// job resumes from any directory).
    var jobClusterArguments: [(String, String)] {
        let absolute = { (path: String?) in path.map { URL(fileURLWithPath: $0).standardizedFileURL.path } }
        return [("--model", absolute(model)), ("--manifest", absolute(manifest)), ("--workers", layers.workers),
                ("--secret-file", absolute(layers.secretFile)), ("--wire-dtype", layers.wireDType?.rawValue),
                ("--context", context.map(String.init)), ("--chunk", layers.chunk.map(String.init)),
                ("--kv", layers.kv?.rawValue)]
            .compactMap { flag, value in value.map { (flag, $0) } }
    }
}
