/* ATTENTION on the Xpop_matmul unit: the products of the cache's type run on the matrix unit
 * (programs/xpop.h, doc/xpop-matmul.md), the online softmax on the vector unit. Same
 * descriptor contract as k_attention.c (attention_common.h), with rows of V contiguous
 * (v->nb[0] = the element or block bytes: the fused path's untransposed V cache; else
 * SAIL_ERR_STRIDE).
 *
 * Per KV cache type (K and V of one type):
 *   F16:  q.K^T and p.V as F16 x F16 jobs; q and p rounded to f16.
 *   BF16: q.K^T and p.V as BF16 x BF16 jobs; q and p rounded to bf16 (GGML_FP32_TO_BF16:
 *         nearest even), probabilities below 2^-123 (the hidden keys' e^-87) flushed to 0.
 *   Q8_0: q.K^T as Q8_0 x Q8_0 jobs (the int8 path), q quantized per block of 32 by
 *         quantize_row_q8_0, as ggml's CPU flash_attn_ext converts Q to K's vec_dot_type;
 *         p.V on the vector unit in f32 (ggml dequantizes the V rows and multiply-adds in
 *         f32; no exact unit mapping exists, doc/kernels.md): each V block is copied from
 *         DDR, widened exactly (qs * d) once and used by every head of the group.
 *
 * Schedule, for each KV head and each chunk of query tokens whose rows fit the scratchpad
 * (a row = one (token, head) pair of the head's group):
 *   the chunk's q rows are converted to the jobs' B type once (as GGML's dot product
 *   converts its second operand), and the running state is zeroed;
 *   for each block of KB keys the chunk sees:
 *     job 1: S[r][j] = q_r . K_j over the block (A = the K cache rows, read from DDR by the
 *            unit; B = the converted q rows), in f32;
 *     vector: s = S * scale (+ mask; causally hidden keys -inf); online softmax update of
 *            each row (max, correction c, p = e^(s - max), running sum l); p rounded to the
 *            16-bit type (F16, BF16) or kept in f32 (Q8_0);
 *     F16, BF16: job 2: PV[r][d] = p_r . V[:, d] over the block (A = the V cache block,
 *            transposed: ctrl bit 8, so V is read as stored); vector: acc = acc * c + PV;
 *     Q8_0: vector: acc = acc * c, then acc += p_j * v_j over the block's keys in order;
 *   out = acc / l (0 for a row with no visible key).
 * The 16-bit products are the unit's exact-product, binary64-sum dot (bit-exact to
 * ggml_vec_dot_f16 / ggml_vec_dot_bf16); Q8_0's is ggml_vec_dot_q8_0_q8_0's generic order.
 * The kernel's outputs differ from k_attention's by these roundings of q and p and the
 * exact sums; doc/kernels.md states the tolerance.
 * Kernel time does not depend on the data: every row of a block is computed, hidden keys
 * included (their probability is 0).
 */
#include <riscv_vector.h>

#include "attention_common.h"
#include "kcommon.h"
#include "kmath.h"
#include "kvec.h"
#include "quants.h"
#include "xpop.h"

#define KB 128 /* keys per block */
/* rows of at most this many keys take step B over the token's whole block */
#ifndef SOFTMAX_BLOCK_MAX
#define SOFTMAX_BLOCK_MAX 32
#endif

/* The KV cache types, one instantiation of attend() each. */
enum kv_kind { KV_F16, KV_BF16, KV_Q8_0 };

/* A probability below this (bits of 2^-123) is the hidden keys' e^-87 and becomes 0 in the
 * BF16 and Q8_0 paths (F16's rounding flushes it by itself). */
#define P_TINY_BITS 0x02000000u

/* Scratchpad layout of one launch, per row of the chunk. */
struct plan {
    int64_t D, rows;
    uint16_t *qh;        /* [rows][D] f16/bf16 q rows, (token, head) order; Q8_0: [rows][D/32] blocks */
    float *s;            /* [rows][KB] scores, then probabilities */
    uint16_t *ph;        /* [rows][KB] f16/bf16 probabilities (not Q8_0) */
    float *pv;           /* [rows][D] p.V of the block (not Q8_0) */
    float *acc;          /* [rows][D] output accumulators */
    float *mx, *l, *c;   /* [rows] running max, running sum, last correction */
    float *t;            /* [rows] one block reduction per row (step A: its maximum; B: its sum) */
    struct xpop_desc *d; /* the two jobs of a block */
    struct attn_args a;  /* the launch's arguments: here, not on the stack (in DDR), since
                          * the head loop reads them after every call */
};

/* An f32 constant in an f register, built from its bits by fmv.w.x: the compiler cannot
 * turn it back into a load from .rodata, which sits in DDR (no data cache) and would cost
 * a DDR round trip inside the loops. */
static inline float fconst(uint32_t bits) {
    float f;
    __asm__("fmv.w.x %0, %1" : "=f"(f) : "r"(bits));
    return f;
}

/* A vector of the f32 constant with these bits: an integer splat (li + vmv.v.x), again no
 * load from .rodata. */
#define VCONST(bits, vl) __riscv_vreinterpret_v_u32m8_f32m8(__riscv_vmv_v_x_u32m8((bits), (vl)))

/* The scalar constants of exp_nonpos and prob_to_f16, in f registers. */
struct exp_consts {
    float lo, log2e, ln2_hi, ln2_lo, two24;
};

static inline struct exp_consts exp_consts(void) {
    struct exp_consts c = {fconst(0xc2ae0000u) /* -87 */, fconst(0x3fb8aa3bu) /* log2 e */,
                           fconst(0x3f317200u) /* 0.693145751953125 */,
                           fconst(0x35bfbe8eu) /* 1.4286068203094172e-06 */,
                           fconst(0x4b800000u) /* 2^24 */};
    return c;
}

/* e^x for x <= 0 (and -inf), the softmax's only case: x clamped at -87 (so 2^n stays a
 * normal number and one exponent step scales the result; e^-87 = 1.6e-38 is below anything
 * an f16 probability or the f32 running sum can see), x = n ln2 + r with a two-part ln 2,
 * and a degree-5 polynomial fitted to e^r on |r| <= ln2/2 (relative error below 2e-7 with
 * f32 Horner steps, about 3 ulp). 21 vector operations, against the 28 of the full-range
 * vexpf (doc/kernels.md). LMUL 8, and four register groups live at most (x or r, p, 2^n,
 * a constant), so nothing spills to the stack (in DDR). */
static inline vfloat32m8_t exp_nonpos_m8(vfloat32m8_t x, struct exp_consts k, size_t vl) {
    x = __riscv_vfmax_vf_f32m8(x, k.lo, vl);
    vint32m8_t n = __riscv_vfcvt_x_f_v_i32m8_rm(__riscv_vfmul_vf_f32m8(x, k.log2e, vl), __RISCV_FRM_RNE, vl);
    vfloat32m8_t r = __riscv_vfnmsac_vf_f32m8(x, k.ln2_hi, __riscv_vfcvt_f_x_v_f32m8(n, vl), vl);
    r = __riscv_vfnmsac_vf_f32m8(r, k.ln2_lo, __riscv_vfcvt_f_x_v_f32m8(n, vl), vl);
    /* the scale 2^n, built now so that n need not stay live through the polynomial */
    vfloat32m8_t two_n = __riscv_vreinterpret_v_i32m8_f32m8(__riscv_vsll_vx_i32m8(__riscv_vadd_vx_i32m8(n, 127, vl), 23, vl));
    vfloat32m8_t p = VCONST(0x3c07f582u /* 0x1.0feb04p-7 */, vl);
    p = __riscv_vfmadd_vv_f32m8(p, r, VCONST(0x3d2baf81u /* 0x1.575f02p-5 */, vl), vl);
    p = __riscv_vfmadd_vv_f32m8(p, r, VCONST(0x3e2aad06u /* 0x1.555a0cp-3 */, vl), vl);
    p = __riscv_vfmadd_vv_f32m8(p, r, VCONST(0x3efffe8du /* 0x1.fffd1ap-2 */, vl), vl);
    p = __riscv_vfmadd_vv_f32m8(p, r, VCONST(0x3f7ffffbu /* 0x1.fffff6p-1 */, vl), vl);
    p = __riscv_vfmadd_vv_f32m8(p, r, VCONST(0x3f800001u /* 0x1.000002p+0 */, vl), vl);
    return __riscv_vfmul_vv_f32m8(p, two_n, vl);
}

