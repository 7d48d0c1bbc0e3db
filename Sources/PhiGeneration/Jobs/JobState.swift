#if canImport(Glibc)
import Glibc
#endif
import Foundation
import PhiCluster

/// Everything a long job needs to continue after a restart, kept in its directory on the
/// coordinator: `prompt.json` (the prompt's ids, written once) and `job.json` (this value, rewritten
/// atomically as the job advances). Each worker keeps its own KV segments; `checkpoint` says which
/// of them make up the cache the job can resume from.
public struct JobState: Codable, Sendable, Equatable {
    public static let currentVersion = 1

    public var version = JobState.currentVersion
    /// The name of the job's KV segments on the workers (`KVSegmentName`'s alphabet, unique per job).
    public var name: String
    /// Hex SHA-256 of the model's configuration: a job resumes only with the same model.
    public var modelConfigSHA256: String
    public var promptTokens: Int
    public var parameters: Parameters
    public var chunkTokens: Int
    /// A checkpoint is written every this many tokens (rounded up to chunk ends).
    public var checkpointTokens: Int
    public var contextTokens: Int
    public var kvFormat: KVFormat
    /// The coordinator's arguments naming the cluster (`--manifest FILE`, `--workers …`), so that
    /// `--resume DIR` alone can continue.
    public var clusterArguments: [String]
    /// Tokens generated so far, and the sampler's generator after the last of them.
    public var generated: [Int] = []
    public var samplerState: String
    /// The KV segments every worker holds, when any.
    public var checkpoint: Checkpoint?
    /// Why the job ended; nil while it runs.
    public var finishReason: String?

    /// The positions `0..<segmentEnds.last` of the session, saved as one segment per interval.
    public struct Checkpoint: Codable, Sendable, Equatable {
        public var segmentEnds: [Int]
        public var ropeFactors: RopeFactorSet
        public var tokens: Int { segmentEnds.last ?? 0 }
    }

    /// `SamplingParameters`, as the job file stores them.
    public struct Parameters: Codable, Sendable, Equatable {
        public var temperature: Float
        public var topK: Int
        public var topP: Float
        public var minP: Float
        public var repetitionPenalty: Float
        public var repetitionWindow: Int
        public var seed: UInt64
        public var maxTokens: Int
        public var stopTokenIds: [Int]
        public var ignoreEOS: Bool

        public init(_ p: SamplingParameters) {
            temperature = p.temperature
            topK = p.topK
            topP = p.topP
            minP = p.minP
            repetitionPenalty = p.repetitionPenalty
            repetitionWindow = p.repetitionWindow
            seed = p.seed
            maxTokens = p.maxTokens
            stopTokenIds = p.stopTokenIds.sorted()
            ignoreEOS = p.ignoreEOS
        }

        public var sampling: SamplingParameters {
            SamplingParameters(temperature: temperature, topK: topK, topP: topP, minP: minP, repetitionPenalty: repetitionPenalty,
                               repetitionWindow: repetitionWindow, seed: seed, maxTokens: maxTokens,
                               stopTokenIds: Set(stopTokenIds), ignoreEOS: ignoreEOS)
        }
    }

    public var isFinished: Bool { finishReason != nil }
}

/// A job's directory: reads and writes its files, naming the file in every error.
public struct JobDirectory: Sendable {
    public let url: URL
    public init(_ url: URL) { self.url = url }

    var stateFile: URL { url.appendingPathComponent("job.json") }
    var promptFile: URL { url.appendingPathComponent("prompt.json") }

    public var exists: Bool { FileManager.default.fileExists(atPath: stateFile.path) }

    /// Creates the directory with the job's prompt and first state; refuses a directory that
    /// already holds a job (resume it instead).
    public func create(state: JobState, prompt: [Int]) throws {
        guard !exists else { throw JobError.alreadyExists(directory: url.path) }
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
            try write(JSONSerialization.data(withJSONObject: prompt), to: promptFile)
        } catch let error as JobError {
            throw error
        } catch {
            throw JobError.unwritable(file: promptFile.path, reason: "\(error)")
        }
        try save(state)
    }

    public func load() throws -> (state: JobState, prompt: [Int]) {
        let state: JobState
        do {
            state = try JSONDecoder().decode(JobState.self, from: try Data(contentsOf: stateFile))
        } catch {
            throw JobError.unreadable(file: stateFile.path, reason: FileManager.default.fileExists(atPath: stateFile.path)
                ? "\(error)" : "no such file (is \(url.path) a job directory?)")
        }
        guard state.version == JobState.currentVersion else {
            throw JobError.unreadable(file: stateFile.path, reason: "version \(state.version), this build reads \(JobState.currentVersion)")
        }
        guard let data = try? Data(contentsOf: promptFile), let prompt = try? JSONSerialization.jsonObject(with: data) as? [Int],
              prompt.count == state.promptTokens else {
            throw JobError.unreadable(file: promptFile.path, reason: "not the job's \(state.promptTokens) prompt ids")
        }
        if let checkpoint = state.checkpoint, checkpoint.tokens > prompt.count + state.generated.count {
            throw JobError.unreadable(file: stateFile.path, reason: "its checkpoint holds \(checkpoint.tokens) positions, more than "
                + "the \(prompt.count + state.generated.count) tokens of its log")
        }
        return (state, prompt)
    }

    /// Rewrites `job.json`: a temporary file, synced, renamed over the old one.
    public func save(_ state: JobState) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        do {
            try write(try encoder.encode(state), to: stateFile)
        } catch let error as JobError {
            throw error
        } catch {
            throw JobError.unwritable(file: stateFile.path, reason: "\(error)")
        }
    }

    private func write(_ data: Data, to file: URL) throws {
        let temporary = file.appendingPathExtension("partial")
        do {
            try data.write(to: temporary)
            let handle = try FileHandle(forWritingTo: temporary)
            try handle.synchronize()
            try handle.close()
            guard rename(temporary.path, file.path) == 0 else {
                throw JobError.unwritable(file: file.path, reason: "cannot rename \(temporary.lastPathComponent) over it: "
                    + String(cString: strerror(errno)))
            }
        } catch let error as JobError {
            throw error
        } catch {
            throw JobError.unwritable(file: file.path, reason: "\(error)")
        }
    }
}

public enum JobError: Error, Equatable, CustomStringConvertible {
    case alreadyExists(directory: String)
    case unreadable(file: String, reason: String)
    case unwritable(file: String, reason: String)
    case otherModel(file: String)
    case needsCheckpointingPipeline
    case finished(directory: String, reason: String)
    case otherKVFormat(file: String, job: KVFormat, given: KVFormat)

    public var description: String {
        switch self {
        case let .alreadyExists(directory): "\(directory) already holds a job: resume it with --resume \(directory), or choose another directory"
        case let .unreadable(file, reason): "cannot read the job file \(file): \(reason)"
        case let .unwritable(file, reason): "cannot write the job file \(file): \(reason)"
        case let .otherModel(file): "the job in \(file) was started with another model"
        case .needsCheckpointingPipeline: "resumable jobs run on a cluster of workers (--manifest or --workers), which keep the checkpoints"
        case let .finished(directory, reason): "the job in \(directory) has finished (\(reason)); nothing to resume"
        case let .otherKVFormat(file, job, given):
            "the job in \(file) keeps its KV cache in \(job.rawValue), not \(given.rawValue): resume it with --kv \(job.rawValue)"
        }
    }
}
