import CPhiWire

// ActivationFrame and LogitsFrame between Swift values and protobuf-c structs. Decoding checks
// every size against the frame's own shape and the limits before a byte of payload is copied.

extension CArena {
    func activation(_ frame: ActivationFrame) -> UnsafeMutablePointer<Phi__Wire__V1__ActivationFrame> {
        message(phi__wire__v1__activation_frame__init) { c in
            c.session_id = frame.sessionID
            c.sequence = frame.sequence
            c.first_position = UInt32(clamping: frame.firstPosition)
            c.token_count = UInt32(clamping: frame.tokenCount)
            c.layer_begin = UInt32(clamping: frame.layerBegin)
            c.rope_factors = Phi__Wire__V1__RopeFactors(rawValue: frame.ropeFactors.rawValue)
            c.output = Phi__Wire__V1__OutputRequest(rawValue: frame.output.rawValue)
            c.ring_id = frame.ringID
            switch frame.input {
            case let .tokens(ids):
                c.input_case = PHI__WIRE__V1__ACTIVATION_FRAME__INPUT_TOKENS
                c.tokens = message(phi__wire__v1__token_ids__init) { tokens in
                    let values = array(ids.map { UInt32(truncatingIfNeeded: $0) })  // the receiver refuses ids >= 2^31
                    tokens.n_ids = values.count
                    tokens.ids = values.pointer
                }
            case let .hidden(states):
                c.input_case = PHI__WIRE__V1__ACTIVATION_FRAME__INPUT_HIDDEN
                c.hidden = message(phi__wire__v1__hidden_states__init) { hidden in
                    hidden.hidden_size = UInt32(clamping: states.hiddenSize)
                    hidden.dtype = Phi__Wire__V1__DType(rawValue: states.dtype.rawValue)
                    hidden.payload = bytes(states.bytes)
                }
            }
        }
    }

    func logits(_ frame: LogitsFrame) -> UnsafeMutablePointer<Phi__Wire__V1__LogitsFrame> {
        message(phi__wire__v1__logits_frame__init) { c in
            c.session_id = frame.sessionID
            c.sequence = frame.sequence
            c.first_position = UInt32(clamping: frame.firstPosition)
            c.token_count = UInt32(clamping: frame.tokenCount)
            c.output = Phi__Wire__V1__OutputRequest(rawValue: frame.output.rawValue)
            c.vocab_size = UInt32(clamping: frame.vocabSize)
            c.logits = frame.logits.withUnsafeBytes { bytes(Array($0)) }
            let argmax = array(frame.argmax.map { UInt32(truncatingIfNeeded: $0) })
            c.n_argmax = argmax.count
            c.argmax = argmax.pointer
        }
    }
}

extension FieldReader {
    func activation(_ c: Phi__Wire__V1__ActivationFrame) throws(WireError) -> ActivationFrame {
        let tokenCount = try count(c.token_count, "ActivationFrame.token_count", limit: limits.maxTokensPerFrame)
        guard tokenCount > 0 else {
            throw .invalidField(peer: peer, field: "ActivationFrame.token_count", reason: "a frame carries at least one token")
        }
        let layerBegin = try count(c.layer_begin, "ActivationFrame.layer_begin", limit: limits.maxLayers)
        let input: ActivationFrame.Input
        switch c.input_case {
        case PHI__WIRE__V1__ACTIVATION_FRAME__INPUT_TOKENS:
            let tokens = try required(c.tokens, "ActivationFrame.tokens")
            guard tokens.n_ids == tokenCount else {
                throw .invalidField(peer: peer, field: "ActivationFrame.tokens.ids",
                                    reason: "\(tokens.n_ids) token ids for token_count \(tokenCount)")
            }
            guard layerBegin == 0 else {
                throw .invalidField(peer: peer, field: "ActivationFrame.tokens",
                                    reason: "token ids go to layer 0, but layer_begin is \(layerBegin)")
            }
            input = .tokens(try tokenIDs(tokenCount, tokens.ids, "ActivationFrame.tokens.ids"))
        case PHI__WIRE__V1__ACTIVATION_FRAME__INPUT_HIDDEN:
            input = .hidden(try hiddenStates(required(c.hidden, "ActivationFrame.hidden"), tokenCount: tokenCount))
        default:
            throw .missingField(peer: peer, field: "ActivationFrame.input (tokens or hidden)")
        }
        return ActivationFrame(
            sessionID: c.session_id,
            sequence: c.sequence,
            firstPosition: Int(c.first_position),
            layerBegin: layerBegin,
            ropeFactors: try enumValue(c.rope_factors.rawValue, "ActivationFrame.rope_factors"),
            output: try enumValue(c.output.rawValue, "ActivationFrame.output"),
            input: input,
            ringID: c.ring_id)
    }

