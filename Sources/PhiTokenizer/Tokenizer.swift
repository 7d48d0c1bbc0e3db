/// Byte-level BPE tokenizer of Phi-4-mini (placeholder until the tokenizer lands).
public struct Tokenizer: Sendable {}
