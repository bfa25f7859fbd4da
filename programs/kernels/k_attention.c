/* ATTENTION: out = softmax(q.k^T * scale + mask) . v over an F16 KV cache, with grouped
 * query attention, in one pass over the cache with an online softmax (GGML_OP_FLASH_ATTN_EXT's
 * contract and algorithm).
 *
 *   src0 q:    F32 [D, n_q, H, 1]
 *   src1 k:    F16 [D, n_kv, H_kv, 1]           (rows contiguous)
 *   src2 v:    F16 [D, n_kv, H_kv, 1]           (rows contiguous, or any even nb[0]: a
 *                                                transposed V cache is read element-wise)
 *   src3 mask: optional F16/F32 [n_kv, >= n_q]
 *   dst:       F32 [D, H, n_q, 1]               (flash_attn_ext's output layout)
 *   params: [0] scale (f32), [1] max_bias (must be 0), [2] causal (i32), [3] n_past (i32)
 *   work buffer: none (the descriptor's wdata is ignored)
 * Query head h reads KV head h / (H / H_kv). With causal set, query row i sees keys
 * j <= n_past + i only (the others are never read, as if masked with -inf).
 *
 * Schedule (the core has no data cache; the scratchpad is single-cycle):
 *   for each KV head, for each chunk of query tokens whose state fits the scratchpad:
 *     stage the chunk's q rows (every head of the group) and zero its running state;
 *     for each block of KB keys:
 *       K block: each row read from DDR once, widened and stored transposed (kT[d][j]);
 *       V block: each row read from DDR once, kept as f16 rows;
 *       for each query token, for up to 8 heads at a time (vector over keys, one
 *       accumulator per head, a scalar q element per multiply-add):
 *         scores s = (q.k) * scale (+ mask); online softmax update; o = o*c + p.V
 *   so the K and V cache are read once per KV head and query chunk for all heads of the
 *   group, and each f16 element is widened once.
 *
 * Widening: an f16 bit pattern h becomes the f32 whose bits are sign(h) | (h & 0x7fff) << 13,
 * which is the f16 value times 2^-112 exactly (normal and subnormal f16 alike); two vector
 * ops (vwmul by 2^13 of the sign-extended half, vand). The 2^112 is put back once per
 * score (folded into the scale) and once per output (folded into 1/sum). Products and sums
 * in the scaled domain that fall below 2^-126 are subnormal and carry an absolute error of
 * at most 2^-149 there, 2^-37 in real terms. f16 infinities and NaNs are not special: they
 * widen to finite values of magnitude 2^16..2^17 (a cache written by cpy from finite f32
 * below 65504 holds none).
 *
 * Numerics per (query row, head), keys visited in order in blocks of KB:
 *   s_j   = f32 sum over d in order of fma(q_d, k'_jd)  (k' = k * 2^-112), times scale*2^112
 *   (+ mask_j);  m' = max(m, max_j s_j);  c = vexpf(m - m');  p_j = vexpf(s_j - m')
 *   l = l*c + (ordered f32 sum of p_j);  o_d = o_d*c, then o_d = fma(p_j, v'_jd, o_d) in j order
 *   out_d = o_d * (2^112 / l)   (0 when l = 0: a row whose every key is masked)
 * Each step is VLEN-independent except the strip lengths of the score and value loops,
 * which change nothing: every lane holds one key (or one d) and sums over d (or j) in order.
 */
#include <riscv_vector.h>

#include "kcommon.h"
#include "kmath.h"
#include "kvec.h"

#define ATTN_MAX_GROUP 64 /* query heads per KV head */
#define ATTN_ROWS 8       /* heads handled together (accumulator registers) */

/* f16 bits (as int16) -> f32 * 2^-112, exact: sign to bit 31, exponent and mantissa
 * shifted by 13 (the sign extension's copies in bits 28..30 are cleared). */
