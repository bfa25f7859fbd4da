/* What the RVV and the Xpop_matmul mul_mat programs share: descriptor checks, and the
 * conversion of F32 activations into the weight type's dot type in the work buffer. */
#ifndef SAIL_MUL_MAT_COMMON_H
#define SAIL_MUL_MAT_COMMON_H

#include <riscv_vector.h>

#include "kcommon.h"
#include "quants.h"

/* GGML's vec_dot_type: the type activations are converted to for a weight type. */
static inline uint32_t mul_mat_dot_type(uint32_t wtype) {
    switch (wtype) {
    case SAIL_TYPE_Q4_0:
    case SAIL_TYPE_Q8_0:
        return SAIL_TYPE_Q8_0;
    case SAIL_TYPE_Q4_K:
    case SAIL_TYPE_Q6_K:
        return SAIL_TYPE_Q8_K;
    case SAIL_TYPE_F16:
        return SAIL_TYPE_F16;
    case SAIL_TYPE_F32:
        return SAIL_TYPE_F32;
    case SAIL_TYPE_BF16:
        return SAIL_TYPE_BF16;
    default:
        return 0xffffffffu;
    }
}

static inline void copy_bytes(uint8_t *d, const uint8_t *s, uint64_t n) {
    for (uint64_t i = 0; i < n;) {
        size_t vl = __riscv_vsetvl_e8m8((size_t)(n - i));
        __riscv_vse8_v_u8m8(d + i, __riscv_vle8_v_u8m8(s + i, vl), vl);
        i += vl;
    }
}

struct mul_mat_plan {
    int64_t r2, r3;       /* broadcast ratios ne12/ne02, ne13/ne03 */
    uint32_t act_type;    /* the dot type the activation rows are rounded to */
    int widened;          /* F16/BF16 activation rows stored widened to f32 (exact) */
    uintptr_t act_base;   /* converted rows (scratchpad or work buffer), or 0 to read src1 in place */
    uint64_t act_row_bytes;
    const struct sail_tensor *src1;
};

/* One activation row (k elements, F32 or already in the dot type `vdt`) into the storage
 * the dot products read. */
static inline void mul_mat_convert_row(uint32_t src_type, uint32_t vdt, int widened, const void *src, uintptr_t out,
                                       int64_t k, uint64_t row_bytes) {
    if (src_type == vdt && !widened) {
        copy_bytes((uint8_t *)out, (const uint8_t *)src, row_bytes);
        return;
    }
    const float *x = (const float *)src;
    const uint16_t *h = (const uint16_t *)src;
    switch (vdt) {
    case SAIL_TYPE_Q8_0:
        quantize_row_q8_0(x, (block_q8_0 *)out, k);
        break;
    case SAIL_TYPE_Q8_K:
        quantize_row_q8_K(x, (block_q8_K *)out, k);
        break;
    case SAIL_TYPE_F16:
        if (widened) { /* f32 -> f16 (nearest even, ggml_cpu_fp32_to_fp16) -> f32, exactly */
            float *y = (float *)out;
            for (int64_t j = 0; j < k; j++) {
                y[j] = fp16_to_f32(src_type == SAIL_TYPE_F16 ? h[j] : f32_to_fp16(x[j]));
            }
        } else {
            uint16_t *y = (uint16_t *)out;
            for (int64_t j = 0; j < k; j++) {
                y[j] = f32_to_fp16(x[j]);
            }
        }
        break;
    case SAIL_TYPE_BF16:
        if (widened) { /* f32 -> bf16 (GGML_FP32_TO_BF16) -> f32, exactly */
            uint32_t *y = (uint32_t *)out;
            for (int64_t j = 0; j < k; j++) {
                y[j] = (uint32_t)(src_type == SAIL_TYPE_BF16 ? h[j] : f32_to_bf16(x[j])) << 16;
            }
        } else {
            uint16_t *y = (uint16_t *)out;
            for (int64_t j = 0; j < k; j++) {
                y[j] = f32_to_bf16(x[j]);
            }
        }
        break;
    default:
        break;
    }
}

