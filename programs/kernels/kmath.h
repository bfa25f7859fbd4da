/* The few transcendental functions the kernels need, written here because a bare-metal
 * program has no libm, and written so that the numeric oracle (testbench/kernels/) can
 * reproduce them operation for operation:
 *
 *  - kexp/klog/ksin/kcos/kpow: double precision, used once per row or per rope frequency
 *    (theta scale, cos/sin tables), accurate to a few double ulps so that rounding the
 *    result to f32 gives the correctly rounded f32 value in all but rare ties.
 *  - vexpf_*: vector f32 exp used by soft_max, silu/swiglu and attention. Its exact op
 *    sequence is mirrored by `kexpf` in testbench/kernels/kref.py.
 *
 * Compiled with -ffp-contract=off: every fused multiply-add below is written as fma.
 */
#ifndef SAIL_KMATH_H
#define SAIL_KMATH_H

#include <riscv_vector.h>
#include <stdint.h>

#include "kcommon.h"

static inline double dbits(uint64_t u) {
    union {
        uint64_t u;
        double d;
    } v = {.u = u};
    return v.d;
}

static inline uint64_t bitsd(double d) {
    union {
        double d;
        uint64_t u;
    } v = {.d = d};
    return v.u;
}

/* Round to nearest integer (ties to even), as a double, for |x| < 2^51. */
static inline double kround(double x) {
    const double shifter = 6755399441055744.0; /* 1.5 * 2^52 */
    return (x + shifter) - shifter;
}

/* Pins a constant in a register where it is written: the compiler would otherwise load
 * each double constant from .rodata (DDR, no data cache) just before its use, so every
 * Horner step would wait a DDR round trip. Written at a function's top, the loads issue
 * back to back and their latencies overlap. */
#define KPIN(v) __asm__ volatile("" : "+f"(v))

/* e^x in double. Range reduction x = n ln2 + r, |r| <= ln2/2, then the degree-13 Taylor
 * polynomial (truncation error below 1e-17 relative), evaluated as E(r^2) + r O(r^2): two
 * Horner chains of 6 steps that overlap, instead of one of 13 (the core waits out each
 * fma's latency). */
static inline double kexp(double x) {
    double hi = 709.0, lo = -745.0, l2e = 1.44269504088896338700e+00;
    double ln2_hi = 6.93147180369123816490e-01; /* 0x3fe62e42fee00000 */
    double ln2_lo = 1.90821492927058770002e-10; /* 0x3dea39ef35793c76 */
    double shifter = 6755399441055744.0;
    double e12 = 1.0 / 479001600.0, e10 = 1.0 / 3628800.0, e8 = 1.0 / 40320.0, e6 = 1.0 / 720.0, e4 = 1.0 / 24.0;
    double o13 = 1.0 / 6227020800.0, o11 = 1.0 / 39916800.0, o9 = 1.0 / 362880.0, o7 = 1.0 / 5040.0,
           o5 = 1.0 / 120.0, o3 = 1.0 / 6.0;
    KPIN(hi);
    KPIN(lo);
    KPIN(l2e);
    KPIN(ln2_hi);
    KPIN(ln2_lo);
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
    if (x > hi) {
        return dbits(0x7ff0000000000000ull);
    }
    if (x < lo) {
        return 0.0;
    }
    double n = (x * l2e + shifter) - shifter; /* kround */
    double r = __builtin_fma(-n, ln2_hi, x);
    r = __builtin_fma(-n, ln2_lo, r);
    const double r2 = r * r;
    /* even: 1, 1/2!, ..., 1/12!; odd: 1, 1/3!, ..., 1/13! */
    double e = __builtin_fma(e12, r2, e10);
    double o = __builtin_fma(o13, r2, o11);
    e = __builtin_fma(e, r2, e8);
    o = __builtin_fma(o, r2, o9);
    e = __builtin_fma(e, r2, e6);
    o = __builtin_fma(o, r2, o7);
    e = __builtin_fma(e, r2, e4);
    o = __builtin_fma(o, r2, o5);
    e = __builtin_fma(e, r2, 0.5);
    o = __builtin_fma(o, r2, o3);
    e = __builtin_fma(e, r2, 1.0);
    o = __builtin_fma(o, r2, 1.0);
    const double p = __builtin_fma(o, r, e);
    /* scale by 2^n in two steps so that subnormal results are rounded once */
    int64_t ni = (int64_t)n;
    int64_t n1 = ni / 2;
    int64_t n2 = ni - n1;
    return p * dbits((uint64_t)(n1 + 1023) << 52) * dbits((uint64_t)(n2 + 1023) << 52);
}

