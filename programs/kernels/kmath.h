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

/* e^x in double. Range reduction x = n ln2 + r, |r| <= ln2/2, then a degree-13 Taylor
 * polynomial (truncation error below 1e-17 relative). */
static inline double kexp(double x) {
    if (x > 709.0) {
        return dbits(0x7ff0000000000000ull);
    }
    if (x < -745.0) {
        return 0.0;
    }
    const double ln2_hi = 6.93147180369123816490e-01; /* 0x3fe62e42fee00000 */
    const double ln2_lo = 1.90821492927058770002e-10; /* 0x3dea39ef35793c76 */
    double n = kround(x * 1.44269504088896338700e+00);
    double r = __builtin_fma(-n, ln2_hi, x);
    r = __builtin_fma(-n, ln2_lo, r);
    double p = 1.0 / 6227020800.0; /* 1/13! */
    static const double inv_fact[13] = {
        1.0 / 479001600.0, 1.0 / 39916800.0, 1.0 / 3628800.0, 1.0 / 362880.0, 1.0 / 40320.0,
        1.0 / 5040.0,      1.0 / 720.0,      1.0 / 120.0,     1.0 / 24.0,     1.0 / 6.0,
        0.5,               1.0,              1.0,
    };
    for (int i = 0; i < 13; i++) {
        p = __builtin_fma(p, r, inv_fact[i]);
    }
    /* scale by 2^n in two steps so that subnormal results are rounded once */
    int64_t ni = (int64_t)n;
    int64_t n1 = ni / 2;
    int64_t n2 = ni - n1;
    return p * dbits((uint64_t)(n1 + 1023) << 52) * dbits((uint64_t)(n2 + 1023) << 52);
}

/* Natural log of a positive finite double: x = 2^e m with m in [sqrt(1/2), sqrt(2)),
 * log m = 2 atanh(s), s = (m-1)/(m+1), |s| < 0.1716, series to s^25. */
static inline double klog(double x) {
    uint64_t u = bitsd(x);
    int64_t e = (int64_t)((u >> 52) & 0x7ff);
    if (e == 0) { /* subnormal: normalise */
        x *= 18014398509481984.0; /* 2^54 */
        u = bitsd(x);
        e = (int64_t)((u >> 52) & 0x7ff) - 54;
    }
    e -= 1023;
    double m = dbits((u & 0x000fffffffffffffull) | 0x3ff0000000000000ull);
    if (m > 1.41421356237309504880) {
        m *= 0.5;
        e += 1;
    }
    double s = (m - 1.0) / (m + 1.0);
    double s2 = s * s;
    double p = 1.0 / 25.0;
    for (int k = 23; k >= 1; k -= 2) {
        p = __builtin_fma(p, s2, 1.0 / (double)k);
    }
    const double ln2_hi = 6.93147180369123816490e-01;
    const double ln2_lo = 1.90821492927058770002e-10;
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
