/* ATTENTION on the Xpop_matmul unit: the products q.K^T and p.V run as F16 x F16 jobs of the
 * matrix unit (programs/xpop.h, doc/xpop-matmul.md), the online softmax on the vector unit.
 * Same descriptor contract as k_attention.c (attention_common.h), with rows of V contiguous
 * (v->nb[0] = 2: the fused path's untransposed V cache; else SAIL_ERR_STRIDE).
 *
 * Schedule, for each KV head and each chunk of query tokens whose rows fit the scratchpad
 * (a row = one (token, head) pair of the head's group):
 *   the chunk's q rows are rounded to f16 once (as GGML's F16 dot product rounds its second
 *   operand), and the running state is zeroed;
 *   for each block of KB keys the chunk sees:
 *     job 1: S[r][j] = q_r . K_j over the block (A = the K cache rows, read from DDR by the
 *            unit; B = the f16 q rows), in f32;
 *     vector: s = S * scale (+ mask; causally hidden keys -inf); online softmax update of
 *            each row (max, correction c, p = e^(s - max), running sum l); p rounded to f16;
 *     job 2: PV[r][d] = p_r . V[:, d] over the block (A = the V cache block, transposed:
 *            ctrl bit 8, so V is read as stored);
 *     vector: acc = acc * c + PV;
 *   out = acc / l (0 for a row with no visible key).
 * Both products are the unit's exact-product, binary64-sum dot (bit-exact to
 * ggml_vec_dot_f16). The kernel's outputs differ from k_attention's by the f16 rounding of q
 * and p (relative 2^-11 each) and the exact sums; doc/kernels.md states the tolerance.
 * Kernel time does not depend on the data: every row of a block is computed, hidden keys
 * included (their probability is 0).
 */
#include <riscv_vector.h>

#include "attention_common.h"
#include "kcommon.h"
#include "kmath.h"
#include "kvec.h"
#include "xpop.h"

#define KB 128 /* keys per block */

/* e^x of one value with the kernels' vector exp */
static inline float expf1(float x) {
    return __riscv_vfmv_f_s_f32m1_f32(vexpf_m1(__riscv_vfmv_v_f_f32m1(x, 1), 1));
}

