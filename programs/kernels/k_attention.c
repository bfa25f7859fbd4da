/* ATTENTION: out = softmax(q.k^T * scale + mask) . v over an F16 KV cache, with grouped
 * query attention (GGML_OP_FLASH_ATTN_EXT's contract, computed in two passes).
 *
 *   src0 q:    F32 [D, n_q, H, 1]
 *   src1 k:    F16 [D, n_kv, H_kv, 1]           (rows contiguous)
 *   src2 v:    F16 [D, n_kv, H_kv, 1]           (nb[0] may differ from 2: a transposed V cache)
 *   src3 mask: optional F16/F32 [n_kv, >= n_q]
 *   dst:       F32 [D, H, n_q, 1]               (flash_attn_ext's output layout)
 *   params: [0] scale (f32), [1] max_bias (must be 0), [2] causal (i32), [3] n_past (i32)
 *   work buffer: only when the scores of one group of heads (4 * n_kv * H/H_kv bytes) do
 *   not fit the scratchpad next to the q rows, one K row, one V row and the outputs
 * Query head h reads KV head h / (H / H_kv). Each K and V row is read from DDR and widened
 * once per query row and serves every query head of its group, from the scratchpad.
 * With causal set, query row i sees keys
 * j <= n_past + i only (the others are skipped, as if masked with -inf).
 *
 * Numerics per (query row, head), with J the visible keys:
 *   s_j = ordered f32 sum over d of fl(q_d * k_jd)   (vfmul, then chained vfredosum)
 *   s_j = s_j * scale (+ mask_j);  m = max s_j;  e_j = vexpf(s_j - m)
 *   sum = sequential double sum of e_j;  o_d = fma(e_j, v_jd, o_d) for j in order from 0
 *   out_d = o_d * (float)(1.0 / sum)
 * Each step is VLEN-independent, so the result is the same at every VLEN.
 */
#include <riscv_vector.h>

#include "kcommon.h"
#include "kmath.h"
#include "kvec.h"

#define ATTN_MAX_D 512
#define ATTN_MAX_GROUP 64 /* query heads per KV head */

static inline void copy_f32(float *d, const float *s, int64_t n) {
    for (int64_t i = 0; i < n;) {
        size_t vl = __riscv_vsetvl_e32m8((size_t)(n - i));
        __riscv_vse32_v_f32m8(d + i, __riscv_vle32_v_f32m8(s + i, vl), vl);
        i += (int64_t)vl;
    }
}

static int check_v(const struct sail_tensor *v) {
    if (v->type != SAIL_TYPE_F16) {
        return SAIL_ERR_TYPE;
    }
    for (int i = 0; i < 4; i++) {
        if (v->ne[i] < 1) {
            return SAIL_ERR_SHAPE;
        }
    }
    return (v->nb[0] % 2 == 0 && v->nb[0] != 0) ? SAIL_OK : SAIL_ERR_STRIDE;
}

