// kernel_bench (built and run by scripts/kernel-bench): speed of the best table on
// Phi-4-mini's matrix shapes. Matrix-vector (decode) in GB/s of weights streamed,
// matrix-matrix (prefill) in GMAC/s, plus the machine's streaming read bandwidth.
// Usage: kernel_bench [threads] [prefill_tokens] [repacked-only]
#define _GNU_SOURCE
#include "phi_kernels.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

// With one thread, the thread's CPU time: the machine may be shared, and time the scheduler
// gives to other processes is not the kernel's. With several threads, wall time.
static int use_cpu_time;
static double now(void) {
    struct timespec ts;
    clock_gettime(use_cpu_time ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef struct {
    const phi_kernels *k;
    phi_format format;
    int repacked;
    const void *w;
    size_t wb;
    int64_t rb, re;
    const void *x;
    size_t xb;
    int64_t tokens, cols;
    float *out;
    int64_t os;
} job;

static void *run_job(void *arg) {
    job *j = arg;
    if (j->repacked) j->k->matmul_repacked(j->format, j->w, j->rb, j->re, j->x, j->xb, j->tokens, j->cols, j->out, j->os);
    else j->k->matmul(j->format, j->w, j->wb, j->rb, j->re, j->x, j->xb, j->tokens, j->cols, j->out, j->os);
    return 0;
}

/// One matmul split into `threads` row ranges on multiples of 8, as the lead's pool would.
static void matmul_threads(int threads, job base, int64_t rows) {
    pthread_t tid[16];
    job jobs[16];
    for (int i = 0; i < threads; i++) {
        jobs[i] = base;
        jobs[i].rb = rows * i / threads / 8 * 8;
        jobs[i].re = i == threads - 1 ? rows : rows * (i + 1) / threads / 8 * 8;
        if (threads > 1) pthread_create(&tid[i], 0, run_job, &jobs[i]);
        else run_job(&jobs[i]);
    }
    if (threads > 1)
        for (int i = 0; i < threads; i++) pthread_join(tid[i], 0);
}

typedef struct { const uint64_t *p; size_t n; uint64_t sum; } read_job;
static void *read_all(void *arg) {  // integer sums vectorize: the loop is bound by memory only
    read_job *r = arg;
    uint64_t s = 0;
    for (size_t i = 0; i < r->n; i++) s += r->p[i];
    r->sum = s;
    return 0;
}

static double read_bandwidth(int threads) {
    const size_t bytes = (size_t)1 << 30;
    uint64_t *buffer = malloc(bytes);
    memset(buffer, 1, bytes);
    double best = 0;
    for (int rep = 0; rep < 3; rep++) {
        pthread_t tid[16];
        read_job jobs[16];
        const double start = now();
        for (int i = 0; i < threads; i++) {
            jobs[i] = (read_job){buffer + bytes / 8 / threads * i, bytes / 8 / threads, 0};
            pthread_create(&tid[i], 0, read_all, &jobs[i]);
        }
        for (int i = 0; i < threads; i++) pthread_join(tid[i], 0);
        const double gbs = bytes / (now() - start) / 1e9;
        if (gbs > best) best = gbs;
    }
    free(buffer);
    return best;
}

int main(int argc, char **argv) {
    const int threads = argc > 1 ? atoi(argv[1]) : 1;
    const int64_t prefill = argc > 2 ? atoll(argv[2]) : 64;
    const phi_kernels *k = phi_kernels_best();
    const int only_repacked = argc > 3;
    const struct { const char *name; int64_t rows, cols; int per_layer; } shapes[] = {
        {"qkv", 5120, 3072, 1}, {"o", 3072, 3072, 1}, {"gate_up", 16384, 3072, 1}, {"down", 3072, 8192, 1},
        {"head", 200064, 3072, 0},
    };
    const phi_format formats[] = {PHI_FORMAT_Q4_0, PHI_FORMAT_Q8_0, PHI_FORMAT_BF16};
    const char *format_names[] = {"f32", "f16", "bf16", "q8_0", "q4_0"};
    printf("table %s, %d thread(s); streaming read %.1f GB/s (wall time)\n", k->name, threads, read_bandwidth(threads));
    use_cpu_time = threads == 1;
    for (int f = 0; f < (only_repacked ? 2 : 3); f++) {
        const phi_format format = formats[f];
        const int quantized = format == PHI_FORMAT_Q8_0 || format == PHI_FORMAT_Q4_0;
        for (int layout = only_repacked && quantized; layout < (quantized ? 2 : 1); layout++) {
            double decode_seconds = 0, prefill_seconds = 0;
            for (int s = 0; s < 5; s++) {
                const int64_t rows = shapes[s].rows, cols = shapes[s].cols;
                const size_t wb = phi_row_bytes(format, cols);
                const size_t xb = quantized ? phi_row_bytes(PHI_FORMAT_Q8_0, cols) : (size_t)cols * 4;
                uint8_t *w = malloc(wb * rows);
                for (size_t i = 0; i < wb * rows; i++) w[i] = (uint8_t)(i * 2654435761u >> 13);
                if (quantized) {  // sane scales (f16 0.01) and q8_0 values in [-127, 127]
                    const size_t block = format == PHI_FORMAT_Q8_0 ? 34 : 18;
                    for (size_t b = 0; b < wb * rows / block; b++) {
                        w[b * block] = 0x1f; w[b * block + 1] = 0x21;
                        if (format == PHI_FORMAT_Q8_0)
                            for (int j = 2; j < 34; j++) if (w[b * block + j] == 0x80) w[b * block + j] = 0;
                    }
                }
                void *weights = w;
                if (layout == 1) {
                    weights = malloc(phi_repacked_bytes(format, rows, cols));
                    phi_repack(format, w, wb, rows, cols, weights);
                    free(w);
                }
                float *xf = malloc(sizeof(float) * cols * prefill);
                for (int64_t i = 0; i < cols * prefill; i++) xf[i] = (float)((i * 7919) % 2001 - 1000) / 1000.0f;
                uint8_t *x = malloc(xb * prefill);
                for (int64_t t = 0; t < prefill; t++) {
                    if (quantized) k->quantize_row_q8_0(xf + t * cols, (phi_block_q8_0 *)(x + t * xb), cols);
                    else memcpy(x + t * xb, xf + t * cols, xb);
                }
                float *out = malloc(sizeof(float) * rows * prefill);
                job base = {k, format, layout, weights, wb, 0, rows, x, xb, 1, cols, out, rows};
                matmul_threads(threads, base, rows);  // warm up
                double best = 1e9;
                for (int rep = 0; rep < 5; rep++) {
                    const double start = now();
                    matmul_threads(threads, base, rows);
                    const double seconds = now() - start;
                    if (seconds < best) best = seconds;
                }
                const double gbs = wb * rows / best / 1e9;
                double prefill_best = 0;
                if (shapes[s].per_layer) {
                    base.tokens = prefill;
                    prefill_best = 1e9;
                    for (int rep = 0; rep < 2; rep++) {
                        const double start = now();
                        matmul_threads(threads, base, rows);
                        const double seconds = now() - start;
                        if (seconds < prefill_best) prefill_best = seconds;
                    }
                    prefill_seconds += 32 * prefill_best;
                }
                decode_seconds += (shapes[s].per_layer ? 32 : 1) * best;
                printf("%-5s %-8s %-7s %6lldx%-5lld matvec %7.3f ms %6.1f GB/s", format_names[format],
                       layout ? "repacked" : "rows", shapes[s].name, (long long)rows, (long long)cols, best * 1e3, gbs);
                if (prefill_best > 0)
                    printf("   %lld tokens %8.1f ms %6.1f GMAC/s", (long long)prefill, prefill_best * 1e3,
                           (double)rows * cols * prefill / prefill_best / 1e9);
                printf("\n");
                free(weights); free(xf); free(x); free(out);
            }
            printf("%-5s %-8s => matmuls alone: decode %.1f tokens/s, prefill %.1f tokens/s (32 layers; head only in decode)\n",
                   format_names[format], layout ? "repacked" : "rows", 1 / decode_seconds, prefill / prefill_seconds);
        }
    }
    return 0;
}
