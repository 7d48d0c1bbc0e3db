// phi_kernels.h: the C kernels of phi-cluster.
//
// Rules (see STYLE.md): the API takes pointers, counts and strides; it allocates nothing,
// keeps no mutable state and starts no threads. Every kernel has a portable scalar reference;
// SIMD paths (AVX2 on x86_64, NEON with and without dotprod on aarch64) sit beside it and are
// reached through a `phi_kernels` table that the caller selects once at startup (on x86_64 with
// AVX-512F/VL, an "avx512" table: the AVX2 kernels with attention built for AVX-512).
//
// Block layouts are GGML's (ggml-common.h): 32 weights per block with an IEEE f16 scale.
//
// Exactness: every table computes every entry with the same operations in the same order as
// the scalar reference, so all tables give bitwise equal results (finite inputs):
//  - f32/f16/bf16 dot of n elements: eight lanes, element i goes to lane i % 8 as
//    lane = fmaf(w[i], x[i], lane); then ((l0+l4) + (l2+l6)) + ((l1+l5) + (l3+l7)).
//  - q8_0/q4_0 dot: per block an exact integer sum s_b; then, block after block,
//    sum = fmaf((float)s_b, d_w * d_x, sum) (d_w * d_x is exact in float).
//  - exp (softmax, SiLU) is phi_expf, not libm's, and sums of squares and softmax totals
//    use the same eight lanes.
//  - attention folds fixed, absolute blocks of keys in order ("Tiled causal attention" below).
// So a batched prefill, a token-by-token decode, any row split or key split, and any machine agree.
#ifndef PHI_KERNELS_H
#define PHI_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PHI_QK 32  // weights per q8_0 / q4_0 block
#define PHI_REPACK_ROWS 8  // rows interleaved per group by phi_repack

typedef uint16_t phi_f16;   // IEEE 754 binary16 bits
typedef uint16_t phi_bf16;  // bfloat16 bits (upper half of a float32)

/// q8_0: x[i] = d * qs[i]. Values lie in [-127, 127] as GGML's quantizer (and ours) writes
/// them; -128 is outside the format's contract (the AVX2 path's sign trick relies on it).
typedef struct {
    phi_f16 d;
    int8_t qs[PHI_QK];
} phi_block_q8_0;

/// q4_0: x[i] = d * ((nibble) - 8); low nibbles hold elements 0..15, high nibbles 16..31.
typedef struct {
    phi_f16 d;
    uint8_t qs[PHI_QK / 2];
} phi_block_q4_0;

_Static_assert(sizeof(phi_block_q8_0) == 34, "q8_0 block must be 34 bytes as in GGML");
_Static_assert(sizeof(phi_block_q4_0) == 18, "q4_0 block must be 18 bytes as in GGML");

/// Storage formats of a weight matrix row.
typedef enum {
    PHI_FORMAT_F32 = 0,
    PHI_FORMAT_F16 = 1,
    PHI_FORMAT_BF16 = 2,
    PHI_FORMAT_Q8_0 = 3,
    PHI_FORMAT_Q4_0 = 4,
} phi_format;

// ---- Scalar conversions (exact, round-to-nearest-even where narrowing) ----
/// NaNs come out quiet with their payload kept, as F16C and AArch64 FCVT convert them.
float phi_f16_to_f32(phi_f16 h);
phi_f16 phi_f32_to_f16(float f);
float phi_bf16_to_f32(phi_bf16 h);
phi_bf16 phi_f32_to_bf16(float f);

// ---- Row conversions (n elements; quantized formats need n % 32 == 0) ----
/// GGML's quantize_row_q8_0_ref: d = amax / 127, q = roundf(x * (1 / d)).
void phi_quantize_row_q8_0(const float *x, phi_block_q8_0 *y, int64_t n);
/// GGML's quantize_row_q4_0_ref: the value of largest magnitude maps to -8.
void phi_quantize_row_q4_0(const float *x, phi_block_q4_0 *y, int64_t n);
/// Writes n floats of row `x` stored as `format`.
void phi_dequantize_row(phi_format format, const void *x, float *y, int64_t n);