/* A probability (0 <= p <= 1) as f16 bits, rounded to nearest even: the normal range by
 * rebiasing and rounding the 13 dropped bits, below 2^-14 as round(p * 2^24) (exact
 * product, round-to-nearest-even conversion). `two24` is 2^24. */
static inline vuint16m4_t prob_to_f16_m8(vfloat32m8_t x, float two24, size_t vl) {
    vuint32m8_t a = __riscv_vreinterpret_v_f32m8_u32m8(x);
    vuint32m8_t odd = __riscv_vand_vx_u32m8(__riscv_vsrl_vx_u32m8(a, 13, vl), 1u, vl);
    vuint32m8_t h = __riscv_vsrl_vx_u32m8(
        __riscv_vadd_vv_u32m8(__riscv_vsub_vx_u32m8(a, 0x38000000u - 0xfffu, vl), odd, vl), 13, vl);
    vbool4_t tiny = __riscv_vmsltu_vx_u32m8_b4(a, 0x38800000u, vl);
    vuint32m8_t sub = __riscv_vfcvt_xu_f_v_u32m8_rm(__riscv_vfmul_vf_f32m8(x, two24, vl), __RISCV_FRM_RNE, vl);
    h = __riscv_vmerge_vvm_u32m8(h, sub, tiny, vl);
    return __riscv_vncvt_x_x_w_u16m4(h, vl);
}

/* A probability (0 <= p <= 1) as bf16 bits, rounded to nearest even as GGML_FP32_TO_BF16
 * rounds a finite value; below 2^-123 (a hidden key's e^-87), 0. */
static inline vuint16m4_t prob_to_bf16_m8(vfloat32m8_t x, size_t vl) {
    vuint32m8_t a = __riscv_vreinterpret_v_f32m8_u32m8(x);
    vuint32m8_t odd = __riscv_vand_vx_u32m8(__riscv_vsrl_vx_u32m8(a, 16, vl), 1u, vl);
    vuint16m4_t h = __riscv_vnsrl_wx_u16m4(__riscv_vadd_vv_u32m8(__riscv_vadd_vx_u32m8(a, 0x7fffu, vl), odd, vl), 16, vl);
    vbool4_t tiny = __riscv_vmsltu_vx_u32m8_b4(a, P_TINY_BITS, vl);
    return __riscv_vmerge_vxm_u16m4(h, 0u, tiny, vl);
}

/* f32 -> bf16 bits as GGML_FP32_TO_BF16: round to nearest even, a NaN kept quiet. */
static inline vuint16m2_t f32_to_bf16_m4(vfloat32m4_t x, size_t vl) {
    vuint32m4_t a = __riscv_vreinterpret_v_f32m4_u32m4(x);
    vuint32m4_t odd = __riscv_vand_vx_u32m4(__riscv_vsrl_vx_u32m4(a, 16, vl), 1u, vl);
    vuint16m2_t h = __riscv_vnsrl_wx_u16m2(__riscv_vadd_vv_u32m4(__riscv_vadd_vx_u32m4(a, 0x7fffu, vl), odd, vl), 16, vl);
    vbool8_t nan = __riscv_vmsgtu_vx_u32m4_b8(__riscv_vand_vx_u32m4(a, 0x7fffffffu, vl), 0x7f800000u, vl);
    vuint16m2_t quiet = __riscv_vor_vx_u16m2(__riscv_vnsrl_wx_u16m2(a, 16, vl), 64u, vl);
    return __riscv_vmerge_vvm_u16m2(h, quiet, nan, vl);
}

/* The online softmax update of row r over its nv scores (the first `seen` visible; the
 * rest are hidden and get probability e^-87, 0 once rounded or flushed), in two steps so
 * that the correction factors of a token's rows are one vector exp (softmax_rows):
 * step A scales and masks the scores and takes the new maximum; it leaves the exp's
 * argument of the correction, mx - sub, in c, and the new maximum in mx. */
static inline __attribute__((always_inline)) void softmax_a(const struct plan *p, int64_t r, int64_t ss, int64_t nv,
                                                             int64_t seen, float scale, const float *m32,
                                                             const uint16_t *m16) {
    float *s = p->s + r * ss;
    vfloat32m1_t mx = __riscv_vfmv_s_f_f32m1(-__builtin_inff(), 1);
    for (int64_t j = 0; j < nv;) {
        size_t vl = __riscv_vsetvl_e32m8((size_t)(nv - j));
        vfloat32m8_t x = __riscv_vfmul_vf_f32m8(__riscv_vle32_v_f32m8(s + j, vl), scale, vl);
        if (m32) {
            x = __riscv_vfadd_vv_f32m8(x, __riscv_vle32_v_f32m8(m32 + j, vl), vl);
        } else if (m16) {
            x = __riscv_vfadd_vv_f32m8(x, f16_to_f32_m8(__riscv_vle16_v_u16m4(m16 + j, vl), vl), vl);
        }
        if (seen < j + (int64_t)vl) {
            /* hidden keys (index >= seen) become -inf (a causal block's tail only) */
            const uint32_t left = seen > j ? (uint32_t)(seen - j) : 0u;
            vbool4_t hidden = __riscv_vmsgeu_vx_u32m8_b4(__riscv_vid_v_u32m8(vl), left, vl);
            x = __riscv_vfmerge_vfm_f32m8(x, -__builtin_inff(), hidden, vl);
        }
        mx = __riscv_vfredmax_vs_f32m8_f32m1(x, mx, vl);
        __riscv_vse32_v_f32m8(s + j, x, vl);
        j += (int64_t)vl;
    }
    __riscv_vse32_v_f32m1(p->t + r, mx, 1);
}

/* Step B: the probabilities (f16 or bf16 in ph; Q8_0: f32 in place in s) and the running
 * sum, with the correction factor c[r] = e^(mx_old - sub) that softmax_rows left in c. */
static inline __attribute__((always_inline)) void softmax_b(const struct plan *p, int64_t r, int64_t ss, int64_t nv,
                                                             const int kind) {
    float *s = p->s + r * ss;
    const float sub = attn_zero_if_neg_inf(p->mx[r]);
    const struct exp_consts k = exp_consts();
    /* e = e^(x - max), in place */
    for (int64_t j = 0; j < nv;) {
        size_t vl = __riscv_vsetvl_e32m8((size_t)(nv - j));
        vfloat32m8_t x = __riscv_vfsub_vf_f32m8(__riscv_vle32_v_f32m8(s + j, vl), sub, vl);
        __riscv_vse32_v_f32m8(s + j, exp_nonpos_m8(x, k, vl), vl);
        j += (int64_t)vl;
    }
    /* the ordered f32 sum, and the probabilities of the p.V product */
    vfloat32m1_t sum = __riscv_vfmv_s_f_f32m1(0.0f, 1);
    uint16_t *ph = p->ph + r * ss;
    for (int64_t j = 0; j < nv;) {
        size_t vl = __riscv_vsetvl_e32m8((size_t)(nv - j));
        vfloat32m8_t e = __riscv_vle32_v_f32m8(s + j, vl);
        sum = __riscv_vfredosum_vs_f32m8_f32m1(e, sum, vl);
        if (kind == KV_F16) {
            __riscv_vse16_v_u16m4(ph + j, prob_to_f16_m8(e, k.two24, vl), vl);
        } else if (kind == KV_BF16) {
            __riscv_vse16_v_u16m4(ph + j, prob_to_bf16_m8(e, vl), vl);
        } else {
            vbool4_t tiny = __riscv_vmsltu_vx_u32m8_b4(__riscv_vreinterpret_v_f32m8_u32m8(e), P_TINY_BITS, vl);
            __riscv_vse32_v_f32m8(s + j, __riscv_vfmerge_vfm_f32m8(e, 0.0f, tiny, vl), vl);
        }
        j += (int64_t)vl;
    }
    __riscv_vse32_v_f32m1(p->t + r, sum, 1);
}

/* Step B of rows r0 .. r0+n-1 whose scores are contiguous (row stride nv: F16, BF16), the
 * same operations per element as softmax_b: x - sub row by row (independent rows, so the
 * operations pipeline), then e^x and the rounding of p over the rows' whole block in full
 * strips, and each row's ordered sum over its own slice. */
