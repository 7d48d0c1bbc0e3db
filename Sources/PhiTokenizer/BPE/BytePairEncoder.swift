/// Byte-level BPE of one pre-tokenized piece, with Hugging Face's merge order.
///
/// A piece starts as one symbol per byte (the id of that byte's token; a byte without a token is
/// dropped, as Hugging Face does without an unknown token). Then, repeatedly, the adjacent pair
/// with the lowest merge rank is merged, the leftmost on a tie, until no pair has a merge.
/// Short pieces use a linear scan over a compact array; long ones a heap, so a megabyte without a
/// space costs O(n log n), not O(n²).
struct BytePairEncoder: Sendable {
    /// Pieces longer than this many bytes take the heap path. Below it the scan is faster: most
    /// pieces are words of under 16 bytes.
    static let linearLimit = 96

    let vocabulary: TokenByteTable
    let merges: MergeTable
    /// The id of each single byte's token, or -1.
    let byteTokens: [Int32]
    /// Hugging Face's `ignore_merges`: a piece that is a whole vocabulary entry becomes that id.
    let ignoresMerges: Bool
    /// `merge(byteTokens[a], byteTokens[b])` at `a << 8 | b`, when every byte has a token (else
    /// empty): a piece's first round of pair lookups then reads this 512 KB table instead of
    /// probing the 8 MB merge table.
    let bytePairMerges: [UInt64]

    init(vocabulary: TokenByteTable, merges: MergeTable, byteTokens: [Int32], ignoresMerges: Bool) {
        self.vocabulary = vocabulary
        self.merges = merges
        self.byteTokens = byteTokens
        self.ignoresMerges = ignoresMerges
        if byteTokens.allSatisfy({ $0 >= 0 }) {
            var table = [UInt64](repeating: MergeTable.noMerge, count: 1 << 16)
            merges.withLookup { lookup in
                for first in 0..<256 {
                    for second in 0..<256 {
                        table[first << 8 | second] = lookup.merge(byteTokens[first], byteTokens[second])
                    }
                }
            }
            self.bytePairMerges = table
        } else {
            self.bytePairMerges = []
        }
    }

    /// Encodes `piece`, appending its ids to `ids`.
    func encode(_ piece: UnsafeBufferPointer<UInt8>, into ids: inout [Int], scratch: inout BPEScratch,
                lookup: MergeLookup, linearLimit: Int = BytePairEncoder.linearLimit) {
        if piece.count == 1 {
            let id = byteTokens[Int(piece[0])]
            if id >= 0 { ids.append(Int(id)) }
            return
        }
        if ignoresMerges, let id = vocabulary.id(of: piece) {
            ids.append(id)
            return
        }
        if piece.count <= linearLimit {
            encodeLinear(piece, into: &ids, scratch: &scratch, lookup: lookup)
        } else {
            encodeWithHeap(piece, into: &ids, lookup: lookup)
        }
    }

    private func encodeLinear(_ piece: UnsafeBufferPointer<UInt8>, into ids: inout [Int],
                              scratch: inout BPEScratch, lookup: MergeLookup) {
        scratch.reserve(piece.count)
        let symbols = scratch.symbols
        let pairs = scratch.pairValues
        var n = 0
        if !bytePairMerges.isEmpty {
            n = piece.count
            for i in 0..<n { symbols[i] = byteTokens[Int(piece[i])] }
            for i in 0..<(n - 1) { pairs[i] = bytePairMerges[Int(piece[i]) << 8 | Int(piece[i + 1])] }
        } else {
            for byte in piece {
                let id = byteTokens[Int(byte)]
                if id >= 0 {
                    symbols[n] = id
                    n += 1
                }
            }
            if n > 1 {
                for i in 0..<(n - 1) { pairs[i] = lookup.merge(symbols[i], symbols[i + 1]) }
            }
        }
        while n > 1 {
            var best = MergeTable.noMerge
            var at = -1
            for i in 0..<(n - 1) where pairs[i] < best {
                best = pairs[i]
                at = i
            }
            if at < 0 { break }
            symbols[at] = Int32(truncatingIfNeeded: best & 0xFFFF_FFFF)
            var j = at + 1
            while j < n - 1 {
                symbols[j] = symbols[j + 1]
                pairs[j] = pairs[j + 1]
                j += 1
            }
            n -= 1
            if at > 0 { pairs[at - 1] = lookup.merge(symbols[at - 1], symbols[at]) }
            if at < n - 1 { pairs[at] = lookup.merge(symbols[at], symbols[at + 1]) }
        }
        for i in 0..<n { ids.append(Int(symbols[i])) }
    }