// ---- Small row operations used by the forward pass (scalar references) ----
/// e^x within 1.01 ulp; 0 below -87.33654 (where e^x < FLT_MIN), inf above 88.72283.
float phi_expf(float x);
/// out[i] = weight[i] * (x[i] * (1 / sqrtf(sum(x^2) / n + eps))), sum in the eight lanes.
void phi_rmsnorm(const float *x, const float *weight, float *out, int64_t n, float eps);
/// out[i] = (gate[i] / (1 + phi_expf(-gate[i]))) * up[i]
void phi_swiglu(const float *gate, const float *up, float *out, int64_t n);
/// y[i] += x[i]
void phi_add(float *y, const float *x, int64_t n);

/// Untiled causal attention of one query head over `count` cached positions (keys/values in
/// f32, `stride` floats between consecutive positions): the plain softmax the tiled kernels
/// below are checked against (within a tolerance; they sum in another order). `scores` is
/// caller scratch of `count` floats. out[d] = sum_p softmax(scale * q.k_p)_p * v_p[d], where q.k_p is the f32 dot,
/// the softmax total is summed in the eight lanes (position p in lane p % 8), and out
/// accumulates position after position as out[d] = fmaf(weight_p, v_p[d], out[d]).
void phi_attend_head_f32(const float *q, const float *keys, const float *values, int64_t stride,
                         int64_t count, int64_t head_dim, float scale, float *scores, float *out);

// ---- Repacked (row-interleaved) q8_0 / q4_0 matrices, for the fast matmul ----
// Groups of 8 rows; per group and block one record: the 8 rows' f16 scales, then the quants in
// 4-byte slices, slice after slice, row after row within a slice: q8_0 slice s holds qs[4s..4s+3]
// (8 slices, 272 bytes a record), q4_0 slice s holds qs[4s..4s+3] (4 slices, 144 bytes). A
// SIMD lane then holds one row, so block sums need no horizontal reduction. Rows past the end
// of the matrix are padded with zero blocks. The results equal `dot` on the original rows.

/// Bytes of the repacked form of a rows x cols q8_0/q4_0 matrix (0 for other formats).
size_t phi_repacked_bytes(phi_format format, int64_t rows, int64_t cols);
/// Writes the repacked form of `rows` rows (w_row_bytes apart) into `packed`.
void phi_repack(phi_format format, const void *w, size_t w_row_bytes, int64_t rows, int64_t cols,
                void *packed);
/// Writes the cols floats of row `row` of a repacked matrix (e.g. a tied embedding read back
/// from the repacked output head), equal to phi_dequantize_row on the original row.
void phi_dequantize_repacked_row(phi_format format, const void *packed, int64_t row, int64_t cols,
                                 float *y);

// ---- Tiled causal attention over a KV cache (attention_tiled.c) ----
// Keys are cut into fixed absolute blocks of PHI_ATTN_BLOCK positions: [0, 64), [64, 128), ...
// A query at position p sees positions 0..p, so its last block is clipped at p. Per query head
// and block, the block-local state is
//     s_j = dot(q, k_j) * scale        (the f32 dot's eight lanes, reduced by phi_reduce_lanes)
//     m_b = max_j s_j                  (j over the block's positions <= p)
//     p_j = phi_expf(s_j - m_b)
//     l_b = the eight lanes lane[j % 8] += p_j, j ascending, reduced as the dot is
//     O_b[d] = fmaf(p_j, v_j[d], O_b[d]), j ascending from 0
// and the running state (m, l, acc), empty at first (m = -inf, l = 0, acc = 0), folds the blocks
// left to right:
//     m' = m_b > m ? m_b : m;   a = phi_expf(m - m');   b = phi_expf(m_b - m')
//     l' = fmaf(l, a, l_b * b); acc'[d] = fmaf(acc[d], a, O_b[d] * b)
// (a block without a visible key leaves the state as it is). The output is
//     out[d] = acc[d] * (1 / l).
// So a query's output depends only on its vector, its position and keys/values 0..p: not on the
// tile of queries it is computed with, nor on how the blocks are split between threads (as long
// as block states are folded in block order). A prefill tile, a token-by-token decode and a
// split-K decode give bitwise equal results, on every table.
//
// A state is phi_attend_state_floats(head_dim) floats: m, l, six unused, then acc padded with
// zeros to a multiple of 8. The states of a tile are row after row, row r = token * heads + head.

