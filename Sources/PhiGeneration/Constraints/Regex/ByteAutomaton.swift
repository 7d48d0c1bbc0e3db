/// A deterministic automaton over the UTF-8 bytes of a JSON string's decoded characters, built
/// from a pattern (regex → Thompson NFA over UTF-8 byte ranges → subset construction). A
/// transition that could not reach an accepting state is removed, so every state kept leads to a
/// match: the recognizer that follows it never writes itself into a dead end.
struct ByteAutomaton: Sendable, Equatable {
    /// `transitions[state * 256 + byte]`: the next state, or -1.
    let transitions: [Int32]
    let isAccepting: [Bool]
    /// Fewest bytes, and fewest characters, from each state to an accepting one.
    let minimumBytes: [Int32]
    let minimumCharacters: [Int32]
    /// Most characters from each state to an accepting one; -1 when unbounded.
    let maximumCharacters: [Int32]
    /// States from which every string of writable characters is accepted (`.*`-like tails):
    /// there the fast plain-string mask applies.
    let isUniversal: [Bool]
    static let start: Int32 = 0
    static let maxStates = 4096
    static let maxNFAStates = 200_000

    /// The characters a constrained JSON string can hold: raw ones from U+0020, and the escapes
    /// `\b \t \n \f \r` (`\u` escapes are not written in strings with a pattern).
    static let writable = ScalarSet([0x08...0x0A, 0x0C...0x0D, 0x20...0xD7FF, 0xE000...0x10FFFF])

    init(pattern: String) throws(RegexError) {
        try self.init(node: try RegexParser.parse(pattern))
    }

    init(node: RegexNode) throws(RegexError) {
        let dfa = try Self.determinize(node)
        let stateCount = dfa.accepting.count
        // Live states reach an accepting one; edges to the others are cut.
        var reverse = [[(Int32, UInt8)]](repeating: [], count: stateCount)
        for state in 0..<stateCount {
            for byte in 0..<256 {
                let target = dfa.transitions[state * 256 + byte]
                if target >= 0 { reverse[Int(target)].append((Int32(state), UInt8(byte))) }
            }
        }
        var minimumBytes = [Int32](repeating: -1, count: stateCount)
        var queue: [Int32] = []
        for state in 0..<stateCount where dfa.accepting[state] {
            minimumBytes[state] = 0
            queue.append(Int32(state))
        }
        var head = 0
        while head < queue.count {
            let state = queue[head]
            head += 1
            for (source, _) in reverse[Int(state)] where minimumBytes[Int(source)] < 0 {
                minimumBytes[Int(source)] = minimumBytes[Int(state)] + 1
                queue.append(source)
            }
        }
        guard minimumBytes[0] >= 0 else { throw RegexError(reason: "a pattern no writable string matches") }
        var transitions = dfa.transitions
        for index in transitions.indices where transitions[index] >= 0 && minimumBytes[Int(transitions[index])] < 0 {
            transitions[index] = -1
        }
        // Characters: a continuation byte (0x80–0xBF) adds none. 0-1 breadth-first search by levels.
        var minimumCharacters = [Int32](repeating: Int32.max, count: stateCount)
        var level: [Int32] = []
        for state in 0..<stateCount where dfa.accepting[state] {
            minimumCharacters[state] = 0
            level.append(Int32(state))
        }
        var distance: Int32 = 0
        while !level.isEmpty {
            var stack = level
            var nextLevel: [Int32] = []
            while let state = stack.popLast() {
                if minimumCharacters[Int(state)] < distance { continue }
                for (source, byte) in reverse[Int(state)] where minimumBytes[Int(source)] >= 0 {
                    let isContinuation = (0x80...0xBF).contains(byte)
                    let cost = distance + (isContinuation ? 0 : 1)
                    if cost < minimumCharacters[Int(source)] {
                        minimumCharacters[Int(source)] = cost
                        if isContinuation { stack.append(source) } else { nextLevel.append(source) }
                    }
                }
            }
            level = nextLevel
            distance += 1
        }
        // Longest: states on or before a cycle are unbounded; the rest in reverse topological order.
        var maximumCharacters = [Int32](repeating: -1, count: stateCount)
        var predecessors = [Set<Int32>](repeating: [], count: stateCount)
        var remaining = [Int](repeating: 0, count: stateCount)
        for state in 0..<stateCount {
            var targets = Set<Int32>()
            for byte in 0..<256 where transitions[state * 256 + byte] >= 0 { targets.insert(transitions[state * 256 + byte]) }
            remaining[state] = targets.count
            for target in targets { predecessors[Int(target)].insert(Int32(state)) }
        }
        var ready = (0..<stateCount).filter { remaining[$0] == 0 && minimumBytes[$0] >= 0 }
        while let state = ready.popLast() {
            var longest: Int32 = 0
            for byte in 0..<256 {
                let target = transitions[state * 256 + byte]
                if target >= 0 { longest = max(longest, maximumCharacters[Int(target)] + ((0x80...0xBF).contains(byte) ? 0 : 1)) }
            }
            maximumCharacters[state] = longest
            for source in predecessors[state] {
                remaining[Int(source)] -= 1
                if remaining[Int(source)] == 0 { ready.append(Int(source)) }
            }
        }
        self.transitions = transitions
        isAccepting = dfa.accepting
        self.minimumBytes = minimumBytes
        self.minimumCharacters = minimumCharacters.map { $0 == Int32.max ? -1 : $0 }
        self.maximumCharacters = maximumCharacters
        isUniversal = Self.universalStates(transitions: transitions, accepting: dfa.accepting)
    }