/* Natural log of a positive finite double: x = 2^e m with m in [sqrt(1/2), sqrt(2)),
 * log m = 2 atanh(s), s = (m-1)/(m+1), |s| < 0.1716, series to s^25 in z = s^2, evaluated as
 * A(z^2) + z B(z^2) (two overlapping Horner chains). */
static inline double klog(double x) {
    double sqrt2 = 1.41421356237309504880, two54 = 18014398509481984.0;
    double c25 = 1.0 / 25.0, c23 = 1.0 / 23.0, c21 = 1.0 / 21.0, c19 = 1.0 / 19.0, c17 = 1.0 / 17.0,
           c15 = 1.0 / 15.0, c13 = 1.0 / 13.0, c11 = 1.0 / 11.0, c9 = 1.0 / 9.0, c7 = 1.0 / 7.0, c5 = 1.0 / 5.0,
           c3 = 1.0 / 3.0;
    double ln2_hi = 6.93147180369123816490e-01;
    double ln2_lo = 1.90821492927058770002e-10;
    KPIN(sqrt2);
    KPIN(two54);
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
    uint64_t u = bitsd(x);
    int64_t e = (int64_t)((u >> 52) & 0x7ff);
    if (e == 0) { /* subnormal: normalise */
        x *= two54; /* 2^54 */
        u = bitsd(x);
        e = (int64_t)((u >> 52) & 0x7ff) - 54;
    }
    e -= 1023;
    double m = dbits((u & 0x000fffffffffffffull) | 0x3ff0000000000000ull);
    if (m > sqrt2) {
        m *= 0.5;
        e += 1;
    }
    double s = (m - 1.0) / (m + 1.0);
    const double z = s * s, z2 = z * z;
    /* sum_{j=0}^{12} z^j / (2j+1): A holds the even j, B the odd j */
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
    pa = __builtin_fma(pa, z2, 1.0);
    const double p = __builtin_fma(pb, z, pa);
    double de = (double)e;
    return __builtin_fma(de, ln2_hi, __builtin_fma(2.0 * s, p, de * ln2_lo));
}

/* b^e for b > 0 via exp(e log b). */
static inline double kpow(double b, double e) {
    return kexp(e * klog(b));
}

/* sin and cos of x (|x| < 2^20) in double: x = k pi/2 + r with a three-part pi/2,
 * Taylor polynomials on |r| <= pi/4. */
static inline void ksincos(double x, double *s_out, double *c_out) {
    const double pio2_1 = 1.57079632673412561417e+00;  /* first 33 bits of pi/2 */
    const double pio2_2 = 6.07710050650619224932e-11;  /* next 33 bits */
    const double pio2_3 = 2.02226624879595063154e-21;  /* remainder */
    double k = kround(x * 6.36619772367581382433e-01); /* 2/pi */
    double r = __builtin_fma(-k, pio2_1, x);
    r = __builtin_fma(-k, pio2_2, r);
    r = __builtin_fma(-k, pio2_3, r);
    double r2 = r * r;
    /* sin r = r (1 - r^2/3! + r^4/5! - ...), to r^19; cos r = 1 - r^2/2! + ..., to r^20 */
    double ps = -1.0 / 121645100408832000.0; /* -1/19! */
    double pc = 1.0 / 2432902008176640000.0; /* 1/20! */
    static const double sin_c[9] = {
        1.0 / 355687428096000.0, -1.0 / 1307674368000.0, 1.0 / 6227020800.0,
        -1.0 / 39916800.0,       1.0 / 362880.0,         -1.0 / 5040.0,
        1.0 / 120.0,             -1.0 / 6.0,             1.0,
    };
    static const double cos_c[10] = {
        -1.0 / 6402373705728000.0, 1.0 / 20922789888000.0, -1.0 / 87178291200.0,
        1.0 / 479001600.0,         -1.0 / 3628800.0,       1.0 / 40320.0,
        -1.0 / 720.0,              1.0 / 24.0,             -0.5,
        1.0,
    };
    for (int i = 0; i < 9; i++) {
        ps = __builtin_fma(ps, r2, sin_c[i]);
    }
    for (int i = 0; i < 10; i++) {
        pc = __builtin_fma(pc, r2, cos_c[i]);
    }
    const double sr = ps * r;
    const double cr = pc;
    /* quadrant q = k mod 4: (sin, cos) = (sr, cr), (cr, -sr), (-sr, -cr), (-cr, sr); chosen
     * with masks rather than branches, so the time does not depend on the angle */
    const uint64_t q = (uint64_t)(int64_t)k & 3;
    const uint64_t swap = -(uint64_t)opaque_u32((uint32_t)(q & 1));
    const uint64_t neg_s = ((q >> 1) & 1) << 63;
    const uint64_t neg_c = (((q + 1) >> 1) & 1) << 63;
    const uint64_t sb = bitsd(sr), cb = bitsd(cr);
    *s_out = dbits(((sb & ~swap) | (cb & swap)) ^ neg_s);
    *c_out = dbits(((cb & ~swap) | (sb & swap)) ^ neg_c);
}

