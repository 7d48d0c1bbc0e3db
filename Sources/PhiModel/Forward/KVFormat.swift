import CPhiKernels

/// Element type of a KV cache. Each KV head's vector of `headDim` keys (or values) at a position
/// is stored on its own: f32 (exact, the default), f16 (half the bytes; keys and values rounded to
/// nearest even), or q8_0 (GGML's blocks of 32 values with an f16 scale, 34 bytes a block; a head
/// of fewer than 32 dimensions, like tiny-phi4's 16, takes one zero-padded block so heads never
/// share a scale). Attention reads every format back exactly as stored (`attend_tile_kv`).
public enum KVFormat: String, Sendable, Equatable, CaseIterable, Codable {
    case f32
    case f16
    case q8_0

    /// Bytes of one head vector of `headDim` values (q8_0: whole blocks).
    public func rowBytes(headDim: Int) -> Int { phi_kv_row_bytes(kernelFormat, Int64(headDim)) }

    /// Bytes of K and V of one position in one layer of `config`.
    public func bytesPerTokenPerLayer(config: ModelConfig) -> Int {
        2 * config.kvHeadCount * rowBytes(headDim: config.headDim)
    }

    var kernelFormat: phi_format {
        switch self {
        case .f32: PHI_FORMAT_F32
        case .f16: PHI_FORMAT_F16
        case .q8_0: PHI_FORMAT_Q8_0
        }
    }
}
