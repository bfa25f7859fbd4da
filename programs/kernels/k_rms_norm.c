/* RMS_NORM: y = x / sqrt(mean(x^2) + eps) per row, in GGML's order:
 *   sum   = sequential double sum of the f32 squares  (vfwredosum.vs, ordered)
 *   mean  = (float)(sum / ne0);  scale = 1.0f / sqrtf(mean + eps);  y = x * scale
 * which reproduces ggml_compute_forward_rms_norm_f32 bit for bit.
 *
 *   src0: F32 [ne0, ...] (rows may be strided), dst: F32 same ne, params[0] = eps (f32).
 */
#include <riscv_vector.h>

#include "kcommon.h"

int sail_kernel(const struct sail_op *op) {
    TRY(desc_check(op));
    if (op->op != SAIL_OP_RMS_NORM) {
        return SAIL_ERR_OP;
    }
    if (op->n_src < 1) {
        return SAIL_ERR_SHAPE;
    }
    const struct sail_tensor *src = &op->src[0];
    const struct sail_tensor *dst = &op->dst;
    TRY(tensor_check(src));
    TRY(tensor_check(dst));
    if (src->type != SAIL_TYPE_F32 || dst->type != SAIL_TYPE_F32) {
        return SAIL_ERR_TYPE;
    }
    if (!tensor_same_shape(src, dst)) {
        return SAIL_ERR_SHAPE;
    }
    const float eps = param_f32(op, SAIL_P_RMS_EPS);
    if (!(eps >= 0.0f)) {
        return SAIL_ERR_PARAM;
    }
    const int64_t n = src->ne[0];
    for (int64_t i3 = 0; i3 < src->ne[3]; i3++) {
        for (int64_t i2 = 0; i2 < src->ne[2]; i2++) {
            for (int64_t i1 = 0; i1 < src->ne[1]; i1++) {
                const float *x = (const float *)tensor_row(src, i1, i2, i3);
                float *y = (float *)tensor_row(dst, i1, i2, i3);
                /* Pass 1: the sum of squares, in order, in f64. Each chunk's load is issued
                 * one chunk ahead of its use, so the DDR latency overlaps the previous
                 * chunk's reduction; the row is copied to the scratchpad on the way when it
                 * fits, so pass 2 reads it there instead of from DDR again. */
                const int staged = (uint64_t)n * sizeof(float) <= SAIL_SCRATCH_SIZE;
                float *xs = (float *)(uintptr_t)SAIL_SCRATCH_BASE;
                vfloat64m1_t acc = __riscv_vfmv_s_f_f64m1(0.0, 1);
                size_t vl = __riscv_vsetvl_e32m8((size_t)n);
                vfloat32m8_t next = __riscv_vle32_v_f32m8(x, vl);
                for (int64_t i = 0; i < n;) {
                    const vfloat32m8_t v = next;
                    const size_t cur = vl;
                    const int64_t i2 = i + (int64_t)cur;
                    if (i2 < n) {
                        vl = __riscv_vsetvl_e32m8((size_t)(n - i2));
                        next = __riscv_vle32_v_f32m8(x + i2, vl);
                    }
                    if (staged) {
                        __riscv_vse32_v_f32m8(xs + i, v, cur);
                    }
                    acc = __riscv_vfwredosum_vs_f32m8_f64m1(__riscv_vfmul_vv_f32m8(v, v, cur), acc, cur);
                    i = i2;
                }
                const double sum = __riscv_vfmv_f_s_f64m1_f64(acc);
                const float mean = (float)(sum / (double)n);
                const float scale = 1.0f / __builtin_sqrtf(mean + eps);
                const float *xr = staged ? xs : x;
                for (int64_t i = 0; i < n;) {
                    size_t vl2 = __riscv_vsetvl_e32m8((size_t)(n - i));
                    __riscv_vse32_v_f32m8(y + i, __riscv_vfmul_vf_f32m8(__riscv_vle32_v_f32m8(xr + i, vl2), scale, vl2), vl2);
                    i += (int64_t)vl2;
                }
            }
        }
    }
    return SAIL_OK;
}