#define PHI_ATTN_BLOCK 64  // key positions per block

/// Floats of one (token, head) attention state: 8 + head_dim rounded up to a multiple of 8.
int64_t phi_attend_state_floats(int64_t head_dim);
/// Floats of the `work` scratch of attend_tile_kv / attend_blocks_kv for a tile of `tokens`
/// tokens × `heads` query heads: independent of the context length.
int64_t phi_attend_work_floats(int64_t tokens, int64_t heads, int64_t head_dim);
/// Empties `rows` states (m = -inf, l = 0, acc = 0).
void phi_attend_state_init(float *state, int64_t rows, int64_t head_dim);
/// out[t * out_token_stride + h * out_head_stride + d] = acc[d] * (1 / l) of state row t * heads + h.
/// Every state must have folded at least one key.
void phi_attend_finish(const float *state, int64_t tokens, int64_t heads, int64_t head_dim, float *out,
                       int64_t out_token_stride, int64_t out_head_stride);

/// A table of kernels for one instruction set. Each output element of `matmul` is computed
/// exactly as `dot` of the same row computes it, whatever the token count or row range, so a
/// batched prefill and a token-by-token decode give bitwise equal results; and every table
/// gives what the scalar table gives.
typedef struct phi_kernels {
    const char *name;  // "scalar", "avx2", "avx512", "neon", "neon-dotprod"
    /// dot of n elements: float formats take f32 activations, q8_0/q4_0 take q8_0 activations.
    float (*dot)(phi_format format, const void *w, const void *x, int64_t n);
    /// out[t * out_stride + r] = dot(row r of w, row t of x) for r in [row_begin, row_end),
    /// t in [0, tokens). Rows of w are w_row_bytes apart, rows of x are x_row_bytes apart.
    void (*matmul)(phi_format format, const void *w, size_t w_row_bytes, int64_t row_begin,
                   int64_t row_end, const void *x, size_t x_row_bytes, int64_t tokens,
                   int64_t cols, float *out, int64_t out_stride);
    /// As `matmul`, for q8_0/q4_0 weights written by phi_repack (cols of them per row).
    /// Any row range works; ranges starting and ending on multiples of 8 waste nothing.
    void (*matmul_repacked)(phi_format format, const void *packed, int64_t row_begin,
                            int64_t row_end, const void *x, size_t x_row_bytes, int64_t tokens,
                            int64_t cols, float *out, int64_t out_stride);
    /// Same output as phi_quantize_row_q8_0 and phi_quantize_row_q4_0.
    void (*quantize_row_q8_0)(const float *x, phi_block_q8_0 *y, int64_t n);
    void (*quantize_row_q4_0)(const float *x, phi_block_q4_0 *y, int64_t n);
    /// Same outputs as phi_rmsnorm and phi_swiglu.
    void (*rmsnorm)(const float *x, const float *weight, float *out, int64_t n, float eps);
    void (*swiglu)(const float *gate, const float *up, float *out, int64_t n);
    /// Tiled attention (see "Tiled causal attention" above) of `tokens` consecutive query tokens,
    /// token t at position first_position + t, each with `heads` query heads sharing one KV head
    /// (query (t, h) at q + t * q_token_stride + h * q_head_stride): folds key blocks
    /// [block_begin, block_end) into `state` (tokens × heads rows). Keys and values are rows of
    /// `row_bytes` in `format` (F32, F16 or Q8_0, see phi_kv_row_bytes), position i at
    /// keys + i * row_bytes; only positions up to the tile's last token are read, each row once
    /// for the whole tile. `work` holds phi_attend_work_floats(tokens, heads, head_dim) floats.
    void (*attend_tile_kv)(phi_format format, const float *q, int64_t q_token_stride, int64_t q_head_stride,
                           int64_t heads, int64_t tokens, int64_t first_position, const void *keys,
                           const void *values, size_t row_bytes, int64_t block_begin, int64_t block_end,
                           int64_t head_dim, float scale, float *state, float *work);
    /// As attend_tile_kv, but writes the block-local state of every block b in
    /// [block_begin, block_end) to block_states + ((b - block_begin) * tokens * heads + row) *
    /// phi_attend_state_floats(head_dim), unfolded (an empty state where a token sees no key of
    /// the block). For split-K: threads compute disjoint block ranges, attend_fold folds in order.
    void (*attend_blocks_kv)(phi_format format, const float *q, int64_t q_token_stride, int64_t q_head_stride,
                             int64_t heads, int64_t tokens, int64_t first_position, const void *keys,
                             const void *values, size_t row_bytes, int64_t block_begin, int64_t block_end,
                             int64_t head_dim, float scale, float *block_states, float *work);
    /// Folds `blocks` block states (each `rows` rows, as attend_blocks_kv writes them) into the
    /// `rows` states of `state`, block after block.
    void (*attend_fold)(float *state, const float *block_states, int64_t blocks, int64_t rows, int64_t head_dim);
} phi_kernels;

