import Foundation
import PhiGeneration
import PhiTokenizer

/// The JSON bodies and stream chunks of OpenAI's API, built as order-preserving `JSONValue`s.
struct OpenAIResponses {
    enum Kind { case chat, text }

    let kind: Kind
    let id: String
    let created: Int
    let model: String
    let includeUsage: Bool
    /// `return_progress` (as llama.cpp's server names it): a streamed request's prefill progress
    /// as chunks with no choices and a `prompt_progress` object, instead of SSE comments only.
    var returnsProgress = false

    init(kind: Kind, model: String, includeUsage: Bool) {
        self.kind = kind
        id = (kind == .chat ? "chatcmpl-" : "cmpl-") + Self.randomID(24)
        created = Int(Date().timeIntervalSince1970)
        self.model = model
        self.includeUsage = includeUsage
    }

    static func randomID(_ length: Int) -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        return String((0..<length).map { _ in alphabet.randomElement() ?? "x" })
    }

    static func usage(_ summary: GenerationSummary) -> JSONValue {
        .object(JSONObject([
            ("prompt_tokens", .integer(summary.promptTokens)),
            ("completion_tokens", .integer(summary.completionTokens)),
            ("total_tokens", .integer(summary.promptTokens + summary.completionTokens)),
            ("prompt_tokens_details", ["cached_tokens": .integer(summary.cachedPromptTokens)]),
        ]))
    }

    private func envelope(object: String, choices: [JSONValue], usage: JSONValue?) -> JSONValue {
        var members: [(String, JSONValue)] = [
            ("id", .string(id)), ("object", .string(object)), ("created", .integer(created)), ("model", .string(model)),
            ("system_fingerprint", .null), ("choices", .array(choices)),
        ]
        if let usage { members.append(("usage", usage)) }
        return .object(JSONObject(members))
    }

    /// Tool calls as OpenAI writes them, each with a fresh `call_…` id.
    static func toolCallsJSON(_ calls: [ToolCall], ids: [String]) -> JSONValue {
        .array(zip(calls, ids).map { call, id in
            .object(JSONObject([
                ("id", .string(id)), ("type", "function"),
                ("function", .object(JSONObject([("name", .string(call.name)), ("arguments", .string(call.argumentsJSON))]))),
            ]))
        })
    }

    /// The whole response of a request that did not stream.
    func complete(text: String, calls: [ToolCall], callIDs: [String], summary: GenerationSummary) -> JSONValue {
        switch kind {
        case .chat:
            var message: [(String, JSONValue)] = [("role", "assistant"),
                                                  ("content", calls.isEmpty || !text.isEmpty ? .string(text) : .null)]
            if !calls.isEmpty { message.append(("tool_calls", Self.toolCallsJSON(calls, ids: callIDs))) }
            message.append(("refusal", .null))
            let choice = JSONValue.object(JSONObject([
                ("index", 0), ("message", .object(JSONObject(message))), ("logprobs", .null),
                ("finish_reason", .string(summary.finishReason)),
            ]))
            return envelope(object: "chat.completion", choices: [choice], usage: Self.usage(summary))
        case .text:
            let choice = JSONValue.object(JSONObject([
                ("text", .string(text)), ("index", 0), ("logprobs", .null), ("finish_reason", .string(summary.finishReason)),
            ]))
            return envelope(object: "text_completion", choices: [choice], usage: Self.usage(summary))
        }
    }

    /// One streamed chunk: a chat `delta` (or a completion's text) and, at the end, the finish reason.
    func chunk(delta: JSONValue, text: String = "", finishReason: String? = nil) -> JSONValue {
        let choice: JSONValue
        switch kind {
        case .chat:
            choice = .object(JSONObject([("index", 0), ("delta", delta), ("logprobs", .null),
                                         ("finish_reason", finishReason.map(JSONValue.string) ?? .null)]))
        case .text:
            choice = .object(JSONObject([("text", .string(text)), ("index", 0), ("logprobs", .null),
                                         ("finish_reason", finishReason.map(JSONValue.string) ?? .null)]))
        }
        return envelope(object: kind == .chat ? "chat.completion.chunk" : "text_completion", choices: [choice],
                        usage: includeUsage ? .null : nil)
    }

    /// The last chunk of a stream with `include_usage`: no choices, the usage.
    func usageChunk(_ summary: GenerationSummary) -> JSONValue {
        envelope(object: kind == .chat ? "chat.completion.chunk" : "text_completion", choices: [], usage: Self.usage(summary))
    }

    /// A chunk with no choices reporting a long prompt's prefill: tokens done of the total, the
    /// rate so far and the estimated time left (`return_progress`).
    func progressChunk(_ progress: PrefillProgress) -> JSONValue {
        var fields: [(String, JSONValue)] = [("done", .integer(progress.doneTokens)), ("total", .integer(progress.totalTokens)),
                                             ("elapsed_seconds", .double(PrefillProgress.seconds(progress.elapsed)))]
        if let rate = progress.tokensPerSecond { fields.append(("tokens_per_second", .double((rate * 10).rounded() / 10))) }
        if let eta = progress.estimatedRemaining { fields.append(("eta_seconds", .double(PrefillProgress.seconds(eta)))) }
        guard case var .object(chunk) = envelope(object: kind == .chat ? "chat.completion.chunk" : "text_completion",
                                                 choices: [], usage: nil) else { return .null }
        chunk["prompt_progress"] = .object(JSONObject(fields))
        return .object(chunk)
    }

    /// The SSE comment every stream carries for a long prompt's progress: invisible to clients'
    /// parsers, readable with curl.
    static func progressComment(_ progress: PrefillProgress) -> String {
        var text = ": prefill \(progress.doneTokens)/\(progress.totalTokens) tokens"
        if let rate = progress.tokensPerSecond { text += String(format: ", %.1f tokens/s", rate) }
        if let eta = progress.estimatedRemaining { text += String(format: ", %.1f s left", PrefillProgress.seconds(eta)) }
        return text + "\n\n"
    }

    /// The chunks announcing calls: name and id first, then the arguments.
    func toolCallChunks(_ calls: [ToolCall], ids: [String], firstIndex: Int) -> [JSONValue] {
        var chunks: [JSONValue] = []
        for (offset, (call, id)) in zip(calls, ids).enumerated() {
            let index = JSONValue.integer(firstIndex + offset)
            chunks.append(chunk(delta: ["tool_calls": [.object(JSONObject([
                ("index", index), ("id", .string(id)), ("type", "function"),
                ("function", .object(JSONObject([("name", .string(call.name)), ("arguments", "")]))),
            ]))]]))
            chunks.append(chunk(delta: ["tool_calls": [.object(JSONObject([
                ("index", index), ("function", ["arguments": .string(call.argumentsJSON)]),
            ]))]]))
        }
        return chunks
    }
}