static inline __attribute__((always_inline)) void softmax_b_block(const struct plan *p, int64_t r0, int64_t n, int64_t nv,
                                                                   const int kind) {
    const struct exp_consts k = exp_consts();
    float *const s0 = p->s + r0 * nv;
    for (int64_t r = 0; r < n; r++) {
        float *s = s0 + r * nv;
        const float sub = attn_zero_if_neg_inf(p->mx[r0 + r]);
        for (int64_t j = 0; j < nv;) {
            size_t vl = __riscv_vsetvl_e32m8((size_t)(nv - j));
            __riscv_vse32_v_f32m8(s + j, __riscv_vfsub_vf_f32m8(__riscv_vle32_v_f32m8(s + j, vl), sub, vl), vl);
            j += (int64_t)vl;
        }
    }
    const int64_t total = n * nv;
    for (int64_t i = 0; i < total;) {
        size_t vl = __riscv_vsetvl_e32m8((size_t)(total - i));
        __riscv_vse32_v_f32m8(s0 + i, exp_nonpos_m8(__riscv_vle32_v_f32m8(s0 + i, vl), k, vl), vl);
        i += (int64_t)vl;
    }
    for (int64_t r = 0; r < n; r++) {
        const float *s = s0 + r * nv;
        vfloat32m1_t sum = __riscv_vfmv_s_f_f32m1(0.0f, 1);
        for (int64_t j = 0; j < nv;) {
            size_t vl = __riscv_vsetvl_e32m8((size_t)(nv - j));
            sum = __riscv_vfredosum_vs_f32m8_f32m1(__riscv_vle32_v_f32m8(s + j, vl), sum, vl);
            j += (int64_t)vl;
        }
        __riscv_vse32_v_f32m1(p->t + r0 + r, sum, 1);
    }
    uint16_t *const ph = p->ph + r0 * nv;
    for (int64_t i = 0; i < total;) {
        size_t vl = __riscv_vsetvl_e32m8((size_t)(total - i));
        vfloat32m8_t e = __riscv_vle32_v_f32m8(s0 + i, vl);
        if (kind == KV_F16) {
            __riscv_vse16_v_u16m4(ph + i, prob_to_f16_m8(e, k.two24, vl), vl);
        } else {
            __riscv_vse16_v_u16m4(ph + i, prob_to_bf16_m8(e, vl), vl);
        }
        i += (int64_t)vl;
    }
}

/* Between the two steps, per row as vectors over the rows r0 .. r0+n-1: m_new = max(mx, the
 * block's maximum in t); sub = m_new, or 0 when it is -inf; c = e^(mx - sub); mx = m_new. */
static inline __attribute__((always_inline)) void softmax_group(const struct plan *p, int64_t r0, int64_t n) {
    for (int64_t i = r0; i < r0 + n;) {
        size_t vl = __riscv_vsetvl_e32m4((size_t)(r0 + n - i));
        vfloat32m4_t m_old = __riscv_vle32_v_f32m4(p->mx + i, vl);
        vfloat32m4_t m_new = __riscv_vfmax_vv_f32m4(m_old, __riscv_vle32_v_f32m4(p->t + i, vl), vl);
        vbool8_t ninf = __riscv_vmseq_vx_u32m4_b8(__riscv_vreinterpret_v_f32m4_u32m4(m_new), 0xff800000u, vl);
        vfloat32m4_t sub = __riscv_vfmerge_vfm_f32m4(m_new, 0.0f, ninf, vl);
        __riscv_vse32_v_f32m4(p->c + i, vexpf_m4(__riscv_vfsub_vv_f32m4(m_old, sub, vl), vl), vl);
        __riscv_vse32_v_f32m4(p->mx + i, m_new, vl);
        i += (int64_t)vl;
    }
}

/* After step B: l = l * c + the block's sum (in t), per row. */
static inline __attribute__((always_inline)) void softmax_sum(const struct plan *p, int64_t r0, int64_t n) {
    for (int64_t i = r0; i < r0 + n;) {
        size_t vl = __riscv_vsetvl_e32m4((size_t)(r0 + n - i));
        vfloat32m4_t l = __riscv_vfmul_vv_f32m4(__riscv_vle32_v_f32m4(p->l + i, vl), __riscv_vle32_v_f32m4(p->c + i, vl), vl);
        __riscv_vse32_v_f32m4(p->l + i, __riscv_vfadd_vv_f32m4(l, __riscv_vle32_v_f32m4(p->t + i, vl), vl), vl);
        i += (int64_t)vl;
    }
}

/* The softmax update of rows r0 .. r0+n-1 (one token's rows: the same keys seen): step A of
 * each, the n correction factors e^(mx_old - sub) as one vector exp (lane by lane the
 * same operations as one exp per row), step B of each. */
static inline __attribute__((always_inline)) void softmax_rows_k(const struct plan *p, int64_t r0, int64_t n, int64_t nv,
                                                                  int64_t seen, float scale, const float *m32,
                                                                  const uint16_t *m16, const int kind) {
    /* the score rows: contiguous (stride nv) for F16 and BF16, KB apart for Q8_0 */
    const int64_t ss = kind == KV_Q8_0 ? KB : nv;
    for (int64_t r = r0; r < r0 + n; r++) {
        softmax_a(p, r, ss, nv, seen, scale, m32, m16);
    }
    softmax_group(p, r0, n);
    if (kind == KV_Q8_0 || nv > SOFTMAX_BLOCK_MAX) {
        for (int64_t r = r0; r < r0 + n; r++) {
            softmax_b(p, r, ss, nv, kind);
        }
    } else {
        /* short rows: their partial strips and dependent chains cost more than the extra
         * subtract pass of the whole-block form */
        softmax_b_block(p, r0, n, nv, kind);
    }
    softmax_sum(p, r0, n);
}

static __attribute__((noinline)) void softmax_rows(const struct plan *p, int64_t r0, int64_t n, int64_t nv, int64_t seen, float scale,
                         const float *m32, const uint16_t *m16) {
    softmax_rows_k(p, r0, n, nv, seen, scale, m32, m16, KV_F16);
}

static __attribute__((noinline)) void softmax_rows_bf16(const struct plan *p, int64_t r0, int64_t n, int64_t nv, int64_t seen, float scale,
                              const float *m32, const uint16_t *m16) {
    softmax_rows_k(p, r0, n, nv, seen, scale, m32, m16, KV_BF16);
}

static __attribute__((noinline)) void softmax_rows_q8_0(const struct plan *p, int64_t r0, int64_t n, int64_t nv, int64_t seen, float scale,
                              const float *m32, const uint16_t *m16) {
    softmax_rows_k(p, r0, n, nv, seen, scale, m32, m16, KV_Q8_0);
}

/* The softmax update of a decode token's R rows over a short block (F16, BF16; no mask),
 * with the scores transposed: job 1 wrote S^T, key j's R scores at s + j R (the operands
 * swapped: the same exact products summed in the same order, so the same scores). Every
 * step then runs over the rows as the vector's lanes, or over the whole block in strips of
 * L = a multiple of R elements, where the row-major form had a dependent chain per row:
 * step A: the scores scaled (hidden keys -inf) in strips, each row's maximum as an
 *   elementwise max over the keys from -inf (max is exact, so its order does not matter);
 * the group's vectors (softmax_group);
 * step B: x - sub with sub tiled over a strip (L / R copies of the rows' sub, in the p.V
 *   buffer, free until job 2), e^x, in strips; each row's sum as an elementwise add over
 *   the keys in order from +0 (the ordered reduction's operations); p rounded in strips
 *   and transposed back to rows (ph[r][j]: job 2's B) by a strided store per key;
 * and l (softmax_sum). The same operations per element as softmax_rows_k. */