    func next(_ state: Int32, _ byte: UInt8) -> Int32 { transitions[Int(state) * 256 + Int(byte)] }

    /// Whether the whole of `text` is accepted.
    func matches(_ text: String) -> Bool {
        var state = Self.start
        for byte in text.utf8 {
            state = next(state, byte)
            if state < 0 { return false }
        }
        return isAccepting[Int(state)]
    }

    /// Whether a string may be closed at `state` with `length` characters written, or continued
    /// within `minimumLength`…`maximumLength` characters in all.
    func isViable(_ state: Int32, length: Int, minimumLength: Int, maximumLength: Int?) -> Bool {
        let state = Int(state)
        if let maximumLength, Int(minimumCharacters[state]) > maximumLength - length { return false }
        let longest = maximumCharacters[state]
        return longest < 0 || length + Int(longest) >= minimumLength
    }

    private struct RawDFA {
        var transitions: [Int32]
        var accepting: [Bool]
    }

    private static func determinize(_ node: RegexNode) throws(RegexError) -> RawDFA {
        var nfa = NFA()
        let end = try nfa.build(node, from: 0)
        // Byte classes: bytes no edge tells apart share one column.
        var cuts = Set<Int>([0, 256])
        for edges in nfa.edges { for edge in edges { cuts.insert(Int(edge.0.lowerBound)); cuts.insert(Int(edge.0.upperBound) + 1) } }
        let bounds = cuts.sorted()
        var representatives: [UInt8] = []
        var classOf = [Int](repeating: 0, count: 256)
        for index in 0..<(bounds.count - 1) {
            representatives.append(UInt8(bounds[index]))
            for byte in bounds[index]..<bounds[index + 1] { classOf[byte] = index }
        }
        var ids: [[Int32]: Int32] = [:]
        var sets: [[Int32]] = []
        let first = nfa.closure([0])
        ids[first] = 0
        sets.append(first)
        var classTransitions: [Int32] = []
        var accepting: [Bool] = []
        var index = 0
        while index < sets.count {
            let set = sets[index]
            accepting.append(set.contains(end))
            for byte in representatives {
                var targets: [Int32] = []
                for state in set { for (range, target) in nfa.edges[Int(state)] where range.contains(byte) { targets.append(target) } }
                if targets.isEmpty {
                    classTransitions.append(-1)
                    continue
                }
                let closed = nfa.closure(targets)
                if let id = ids[closed] {
                    classTransitions.append(id)
                } else {
                    guard sets.count < maxStates else { throw RegexError(reason: "a pattern of more than \(maxStates) automaton states") }
                    ids[closed] = Int32(sets.count)
                    classTransitions.append(Int32(sets.count))
                    sets.append(closed)
                }
            }
            index += 1
        }
        var transitions = [Int32](repeating: -1, count: sets.count * 256)
        for state in 0..<sets.count {
            for byte in 0..<256 { transitions[state * 256 + byte] = classTransitions[state * representatives.count + classOf[byte]] }
        }
        return RawDFA(transitions: transitions, accepting: accepting)
    }

    /// Greatest fixpoint over pairs (state, position in a writable character): a state is
    /// universal when every writable continuation stays inside the automaton and every complete
    /// one is accepted.
    private static func universalStates(transitions: [Int32], accepting: [Bool]) -> [Bool] {
        guard let any = try? determinize(.repeated(.characters(writable), minimum: 0, maximum: nil)) else {
            return accepting.map { _ in false }
        }
        let anyCount = any.accepting.count
        let stateCount = accepting.count
        // Only an accepting state with every writable ASCII character can be universal: most
        // patterns have none, and are done without the fixpoint.
        let asciiBytes = [0x08, 0x09, 0x0A, 0x0C, 0x0D] + Array(0x20...0x7F)
        let candidates = (0..<stateCount).map { state in accepting[state] && asciiBytes.allSatisfy { transitions[state * 256 + $0] >= 0 } }
        guard candidates.contains(true) else { return candidates }
        var good = [Bool](repeating: true, count: stateCount * anyCount)
        for state in 0..<stateCount where !candidates[state] { good[state * anyCount] = false }
        var changed = true
        while changed {
            changed = false
            for state in 0..<stateCount {
                for position in 0..<anyCount where good[state * anyCount + position] {
                    var isGood = !any.accepting[position] || accepting[state]
                    if isGood {
                        for byte in 0..<256 {
                            let nextPosition = any.transitions[position * 256 + byte]
                            guard nextPosition >= 0 else { continue }
                            let nextState = transitions[state * 256 + byte]
                            if nextState < 0 || !good[Int(nextState) * anyCount + Int(nextPosition)] { isGood = false; break }
                        }
                    }
                    if !isGood {
                        good[state * anyCount + position] = false
                        changed = true
                    }
                }
            }
        }
        return (0..<stateCount).map { good[$0 * anyCount] }
    }
}