/* cos and sin for a rope table on the vector unit: for n f32 angles x_i = freq_scale * theta_i,
 * cos_i * attn_factor and sin_i * attn_factor rounded to f32, where theta_0 = theta0 and
 * theta_{i+1} = theta_i * theta_scale in f32 (GGML's recurrence, written to the theta
 * buffer first). In double, as ksincos: the
 * same reduction x = k pi/2 + r (|r| <= pi/4, a three-part pi/2) and quadrant selection,
 * but fdlibm's minimax polynomials (__kernel_sin/__kernel_cos: sin r = r + r z S(z) with S of
 * degree 5, cos r = 1 - z/2 + z^2 C(z) with C of degree 5, z = r^2, both within 2^-58 of the
 * function) evaluated on the powers of z, so that each coefficient is one vfmacc with a
 * scalar operand (Horner would need a splat per step: RVV has no multiply-add with a scalar
 * addend). The results agree with ksincos's to a few double ulps, so rounded to f32 they are
 * the same correctly rounded values except in ties of probability about 2^-24 per value.
 * Two strips run interleaved (A and B) so that each operation's latency is covered by the
 * other strip's; the quadrant k is read from the low bits of x * 2/pi + 1.5 * 2^52, and the
 * signs are applied with vfsgnjx (only the sign bit of its second operand counts). */
/* both strips' angles first, at SEW 32 (one vtype change, not one per strip); x * 1 = x, so
 * the multiply is skipped when freq_scale is 1 (same bits) */
#define SC_STEP1AB(vla, vlb)                                                                       \
    vfloat32m1_t fA = __riscv_vle32_v_f32m1(theta + i, vla);                                       \
    vfloat32m1_t fB = __riscv_vle32_v_f32m1(theta + ib, vlb);                                      \
    if (fscale) {                                                                                  \
        fA = __riscv_vfmul_vf_f32m1(fA, freq_scale, vla);                                          \
        fB = __riscv_vfmul_vf_f32m1(fB, freq_scale, vlb);                                          \
    }                                                                                              \
    vfloat64m2_t xA = __riscv_vfwcvt_f_f_v_f64m2(fA, vla);                                         \
    vfloat64m2_t xB = __riscv_vfwcvt_f_f_v_f64m2(fB, vlb);
/* the reduction's chain one operation at a time, A then B, so that each waits on its own
 * strip's previous result with the other strip's operation in between */
#define SC_STEP1(S, i, vl) vfloat64m2_t t##S = __riscv_vfmul_vf_f64m2(x##S, SC_2PI, vl);
#define SC_STEP1b(S, vl) t##S = __riscv_vfadd_vf_f64m2(t##S, SC_SH, vl);
#define SC_STEP2a(S, vl) vfloat64m2_t k##S = __riscv_vfsub_vf_f64m2(t##S, SC_SH, vl);
#define SC_STEP2(S, vl)                                                                            \
    vfloat64m2_t r##S = __riscv_vfnmsac_vf_f64m2(x##S, SC_P1, k##S, vl);
