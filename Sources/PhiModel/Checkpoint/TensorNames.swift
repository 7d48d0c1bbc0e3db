/// Every checkpoint tensor name the engine reads, per checkpoint layout, in one table
/// (as llama.cpp keeps its names in llama-arch.cpp).
public enum CheckpointLayout: String, Sendable, Equatable {
    /// Hugging Face `Phi3ForCausalLM` safetensors: fused `qkv_proj` and `gate_up_proj`.
    case huggingFacePhi3
    /// GGUF `phi3` as llama.cpp writes Phi-4-mini: fused `attn_qkv`, gate|up fused in `ffn_up`.
    case ggufPhi3
    /// GGUF `llama`: separate q/k/v and gate/up, q and k rows permuted for GGML's RoPE.
    case ggufLlama
}

/// One stored tensor contributing rows to a fused matrix, optionally with GGML's RoPE row
/// permutation of q/k undone (`headCount` heads of `headDim` rows each).
public struct TensorPart: Sendable, Equatable {
    public let name: String
    public let unpermuteHeads: Int?

    init(_ name: String, unpermuteHeads: Int? = nil) {
        self.name = name
        self.unpermuteHeads = unpermuteHeads
    }
}

public enum TensorNames {
    public static func embedding(_ layout: CheckpointLayout) -> String {
        layout == .huggingFacePhi3 ? "model.embed_tokens.weight" : "token_embd.weight"
    }

    public static func finalNorm(_ layout: CheckpointLayout) -> String {
        layout == .huggingFacePhi3 ? "model.norm.weight" : "output_norm.weight"
    }

    /// The untied output projection (absent when embeddings are tied).
    public static func head(_ layout: CheckpointLayout) -> String {
        layout == .huggingFacePhi3 ? "lm_head.weight" : "output.weight"
    }

    public static func attentionNorm(_ layout: CheckpointLayout, layer: Int) -> String {
        layout == .huggingFacePhi3 ? "model.layers.\(layer).input_layernorm.weight" : "blk.\(layer).attn_norm.weight"
    }

    public static func mlpNorm(_ layout: CheckpointLayout, layer: Int) -> String {
        layout == .huggingFacePhi3 ? "model.layers.\(layer).post_attention_layernorm.weight" : "blk.\(layer).ffn_norm.weight"
    }

    /// Rows q (heads × headDim), k, v (kvHeads × headDim each), in that order.
    public static func qkv(_ layout: CheckpointLayout, layer: Int, config: ModelConfig) -> [TensorPart] {
        switch layout {
        case .huggingFacePhi3: [TensorPart("model.layers.\(layer).self_attn.qkv_proj.weight")]
        case .ggufPhi3: [TensorPart("blk.\(layer).attn_qkv.weight")]
        case .ggufLlama: [
            TensorPart("blk.\(layer).attn_q.weight", unpermuteHeads: config.headCount),
            TensorPart("blk.\(layer).attn_k.weight", unpermuteHeads: config.kvHeadCount),
            TensorPart("blk.\(layer).attn_v.weight"),
        ]
        }
    }

    public static func attentionOutput(_ layout: CheckpointLayout, layer: Int) -> String {
        layout == .huggingFacePhi3 ? "model.layers.\(layer).self_attn.o_proj.weight" : "blk.\(layer).attn_output.weight"
    }

    /// Rows gate (intermediate), then up (intermediate).
    public static func gateUp(_ layout: CheckpointLayout, layer: Int) -> [TensorPart] {
        switch layout {
        case .huggingFacePhi3: [TensorPart("model.layers.\(layer).mlp.gate_up_proj.weight")]
        case .ggufPhi3: [TensorPart("blk.\(layer).ffn_up.weight")]
        case .ggufLlama: [TensorPart("blk.\(layer).ffn_gate.weight"), TensorPart("blk.\(layer).ffn_up.weight")]
        }
    }

    public static func down(_ layout: CheckpointLayout, layer: Int) -> String {
        layout == .huggingFacePhi3 ? "model.layers.\(layer).mlp.down_proj.weight" : "blk.\(layer).ffn_down.weight"
    }

    /// Every tensor of `layer`, for fingerprints and slice accounting.
    public static func layerTensors(_ layout: CheckpointLayout, layer: Int, config: ModelConfig) -> [String] {
        [attentionNorm(layout, layer: layer)] + qkv(layout, layer: layer, config: config).map(\.name)
            + [attentionOutput(layout, layer: layer), mlpNorm(layout, layer: layer)]
            + gateUp(layout, layer: layer).map(\.name) + [down(layout, layer: layer)]
    }
}
