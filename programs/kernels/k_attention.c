/* ATTENTION: out = softmax(q.k^T * scale + mask) . v over an F16, BF16 or Q8_0 KV cache, with grouped
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

#include "attention_common.h"
#include "kcommon.h"
#include "kmath.h"
#include "kvec.h"

#define ATTN_ROWS 4       /* heads handled together (accumulator register groups of LMUL 4) */
#define ATTN_SC 64        /* floats from one score row to the next (>= the largest KB) */

/* f16 bits (as int16) -> f32 * 2^-112, exact: sign to bit 31, exponent and mantissa
 * shifted by 13 (the sign extension's copies in bits 28..30 are cleared). */
static inline vfloat32m8_t f16_scaled_m8(vint16m4_t h, size_t vl) {
    vint32m8_t w = __riscv_vwmul_vx_i32m8(h, 1 << 13, vl);
    return __riscv_vreinterpret_v_u32m8_f32m8(
        __riscv_vand_vx_u32m8(__riscv_vreinterpret_v_i32m8_u32m8(w), 0x8fffffffu, vl));
}

/* e^x of one value with the kernels' vector exp */
static inline float expf1(float x) {
    return __riscv_vfmv_f_s_f32m1_f32(vexpf_m1(__riscv_vfmv_v_f_f32m1(x, 1), 1));
}

/* The scratchpad plan for one launch. */
struct plan {
    int64_t D, KB;      /* head size, keys per block */
    float *kT;          /* [D][KB] transposed, widened K block */
    float *vb;          /* [KB][D] widened V block */
    float *sc;          /* [ATTN_ROWS][ATTN_SC] scores, then probabilities */
    float *qs;          /* [rows][D] q rows of the token chunk, (token, head) order */
    float *acc;         /* [rows][D] output accumulators (scaled by 2^-112) */
    float *mx, *l, *c;  /* [rows] running max, running sum, last correction */
    int64_t chunk;      /* query tokens per chunk */
};

/* Scores of R heads (rows qr[0..R) of length D) against keys [0, nv) of the block, and
 * the values pass. Vectors of LMUL 4 (16 keys or 16 elements of d at VLEN 128): one
 * operand load serves R multiply-adds of 4 beats each, and the scalar work of a step
 * (R scalar loads, two pointer bumps, the loop branch) issues while the vector unit is
 * busy. The row stride of sc is a constant, so the R scalar loads of one step take their
 * offsets as immediates from one pointer. */
#define REP1(X) X(0)
#define REP2(X) X(0) X(1)
#define REP4(X) X(0) X(1) X(2) X(3)

#define ROWS_FUNCS(R, REP)                                                                         \
    static void scores_##R(const struct plan *p, const float *qr, int64_t G, int64_t nv,          \
                           float sscale, const float *mrow32, const uint16_t *mrow16) {           \
        const int64_t D = p->D, KB = p->KB;                                                        \
        float *const sc = p->sc;                                                                   \
        const float *const kT = p->kT;                                                             \
        for (int64_t js = 0; js < nv;) {                                                           \
            size_t vl = __riscv_vsetvl_e32m4((size_t)(nv - js));                                   \
            REP(DECL_ACC)                                                                          \
            const float *kp = kT + js;                                                             \
            const float *qd = qr;                                                                  \
            /* two K rows alternate: the next one loads while this one's multiply-adds run   \
             * (no load-use wait). The load after the last row reads the next scratchpad row  \
             * and is not used. */                                                            \
            vfloat32m4_t ka = __riscv_vle32_v_f32m4(kp, vl), kb;                                   \
            int64_t d = 0;                                                                         \
            for (; d + 2 <= D; d += 2) {                                                           \
                kb = __riscv_vle32_v_f32m4(kp + KB, vl);                                           \
                { REP(LOAD_Q) REP(MAC_A) }                                                                         \
                qd += G;                                                                           \
                kp += 2 * KB;                                                                      \
                ka = __riscv_vle32_v_f32m4(kp, vl);                                                \
                { REP(LOAD_Q) REP(MAC_B) }                                                                         \
                qd += G;                                                                           \
            }                                                                                      \
            if (d < D) {                                                                           \
                { REP(LOAD_Q) REP(MAC_A) }                                                                         \
            }                                                                                      \
            REP(STORE_SCORE)                                                                       \
            js += (int64_t)vl;                                                                     \
        }                                                                                          \
    }                                                                                              \
    static void values_##R(const struct plan *p, float *acc, const float *cr, int64_t nv) {       \
        const int64_t D = p->D;                                                                    \
        for (int64_t ds = 0; ds < D;) {                                                            \
            size_t vl = __riscv_vsetvl_e32m4((size_t)(D - ds));                                    \
            REP(LOAD_OUT)                                                                          \
            const float *vp = p->vb + ds;                                                          \
            const float *pj = p->sc;                                                               \
            /* two V rows alternate, as the K rows above */                                 \
            vfloat32m4_t va = __riscv_vle32_v_f32m4(vp, vl), vb;                                   \
            int64_t j = 0;                                                                         \
            for (; j + 2 <= nv; j += 2) {                                                          \
                vb = __riscv_vle32_v_f32m4(vp + D, vl);                                            \
                { REP(LOAD_P) REP(MAC_OUT_A) }                                                                     \
                pj++;                                                                              \
                vp += 2 * D;                                                                       \
                va = __riscv_vle32_v_f32m4(vp, vl);                                                \
                { REP(LOAD_P) REP(MAC_OUT_B) }                                                                     \
                pj++;                                                                              \
            }                                                                                      \
            if (j < nv) {                                                                          \
                { REP(LOAD_P) REP(MAC_OUT_A) }                                                                     \
            }                                                                                      \
            REP(STORE_OUT)                                                                         \
            ds += (int64_t)vl;                                                                     \
        }                                                                                          \
    }