#define SC_STEP3(S, vl) r##S = __riscv_vfnmsac_vf_f64m2(r##S, SC_P2, k##S, vl);
#define SC_STEP4(S, vl) r##S = __riscv_vfnmsac_vf_f64m2(r##S, SC_P3, k##S, vl);
#define SC_STEP5(S, vl)                                                                            \
    vfloat64m2_t z##S = __riscv_vfmul_vv_f64m2(r##S, r##S, vl);                                    \
    vfloat64m2_t ps##S, pc##S, zn##S, zm##S;
#define SC_STEP6(S, vl)                                                                            \
    zn##S = __riscv_vfmul_vv_f64m2(z##S, z##S, vl);                                                \
    ps##S = __riscv_vfmul_vf_f64m2(z##S, S1, vl);                                                  \
    pc##S = __riscv_vfmul_vf_f64m2(z##S, SC_MHALF, vl);
#define SC_STEP7(S, vl)                                                                            \
    zm##S = __riscv_vfmul_vv_f64m2(zn##S, z##S, vl);                                               \
    ps##S = __riscv_vfmacc_vf_f64m2(ps##S, S2, zn##S, vl);                                         \
    pc##S = __riscv_vfmacc_vf_f64m2(pc##S, C1, zn##S, vl);
#define SC_STEP8(S, vl)                                                                            \
    zn##S = __riscv_vfmul_vv_f64m2(zn##S, zn##S, vl);                                              \
    ps##S = __riscv_vfmacc_vf_f64m2(ps##S, S3, zm##S, vl);                                         \
    pc##S = __riscv_vfmacc_vf_f64m2(pc##S, C2, zm##S, vl);
#define SC_STEP9(S, vl)                                                                            \
    zm##S = __riscv_vfmul_vv_f64m2(zn##S, z##S, vl);                                               \
    ps##S = __riscv_vfmacc_vf_f64m2(ps##S, S4, zn##S, vl);                                         \
    pc##S = __riscv_vfmacc_vf_f64m2(pc##S, C3, zn##S, vl);
#define SC_STEP10(S, vl)                                                                           \
    zn##S = __riscv_vfmul_vv_f64m2(zm##S, z##S, vl);                                               \
    ps##S = __riscv_vfmacc_vf_f64m2(ps##S, S5, zm##S, vl);                                         \
    pc##S = __riscv_vfmacc_vf_f64m2(pc##S, C4, zm##S, vl);
#define SC_STEP11(S, vl)                                                                           \
    zm##S = __riscv_vfmul_vv_f64m2(zn##S, z##S, vl);                                               \
    ps##S = __riscv_vfmacc_vf_f64m2(ps##S, S6, zn##S, vl);                                         \
    pc##S = __riscv_vfmacc_vf_f64m2(pc##S, C5, zn##S, vl);
#define SC_STEP12(S, vl)                                                                           \
    pc##S = __riscv_vfmacc_vf_f64m2(pc##S, C6, zm##S, vl);                                         \
    ps##S = __riscv_vfmacc_vv_f64m2(r##S, r##S, ps##S, vl);                                        \
    vuint64m2_t kb##S = __riscv_vreinterpret_v_f64m2_u64m2(t##S);
#define SC_STEP13(S, vl) pc##S = __riscv_vfadd_vf_f64m2(pc##S, SC_ONE, vl);
/* the quadrant's swap mask, from t (k's low bit) as soon as it is known: these operations
 * take the cycles the reduction's chain would wait */
#define SC_MASK1(S, vl)                                                                            \
    vuint64m2_t kl##S = __riscv_vand_vx_u64m2(__riscv_vreinterpret_v_f64m2_u64m2(t##S), 1, vl);
#define SC_MASK2(S, vl) vbool32_t sw##S = __riscv_vmsne_vx_u64m2_b32(kl##S, 0, vl);
#define SC_STEP14(S, vl)                                                                           \
    vfloat64m2_t sd##S = __riscv_vmerge_vvm_f64m2(ps##S, pc##S, sw##S, vl);                         \
    vfloat64m2_t cd##S = __riscv_vmerge_vvm_f64m2(pc##S, ps##S, sw##S, vl);