static inline __attribute__((always_inline)) void softmax_rows_tr_k(const struct plan *p, int64_t R, int64_t nv,
                                                                     int64_t seen, float scale, int64_t L,
                                                                     int first, const int kind) {
    float *const s = p->s;
    const int64_t total = nv * R;
    const struct exp_consts k = exp_consts();
    for (int64_t i = 0; i < total;) {
        size_t vl = __riscv_vsetvl_e32m8((size_t)(total - i));
        __riscv_vse32_v_f32m8(s + i, __riscv_vfmul_vf_f32m8(__riscv_vle32_v_f32m8(s + i, vl), scale, vl), vl);
        i += (int64_t)vl;
    }
    for (int64_t i = seen * R; i < total;) {
        size_t vl = __riscv_vsetvl_e32m8((size_t)(total - i));
        __riscv_vse32_v_f32m8(s + i, __riscv_vfmv_v_f_f32m8(-__builtin_inff(), vl), vl);
        i += (int64_t)vl;
    }
    const size_t vr = __riscv_vsetvl_e32m8((size_t)R);
    {
        /* two running maxima (even and odd keys), then their max */
        vfloat32m8_t m0 = __riscv_vfmv_v_f_f32m8(-__builtin_inff(), vr), m1 = m0;
        int64_t j = 0;
        for (; j + 2 <= nv; j += 2) {
            m0 = __riscv_vfmax_vv_f32m8(m0, __riscv_vle32_v_f32m8(s + j * R, vr), vr);
            m1 = __riscv_vfmax_vv_f32m8(m1, __riscv_vle32_v_f32m8(s + (j + 1) * R, vr), vr);
        }
        if (j < nv) {
            m0 = __riscv_vfmax_vv_f32m8(m0, __riscv_vle32_v_f32m8(s + j * R, vr), vr);
        }
        __riscv_vse32_v_f32m8(p->t, __riscv_vfmax_vv_f32m8(m0, m1, vr), vr);
    }
    if (first) {
        /* the chunk's first block: mx is -inf, so m_new = the block's maximum (never NaN:
         * the maxima start from -inf, and max(-inf, NaN) = -inf), and c = vexpf(-inf - sub)
         * (or of NaN) = vexpf(-104) after its clamp (vfmax returns the number) = +0 (e^-104
         * is below half the smallest subnormal): the same values without the exp */
        const size_t v1 = __riscv_vsetvl_e32m8((size_t)R);
        __riscv_vse32_v_f32m8(p->mx, __riscv_vle32_v_f32m8(p->t, v1), v1);
        __riscv_vse32_v_f32m8(p->c, __riscv_vfmv_v_f_f32m8(0.0f, v1), v1);
    } else {
        softmax_group(p, 0, R);
    }
    float *const tile = p->pv;
    uint16_t *const pt = (uint16_t *)(p->pv + L);
    {
        const size_t v1 = __riscv_vsetvl_e32m8((size_t)R);
        vfloat32m8_t m = __riscv_vle32_v_f32m8(p->mx, v1);
        vbool4_t ninf = __riscv_vmseq_vx_u32m8_b4(__riscv_vreinterpret_v_f32m8_u32m8(m), 0xff800000u, v1);
        vfloat32m8_t sub = __riscv_vfmerge_vfm_f32m8(m, 0.0f, ninf, v1);
        for (int64_t i = 0; i < L; i += R) {
            __riscv_vse32_v_f32m8(tile + i, sub, v1);
        }
    }
    for (int64_t i = 0; i < total;) {
        size_t vl = __riscv_vsetvl_e32m8((size_t)(total - i < L ? total - i : L));
        vfloat32m8_t x = __riscv_vfsub_vv_f32m8(__riscv_vle32_v_f32m8(s + i, vl), __riscv_vle32_v_f32m8(tile, vl), vl);
        __riscv_vse32_v_f32m8(s + i, exp_nonpos_m8(x, k, vl), vl);
        i += (int64_t)vl;
    }
    {
        const size_t v1 = __riscv_vsetvl_e32m8((size_t)R);
        vfloat32m8_t sum = __riscv_vfmv_v_f_f32m8(0.0f, v1);
        for (int64_t j = 0; j < nv; j++) {
            sum = __riscv_vfadd_vv_f32m8(sum, __riscv_vle32_v_f32m8(s + j * R, v1), v1);
        }
        __riscv_vse32_v_f32m8(p->t, sum, v1);
    }
    for (int64_t i = 0; i < total;) {
        size_t vl = __riscv_vsetvl_e32m8((size_t)(total - i));
        vfloat32m8_t e = __riscv_vle32_v_f32m8(s + i, vl);
        if (kind == KV_F16) {
            __riscv_vse16_v_u16m4(pt + i, prob_to_f16_m8(e, k.two24, vl), vl);
        } else {
            __riscv_vse16_v_u16m4(pt + i, prob_to_bf16_m8(e, vl), vl);
        }
        i += (int64_t)vl;
    }
    {
        const size_t v16 = __riscv_vsetvl_e16m4((size_t)R);
        for (int64_t j = 0; j < nv; j++) {
            __riscv_vsse16_v_u16m4(p->ph + j, (ptrdiff_t)(nv * 2), __riscv_vle16_v_u16m4(pt + j * R, v16), v16);
        }
    }
    softmax_sum(p, 0, R);
}

static __attribute__((noinline)) void softmax_rows_tr(const struct plan *p, int64_t R, int64_t nv, int64_t seen,
                                                      float scale, int64_t L, int first) {
    softmax_rows_tr_k(p, R, nv, seen, scale, L, first, KV_F16);
}

static __attribute__((noinline)) void softmax_rows_tr_bf16(const struct plan *p, int64_t R, int64_t nv, int64_t seen,
                                                           float scale, int64_t L, int first) {
    softmax_rows_tr_k(p, R, nv, seen, scale, L, first, KV_BF16);
}

/* acc[r] = acc[r] * c[r] + pv[r] for every row */
static __attribute__((noinline)) void accumulate(const struct plan *p, int64_t rows) {
    const int64_t D = p->D;
    int64_t r = 0;
    /* two rows at a time (LMUL 4): each operation issues while the other row's is busy */
    for (; r + 2 <= rows; r += 2) {
        float *acc0 = p->acc + r * D, *acc1 = acc0 + D;
        const float *pv0 = p->pv + r * D, *pv1 = pv0 + D;
        const float c0 = p->c[r], c1 = p->c[r + 1];
        for (int64_t d = 0; d < D;) {
            size_t vl = __riscv_vsetvl_e32m4((size_t)(D - d));
            vfloat32m4_t a0 = __riscv_vle32_v_f32m4(acc0 + d, vl);
            vfloat32m4_t a1 = __riscv_vle32_v_f32m4(acc1 + d, vl);
            vfloat32m4_t b0 = __riscv_vle32_v_f32m4(pv0 + d, vl);
            vfloat32m4_t b1 = __riscv_vle32_v_f32m4(pv1 + d, vl);
            a0 = __riscv_vfmul_vf_f32m4(a0, c0, vl);
            a1 = __riscv_vfmul_vf_f32m4(a1, c1, vl);
            a0 = __riscv_vfadd_vv_f32m4(a0, b0, vl);
            a1 = __riscv_vfadd_vv_f32m4(a1, b1, vl);
            __riscv_vse32_v_f32m4(acc0 + d, a0, vl);
            __riscv_vse32_v_f32m4(acc1 + d, a1, vl);
            d += (int64_t)vl;
        }
    }
    for (; r < rows; r++) {
        float *acc = p->acc + r * D;
        const float *pv = p->pv + r * D;
        const float c = p->c[r];
        for (int64_t d = 0; d < D;) {
            size_t vl = __riscv_vsetvl_e32m8((size_t)(D - d));
            vfloat32m8_t a = __riscv_vfmul_vf_f32m8(__riscv_vle32_v_f32m8(acc + d, vl), c, vl);
            __riscv_vse32_v_f32m8(acc + d, __riscv_vfadd_vv_f32m8(a, __riscv_vle32_v_f32m8(pv + d, vl), vl), vl);
            d += (int64_t)vl;
        }
    }
}

/* out = acc * f, f = 1/l (in c), for the chunk's rows: row (t, g) goes to
 * base + g * nbh + t * nbt; two rows at a time, as accumulate */
