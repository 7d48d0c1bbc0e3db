@testable import PhiCluster

/// One message of every kind, with every field set to a value that differs from its default, so
/// that a field dropped or swapped by the codec shows up as a difference.
enum WireSamples {
    static let model = ModelFingerprint(
        modelName: "tiny-phi4", configSHA256: Array(repeating: 0xab, count: 32), sliceSHA256: Array(repeating: 0xcd, count: 32),
        layerCount: 32, hiddenSize: 64, vocabSize: 200_064)

    static let capabilities = Capabilities(
        wireDTypes: [.f32, .f16, .bf16], weightFormat: .q8_0, kvFormats: [.f32, .f16], maxTokensPerFrame: 512,
        maxContextTokens: 4096, maxSessions: 8, maxMessageBytes: 64 << 20, threads: 4)

    static let load = LoadInfo(state: .ready, layers: 8 ..< 20, weightFormat: .bf16, weightBytes: 1_234_567_890,
                               kvBytesPerToken: 98_304, freeMemoryBytes: 3 << 30, totalMemoryBytes: 8 << 30)

    static func nonce(_ seed: UInt8) -> [UInt8] { (0 ..< 32).map { UInt8(truncatingIfNeeded: Int($0) * 7 + Int(seed)) } }

    /// Hidden states of `tokens` × `hiddenSize` with distinct, non-trivial values.
    static func hiddenValues(tokens: Int, hiddenSize: Int) -> [Float] {
        (0 ..< tokens * hiddenSize).map { index in Float(index % 97) * 0.037 - 1.5 + Float(index) * 1e-4 }
    }

    static var all: [WireMessage] {
        var messages: [WireMessage] = [
            .hello(Hello(softwareVersion: "0.1.0", nodeName: "coordinator", clientNonce: nonce(1), authMode: .hmacSHA256,
                         secretID: [1, 2, 3, 4, 5, 6, 7, 8], model: model.withoutSlice)),
            .helloReply(HelloReply(softwareVersion: "0.1.0", nodeName: "w1", serverNonce: nonce(2), authMode: .hmacSHA256,
                                   secretID: [8, 7, 6, 5, 4, 3, 2, 1], serverProof: nonce(3), model: model, layers: 8 ..< 20,
                                   capabilities: capabilities, load: load)),
            .authenticate(Authenticate(clientNonce: nonce(1), serverNonce: nonce(2), clientProof: nonce(4), runNonce: nonce(5))),
            .configure(Configure(nextHop: "tcp://10.0.0.13:5555", coordinator: "tcp://10.0.0.10:5550", wireDType: .bf16,
                                 sessionContextTokens: 4096, maxSessions: 4, layers: 8 ..< 20)),
            .activation(ActivationFrame(sessionID: 7, sequence: 42, firstPosition: 100, layerBegin: 0, ropeFactors: .long,
                                        output: .argmaxAndLastLogits, input: .tokens([200_019, 0, 17, 2_000_000_000]))),
            .logits(LogitsFrame(sessionID: 7, sequence: 42, firstPosition: 100, tokenCount: 3, output: .argmaxAndLastLogits,
                                vocabSize: 5, logits: [0.5, -1.25, 3e-7, 1e9, -0.0], argmax: [3, 0, 4])),
            .logits(LogitsFrame(sessionID: 8, sequence: 1, firstPosition: 0, tokenCount: 2, output: .allLogits,
                                vocabSize: 3, logits: [1, 2, 3, 4, 5, 6], argmax: [2, 2])),
            .logits(LogitsFrame(sessionID: 9, sequence: 2, firstPosition: 5, tokenCount: 4, output: .none,
                                vocabSize: 0, logits: [], argmax: [])),
            .logits(LogitsFrame(sessionID: 10, sequence: 3, firstPosition: 9, tokenCount: 1, output: .lastArgmax,
                                vocabSize: 200_064, logits: [], argmax: [200_019])),
            .ack(Ack(sessionID: 7, sequence: 42, queueDepth: 3)),
            .error(ErrorReport(code: .wrongLayers, message: "frame for layer 8 reached layers 0..<8", origin: "w1",
                               peer: "tcp://10.0.0.12:41000", field: "ActivationFrame.layer_begin", sessionID: 7, sequence: 42)),
            .resetSession(ResetSession(sessionID: 7, allSessions: true)),
            .trimKV(TrimKV(sessionID: 7, keepTokens: 99)),
            .statsRequest(reset: true),
            .statsReply(StatsReply(layers: 8 ..< 20, frames: 10, tokens: 1000, computeTime: .milliseconds(1500),
                                   queueWaitTime: .microseconds(250), sendTime: .nanoseconds(123_456_789), queueDepth: 2,
                                   maxQueueDepth: 5, sessions: 3, kvTokens: 4000, kvBytes: 1 << 28, weightBytes: 1 << 31,
                                   residentBytes: 3 << 30, uptime: .seconds(3600), errors: 1)),
            .healthRequest,
            .healthReply(HealthReply(state: .loading, layers: 0 ..< 0, queueDepth: 1, sessions: 2, uptime: .seconds(12),
                                     detail: "loading layer 9 of 8..<20")),
            .loadInfoRequest,
            .loadInfo(load),
            .loadLayers(LoadLayers(layers: 20 ..< 32, weightFormat: .q4_0, model: model.withoutSlice)),
            .shutdown(reason: "operator asked ✓"),
        ]
        for dtype in WireDType.allCases {
            if let states = try? ActivationFrame.HiddenStates(values: hiddenValues(tokens: 3, hiddenSize: 64), hiddenSize: 64, dtype: dtype) {
                messages.append(.activation(ActivationFrame(sessionID: 1, sequence: 2, firstPosition: 3, layerBegin: 8,
                                                            ropeFactors: .short, output: .lastLogits, input: .hidden(states))))
            }
        }
        return messages
    }
}
