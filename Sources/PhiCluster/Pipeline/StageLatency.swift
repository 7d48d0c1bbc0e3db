import PhiModel

/// Time one stage has spent on passes, for `/metrics`.
public struct StageLatency: Sendable, Equatable {
    public let name: String
    public let layers: Range<Int>
    public let passes: Int
    public let total: Duration

    public init(name: String, layers: Range<Int>, passes: Int, total: Duration) {
        self.name = name
        self.layers = layers
        self.passes = passes
        self.total = total
    }
}

/// A pipeline that measures its stages (a cluster pipeline timing each worker); the server
/// reports these per stage when the pipeline offers them.
public protocol StageLatencyReporting: Pipeline {
    func stageLatencies() async -> [StageLatency]
}
