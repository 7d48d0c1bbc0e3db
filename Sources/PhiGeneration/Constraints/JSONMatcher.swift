/// A byte-level recognizer of the texts a `SchemaGraph` describes. It holds every way of reading
/// the output so far (a thread: a stack of open values, innermost last); `anyOf` forks threads,
/// a byte a thread cannot take ends it.
struct JSONMatcher: Sendable {
    let graph: SchemaGraph
    private(set) var threads: [[Frame]]

    enum Phase: UInt8, Sendable, Hashable {
        case start, inKey, afterKey, inValue, afterValue, afterComma, afterCommaSpace
    }

    /// Inside a string: characters so far, and an unfinished escape or UTF-8 sequence.
    struct StringState: Sendable, Hashable {
        /// The string node (nil: an unconstrained map key).
        var node: Int32
        var length: Int32 = 0
        /// 0 none; 1 after `\`; 2 after `\u`; 3 after `\uX` (X not D); 4 after `\uD`; 5, 6 after 2, 3 digits.
        var escape: UInt8 = 0
        /// Continuation bytes still due, and the range the next one must be in.
        var pending: UInt8 = 0
        var nextLow: UInt8 = 0x80
        var nextHigh: UInt8 = 0xBF
        /// The state of the node's pattern automaton over the characters so far, or -1.
        var automatonState: Int32 = -1

        var isAtCharacterBoundary: Bool { escape == 0 && pending == 0 }
    }

    enum Frame: Sendable, Hashable {
        /// A value of `node` begins with the next byte (after one space when allowed).
        case value(node: Int32, spaceAllowed: Bool)
        /// `next`: the first property not yet written or skipped; after a key it is that key's index + 1.
        case object(node: Int32, phase: Phase, next: Int32)
        case map(node: Int32, phase: Phase)
        case array(node: Int32, phase: Phase, count: Int32)
        /// Matching a declared key of the object `object` in its key trie.
        case key(object: Int32, trieNode: Int32)
        case string(StringState)
        case literal(trie: Int32, trieNode: Int32)
        case number(NumberState)
    }

    init(graph: SchemaGraph) {
        self.graph = graph
        threads = [[.value(node: Int32(graph.root), spaceAllowed: false)]]
    }

    /// Feeds `bytes` to every thread; returns false (and keeps the old state) when none survives.
    mutating func advance(_ bytes: some Sequence<UInt8>) -> Bool {
        var current = threads
        for byte in bytes {
            var next: [[Frame]] = []
            for thread in current { step(thread, byte, into: &next) }
            if next.isEmpty { return false }
            current = next.count > 1 ? Self.unique(next) : next
        }
        threads = current
        return true
    }

    static func unique(_ threads: [[Frame]]) -> [[Frame]] {
        var seen = Set<[Frame]>()
        return threads.filter { seen.insert($0).inserted }
    }

    // MARK: One byte

    /// Appends to `results` each thread `frames` becomes after `byte` (none if it refuses it).
    func step(_ frames: [Frame], _ byte: UInt8, into results: inout [[Frame]]) {
        guard let top = frames.last else { return }  // the value is complete: nothing may follow
        var frames = frames
        frames.removeLast()
        switch top {
        case let .value(node, spaceAllowed):
            if byte == UInt8(ascii: " ") && spaceAllowed {
                frames.append(.value(node: node, spaceAllowed: false))
                results.append(frames)
                return
            }
            for leaf in graph.leaves[Int(node)] { start(leaf, byte, frames, into: &results) }
        case let .object(node, phase, next):
            stepObject(node: node, phase: phase, next: next, byte, frames, into: &results)
        case let .map(node, phase):
            stepMap(node: node, phase: phase, byte, frames, into: &results)
        case let .array(node, phase, count):
            stepArray(node: node, phase: phase, count: count, byte, frames, into: &results)
        case let .key(object, trieNode):
            stepKey(object: object, trieNode: trieNode, byte, frames, into: &results)
        case let .string(state):
            switch stepString(state, byte) {
            case let .open(next)?: frames.append(.string(next))
            case .closed?: completeValue(&frames)
            case nil: return
            }
            results.append(frames)
        case let .literal(trie, trieNode):
            let literals = graph.tries[Int(trie)]
            if let child = literals.child(Int(trieNode), byte) {
                if literals.terminal[child] >= 0 && literals.children[child].isEmpty {
                    completeValue(&frames)
                } else {
                    frames.append(.literal(trie: trie, trieNode: Int32(child)))
                }
                results.append(frames)
            } else if literals.terminal[Int(trieNode)] >= 0 {
                completeValue(&frames)  // a literal such as 1 that 12 extends ends at a byte that is neither
                step(frames, byte, into: &results)
            }
        case let .number(state):
            if let next = state.stepped(byte) {
                frames.append(.number(next))
                results.append(frames)
            } else if state.isAccepting {
                completeValue(&frames)
                step(frames, byte, into: &results)
            }
        }
    }

    /// A value of the leaf node `leaf` starting with `byte`.
    private func start(_ leaf: Int, _ byte: UInt8, _ frames: [Frame], into results: inout [[Frame]]) {
        var frames = frames
        let node = Int32(leaf)
        switch graph.nodes[leaf] {
        case .object:
            guard byte == UInt8(ascii: "{") else { return }
            frames.append(.object(node: node, phase: .start, next: 0))
        case .map:
            guard byte == UInt8(ascii: "{") else { return }
            frames.append(.map(node: node, phase: .start))
        case let .array(_, _, maxItems):
            guard byte == UInt8(ascii: "[") else { return }
            frames.append(.array(node: node, phase: maxItems == 0 ? .afterValue : .start, count: 0))
        case let .string(_, _, pattern):
            guard byte == UInt8(ascii: "\"") else { return }
            frames.append(.string(StringState(node: node, automatonState: pattern >= 0 ? ByteAutomaton.start : -1)))
        case let .number(kind):
            guard let state = NumberState(kind: kind).stepped(byte) else { return }
            frames.append(.number(state))
        case let .literals(trie):
            let literals = graph.tries[trie]
            guard let child = literals.child(0, byte) else { return }
            if literals.terminal[child] >= 0 && literals.children[child].isEmpty {
                completeValue(&frames)
            } else {
                frames.append(.literal(trie: Int32(trie), trieNode: Int32(child)))
            }
        case .anyOf:
            return  // leaves are never anyOf
        }
        results.append(frames)
    }

    /// The value on top was just popped: its container moves past it.
    func completeValue(_ frames: inout [Frame]) {
        guard let parent = frames.popLast() else { return }
        switch parent {
        case let .object(node, phase, next):
            frames.append(.object(node: node, phase: phase == .inKey ? .afterKey : .afterValue, next: next))
        case let .map(node, phase):
            frames.append(.map(node: node, phase: phase == .inKey ? .afterKey : .afterValue))
        case let .array(node, _, count):
            frames.append(.array(node: node, phase: .afterValue, count: count + 1))
        default:
            frames.append(parent)
        }
    }
}
