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

/* theta_scale = kpow(b, e) = kexp(e * klog(b)), the same operations and so the same bits,
 * for the only arguments rope passes: b a positive finite f32 widened to double (so never a
 * double subnormal: klog's normalisation is not needed) and e = -2/n_dims, |e| <= 1, so
 * |e log b| <= 149 ln 2 < 104: kexp's overflow and underflow tests never fire, and with
 * |n| <= 150 the result p 2^n is a normal double, so the one exact scaling gives the bits of
 * kexp's two exact scalings. The constants come from one table, one base address (each
 * constant of its own is an auipc and a load: two issue slots), the log's at the top and the
 * exp's behind the log's divide, whose 20 cycles cover their DDR round trip. */
static const double KPOW_C[] = {
    1.41421356237309504880, /* sqrt 2, read as bits */
    1.0 / 25.0, 1.0 / 23.0, 1.0 / 21.0, 1.0 / 19.0, 1.0 / 17.0, 1.0 / 15.0,
    1.0 / 13.0, 1.0 / 11.0, 1.0 / 9.0, 1.0 / 7.0, 1.0 / 5.0, 1.0 / 3.0,
    6.93147180369123816490e-01, /* 13: ln2_hi 0x3fe62e42fee00000 */
    1.90821492927058770002e-10, /* 14: ln2_lo 0x3dea39ef35793c76 */
    1.44269504088896338700e+00, /* 15: log2 e */
    6755399441055744.0,         /* 16: 1.5 2^52 */
    1.0 / 479001600.0, 1.0 / 3628800.0, 1.0 / 40320.0, 1.0 / 720.0, 1.0 / 24.0, /* 17..21 */
    1.0 / 6227020800.0, 1.0 / 39916800.0, 1.0 / 362880.0, 1.0 / 5040.0, 1.0 / 120.0, 1.0 / 6.0, /* 22..27 */
    1.0, 0.5, /* 28, 29 */
};

