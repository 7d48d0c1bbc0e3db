#!/usr/bin/env python3
"""Writes tiny-phi4 as llama.cpp's convert_hf_to_gguf.py writes a Phi-4-mini (`--outtype bf16`),
with the gguf package: architecture `phi3`, fused `attn_qkv` and gate|up `ffn_up` as they are in
the safetensors, matrices in BF16 (bits copied, no rounding), norms and the LongRoPE factor
tensors `rope_factors_long/short.weight` in F32, no `output.weight` (tied embeddings), and the
GPT-2-style tokenizer of Phi-4-mini (`gpt-4o` pre-tokenizer) from its tokenizer.json.

Usage: write_tiny_phi4.py MODEL_DIR TOKENIZER_DIR OUT.gguf
"""
import json
import math
import struct
import sys
from pathlib import Path

import numpy as np
import gguf


def read_safetensors(path: Path) -> dict[str, tuple[str, list[int], np.ndarray]]:
    """name -> (dtype, shape, raw bytes as uint8), read without torch."""
    raw = path.read_bytes()
    (header_length,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + header_length])
    data = np.frombuffer(raw, dtype=np.uint8, offset=8 + header_length)
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        tensors[name] = (entry["dtype"], entry["shape"], data[begin:end])
    return tensors


def gguf_name(name: str) -> str:
    """convert_hf_to_gguf's tensor map for Phi3 (gguf.TensorNameMap)."""
    fixed = {"model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight",
             "lm_head.weight": "output.weight"}
    if name in fixed:
        return fixed[name]
    parts = name.split(".")  # model.layers.N.<module>...
    layer, module = parts[2], ".".join(parts[3:])
    per_layer = {"input_layernorm.weight": "attn_norm.weight", "self_attn.qkv_proj.weight": "attn_qkv.weight",
                 "self_attn.o_proj.weight": "attn_output.weight", "post_attention_layernorm.weight": "ffn_norm.weight",
                 "mlp.gate_up_proj.weight": "ffn_up.weight", "mlp.down_proj.weight": "ffn_down.weight"}
    return f"blk.{layer}.{per_layer[module]}"


def add_tokenizer(writer: gguf.GGUFWriter, tokenizer_dir: Path, vocab_size: int) -> None:
    """convert_hf_to_gguf's _set_vocab_gpt2 for Phi-4-mini."""
    tokenizer = json.loads((tokenizer_dir / "tokenizer.json").read_text(encoding="utf-8"))
    config = json.loads((tokenizer_dir / "tokenizer_config.json").read_text(encoding="utf-8"))
    by_id = {index: text for text, index in tokenizer["model"]["vocab"].items()}
    added = {entry["id"]: entry for entry in tokenizer["added_tokens"]}
    tokens, types = [], []
    for index in range(vocab_size):
        if index in added:
            tokens.append(added[index]["content"])
            types.append(gguf.TokenType.CONTROL if added[index]["special"] else gguf.TokenType.USER_DEFINED)
        elif index in by_id:
            tokens.append(by_id[index])
            types.append(gguf.TokenType.NORMAL)
        else:
            tokens.append(f"[PAD{index}]")
            types.append(gguf.TokenType.UNUSED)
    merges = [" ".join(pair) if isinstance(pair, list) else pair for pair in tokenizer["model"]["merges"]]
    special = {text: index for index, text in enumerate(tokens) if types[index] == gguf.TokenType.CONTROL}
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("gpt-4o")
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges(merges)
    writer.add_bos_token_id(special[config["bos_token"]])
    writer.add_eos_token_id(special[config["eos_token"]])
    writer.add_unk_token_id(special[config["unk_token"]])
    writer.add_pad_token_id(special[config["pad_token"]])
    writer.add_add_bos_token(config["add_bos_token"])
    writer.add_add_eos_token(config["add_eos_token"])
    writer.add_chat_template(config["chat_template"])


def main() -> None:
    model_dir, tokenizer_dir, out = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    config = json.loads((model_dir / "config.json").read_text())
    scaling = config["rope_scaling"]
    hidden, heads = config["hidden_size"], config["num_attention_heads"]
    rope_dims = int(config["partial_rotary_factor"] * hidden) // heads
    max_positions = config["max_position_embeddings"]
    original_positions = config["original_max_position_embeddings"]

    writer = gguf.GGUFWriter(out, "phi3")
    writer.add_name("tiny-phi4")
    writer.add_context_length(max_positions)
    writer.add_rope_scaling_orig_ctx_len(original_positions)
    writer.add_embedding_length(hidden)
    writer.add_feed_forward_length(config["intermediate_size"])
    writer.add_block_count(config["num_hidden_layers"])
    writer.add_head_count(heads)
    writer.add_head_count_kv(config["num_key_value_heads"])
    writer.add_layer_norm_rms_eps(config["rms_norm_eps"])
    writer.add_rope_dimension_count(rope_dims)
    writer.add_rope_freq_base(config["rope_theta"])
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_BF16)
    writer.add_sliding_window(config["sliding_window"])
    scale = max_positions / original_positions
    writer.add_rope_scaling_attn_factors(math.sqrt(1 + math.log(scale) / math.log(original_positions)) if scale > 1 else 1.0)
    add_tokenizer(writer, tokenizer_dir, config["vocab_size"])

    for name, (dtype, shape, data) in read_safetensors(model_dir / "model.safetensors").items():
        assert dtype == "BF16", (name, dtype)
        target = gguf_name(name)
        if len(shape) == 1:  # norms: F32, widened exactly from bf16
            writer.add_tensor(target, (data.view("<u2").astype(np.uint32) << 16).view("<f4"))
        else:
            writer.add_tensor(target, data.reshape(shape[0], shape[1] * 2), raw_dtype=gguf.GGMLQuantizationType.BF16)
    writer.add_tensor("rope_factors_long.weight", np.array(scaling["long_factor"], dtype=np.float32))
    writer.add_tensor("rope_factors_short.weight", np.array(scaling["short_factor"], dtype=np.float32))

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


if __name__ == "__main__":
    main()
