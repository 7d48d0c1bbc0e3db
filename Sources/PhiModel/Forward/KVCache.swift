/// The keys and values of one session for the layers of one stage, sized up front for the
/// session's context budget. Positions `0..<tokenCount` hold valid entries in every layer.
/// Each KV head's keys (and values) are contiguous, one `rowBytes` vector a position in the
/// cache's `format`, so attention streams them without striding over the other heads.
/// Storage is anonymous memory the kernel commits page by page as positions fill, so a large
/// budget costs address space, not resident memory, until it is used.
public struct KVCache: Sendable {
    public let layers: Range<Int>
    /// Positions the cache can hold: the session's context budget.
    public let capacity: Int
    public let format: KVFormat
    /// Floats of K (and of V) per position per layer before storage: kvHeads × headDim.
    public let rowWidth: Int
    let headDim: Int
    let kvHeads: Int
    /// Bytes of one head's vector at one position.
    let rowBytes: Int
    public private(set) var tokenCount: Int = 0
    /// Which LongRoPE factors the cached keys were rotated with (nil while empty).
    public private(set) var ropeFactors: RopeFactorSet?
    private var storage: KVStorage

    public init(config: ModelConfig, layers: Range<Int>, capacity: Int, format: KVFormat = .f32) throws {
        guard capacity > 0 else { throw KVCacheError.invalidCapacity(capacity) }
        self.layers = layers
        self.capacity = capacity
        self.format = format
        rowWidth = config.kvHeadCount * config.headDim
        headDim = config.headDim
        kvHeads = config.kvHeadCount
        rowBytes = format.rowBytes(headDim: config.headDim)
        storage = try KVStorage(byteCount: Self.bytes(config: config, format: format, layerCount: layers.count, tokens: capacity))
    }

    /// Bytes a cache of `tokens` positions over `layerCount` layers takes in `format`: what
    /// `init` reserves, and what the memory planner counts.
    public static func bytes(config: ModelConfig, format: KVFormat = .f32, layerCount: Int, tokens: Int) -> Int {
        layerCount * tokens * format.bytesPerTokenPerLayer(config: config)
    }

    /// Bytes this cache reserved.
    public var reservedBytes: Int { storage.byteCount }

    /// Bytes its valid positions occupy.
    public var usedBytes: Int { 2 * layers.count * kvHeads * tokenCount * rowBytes }

    /// Forgets every position at and beyond `tokens` (kept positions stay valid).
    public mutating func truncate(toTokens tokens: Int) {
        tokenCount = min(tokenCount, max(0, tokens))
        if tokenCount == 0 { ropeFactors = nil }
    }

    /// The bytes of one head's keys (`isValue` false) or values in `layer`: `capacity` rows.
    func region(layer: Int, kvHead: Int, isValue: Bool) -> UnsafeMutableRawPointer {
        let index = (2 * (layer - layers.lowerBound) + (isValue ? 1 : 0)) * kvHeads + kvHead
        return storage.pointer + index * capacity * rowBytes
    }

    /// Keys of KV head `kvHead` of `layer`: `capacity` rows of `rowBytes`.
    func keys(layer: Int, kvHead: Int) -> UnsafeMutableRawPointer { region(layer: layer, kvHead: kvHead, isValue: false) }

    func values(layer: Int, kvHead: Int) -> UnsafeMutableRawPointer { region(layer: layer, kvHead: kvHead, isValue: true) }

    /// Regions (layer, K then V, KV head) in storage order, for snapshots.
    var regionCount: Int { 2 * layers.count * kvHeads }

    /// Checks that `positions` can be written next with `factors`, before any layer runs.
    public func checkAppend(positions: Range<Int>, factors: RopeFactorSet) throws {
        guard positions.lowerBound <= tokenCount else {
            throw KVCacheError.gap(cachedTokens: tokenCount, firstPosition: positions.lowerBound)
        }
        guard positions.upperBound <= capacity else {
            throw KVCacheError.full(capacity: capacity, requestedPosition: positions.upperBound - 1)
        }
        if positions.lowerBound > 0, let ropeFactors, ropeFactors != factors {
            throw KVCacheError.mixedRopeFactors(cached: ropeFactors, requested: factors)
        }
    }

    /// Records that every layer now holds `positions`; whatever was cached beyond them belonged
    /// to another continuation and is dropped.
    mutating func commit(positions: Range<Int>, factors: RopeFactorSet) {
        tokenCount = positions.upperBound
        ropeFactors = factors
    }

    /// Makes the storage unique before writing (copies share storage until one writes).
    mutating func prepareForWriting() throws {
        if !isKnownUniquelyReferenced(&storage) { storage = try storage.copy() }
    }
}

public enum KVCacheError: Error, Equatable, CustomStringConvertible {
    case invalidCapacity(Int)
    case full(capacity: Int, requestedPosition: Int)
    case gap(cachedTokens: Int, firstPosition: Int)
    case mixedRopeFactors(cached: RopeFactorSet, requested: RopeFactorSet)
    case outOfMemory(bytes: Int)

    public var description: String {
        switch self {
        case let .invalidCapacity(capacity): "a KV cache needs a positive context budget, not \(capacity)"
        case let .full(capacity, position): "position \(position) is beyond the session's context budget of \(capacity) tokens"
        case let .gap(cached, first): "the cache holds \(cached) positions; position \(first) would leave a gap"
        case let .mixedRopeFactors(cached, requested):
            "the cache was built with the \(cached.rawValue) LongRoPE factors; appending with the \(requested.rawValue) ones needs a re-prefill"
        case let .outOfMemory(bytes): "cannot reserve \(bytes) bytes for the KV cache"
        }
    }
}

/// Page-backed storage of a KV cache.
final class KVStorage: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
    let byteCount: Int

    init(byteCount: Int) throws {
        self.byteCount = byteCount
        pointer = try AnonymousMemory.allocate(bytes: byteCount)
    }

    func copy() throws -> KVStorage {
        let copy = try KVStorage(byteCount: byteCount)
        copy.pointer.copyMemory(from: pointer, byteCount: byteCount)
        return copy
    }

    deinit { AnonymousMemory.free(pointer, bytes: byteCount) }
}
