/* SOFT_MAX with scale, optional mask and an optional causal mask, GGML's soft_max_ext:
 *
 *   src0: F32 [n_kv, rows, ne2, ne3]; src1 (optional): mask F16 or F32 [n_kv, >= rows, m2, m3]
 *   (broadcast over dims 2, 3 modulo m2, m3); dst: F32 like src0 (may alias src0).
 *   params: [0] scale (f32), [1] max_bias (f32, must be 0), [2] causal (i32), [3] n_past (i32).
 *
 * Per row i1, in GGML's order: w = x*scale (+ mask[j, i1]); with causal set, w[j] = -inf for
 * j > n_past + i1; max = max(w); e = expf(w - max) (vexpf, kmath.h); sum = sequential double
 * sum of e; y = e * (float)(1.0/sum).
 */
#include <riscv_vector.h>

#include "kcommon.h"
#include "kmath.h"
#include "kvec.h"

int sail_kernel(const struct sail_op *op) {
    TRY(desc_check(op));
    if (op->op != SAIL_OP_SOFT_MAX) {
        return SAIL_ERR_OP;
    }
    if (op->n_src < 1) {
        return SAIL_ERR_SHAPE;
    }
    const struct sail_tensor *src = &op->src[0];
    const struct sail_tensor *mask = op->n_src >= 2 ? &op->src[1] : 0;
    const struct sail_tensor *dst = &op->dst;
    TRY(tensor_check(src));
    TRY(tensor_check(dst));
    if (src->type != SAIL_TYPE_F32 || dst->type != SAIL_TYPE_F32) {
        return SAIL_ERR_TYPE;
    }
    if (!tensor_same_shape(src, dst)) {
        return SAIL_ERR_SHAPE;
    }
    if (mask) {
        TRY(tensor_check(mask));
        if (mask->type != SAIL_TYPE_F32 && mask->type != SAIL_TYPE_F16) {
            return SAIL_ERR_TYPE;
        }
        if (mask->ne[0] != src->ne[0] || mask->ne[1] < src->ne[1]) {
            return SAIL_ERR_SHAPE;
        }
    }
    const float scale = param_f32(op, SAIL_P_SOFTMAX_SCALE);
    const float max_bias = param_f32(op, SAIL_P_SOFTMAX_MAX_BIAS);
    const int causal = op->params[SAIL_P_SOFTMAX_CAUSAL];
    const int64_t n_past = op->params[SAIL_P_SOFTMAX_N_PAST];
    if (max_bias != 0.0f || (causal != 0 && causal != 1)) {
        return SAIL_ERR_PARAM;
    }
    const int64_t n = src->ne[0];
    for (int64_t i3 = 0; i3 < src->ne[3]; i3++) {
        for (int64_t i2 = 0; i2 < src->ne[2]; i2++) {
            for (int64_t i1 = 0; i1 < src->ne[1]; i1++) {
                const float *x = (const float *)tensor_row(src, i1, i2, i3);
                float *y = (float *)tensor_row(dst, i1, i2, i3);
                uintptr_t mrow = mask ? tensor_row(mask, i1, i2 % mask->ne[2], i3 % mask->ne[3]) : 0;
                for (int64_t i = 0; i < n;) {
                    size_t vl = __riscv_vsetvl_e32m8((size_t)(n - i));
                    vfloat32m8_t w = __riscv_vfmul_vf_f32m8(__riscv_vle32_v_f32m8(x + i, vl), scale, vl);
                    if (mask) {
                        vfloat32m8_t mv = mask->type == SAIL_TYPE_F32
                                              ? __riscv_vle32_v_f32m8((const float *)mrow + i, vl)
                                              : f16_to_f32_m8(__riscv_vle16_v_u16m4((const uint16_t *)mrow + i, vl), vl);
                        w = __riscv_vfadd_vv_f32m8(w, mv, vl);
                    }
                    __riscv_vse32_v_f32m8(y + i, w, vl);
                    i += (int64_t)vl;
                }
                if (causal) {
                    for (int64_t j = n_past + i1 + 1; j < n; j++) {
                        y[j] = -__builtin_inff();
                    }
                }
                const float max = max_f32(y, n);
                for (int64_t i = 0; i < n;) {
                    size_t vl = __riscv_vsetvl_e32m8((size_t)(n - i));
                    vfloat32m8_t w = __riscv_vfsub_vf_f32m8(__riscv_vle32_v_f32m8(y + i, vl), max, vl);
                    __riscv_vse32_v_f32m8(y + i, vexpf_m8(w, vl), vl);
                    i += (int64_t)vl;
                }
                const double sum = sum_ordered_f32_to_f64(y, n);
                scale_f32(y, n, (float)(1.0 / sum));
            }
        }
    }
    return SAIL_OK;
}