#define DECL_ACC(i) vfloat32m4_t a##i = __riscv_vfmv_v_f_f32m4(0.0f, vl);
#define LOAD_Q(i) const float q##i = qd[i];
#define MAC_A(i) a##i = __riscv_vfmacc_vf_f32m4(a##i, q##i, ka, vl);
#define MAC_B(i) a##i = __riscv_vfmacc_vf_f32m4(a##i, q##i, kb, vl);
#define STORE_SCORE(i)                                                                             \
    {                                                                                              \
        vfloat32m4_t s = __riscv_vfmul_vf_f32m4(a##i, sscale, vl);                                 \
        if (mrow32) {                                                                              \
            s = __riscv_vfadd_vv_f32m4(s, __riscv_vle32_v_f32m4(mrow32 + js, vl), vl);             \
        } else if (mrow16) {                                                                       \
            s = __riscv_vfadd_vv_f32m4(s, f16_to_f32_m4(__riscv_vle16_v_u16m2(mrow16 + js, vl), vl), vl); \
        }                                                                                          \
        __riscv_vse32_v_f32m4(sc + (i) * ATTN_SC + js, s, vl);                                     \
    }
#define LOAD_OUT(i)                                                                                \
    vfloat32m4_t o##i = __riscv_vfmul_vf_f32m4(__riscv_vle32_v_f32m4(acc + (i) * D + ds, vl), cr[i], vl);
#define LOAD_P(i) const float p##i = pj[(i) * ATTN_SC];
#define MAC_OUT_A(i) o##i = __riscv_vfmacc_vf_f32m4(o##i, p##i, va, vl);
#define MAC_OUT_B(i) o##i = __riscv_vfmacc_vf_f32m4(o##i, p##i, vb, vl);
#define STORE_OUT(i) __riscv_vse32_v_f32m4(acc + (i) * D + ds, o##i, vl);

ROWS_FUNCS(4, REP4)
ROWS_FUNCS(2, REP2)
ROWS_FUNCS(1, REP1)

/* vl f16 elements from p, `stride` bytes apart (2: contiguous) */
static inline vint16m4_t load16(const int16_t *p, ptrdiff_t stride, size_t vl) {
    return stride == 2 ? __riscv_vle16_v_i16m4(p, vl) : __riscv_vlse16_v_i16m4(p, stride, vl);
}

/* Stages keys [j0, j0+nb) of KV head hk, both widened to f32 (times 2^-112): K transposed
 * (kT[d][j]), V as rows (vb[j][d]). Each row comes from DDR one row ahead of its use, so a
 * read is in flight while the previous row is widened and stored; the row addresses are
 * computed once per block (the descriptor is not re-read per row). */
/* bf16 bits -> f32, exact (the bits become the upper half) */
static inline vfloat32m8_t bf16_widen_m8(vint16m4_t h, size_t vl) {
    return __riscv_vreinterpret_v_u32m8_f32m8(
        __riscv_vsll_vx_u32m8(__riscv_vzext_vf2_u32m8(__riscv_vreinterpret_v_i16m4_u16m4(h), vl), 16, vl));
}

static inline __attribute__((always_inline)) void stage_block_16(const struct plan *p, const struct sail_tensor *k, const struct sail_tensor *v,
                                                                  int64_t hk, int64_t j0, int64_t nb, int bf16) {
    const int64_t D = p->D, KB = p->KB;
    const ptrdiff_t ks = (ptrdiff_t)k->nb[0], vs = (ptrdiff_t)v->nb[0];
    const ptrdiff_t kr = (ptrdiff_t)k->nb[1], vr = (ptrdiff_t)v->nb[1];
    const uintptr_t k0 = tensor_row(k, j0, hk, 0), v0 = tensor_row(v, j0, hk, 0);
    for (int64_t d0 = 0; d0 < D;) {
        size_t vl = __riscv_vsetvl_e16m4((size_t)(D - d0));
        const int16_t *kp = (const int16_t *)(k0 + (uintptr_t)(d0 * ks));
        const int16_t *vp = (const int16_t *)(v0 + (uintptr_t)(d0 * vs));
        float *kt = p->kT + d0 * KB;
        float *vb = p->vb + d0;
        vint16m4_t k1 = load16(kp, ks, vl);
        vint16m4_t v1 = load16(vp, vs, vl);
        for (int64_t jj = 0; jj < nb; jj++) {
            vint16m4_t kh = k1, vh = v1;
            if (jj + 1 < nb) {
                kp = (const int16_t *)((uintptr_t)kp + (uintptr_t)kr);
                vp = (const int16_t *)((uintptr_t)vp + (uintptr_t)vr);
                k1 = load16(kp, ks, vl);
                v1 = load16(vp, vs, vl);
            }
            vfloat32m8_t kw = bf16 ? bf16_widen_m8(kh, vl) : f16_scaled_m8(kh, vl);
            vfloat32m8_t vw = bf16 ? bf16_widen_m8(vh, vl) : f16_scaled_m8(vh, vl);
            __riscv_vsse32_v_f32m8(kt + jj, KB * (ptrdiff_t)sizeof(float), kw, vl);
            __riscv_vse32_v_f32m8(vb + jj * D, vw, vl);
        }
        d0 += (int64_t)vl;
    }
}

/* One Q8_0 row of D values (D / 32 blocks of an f16 scale and 32 int8) widened to f32:
 * qs * d, exact in f32 (8 by 11 significant bits), as dequantize_row_q8_0. */
static inline void q8_0_row_widen(float *out, ptrdiff_t out_stride, const uint8_t *row, int64_t D) {
    const size_t vl = 32;
    for (int64_t b = 0; b < D / 32; b++) {
        const uint8_t *blk = row + b * 34;
        const float d = fp16_to_f32((uint16_t)(blk[0] | (uint16_t)blk[1] << 8));
        vint32m8_t q = __riscv_vsext_vf4_i32m8(__riscv_vle8_v_i8m2((const int8_t *)(blk + 2), vl), vl);
        vfloat32m8_t x = __riscv_vfmul_vf_f32m8(__riscv_vfcvt_f_x_v_f32m8(q, vl), d, vl);
        if (out_stride == (ptrdiff_t)sizeof(float)) {
            __riscv_vse32_v_f32m8(out + b * 32, x, vl);
        } else {
            __riscv_vsse32_v_f32m8((float *)((uintptr_t)out + (uintptr_t)(b * 32 * out_stride)), out_stride, x, vl);
        }
    }
}

/* Stages keys [j0, j0+nb) of a Q8_0 cache: K transposed, V as rows, both widened to f32. */
static void stage_block_q8_0(const struct plan *p, const struct sail_tensor *k, const struct sail_tensor *v,
                             int64_t hk, int64_t j0, int64_t nb) {
    const int64_t D = p->D, KB = p->KB;
    const uintptr_t kr = (uintptr_t)k->nb[1], vr = (uintptr_t)v->nb[1];
    const uintptr_t k0 = tensor_row(k, j0, hk, 0), v0 = tensor_row(v, j0, hk, 0);
    for (int64_t jj = 0; jj < nb; jj++) {
        q8_0_row_widen(p->kT + jj, KB * (ptrdiff_t)sizeof(float), (const uint8_t *)(k0 + (uintptr_t)jj * kr), D);
        q8_0_row_widen(p->vb + jj * D, (ptrdiff_t)sizeof(float), (const uint8_t *)(v0 + (uintptr_t)jj * vr), D);
    }
}

static void stage_block(const struct plan *p, const struct sail_tensor *k, const struct sail_tensor *v,
                        int64_t hk, int64_t j0, int64_t nb) {
    if (k->type == SAIL_TYPE_Q8_0) {
        stage_block_q8_0(p, k, v, hk, j0, nb);
    } else {
        if (k->type == SAIL_TYPE_BF16) {
            stage_block_16(p, k, v, hk, j0, nb, 1);
        } else {
            stage_block_16(p, k, v, hk, j0, nb, 0);
        }
    }
}

/* Online softmax update of R rows whose scores for keys [0, nv) are in sc: turns the
 * scores into probabilities and leaves each row's correction factor in c. */
static void softmax_update(const struct plan *p, int64_t row0, int64_t R, int64_t nv) {
    for (int64_t i = 0; i < R; i++) {
        float *s = p->sc + i * ATTN_SC;
        const int64_t r = row0 + i;
        const float m_new = __builtin_fmaxf(p->mx[r], max_f32(s, nv));
        const float sub = attn_zero_if_neg_inf(m_new);
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
    struct attn_args args;
    TRY(attn_args_of(op, &args));
    const struct sail_tensor *q = args.q, *k = args.k, *v = args.v, *mask = args.mask, *dst = args.dst;
    const int64_t D = args.D, n_q = args.n_q, group = args.group, H_kv = args.H_kv;
    const float scale = args.scale;
    const int causal = args.causal;
    const int64_t n_past = args.n_past;

    /* scratchpad: the K and V blocks and the scores, then the query chunk's rows */
    struct plan p;
    p.D = D;
    p.KB = D <= 128 ? 64 : D <= 256 ? 32 : 16;
    const uint64_t block_bytes = (uint64_t)(D * p.KB) * 8 + (uint64_t)(ATTN_ROWS * ATTN_SC) * 4;
    const uint64_t row_bytes = (uint64_t)D * 8 + 12;
    if (block_bytes + (uint64_t)group * row_bytes > SAIL_SCRATCH_SIZE) {
        return SAIL_ERR_SHAPE;
    }
    int64_t chunk = (int64_t)((SAIL_SCRATCH_SIZE - block_bytes) / ((uint64_t)group * row_bytes));
    p.chunk = chunk < n_q ? chunk : n_q;
    const int64_t max_rows = p.chunk * group;
    p.kT = (float *)(uintptr_t)SAIL_SCRATCH_BASE;
    p.vb = p.kT + D * p.KB;
    p.sc = p.vb + D * p.KB;
    p.qs = p.sc + ATTN_ROWS * ATTN_SC;
    p.acc = p.qs + max_rows * D;
    p.mx = p.acc + max_rows * D;
    p.l = p.mx + max_rows;
    p.c = p.l + max_rows;
    /* scores in units of the widened K: scale * 2^112 (exact, a power-of-two factor) */
    const float unscale = k->type == SAIL_TYPE_F16 ? 0x1p112f : 1.0f;
    const float sscale = scale * unscale;

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
            const int64_t n_keys = attn_keys_seen(&args, t0, nt);
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
                        const int64_t R = left >= 4 ? 4 : left >= 2 ? 2 : 1;
                        const int64_t row0 = t * group + g0;
                        const float *qr = p.qs + t * D * group + g0;
                        float *acc = p.acc + row0 * D;
                        if (R == 4) {
                            scores_4(&p, qr, group, nv, sscale, m32, m16);
                        } else if (R == 2) {
                            scores_2(&p, qr, group, nv, sscale, m32, m16);
                        } else {
                            scores_1(&p, qr, group, nv, sscale, m32, m16);
                        }
                        softmax_update(&p, row0, R, nv);
                        const float *cr = p.c + row0;
                        if (R == 4) {
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
                    const float inv = unscale / p.l[r];
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