#define SC_STEP15(S, vl)                                                                           \
    sd##S = __riscv_vfsgnjx_vv_f64m2(                                                              \
        sd##S, __riscv_vreinterpret_v_u64m2_f64m2(__riscv_vsll_vx_u64m2(kb##S, 62, vl)), vl);       \
    cd##S = __riscv_vfsgnjx_vv_f64m2(                                                              \
        cd##S,                                                                                     \
        __riscv_vreinterpret_v_u64m2_f64m2(__riscv_vsll_vx_u64m2(__riscv_vadd_vx_u64m2(kb##S, 1, vl), 62, vl)), vl);
#define SC_STEP16(S, i, vl)                                                                        \
    {                                                                                              \
        vfloat32m1_t cf##S = __riscv_vfncvt_f_f_w_f32m1(cd##S, vl);                                \
        vfloat32m1_t sf##S = __riscv_vfncvt_f_f_w_f32m1(sd##S, vl);                                \
        if (scale) {                                                                               \
            cf##S = __riscv_vfmul_vf_f32m1(cf##S, attn_factor, vl);                                \
            sf##S = __riscv_vfmul_vf_f32m1(sf##S, attn_factor, vl);                                \
        }                                                                                          \
        __riscv_vse32_v_f32m1(cos_out + (i), cf##S, vl);                                           \
        __riscv_vse32_v_f32m1(sin_out + (i), sf##S, vl);                                           \
    }

#define SC_ALL(vla, vlb)                                                                           \
    {                                                                                              \
        SC_STEP1AB(vla, vlb)                                                                       \
        SC_STEP1(A, i, vla)                                                                        \
        SC_STEP1(B, ib, vlb)                                                                       \
        SC_STEP1b(A, vla)                                                                          \
        SC_STEP1b(B, vlb)                                                                          \
        SC_STEP2a(A, vla)                                                                          \
        SC_STEP2a(B, vlb)                                                                          \
        SC_STEP2(A, vla)                                                                           \
        SC_MASK1(A, vla)                                                                           \
        SC_STEP2(B, vlb)                                                                           \
        SC_MASK1(B, vlb)                                                                           \
        SC_STEP3(A, vla)                                                                           \
        SC_MASK2(A, vla)                                                                           \
        SC_STEP3(B, vlb)                                                                           \
        SC_MASK2(B, vlb)                                                                           \
        SC_STEP4(A, vla)                                                                           \
        SC_STEP4(B, vlb)                                                                           \
        SC_STEP5(A, vla)                                                                           \
        SC_STEP5(B, vlb)                                                                           \
        SC_STEP6(A, vla)                                                                           \
        SC_STEP6(B, vlb)                                                                          \
        SC_STEP7(A, vla)                                                                           \
        SC_STEP7(B, vlb)                                                                          \
        SC_STEP8(A, vla)                                                                           \
        SC_STEP8(B, vlb)                                                                          \
        SC_STEP9(A, vla)                                                                           \
        SC_STEP9(B, vlb)                                                                          \
        SC_STEP10(A, vla)                                                                          \
        SC_STEP10(B, vlb)                                                                          \
        SC_STEP11(A, vla)                                                                          \
        SC_STEP11(B, vlb)                                                                          \
        SC_STEP12(A, vla)                                                                          \
        SC_STEP12(B, vlb)                                                                          \
        SC_STEP13(A, vla)                                                                          \
        SC_STEP13(B, vlb)                                                                          \
        SC_STEP14(A, vla)                                                                          \
        SC_STEP14(B, vlb)                                                                          \
        SC_STEP15(A, vla)                                                                          \
        SC_STEP15(B, vlb)                                                                          \
        SC_STEP16(A, i, vla)                                                                       \
        SC_STEP16(B, ib, vlb)                                                                      \
    }

static const double VSINCOS_C[19] = {
    6.36619772367581382433e-01, /* 2/pi */
    6755399441055744.0,         /* 1.5 2^52 */
    1.57079632673412561417e+00, /* pi/2: first 33 bits */
    6.07710050650619224932e-11, /* next 33 bits */
    2.02226624879595063154e-21, /* remainder */
    1.0,
    -0.5,
    -1.66666666666666324348e-01, 8.33333333332248946124e-03, -1.98412698298579493134e-04, /* S1..S6 */
    2.75573137070700676789e-06, -2.50507602534068634195e-08, 1.58969099521155010221e-10,
    4.16666666666666019037e-02, -1.38888888888741095749e-03, 2.48015872894767294178e-05, /* C1..C6 */
    -2.75573143513906633035e-07, 2.08757232129817482790e-09, -1.13596475577881948265e-11,
};

static inline __attribute__((always_inline)) void vsincos_f32_loop(float *theta, float th, float ts,
                                                                   float freq_scale, float attn_factor,
                                                                   float *cos_out, float *sin_out, int n,
                                                                   const int scale, const int fscale) {
    /* the constants from one table at one base address (each double literal is an auipc and
     * a load of its own from .rodata), loaded before the recurrence below covers their DDR
     * round trip */
    const double *K = VSINCOS_C;
    __asm__ volatile("" : "+r"(K));
    double SC_2PI = K[0], SC_SH = K[1], SC_P1 = K[2], SC_P2 = K[3], SC_P3 = K[4], SC_ONE = K[5], SC_MHALF = K[6];
    double S1 = K[7], S2 = K[8], S3 = K[9], S4 = K[10], S5 = K[11], S6 = K[12];
    double C1 = K[13], C2 = K[14], C3 = K[15], C4 = K[16], C5 = K[17], C6 = K[18];
    KPIN(SC_2PI);
    KPIN(SC_SH);
    KPIN(SC_P1);
    KPIN(SC_P2);
    KPIN(SC_P3);
    KPIN(SC_ONE);
    KPIN(SC_MHALF);
    KPIN(S1);
    KPIN(S2);
    KPIN(S3);
    KPIN(S4);
    KPIN(S5);
    KPIN(S6);
    KPIN(C1);
    KPIN(C2);
    KPIN(C3);
    KPIN(C4);
    KPIN(C5);
    KPIN(C6);
    const size_t vmax = __riscv_vsetvlmax_e64m2();
    /* GGML's theta recurrence (one f32 rounding per step) into the buffer: each multiply
     * issues before the previous value's store, which takes one of its latency's cycles.
     * (Spread over the vector loop below, its steps cost more than they save: a vector
     * operation holds the issue for its beats, so only that loop's stall cycles are free,
     * and each inline asm made the compiler repeat a vsetvli.) */
#pragma clang loop unroll_count(16)
    for (int j = 0; j < n; j++) {
        float nx = th * ts;
        __asm__ volatile("" : "+f"(nx));
        theta[j] = th;
        th = nx;
    }
    for (int i = 0; i < n;) {
        /* strip A of vla angles, strip B of the next vlb; both full (one vl, no vsetvli
         * between them) but at the end */
        const int full = (size_t)(n - i) >= 2 * vmax;
        const size_t vla = full ? vmax : __riscv_vsetvl_e64m2((size_t)(n - i));
        const size_t vlb = full ? vmax : (size_t)(n - i) > vla ? __riscv_vsetvl_e64m2((size_t)(n - i) - vla) : 0;
        const int ib = i + (int)vla;
        if (__builtin_expect(full, 1)) {
            SC_ALL(vmax, vmax)
        } else {
            SC_ALL(vla, vlb)
        }
        i = ib + (int)vlb;
    }
}

/* x * 1 = x: the multiplies by a factor of 1 are skipped (same bits), each case a loop of its
 * own so that the loop does not branch on them */
static inline void vsincos_f32_table(float *theta, float theta0, float theta_scale, float freq_scale,
                                     float attn_factor, float *cos_out, float *sin_out, int n) {
    /* x == 1.0f exactly when its bits are 1.0f's (an integer compare: feq's result comes 4
     * cycles late) */
    const int af1 = f32_bits(attn_factor) == 0x3f800000u, fs1 = f32_bits(freq_scale) == 0x3f800000u;
    if (af1 && fs1) {
        vsincos_f32_loop(theta, theta0, theta_scale, freq_scale, attn_factor, cos_out, sin_out, n, 0, 0);
    } else if (af1) {
        vsincos_f32_loop(theta, theta0, theta_scale, freq_scale, attn_factor, cos_out, sin_out, n, 0, 1);
    } else if (fs1) {
        vsincos_f32_loop(theta, theta0, theta_scale, freq_scale, attn_factor, cos_out, sin_out, n, 1, 0);
    } else {
        vsincos_f32_loop(theta, theta0, theta_scale, freq_scale, attn_factor, cos_out, sin_out, n, 1, 1);
    }
}

/* ---- vector f32 exp -------------------------------------------------------------------- */

/* e^x for each lane, f32, within about 2 ulp. Lanes below -104 give +0 (the true result is
 * below half the smallest subnormal); lanes above 88.73 overflow to +inf; -inf gives +0.
 * Steps (mirrored by kref.kexpf):
 *   x  = clamp(x, -104, 89)
 *   n  = round_to_nearest_even(x * log2(e))       (vfcvt.x.f with RNE)
 *   r  = fma(-n, ln2_hi, x); r = fma(-n, ln2_lo, r)
 *   p  = Horner degree 7 Taylor polynomial of e^r with fma, from 1/5040 down to 1
 *   y  = p * 2^(n>>1) * 2^(n - (n>>1))            (two exact scalings, so subnormals round once)
 */
#define KEXPF_BODY(LMUL)                                                                       \
    static inline vfloat32##LMUL##_t vexpf_##LMUL(vfloat32##LMUL##_t x, size_t vl) {              \
        x = __riscv_vfmax_vf_f32##LMUL(x, -104.0f, vl);                                            \
        x = __riscv_vfmin_vf_f32##LMUL(x, 89.0f, vl);                                              \
        vfloat32##LMUL##_t t = __riscv_vfmul_vf_f32##LMUL(x, 1.44269502163f, vl);                  \
        vint32##LMUL##_t n = __riscv_vfcvt_x_f_v_i32##LMUL##_rm(t, __RISCV_FRM_RNE, vl);           \
        vfloat32##LMUL##_t nf = __riscv_vfcvt_f_x_v_f32##LMUL(n, vl);                              \
        vfloat32##LMUL##_t r = __riscv_vfnmsac_vf_f32##LMUL(x, 0.693145751953125f, nf, vl);        \
        r = __riscv_vfnmsac_vf_f32##LMUL(r, 1.4286068203094172e-06f, nf, vl);                    \
        vfloat32##LMUL##_t p = __riscv_vfmv_v_f_f32##LMUL(1.0f / 5040.0f, vl);                     \
        p = __riscv_vfmadd_vv_f32##LMUL(p, r, __riscv_vfmv_v_f_f32##LMUL(1.0f / 720.0f, vl), vl);  \
        p = __riscv_vfmadd_vv_f32##LMUL(p, r, __riscv_vfmv_v_f_f32##LMUL(1.0f / 120.0f, vl), vl);  \
        p = __riscv_vfmadd_vv_f32##LMUL(p, r, __riscv_vfmv_v_f_f32##LMUL(1.0f / 24.0f, vl), vl);   \
        p = __riscv_vfmadd_vv_f32##LMUL(p, r, __riscv_vfmv_v_f_f32##LMUL(1.0f / 6.0f, vl), vl);    \
        p = __riscv_vfmadd_vv_f32##LMUL(p, r, __riscv_vfmv_v_f_f32##LMUL(0.5f, vl), vl);           \
        p = __riscv_vfmadd_vv_f32##LMUL(p, r, __riscv_vfmv_v_f_f32##LMUL(1.0f, vl), vl);           \
        p = __riscv_vfmadd_vv_f32##LMUL(p, r, __riscv_vfmv_v_f_f32##LMUL(1.0f, vl), vl);           \
        vint32##LMUL##_t n1 = __riscv_vsra_vx_i32##LMUL(n, 1, vl);                                 \
        vint32##LMUL##_t n2 = __riscv_vsub_vv_i32##LMUL(n, n1, vl);                                \
        vint32##LMUL##_t e1 = __riscv_vsll_vx_i32##LMUL(__riscv_vadd_vx_i32##LMUL(n1, 127, vl), 23, vl); \
        vint32##LMUL##_t e2 = __riscv_vsll_vx_i32##LMUL(__riscv_vadd_vx_i32##LMUL(n2, 127, vl), 23, vl); \
        p = __riscv_vfmul_vv_f32##LMUL(p, __riscv_vreinterpret_v_i32##LMUL##_f32##LMUL(e1), vl);   \
        p = __riscv_vfmul_vv_f32##LMUL(p, __riscv_vreinterpret_v_i32##LMUL##_f32##LMUL(e2), vl);   \
        return p;                                                                                  \
    }

KEXPF_BODY(m1)
KEXPF_BODY(m2)
KEXPF_BODY(m4)
KEXPF_BODY(m8)

#endif
