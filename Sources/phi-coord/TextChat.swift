import Foundation
import PhiGeneration
import PhiTokenizer

/// A conversation on the terminal: renders the turns with the model's chat template, streams the
/// answer as text, and keeps the history (the session's cache holds it, so each turn computes only
/// its new tokens).
struct TextChat {
    let tokenizer: Tokenizer
    let template: ChatTemplate
    let generator: Generator
    let parameters: SamplingParameters
    let session = SessionID(1)
    var messages: [ChatMessage] = []

    init(tokenizer: Tokenizer, generator: Generator, contextTokens: Int, parameters: SamplingParameters) throws {
        self.tokenizer = tokenizer
        template = try ModelTokenizer.chatTemplate(of: tokenizer)
        self.generator = generator
        var parameters = parameters
        if let eos = tokenizer.eosTokenID { parameters.stopTokenIds.insert(eos) }
        if let end = tokenizer.id(of: "<|end|>") { parameters.stopTokenIds.insert(end) }
        if let end = tokenizer.id(of: "<|im_end|>") { parameters.stopTokenIds.insert(end) }
        self.parameters = parameters
        self.contextTokens = contextTokens
    }

    let contextTokens: Int
    private var isOpen = false

    mutating func answer(_ text: String) async throws {
        if !isOpen {
            try await generator.pipeline.openSession(session, contextTokens: contextTokens)
            isOpen = true
        }
        messages.append(.user(text))
        let prompt = tokenizer.encode(try template.render(messages, addGenerationPrompt: true))
        var detokenizer = StreamingDetokenizer(tokenizer: tokenizer, skipSpecialTokens: true)
        var reply = ""
        let output = FileHandle.standardOutput
        let progress = ProgressReporter(label: "prompt")
        defer { progress.finish() }
        let result = try await generator.generate(session: session, prompt: prompt, parameters: parameters,
                                                  progress: progress.meter(promptTokens: prompt.count,
                                                                           chunkTokens: generator.chunkTokens)?.callback,
                                                  onToken: { token in
            let piece = (try? detokenizer.feed(token)) ?? ""
            reply += piece
            output.write(Data(piece.utf8))
            return true
        })
        let rest = detokenizer.finish()
        reply += rest
        output.write(Data((rest + "\n").utf8))
        if result.finishReason == .length { FileHandle.standardError.write(Data("[stopped at \(result.tokens.count) tokens]\n".utf8)) }
        messages.append(.assistant(reply))
    }
}
