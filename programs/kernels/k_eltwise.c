/* Element-wise F32 ops: ADD, MUL (src1 broadcast over src0 as ggml_can_repeat allows:
 * every ne1[d] divides ne0[d]), SILU (x / (1 + exp(-x))) and SWIGLU (silu(src0) * src1,
 * GGML's swiglu with separate gate and up tensors). dst has src0's shape and may alias it.
 * ADD and MUL are single correctly rounded f32 operations (bit-exact anywhere); SILU uses
 * vexpf (kmath.h) then f32 add and divide.
 */
#include <riscv_vector.h>

#include "kcommon.h"
#include "kmath.h"

static inline vfloat32m8_t silu_m8(vfloat32m8_t x, size_t vl) {
    vfloat32m8_t e = vexpf_m8(__riscv_vfneg_v_f32m8(x, vl), vl);
    return __riscv_vfdiv_vv_f32m8(x, __riscv_vfadd_vf_f32m8(e, 1.0f, vl), vl);
}

/* y = x + z (add) or x * z over the whole pairs of LMUL-4 strips of n elements, two strips
 * ahead: strips k and k+1 are in registers while strip k is combined, then strip k+2 is
 * loaded into k's registers before k's result is stored (the operation's latency hides
 * behind the loads, each load's DDR latency behind two strips of work). Returns how many
 * elements it did (the caller does the rest). Loads always run ahead of the stores, so y may
 * be x (in place). */
static inline __attribute__((always_inline)) int64_t add_mul_pipelined(const int add, const float *x, const float *z, float *y,
                                                                       int64_t n) {
    const size_t vl = __riscv_vsetvlmax_e32m4();
    const int64_t full = n & ~(int64_t)(2 * vl - 1); /* vl is a power of two: no divide */
    if (full <= 0) {
        return 0;
    }
    vfloat32m4_t a0 = __riscv_vle32_v_f32m4(x, vl), b0 = __riscv_vle32_v_f32m4(z, vl);
    vfloat32m4_t a1 = __riscv_vle32_v_f32m4(x + vl, vl), b1 = __riscv_vle32_v_f32m4(z + vl, vl);
    for (int64_t i = 0; i < full; i += (int64_t)(2 * vl)) {
        /* the strips after this pair (the last round reloads this pair, unused) */
        const int64_t nx = i + (int64_t)(2 * vl) < full ? i + (int64_t)(2 * vl) : i;
        vfloat32m4_t r = add ? __riscv_vfadd_vv_f32m4(a0, b0, vl) : __riscv_vfmul_vv_f32m4(a0, b0, vl);
        a0 = __riscv_vle32_v_f32m4(x + nx, vl);
        b0 = __riscv_vle32_v_f32m4(z + nx, vl);
        __riscv_vse32_v_f32m4(y + i, r, vl);
        r = add ? __riscv_vfadd_vv_f32m4(a1, b1, vl) : __riscv_vfmul_vv_f32m4(a1, b1, vl);
        a1 = __riscv_vle32_v_f32m4(x + nx + vl, vl);
        b1 = __riscv_vle32_v_f32m4(z + nx + vl, vl);
        __riscv_vse32_v_f32m4(y + i + vl, r, vl);
    }
    return full;
}

/* i % n for the broadcast of src1, without the divider (34 cycles) in the usual cases: src1
 * of one row (n = 1) or of as many rows as src0 (i < n) */
static inline int64_t rep(int64_t i, int64_t n) {
    return n == 1 ? 0 : i < n ? i : i % n;
}

int sail_kernel(const struct sail_op *op) {
    TRY(desc_check(op));
    const int binary = op->op == SAIL_OP_ADD || op->op == SAIL_OP_MUL || op->op == SAIL_OP_SWIGLU;
    if (!binary && op->op != SAIL_OP_SILU) {
        return SAIL_ERR_OP;
    }
    if (op->n_src < (binary ? 2u : 1u)) {
        return SAIL_ERR_SHAPE;
    }
    const struct sail_tensor *a = &op->src[0];
    const struct sail_tensor *b = binary ? &op->src[1] : 0;
    const struct sail_tensor *dst = &op->dst;
    TRY(tensor_check(a));
    TRY(tensor_check(dst));
    if (a->type != SAIL_TYPE_F32 || dst->type != SAIL_TYPE_F32) {
        return SAIL_ERR_TYPE;
    }
    if (!tensor_same_shape(a, dst)) {
        return SAIL_ERR_SHAPE;
    }
    if (b) {
        TRY(tensor_check(b));
        if (b->type != SAIL_TYPE_F32) {
            return SAIL_ERR_TYPE;
        }
        for (int d = 0; d < 4; d++) {
            if (b->ne[d] != 1 && b->ne[d] != a->ne[d] && a->ne[d] % b->ne[d] != 0) { /* no divide when equal or 1 */
                return SAIL_ERR_SHAPE;
            }
        }
        if (op->op == SAIL_OP_SWIGLU && !tensor_same_shape(a, b)) {
            return SAIL_ERR_SHAPE;
        }
    }
    const int64_t n = a->ne[0];
    for (int64_t i3 = 0; i3 < a->ne[3]; i3++) {
        for (int64_t i2 = 0; i2 < a->ne[2]; i2++) {
            for (int64_t i1 = 0; i1 < a->ne[1]; i1++) {
                const float *x = (const float *)tensor_row(a, i1, i2, i3);
                float *y = (float *)tensor_row(dst, i1, i2, i3);
                if (!b) {
                    for (int64_t i = 0; i < n;) {
                        size_t vl = __riscv_vsetvl_e32m8((size_t)(n - i));
                        __riscv_vse32_v_f32m8(y + i, silu_m8(__riscv_vle32_v_f32m8(x + i, vl), vl), vl);
                        i += (int64_t)vl;
                    }
                    continue;
                }
                const float *z = (const float *)tensor_row(b, rep(i1, b->ne[1]), rep(i2, b->ne[2]), rep(i3, b->ne[3]));
                const int64_t nb = b->ne[0];
                for (int64_t base = 0; base < n; base += nb) { /* src1 repeats along dim 0 */
                    int64_t i = 0;
                    if (op->op != SAIL_OP_SWIGLU) {
                        /* a constant flag at each call: the loop has no branch on it */
                        i = op->op == SAIL_OP_ADD ? add_mul_pipelined(1, x + base, z, y + base, nb)
                                                  : add_mul_pipelined(0, x + base, z, y + base, nb);
                    }
                    while (i < nb) {
                        size_t vl = __riscv_vsetvl_e32m8((size_t)(nb - i));
                        vfloat32m8_t va = __riscv_vle32_v_f32m8(x + base + i, vl);
                        vfloat32m8_t vb = __riscv_vle32_v_f32m8(z + i, vl);
                        vfloat32m8_t r;
                        if (op->op == SAIL_OP_ADD) {
                            r = __riscv_vfadd_vv_f32m8(va, vb, vl);
                        } else if (op->op == SAIL_OP_MUL) {
                            r = __riscv_vfmul_vv_f32m8(va, vb, vl);
                        } else {
                            r = __riscv_vfmul_vv_f32m8(silu_m8(va, vl), vb, vl);
                        }
                        __riscv_vse32_v_f32m8(y + base + i, r, vl);
                        i += (int64_t)vl;
                    }
                }
            }
        }
    }
    return SAIL_OK;
}
