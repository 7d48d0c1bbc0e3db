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