    func hiddenStates(_ c: Phi__Wire__V1__HiddenStates, tokenCount: Int) throws(WireError) -> ActivationFrame.HiddenStates {
        let field = "ActivationFrame.hidden"
        let hiddenSize = try count(c.hidden_size, "\(field).hidden_size", limit: limits.maxHiddenSize)
        guard hiddenSize > 0 else { throw .missingField(peer: peer, field: "\(field).hidden_size") }
        let dtype: WireDType = try enumValue(c.dtype.rawValue, "\(field).dtype")
        let expected = tokenCount * hiddenSize * dtype.byteCount
        guard c.payload.len == expected else {
            throw .payloadSize(peer: peer, field: "\(field).payload", expected: expected, actual: c.payload.len,
                               elementBytes: dtype.byteCount, unit: dtype.valueName)
        }
        return ActivationFrame.HiddenStates(validatedTokenCount: tokenCount, hiddenSize: hiddenSize, dtype: dtype,
                                            bytes: try bytes(c.payload, "\(field).payload"))
    }

    func logits(_ c: Phi__Wire__V1__LogitsFrame) throws(WireError) -> LogitsFrame {
        let tokenCount = try count(c.token_count, "LogitsFrame.token_count", limit: limits.maxTokensPerFrame)
        guard tokenCount > 0 else {
            throw .invalidField(peer: peer, field: "LogitsFrame.token_count", reason: "a frame carries at least one token")
        }
        let output: OutputRequest = try enumValue(c.output.rawValue, "LogitsFrame.output")
        let vocabSize = try count(c.vocab_size, "LogitsFrame.vocab_size", limit: limits.maxVocabSize)
        let rows = output.logitsRows(tokenCount: tokenCount)
        guard (rows == 0 && output != .lastArgmax) || vocabSize > 0 else {
            throw .missingField(peer: peer, field: "LogitsFrame.vocab_size")
        }
        let expected = rows * vocabSize * 4
        guard c.logits.len == expected else {
            throw .payloadSize(peer: peer, field: "LogitsFrame.logits", expected: expected, actual: c.logits.len,
                               elementBytes: 4, unit: "floats")
        }
        let expectedArgmax = output.argmaxCount(tokenCount: tokenCount)
        guard c.n_argmax == expectedArgmax else {
            throw .invalidField(peer: peer, field: "LogitsFrame.argmax",
                                reason: "\(c.n_argmax) ids, expected \(expectedArgmax) for output '\(output)'")
        }
        let argmax = try tokenIDs(expectedArgmax, c.argmax, "LogitsFrame.argmax")
        if let index = argmax.firstIndex(where: { $0 >= vocabSize }) {
            throw .invalidField(peer: peer, field: "LogitsFrame.argmax[\(index)]",
                                reason: "token id \(argmax[index]) is outside the vocabulary of \(vocabSize)")
        }
        let logits = UnsafeRawBufferPointer(start: c.logits.data, count: c.logits.len)
        return LogitsFrame(
            sessionID: c.session_id,
            sequence: c.sequence,
            firstPosition: Int(c.first_position),
            tokenCount: tokenCount,
            output: output,
            vocabSize: vocabSize,
            logits: FloatPacking.floats(from: logits, dtype: .f32),
            argmax: argmax)
    }
}