static __attribute__((noinline)) void write_out(const struct plan *p, uintptr_t base, uint64_t nbh, uint64_t nbt,
                                                int64_t nt, int64_t group) {
    const int64_t D = p->D;
    for (int64_t t = 0; t < nt; t++) {
        const float *acc = p->acc + t * group * D;
        const float *f = p->c + t * group;
        uintptr_t out = base + (uintptr_t)t * nbt;
        int64_t g = 0;
        for (; g + 2 <= group; g += 2) {
            float *o0 = (float *)(out + (uintptr_t)g * nbh), *o1 = (float *)(out + (uintptr_t)(g + 1) * nbh);
            const float *a0p = acc + g * D, *a1p = a0p + D;
            const float f0 = f[g], f1 = f[g + 1];
            for (int64_t d = 0; d < D;) {
                size_t vl = __riscv_vsetvl_e32m4((size_t)(D - d));
                vfloat32m4_t a0 = __riscv_vle32_v_f32m4(a0p + d, vl);
                vfloat32m4_t a1 = __riscv_vle32_v_f32m4(a1p + d, vl);
                a0 = __riscv_vfmul_vf_f32m4(a0, f0, vl);
                a1 = __riscv_vfmul_vf_f32m4(a1, f1, vl);
                __riscv_vse32_v_f32m4(o0 + d, a0, vl);
                __riscv_vse32_v_f32m4(o1 + d, a1, vl);
                d += (int64_t)vl;
            }
        }
        for (; g < group; g++) {
            float *o = (float *)(out + (uintptr_t)g * nbh);
            for (int64_t d = 0; d < D;) {
                size_t vl = __riscv_vsetvl_e32m8((size_t)(D - d));
                __riscv_vse32_v_f32m8(o + d, __riscv_vfmul_vf_f32m8(__riscv_vle32_v_f32m8(acc + g * D + d, vl), f[g], vl), vl);
                d += (int64_t)vl;
            }
        }
    }
}

/* The output of a chunk that saw a single key block (F16, BF16), from the block's p.V: its
 * accumulators would be acc = 0 * c + pv and its output (0 * c + pv) * f, f = 1/l. Here
 * out = fma(pv, f', +0) with f' = f + (0 * c) * f per row (in c): the same bits. 0 * c is +0
 * (or NaN when c is; then f' and both outputs are NaN); f is positive and finite (l is at
 * least e^-87 over a block of at least one key), so f' = f, pv * f + 0 rounds as pv * f, and
 * a zero pv gives +0 in both. Row (t, g) goes to base + g * nbh + t * nbt; two rows at a
 * time (LMUL 8, each operation issuing while the other row's is busy). */
static __attribute__((noinline)) void write_out_single(const struct plan *p, uintptr_t base, uint64_t nbh,
                                                       uint64_t nbt, int64_t nt, int64_t group) {
    const int64_t D = p->D;
    const vfloat32m8_t zero = __riscv_vfmv_v_f_f32m8(0.0f, __riscv_vsetvlmax_e32m8());
    const float *pv = p->pv;
    const float *f = p->c;
    for (int64_t t = 0; t < nt; t++) {
        uintptr_t out = base + (uintptr_t)t * nbt;
        int64_t g = 0;
        for (; g + 2 <= group; g += 2) {
            float *const o0 = (float *)out, *const o1 = (float *)(out + nbh);
            const float f0 = f[0], f1 = f[1];
            for (int64_t d = 0; d < D;) {
                size_t vl = __riscv_vsetvl_e32m8((size_t)(D - d));
                vfloat32m8_t a0 = __riscv_vle32_v_f32m8(pv + d, vl);
                vfloat32m8_t a1 = __riscv_vle32_v_f32m8(pv + D + d, vl);
                a0 = __riscv_vfmadd_vf_f32m8(a0, f0, zero, vl);
                a1 = __riscv_vfmadd_vf_f32m8(a1, f1, zero, vl);
                __riscv_vse32_v_f32m8(o0 + d, a0, vl);
                __riscv_vse32_v_f32m8(o1 + d, a1, vl);
                d += (int64_t)vl;
            }
            pv += 2 * D;
            f += 2;
            out += 2 * (uintptr_t)nbh;
        }
        if (g < group) {
            float *const o = (float *)out;
            const float f0 = f[0];
            for (int64_t d = 0; d < D;) {
                size_t vl = __riscv_vsetvl_e32m8((size_t)(D - d));
                __riscv_vse32_v_f32m8(o + d, __riscv_vfmadd_vf_f32m8(__riscv_vle32_v_f32m8(pv + d, vl), f0, zero, vl), vl);
                d += (int64_t)vl;
            }
            pv += D;
            f += 1;
        }
    }
}

/* ---- Q8_0: p.V on the vector unit ---------------------------------------------------- */

/* Copies rows [0, nb) of a Q8_0 V block (row j at v0 + j * v_row, rb bytes each) from DDR
 * into raw (rows back to back), one row read ahead so that a read is in flight while the
 * previous row is stored; then widens every row to f32 in vb ([nb][D]): qs * d, exact in
 * f32 (8 by 11 significant bits), as dequantize_row_q8_0. The scale is read from the
 * scratchpad copy (a scalar load from DDR would cost a round trip per block). */
static void stage_v_q8_0(float *vb, uint8_t *raw, uintptr_t v0, uint64_t v_row, int64_t nb, int64_t D) {
    const size_t rb = (size_t)(D / 32) * 34;
    for (size_t o = 0; o < rb;) {
        size_t vl = __riscv_vsetvl_e8m8(rb - o);
        const uint8_t *src = (const uint8_t *)(v0 + o);
        uint8_t *dst = raw + o;
        vuint8m8_t x1 = __riscv_vle8_v_u8m8(src, vl);
        for (int64_t j = 0; j < nb; j++) {
            vuint8m8_t x = x1;
            if (j + 1 < nb) {
                src += v_row;
                x1 = __riscv_vle8_v_u8m8(src, vl);
            }
            __riscv_vse8_v_u8m8(dst, x, vl);
            dst += rb;
        }
        o += vl;
    }
    const uint8_t *blk = raw;
    float *out = vb;
    for (int64_t i = 0; i < nb * (D / 32); i++) {
        const float d = fp16_to_f32(*(const uint16_t *)blk);
        vint16m4_t q = __riscv_vsext_vf2_i16m4(__riscv_vle8_v_i8m2((const int8_t *)(blk + 2), 32), 32);
        __riscv_vse32_v_f32m8(out, __riscv_vfmul_vf_f32m8(__riscv_vfwcvt_f_x_v_f32m8(q, 32), d, 32), 32);
        blk += 34;
        out += 32;
    }
}

/* acc[r] = acc[r] * c[r] + sum over keys j < nv in order of p[r][j] * v[j], for R rows at
 * a time (k_attention's values pass): vectors of LMUL 4 over d, one accumulator per row,
 * a scalar probability per multiply-add, two V rows alternating (the next one loads while
 * this one's multiply-adds run; the load after the last row reads the next scratchpad row
 * and is not used). */
#define REP1(X) X(0)
#define REP2(X) X(0) X(1)
#define REP4(X) X(0) X(1) X(2) X(3)
#define LOAD_OUT(i) vfloat32m4_t o##i = __riscv_vfmul_vf_f32m4(__riscv_vle32_v_f32m4(acc + (i) * D + ds, vl), cr[i], vl);
#define LOAD_P(i) const float p##i = pj[(i) * KB];
#define MAC_A(i) o##i = __riscv_vfmacc_vf_f32m4(o##i, p##i, va, vl);
#define MAC_B(i) o##i = __riscv_vfmacc_vf_f32m4(o##i, p##i, vb, vl);
#define STORE_OUT(i) __riscv_vse32_v_f32m4(acc + (i) * D + ds, o##i, vl);
#define VALUES_FUNC(R, REP)                                                                        \
    static void values_##R(const float *vblk, int64_t D, float *acc, const float *pr, const float *cr, \
                           int64_t nv) {                                                           \
        for (int64_t ds = 0; ds < D;) {                                                            \
            size_t vl = __riscv_vsetvl_e32m4((size_t)(D - ds));                                    \
            REP(LOAD_OUT)                                                                          \
            const float *vp = vblk + ds;                                                           \
            const float *pj = pr;                                                                  \
            vfloat32m4_t va = __riscv_vle32_v_f32m4(vp, vl), vb;                                   \
            int64_t j = 0;                                                                         \
            for (; j + 2 <= nv; j += 2) {                                                          \
                vb = __riscv_vle32_v_f32m4(vp + D, vl);                                            \
                { REP(LOAD_P) REP(MAC_A) }                                                         \
                pj++;                                                                              \
                vp += 2 * D;                                                                       \
                va = __riscv_vle32_v_f32m4(vp, vl);                                                \
                { REP(LOAD_P) REP(MAC_B) }                                                         \
                pj++;                                                                              \
            }                                                                                      \
            if (j < nv) {                                                                          \
                REP(LOAD_P) REP(MAC_A)                                                             \
            }                                                                                      \
            REP(STORE_OUT)                                                                         \
            ds += (int64_t)vl;                                                                     \
        }                                                                                          \
    }
VALUES_FUNC(4, REP4)
VALUES_FUNC(2, REP2)
VALUES_FUNC(1, REP1)

