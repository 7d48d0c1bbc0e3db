import PhiModel

/// A pipeline whose stages can write a session's KV caches to their own disks at chunk
/// boundaries and read them back after a restart, so a long job resumes instead of starting over.
public protocol CheckpointingPipeline: Pipeline {
    /// Writes positions `positions` of `session`'s caches on every stage as segments of `job`
    /// (a name of `KVSegmentName`'s alphabet). The pipeline must hold them: call it after the
    /// pass that computed them has returned. Returns what each stage wrote, in pipeline order.
    func saveCheckpoint(session: SessionID, job: String, positions: Range<Int>) async throws -> [KVSaved]

    /// Makes `session` (opened by the caller) hold `tokens`, restoring every stage's cache from
    /// the segments of `job` ending at `segmentEnds` (the last equal to `tokens.count`), whose
    /// keys were rotated with `ropeFactors`. A stage with a missing or bad segment throws, naming it.
    func restoreCheckpoint(session: SessionID, job: String, tokens: [Int], segmentEnds: [Int],
                           ropeFactors: RopeFactorSet) async throws
}

public enum CheckpointError: Error, Equatable, CustomStringConvertible {
    case segmentsDoNotMatchTokens(segmentEnd: Int, tokens: Int)
    case stageRefused(stage: String, reason: String)
    case restoredTokens(stage: String, holds: Int, expected: Int)

    public var description: String {
        switch self {
        case let .segmentsDoNotMatchTokens(end, tokens):
            "the checkpoint's segments end at position \(end), but its token log holds \(tokens) tokens"
        case let .stageRefused(stage, reason): "worker '\(stage)' could not use the checkpoint: \(reason)"
        case let .restoredTokens(stage, holds, expected):
            "worker '\(stage)' restored \(holds) positions from the checkpoint, expected \(expected)"
        }
    }
}
