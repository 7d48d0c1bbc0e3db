/// A set of token ids as a bit per id: what a `TokenConstraint` allows next.
public struct TokenMask: Sendable, Equatable {
    public let count: Int
    public private(set) var words: [UInt64]

    /// A mask over ids `0..<count`, every id allowed or none.
    public init(count: Int, allowsAll: Bool = false) {
        self.count = count
        words = [UInt64](repeating: allowsAll ? ~0 : 0, count: (count + 63) / 64)
        if allowsAll, count % 64 != 0 { words[words.count - 1] = (1 << UInt64(count % 64)) - 1 }
    }

    public subscript(id: Int) -> Bool {
        guard id >= 0 && id < count else { return false }
        return words[id >> 6] & (1 << UInt64(id & 63)) != 0
    }

    public mutating func insert(_ id: Int) {
        guard id >= 0 && id < count else { return }
        words[id >> 6] |= 1 << UInt64(id & 63)
    }

    public mutating func remove(_ id: Int) {
        guard id >= 0 && id < count else { return }
        words[id >> 6] &= ~(1 << UInt64(id & 63))
    }

    /// Adds every id of `other` (a mask of the same count).
    public mutating func formUnion(_ other: TokenMask) {
        let n = min(words.count, other.words.count)
        words.withUnsafeMutableBufferPointer { mine in
            other.words.withUnsafeBufferPointer { theirs in
                for index in 0..<n { mine[index] |= theirs[index] }
            }
        }
    }

    public var isEmpty: Bool { words.allSatisfy { $0 == 0 } }

    /// How many ids are allowed.
    public var allowedCount: Int { words.reduce(0) { $0 + $1.nonzeroBitCount } }

    /// The allowed ids in increasing order.
    public var allowedIDs: [Int] {
        var ids: [Int] = []
        for (index, word) in words.enumerated() where word != 0 {
            var bits = word
            while bits != 0 {
                ids.append(index * 64 + bits.trailingZeroBitCount)
                bits &= bits - 1
            }
        }
        return ids
    }
}