/* p.V of every row of the chunk over the staged block: groups of 4 rows, then 2, then 1 */
static void values_q8_0(const struct plan *p, const float *vb, int64_t rows, int64_t nv) {
    const int64_t D = p->D;
    for (int64_t r = 0; r < rows;) {
        const int64_t left = rows - r;
        float *acc = p->acc + r * D;
        const float *pr = p->s + r * KB, *cr = p->c + r;
        if (left >= 4) {
            values_4(vb, D, acc, pr, cr, nv);
            r += 4;
        } else if (left >= 2) {
            values_2(vb, D, acc, pr, cr, nv);
            r += 2;
        } else {
            values_1(vb, D, acc, pr, cr, nv);
            r += 1;
        }
    }
}

/* One strip of q to f16 or bf16 bits. */
static inline __attribute__((always_inline)) void convert_q_strip(uint16_t *dst, vfloat32m4_t x, size_t vl, const int kind) {
    if (kind == KV_F16) {
        __riscv_vse16_v_u16m2(dst, f32_to_f16_m4(x, vl), vl);
    } else {
        __riscv_vse16_v_u16m2(dst, f32_to_bf16_m4(x, vl), vl);
    }
}

/* The next strip after element d of row (t, g) (rows of D values; row (t, g) of q at
 * base + t * nbt + g * nbh): advances d, r, t, g and the row's address; returns its
 * length. */
#define Q_NEXT()                                                                                   \
    do {                                                                                           \
        d += (int64_t)vl;                                                                          \
        if (d >= D) {                                                                              \
            d = 0;                                                                                 \
            r++;                                                                                   \
            if (++g == group) {                                                                    \
                g = 0;                                                                             \
                t++;                                                                               \
            }                                                                                      \
            row = (const float *)(base + (uintptr_t)t * nbt + (uintptr_t)g * nbh);                 \
        }                                                                                          \
        vl = __riscv_vsetvl_e32m4((size_t)(D - d));                                                \
    } while (0)

/* The chunk's q rows to f16 or bf16 bits in qh, strip after strip across the rows, each
 * strip's load issued before the previous strip converts (the rows are in DDR), two
 * registers taking turns (no copy); a function of its own, so that its loop keeps its few
 * values in registers. The last round loads nothing past the last row. */
static inline __attribute__((always_inline)) void convert_q_k(const struct plan *p, uintptr_t base, uint64_t nbt,
                                                               uint64_t nbh, int64_t nt, int64_t group, const int kind) {
    const int64_t D = p->D;
    const int64_t rows = nt * group;
    uint16_t *const dst = p->qh;
    int64_t r = 0, g = 0, t = 0, d = 0;
    const float *row = (const float *)base;
    size_t vl = __riscv_vsetvl_e32m4((size_t)D);
    vfloat32m4_t x0 = __riscv_vle32_v_f32m4(row, vl), x1;
    size_t vl0 = vl, vl1;
    uint16_t *dst0 = dst, *dst1;
    for (;;) {
        Q_NEXT();
        if (r == rows) {
            convert_q_strip(dst0, x0, vl0, kind);
            break;
        }
        x1 = __riscv_vle32_v_f32m4(row + d, vl);
        vl1 = vl;
        dst1 = dst + r * D + d;
        convert_q_strip(dst0, x0, vl0, kind);
        Q_NEXT();
        if (r == rows) {
            convert_q_strip(dst1, x1, vl1, kind);
            break;
        }
        x0 = __riscv_vle32_v_f32m4(row + d, vl);
        vl0 = vl;
        dst0 = dst + r * D + d;
        convert_q_strip(dst1, x1, vl1, kind);
    }
}
#undef Q_NEXT

/* The same conversion when a token's rows are contiguous in q (nbh = 4 D, as a decode
 * step's q): each token's group * D values as one run, strip after strip, the next strip's
 * load issued before the previous strip converts. */
static inline __attribute__((always_inline)) void convert_q_flat_k(const struct plan *p, uintptr_t base, uint64_t nbt,
                                                                    int64_t nt, int64_t group, const int kind) {
    const int64_t n = group * p->D;
    uint16_t *dst = p->qh;
    for (int64_t t = 0; t < nt; t++) {
        const float *src = (const float *)(base + (uintptr_t)t * nbt);
        const float *const end = src + n;
        size_t vl0 = __riscv_vsetvl_e32m4((size_t)n);
        vfloat32m4_t x0 = __riscv_vle32_v_f32m4(src, vl0), x1;
        src += vl0;
        for (;;) {
            if (src == end) {
                convert_q_strip(dst, x0, vl0, kind);
                dst += vl0;
                break;
            }
            size_t vl1 = __riscv_vsetvl_e32m4((size_t)(end - src));
            x1 = __riscv_vle32_v_f32m4(src, vl1);
            src += vl1;
            convert_q_strip(dst, x0, vl0, kind);
            dst += vl0;
            if (src == end) {
                convert_q_strip(dst, x1, vl1, kind);
                dst += vl1;
                break;
            }
            vl0 = __riscv_vsetvl_e32m4((size_t)(end - src));
            x0 = __riscv_vle32_v_f32m4(src, vl0);
            src += vl0;
            convert_q_strip(dst, x1, vl1, kind);
            dst += vl1;
        }
    }
}

static __attribute__((noinline)) void convert_q_f16(const struct plan *p, uintptr_t base, uint64_t nbt, uint64_t nbh,
                                                    int64_t nt, int64_t group) {
    if (nbh == (uint64_t)p->D * 4) {
        convert_q_flat_k(p, base, nbt, nt, group, KV_F16);
    } else {
        convert_q_k(p, base, nbt, nbh, nt, group, KV_F16);
    }
}

static __attribute__((noinline)) void convert_q_bf16(const struct plan *p, uintptr_t base, uint64_t nbt, uint64_t nbh,
                                                     int64_t nt, int64_t group) {
    if (nbh == (uint64_t)p->D * 4) {
        convert_q_flat_k(p, base, nbt, nt, group, KV_BF16);
    } else {
        convert_q_k(p, base, nbt, nbh, nt, group, KV_BF16);
    }
}

/* The running state of the chunk's rows (F16, BF16): mx = -inf, l = 0. A function of its own,
 * so that the compiler cannot hoist its vector constants out of the head loop and spill them
 * to the stack (in DDR). */
static __attribute__((noinline)) void init_rows(const struct plan *p, int64_t rows) {
    for (int64_t i = 0; i < rows;) {
        size_t vl = __riscv_vsetvl_e32m8((size_t)(rows - i));
        __riscv_vse32_v_f32m8(p->mx + i, __riscv_vfmv_v_f_f32m8(-__builtin_inff(), vl), vl);
        __riscv_vse32_v_f32m8(p->l + i, __riscv_vfmv_v_f_f32m8(0.0f, vl), vl);
        i += (int64_t)vl;
    }
}

/* The accumulators of the chunk's rows are contiguous: zeroed in one pass (a function of its
 * own, as init_rows). */
static __attribute__((noinline)) void zero_acc(const struct plan *p, int64_t rows) {
    const int64_t n = rows * p->D;
    const vfloat32m8_t zero = __riscv_vfmv_v_f_f32m8(0.0f, __riscv_vsetvlmax_e32m8());
    for (int64_t i = 0; i < n;) {
        size_t vl = __riscv_vsetvl_e32m8((size_t)(n - i));
        __riscv_vse32_v_f32m8(p->acc + i, zero, vl);
        i += (int64_t)vl;
    }
}

/* The factors 1/l of every row at once (one vector divide; 0 for a row without a visible
 * key), into c (free now); for a single-block chunk f' = f + (0 * c) * f (write_out_single). */
static inline __attribute__((always_inline)) void reciprocals(const struct plan *p, int64_t rows, int single) {
    for (int64_t i = 0; i < rows;) {
        size_t vl = __riscv_vsetvl_e32m4((size_t)(rows - i));
        vfloat32m4_t l = __riscv_vle32_v_f32m4(p->l + i, vl);
        vfloat32m4_t inv = __riscv_vfrdiv_vf_f32m4(l, 1.0f, vl);
        inv = __riscv_vfmerge_vfm_f32m4(inv, 0.0f, __riscv_vmfeq_vf_f32m4_b8(l, 0.0f, vl), vl);
        if (single) {
            /* f' = f + (0 * c) * f: the accumulators' 0 * c carried through */
            vfloat32m4_t zc = __riscv_vfmul_vf_f32m4(__riscv_vle32_v_f32m4(p->c + i, vl), fconst(0u), vl);
            inv = __riscv_vfadd_vv_f32m4(inv, __riscv_vfmul_vv_f32m4(zc, inv, vl), vl);
        }
        __riscv_vse32_v_f32m4(p->c + i, inv, vl);
        i += (int64_t)vl;
    }
}