/// A Thompson NFA over bytes: state 0 starts; each state has ε-edges and byte-range edges.
private struct NFA {
    var epsilon: [[Int32]] = [[]]
    var edges: [[(ClosedRange<UInt8>, Int32)]] = [[]]

    mutating func newState() throws(RegexError) -> Int32 {
        guard epsilon.count < ByteAutomaton.maxNFAStates else { throw RegexError(reason: "a pattern too large to compile") }
        epsilon.append([])
        edges.append([])
        return Int32(epsilon.count - 1)
    }

    /// Adds `node` from `start`; returns its end state.
    mutating func build(_ node: RegexNode, from start: Int32) throws(RegexError) -> Int32 {
        switch node {
        case let .characters(set):
            let end = try newState()
            for range in set.intersection(ByteAutomaton.writable).ranges {
                var sequences: [[ClosedRange<UInt8>]] = []
                utf8Sequences(range.lowerBound, range.upperBound, into: &sequences)
                for sequence in sequences {
                    var current = start
                    for (index, bytes) in sequence.enumerated() {
                        let target = index == sequence.count - 1 ? end : try newState()
                        edges[Int(current)].append((bytes, target))
                        current = target
                    }
                }
            }
            return end
        case let .sequence(items):
            var current = start
            for item in items { current = try build(item, from: current) }
            return current
        case let .alternation(alternatives):
            let end = try newState()
            for alternative in alternatives {
                let entry = try newState()
                epsilon[Int(start)].append(entry)
                epsilon[Int(try build(alternative, from: entry))].append(end)
            }
            return end
        case let .repeated(inner, minimum, maximum):
            var current = start
            for _ in 0..<minimum {
                let entry = try newState()
                epsilon[Int(current)].append(entry)
                current = try build(inner, from: entry)
            }
            if let maximum {
                // x{0,k} as (x(x(…)?)?)?: each optional copy may jump straight to the end, so an
                // ε-closure holds a few states, not one per remaining copy.
                let end = try newState()
                for _ in minimum..<maximum {
                    epsilon[Int(current)].append(end)
                    let entry = try newState()
                    epsilon[Int(current)].append(entry)
                    current = try build(inner, from: entry)
                }
                epsilon[Int(current)].append(end)
                return end
            }
            let loop = try newState()
            epsilon[Int(current)].append(loop)
            let entry = try newState()
            epsilon[Int(loop)].append(entry)
            epsilon[Int(try build(inner, from: entry))].append(loop)
            return loop
        }
    }

    func closure(_ states: [Int32]) -> [Int32] {
        var seen = Set<Int32>()
        var pending = states
        while let state = pending.popLast() {
            guard seen.insert(state).inserted else { continue }
            pending += epsilon[Int(state)]
        }
        return seen.sorted()
    }
}

/// The UTF-8 encodings of the scalars `low...high` as sequences of byte ranges (the split of
/// RE2 and Rust's regex-syntax `Utf8Sequences`). Surrogates must not be in the range.
private func utf8Sequences(_ low: UInt32, _ high: UInt32, into result: inout [[ClosedRange<UInt8>]]) {
    for boundary: UInt32 in [0x7F, 0x7FF, 0xFFFF] where low <= boundary && high > boundary {
        utf8Sequences(low, boundary, into: &result)
        utf8Sequences(boundary + 1, high, into: &result)
        return
    }
    if high <= 0x7F {
        result.append([UInt8(low)...UInt8(high)])
        return
    }
    for index in 1..<4 {
        let mask: UInt32 = (1 << (6 * UInt32(index))) - 1
        if low & ~mask != high & ~mask {
            if low & mask != 0 {
                utf8Sequences(low, low | mask, into: &result)
                utf8Sequences((low | mask) + 1, high, into: &result)
                return
            }
            if high & mask != mask {
                utf8Sequences(low, (high & ~mask) - 1, into: &result)
                utf8Sequences(high & ~mask, high, into: &result)
                return
            }
        }
    }
    let a = Array(String(Unicode.Scalar(low).map(Character.init) ?? " ").utf8)
    let b = Array(String(Unicode.Scalar(high).map(Character.init) ?? " ").utf8)
    result.append(zip(a, b).map { $0...$1 })
}
