// phi_repack: q8_0/q4_0 matrices rewritten as groups of 8 interleaved rows (layout in
// phi_kernels.h), so SIMD lanes hold rows and one pass streams 8 rows from one place.
#include "phi_internal.h"

#include <string.h>

size_t phi_repacked_bytes(phi_format format, int64_t rows, int64_t cols) {
    const int64_t groups = (rows + PHI_REPACK_ROWS - 1) / PHI_REPACK_ROWS;
    return (size_t)(groups * (cols / PHI_QK)) * phi_record_bytes(format);
}

void phi_repack(phi_format format, const void *w, size_t w_row_bytes, int64_t rows, int64_t cols,
                void *packed) {
    const size_t record_bytes = phi_record_bytes(format);
    if (record_bytes == 0) return;
    const int64_t blocks = cols / PHI_QK;
    const int64_t groups = (rows + PHI_REPACK_ROWS - 1) / PHI_REPACK_ROWS;
    const int slices = format == PHI_FORMAT_Q8_0 ? PHI_Q8_0_SLICES : PHI_Q4_0_SLICES;
    const size_t block_bytes = format == PHI_FORMAT_Q8_0 ? sizeof(phi_block_q8_0) : sizeof(phi_block_q4_0);
    for (int64_t group = 0; group < groups; group++) {
        for (int64_t b = 0; b < blocks; b++) {
            uint8_t *record = (uint8_t *)packed + (size_t)(group * blocks + b) * record_bytes;
            memset(record, 0, record_bytes);  // rows past the end stay zero blocks
            for (int lane = 0; lane < PHI_REPACK_ROWS; lane++) {
                const int64_t row = group * PHI_REPACK_ROWS + lane;
                if (row >= rows) break;
                const uint8_t *block = (const uint8_t *)w + (size_t)row * w_row_bytes + (size_t)b * block_bytes;
                memcpy(record + 2 * lane, block, 2);  // the f16 scale
                uint8_t *quants = record + 2 * PHI_REPACK_ROWS;
                for (int slice = 0; slice < slices; slice++) {
                    memcpy(quants + 32 * slice + 4 * lane, block + 2 + 4 * slice, 4);
                }
            }
        }
    }
}

void phi_dequantize_repacked_row(phi_format format, const void *packed, int64_t row, int64_t cols,
                                 float *y) {
    if (phi_record_bytes(format) == 0) return;
    const int64_t blocks = cols / PHI_QK;
    const int64_t group = row / PHI_REPACK_ROWS;
    const int lane = (int)(row % PHI_REPACK_ROWS);
    const int slices = format == PHI_FORMAT_Q8_0 ? PHI_Q8_0_SLICES : PHI_Q4_0_SLICES;
    for (int64_t b = 0; b < blocks; b++) {
        const uint8_t *record = phi_record(packed, format, group, b, blocks);
        uint8_t block[sizeof(phi_block_q8_0)];  // the original block, gathered back
        memcpy(block, record + 2 * lane, 2);
        for (int slice = 0; slice < slices; slice++) {
            memcpy(block + 2 + 4 * slice, record + 2 * PHI_REPACK_ROWS + 32 * slice + 4 * lane, 4);
        }
        phi_dequantize_row(format, block, y + b * PHI_QK, PHI_QK);
    }
}