/* One KV head of a decode step (one token) whose keys are a single short block, F16 or BF16:
 * attend()'s path for that case (nt = 1, single, transposed scores), the same operations,
 * in a function of its own that reads the launch's arguments from the plan: the head loop
 * of attend() keeps more values live than the registers hold and spills them to the stack,
 * in DDR. */
static inline __attribute__((always_inline)) void head_short_k(const struct plan *p, int64_t hk, int64_t nb,
                                                                int64_t tr_len, const int kind) {
    const struct attn_args *const A = &p->a;
    const int64_t D = p->D, group = A->group;
    const uint32_t xtype = kind == KV_F16 ? XPOP_TYPE_F16 : XPOP_TYPE_BF16;
    init_rows(p, group);
    if (kind == KV_F16) {
        convert_q_f16(p, tensor_row(A->q, 0, hk * group, 0), A->q->nb[1], A->q->nb[2], 1, group);
    } else {
        convert_q_bf16(p, tensor_row(A->q, 0, hk * group, 0), A->q->nb[1], A->q->nb[2], 1, group);
    }
    /* job 1, S^T[j][r] = q_r . K_j: A = the q rows, B = the K rows */
    struct xpop_desc *s = &p->d[0];
    s->a = (uint64_t)(uintptr_t)p->qh;
    s->b = (uint64_t)tensor_row(A->k, 0, hk, 0);
    s->c = (uint64_t)(uintptr_t)p->s;
    s->lda = (uint64_t)D * 2;
    s->ldb = A->k->nb[1];
    s->ldc = (uint64_t)group * 4;
    s->m = (uint32_t)nb;
    s->n = (uint32_t)group;
    s->k = (uint32_t)D;
    s->ctrl = xtype;
    xpop_mm(s, 1);
    int64_t seen = A->causal ? A->n_past + 1 : nb;
    seen = seen < 0 ? 0 : seen > nb ? nb : seen;
    if (kind == KV_F16) {
        softmax_rows_tr(p, group, nb, seen, A->scale, tr_len, 1);
    } else {
        softmax_rows_tr_bf16(p, group, nb, seen, A->scale, tr_len, 1);
    }
    /* job 2: PV = p . V over the block, V read as stored (transposed A) */
    struct xpop_desc *v = &p->d[1];
    v->a = (uint64_t)tensor_row(A->v, 0, hk, 0);
    v->b = (uint64_t)(uintptr_t)p->ph;
    v->c = (uint64_t)(uintptr_t)p->pv;
    v->lda = A->v->nb[1];
    v->ldb = (uint64_t)nb * 2;
    v->ldc = (uint64_t)D * 4;
    v->m = (uint32_t)group;
    v->n = (uint32_t)D;
    v->k = (uint32_t)nb;
    v->ctrl = xtype | XPOP_CTRL_A_TRANSPOSED;
    xpop_mm(v, 1);
    reciprocals(p, group, 1);
    write_out_single(p, tensor_row(A->dst, hk * group, 0, 0), A->dst->nb[1], A->dst->nb[2], 1, group);
}

static __attribute__((noinline)) void head_short_f16(const struct plan *p, int64_t hk, int64_t nb, int64_t tr_len) {
    head_short_k(p, hk, nb, tr_len, KV_F16);
}

static __attribute__((noinline)) void head_short_bf16(const struct plan *p, int64_t hk, int64_t nb, int64_t tr_len) {
    head_short_k(p, hk, nb, tr_len, KV_BF16);
}

