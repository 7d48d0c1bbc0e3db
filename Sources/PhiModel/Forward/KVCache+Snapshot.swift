/// The stored bytes of a cache's positions, for checkpoints of long jobs: region after region
/// (layer, its keys then its values, KV head after KV head), each region's rows of the positions.
/// Reading them back into a cache of the same shape and format restores it exactly.
extension KVCache {
    /// Regions of a snapshot: 2 (keys, values) × layers × KV heads.
    public var snapshotRegionCount: Int { regionCount }
    /// Bytes of one position's row in a region: one head vector in the cache's format.
    public var snapshotRowBytes: Int { rowBytes }

    /// Bytes of a snapshot of `positions`.
    public func snapshotBytes(positions: Range<Int>) -> Int { regionCount * positions.count * rowBytes }

    /// Hands `body` each region's rows of `positions` in snapshot order. Throws
    /// `KVCacheError.gap` when the cache does not hold every one of them.
    public func withSnapshotRegions(positions: Range<Int>, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard positions.lowerBound >= 0, positions.upperBound <= tokenCount else {
            throw KVCacheError.gap(cachedTokens: tokenCount, firstPosition: positions.upperBound - 1)
        }
        for index in 0..<regionCount {
            try body(UnsafeRawBufferPointer(start: regionStart(index) + positions.lowerBound * rowBytes,
                                            count: positions.count * rowBytes))
        }
    }

    /// Makes the cache hold `tokens` positions computed with `ropeFactors`: `fill` writes each
    /// region's rows `0..<tokens`, given the region's index in snapshot order. Throws when
    /// `tokens` exceeds the capacity, or what `fill` throws (the cache is then left empty).
    public mutating func restore(tokens: Int, ropeFactors: RopeFactorSet,
                                 fill: (Int, UnsafeMutableRawBufferPointer) throws -> Void) throws {
        guard tokens <= capacity else { throw KVCacheError.full(capacity: capacity, requestedPosition: tokens - 1) }
        try prepareForWriting()
        truncate(toTokens: 0)
        for index in 0..<regionCount {
            try fill(index, UnsafeMutableRawBufferPointer(start: regionStart(index), count: tokens * rowBytes))
        }
        if tokens > 0 { commit(positions: 0..<tokens, factors: ropeFactors) }
    }

    private func regionStart(_ index: Int) -> UnsafeMutableRawPointer {
        let perLayer = 2 * kvHeads
        let layer = layers.lowerBound + index / perLayer
        let within = index % perLayer
        return region(layer: layer, kvHead: within % kvHeads, isValue: within >= kvHeads)
    }
}
