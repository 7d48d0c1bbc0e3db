// What the last stage returns, from proto/phi/wire/v1/frames.proto.

/// Last stage -> coordinator: the result of one activation frame, sent as a request answered by `Ack`.
public struct LogitsFrame: Sendable, Equatable {
    public var sessionID: UInt64
    public var sequence: UInt64
    public var firstPosition: Int
    public var tokenCount: Int
    /// The activation frame's request; decides how many rows of logits are carried.
    public var output: OutputRequest
    /// Zero when no logits are carried.
    public var vocabSize: Int
    /// `output.logitsRows(tokenCount:) × vocabSize` floats, row-major.
    public var logits: [Float]
    /// The best token of every position, for `.argmaxAndLastLogits` and `.allLogits`.
    public var argmax: [Int]

    public init(sessionID: UInt64, sequence: UInt64, firstPosition: Int, tokenCount: Int,
                output: OutputRequest, vocabSize: Int, logits: [Float], argmax: [Int]) {
        self.sessionID = sessionID
        self.sequence = sequence
        self.firstPosition = firstPosition
        self.tokenCount = tokenCount
        self.output = output
        self.vocabSize = vocabSize
        self.logits = logits
        self.argmax = argmax
    }

    /// Rows of logits carried.
    public var logitsRows: Int { output.logitsRows(tokenCount: tokenCount) }

    /// Logits of the frame's last position, when carried.
    public var lastLogits: ArraySlice<Float>? {
        guard logitsRows > 0, vocabSize > 0, logits.count >= vocabSize else { return nil }
        return logits[(logits.count - vocabSize)...]
    }
}