/* One launch over a cache of this kind (a constant: each caller below is its own copy). */
static inline __attribute__((always_inline)) int attend(const struct sail_op *op, const int kind) {
    /* the plan itself lives in the scratchpad: the stack is in DDR, behind its latency */
    struct plan *const p = (struct plan *)(uintptr_t)SAIL_SCRATCH_BASE;
    const struct attn_args *const A = &p->a;
    TRY(attn_args_of(op, &p->a));
    if (A->k->type != (kind == KV_F16 ? SAIL_TYPE_F16 : kind == KV_BF16 ? SAIL_TYPE_BF16 : SAIL_TYPE_Q8_0)) {
        return SAIL_ERR_TYPE;
    }
    const uint32_t xtype = kind == KV_F16 ? XPOP_TYPE_F16 : kind == KV_BF16 ? XPOP_TYPE_BF16 : XPOP_TYPE_Q8_0;
    if (A->v->nb[0] != (kind == KV_Q8_0 ? 34u : 2u)) {
        return SAIL_ERR_STRIDE;
    }
    if (!((xpop_info(XPOP_INFO_TYPES) >> xtype) & 1u)) {
        return SAIL_ERR_XPOP;
    }
    const int64_t D = A->D, group = A->group;
    if (D > 0xffff) {
        return SAIL_ERR_SHAPE;
    }
    p->D = D;
    /* Q8_0: bytes of a quantized q row (and of a K or V row of the head) */
    const uint64_t qrow = (uint64_t)(D / 32) * 34;
    /* per row: q (f16), scores, probabilities (f16), p->V, accumulators, 4 state floats;
     * Q8_0: q (blocks), scores (then probabilities), accumulators, 4 state floats */
    const uint64_t row_bytes = kind == KV_Q8_0 ? qrow + KB * 4 + (uint64_t)D * 4 + 16
                                               : (uint64_t)D * 2 + KB * 4 + KB * 2 + (uint64_t)D * 8 + 16;
    /* Q8_0 also stages a V block: widened ([KB][D] f32) and as stored ([KB][qrow]) */
    const uint64_t fixed = sizeof(struct plan) + 2 * sizeof(struct xpop_desc) +
                           (kind == KV_Q8_0 ? (uint64_t)KB * D * 4 + (uint64_t)KB * qrow : 0);
    if (fixed + (uint64_t)group * row_bytes > SAIL_SCRATCH_SIZE) {
        return SAIL_ERR_SHAPE;
    }
    int64_t chunk = (int64_t)((SAIL_SCRATCH_SIZE - fixed) / ((uint64_t)group * row_bytes));
    chunk = chunk < A->n_q ? chunk : A->n_q;
    const int64_t max_rows = chunk * group;
    float *vb = 0;
    uint8_t *vraw = 0;
    uint8_t *qq = 0;
    p->d = (struct xpop_desc *)(p + 1);
    p->s = (float *)(p->d + 2);
    if (kind == KV_Q8_0) {
        p->acc = p->s + max_rows * KB;
        p->mx = p->acc + max_rows * D;
        p->l = p->mx + max_rows;
        p->c = p->l + max_rows;
        p->t = p->c + max_rows;
        vb = p->t + max_rows;
        vraw = (uint8_t *)(vb + KB * D);
        qq = vraw + KB * qrow;
    } else {
        p->pv = p->s + max_rows * KB;
        p->acc = p->pv + max_rows * D;
        p->mx = p->acc + max_rows * D;
        p->l = p->mx + max_rows;
        p->c = p->l + max_rows;
        p->t = p->c + max_rows;
        p->qh = (uint16_t *)(p->t + max_rows);
        p->ph = p->qh + max_rows * D;
    }

    /* the K and V row strides, read once from the descriptor (in DDR) */
    const uint64_t k_row = A->k->nb[1], v_row = A->v->nb[1];
    const uint64_t vmax8 = __riscv_vsetvlmax_e32m8();
    if (kind != KV_Q8_0 && A->n_q == 1) {
        /* a decode step over one short block: the conditions of `single` and `tr` below
         * for nt = 1, t0 = 0, j0 = 0 */
        const int64_t nb = attn_keys_seen(A, 0, 1);
        const int64_t tr_len = (int64_t)(vmax8 / (uint64_t)(group < 1 ? 1 : group)) * group;
        if (nb > 0 && nb <= SOFTMAX_BLOCK_MAX && !A->mask && group <= (int64_t)vmax8 &&
            (uint64_t)tr_len + ((uint64_t)nb * (uint64_t)group + 1) / 2 <= (uint64_t)(group * D)) {
            for (int64_t hk = 0; hk < A->H_kv; hk++) {
                if (kind == KV_F16) {
                    head_short_f16(p, hk, nb, tr_len);
                } else {
                    head_short_bf16(p, hk, nb, tr_len);
                }
            }
            return SAIL_OK;
        }
    }
    for (int64_t hk = 0; hk < A->H_kv; hk++) {
        const uintptr_t k_head = tensor_row(A->k, 0, hk, 0), v_head = tensor_row(A->v, 0, hk, 0);
        for (int64_t t0 = 0; t0 < A->n_q; t0 += chunk) {
            const int64_t nt = A->n_q - t0 < chunk ? A->n_q - t0 : chunk;
            const int64_t rows = nt * group;
            if (kind == KV_Q8_0) {
                for (int64_t t = 0; t < nt; t++) {
                    for (int64_t g = 0; g < group; g++) {
                        const int64_t r = t * group + g;
                        const float *src = (const float *)tensor_row(A->q, t0 + t, hk * group + g, 0);
                        /* q to K's vec_dot_type, as ggml's flash_attn_ext converts it */
                        quantize_row_q8_0(src, (block_q8_0 *)(qq + (uint64_t)r * qrow), D);
                    }
                }
            }
            init_rows(p, rows);
            if (kind == KV_F16) {
                convert_q_f16(p, tensor_row(A->q, t0, hk * group, 0), A->q->nb[1], A->q->nb[2], nt, group);
            } else if (kind == KV_BF16) {
                convert_q_bf16(p, tensor_row(A->q, t0, hk * group, 0), A->q->nb[1], A->q->nb[2], nt, group);
            }
            const int64_t n_keys = attn_keys_seen(A, t0, nt);
            /* F16, BF16: a chunk that sees one key block (every decode position below KB)
             * keeps no accumulators: its output is taken from the block's p.V
             * (write_out_single) */
            const int single = kind != KV_Q8_0 && n_keys > 0 && n_keys <= KB;
            /* the accumulators of the chunk's rows are contiguous: zeroed in one pass */
            if (!single) {
                zero_acc(p, rows);
            }
            for (int64_t j0 = 0; j0 < n_keys; j0 += KB) {
                const int64_t nb = n_keys - j0 < KB ? n_keys - j0 : KB;
                /* job 1: S = q . K^T over the block */
                /* a decode token's short block, F16 or BF16 (no mask; the tile and the
                 * transposed probabilities fit the p.V buffer): the scores transposed
                 * (softmax_rows_tr) */
                const int64_t tr_len = (int64_t)(vmax8 / (uint64_t)(group < 1 ? 1 : group)) * group;
                const int tr = kind != KV_Q8_0 && nt == 1 && !A->mask && nb <= SOFTMAX_BLOCK_MAX &&
                               group <= (int64_t)vmax8 &&
                               (uint64_t)tr_len + ((uint64_t)nb * (uint64_t)group + 1) / 2 <= (uint64_t)(rows * D);
                struct xpop_desc *s = &p->d[0];
                if (tr) {
                    /* S^T[j][r] = q_r . K_j: A = the q rows, B = the K rows */
                    s->a = (uint64_t)(uintptr_t)p->qh;
                    s->b = (uint64_t)(k_head + (uintptr_t)j0 * k_row);
                    s->c = (uint64_t)(uintptr_t)p->s;
                    s->lda = (uint64_t)D * 2;
                    s->ldb = k_row;
                    s->ldc = (uint64_t)rows * 4;
                    s->m = (uint32_t)nb;
                    s->n = (uint32_t)rows;
                } else {
                    s->a = (uint64_t)(k_head + (uintptr_t)j0 * k_row);
                    s->b = kind == KV_Q8_0 ? (uint64_t)(uintptr_t)qq : (uint64_t)(uintptr_t)p->qh;
                    s->c = (uint64_t)(uintptr_t)p->s;
                    s->lda = k_row;
                    s->ldb = kind == KV_Q8_0 ? qrow : (uint64_t)D * 2;
                    /* F16, BF16: the score rows contiguous (nb apart), so that the softmax
                     * runs over the token's rows in full strips; Q8_0: KB apart
                     * (values_q8_0) */
                    s->ldc = kind == KV_Q8_0 ? KB * 4 : (uint64_t)nb * 4;
                    s->m = (uint32_t)rows;
                    s->n = (uint32_t)nb;
                }
                s->k = (uint32_t)D;
                s->ctrl = xtype;
                xpop_mm(s, 1);
                if (tr) {
                    const int64_t seen = A->causal ? (A->n_past + t0 + 1 - j0 < 0 ? 0 : A->n_past + t0 + 1 - j0 > nb ? nb : A->n_past + t0 + 1 - j0) : nb;
                    if (kind == KV_F16) {
                        softmax_rows_tr(p, group, nb, seen, A->scale, tr_len, j0 == 0);
                    } else {
                        softmax_rows_tr_bf16(p, group, nb, seen, A->scale, tr_len, j0 == 0);
                    }
                }
                for (int64_t t = 0; t < (tr ? 0 : nt); t++) {
                    const int64_t iq = t0 + t;
                    int64_t seen = A->causal ? A->n_past + iq + 1 - j0 : nb;
                    seen = seen < 0 ? 0 : seen > nb ? nb : seen;
                    const float *m32 = 0;
                    const uint16_t *m16 = 0;
                    if (A->mask) {
                        const uintptr_t mrow = tensor_row(A->mask, iq, 0, 0);
                        if (A->mask->type == SAIL_TYPE_F32) {
                            m32 = (const float *)mrow + j0;
                        } else {
                            m16 = (const uint16_t *)mrow + j0;
                        }
                    }
                    if (kind == KV_F16) {
                        softmax_rows(p, t * group, group, nb, seen, A->scale, m32, m16);
                    } else if (kind == KV_BF16) {
                        softmax_rows_bf16(p, t * group, group, nb, seen, A->scale, m32, m16);
                    } else {
                        softmax_rows_q8_0(p, t * group, group, nb, seen, A->scale, m32, m16);
                    }
                }
                if (kind == KV_Q8_0) {
                    /* p.V on the vector unit: the block widened once for every row */
                    stage_v_q8_0(vb, vraw, v_head + (uintptr_t)j0 * v_row, v_row, nb, D);
                    values_q8_0(p, vb, rows, nb);
                } else {
                    /* job 2: PV = p . V over the block, V read as stored (transposed A) */
                    struct xpop_desc *v = &p->d[1];
                    v->a = (uint64_t)(v_head + (uintptr_t)j0 * v_row);
                    v->b = (uint64_t)(uintptr_t)p->ph;
                    v->c = (uint64_t)(uintptr_t)p->pv;
                    v->lda = v_row;
                    v->ldb = (uint64_t)nb * 2;
                    v->ldc = (uint64_t)D * 4;
                    v->m = (uint32_t)rows;
                    v->n = (uint32_t)D;
                    v->k = (uint32_t)nb;
                    v->ctrl = xtype | XPOP_CTRL_A_TRANSPOSED;
                    xpop_mm(v, 1);
                    if (!single) {
                        accumulate(p, rows);
                    }
                }
            }
            /* out = acc / l, or 0 for a row without a visible key */
            /* the factors 1/l of every row at once (one vector divide; c is free now) */
            reciprocals(p, rows, single);
            if (single) {
                write_out_single(p, tensor_row(A->dst, hk * group, t0, 0), A->dst->nb[1], A->dst->nb[2], nt, group);
            } else {
                write_out(p, tensor_row(A->dst, hk * group, t0, 0), A->dst->nb[1], A->dst->nb[2], nt, group);
            }
        }
    }
    return SAIL_OK;
}

static __attribute__((noinline)) int attend_f16(const struct sail_op *op) {
    return attend(op, KV_F16);
}

static __attribute__((noinline)) int attend_bf16(const struct sail_op *op) {
    return attend(op, KV_BF16);
}

static __attribute__((noinline)) int attend_q8_0(const struct sail_op *op) {
    return attend(op, KV_Q8_0);
}

/* Dispatch on K's type (the descriptor copy is in the scratchpad); each path checks the
 * whole descriptor. */
int sail_kernel(const struct sail_op *op) {
    const uint32_t t = op->src[1].type;
    if (t == SAIL_TYPE_BF16) {
        return attend_bf16(op);
    }
    if (t == SAIL_TYPE_Q8_0) {
        return attend_q8_0(op);
    }
    return attend_f16(op);
}
