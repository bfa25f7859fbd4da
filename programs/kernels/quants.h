/* Activation quantizers and dot products (RVV), the inner loops of mul_mat.
 * Their exact numerics are documented in doc/kernels.md ("Numerics") and mirrored by
 * testbench/kernels/kref.py. */
#ifndef SAIL_QUANTS_H
#define SAIL_QUANTS_H

#include "kcommon.h"

/* GGML's quantize_row_q8_0_ref: d = amax/127 (stored as f16), q = roundf(x * (1/d)). */
void quantize_row_q8_0(const float *x, block_q8_0 *y, int64_t k);

/* quantize_row_q8_K stages each 256-element block (1 KiB) here, the top of the kernels'
 * scratchpad: a kernel that calls it keeps its own scratchpad data below
 * SAIL_SCRATCH_SIZE - Q8K_STAGE_BYTES. */
#define Q8K_STAGE_BYTES (QK_K * 4 + QK_K / 8)
#define Q8K_STAGE (SAIL_SCRATCH_BASE + SAIL_SCRATCH_SIZE - QK_K * 4)
/* and the block's comparison masks (one bit per element) just below it */
#define Q8K_MASKS (Q8K_STAGE - QK_K / 8)

/* GGML's quantize_row_q8_K_ref: max = the first element of largest magnitude,
 * iscale = -127/max, q = min(127, nearest_int(iscale * x)), d = 1/iscale, bsums per 16.
 * An all-zero block gives d = 0, q = 0 and bsums = 0. */
void quantize_row_q8_K(const float *x, block_q8_K *y, int64_t k);

/* Dot products of one weight row with one activation row of n elements. */
float vec_dot_q4_0_q8_0(int64_t n, const block_q4_0 *x, const block_q8_0 *y);
float vec_dot_q8_0_q8_0(int64_t n, const block_q8_0 *x, const block_q8_0 *y);
float vec_dot_q4_K_q8_K(int64_t n, const block_q4_K *x, const block_q8_K *y);
float vec_dot_q6_K_q8_K(int64_t n, const block_q6_K *x, const block_q8_K *y);
/* F16/BF16 weights against activations already rounded to F16/BF16 and widened to f32
 * (exactly) by mul_mat, so each dot converts only the weights. */
float vec_dot_f16_f32(int64_t n, const uint16_t *x, const float *y);
float vec_dot_bf16_f32(int64_t n, const uint16_t *x, const float *y);
float vec_dot_f32(int64_t n, const float *x, const float *y);

/* The 6-bit scale and min of sub-block j (0..7) of a Q4_K block (GGML's get_scale_min_k4). */
static inline void q4_K_scale_min(int j, const uint8_t *q, uint8_t *sc, uint8_t *m) {
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (uint8_t)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *m = (uint8_t)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

#endif
