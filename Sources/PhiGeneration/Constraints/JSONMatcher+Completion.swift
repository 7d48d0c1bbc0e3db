extension JSONMatcher {
    /// True when the output may end here (a stop token is allowed).
    var isAccepting: Bool { threads.contains { isAccepting($0) } }

    /// True when the value is closed on every reading: nothing more may be written.
    var isComplete: Bool { threads.allSatisfy(\.isEmpty) }

    func isAccepting(_ frames: [Frame]) -> Bool {
        guard let top = frames.last else { return true }
        guard frames.count == 1 else { return false }
        switch top {
        case let .number(state): return state.isAccepting
        case let .literal(trie, node): return graph.tries[Int(trie)].terminal[Int(node)] >= 0
        default: return false
        }
    }

    /// The fewest bytes that complete the value from `frames` (each byte can be one token, since
    /// every byte has a token of its own in a byte-level vocabulary).
    func remainingBytes(_ frames: [Frame]) -> Int {
        var total = 0
        for frame in frames { total += remainingBytes(frame, in: frames) }
        return total
    }

    private func remainingBytes(_ frame: Frame, in frames: [Frame]) -> Int {
        switch frame {
        case let .value(node, _):
            return graph.minimumBytes[Int(node)]
        case let .object(node, phase, next):
            let node = Int(node), next = Int(next)
            guard case let .object(properties, _) = graph.nodes[node] else { return 0 }
            let rest = graph.restBytes[node]
            switch phase {
            case .start:
                return mayClose(object: node, next: 0) ? 1 : rest[0] - 1
            case .inKey:
                return 0  // the key frame on top counts the rest of the object
            case .afterKey:
                return 1 + graph.minimumBytes[properties[next - 1].value] + rest[next]
            case .inValue, .afterValue:
                return rest[next]
            case .afterComma, .afterCommaSpace:
                return bestItem(object: node, next: next, trieNode: 0, offset: 0)
            }
        case let .key(object, trieNode):
            guard case let .object(_, _, next)? = frames.last(where: {
                if case .object(object, .inKey, _) = $0 { true } else { false }
            }) else { return 0 }
            return bestItem(object: Int(object), next: Int(next), trieNode: Int(trieNode), offset: 0)
        case let .map(node, phase):
            guard case let .map(values, keys) = graph.nodes[Int(node)] else { return 0 }
            let value = graph.minimumBytes[values]
            let key = keys >= 0 ? graph.minimumBytes[keys] : 2
            switch phase {
            case .start, .inValue, .afterValue: return 1
            case .inKey, .afterKey: return 1 + value + 1
            case .afterComma, .afterCommaSpace: return key + 1 + value + 1
            }
        case let .array(node, phase, count):
            guard case let .array(items, minItems, _) = graph.nodes[Int(node)] else { return 0 }
            let item = graph.minimumBytes[items]
            switch phase {
            case .start:
                return minItems == 0 ? 1 : minItems * item + minItems
            case .inValue:
                return max(0, minItems - Int(count) - 1) * (1 + item) + 1
            default:
                return max(0, minItems - Int(count)) * (1 + item) + 1
            }
        case let .string(state):
            let (minLength, _) = stringBounds(state.node)
            let escape: Int = switch state.escape {
            case 1, 2: state.escape == 1 ? 1 : 4
            case 3, 4: 3
            case 5: 2
            case 6: 1
            default: 0
            }
            let patternBytes = state.automatonState >= 0
                ? Int(automaton(state.node)?.minimumBytes[Int(state.automatonState)] ?? 0) : 0
            return max(escape + Int(state.pending) + max(0, Int(minLength - state.length)), patternBytes) + 1
        case let .literal(trie, node):
            return graph.tries[Int(trie)].minimumRemaining[Int(node)]
        case let .number(state):
            return state.remainingBytes
        }
    }

    /// The shortest way to finish object `object` from inside a key (or before one, trie node 0):
    /// the rest of an allowed key, `:`, its value, then the required properties after it.
    private func bestItem(object: Int, next: Int, trieNode: Int, offset: Int) -> Int {
        guard case let .object(properties, keys) = graph.nodes[object] else { return 0 }
        let trie = graph.tries[keys]
        let allowed = allowedKeys(object: object, next: next)
        var best = Int.max / 4
        var pending = [(trieNode, 0)]
        while let (node, depth) = pending.popLast() {
            guard trie.reachable[node] & allowed != 0 else { continue }
            let property = Int(trie.terminal[node])
            if property >= 0 {
                let cost = depth + 1 + graph.minimumBytes[properties[property].value] + graph.restBytes[object][property + 1]
                best = min(best, cost)
            }
            for child in trie.children[node] { pending.append((Int(child.node), depth + 1)) }
        }
        return best
    }
}
