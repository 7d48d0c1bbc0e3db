/// The BPE merges as a hash map from an adjacent pair of ids to the merge's rank and result.
///
/// Keys pack the pair as `left << 32 | right`, values as `rank << 32 | result`, so comparing two
/// values compares ranks first. Linear probing over a power-of-two table at most half full; each
/// key sits beside its value so a probe touches one cache line (the table is 8 MB for Phi-4-mini,
/// so most probes miss the cache).
struct MergeTable: Sendable {
    /// Returned for a pair that has no merge; larger than every real value.
    static let noMerge = UInt64.max

    /// `slots[2 * i]` is a key (or `noMerge` when empty), `slots[2 * i + 1]` its value.
    private let slots: [UInt64]
    private let shift: UInt64
    let count: Int

    /// - Parameter merges: in rank order, `(left, right, result)` ids. A pair listed twice keeps
    ///   its last rank and result, as a hash map filled in order does in Hugging Face tokenizers.
    init(merges: [(left: Int32, right: Int32, result: Int32)]) {
        var bits: UInt64 = 4
        while (1 << bits) < merges.count * 2 { bits += 1 }
        let capacity = 1 << Int(bits)
        var slots = [UInt64](repeating: Self.noMerge, count: 2 * capacity)
        let shift = 64 - bits
        let mask = capacity - 1
        var count = 0
        for (rank, merge) in merges.enumerated() {
            let key = UInt64(UInt32(merge.left)) << 32 | UInt64(UInt32(merge.right))
            var slot = Self.slot(for: key, shift: shift)
            while slots[2 * slot] != Self.noMerge && slots[2 * slot] != key { slot = (slot + 1) & mask }
            if slots[2 * slot] == Self.noMerge { count += 1 }
            slots[2 * slot] = key
            slots[2 * slot + 1] = UInt64(rank) << 32 | UInt64(UInt32(merge.result))
        }
        self.slots = slots
        self.shift = shift
        self.count = count
    }

    @inline(__always)
    private static func slot(for key: UInt64, shift: UInt64) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    /// A read-only view for the encoder's inner loop.
    func withLookup<R>(_ body: (MergeLookup) throws -> R) rethrows -> R {
        try slots.withUnsafeBufferPointer { slots in
            try body(MergeLookup(slots: slots, shift: shift))
        }
    }
}

/// Borrowed pointers into a `MergeTable`, valid inside `MergeTable.withLookup`.
struct MergeLookup {
    let slots: UnsafeBufferPointer<UInt64>
    let shift: UInt64

    /// `rank << 32 | result` of merging `left` then `right`, or `MergeTable.noMerge`.
    @inline(__always)
    func merge(_ left: Int32, _ right: Int32) -> UInt64 {
        let key = UInt64(UInt32(left)) << 32 | UInt64(UInt32(right))
        let mask = slots.count / 2 - 1
        var slot = Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
        while true {
            let found = slots[2 * slot]
            if found == key { return slots[2 * slot + 1] }
            if found == MergeTable.noMerge { return MergeTable.noMerge }
            slot = (slot + 1) & mask
        }
    }
}