/// The portable reference; always built.
const phi_kernels *phi_kernels_scalar(void);
/// AVX2+FMA+F16C table, or NULL when not built for x86_64 or the CPU lacks it.
const phi_kernels *phi_kernels_avx2(void);
/// The AVX2 table with AVX-512 (F, VL) attention, or NULL when not built for x86_64 or the CPU
/// lacks AVX-512F/VL (or AVX2).
const phi_kernels *phi_kernels_avx512(void);
/// The best NEON table (with dotprod when the CPU has it), or NULL when not on aarch64.
const phi_kernels *phi_kernels_neon(void);
/// The fastest table this CPU supports.
const phi_kernels *phi_kernels_best(void);
/// Writes up to `capacity` tables this CPU can run (scalar first) and returns their count;
/// on aarch64 both NEON tables when the CPU has dotprod. For tests and benchmarks.
int phi_kernels_available(const phi_kernels **tables, int capacity);

/// Bytes of one row of `n` elements in `format` (n % 32 == 0 for quantized formats).
size_t phi_row_bytes(phi_format format, int64_t n);

// ---- KV cache rows (attention_kv.c) ----
// A KV cache holds, per KV head and position, one vector of head_dim keys (or values) in F32,
// F16 or Q8_0. A q8_0 vector is ceil(head_dim / 32) blocks over the head's own values, zero-padded
// to a whole block, so a head never shares a block (and its scale) with its neighbour whatever
// head_dim is (16 in tiny-phi4: half a block; 128 in Phi-4-mini: four).

/// Bytes of one head vector of `head_dim` values stored as `format` (F32, F16 or Q8_0).
size_t phi_kv_row_bytes(phi_format format, int64_t head_dim);
/// Stores `head_dim` floats as one head vector: f32 copied, f16 rounded to nearest even, q8_0
/// by phi_quantize_row_q8_0 over the zero-padded blocks.
void phi_kv_store_row(phi_format format, const float *x, void *row, int64_t head_dim);
/// Reads one head vector back as `head_dim` floats (exact).
void phi_kv_load_row(phi_format format, const void *row, float *y, int64_t head_dim);

#ifdef __cplusplus
}
#endif
#endif