static inline vfloat32m8_t f16_scaled_m8(vint16m4_t h, size_t vl) {
    vint32m8_t w = __riscv_vwmul_vx_i32m8(h, 1 << 13, vl);
    return __riscv_vreinterpret_v_u32m8_f32m8(
        __riscv_vand_vx_u32m8(__riscv_vreinterpret_v_i32m8_u32m8(w), 0x8fffffffu, vl));
}

static inline vfloat32m2_t f16_scaled_m2(vint16m1_t h, size_t vl) {
    vint32m2_t w = __riscv_vwmul_vx_i32m2(h, 1 << 13, vl);
    return __riscv_vreinterpret_v_u32m2_f32m2(
        __riscv_vand_vx_u32m2(__riscv_vreinterpret_v_i32m2_u32m2(w), 0x8fffffffu, vl));
}

/* x, or +0 when x is -inf; without a branch (the time must not depend on the data) */
static inline float zero_if_neg_inf(float x) {
    uint32_t b = f32_bits(x);
    uint32_t is = opaque_u32((uint32_t)(b == 0xff800000u));
    return bits_f32(b & ~(0u - is));
}

/* e^x of one value with the kernels' vector exp */
static inline float expf1(float x) {
    return __riscv_vfmv_f_s_f32m1_f32(vexpf_m1(__riscv_vfmv_v_f_f32m1(x, 1), 1));
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

/* The scratchpad plan for one launch. */
struct plan {
    int64_t D, KB;      /* head size, keys per block */
    float *kT;          /* [D][KB] transposed, widened K block */
    uint16_t *vb;       /* [KB][D] f16 V block */
    float *sc;          /* [ATTN_ROWS][KB] scores, then probabilities */
    float *qs;          /* [rows][D] q rows of the token chunk, (token, head) order */
    float *acc;         /* [rows][D] output accumulators (scaled by 2^-112) */
    float *mx, *l, *c;  /* [rows] running max, running sum, last correction */
    int64_t chunk;      /* query tokens per chunk */
};

/* Scores of R heads (rows qr[0..R) of length D) against keys [0, nv) of the block. */
#define REP1(X) X(0)
#define REP2(X) X(0) X(1)
#define REP4(X) X(0) X(1) X(2) X(3)
#define REP8(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)

#define ROWS_FUNCS(R, REP)                                                                         \
    static void scores_##R(const struct plan *p, const float *qr, int64_t G, int64_t nv,          \
                           float sscale, const float *mrow32, const uint16_t *mrow16) {           \
        const int64_t D = p->D, KB = p->KB;                                                        \
        float *const sc = p->sc;                                                                   \
        const float *const kT = p->kT;                                                             \
        for (int64_t js = 0; js < nv;) {                                                           \
            size_t vl = __riscv_vsetvl_e32m2((size_t)(nv - js));                                   \
            REP(DECL_ACC)                                                                          \
            const float *kp = kT + js;                                                             \
            const float *qd = qr;                                                                  \
            for (int64_t d = 0; d < D; d++) {                                                      \
                vfloat32m2_t kv = __riscv_vle32_v_f32m2(kp, vl);                                   \
                REP(MAC_ACC)                                                                       \
                kp += KB;                                                                          \
                qd += G;                                                                           \
            }                                                                                      \
            REP(STORE_SCORE)                                                                       \
            js += (int64_t)vl;                                                                     \
        }                                                                                          \
    }                                                                                              \
    static void values_##R(const struct plan *p, float *acc, const float *cr, int64_t nv) {       \
        const int64_t D = p->D, KB = p->KB;                                                        \
        const float *const sc = p->sc;                                                             \
        for (int64_t ds = 0; ds < D;) {                                                            \
            size_t vl = __riscv_vsetvl_e32m2((size_t)(D - ds));                                    \
            REP(LOAD_OUT)                                                                          \
            const int16_t *vp = (const int16_t *)p->vb + ds;                                       \
            /* the next row is widened while this one is used */                                   \
            vfloat32m2_t vnext = f16_scaled_m2(__riscv_vle16_v_i16m1(vp, vl), vl);                 \
            for (int64_t j = 0; j < nv; j++) {                                                     \
                vfloat32m2_t vv = vnext;                                                           \
                vint16m1_t hn = __riscv_vle16_v_i16m1(vp + (j + 1 < nv ? j + 1 : j) * D, vl);      \
                REP(MAC_OUT)                                                                       \
                vnext = f16_scaled_m2(hn, vl);                                                     \
            }                                                                                      \
            REP(STORE_OUT)                                                                         \
            ds += (int64_t)vl;                                                                     \
        }                                                                                          \
    }

