/* MUL_MAT with RVV: dst = src0 . src1^T in GGML's sense.
 *
 *   src0: weights [K, N, ne02, ne03]   F32, F16, BF16, Q4_0, Q8_0, Q4_K or Q6_K
 *   src1: activations [K, M, ne12, ne13]  F32, or already in src0's dot type
 *   dst:  [N, M, ne12, ne13] F32,  dst[n, m, i2, i3] = dot(src0[:, n, i2/r2, i3/r3], src1[:, m, i2, i3])
 *
 * As in ggml-cpu, F32 activations are first converted row by row into the weight type's
 * dot type (Q8_0 for Q4_0/Q8_0, Q8_K for Q4_K/Q6_K, F16 for F16, BF16 for BF16), into the
 * scratchpad when they fit (else into the work buffer, op->wdata, at least
 * rows(src1) * row_bytes(dot type, K) bytes); then every output is one dot product. Weight
 * rows form the outer loop so each is streamed from DDR once, while the activation rows are
 * re-read from the single-cycle scratchpad.
 */
#include "kcommon.h"
#include "mul_mat_common.h"
#include "quants.h"

static float dot_row(uint32_t type, int64_t k, uintptr_t w, uintptr_t a) {
    switch (type) {
    case SAIL_TYPE_Q4_0:
        return vec_dot_q4_0_q8_0(k, (const block_q4_0 *)w, (const block_q8_0 *)a);
    case SAIL_TYPE_Q8_0:
        return vec_dot_q8_0_q8_0(k, (const block_q8_0 *)w, (const block_q8_0 *)a);
    case SAIL_TYPE_Q4_K:
        return vec_dot_q4_K_q8_K(k, (const block_q4_K *)w, (const block_q8_K *)a);
    case SAIL_TYPE_Q6_K:
        return vec_dot_q6_K_q8_K(k, (const block_q6_K *)w, (const block_q8_K *)a);
    case SAIL_TYPE_F16:
        return vec_dot_f16_f32(k, (const uint16_t *)w, (const float *)a);
    case SAIL_TYPE_BF16:
        return vec_dot_bf16_f32(k, (const uint16_t *)w, (const float *)a);
    default:
        return vec_dot_f32(k, (const float *)w, (const float *)a);
    }
}

int sail_kernel(const struct sail_op *op) {
    TRY(desc_check(op));
    if (op->op != SAIL_OP_MUL_MAT) {
        return SAIL_ERR_OP;
    }
    struct mul_mat_plan plan;
    TRY(mul_mat_prepare(op, &plan, 1));

    const struct sail_tensor *w = &op->src[0];
    const struct sail_tensor *dst = &op->dst;
    const int64_t k = w->ne[0];
    for (int64_t i3 = 0; i3 < dst->ne[3]; i3++) {
        for (int64_t i2 = 0; i2 < dst->ne[2]; i2++) {
            for (int64_t n = 0; n < dst->ne[0]; n++) {
                uintptr_t wrow = tensor_row(w, n, i2 / plan.r2, i3 / plan.r3);
                for (int64_t m = 0; m < dst->ne[1]; m++) {
                    float *out = (float *)(tensor_row(dst, m, i2, i3) + (uintptr_t)n * sizeof(float));
                    *out = dot_row(w->type, k, wrow, mul_mat_act_row(&plan, m, i2, i3));
                }
            }
        }
    }
    return SAIL_OK;
}
