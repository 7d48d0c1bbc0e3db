/// The bytes of every token id, stored back to back, with a hash index from bytes to id.
///
/// Byte-level BPE vocabularies are written in GPT-2's printable alphabet; this table holds the raw
/// bytes instead, so the encoder looks pieces of the input up without building strings.
struct TokenByteTable: Sendable {
    /// All tokens' bytes, concatenated in id order.
    let bytes: [UInt8]
    /// `starts[id] ..< starts[id + 1]` are the bytes of `id`; empty for an id without text.
    let starts: [Int32]
    /// Open-addressing index over the encodable ids: slot holds an id or -1.
    private let slots: [Int32]
    private let slotMask: Int

    /// - Parameters:
    ///   - bytes: every id's bytes, back to back in id order.
    ///   - starts: `starts[id] ..< starts[id + 1]` is `id`'s range of `bytes`; one more than the ids.
    ///   - isEncodable: ids the encoder may find by their bytes (those whose vocabulary string was
    ///     written in the byte-level alphabet); the first id of a byte string wins.
    init(bytes: [UInt8], starts: [Int32], isEncodable: [Bool]) {
        let count = starts.count - 1
        var capacity = 16
        while capacity < count * 2 { capacity <<= 1 }
        var slots = [Int32](repeating: -1, count: capacity)
        let mask = capacity - 1
        bytes.withUnsafeBufferPointer { all in
            for id in 0..<count where isEncodable[id] && starts[id + 1] > starts[id] {
                let start = Int(starts[id]), length = Int(starts[id + 1]) - start
                let key = UnsafeBufferPointer(rebasing: all[start..<start + length])
                var slot = Self.hash(key) & mask
                var isDuplicate = false
                while slots[slot] >= 0 {
                    let other = Int(slots[slot])
                    let otherStart = Int(starts[other])
                    if Int(starts[other + 1]) - otherStart == length
                        && key.elementsEqual(all[otherStart..<otherStart + length]) {
                        isDuplicate = true
                        break
                    }
                    slot = (slot + 1) & mask
                }
                if !isDuplicate { slots[slot] = Int32(id) }
            }
        }
        self.bytes = bytes
        self.starts = starts
        self.slots = slots
        self.slotMask = mask
    }

    var count: Int { starts.count - 1 }

    /// The bytes of `id` (empty when the id has no text); `id` must be in 0..<count.
    func tokenBytes(_ id: Int) -> ArraySlice<UInt8> {
        bytes[Int(starts[id])..<Int(starts[id + 1])]
    }

    /// The encodable id whose bytes are exactly `key`, if any.
    func id(of key: UnsafeBufferPointer<UInt8>) -> Int? {
        bytes.withUnsafeBufferPointer { all in
            starts.withUnsafeBufferPointer { starts in
                slots.withUnsafeBufferPointer { slots in
                    var slot = Self.hash(key) & slotMask
                    while slots[slot] >= 0 {
                        let id = Int(slots[slot])
                        let start = Int(starts[id]), count = Int(starts[id + 1]) - start
                        if count == key.count {
                            var j = 0
                            while j < count && all[start + j] == key[j] { j += 1 }
                            if j == count { return id }
                        }
                        slot = (slot + 1) & slotMask
                    }
                    return nil
                }
            }
        }
    }

    /// The encodable id whose bytes are exactly `key`, if any.
    func id(of key: [UInt8]) -> Int? {
        key.withUnsafeBufferPointer { id(of: $0) }
    }

    /// FNV-1a over the bytes: the index is built once and probed only while loading and for
    /// whole-piece lookups, so a simple hash is enough.
    static func hash(_ key: UnsafeBufferPointer<UInt8>) -> Int {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in key { h = (h ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return Int(truncatingIfNeeded: h ^ (h >> 29))
    }
}
