/// Remembers the ids of pieces already merged during one `encode` call.
///
/// Text repeats its words: on the 13 MB benchmark corpus most pieces were seen before, and a
/// lookup here (one hash of a few words, one probe in a table that stays in cache) is several
/// times cheaper than merging again through the 8 MB merge table. It lives only as long as the
/// call, so the tokenizer stays immutable and shareable.
struct PieceCache {
    /// Longer pieces are rare and would fill the cache with one-offs.
    static let maxPieceBytes = 32
    /// Entries kept at most; past this, new pieces are merged but not remembered.
    static let maxEntries = 1 << 16

    /// Entry index or -1, open addressing, twice `maxEntries` so probes stay short.
    private var slots = [Int32](repeating: -1, count: 2 * PieceCache.maxEntries)
    private var keyBytes: [UInt8] = []
    /// Per entry: where its key starts in `keyBytes` and its ids in `ids`; one extra at the end.
    private var keyStarts: [Int32] = [0]
    private var idStarts: [Int32] = [0]
    private var ids: [Int32] = []

    private var mask: Int { slots.count - 1 }

    /// Appends the remembered ids of `piece` to `output` and returns true, or returns false.
    @inline(__always)
    func appendIDs(of piece: UnsafeBufferPointer<UInt8>, hash: Int, to output: inout [Int]) -> Bool {
        var slot = hash & mask
        while true {
            let entry = Int(slots[slot])
            if entry < 0 { return false }
            let start = Int(keyStarts[entry])
            if Int(keyStarts[entry + 1]) - start == piece.count && keyMatches(start, piece) {
                for i in Int(idStarts[entry])..<Int(idStarts[entry + 1]) { output.append(Int(ids[i])) }
                return true
            }
            slot = (slot + 1) & mask
        }
    }

    /// Remembers `pieceIDs` for `piece` (a piece not yet in the cache), while there is room.
    mutating func insert(_ piece: UnsafeBufferPointer<UInt8>, hash: Int, ids pieceIDs: ArraySlice<Int>) {
        let entry = keyStarts.count - 1
        guard entry < Self.maxEntries else { return }
        var slot = hash & mask
        while slots[slot] >= 0 { slot = (slot + 1) & mask }
        slots[slot] = Int32(entry)
        keyBytes.append(contentsOf: piece)
        keyStarts.append(Int32(keyBytes.count))
        for id in pieceIDs { ids.append(Int32(truncatingIfNeeded: id)) }
        idStarts.append(Int32(ids.count))
    }

    @inline(__always)
    private func keyMatches(_ start: Int, _ piece: UnsafeBufferPointer<UInt8>) -> Bool {
        var i = 0
        while i < piece.count {
            if keyBytes[start + i] != piece[i] { return false }
            i += 1
        }
        return true
    }

    /// A hash of a piece of at most `maxPieceBytes`, eight bytes at a time.
    @inline(__always)
    static func hash(_ piece: UnsafeBufferPointer<UInt8>) -> Int {
        guard let base = piece.baseAddress else { return 0 }
        let raw = UnsafeRawPointer(base)
        var h = UInt64(truncatingIfNeeded: piece.count) &* 0x9E37_79B9_7F4A_7C15
        var i = 0
        while i + 8 <= piece.count {
            h = (h ^ raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0xBF58_476D_1CE4_E5B9
            h ^= h >> 31
            i += 8
        }
        var tail: UInt64 = 0
        var shift: UInt64 = 0
        while i < piece.count {
            tail |= UInt64(piece[i]) << shift
            shift += 8
            i += 1
        }
        h = (h ^ tail) &* 0x94D0_49BB_1331_11EB
        return Int(truncatingIfNeeded: h ^ (h >> 29))
    }
}
