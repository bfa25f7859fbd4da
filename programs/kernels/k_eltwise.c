/* Element-wise F32 ops: ADD, MUL (src1 broadcast over src0 as ggml_can_repeat allows:
 * every ne1[d] divides ne0[d]), SILU (x / (1 + exp(-x))) and SWIGLU (silu(src0) * src1,
 * GGML's swiglu with separate gate and up tensors). dst has src0's shape and may alias it.
 * ADD and MUL are single correctly rounded f32 operations (bit-exact anywhere); SILU uses
 * vexpf (kmath.h) then f32 add and divide.
 */
#include <riscv_vector.h>

#include "kcommon.h"
#include "kmath.h"

/* One operation on the three strips A, B, C (LMUL 2) of a round of swiglu_rows3. */
#define S3(op, a, b, c) op " " a "\n" op " " b "\n" op " " c "\n"

/* silu(x) * z over `rounds` rounds of three LMUL-2 strips (3 * VLEN/16 elements), in
 * assembly: the compiler ran each strip's chain of dependent operations one after the other,
 * where each waits the previous one's latency (4 cycles after its last beat); here the three
 * strips' operations alternate, so each result is ready when its strip's next operation
 * issues. The exp's Horner constants 1/120 .. 1 stay in vector registers (v16..v24) for the
 * whole row; the strips' x are loaded for the next round while this round's divides finish,
 * and loaded again for the divide (fewer live registers). The operations are vexpf_m2's on
 * -x (kmath.h) with two exact rewritings, shown bit-identical on all 2^32 inputs by
 * testbench/tools/silu_exp_check.c: the clamp taken on x (min(x, 104), max(., -89)) and
 * its sign folded into the product with -log2(e) and the first reduction step (vfnmacc);
 * the scale exponents from m = n + 254 (m >> 1 and m - (m >> 1)). Then x / (1 + e) by the
 * divider, the product with z. Registers per strip: r, n, p (A v2 v4 v6, B v8 v10 v12,
 * C v28 v30 v14). */
