extension JSONMatcher {
    enum StringStep {
        case open(StringState)
        case closed
    }

    /// The properties a key may name next in object `node`: from `next` up to the first required
    /// one (optional properties may be skipped, never reordered), as bits.
    func allowedKeys(object node: Int, next: Int) -> UInt64 {
        guard case let .object(properties, _) = graph.nodes[node], next < properties.count else { return 0 }
        var bits: UInt64 = 0
        for index in next..<properties.count {
            bits |= 1 << UInt64(index)
            if properties[index].isRequired { break }
        }
        return bits
    }

    /// Whether every property from `next` on is optional, so the object may close.
    func mayClose(object node: Int, next: Int) -> Bool {
        guard case let .object(properties, _) = graph.nodes[node] else { return false }
        return !properties[min(next, properties.count)...].contains(where: \.isRequired)
    }

    func stepObject(node: Int32, phase: Phase, next: Int32, _ byte: UInt8, _ frames: [Frame], into results: inout [[Frame]]) {
        var frames = frames
        switch (phase, byte) {
        case (.start, UInt8(ascii: "\"")), (.afterComma, UInt8(ascii: "\"")), (.afterCommaSpace, UInt8(ascii: "\"")):
            guard case let .object(_, keys) = graph.nodes[Int(node)],
                  let child = graph.tries[keys].child(0, byte),
                  graph.tries[keys].reachable[child] & allowedKeys(object: Int(node), next: Int(next)) != 0 else { return }
            frames.append(.object(node: node, phase: .inKey, next: next))
            frames.append(.key(object: node, trieNode: Int32(child)))
        case (.start, UInt8(ascii: "}")), (.afterValue, UInt8(ascii: "}")):
            guard mayClose(object: Int(node), next: Int(next)) else { return }
            completeValue(&frames)
        case (.afterKey, UInt8(ascii: ":")):
            guard case let .object(properties, _) = graph.nodes[Int(node)] else { return }
            frames.append(.object(node: node, phase: .inValue, next: next))
            frames.append(.value(node: Int32(properties[Int(next) - 1].value), spaceAllowed: true))
        case (.afterValue, UInt8(ascii: ",")):
            guard allowedKeys(object: Int(node), next: Int(next)) != 0 else { return }
            frames.append(.object(node: node, phase: .afterComma, next: next))
        case (.afterComma, UInt8(ascii: " ")):
            frames.append(.object(node: node, phase: .afterCommaSpace, next: next))
        default:
            return
        }
        results.append(frames)
    }

    func stepKey(object: Int32, trieNode: Int32, _ byte: UInt8, _ frames: [Frame], into results: inout [[Frame]]) {
        guard case let .object(_, keys) = graph.nodes[Int(object)], case let .object(_, _, next)? = frames.last else { return }
        let trie = graph.tries[keys]
        guard let child = trie.child(Int(trieNode), byte),
              trie.reachable[child] & allowedKeys(object: Int(object), next: Int(next)) != 0 else { return }
        var frames = frames
        let property = trie.terminal[child]
        if property >= 0 {
            frames.removeLast()
            frames.append(.object(node: object, phase: .afterKey, next: property + 1))
        } else {
            frames.append(.key(object: object, trieNode: Int32(child)))
        }
        results.append(frames)
    }

    func stepMap(node: Int32, phase: Phase, _ byte: UInt8, _ frames: [Frame], into results: inout [[Frame]]) {
        var frames = frames
        switch (phase, byte) {
        case (.start, UInt8(ascii: "\"")), (.afterComma, UInt8(ascii: "\"")), (.afterCommaSpace, UInt8(ascii: "\"")):
            guard case let .map(_, keys) = graph.nodes[Int(node)] else { return }
            frames.append(.map(node: node, phase: .inKey))
            var key = StringState(node: Int32(keys))
            if automaton(Int32(keys)) != nil { key.automatonState = ByteAutomaton.start }
            frames.append(.string(key))
        case (.start, UInt8(ascii: "}")), (.afterValue, UInt8(ascii: "}")):
            completeValue(&frames)
        case (.afterKey, UInt8(ascii: ":")):
            guard case let .map(values, _) = graph.nodes[Int(node)] else { return }
            frames.append(.map(node: node, phase: .inValue))
            frames.append(.value(node: Int32(values), spaceAllowed: true))
        case (.afterValue, UInt8(ascii: ",")):
            frames.append(.map(node: node, phase: .afterComma))
        case (.afterComma, UInt8(ascii: " ")):
            frames.append(.map(node: node, phase: .afterCommaSpace))
        default:
            return
        }
        results.append(frames)
    }

    func stepArray(node: Int32, phase: Phase, count: Int32, _ byte: UInt8, _ frames: [Frame], into results: inout [[Frame]]) {
        guard case let .array(items, minItems, maxItems) = graph.nodes[Int(node)] else { return }
        var frames = frames
        switch phase {
        case .start:
            if byte == UInt8(ascii: "]") {
                guard minItems == 0 else { return }
                completeValue(&frames)
                results.append(frames)
                return
            }
            frames.append(.array(node: node, phase: .inValue, count: count))
            frames.append(.value(node: Int32(items), spaceAllowed: false))
            step(frames, byte, into: &results)
        case .afterValue:
            if byte == UInt8(ascii: "]") {
                guard count >= minItems else { return }
                completeValue(&frames)
            } else if byte == UInt8(ascii: ",") {
                guard maxItems.map({ count < $0 }) ?? true else { return }
                frames.append(.array(node: node, phase: .inValue, count: count))
                frames.append(.value(node: Int32(items), spaceAllowed: true))
            } else {
                return
            }
            results.append(frames)
        default:
            return
        }
    }

