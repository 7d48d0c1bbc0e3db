// attention_bench (built and run by scripts/attention-bench): speed of the best table's tiled
// attention at Phi-4-mini's shape (head_dim 128, 3 query heads per KV head) for one KV head, one
// thread, thread CPU time: a prefill tile of `tile` tokens at the end of an 8K and a 32K context,
// and one decode token (attend_blocks_kv over every block, then attend_fold). GFLOP/s count
// 4 * head_dim flops per query head per key it sees (q.k and p * v, a multiply and an add each).
// Usage: attention_bench [tile=32]
#define _GNU_SOURCE
#include "phi_kernels.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    const int64_t tile = argc > 1 ? atoll(argv[1]) : 32;
    const int64_t head_dim = 128, heads = 3;
    const phi_kernels *k = phi_kernels_best();
    const phi_format formats[] = {PHI_FORMAT_F32, PHI_FORMAT_F16, PHI_FORMAT_Q8_0};
    const char *names[] = {"f32", "f16", "q8_0"};
    const int64_t contexts[] = {8192, 32768};
    printf("table %s, 1 thread, head_dim %lld, %lld query heads per KV head, block %d\n", k->name,
           (long long)head_dim, (long long)heads, PHI_ATTN_BLOCK);
    const int64_t stride = phi_attend_state_floats(head_dim);
    const float scale = 1.0f / sqrtf((float)head_dim);
    for (int c = 0; c < 2; c++) {
        const int64_t context = contexts[c], blocks = (context + PHI_ATTN_BLOCK - 1) / PHI_ATTN_BLOCK;
        for (int f = 0; f < 3; f++) {
            const size_t row_bytes = phi_kv_row_bytes(formats[f], head_dim);
            uint8_t *keys = malloc(row_bytes * context), *values = malloc(row_bytes * context);
            float *x = malloc(sizeof(float) * head_dim);
            for (int64_t p = 0; p < context; p++) {
                for (int64_t i = 0; i < head_dim; i++) x[i] = (float)(((p * 131 + i * 7919) % 2001) - 1000) / 400.0f;
                phi_kv_store_row(formats[f], x, keys + p * row_bytes, head_dim);
                for (int64_t i = 0; i < head_dim; i++) x[i] = (float)(((p * 17 + i * 31) % 2001) - 1000) / 1000.0f;
                phi_kv_store_row(formats[f], x, values + p * row_bytes, head_dim);
            }
            float *q = malloc(sizeof(float) * tile * heads * head_dim);
            for (int64_t i = 0; i < tile * heads * head_dim; i++) q[i] = (float)((i * 37 % 1001) - 500) / 250.0f;
            float *state = malloc(sizeof(float) * tile * heads * stride);
            float *work = malloc(sizeof(float) * phi_attend_work_floats(tile, heads, head_dim));
            float *states = malloc(sizeof(float) * blocks * heads * stride);
            float *out = malloc(sizeof(float) * tile * heads * head_dim);
            // Prefill: the last `tile` positions of the context.
            double keys_seen = 0;
            for (int64_t t = 0; t < tile; t++) keys_seen += (double)(context - tile + t + 1);
            double best = 1e9;
            for (int rep = 0; rep < 3; rep++) {
                const double start = now();
                phi_attend_state_init(state, tile * heads, head_dim);
                k->attend_tile_kv(formats[f], q, heads * head_dim, head_dim, heads, tile, context - tile, keys, values,
                                  row_bytes, 0, blocks, head_dim, scale, state, work);
                phi_attend_finish(state, tile, heads, head_dim, out, heads * head_dim, head_dim);
                const double seconds = now() - start;
                if (seconds < best) best = seconds;
            }
            const double prefill_gflops = 4.0 * head_dim * heads * keys_seen / best / 1e9;
            // Decode: one token at the last position, every block's state, then the fold.
            double decode_best = 1e9;
            for (int rep = 0; rep < 3; rep++) {
                const double start = now();
                k->attend_blocks_kv(formats[f], q, heads * head_dim, head_dim, heads, 1, context - 1, keys, values,
                                    row_bytes, 0, blocks, head_dim, scale, states, work);
                phi_attend_state_init(state, heads, head_dim);
                k->attend_fold(state, states, blocks, heads, head_dim);
                phi_attend_finish(state, 1, heads, head_dim, out, heads * head_dim, head_dim);
                const double seconds = now() - start;
                if (seconds < decode_best) decode_best = seconds;
            }
            const double decode_gflops = 4.0 * head_dim * heads * (double)context / decode_best / 1e9;
            printf("context %6lld %-5s prefill tile of %lld: %8.2f ms %6.2f GFLOP/s   decode: %7.3f ms %6.2f GFLOP/s"
                   " (%.2f GB/s of K/V)\n",
                   (long long)context, names[f], (long long)tile, best * 1e3, prefill_gflops, decode_best * 1e3,
                   decode_gflops, 2.0 * row_bytes * context / decode_best / 1e9);
            free(keys); free(values); free(x); free(q); free(state); free(work); free(states); free(out);
        }
    }
    return 0;
}