#define DECL_ACC(i) vfloat32m2_t a##i = __riscv_vfmv_v_f_f32m2(0.0f, vl);
#define MAC_ACC(i) a##i = __riscv_vfmacc_vf_f32m2(a##i, qd[i], kv, vl);
#define STORE_SCORE(i)                                                                             \
    {                                                                                              \
        vfloat32m2_t s = __riscv_vfmul_vf_f32m2(a##i, sscale, vl);                                 \
        if (mrow32) {                                                                              \
            s = __riscv_vfadd_vv_f32m2(s, __riscv_vle32_v_f32m2(mrow32 + js, vl), vl);             \
        } else if (mrow16) {                                                                       \
            s = __riscv_vfadd_vv_f32m2(s, f16_to_f32_m2(__riscv_vle16_v_u16m1(mrow16 + js, vl), vl), vl); \
        }                                                                                          \
        __riscv_vse32_v_f32m2(sc + (i) * KB + js, s, vl);                                          \
    }
#define LOAD_OUT(i)                                                                                \
    vfloat32m2_t o##i = __riscv_vfmul_vf_f32m2(__riscv_vle32_v_f32m2(acc + (i) * D + ds, vl), cr[i], vl);
#define MAC_OUT(i) o##i = __riscv_vfmacc_vf_f32m2(o##i, sc[(i) * KB + j], vv, vl);
#define STORE_OUT(i) __riscv_vse32_v_f32m2(acc + (i) * D + ds, o##i, vl);

ROWS_FUNCS(8, REP8)
ROWS_FUNCS(4, REP4)
ROWS_FUNCS(2, REP2)
ROWS_FUNCS(1, REP1)

static inline vuint16m8_t load_v_row(const struct sail_tensor *v, int64_t j, int64_t hk, int64_t d0,
                                     ptrdiff_t vs, size_t vl) {
    const uintptr_t row = tensor_row(v, j, hk, 0) + (uintptr_t)(d0 * vs);
    return vs == 2 ? __riscv_vle16_v_u16m8((const uint16_t *)row, vl)
                   : __riscv_vlse16_v_u16m8((const uint16_t *)row, vs, vl);
}

/* Stages keys [j0, j0+nb) of KV head hk: K widened and transposed, V as f16 rows. Each row
 * is loaded one row ahead of its use, so a DDR read overlaps the previous row's work. */
static void stage_block(const struct plan *p, const struct sail_tensor *k, const struct sail_tensor *v,
                        int64_t hk, int64_t j0, int64_t nb) {
    const int64_t D = p->D, KB = p->KB;
    for (int64_t d0 = 0; d0 < D;) {
        size_t vl = __riscv_vsetvl_e16m4((size_t)(D - d0));
        vint16m4_t next = __riscv_vle16_v_i16m4((const int16_t *)tensor_row(k, j0, hk, 0) + d0, vl);
        for (int64_t jj = 0; jj < nb; jj++) {
            vint16m4_t h = next;
            if (jj + 1 < nb) {
                next = __riscv_vle16_v_i16m4((const int16_t *)tensor_row(k, j0 + jj + 1, hk, 0) + d0, vl);
            }
            __riscv_vsse32_v_f32m8(p->kT + d0 * KB + jj, KB * (ptrdiff_t)sizeof(float), f16_scaled_m8(h, vl), vl);
        }
        d0 += (int64_t)vl;
    }
    const ptrdiff_t vs = (ptrdiff_t)v->nb[0];
    for (int64_t d0 = 0; d0 < D;) {
        size_t vl = __riscv_vsetvl_e16m8((size_t)(D - d0));
        vuint16m8_t next = load_v_row(v, j0, hk, d0, vs, vl);
        for (int64_t jj = 0; jj < nb; jj++) {
            vuint16m8_t h = next;
            if (jj + 1 < nb) {
                next = load_v_row(v, j0 + jj + 1, hk, d0, vs, vl);
            }
            __riscv_vse16_v_u16m8(p->vb + jj * D + d0, h, vl);
        }
        d0 += (int64_t)vl;
    }
}

/* Online softmax update of R rows whose scores for keys [0, nv) are in sc: turns the
 * scores into probabilities and leaves each row's correction factor in c. */
static void softmax_update(const struct plan *p, int64_t row0, int64_t R, int64_t nv) {
    for (int64_t i = 0; i < R; i++) {
        float *s = p->sc + i * p->KB;
        const int64_t r = row0 + i;
        const float m_new = __builtin_fmaxf(p->mx[r], max_f32(s, nv));
        const float sub = zero_if_neg_inf(m_new);
        const float corr = expf1(p->mx[r] - sub);
        for (int64_t j = 0; j < nv;) {
            size_t vl = __riscv_vsetvl_e32m8((size_t)(nv - j));
            __riscv_vse32_v_f32m8(s + j, vexpf_m8(__riscv_vfsub_vf_f32m8(__riscv_vle32_v_f32m8(s + j, vl), sub, vl), vl), vl);
            j += (int64_t)vl;
        }
        p->l[r] = p->l[r] * corr + sum_ordered_f32(s, nv);
        p->mx[r] = m_new;
        p->c[r] = corr;
    }
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
        dst->ne[2] != n_q || dst->ne[3] != 1 || H / H_kv > ATTN_MAX_GROUP) {
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

    /* scratchpad: the K and V blocks and the scores, then the query chunk's rows */
    struct plan p;
    p.D = D;
    p.KB = D <= 128 ? 64 : D <= 256 ? 32 : 16;
    const uint64_t block_bytes = (uint64_t)(D * p.KB) * 6 + (uint64_t)(ATTN_ROWS * p.KB) * 4;
    const uint64_t row_bytes = (uint64_t)D * 8 + 12;
    if (block_bytes + (uint64_t)group * row_bytes > SAIL_SCRATCH_SIZE) {
        return SAIL_ERR_SHAPE;
    }
    int64_t chunk = (int64_t)((SAIL_SCRATCH_SIZE - block_bytes) / ((uint64_t)group * row_bytes));
    p.chunk = chunk < n_q ? chunk : n_q;
    const int64_t max_rows = p.chunk * group;
    p.kT = (float *)(uintptr_t)SAIL_SCRATCH_BASE;
    p.vb = (uint16_t *)(p.kT + D * p.KB);
    p.sc = (float *)(p.vb + D * p.KB);
    p.qs = p.sc + ATTN_ROWS * p.KB;
    p.acc = p.qs + max_rows * D;
    p.mx = p.acc + max_rows * D;
    p.l = p.mx + max_rows;
    p.c = p.l + max_rows;
    /* scores in units of the widened K: scale * 2^112 (exact, a power-of-two factor) */
    const float sscale = scale * 0x1p112f;

    for (int64_t hk = 0; hk < H_kv; hk++) {
        for (int64_t t0 = 0; t0 < n_q; t0 += p.chunk) {
            const int64_t nt = n_q - t0 < p.chunk ? n_q - t0 : p.chunk;
            for (int64_t t = 0; t < nt; t++) {
                for (int64_t g = 0; g < group; g++) {
                    const int64_t r = t * group + g;
                    const float *src = (const float *)tensor_row(q, t0 + t, hk * group + g, 0);
                    for (int64_t d = 0; d < D;) {
                        size_t vl = __riscv_vsetvl_e32m8((size_t)(D - d));
                        /* q transposed per token: element (head g, d) at [d * group + g] */
                        __riscv_vsse32_v_f32m8(p.qs + (t * D + d) * group + g, group * (ptrdiff_t)sizeof(float),
                                               __riscv_vle32_v_f32m8(src + d, vl), vl);
                        __riscv_vse32_v_f32m8(p.acc + r * D + d, __riscv_vfmv_v_f_f32m8(0.0f, vl), vl);
                        d += (int64_t)vl;
                    }
                    p.mx[r] = -__builtin_inff();
                    p.l[r] = 0.0f;
                }
            }
            /* keys any token of the chunk sees */
            int64_t n_keys = causal ? n_past + t0 + nt : n_kv;
            if (n_keys > n_kv) {
                n_keys = n_kv;
            }
            for (int64_t j0 = 0; j0 < n_keys; j0 += p.KB) {
                const int64_t nb = n_keys - j0 < p.KB ? n_keys - j0 : p.KB;
                stage_block(&p, k, v, hk, j0, nb);
                for (int64_t t = 0; t < nt; t++) {
                    const int64_t iq = t0 + t;
                    int64_t nv = causal ? n_past + iq + 1 - j0 : nb;
                    if (nv > nb) {
                        nv = nb;
                    }
                    if (nv <= 0) {
                        continue;
                    }
                    const float *m32 = 0;
                    const uint16_t *m16 = 0;
                    if (mask) {
                        const uintptr_t mrow = tensor_row(mask, iq, 0, 0);
                        if (mask->type == SAIL_TYPE_F32) {
                            m32 = (const float *)mrow + j0;
                        } else {
                            m16 = (const uint16_t *)mrow + j0;
                        }
                    }
                    for (int64_t g0 = 0; g0 < group;) {
                        const int64_t left = group - g0;
                        const int64_t R = left >= 8 ? 8 : left >= 4 ? 4 : left >= 2 ? 2 : 1;
                        const int64_t row0 = t * group + g0;
                        const float *qr = p.qs + t * D * group + g0;
                        float *acc = p.acc + row0 * D;
                        if (R == 8) {
                            scores_8(&p, qr, group, nv, sscale, m32, m16);
                        } else if (R == 4) {
                            scores_4(&p, qr, group, nv, sscale, m32, m16);
                        } else if (R == 2) {
                            scores_2(&p, qr, group, nv, sscale, m32, m16);
                        } else {
                            scores_1(&p, qr, group, nv, sscale, m32, m16);
                        }
                        softmax_update(&p, row0, R, nv);
                        const float *cr = p.c + row0;
                        if (R == 8) {
                            values_8(&p, acc, cr, nv);
                        } else if (R == 4) {
                            values_4(&p, acc, cr, nv);
                        } else if (R == 2) {
                            values_2(&p, acc, cr, nv);
                        } else {
                            values_1(&p, acc, cr, nv);
                        }
                        g0 += R;
                    }
                }
            }
            /* out = acc * 2^112 / l, or 0 for a row without a visible key */
            for (int64_t t = 0; t < nt; t++) {
                for (int64_t g = 0; g < group; g++) {
                    const int64_t r = t * group + g;
                    const float inv = 0x1p112f / p.l[r];
                    const uint32_t empty = opaque_u32((uint32_t)(p.l[r] == 0.0f));
                    const float f = bits_f32(f32_bits(inv) & ~(0u - empty));
                    float *out = (float *)tensor_row(dst, hk * group + g, t0 + t, 0);
                    for (int64_t d = 0; d < D;) {
                        size_t vl = __riscv_vsetvl_e32m8((size_t)(D - d));
                        __riscv_vse32_v_f32m8(out + d, __riscv_vfmul_vf_f32m8(__riscv_vle32_v_f32m8(p.acc + r * D + d, vl), f, vl), vl);
                        d += (int64_t)vl;
                    }
                }
            }
        }
    }
    return SAIL_OK;
}
