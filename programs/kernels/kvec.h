/* Small RVV building blocks shared by several kernels. Every helper works for any
 * VLEN >= 128: vector lengths are either strip-mined or fixed at values that fit the
 * chosen LMUL at VLEN = 128.
 *
 * Floating-point reductions are always the ordered forms (vfredosum, vfwredosum), whose
 * result the RVV spec defines exactly; the unordered forms leave the order to the
 * implementation, which would let the emulator and QEMU legitimately disagree.
 */
#ifndef SAIL_KVEC_H
#define SAIL_KVEC_H

#include <riscv_vector.h>
#include <stddef.h>
#include <stdint.h>

/* f16 bit patterns (zero-extended by the caller's load) -> f32, exactly as fcvt.s.h does it:
 * normal and subnormal values are widened exactly, infinities keep their sign, and every NaN
 * becomes the canonical NaN 0x7fc00000. Integer ops plus one exact multiply by 2^112, so it
 * needs neither Zvfh nor Zvfhmin. One version per result LMUL (the f16 input has half). */
#define F16_TO_F32(L32, L16, B)                                                                    \
    static inline vfloat32##L32##_t f16_to_f32_##L32(vuint16##L16##_t h, size_t vl) {             \
        vuint32##L32##_t w = __riscv_vzext_vf2_u32##L32(h, vl);                                    \
        vuint32##L32##_t sign = __riscv_vsll_vx_u32##L32(__riscv_vand_vx_u32##L32(w, 0x8000u, vl), 16, vl); \
        vuint32##L32##_t em = __riscv_vand_vx_u32##L32(w, 0x7fffu, vl);                           \
        vfloat32##L32##_t mag = __riscv_vreinterpret_v_u32##L32##_f32##L32(__riscv_vsll_vx_u32##L32(em, 13, vl)); \
        mag = __riscv_vfmul_vf_f32##L32(mag, 0x1p112f, vl);                                        \
        vuint32##L32##_t bits = __riscv_vreinterpret_v_f32##L32##_u32##L32(mag);                   \
        vbool##B##_t is_inf = __riscv_vmseq_vx_u32##L32##_b##B(em, 0x7c00u, vl);                   \
        vbool##B##_t is_nan = __riscv_vmsgtu_vx_u32##L32##_b##B(em, 0x7c00u, vl);                  \
        bits = __riscv_vmerge_vxm_u32##L32(bits, 0x7f800000u, is_inf, vl);                         \
        bits = __riscv_vor_vv_u32##L32(bits, sign, vl);                                            \
        bits = __riscv_vmerge_vxm_u32##L32(bits, 0x7fc00000u, is_nan, vl);                         \
        return __riscv_vreinterpret_v_u32##L32##_f32##L32(bits);                                   \
    }

F16_TO_F32(m2, m1, 16)
F16_TO_F32(m4, m2, 8)
F16_TO_F32(m8, m4, 4)

/* f32 -> f16 bit patterns, rounded to nearest even as fcvt.h.s does it: overflow to
 * infinity, subnormal results rounded at 2^-24, every NaN to the canonical NaN 0x7e00.
 * Integer ops, plus one exact multiply by 2^24 and a round-to-nearest-even conversion for
 * the subnormal range; no Zvfh needed. The normal range is one narrowing shift with the
 * fixed-point rounding mode round-to-nearest-even (vnclipu: the 13 dropped bits rounded,
 * a carry out of the significand bumping the exponent, saturating above), the rest in
 * 16 bits. */
static inline vuint16m2_t f32_to_f16_m4(vfloat32m4_t x, size_t vl) {
    /* the 32-bit steps first, then the 16-bit ones (fewer vtype changes) */
    vuint32m4_t bits = __riscv_vreinterpret_v_f32m4_u32m4(x);
    vuint32m4_t a = __riscv_vand_vx_u32m4(bits, 0x7fffffffu, vl);
    vuint32m4_t t = __riscv_vsub_vx_u32m4(a, 0x38000000u, vl);
    /* below 2^-14: |x| * 2^24 (exact) rounded to an integer is the subnormal's significand
     * (1024, the smallest normal, when it rounds up into the normal range) */
    vbool8_t tiny = __riscv_vmsltu_vx_u32m4_b8(a, 0x38800000u, vl);
    vfloat32m4_t sx = __riscv_vfmul_vf_f32m4(__riscv_vreinterpret_v_u32m4_f32m4(a), 0x1p24f, vl);
    vbool8_t nan = __riscv_vmsgtu_vx_u32m4_b8(a, 0x7f800000u, vl);
    /* rebias the exponent and round away the 13 low bits; 0x7c00 and above is infinity
     * (below 2^-14 the difference wraps and saturates: replaced by the subnormal) */
    vuint16m2_t h = __riscv_vnclipu_wx_u16m2(t, 13, __RISCV_VXRM_RNE, vl);
    h = __riscv_vminu_vx_u16m2(h, 0x7c00u, vl);
    h = __riscv_vfncvt_xu_f_w_u16m2_rm_mu(tiny, h, sx, __RISCV_FRM_RNE, vl);
    /* the sign: 0x8000 or'ed in under a mask of the negative inputs (a one-beat compare
     * and a 16-bit or, where the sign taken from the bits cost a narrowing shift and two
     * 16-bit operations) */
    vbool8_t neg = __riscv_vmslt_vx_i32m4_b8(__riscv_vreinterpret_v_u32m4_i32m4(bits), 0, vl);
    h = __riscv_vor_vx_u16m2_mu(neg, h, h, 0x8000u, vl);
    /* every NaN becomes the canonical 0x7e00, sign cleared, as fcvt.h.s writes it */
    return __riscv_vmerge_vxm_u16m2(h, 0x7e00u, nan, vl);
}

