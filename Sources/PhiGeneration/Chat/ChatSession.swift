import PhiTokenizer

/// One conversation held by the coordinator (`phi-coord chat`): its messages so far, answered
/// turn by turn through the function-calling loop. Each turn's prompt extends the last one, so
/// the session store serves it from the same cached session and only the new tokens run.
public struct ChatSession: Sendable {
    public var loop: FunctionCallingLoop
    public private(set) var messages: [ChatMessage]

    public init(loop: FunctionCallingLoop, systemPrompt: String? = nil) {
        self.loop = loop
        messages = systemPrompt.map { [.system($0)] } ?? []
    }

    /// Adds the user's message and answers it (calling tools as the model asks).
    public mutating func send(_ text: String, onEvent: @escaping @Sendable (FunctionCallingLoop.Event) -> Void) async throws
        -> FunctionCallingLoop.Summary {
        var messages = self.messages + [.user(text)]
        let summary = try await loop.respond(&messages, onEvent: onEvent)
        self.messages = messages
        return summary
    }
}
