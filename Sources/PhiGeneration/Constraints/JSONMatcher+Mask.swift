extension JSONMatcher {
    /// Adds to `mask` every text token after which some thread is still valid and can be completed
    /// in at most `limit` more bytes.
    ///
    /// Inside a string (the long part of most outputs) the ~150,000 plain-string tokens keep the
    /// thread where it is, so they are added as one precomputed mask and only the other tokens are
    /// tried; elsewhere the vocabulary trie is walked, abandoning each subtree at its first
    /// refused byte.
    func addAllowedTokens(to mask: inout TokenMask, vocabulary: TokenVocabulary, limit: Int) {
        guard limit >= 0 else { return }
        for thread in threads where !thread.isEmpty {
            if case let .string(state)? = thread.last, state.isAtCharacterBoundary, isFreeString(state) {
                if remainingBytes(thread) <= limit {
                    if let maxLength = stringBounds(state.node).1 {
                        let room = Int(maxLength - state.length)
                        for id in vocabulary.plainIDs where Int(vocabulary.plainCharacterCounts[Int(id)]) <= room {
                            mask.insert(Int(id))
                        }
                    } else {
                        mask.formUnion(vocabulary.plainStringTokens)
                    }
                }
                walk(vocabulary.nonPlain, from: thread, limit: limit, into: &mask)
            } else if case let .string(state)? = thread.last, state.isAtCharacterBoundary, let automaton = automaton(state.node) {
                addPatternTokens(state, automaton: automaton, outerBytes: remainingBytes(Array(thread.dropLast())),
                                 vocabulary: vocabulary, limit: limit, into: &mask)
                walk(vocabulary.nonPlain, from: thread, limit: limit, into: &mask)
            } else {
                walk(vocabulary.allText, from: thread, limit: limit, into: &mask)
            }
        }
    }

    /// Adds the tokens that leave the least to write (fewest bytes to a complete value): used when
    /// the budget is smaller than any completion measured in bytes, to close the value as fast as
    /// the vocabulary allows.
    func addClosingTokens(to mask: inout TokenMask, vocabulary: TokenVocabulary) {
        var best = Int.max
        var bestIDs: [Int32] = []
        for thread in threads where !thread.isEmpty {
            let isInString: Bool
            if case let .string(state)? = thread.last, state.isAtCharacterBoundary, isFreeString(state) {
                isInString = true
            } else {
                isInString = false
            }
            let trie = isInString ? vocabulary.nonPlain : vocabulary.allText
            trie.walk(from: [thread], enter: { states, byte in
                var next: [[Frame]] = []
                for state in states { step(state, byte, into: &next) }
                return next.isEmpty ? nil : next
            }, visit: { states, ids in
                let need = states.map { remainingBytes($0) }.min() ?? Int.max
                if need < best {
                    best = need
                    bestIDs = Array(ids)
                } else if need == best {
                    bestIDs += ids
                }
            })
        }
        for id in bestIDs { mask.insert(Int(id)) }
    }

    /// The plain-string tokens a string with a pattern may continue with: the plain trie walked
    /// with the automaton state and character count alone (what `stepString` does for raw
    /// characters, without the frames), so each subtree stops at the first refused byte.
    private func addPatternTokens(_ state: StringState, automaton: ByteAutomaton, outerBytes: Int,
                                  vocabulary: TokenVocabulary, limit: Int, into mask: inout TokenMask) {
        struct Position { var automatonState: Int32; var length: Int32; var pending: UInt8 }
        let (minLength, maxLength) = stringBounds(state.node)
        let isBounded = minLength > 0 || maxLength != nil
        vocabulary.plain.walk(from: Position(automatonState: state.automatonState, length: state.length, pending: 0), enter: { position, byte in
            var position = position
            let next = automaton.next(position.automatonState, byte)
            guard next >= 0 else { return nil }
            position.automatonState = next
            if position.pending > 0 {
                position.pending -= 1
            } else {
                if let maxLength, position.length >= maxLength { return nil }
                position.length += 1
                position.pending = UInt8(UTF8Validation.continuationCount(lead: byte) ?? 0)
            }
            if position.pending == 0 && isBounded
                && !automaton.isViable(next, length: Int(position.length), minimumLength: Int(minLength),
                                       maximumLength: maxLength.map { Int($0) }) {
                return nil
            }
            return position
        }, visit: { position, ids in
            let stringBytes = max(max(0, Int(minLength - position.length)), Int(automaton.minimumBytes[Int(position.automatonState)])) + 1
            guard outerBytes + stringBytes <= limit else { return }
            for id in ids { mask.insert(Int(id)) }
        })
    }

    private func walk(_ trie: TokenTrie, from thread: [Frame], limit: Int, into mask: inout TokenMask) {
        trie.walk(from: [thread], enter: { states, byte in
            var next: [[Frame]] = []
            for state in states { step(state, byte, into: &next) }
            if next.isEmpty { return nil }
            return next.count > 1 ? Self.unique(next) : next
        }, visit: { states, ids in
            guard states.contains(where: { remainingBytes($0) <= limit }) else { return }
            for id in ids { mask.insert(Int(id)) }
        })
    }
}
