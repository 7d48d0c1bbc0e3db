/// A byte trie over a set of tokens: walking it with a recognizer visits each shared prefix
/// once and abandons a whole subtree at the first byte the recognizer refuses.
struct TokenTrie: Sendable {
    /// Node 0 is the root (no byte). Children of a node are consecutive in creation order and
    /// linked through `nextSibling`.
    private(set) var byte: [UInt8] = [0]
    private(set) var firstChild: [Int32] = [-1]
    private(set) var nextSibling: [Int32] = [-1]
    /// Tokens ending at a node: `ids[tokenStart[node] ..< tokenStart[node] + tokenCount[node]]`.
    private(set) var tokenStart: [Int32] = [0]
    private(set) var tokenCount: [Int32] = [0]
    private(set) var ids: [Int32] = []

    init(ids unsorted: [Int], bytes: [UInt8], starts: [Int32]) {
        func slice(_ id: Int) -> ArraySlice<UInt8> { bytes[Int(starts[id])..<Int(starts[id + 1])] }
        let sorted = unsorted.sorted { a, b in
            let x = slice(a), y = slice(b)
            return x.lexicographicallyPrecedes(y) || (x == y && a < b)
        }
        // Insert in sorted order: the path of the previous token is the only one that can be shared.
        var path: [Int32] = [0]  // path[d] = node at depth d
        var lastChild: [Int32] = [-1]
        var previous: ArraySlice<UInt8> = []
        for id in sorted {
            let key = slice(id)
            var common = 0
            while common < key.count && common < previous.count
                    && key[key.startIndex + common] == previous[previous.startIndex + common] { common += 1 }
            path.removeLast(path.count - common - 1)
            for depth in common..<key.count {
                let parent = Int(path[depth])
                let node = Int32(byte.count)
                byte.append(key[key.startIndex + depth])
                firstChild.append(-1)
                nextSibling.append(-1)
                tokenStart.append(0)
                tokenCount.append(0)
                lastChild.append(-1)
                if lastChild[parent] >= 0 { nextSibling[Int(lastChild[parent])] = node } else { firstChild[parent] = node }
                lastChild[parent] = node
                path.append(node)
            }
            let end = Int(path[key.count])
            if tokenCount[end] == 0 { tokenStart[end] = Int32(ids.count) }
            tokenCount[end] += 1
            ids.append(Int32(id))
            previous = key
        }
    }

    var nodeCount: Int { byte.count }

    /// Depth-first walk: `enter(state, byte)` returns the state after the byte or nil to skip the
    /// subtree; `visit(state, ids)` sees the tokens that end at each node reached.
    func walk<State>(from state: State, enter: (State, UInt8) -> State?, visit: (State, ArraySlice<Int32>) -> Void) {
        walkChildren(of: 0, state: state, enter: enter, visit: visit)
    }

    private func walkChildren<State>(of node: Int, state: State, enter: (State, UInt8) -> State?,
                                     visit: (State, ArraySlice<Int32>) -> Void) {
        var child = Int(firstChild[node])
        while child >= 0 {
            if let next = enter(state, byte[child]) {
                if tokenCount[child] > 0 {
                    let start = Int(tokenStart[child])
                    visit(next, ids[start..<(start + Int(tokenCount[child]))])
                }
                if firstChild[child] >= 0 { walkChildren(of: child, state: next, enter: enter, visit: visit) }
            }
            child = Int(nextSibling[child])
        }
    }
}
