/// The keys and values of one session for the layers of one stage, sized up front for the
/// session's context budget. Positions `0..<tokenCount` hold valid entries in every layer.
/// Each KV head's keys (and values) are contiguous, `headDim` floats a position, so attention
/// streams them without striding over the other heads.
/// Storage is anonymous memory the kernel commits page by page as positions fill, so a large
/// budget costs address space, not resident memory, until it is used.
public struct KVCache: Sendable {
    public let layers: Range<Int>
    /// Positions the cache can hold: the session's context budget.
    public let capacity: Int
    /// Floats of K (and of V) per position per layer: kvHeads × headDim.
    public let rowWidth: Int
    let headDim: Int
    public private(set) var tokenCount: Int = 0
    /// Which LongRoPE factors the cached keys were rotated with (nil while empty).
    public private(set) var ropeFactors: RopeFactorSet?
    private var storage: KVStorage

    public init(config: ModelConfig, layers: Range<Int>, capacity: Int) throws {
        guard capacity > 0 else { throw KVCacheError.invalidCapacity(capacity) }
        self.layers = layers
        self.capacity = capacity
        rowWidth = config.kvHeadCount * config.headDim
        headDim = config.headDim
        storage = try KVStorage(floatCount: 2 * layers.count * capacity * rowWidth)
    }

    /// Bytes a cache of `tokens` positions over `layerCount` layers takes in f32.
    public static func bytes(config: ModelConfig, layerCount: Int, tokens: Int) -> Int {
        2 * layerCount * tokens * config.kvHeadCount * config.headDim * MemoryLayout<Float>.size
    }

    /// Bytes this cache reserved.
    public var reservedBytes: Int { storage.floatCount * MemoryLayout<Float>.size }

    /// Forgets every position at and beyond `tokens` (kept positions stay valid).
    public mutating func truncate(toTokens tokens: Int) {
        tokenCount = min(tokenCount, max(0, tokens))
        if tokenCount == 0 { ropeFactors = nil }
    }

    /// Keys of KV head `kvHead` of `layer`: `capacity` positions of `headDim` floats.
    func keys(layer: Int, kvHead: Int) -> UnsafeMutablePointer<Float> {
        storage.pointer + ((2 * (layer - layers.lowerBound)) * capacity * rowWidth + kvHead * capacity * headDim)
    }

    func values(layer: Int, kvHead: Int) -> UnsafeMutablePointer<Float> {
        storage.pointer + ((2 * (layer - layers.lowerBound) + 1) * capacity * rowWidth + kvHead * capacity * headDim)
    }

    /// Checks that `positions` can be written next with `factors`, before any layer runs.
    func checkAppend(positions: Range<Int>, factors: RopeFactorSet) throws {
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

/// Page-backed float storage of a KV cache.
final class KVStorage: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Float>
    let floatCount: Int

    init(floatCount: Int) throws {
        self.floatCount = floatCount
        pointer = try AnonymousMemory.allocate(bytes: floatCount * MemoryLayout<Float>.size).assumingMemoryBound(to: Float.self)
    }

    func copy() throws -> KVStorage {
        let copy = try KVStorage(floatCount: floatCount)
        copy.pointer.update(from: pointer, count: floatCount)
        return copy
    }

    deinit { AnonymousMemory.free(UnsafeMutableRawPointer(pointer), bytes: floatCount * MemoryLayout<Float>.size) }
}