static __attribute__((noinline)) double kpow_rope(double x, int n_dims) {
    /* the exponent's divide first: its 20 cycles cover the constants' DDR round trip */
    float exf = -2.0f / (float)n_dims;
    __asm__ volatile("" : "+f"(exf));
    const double *K = KPOW_C;
    __asm__ volatile("" : "+r"(K)); /* one base register */
    uint64_t sq;
    __builtin_memcpy(&sq, K, 8); /* sqrt 2's bits, first: the first use */
    __asm__ volatile("" : "+r"(sq));
    double one = K[28], half = K[29];
    KPIN(one);
    double c25 = K[1], c23 = K[2], c21 = K[3], c19 = K[4], c17 = K[5], c15 = K[6], c13 = K[7],
           c11 = K[8], c9 = K[9], c7 = K[10], c5 = K[11], c3 = K[12], ln2_hi = K[13], ln2_lo = K[14];
    KPIN(c25);
    KPIN(c23);
    KPIN(c21);
    KPIN(c19);
    KPIN(c17);
    KPIN(c15);
    KPIN(c13);
    KPIN(c11);
    KPIN(c9);
    KPIN(c7);
    KPIN(c5);
    KPIN(c3);
    KPIN(ln2_hi);
    KPIN(ln2_lo);
    KPIN(half);
    __asm__ volatile("" : "+r"(sq)); /* its uses after all the loads are issued */
    /* klog */
    uint64_t u = bitsd(x);
    int64_t e = (int64_t)((u >> 52) & 0x7ff);
    e -= 1023;
    /* m in [1, 2); m > sqrt 2 compared as the fraction bits, and m * 0.5 (exact) as the
     * exponent field less one: no FP compare and no branch */
    const uint64_t fr = u & 0x000fffffffffffffull;
    const uint64_t big = fr > (sq & 0x000fffffffffffffull);
    e += (int64_t)big;
    double m = dbits((fr | 0x3ff0000000000000ull) - (big << 52));
    double s = (m - one) / (m + one);
    double l2e = K[15], shifter = K[16], e12 = K[17], e10 = K[18], e8 = K[19], e6 = K[20], e4 = K[21],
           o13 = K[22], o11 = K[23], o9 = K[24], o7 = K[25], o5 = K[26], o3 = K[27];
    KPIN(l2e);
    KPIN(shifter);
    KPIN(e12);
    KPIN(e10);
    KPIN(e8);
    KPIN(e6);
    KPIN(e4);
    KPIN(o13);
    KPIN(o11);
    KPIN(o9);
    KPIN(o7);
    KPIN(o5);
    KPIN(o3);
    const double z = s * s, z2 = z * z;
    double pa = __builtin_fma(c25, z2, c21);
    double pb = __builtin_fma(c23, z2, c19);
    pa = __builtin_fma(pa, z2, c17);
    pb = __builtin_fma(pb, z2, c15);
    pa = __builtin_fma(pa, z2, c13);
    pb = __builtin_fma(pb, z2, c11);
    pa = __builtin_fma(pa, z2, c9);
    pb = __builtin_fma(pb, z2, c7);
    pa = __builtin_fma(pa, z2, c5);
    pb = __builtin_fma(pb, z2, c3);
    pa = __builtin_fma(pa, z2, one);
    const double p0 = __builtin_fma(pb, z, pa);
    double de = (double)e;
    const double lg = __builtin_fma(de, ln2_hi, __builtin_fma(2.0 * s, p0, de * ln2_lo));
    /* kexp */
    __asm__("" : "+f"(exf) : "f"(lg)); /* converted here, not behind the divide */
    const double y = (double)exf * lg;
    double n = (y * l2e + shifter) - shifter; /* kround */
    double r = __builtin_fma(-n, ln2_hi, y);
    r = __builtin_fma(-n, ln2_lo, r);
    const double r2 = r * r;
    double ev = __builtin_fma(e12, r2, e10);
    double o = __builtin_fma(o13, r2, o11);
    ev = __builtin_fma(ev, r2, e8);
    o = __builtin_fma(o, r2, o9);
    ev = __builtin_fma(ev, r2, e6);
    o = __builtin_fma(o, r2, o7);
    ev = __builtin_fma(ev, r2, e4);
    o = __builtin_fma(o, r2, o5);
    ev = __builtin_fma(ev, r2, half);
    o = __builtin_fma(o, r2, o3);
    ev = __builtin_fma(ev, r2, one);
    o = __builtin_fma(o, r2, one);
    const double p = __builtin_fma(o, r, ev);
    return p * dbits((uint64_t)((int64_t)n + 1023) << 52);
}

/* tensor_check for a tensor of 4-byte elements whose type was checked already */
static inline int f32_tensor_check(const struct sail_tensor *t) {
    if (t->ne[0] < 1 || t->ne[1] < 1 || t->ne[2] < 1 || t->ne[3] < 1) {
        return SAIL_ERR_SHAPE;
    }
    return t->nb[0] == 4 ? SAIL_OK : SAIL_ERR_STRIDE;
}

/* Rotates one strip of vl pairs (from pair i) of every head of a token, with the strip's
 * cos and sin loaded once from the scratchpad. Heads go two at a time, their rotations
 * interleaved so that each multiply's latency is covered by the other head's, and each pair
 * of heads is loaded while the previous pair rotates (two register sets P and Q, so no
 * register copies). Normal mode: the pair (2i, 2i+1) by a segment load (one contiguous
 * burst); neox: two contiguous runs. `normal` is a constant at each call. */