int sail_kernel(const struct sail_op *op) {
    TRY(desc_check(op));
    if (op->op != SAIL_OP_ATTENTION) {
        return SAIL_ERR_OP;
    }
    if (op->n_src < 3) {
        return SAIL_ERR_SHAPE;
    }
    const struct sail_tensor *q = &op->src[0];
    const struct sail_tensor *k = &op->src[1];
    const struct sail_tensor *v = &op->src[2];
    const struct sail_tensor *mask = op->n_src >= 4 ? &op->src[3] : 0;
    const struct sail_tensor *dst = &op->dst;
    TRY(tensor_check(q));
    TRY(tensor_check(k));
    TRY(check_v(v));
    TRY(tensor_check(dst));
    if (q->type != SAIL_TYPE_F32 || k->type != SAIL_TYPE_F16 || dst->type != SAIL_TYPE_F32) {
        return SAIL_ERR_TYPE;
    }
    const int64_t D = q->ne[0], n_q = q->ne[1], H = q->ne[2];
    const int64_t n_kv = k->ne[1], H_kv = k->ne[2];
    if (k->ne[0] != D || v->ne[0] != D || v->ne[1] != n_kv || v->ne[2] != H_kv || H % H_kv != 0 ||
        q->ne[3] != 1 || k->ne[3] != 1 || v->ne[3] != 1 || dst->ne[0] != D || dst->ne[1] != H ||
        dst->ne[2] != n_q || dst->ne[3] != 1 || D > ATTN_MAX_D || H / H_kv > ATTN_MAX_GROUP) {
        return SAIL_ERR_SHAPE;
    }
    if (mask) {
        TRY(tensor_check(mask));
        if (mask->type != SAIL_TYPE_F32 && mask->type != SAIL_TYPE_F16) {
            return SAIL_ERR_TYPE;
        }
        if (mask->ne[0] != n_kv || mask->ne[1] < n_q) {
            return SAIL_ERR_SHAPE;
        }
    }
    const float scale = param_f32(op, SAIL_P_ATTN_SCALE);
    const int causal = op->params[SAIL_P_ATTN_CAUSAL];
    const int64_t n_past = op->params[SAIL_P_ATTN_N_PAST];
    if (param_f32(op, SAIL_P_ATTN_MAX_BIAS) != 0.0f || (causal != 0 && causal != 1) || n_past < 0) {
        return SAIL_ERR_PARAM;
    }
    const int64_t group = H / H_kv;
    /* scratchpad: the group's q rows, one K row and one V row widened to f32, the group's
     * outputs; the group's scores too when they fit, else the work buffer holds them */
    float *qs = (float *)(uintptr_t)SAIL_SCRATCH_BASE;
    float *krow = qs + group * D;
    float *vrow = krow + D;
    float *outs = vrow + D;
    float *scores = outs + group * D;
    const uint64_t fixed = (uint64_t)(2 * group * D + 2 * D) * sizeof(float);
    const uint64_t score_bytes = (uint64_t)(group * n_kv) * sizeof(float);
    if (fixed > SAIL_SCRATCH_SIZE) {
        return SAIL_ERR_SHAPE;
    }
    if (fixed + score_bytes > SAIL_SCRATCH_SIZE) {
        if (op->wdata == 0 || op->wsize < score_bytes) {
            return SAIL_ERR_WORK;
        }
        scores = (float *)(uintptr_t)op->wdata;
    }
    const ptrdiff_t v_stride = (ptrdiff_t)v->nb[0];

    for (int64_t iq = 0; iq < n_q; iq++) {
        int64_t n_vis = causal ? n_past + iq + 1 : n_kv;
        if (n_vis > n_kv) {
            n_vis = n_kv;
        }
        const uintptr_t mrow = mask ? tensor_row(mask, iq, 0, 0) : 0;
        for (int64_t hk = 0; hk < H_kv; hk++) {
            for (int64_t g = 0; g < group; g++) {
                copy_f32(qs + g * D, (const float *)tensor_row(q, iq, hk * group + g, 0), D);
            }
            /* pass 1: scores of every head of the group, one K row at a time */
            for (int64_t j = 0; j < n_vis; j++) {
                f16_row_to_f32(krow, (const uint16_t *)tensor_row(k, j, hk, 0), D);
                const float mj = !mask ? 0.0f
                                 : mask->type == SAIL_TYPE_F32 ? ((const float *)mrow)[j]
                                                               : fp16_to_f32(((const uint16_t *)mrow)[j]);
                for (int64_t g = 0; g < group; g++) {
                    const float *qr = qs + g * D;
                    vfloat32m1_t acc = __riscv_vfmv_s_f_f32m1(0.0f, 1);
                    for (int64_t d = 0; d < D;) {
                        size_t vl = __riscv_vsetvl_e32m8((size_t)(D - d));
                        vfloat32m8_t prod = __riscv_vfmul_vv_f32m8(__riscv_vle32_v_f32m8(qr + d, vl),
                                                                   __riscv_vle32_v_f32m8(krow + d, vl), vl);
                        acc = __riscv_vfredosum_vs_f32m8_f32m1(prod, acc, vl);
                        d += (int64_t)vl;
                    }
                    float sj = __riscv_vfmv_f_s_f32m1_f32(acc) * scale;
                    if (mask) {
                        sj += mj;
                    }
                    scores[g * n_kv + j] = sj;
                }
            }
            /* softmax weights per head; the outputs start at zero */
            float inv[ATTN_MAX_GROUP];
            for (int64_t g = 0; g < group; g++) {
                float *sg = scores + g * n_kv;
                const float mx = max_f32(sg, n_vis);
                for (int64_t j = 0; j < n_vis;) {
                    size_t vl = __riscv_vsetvl_e32m8((size_t)(n_vis - j));
                    __riscv_vse32_v_f32m8(sg + j, vexpf_m8(__riscv_vfsub_vf_f32m8(__riscv_vle32_v_f32m8(sg + j, vl), mx, vl), vl), vl);
                    j += (int64_t)vl;
                }
                inv[g] = (float)(1.0 / sum_ordered_f32_to_f64(sg, n_vis));
                for (int64_t d = 0; d < D;) {
                    size_t vl = __riscv_vsetvl_e32m8((size_t)(D - d));
                    __riscv_vse32_v_f32m8(outs + g * D + d, __riscv_vfmv_v_f_f32m8(0.0f, vl), vl);
                    d += (int64_t)vl;
                }
            }
            /* pass 2: weighted sums of the values, one V row at a time, j in order */
            for (int64_t j = 0; j < n_vis; j++) {
                const uint16_t *vr = (const uint16_t *)tensor_row(v, j, hk, 0);
                for (int64_t d = 0; d < D;) {
                    size_t vl = __riscv_vsetvl_e16m4((size_t)(D - d));
                    vuint16m4_t hv = v_stride == 2 ? __riscv_vle16_v_u16m4(vr + d, vl)
                                                   : __riscv_vlse16_v_u16m4((const uint16_t *)((uintptr_t)vr + (uintptr_t)(d * v_stride)), v_stride, vl);
                    __riscv_vse32_v_f32m8(vrow + d, f16_to_f32_m8(hv, vl), vl);
                    d += (int64_t)vl;
                }
                for (int64_t g = 0; g < group; g++) {
                    const float e = scores[g * n_kv + j];
                    float *o = outs + g * D;
                    for (int64_t d = 0; d < D;) {
                        size_t vl = __riscv_vsetvl_e32m8((size_t)(D - d));
                        vfloat32m8_t acc = __riscv_vfmacc_vf_f32m8(__riscv_vle32_v_f32m8(o + d, vl), e,
                                                                   __riscv_vle32_v_f32m8(vrow + d, vl), vl);
                        __riscv_vse32_v_f32m8(o + d, acc, vl);
                        d += (int64_t)vl;
                    }
                }
            }
            for (int64_t g = 0; g < group; g++) {
                float *out = (float *)tensor_row(dst, hk * group + g, iq, 0);
                for (int64_t d = 0; d < D;) {
                    size_t vl = __riscv_vsetvl_e32m8((size_t)(D - d));
                    __riscv_vse32_v_f32m8(out + d, __riscv_vfmul_vf_f32m8(__riscv_vle32_v_f32m8(outs + g * D + d, vl), inv[g], vl), vl);
                    d += (int64_t)vl;
                }
            }
        }
    }
    return SAIL_OK;
}