/* Validates the descriptor and converts the activations. `widen`: store F16/BF16 activation
 * rows widened to f32 (the RVV dot products); otherwise in the dot type's own bytes (the
 * matrix unit). Converted rows go to the scratchpad when they fit (every row is re-read once
 * per weight row), else to the work buffer; activations already in the dot type are copied
 * to the scratchpad when they fit, else read in place. */
static inline int mul_mat_prepare(const struct sail_op *op, struct mul_mat_plan *plan, int widen) {
    if (op->n_src < 2) {
        return SAIL_ERR_SHAPE;
    }
    const struct sail_tensor *w = &op->src[0];
    const struct sail_tensor *a = &op->src[1];
    const struct sail_tensor *dst = &op->dst;
    TRY(tensor_check(w));
    TRY(tensor_check(a));
    TRY(tensor_check(dst));
    const uint32_t vdt = mul_mat_dot_type(w->type);
    if (vdt == 0xffffffffu || dst->type != SAIL_TYPE_F32 || (a->type != SAIL_TYPE_F32 && a->type != vdt)) {
        return SAIL_ERR_TYPE;
    }
    const int64_t k = w->ne[0];
    if (a->ne[0] != k || dst->ne[0] != w->ne[1] || dst->ne[1] != a->ne[1] || dst->ne[2] != a->ne[2] ||
        dst->ne[3] != a->ne[3] || a->ne[2] % w->ne[2] != 0 || a->ne[3] % w->ne[3] != 0 ||
        k % type_block_elems(vdt) != 0) {
        return SAIL_ERR_SHAPE;
    }
    plan->r2 = a->ne[2] / w->ne[2];
    plan->r3 = a->ne[3] / w->ne[3];
    plan->act_type = vdt;
    plan->widened = widen && (vdt == SAIL_TYPE_F16 || vdt == SAIL_TYPE_BF16);
    plan->src1 = a;
    plan->act_row_bytes = plan->widened ? (uint64_t)k * sizeof(float) : type_row_bytes(vdt, k);
    const uint64_t need = (uint64_t)tensor_nrows(a) * plan->act_row_bytes;
    /* the converted rows go to the scratchpad when they fit below the quantizer's stage */
    if (need <= SAIL_SCRATCH_SIZE - Q8K_STAGE_BYTES) {
        plan->act_base = (uintptr_t)SAIL_SCRATCH_BASE;
    } else if (a->type == vdt && !plan->widened) {
        plan->act_base = 0;
        return SAIL_OK;
    } else if (op->wdata != 0 && op->wsize >= need) {
        plan->act_base = (uintptr_t)op->wdata;
    } else {
        return SAIL_ERR_WORK;
    }
    uintptr_t out = plan->act_base;
    for (int64_t i3 = 0; i3 < a->ne[3]; i3++) {
        for (int64_t i2 = 0; i2 < a->ne[2]; i2++) {
            for (int64_t i1 = 0; i1 < a->ne[1]; i1++) {
                mul_mat_convert_row(a->type, vdt, plan->widened, (const void *)tensor_row(a, i1, i2, i3), out, k,
                                    plan->act_row_bytes);
                out += plan->act_row_bytes;
            }
        }
    }
    return SAIL_OK;
}

/* Address of activation row (m, i2, i3) in the dot type. */
static inline uintptr_t mul_mat_act_row(const struct mul_mat_plan *plan, int64_t m, int64_t i2, int64_t i3) {
    if (plan->act_base == 0) {
        return tensor_row(plan->src1, m, i2, i3);
    }
    const struct sail_tensor *a = plan->src1;
    const int64_t row = m + a->ne[1] * (i2 + a->ne[2] * i3);
    return plan->act_base + (uintptr_t)row * plan->act_row_bytes;
}

#endif
