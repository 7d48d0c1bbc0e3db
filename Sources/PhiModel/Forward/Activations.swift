/// Hidden states of a run of consecutive tokens: `tokenCount` rows of `width` floats, row-major.
/// This is what passes from stage to stage (and over the wire between workers).
public struct Activations: Sendable, Equatable {
    public private(set) var tokenCount: Int
    public let width: Int
    public var values: [Float]  // [tokenCount × width]

    public init(tokenCount: Int, width: Int, values: [Float]) {
        self.tokenCount = tokenCount
        self.width = width
        self.values = values
    }

    public init(zeros tokenCount: Int, width: Int) {
        self.init(tokenCount: tokenCount, width: width, values: [Float](repeating: 0, count: tokenCount * width))
    }

    /// Row `token` as a new array.
    public func row(_ token: Int) -> [Float] {
        Array(values[(token * width)..<((token + 1) * width)])
    }

    /// The last `count` rows.
    public func suffix(tokens count: Int) -> Activations {
        Activations(tokenCount: count, width: width, values: Array(values[((tokenCount - count) * width)...]))
    }
}