static inline __attribute__((always_inline)) void rope_strip(const int normal, uintptr_t xs, uintptr_t ys, uint64_t snb1,
                                                             uint64_t dnb1, int64_t n_head, const float *cosv,
                                                             const float *sinv, int i, int half, size_t vl) {
    const vfloat32m2_t c = __riscv_vle32_v_f32m2(cosv + i, vl);
    const vfloat32m2_t s = __riscv_vle32_v_f32m2(sinv + i, vl);
    const ptrdiff_t o0 = normal ? 2 * i : i;
    const ptrdiff_t o1 = normal ? 2 * i + 1 : half + i;
    const int64_t last = n_head - 1;
#define LOADX(h)                                                                                   \
    (normal ? __riscv_vlseg2e32_v_f32m2x2((const float *)(xs + (uint64_t)(h) * snb1) + o0, vl)      \
            : __riscv_vcreate_v_f32m2x2(__riscv_vle32_v_f32m2((const float *)(xs + (uint64_t)(h) * snb1) + o0, vl), \
                                        __riscv_vle32_v_f32m2((const float *)(xs + (uint64_t)(h) * snb1) + o1, vl)))
#define STOREY(h, y0, y1)                                                                          \
    do {                                                                                           \
        float *yh_ = (float *)(ys + (uint64_t)(h) * dnb1);                                         \
        if (normal) {                                                                              \
            __riscv_vsseg2e32_v_f32m2x2(yh_ + o0, __riscv_vcreate_v_f32m2x2(y0, y1), vl);           \
        } else {                                                                                   \
            __riscv_vse32_v_f32m2(yh_ + o0, y0, vl);                                               \
            __riscv_vse32_v_f32m2(yh_ + o1, y1, vl);                                               \
        }                                                                                          \
    } while (0)
/* rotates heads h (X##a) and h + 1 (X##b, stored when `two`) */
#define ROT2(X, h, two)                                                                            \
    do {                                                                                           \
        vfloat32m2_t a0 = __riscv_vget_v_f32m2x2_f32m2(X##a, 0), a1 = __riscv_vget_v_f32m2x2_f32m2(X##a, 1); \
        vfloat32m2_t b0 = __riscv_vget_v_f32m2x2_f32m2(X##b, 0), b1 = __riscv_vget_v_f32m2x2_f32m2(X##b, 1); \
        vfloat32m2_t ta = __riscv_vfmul_vv_f32m2(a0, c, vl), ua = __riscv_vfmul_vv_f32m2(a1, s, vl);  \
        a0 = __riscv_vfmul_vv_f32m2(a0, s, vl);                                                    \
        a1 = __riscv_vfmul_vv_f32m2(a1, c, vl);                                                    \
        vfloat32m2_t tb = __riscv_vfmul_vv_f32m2(b0, c, vl), ub = __riscv_vfmul_vv_f32m2(b1, s, vl);  \
        ta = __riscv_vfsub_vv_f32m2(ta, ua, vl);                                                   \
        b0 = __riscv_vfmul_vv_f32m2(b0, s, vl);                                                    \
        ua = __riscv_vfadd_vv_f32m2(a0, a1, vl);                                                   \
        b1 = __riscv_vfmul_vv_f32m2(b1, c, vl);                                                    \
        STOREY(h, ta, ua);                                                                         \
        tb = __riscv_vfsub_vv_f32m2(tb, ub, vl);                                                   \
        ub = __riscv_vfadd_vv_f32m2(b0, b1, vl);                                                   \
        if (two) {                                                                                 \
            STOREY((h) + 1, tb, ub);                                                               \
        }                                                                                          \
    } while (0)
    vfloat32m2x2_t Qa = LOADX(0);
    vfloat32m2x2_t Qb = LOADX(1 < last ? 1 : last);
    for (int64_t h = 0;; h += 4) {
        vfloat32m2x2_t Pa = LOADX(h + 2 < last ? h + 2 : last);
        vfloat32m2x2_t Pb = LOADX(h + 3 < last ? h + 3 : last);
        ROT2(Q, h, h + 1 <= last);
        if (h + 2 > last) {
            break;
        }
        if (h + 4 <= last) {
            Qa = LOADX(h + 4);
            Qb = LOADX(h + 5 < last ? h + 5 : last);
        }
        ROT2(P, h + 2, h + 3 <= last);
        if (h + 4 > last) {
            break;
        }
    }
#undef ROT2
#undef STOREY
#undef LOADX
}

/* Normal-mode rotation of `strips` full strips of vl pairs (vl = VLMAX(e32, m2)) of 2 * np2
 * heads (np2 even), in assembly: the compiler's schedule serialised two heads' multiplies
 * and the stores behind them. Work items are pairs of heads of one strip, strip by strip.
 * Registers: cos v8, sin v10 (reloaded from the scratchpad when the strip changes); two sets
 * of two heads (Q = v12/v14 and v16/v18, P = v20/v22 and v24/v26, as vlseg2 deinterleaves
 * them: x0 then x1); temporaries v28, v30, v4, v6 (the products, then the rotated pairs that
 * vsseg2 interleaves back). While one set rotates, the next item is loaded (about 40 cycles
 * ahead, more than a DDR read's latency), across strip boundaries too. Each multiply-then-
 * subtract waits at least 4 issue slots. kx/ky count the items left in the strip being
 * loaded/stored; at its end x/y jump back to head 0 of the next strip. */
#define ROPE_ROT(A0, A1, B0, B1)                                                                      \
    "vfmul.vv v28, " A0 ", v8\n"                                                                   \
    "vfmul.vv v30, " A1 ", v10\n"                                                                  \
    "vfmul.vv v4, " B0 ", v8\n"                                                                    \
    "vfmul.vv v6, " B1 ", v10\n"                                                                   \
    "vfmul.vv " A0 ", " A0 ", v10\n"                                                               \
    "vfmul.vv " A1 ", " A1 ", v8\n"                                                                \
    "vfsub.vv v28, v28, v30\n"                                                                     \
    "vfmul.vv " B0 ", " B0 ", v10\n"                                                               \
    "vfadd.vv v30, " A0 ", " A1 "\n"                                                               \
    "vfmul.vv " B1 ", " B1 ", v8\n"                                                                \
    "vfsub.vv v4, v4, v6\n"                                                                        \
    "vfadd.vv v6, " B0 ", " B1 "\n"                                                                \
    "vsseg2e32.v v28, (%[y])\n"                                                                    \
    "add %[y], %[y], %[sy]\n"                                                                      \
    "vsseg2e32.v v4, (%[y])\n"                                                                     \
    "add %[y], %[y], %[sy]\n"
#define ROPE_BODY(A0, A1, B0, B1, L)                                                                  \
    ROPE_ROT(A0, A1, B0, B1)                                                                       \
    "addi %[ky], %[ky], -1\n"                                                                      \
    "beqz %[ky], 7" L "f\n"                                                                        \
    "5" L ":\n"
#define ROPE_LOAD2(R0, R1, L)                                                                         \
    "vlseg2e32.v " R0 ", (%[x])\n"                                                                 \
    "add %[x], %[x], %[sx]\n"                                                                      \
    "vlseg2e32.v " R1 ", (%[x])\n"                                                                 \
    "add %[x], %[x], %[sx]\n"                                                                      \
    "addi %[kx], %[kx], -1\n"                                                                      \
    "beqz %[kx], 8" L "f\n"                                                                        \
    "6" L ":\n"
#define ROPE_NEXT_Y(L)                                                                             \
    "7" L ":\n"                                                                                     \
    "add %[y], %[y], %[jy]\n"                                                                      \
    "mv %[ky], %[np2]\n"                                                                           \
    "add %[c], %[c], %[vb]\n"                                                                      \
    "add %[s], %[s], %[vb]\n"                                                                      \
    "vle32.v v8, (%[c])\n"                                                                         \
    "vle32.v v10, (%[s])\n"                                                                        \
    "j 5" L "b\n"
#define ROPE_NEXT_X(L)                                                                             \
    "8" L ":\n"                                                                                     \
    "add %[x], %[x], %[jx]\n"                                                                      \
    "mv %[kx], %[np2]\n"                                                                           \
    "j 6" L "b\n"
static inline __attribute__((always_inline)) void rope_normal_all(uintptr_t x, uintptr_t y, uint64_t sx, uint64_t sy, int64_t np2, int64_t strips,
                                   const float *c, const float *s, size_t vl) {
    const uint64_t vb = (uint64_t)vl * 4;                /* a strip of cos (or sin) */
    const uint64_t jx = vb * 2 - (uint64_t)np2 * 2 * sx; /* head 2 np2 of a strip -> head 0 of the next */
    const uint64_t jy = vb * 2 - (uint64_t)np2 * 2 * sy;
    int64_t items = np2 * strips / 2; /* pairs of items (Q then P) */
    int64_t kx = np2, ky = np2;
    __asm__ volatile("vsetvli zero, %[vl], e32, m2, ta, ma\n"
                     "vle32.v v8, (%[c])\n"
                     "vle32.v v10, (%[s])\n" ROPE_LOAD2("v12", "v16", "1") "1:\n" ROPE_LOAD2("v20", "v24", "2")
                         ROPE_BODY("v12", "v14", "v16", "v18", "1") "addi %[n], %[n], -1\n"
                                                               "beqz %[n], 2f\n" ROPE_LOAD2("v12", "v16", "3")
                                                                   ROPE_BODY("v20", "v22", "v24", "v26", "2") "j 1b\n"
                                                                                                         "2:\n" ROPE_BODY("v20", "v22", "v24", "v26", "3") "j 9f\n"
                     /* out of line, so that the common path does not branch: at a strip's
                      * end, the stores and cos/sin move to the next strip (7L), the loads
                      * (8L); then back to where the body or load left off */
                     ROPE_NEXT_Y("1") ROPE_NEXT_Y("2") ROPE_NEXT_Y("3") ROPE_NEXT_X("1") ROPE_NEXT_X("2")
                         ROPE_NEXT_X("3") "9:\n"
                     : [x] "+&r"(x), [y] "+&r"(y), [n] "+&r"(items), [kx] "+&r"(kx), [ky] "+&r"(ky), [c] "+&r"(c),
                       [s] "+&r"(s)
                     : [sx] "r"(sx), [sy] "r"(sy), [vl] "r"(vl), [np2] "r"(np2), [jx] "r"(jx), [jy] "r"(jy),
                       [vb] "r"(vb)
                     : "memory", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v12", "v13", "v14", "v15", "v16",
                       "v17", "v18", "v19", "v20", "v21", "v22", "v23", "v24", "v25", "v26", "v27", "v28", "v29", "v30",
                       "v31", "vl", "vtype");
}

/* rope_normal_all for exactly four heads (np2 = 2, rope_k's case): one strip per round, its
 * two pairs of heads (Q = heads 0, 1 and P = heads 2, 3) each loaded while the other rotates,
 * with no per-item counters and no out-of-line strip changes (there each item ended a strip:
 * two taken branches and two jumps per strip). */
static inline __attribute__((always_inline)) void rope_normal_4(uintptr_t x, uintptr_t y, uint64_t sx, uint64_t sy,
                                                                int64_t strips, const float *c, const float *s,
                                                                size_t vl) {
    const uint64_t vb = (uint64_t)vl * 4;
    const uint64_t jx = vb * 2 - 3 * sx; /* head 3 of a strip -> head 0 of the next */
    const uint64_t jy = vb * 2 - 4 * sy; /* after head 3's store */
    __asm__ volatile("vsetvli zero, %[vl], e32, m2, ta, ma\n"
                     "vle32.v v8, (%[c])\n"
                     "vle32.v v10, (%[s])\n"
                     "vlseg2e32.v v12, (%[x])\n"
                     "add %[x], %[x], %[sx]\n"
                     "vlseg2e32.v v16, (%[x])\n"
                     "add %[x], %[x], %[sx]\n"
                     "1:\n"
                     "vlseg2e32.v v20, (%[x])\n"
                     "add %[x], %[x], %[sx]\n"
                     "vlseg2e32.v v24, (%[x])\n"
                     "add %[x], %[x], %[jx]\n" ROPE_ROT("v12", "v14", "v16", "v18")
                     "addi %[n], %[n], -1\n"
                     "beqz %[n], 2f\n"
                     "vlseg2e32.v v12, (%[x])\n"
                     "add %[x], %[x], %[sx]\n"
                     "vlseg2e32.v v16, (%[x])\n"
                     "add %[x], %[x], %[sx]\n" ROPE_ROT("v20", "v22", "v24", "v26")
                     "add %[y], %[y], %[jy]\n"
                     "add %[c], %[c], %[vb]\n"
                     "add %[s], %[s], %[vb]\n"
                     "vle32.v v8, (%[c])\n"
                     "vle32.v v10, (%[s])\n"
                     "j 1b\n"
                     "2:\n" ROPE_ROT("v20", "v22", "v24", "v26")
                     : [x] "+&r"(x), [y] "+&r"(y), [n] "+&r"(strips), [c] "+&r"(c), [s] "+&r"(s)
                     : [sx] "r"(sx), [sy] "r"(sy), [vl] "r"(vl), [jx] "r"(jx), [jy] "r"(jy), [vb] "r"(vb)
                     : "memory", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v12", "v13", "v14", "v15", "v16",
                       "v17", "v18", "v19", "v20", "v21", "v22", "v23", "v24", "v25", "v26", "v27", "v28", "v29", "v30",
                       "v31", "vl", "vtype");
}

/* One token (i2) at position p: its theta, cos and sin tables in the scratchpad (the stack
 * is in DDR, behind its latency, and every head re-reads the tables), then the rotation.
 * A function of its own that reads the descriptor's copy (in the scratchpad) again, so that
 * few values stay live across the token loop: the compiler's spills go to the stack, in DDR. */
static __attribute__((noinline)) void rope_token(const struct sail_op *op, int64_t i2, int32_t p, float theta_scale) {
    const struct sail_tensor *src = &op->src[0];
    const struct sail_tensor *dst = &op->dst;
    const int n_dims = op->params[SAIL_P_ROPE_N_DIMS];
    const int half = n_dims / 2;
    float *const cosv = (float *)(uintptr_t)SAIL_SCRATCH_BASE;
    float *const sinv = cosv + ROPE_MAX_DIMS / 2;
    float *const thv = sinv + ROPE_MAX_DIMS / 2;
    /* GGML's theta recurrence (one f32 rounding per step), then cos and sin of all the
     * frequencies at once on the vector unit */
    vsincos_f32_table(thv, (float)p, theta_scale, param_f32(op, SAIL_P_ROPE_FREQ_SCALE),
                      param_f32(op, SAIL_P_ROPE_ATTN_FACTOR), cosv, sinv, half);
    const uintptr_t xs = tensor_row(src, 0, i2, 0);
    const uintptr_t ys = tensor_row(dst, 0, i2, 0);
    const int64_t n_head = src->ne[1];
    const uint64_t snb1 = src->nb[1], dnb1 = dst->nb[1];
    const int normal = op->params[SAIL_P_ROPE_MODE] == SAIL_ROPE_MODE_NORMAL;
    /* normal mode, heads in groups of four: every full strip in one assembly loop */
    const size_t vmax = __riscv_vsetvlmax_e32m2();
    int i0 = 0;
    if (normal && n_head >= 4 && (size_t)half >= vmax) {
        const int64_t h4 = n_head & ~(int64_t)3;
        /* half / vmax without the divider (34 cycles) or a counting loop: vmax is a power of
         * two, its log2 the exponent of its conversion to float */
        const float vmf = (float)vmax;
        const int64_t strips = (int64_t)((unsigned)half >> ((f32_bits(vmf) >> 23) - 127));
        if (h4 == 4) {
            rope_normal_4(xs, ys, snb1, dnb1, strips, cosv, sinv, vmax);
        } else {
            rope_normal_all(xs, ys, snb1, dnb1, h4 / 2, strips, cosv, sinv, vmax);
        }
        i0 = (int)(strips * (int64_t)vmax);
        if (h4 < n_head) {
            for (int i = 0; i < i0; i += (int)vmax) {
                rope_strip(1, xs + (uint64_t)h4 * snb1, ys + (uint64_t)h4 * dnb1, snb1, dnb1, n_head - h4, cosv, sinv,
                           i, half, vmax);
            }
        }
    }
    for (int i = i0; i < half;) {
        const size_t vl = __riscv_vsetvl_e32m2((size_t)(half - i));
        if (normal) {
            rope_strip(1, xs, ys, snb1, dnb1, n_head, cosv, sinv, i, half, vl);
        } else {
            rope_strip(0, xs, ys, snb1, dnb1, n_head, cosv, sinv, i, half, vl);
        }
        i += (int)vl;
    }
    /* elements from n_dims on are copied. n_dims read again from the descriptor's copy (in
     * the scratchpad): kept across the loops above, it was spilled to the stack, in DDR */
    const int64_t ne0 = src->ne[0];
    int nd_again = op->params[SAIL_P_ROPE_N_DIMS];
    __asm__ volatile("" : "+r"(nd_again));
    if (nd_again < ne0) {
        for (int64_t h = 0; h < n_head; h++) {
            const float *x = (const float *)(xs + (uint64_t)h * snb1);
            float *y = (float *)(ys + (uint64_t)h * dnb1);
            for (int64_t i = nd_again; i < ne0;) {
                size_t vl = __riscv_vsetvl_e32m4((size_t)(ne0 - i));
                __riscv_vse32_v_f32m4(y + i, __riscv_vle32_v_f32m4(x + i, vl), vl);
                i += (int64_t)vl;
            }
        }
    }
}

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
    /* the types first: tensor_check's switch over the type compiles to a jump table in
     * .rodata, a DDR round trip per lookup */
    if (src->type != SAIL_TYPE_F32 || dst->type != SAIL_TYPE_F32) {
        return SAIL_ERR_TYPE;
    }
    TRY(f32_tensor_check(src));
    TRY(f32_tensor_check(dst));
    if (!tensor_same_shape(src, dst) || src->ne[3] != 1) {
        return SAIL_ERR_SHAPE;
    }
    if (pos) {
        if (pos->type != SAIL_TYPE_I32) {
            return SAIL_ERR_TYPE;
        }
        TRY(f32_tensor_check(pos)); /* I32: 4 bytes too */
        if (pos->ne[0] != src->ne[2]) {
            return SAIL_ERR_SHAPE;
        }
    }
    const int n_dims = op->params[SAIL_P_ROPE_N_DIMS];
    const int mode = op->params[SAIL_P_ROPE_MODE];
    const float freq_base = param_f32(op, SAIL_P_ROPE_FREQ_BASE);
    const float ext_factor = param_f32(op, SAIL_P_ROPE_EXT_FACTOR);
    if (n_dims < 2 || n_dims % 2 != 0 || n_dims > src->ne[0] || n_dims > ROPE_MAX_DIMS ||
        (mode != SAIL_ROPE_MODE_NORMAL && mode != SAIL_ROPE_MODE_NEOX) || ext_factor != 0.0f ||
        !(freq_base > 0.0f)) {
        return SAIL_ERR_PARAM;
    }
    const float theta_scale = (float)kpow_rope((double)freq_base, n_dims);
    for (int64_t i2 = 0; i2 < src->ne[2]; i2++) {
        const int32_t p = pos ? *(const int32_t *)(uintptr_t)(pos->data + (uint64_t)i2 * pos->nb[0])
                              : op->params[SAIL_P_ROPE_N_PAST] + (int32_t)i2;
        rope_token(op, i2, p, theta_scale);
    }
    return SAIL_OK;
}