static void swiglu_rows3(const float *x, const float *z, float *y, int64_t rounds) {
    float f104 = 104.0f, fm89 = -89.0f, fnl2e = -1.44269502163f, ln2_hi = 0.693145751953125f,
          ln2_lo = 1.4286068203094172e-06f, c7 = 1.0f / 5040.0f, c6 = 1.0f / 720.0f, c5 = 1.0f / 120.0f,
          c4 = 1.0f / 24.0f, c3 = 1.0f / 6.0f, c2 = 0.5f, one = 1.0f;
    const size_t vl = __riscv_vsetvlmax_e32m2();
    const int64_t sb = (int64_t)(vl * sizeof(float)); /* bytes per strip */
    int64_t frm_saved, last, t0;
    __asm__ volatile(
        "fsrmi %[frm], 0\n"
        "vsetvli zero, %[vl], e32, m2, ta, ma\n"
        "vfmv.v.f v16, %[c5]\n"
        "vfmv.v.f v18, %[c4]\n"
        "vfmv.v.f v20, %[c3]\n"
        "vfmv.v.f v22, %[c2]\n"
        "vfmv.v.f v24, %[one]\n"
        /* first round's x */
        "vle32.v v2, (%[x])\n"
        "add %[t0], %[x], %[sb]\n"
        "vle32.v v8, (%[t0])\n"
        "add %[t0], %[t0], %[sb]\n"
        "vle32.v v28, (%[t0])\n"
        "1:\n"
        S3("vfmin.vf", "v2, v2, %[f104]", "v8, v8, %[f104]", "v28, v28, %[f104]")
        S3("vfmax.vf", "v2, v2, %[fm89]", "v8, v8, %[fm89]", "v28, v28, %[fm89]")
        S3("vfmul.vf", "v6, v2, %[fnl2e]", "v12, v8, %[fnl2e]", "v14, v28, %[fnl2e]")
        S3("vfcvt.x.f.v", "v4, v6", "v10, v12", "v30, v14")
        S3("vfcvt.f.x.v", "v6, v4", "v12, v10", "v14, v30")
        S3("vfnmacc.vf", "v2, %[ln2_hi], v6", "v8, %[ln2_hi], v12", "v28, %[ln2_hi], v14")
        S3("vfnmsac.vf", "v2, %[ln2_lo], v6", "v8, %[ln2_lo], v12", "v28, %[ln2_lo], v14")
        S3("vfmv.v.f", "v6, %[c6]", "v12, %[c6]", "v14, %[c6]")
        S3("vfmacc.vf", "v6, %[c7], v2", "v12, %[c7], v8", "v14, %[c7], v28")
        S3("vfmadd.vv", "v6, v2, v16", "v12, v8, v16", "v14, v28, v16")
        S3("vfmadd.vv", "v6, v2, v18", "v12, v8, v18", "v14, v28, v18")
        S3("vfmadd.vv", "v6, v2, v20", "v12, v8, v20", "v14, v28, v20")
        S3("vfmadd.vv", "v6, v2, v22", "v12, v8, v22", "v14, v28, v22")
        S3("vfmadd.vv", "v6, v2, v24", "v12, v8, v24", "v14, v28, v24")
        S3("vfmadd.vv", "v6, v2, v24", "v12, v8, v24", "v14, v28, v24")
        S3("vadd.vx", "v4, v4, %[b254]", "v10, v10, %[b254]", "v30, v30, %[b254]")
        S3("vsra.vi", "v2, v4, 1", "v8, v10, 1", "v28, v30, 1")
        S3("vsub.vv", "v4, v4, v2", "v10, v10, v8", "v30, v30, v28")
        S3("vsll.vi", "v2, v2, 23", "v8, v8, 23", "v28, v28, 23")
        S3("vsll.vi", "v4, v4, 23", "v10, v10, 23", "v30, v30, 23")
        S3("vfmul.vv", "v6, v6, v2", "v12, v12, v8", "v14, v14, v28")
        /* x again, for the divide */
        "vle32.v v2, (%[x])\n"
        "add %[t0], %[x], %[sb]\n"
        "vle32.v v8, (%[t0])\n"
        "add %[t0], %[t0], %[sb]\n"
        "vle32.v v28, (%[t0])\n"
        S3("vfmul.vv", "v6, v6, v4", "v12, v12, v10", "v14, v14, v30")
        "vle32.v v4, (%[z])\n"
        "add %[t0], %[z], %[sb]\n"
        "vle32.v v10, (%[t0])\n"
        "add %[t0], %[t0], %[sb]\n"
        "vle32.v v30, (%[t0])\n"
        S3("vfadd.vf", "v6, v6, %[one]", "v12, v12, %[one]", "v14, v14, %[one]")
        S3("vfdiv.vv", "v6, v2, v6", "v12, v8, v12", "v14, v28, v14")
        /* the next round's x (this round's again at the last, unused) */
        "addi %[n], %[n], -1\n"
        "seqz %[last], %[n]\n"
        "addi %[last], %[last], -1\n"
        "and %[last], %[last], %[sb3]\n"
        "add %[x], %[x], %[last]\n"
        "vle32.v v2, (%[x])\n"
        "add %[t0], %[x], %[sb]\n"
        "vle32.v v8, (%[t0])\n"
        "add %[t0], %[t0], %[sb]\n"
        "vle32.v v28, (%[t0])\n"
        S3("vfmul.vv", "v6, v6, v4", "v12, v12, v10", "v14, v14, v30")
        "vse32.v v6, (%[y])\n"
        "add %[t0], %[y], %[sb]\n"
        "vse32.v v12, (%[t0])\n"
        "add %[t0], %[t0], %[sb]\n"
        "vse32.v v14, (%[t0])\n"
        "add %[z], %[z], %[sb3]\n"
        "add %[y], %[y], %[sb3]\n"
        "bnez %[n], 1b\n"
        "fsrm %[frm]\n"
        : [x] "+r"(x), [z] "+r"(z), [y] "+r"(y), [n] "+r"(rounds), [frm] "=&r"(frm_saved), [last] "=&r"(last),
          [t0] "=&r"(t0)
        : [vl] "r"(vl), [sb] "r"(sb), [sb3] "r"(3 * sb), [b254] "r"((int64_t)254), [f104] "f"(f104),
          [fm89] "f"(fm89), [fnl2e] "f"(fnl2e), [ln2_hi] "f"(ln2_hi), [ln2_lo] "f"(ln2_lo), [c7] "f"(c7),
          [c6] "f"(c6), [c5] "f"(c5), [c4] "f"(c4), [c3] "f"(c3), [c2] "f"(c2), [one] "f"(one)
        : "memory", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v12", "v13", "v14", "v15",
          "v16", "v17", "v18", "v19", "v20", "v21", "v22", "v23", "v24", "v25", "v28", "v29", "v30", "v31",
          "vl", "vtype");
}
#undef S3

/* y = silu(x) (z null) or silu(x) * z over n elements, at LMUL 4 (at LMUL 8 the exp's
 * values did not fit the 4 register groups: the compiler spilled two of them to the stack in
 * DDR every strip). The operations are those of vexpf_m4 (kmath.h) then x / (1 + e) and the
 * product, so the bits are the same; the exp's constants sit in scalar registers for the
 * whole row (the compiler reloaded each one from .rodata, in DDR, every strip) and its first
 * Horner step takes 1/5040 as the scalar multiplicand (fma(r, 1/5040, 1/720) is
 * fma(1/5040, r, 1/720): one splat less). */