/* Scratchpad layout of one launch, per row of the chunk. */
struct plan {
    int64_t D, rows;
    uint16_t *qh;        /* [rows][D] f16 q rows, (token, head) order */
    float *s;            /* [rows][KB] scores, then probabilities */
    uint16_t *ph;        /* [rows][KB] f16 probabilities */
    float *pv;           /* [rows][D] p.V of the block */
    float *acc;          /* [rows][D] output accumulators */
    float *mx, *l, *c;   /* [rows] running max, running sum, last correction */
    struct xpop_desc *d; /* the two jobs of a block */
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

/* The online softmax update of row r over its nv scores (the first `seen` visible; the
 * rest are hidden and get probability e^-87, 0 once rounded to f16): leaves f16
 * probabilities in ph and the row's correction factor in c. */
static void softmax_row(const struct plan *p, int64_t r, int64_t nv, int64_t seen, float scale,
                        const float *m32, const uint16_t *m16) {
    float *s = p->s + r * KB;
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
    const float m_new = __builtin_fmaxf(p->mx[r], __riscv_vfmv_f_s_f32m1_f32(mx));
    const float sub = attn_zero_if_neg_inf(m_new);
    const float corr = expf1(p->mx[r] - sub);
    const struct exp_consts k = exp_consts();
    /* e = e^(x - max), in place */
    for (int64_t j = 0; j < nv;) {
        size_t vl = __riscv_vsetvl_e32m8((size_t)(nv - j));
        vfloat32m8_t x = __riscv_vfsub_vf_f32m8(__riscv_vle32_v_f32m8(s + j, vl), sub, vl);
        __riscv_vse32_v_f32m8(s + j, exp_nonpos_m8(x, k, vl), vl);
        j += (int64_t)vl;
    }
    /* the ordered f32 sum, and the f16 probabilities */
    vfloat32m1_t sum = __riscv_vfmv_s_f_f32m1(0.0f, 1);
    uint16_t *ph = p->ph + r * KB;
    for (int64_t j = 0; j < nv;) {
        size_t vl = __riscv_vsetvl_e32m8((size_t)(nv - j));
        vfloat32m8_t e = __riscv_vle32_v_f32m8(s + j, vl);
        sum = __riscv_vfredosum_vs_f32m8_f32m1(e, sum, vl);
        __riscv_vse16_v_u16m4(ph + j, prob_to_f16_m8(e, k.two24, vl), vl);
        j += (int64_t)vl;
    }
    p->l[r] = p->l[r] * corr + __riscv_vfmv_f_s_f32m1_f32(sum);
    p->mx[r] = m_new;
    p->c[r] = corr;
}

/* acc[r] = acc[r] * c[r] + pv[r] for every row */
static void accumulate(const struct plan *p, int64_t rows) {
    const int64_t D = p->D;
    for (int64_t r = 0; r < rows; r++) {
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

int sail_kernel(const struct sail_op *op) {
    struct attn_args a;
    TRY(attn_args_of(op, &a));
    if (a.v->nb[0] != 2) {
        return SAIL_ERR_STRIDE;
    }
    if (!((xpop_info(XPOP_INFO_TYPES) >> XPOP_TYPE_F16) & 1u)) {
        return SAIL_ERR_XPOP;
    }
    const int64_t D = a.D, group = a.group;
    if (D > 0xffff) {
        return SAIL_ERR_SHAPE;
    }
    /* the plan itself lives in the scratchpad: the stack is in DDR, behind its latency */
    struct plan *const p = (struct plan *)(uintptr_t)SAIL_SCRATCH_BASE;
    p->D = D;
    /* per row: q (f16), scores, probabilities (f16), p->V, accumulators, 3 state floats */
    const uint64_t row_bytes = (uint64_t)D * 2 + KB * 4 + KB * 2 + (uint64_t)D * 8 + 12;
    const uint64_t fixed = sizeof(struct plan) + 2 * sizeof(struct xpop_desc);
    if (fixed + (uint64_t)group * row_bytes > SAIL_SCRATCH_SIZE) {
        return SAIL_ERR_SHAPE;
    }
    int64_t chunk = (int64_t)((SAIL_SCRATCH_SIZE - fixed) / ((uint64_t)group * row_bytes));
    chunk = chunk < a.n_q ? chunk : a.n_q;
    const int64_t max_rows = chunk * group;
    p->d = (struct xpop_desc *)(p + 1);
    p->s = (float *)(p->d + 2);
    p->pv = p->s + max_rows * KB;
    p->acc = p->pv + max_rows * D;
    p->mx = p->acc + max_rows * D;
    p->l = p->mx + max_rows;
    p->c = p->l + max_rows;
    p->qh = (uint16_t *)(p->c + max_rows);
    p->ph = p->qh + max_rows * D;

    /* the K and V row strides, read once from the descriptor (in DDR) */
    const uint64_t k_row = a.k->nb[1], v_row = a.v->nb[1];
    for (int64_t hk = 0; hk < a.H_kv; hk++) {
        const uintptr_t k_head = tensor_row(a.k, 0, hk, 0), v_head = tensor_row(a.v, 0, hk, 0);
        for (int64_t t0 = 0; t0 < a.n_q; t0 += chunk) {
            const int64_t nt = a.n_q - t0 < chunk ? a.n_q - t0 : chunk;
            const int64_t rows = nt * group;
            for (int64_t t = 0; t < nt; t++) {
                for (int64_t g = 0; g < group; g++) {
                    const int64_t r = t * group + g;
                    const float *src = (const float *)tensor_row(a.q, t0 + t, hk * group + g, 0);
                    for (int64_t d = 0; d < D;) {
                        size_t vl = __riscv_vsetvl_e32m4((size_t)(D - d));
                        __riscv_vse16_v_u16m2(p->qh + r * D + d, f32_to_f16_m4(__riscv_vle32_v_f32m4(src + d, vl), vl), vl);
                        __riscv_vse32_v_f32m4(p->acc + r * D + d, __riscv_vfmv_v_f_f32m4(0.0f, vl), vl);
                        d += (int64_t)vl;
                    }
                    p->mx[r] = -__builtin_inff();
                    p->l[r] = 0.0f;
                }
            }
            const int64_t n_keys = attn_keys_seen(&a, t0, nt);
            for (int64_t j0 = 0; j0 < n_keys; j0 += KB) {
                const int64_t nb = n_keys - j0 < KB ? n_keys - j0 : KB;
                /* job 1: S = q . K^T over the block */
                struct xpop_desc *s = &p->d[0];
                s->a = (uint64_t)(k_head + (uintptr_t)j0 * k_row);
                s->b = (uint64_t)(uintptr_t)p->qh;
                s->c = (uint64_t)(uintptr_t)p->s;
                s->lda = k_row;
                s->ldb = (uint64_t)D * 2;
                s->ldc = KB * 4;
                s->m = (uint32_t)rows;
                s->n = (uint32_t)nb;
                s->k = (uint32_t)D;
                s->ctrl = XPOP_TYPE_F16;
                xpop_mm(s, 1);
                for (int64_t t = 0; t < nt; t++) {
                    const int64_t iq = t0 + t;
                    int64_t seen = a.causal ? a.n_past + iq + 1 - j0 : nb;
                    seen = seen < 0 ? 0 : seen > nb ? nb : seen;
                    const float *m32 = 0;
                    const uint16_t *m16 = 0;
                    if (a.mask) {
                        const uintptr_t mrow = tensor_row(a.mask, iq, 0, 0);
                        if (a.mask->type == SAIL_TYPE_F32) {
                            m32 = (const float *)mrow + j0;
                        } else {
                            m16 = (const uint16_t *)mrow + j0;
                        }
                    }
                    for (int64_t g = 0; g < group; g++) {
                        softmax_row(p, t * group + g, nb, seen, a.scale, m32, m16);
                    }
                }
                /* job 2: PV = p . V over the block, V read as stored (transposed A) */
                struct xpop_desc *v = &p->d[1];
                v->a = (uint64_t)(v_head + (uintptr_t)j0 * v_row);
                v->b = (uint64_t)(uintptr_t)p->ph;
                v->c = (uint64_t)(uintptr_t)p->pv;
                v->lda = v_row;
                v->ldb = KB * 2;
                v->ldc = (uint64_t)D * 4;
                v->m = (uint32_t)rows;
                v->n = (uint32_t)D;
                v->k = (uint32_t)nb;
                v->ctrl = XPOP_TYPE_F16 | XPOP_CTRL_A_TRANSPOSED;
                xpop_mm(v, 1);
                accumulate(p, rows);
            }
            /* out = acc / l, or 0 for a row without a visible key */
            for (int64_t t = 0; t < nt; t++) {
                for (int64_t g = 0; g < group; g++) {
                    const int64_t r = t * group + g;
                    const float inv = 1.0f / p->l[r];
                    const uint32_t empty = opaque_u32((uint32_t)(p->l[r] == 0.0f));
                    const float f = bits_f32(f32_bits(inv) & ~(0u - empty));
                    float *out = (float *)tensor_row(a.dst, hk * group + g, t0 + t, 0);
                    for (int64_t d = 0; d < D;) {
                        size_t vl = __riscv_vsetvl_e32m8((size_t)(D - d));
                        __riscv_vse32_v_f32m8(out + d, __riscv_vfmul_vf_f32m8(__riscv_vle32_v_f32m8(p->acc + r * D + d, vl), f, vl), vl);
                        d += (int64_t)vl;
                    }
                }
            }
        }
    }
    return SAIL_OK;
}
