/// The BPE merges as a hash map from an adjacent pair of ids to the merge's rank and result.
///
/// Keys pack the pair as `left << 32 | right`, values as `rank << 32 | result`, so comparing two
/// values compares ranks first. Linear probing over a power-of-two table at most half full.
struct MergeTable: Sendable {
    /// Returned for a pair that has no merge; larger than every real value.
    static let noMerge = UInt64.max

    private let keys: [UInt64]
    private let values: [UInt64]
    private let shift: UInt64
    let count: Int

    /// - Parameter merges: in rank order, `(left, right, result)` ids. A pair listed twice keeps
    ///   its last rank and result, as a hash map filled in order does in Hugging Face tokenizers.
    init(merges: [(left: Int32, right: Int32, result: Int32)]) {
        var bits: UInt64 = 4
        while (1 << bits) < merges.count * 2 { bits += 1 }
        let capacity = 1 << Int(bits)
        var keys = [UInt64](repeating: Self.noMerge, count: capacity)
        var values = [UInt64](repeating: Self.noMerge, count: capacity)
        let shift = 64 - bits
        let mask = capacity - 1
        var count = 0
        for (rank, merge) in merges.enumerated() {
            let key = UInt64(UInt32(merge.left)) << 32 | UInt64(UInt32(merge.right))
            var slot = Self.slot(for: key, shift: shift)
            while keys[slot] != Self.noMerge && keys[slot] != key { slot = (slot + 1) & mask }
            if keys[slot] == Self.noMerge { count += 1 }
            keys[slot] = key
            values[slot] = UInt64(rank) << 32 | UInt64(UInt32(merge.result))
        }
        self.keys = keys
        self.values = values
        self.shift = shift
        self.count = count
    }

    @inline(__always)
    private static func slot(for key: UInt64, shift: UInt64) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    /// A read-only view for the encoder's inner loop.
    func withLookup<R>(_ body: (MergeLookup) throws -> R) rethrows -> R {
        try keys.withUnsafeBufferPointer { keys in
            try values.withUnsafeBufferPointer { values in
                try body(MergeLookup(keys: keys, values: values, shift: shift))
            }
        }
    }
}

/// Borrowed pointers into a `MergeTable`, valid inside `MergeTable.withLookup`.
struct MergeLookup {
    let keys: UnsafeBufferPointer<UInt64>
    let values: UnsafeBufferPointer<UInt64>
    let shift: UInt64

    /// `rank << 32 | result` of merging `left` then `right`, or `MergeTable.noMerge`.
    @inline(__always)
    func merge(_ left: Int32, _ right: Int32) -> UInt64 {
        let key = UInt64(UInt32(left)) << 32 | UInt64(UInt32(right))
        let mask = keys.count - 1
        var slot = Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
        while true {
            let found = keys[slot]
            if found == key { return values[slot] }
            if found == MergeTable.noMerge { return MergeTable.noMerge }
            slot = (slot + 1) & mask
        }
    }
}