static inline __attribute__((always_inline)) void silu_row(const float *x, const float *z, float *y, int64_t n) {
    float lo = -104.0f, hi = 89.0f, l2e = 1.44269502163f, ln2_hi = 0.693145751953125f,
          ln2_lo = 1.4286068203094172e-06f, c7 = 1.0f / 5040.0f, c6 = 1.0f / 720.0f, c5 = 1.0f / 120.0f,
          c4 = 1.0f / 24.0f, c3 = 1.0f / 6.0f, c2 = 0.5f, one = 1.0f;
    KPIN(lo);
    KPIN(hi);
    KPIN(l2e);
    KPIN(ln2_hi);
    KPIN(ln2_lo);
    KPIN(c7);
    KPIN(c6);
    KPIN(c5);
    KPIN(c4);
    KPIN(c3);
    KPIN(c2);
    KPIN(one);
    int64_t i = 0;
    while (i < n) {
        const size_t vl = __riscv_vsetvl_e32m4((size_t)(n - i));
        const vfloat32m4_t vx = __riscv_vle32_v_f32m4(x + i, vl);
        vfloat32m4_t t = __riscv_vfneg_v_f32m4(vx, vl);
        t = __riscv_vfmax_vf_f32m4(t, lo, vl);
        t = __riscv_vfmin_vf_f32m4(t, hi, vl);
        const vint32m4_t k = __riscv_vfcvt_x_f_v_i32m4_rm(__riscv_vfmul_vf_f32m4(t, l2e, vl), __RISCV_FRM_RNE, vl);
        const vfloat32m4_t kf = __riscv_vfcvt_f_x_v_f32m4(k, vl);
        vfloat32m4_t r = __riscv_vfnmsac_vf_f32m4(t, ln2_hi, kf, vl);
        r = __riscv_vfnmsac_vf_f32m4(r, ln2_lo, kf, vl);
        vfloat32m4_t p = __riscv_vfmacc_vf_f32m4(__riscv_vfmv_v_f_f32m4(c6, vl), c7, r, vl);
        p = __riscv_vfmadd_vv_f32m4(p, r, __riscv_vfmv_v_f_f32m4(c5, vl), vl);
        p = __riscv_vfmadd_vv_f32m4(p, r, __riscv_vfmv_v_f_f32m4(c4, vl), vl);
        p = __riscv_vfmadd_vv_f32m4(p, r, __riscv_vfmv_v_f_f32m4(c3, vl), vl);
        p = __riscv_vfmadd_vv_f32m4(p, r, __riscv_vfmv_v_f_f32m4(c2, vl), vl);
        p = __riscv_vfmadd_vv_f32m4(p, r, __riscv_vfmv_v_f_f32m4(one, vl), vl);
        p = __riscv_vfmadd_vv_f32m4(p, r, __riscv_vfmv_v_f_f32m4(one, vl), vl);
        const vint32m4_t k1 = __riscv_vsra_vx_i32m4(k, 1, vl);
        const vint32m4_t k2 = __riscv_vsub_vv_i32m4(k, k1, vl);
        const vint32m4_t e1 = __riscv_vsll_vx_i32m4(__riscv_vadd_vx_i32m4(k1, 127, vl), 23, vl);
        const vint32m4_t e2 = __riscv_vsll_vx_i32m4(__riscv_vadd_vx_i32m4(k2, 127, vl), 23, vl);
        p = __riscv_vfmul_vv_f32m4(p, __riscv_vreinterpret_v_i32m4_f32m4(e1), vl);
        p = __riscv_vfmul_vv_f32m4(p, __riscv_vreinterpret_v_i32m4_f32m4(e2), vl);
        vfloat32m4_t q = __riscv_vfdiv_vv_f32m4(vx, __riscv_vfadd_vf_f32m4(p, one, vl), vl);
        if (z) {
            q = __riscv_vfmul_vv_f32m4(q, __riscv_vle32_v_f32m4(z + i, vl), vl);
        }
        __riscv_vse32_v_f32m4(y + i, q, vl);
        i += (int64_t)vl;
    }
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
                    silu_row(x, 0, y, n);
                    continue;
                }
                const float *z = (const float *)tensor_row(b, rep(i1, b->ne[1]), rep(i2, b->ne[2]), rep(i3, b->ne[3]));
                const int64_t nb = b->ne[0];
                if (op->op == SAIL_OP_SWIGLU) { /* same shapes: nb == n */
                    const int64_t per = (int64_t)(3 * __riscv_vsetvlmax_e32m2());
                    const int64_t rounds = n / per; /* a divide per row, not per element */
                    if (rounds > 0) {
                        swiglu_rows3(x, z, y, rounds);
                    }
                    silu_row(x + rounds * per, z + rounds * per, y + rounds * per, n - rounds * per);
                    continue;
                }
                for (int64_t base = 0; base < n; base += nb) { /* src1 repeats along dim 0 */
                    /* a constant flag at each call: the loop has no branch on it */
                    int64_t i = op->op == SAIL_OP_ADD ? add_mul_pipelined(1, x + base, z, y + base, nb)
                                                      : add_mul_pipelined(0, x + base, z, y + base, nb);
                    while (i < nb) {
                        size_t vl = __riscv_vsetvl_e32m8((size_t)(nb - i));
                        vfloat32m8_t va = __riscv_vle32_v_f32m8(x + base + i, vl);
                        vfloat32m8_t vb = __riscv_vle32_v_f32m8(z + i, vl);
                        vfloat32m8_t r;
                        if (op->op == SAIL_OP_ADD) {
                            r = __riscv_vfadd_vv_f32m8(va, vb, vl);
                        } else {
                            r = __riscv_vfmul_vv_f32m8(va, vb, vl);
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