    /// Hugging Face's own algorithm: a min-heap of candidate merges keyed by (rank, position), each
    /// checked against the current neighbours when it surfaces (stale entries are skipped).
    private func encodeWithHeap(_ piece: UnsafeBufferPointer<UInt8>, into ids: inout [Int], lookup: MergeLookup) {
        var symbols: [Int32] = []
        symbols.reserveCapacity(piece.count)
        for byte in piece where byteTokens[Int(byte)] >= 0 { symbols.append(byteTokens[Int(byte)]) }
        let n = symbols.count
        var previous = [Int32](repeating: -1, count: n)
        var next = [Int32](repeating: -1, count: n)
        var isAlive = [Bool](repeating: true, count: n)
        for i in 0..<n {
            previous[i] = Int32(i - 1)
            next[i] = i + 1 < n ? Int32(i + 1) : -1
        }
        var heap = MergeHeap()
        for i in 0..<max(0, n - 1) {
            let value = lookup.merge(symbols[i], symbols[i + 1])
            if value != MergeTable.noMerge { heap.push(value: value, position: Int32(i)) }
        }
        while let top = heap.pop() {
            let position = Int(top.position)
            guard isAlive[position], next[position] >= 0 else { continue }
            let right = Int(next[position])
            let current = lookup.merge(symbols[position], symbols[right])
            guard current == top.value else { continue }
            symbols[position] = Int32(truncatingIfNeeded: current & 0xFFFF_FFFF)
            isAlive[right] = false
            next[position] = next[right]
            if next[right] >= 0 { previous[Int(next[right])] = Int32(position) }
            if previous[position] >= 0 {
                let left = Int(previous[position])
                let value = lookup.merge(symbols[left], symbols[position])
                if value != MergeTable.noMerge { heap.push(value: value, position: Int32(left)) }
            }
            if next[position] >= 0 {
                let value = lookup.merge(symbols[position], symbols[Int(next[position])])
                if value != MergeTable.noMerge { heap.push(value: value, position: Int32(position)) }
            }
        }
        var i = n > 0 ? 0 : -1
        while i >= 0 {
            ids.append(Int(symbols[i]))
            i = Int(next[i])
        }
    }
}

/// Reusable buffers for `BytePairEncoder`'s linear path, grown to the longest piece seen; one per
/// `encode` call, so the tokenizer itself stays immutable.
struct BPEScratch: ~Copyable {
    private(set) var symbols: UnsafeMutableBufferPointer<Int32>
    private(set) var pairValues: UnsafeMutableBufferPointer<UInt64>

    init() {
        symbols = .allocate(capacity: BytePairEncoder.linearLimit)
        pairValues = .allocate(capacity: BytePairEncoder.linearLimit)
    }

    mutating func reserve(_ count: Int) {
        guard count > symbols.count else { return }
        symbols.deallocate()
        pairValues.deallocate()
        symbols = .allocate(capacity: count)
        pairValues = .allocate(capacity: count)
    }

    deinit {
        symbols.deallocate()
        pairValues.deallocate()
    }
}

/// A binary min-heap of merge candidates ordered by (rank, position).
struct MergeHeap {
    private var keys: [UInt64] = []   // rank << 32 | position
    private var values: [UInt64] = []  // the merge value the candidate saw

    mutating func push(value: UInt64, position: Int32) {
        var i = keys.count
        keys.append(value & 0xFFFF_FFFF_0000_0000 | UInt64(UInt32(position)))
        values.append(value)
        while i > 0 {
            let parent = (i - 1) / 2
            guard keys[i] < keys[parent] else { break }
            keys.swapAt(i, parent)
            values.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> (value: UInt64, position: Int32)? {
        guard let first = keys.first else { return nil }
        let result = (value: values[0], position: Int32(truncatingIfNeeded: first & 0xFFFF_FFFF))
        let lastKey = keys.removeLast(), lastValue = values.removeLast()
        if !keys.isEmpty {
            keys[0] = lastKey
            values[0] = lastValue
            var i = 0
            while true {
                let left = 2 * i + 1, right = left + 1
                var smallest = i
                if left < keys.count && keys[left] < keys[smallest] { smallest = left }
                if right < keys.count && keys[right] < keys[smallest] { smallest = right }
                if smallest == i { break }
                keys.swapAt(i, smallest)
                values.swapAt(i, smallest)
                i = smallest
            }
        }
        return result
    }
}