/* bf16 bit patterns -> f32 (exact: the bits shifted into the upper half). */
static inline vfloat32m4_t bf16_to_f32_m4(vuint16m2_t h, size_t vl) {
    return __riscv_vreinterpret_v_u32m4_f32m4(__riscv_vsll_vx_u32m4(__riscv_vzext_vf2_u32m4(h, vl), 16, vl));
}

/* Loads vl f16 values from p (element stride `stride` bytes; 2 = contiguous) as f32. */
static inline vfloat32m2_t load_f16_as_f32_m2(const uint16_t *p, ptrdiff_t stride, size_t vl) {
    vuint16m1_t h = stride == 2 ? __riscv_vle16_v_u16m1(p, vl) : __riscv_vlse16_v_u16m1(p, stride, vl);
    return f16_to_f32_m2(h, vl);
}

/* Converts n f16 values at src (contiguous) to f32 at dst. */
static inline void f16_row_to_f32(float *dst, const uint16_t *src, int64_t n) {
    for (int64_t i = 0; i < n;) {
        size_t vl = __riscv_vsetvl_e16m4((size_t)(n - i));
        __riscv_vse32_v_f32m8(dst + i, f16_to_f32_m8(__riscv_vle16_v_u16m4(src + i, vl), vl), vl);
        i += (int64_t)vl;
    }
}

/* Converts n bf16 values at src (contiguous) to f32 at dst (exact). */
static inline void bf16_row_to_f32(float *dst, const uint16_t *src, int64_t n) {
    for (int64_t i = 0; i < n;) {
        size_t vl = __riscv_vsetvl_e16m2((size_t)(n - i));
        __riscv_vse32_v_f32m4(dst + i, bf16_to_f32_m4(__riscv_vle16_v_u16m2(src + i, vl), vl), vl);
        i += (int64_t)vl;
    }
}

/* Ordered f32 sum of x[0..n) starting from 0: ((0 + x0) + x1) + ... in f32. */
static inline float sum_ordered_f32(const float *x, int64_t n) {
    vfloat32m1_t acc = __riscv_vfmv_s_f_f32m1(0.0f, 1);
    for (int64_t i = 0; i < n;) {
        size_t vl = __riscv_vsetvl_e32m4((size_t)(n - i));
        acc = __riscv_vfredosum_vs_f32m4_f32m1(__riscv_vle32_v_f32m4(x + i, vl), acc, vl);
        i += (int64_t)vl;
    }
    return __riscv_vfmv_f_s_f32m1_f32(acc);
}

/* Ordered sum in double of the f32 values x[0..n): GGML's `ggml_float sum += (ggml_float)x[i]`
 * loop, one vfwredosum per strip. */
static inline double sum_ordered_f32_to_f64(const float *x, int64_t n) {
    vfloat64m1_t acc = __riscv_vfmv_s_f_f64m1(0.0, 1);
    for (int64_t i = 0; i < n;) {
        size_t vl = __riscv_vsetvl_e32m4((size_t)(n - i));
        acc = __riscv_vfwredosum_vs_f32m4_f64m1(__riscv_vle32_v_f32m4(x + i, vl), acc, vl);
        i += (int64_t)vl;
    }
    return __riscv_vfmv_f_s_f64m1_f64(acc);
}

/* Largest value of x[0..n) (n >= 1); -inf for an all -inf row. */
static inline float max_f32(const float *x, int64_t n) {
    vfloat32m1_t acc = __riscv_vfmv_s_f_f32m1(-__builtin_inff(), 1);
    for (int64_t i = 0; i < n;) {
        size_t vl = __riscv_vsetvl_e32m4((size_t)(n - i));
        acc = __riscv_vfredmax_vs_f32m4_f32m1(__riscv_vle32_v_f32m4(x + i, vl), acc, vl);
        i += (int64_t)vl;
    }
    return __riscv_vfmv_f_s_f32m1_f32(acc);
}

/* y[i] *= s */
static inline void scale_f32(float *y, int64_t n, float s) {
    for (int64_t i = 0; i < n;) {
        size_t vl = __riscv_vsetvl_e32m4((size_t)(n - i));
        __riscv_vse32_v_f32m4(y + i, __riscv_vfmul_vf_f32m4(__riscv_vle32_v_f32m4(y + i, vl), s, vl), vl);
        i += (int64_t)vl;
    }
}

#endif
