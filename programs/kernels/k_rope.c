/* ROPE (rotary position embedding), GGML's ggml_rope_ext without YaRN ramp:
 *
 *   src0: F32 [head_dim, n_head, n_tokens, 1], src1: I32 positions [n_tokens], dst: F32 like src0
 *   Without src1 (n_src = 1) token i2 is at position params[0] + i2 (GGML's legacy n_past slot).
 *   params (GGML's op_params layout): [0] n_past (only without src1), [1] n_dims, [2] mode (0 normal = llama, 2 neox),
 *   [5] freq_base, [6] freq_scale, [7] ext_factor (must be 0), [8] attn_factor.
 *
 * Per token, as ggml_rope_cache_init: theta_scale = powf(freq_base, -2.0f/n_dims) (here:
 * double pow rounded to f32), theta_0 = (float)pos, theta_{i+1} = theta_i * theta_scale in
 * f32; cos_i = (float)cos(freq_scale * theta_i) * attn_factor, likewise sin (double
 * cos/sin rounded to f32). Each pair (x0, x1) -- (2i, 2i+1) in normal mode, (i, i+n_dims/2)
 * in neox mode -- becomes (x0*cos - x1*sin, x0*sin + x1*cos), unfused f32 operations;
 * elements from n_dims on are copied.
 */
#include <riscv_vector.h>

#include "kcommon.h"
#include "kmath.h"

#define ROPE_MAX_DIMS 1024

int sail_kernel(const struct sail_op *op) {
    TRY(desc_check(op));
    if (op->op != SAIL_OP_ROPE) {
        return SAIL_ERR_OP;
    }
    if (op->n_src < 1) {
        return SAIL_ERR_SHAPE;
    }
    const struct sail_tensor *src = &op->src[0];
    const struct sail_tensor *pos = op->n_src >= 2 ? &op->src[1] : 0;
    const struct sail_tensor *dst = &op->dst;
    TRY(tensor_check(src));
    TRY(tensor_check(dst));
    if (src->type != SAIL_TYPE_F32 || dst->type != SAIL_TYPE_F32) {
        return SAIL_ERR_TYPE;
    }
    if (!tensor_same_shape(src, dst) || src->ne[3] != 1) {
        return SAIL_ERR_SHAPE;
    }
    if (pos) {
        TRY(tensor_check(pos));
        if (pos->type != SAIL_TYPE_I32) {
            return SAIL_ERR_TYPE;
        }
        if (pos->ne[0] != src->ne[2]) {
            return SAIL_ERR_SHAPE;
        }
    }
    const int n_dims = op->params[SAIL_P_ROPE_N_DIMS];
    const int mode = op->params[SAIL_P_ROPE_MODE];
    const float freq_base = param_f32(op, SAIL_P_ROPE_FREQ_BASE);
    const float freq_scale = param_f32(op, SAIL_P_ROPE_FREQ_SCALE);
    const float ext_factor = param_f32(op, SAIL_P_ROPE_EXT_FACTOR);
    const float attn_factor = param_f32(op, SAIL_P_ROPE_ATTN_FACTOR);
    if (n_dims < 2 || n_dims % 2 != 0 || n_dims > src->ne[0] || n_dims > ROPE_MAX_DIMS ||
        (mode != SAIL_ROPE_MODE_NORMAL && mode != SAIL_ROPE_MODE_NEOX) || ext_factor != 0.0f ||
        !(freq_base > 0.0f)) {
        return SAIL_ERR_PARAM;
    }
    const float theta_scale = (float)kpow((double)freq_base, (double)(-2.0f / (float)n_dims));
    const int half = n_dims / 2;
    /* the position's cos/sin table in the scratchpad (the stack is in DDR, behind its
     * latency, and every head re-reads the table) */
    float *const cosv = (float *)(uintptr_t)SAIL_SCRATCH_BASE;
    float *const sinv = cosv + ROPE_MAX_DIMS / 2;
    const int64_t ne0 = src->ne[0];

    for (int64_t i2 = 0; i2 < src->ne[2]; i2++) {
        const int32_t p = pos ? *(const int32_t *)(uintptr_t)(pos->data + (uint64_t)i2 * pos->nb[0])
                              : op->params[SAIL_P_ROPE_N_PAST] + (int32_t)i2;
        float theta = (float)p;
        for (int i = 0; i < half; i++) {
            double s, c;
            ksincos((double)(freq_scale * theta), &s, &c);
            cosv[i] = (float)c * attn_factor;
            sinv[i] = (float)s * attn_factor;
            theta *= theta_scale;
        }
        for (int64_t i1 = 0; i1 < src->ne[1]; i1++) {
            const float *x = (const float *)tensor_row(src, i1, i2, 0);
            float *y = (float *)tensor_row(dst, i1, i2, 0);
            /* x0 at x + a*i, x1 at x + a*i + b (element units) */
            const ptrdiff_t a = mode == SAIL_ROPE_MODE_NORMAL ? 2 : 1;
            const ptrdiff_t b = mode == SAIL_ROPE_MODE_NORMAL ? 1 : half;
            for (int i = 0; i < half;) {
                size_t vl = __riscv_vsetvl_e32m2((size_t)(half - i));
                const ptrdiff_t stride = a * (ptrdiff_t)sizeof(float);
                vfloat32m2_t x0 = __riscv_vlse32_v_f32m2(x + a * i, stride, vl);
                vfloat32m2_t x1 = __riscv_vlse32_v_f32m2(x + a * i + b, stride, vl);
                vfloat32m2_t c = __riscv_vle32_v_f32m2(cosv + i, vl);
                vfloat32m2_t s = __riscv_vle32_v_f32m2(sinv + i, vl);
                vfloat32m2_t y0 = __riscv_vfsub_vv_f32m2(__riscv_vfmul_vv_f32m2(x0, c, vl), __riscv_vfmul_vv_f32m2(x1, s, vl), vl);
                vfloat32m2_t y1 = __riscv_vfadd_vv_f32m2(__riscv_vfmul_vv_f32m2(x0, s, vl), __riscv_vfmul_vv_f32m2(x1, c, vl), vl);
                __riscv_vsse32_v_f32m2(y + a * i, stride, y0, vl);
                __riscv_vsse32_v_f32m2(y + a * i + b, stride, y1, vl);
                i += (int)vl;
            }
            for (int64_t i = n_dims; i < ne0;) {
                size_t vl = __riscv_vsetvl_e32m4((size_t)(ne0 - i));
                __riscv_vse32_v_f32m4(y + i, __riscv_vle32_v_f32m4(x + i, vl), vl);
                i += (int64_t)vl;
            }
        }
    }
    return SAIL_OK;
}