    /// The string after `byte`: still open, closed by it, or nil when the byte is not allowed.
    func stepString(_ state: StringState, _ byte: UInt8) -> StringStep? {
        var state = state
        let isHex = (byte >= 0x30 && byte <= 0x39) || (byte | 0x20 >= 0x61 && byte | 0x20 <= 0x66)
        if state.pending > 0 {
            guard byte >= state.nextLow && byte <= state.nextHigh else { return nil }
            state.pending -= 1
            state.nextLow = 0x80
            state.nextHigh = 0xBF
            guard steppedAutomaton(&state, byte, completesCharacter: state.pending == 0) else { return nil }
            return .open(state)
        }
        switch state.escape {
        case 0: break
        case 1:
            let decoded: UInt8
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): decoded = byte
            case UInt8(ascii: "b"): decoded = 0x08
            case UInt8(ascii: "f"): decoded = 0x0C
            case UInt8(ascii: "n"): decoded = 0x0A
            case UInt8(ascii: "r"): decoded = 0x0D
            case UInt8(ascii: "t"): decoded = 0x09
            case UInt8(ascii: "u"):
                // Not written in strings with a pattern: their characters are written raw.
                guard state.automatonState < 0 else { return nil }
                state.escape = 2
                return .open(state)
            default: return nil
            }
            state.escape = 0
            guard steppedAutomaton(&state, decoded, completesCharacter: true) else { return nil }
            return .open(state)
        case 2:
            guard isHex else { return nil }
            state.escape = byte | 0x20 == UInt8(ascii: "d") ? 4 : 3
            return .open(state)
        case 4:
            // \uD800–\uDFFF are surrogates: refused so the text stays valid Unicode.
            guard isHex, byte >= 0x30 && byte <= 0x37 else { return nil }
            state.escape = 5
            return .open(state)
        case 3, 5:
            guard isHex else { return nil }
            state.escape = state.escape == 3 ? 5 : 6
            return .open(state)
        default:  // 6: the last hex digit
            guard isHex else { return nil }
            state.escape = 0
            return .open(state)
        }
        let (minLength, maxLength) = stringBounds(state.node)
        if byte == UInt8(ascii: "\"") {
            if state.automatonState >= 0, automaton(state.node)?.isAccepting[Int(state.automatonState)] != true { return nil }
            return state.length >= minLength ? .closed : nil
        }
        guard byte >= 0x20, maxLength.map({ state.length < $0 }) ?? true else { return nil }
        if byte == UInt8(ascii: "\\") {
            state.escape = 1
            // With a pattern, a backslash only when some short escape's character can follow.
            if state.automatonState >= 0 {
                var probe = state
                probe.length += 1
                let decoded: [UInt8] = [0x22, 0x5C, 0x2F, 0x08, 0x0C, 0x0A, 0x0D, 0x09]
                guard decoded.contains(where: { var copy = probe; return steppedAutomaton(&copy, $0, completesCharacter: true) }) else {
                    return nil
                }
            }
        } else if byte >= 0x80 {
            guard let more = UTF8Validation.continuationCount(lead: byte), more > 0 else { return nil }
            let range = UTF8Validation.secondByteRange(lead: byte)
            state.pending = UInt8(more)
            state.nextLow = range.lowerBound
            state.nextHigh = range.upperBound
        }
        state.length += 1
        if byte != UInt8(ascii: "\\"), !steppedAutomaton(&state, byte, completesCharacter: byte < 0x80) { return nil }
        return .open(state)
    }

    func stringBounds(_ node: Int32) -> (Int32, Int32?) {
        guard node >= 0, case let .string(minLength, maxLength, _) = graph.nodes[Int(node)] else { return (0, nil) }
        return (Int32(minLength), maxLength.map { Int32($0) })
    }

    func automaton(_ node: Int32) -> ByteAutomaton? {
        guard node >= 0, case let .string(_, _, pattern) = graph.nodes[Int(node)], pattern >= 0 else { return nil }
        return graph.automata[pattern]
    }

    /// Whether any plain character may follow: no pattern, or one that accepts everything from here.
    func isFreeString(_ state: StringState) -> Bool {
        state.automatonState < 0 || automaton(state.node)?.isUniversal[Int(state.automatonState)] == true
    }

    /// Feeds one decoded byte of a character to the pattern automaton; at a character's end, the
    /// string must still be able to reach a match within its length bounds.
    func steppedAutomaton(_ state: inout StringState, _ byte: UInt8, completesCharacter: Bool) -> Bool {
        guard state.automatonState >= 0, let automaton = automaton(state.node) else { return true }
        let next = automaton.next(state.automatonState, byte)
        guard next >= 0 else { return false }
        state.automatonState = next
        guard completesCharacter else { return true }
        let (minLength, maxLength) = stringBounds(state.node)
        return automaton.isViable(next, length: Int(state.length), minimumLength: Int(minLength), maximumLength: maxLength.map { Int($0) })
    }
}
