/// Element type of a KV cache.
public enum KVFormat: String, Sendable, Equatable, CaseIterable, Codable {
    case f32
    case f16
    /// GGML's q8_0 blocks of 32 values with an f16 scale (34 bytes per 32 values).
    case q8_0

    /// Bytes taken by `values` values (a multiple of 32 for q8_0).
    public func bytes(values: Int) -> Int {
        switch self {
        case .f32: values * 4
        case .f16: values * 2
        case .q8_0: (values + 31) / 32 * 34
        }
    }
}
