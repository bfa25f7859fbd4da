/* Activation quantizers and dot products with RVV intrinsics.
 *
 * The dot products keep the structure and the floating-point accumulation order of GGML's
 * RVV kernels (ggml/src/ggml-cpu/arch/riscv/quants.c, VLEN-256 variants), with two
 * deliberate differences, both documented in doc/kernels.md:
 *  - every integer partial sum is reduced into 32 bits (vwredsum), so it is the exact
 *    integer sum (GGML's Q4_K VLEN-256 path reduces 32 products into 16 bits, which can
 *    wrap for extreme inputs);
 *  - one code path serves every VLEN >= 128 (GGML switches between hand-written VLEN-128
 *    assembly and VLEN-256 intrinsics; their float steps are the same per block).
 * The float steps per block are written out as fmaf, which is what clang's default
 * contraction makes of GGML's `sumf += a*b` (fmadd.s / fnmsub.s); this file is compiled
 * with -ffp-contract=off so nothing else is fused.
 */
#include "quants.h"

#include <riscv_vector.h>

#include "kvec.h"

/* ---- quantizers ------------------------------------------------------------------------ */

void quantize_row_q8_0(const float *x, block_q8_0 *y, int64_t k) {
    const int64_t nb = k / QK8_0;
    const size_t vl = QK8_0; /* e32m8 holds 32 lanes at VLEN = 128 */
    for (int64_t i = 0; i < nb; i++) {
        const float *xb = x + i * QK8_0;
        vfloat32m8_t vx = __riscv_vle32_v_f32m8(xb, vl);
        vfloat32m1_t zero = __riscv_vfmv_s_f_f32m1(0.0f, 1);
        float amax = __riscv_vfmv_f_s_f32m1_f32(__riscv_vfredmax_vs_f32m8_f32m1(__riscv_vfabs_v_f32m8(vx, vl), zero, vl));
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = f32_to_fp16(d);
        vfloat32m8_t v = __riscv_vfmul_vf_f32m8(vx, id, vl);
        /* roundf: truncate, then step away from zero when the dropped part is >= 0.5 */
        vint32m8_t t = __riscv_vfcvt_rtz_x_f_v_i32m8(v, vl);
        vfloat32m8_t frac = __riscv_vfsub_vv_f32m8(v, __riscv_vfcvt_f_x_v_f32m8(t, vl), vl);
        vbool4_t up = __riscv_vmfge_vf_f32m8_b4(frac, 0.5f, vl);
        vbool4_t down = __riscv_vmfle_vf_f32m8_b4(frac, -0.5f, vl);
        t = __riscv_vadd_vx_i32m8_mu(up, t, t, 1, vl);
        t = __riscv_vsub_vx_i32m8_mu(down, t, t, 1, vl);
        vint16m4_t t16 = __riscv_vncvt_x_x_w_i16m4(t, vl);
        __riscv_vse8_v_i8m2(y[i].qs, __riscv_vncvt_x_x_w_i8m2(t16, vl), vl);
    }
}

void quantize_row_q8_K(const float *x, block_q8_K *y, int64_t k) {
    const int64_t nb = k / QK_K;
    for (int64_t i = 0; i < nb; i++) {
        const float *xb = x + i * QK_K;
        block_q8_K *yb = &y[i];

        /* largest magnitude */
        vfloat32m1_t acc = __riscv_vfmv_s_f_f32m1(0.0f, 1);
        for (size_t off = 0; off < QK_K;) {
            size_t vl = __riscv_vsetvl_e32m8(QK_K - off);
            acc = __riscv_vfredmax_vs_f32m8_f32m1(__riscv_vfabs_v_f32m8(__riscv_vle32_v_f32m8(xb + off, vl), vl), acc, vl);
            off += vl;
        }
        const float amax = __riscv_vfmv_f_s_f32m1_f32(acc);
        if (amax == 0.0f) {
            yb->d = 0.0f;
            for (size_t off = 0; off < QK_K;) {
                size_t vl = __riscv_vsetvl_e8m8(QK_K - off);
                __riscv_vse8_v_i8m8(yb->qs + off, __riscv_vmv_v_x_i8m8(0, vl), vl);
                off += vl;
            }
            for (int g = 0; g < QK_K / 16; g++) {
                yb->bsums[g] = 0;
            }
            continue;
        }

        /* the first element whose magnitude is amax, with its sign (GGML scans with `>`) */
        float max = 0.0f;
        for (size_t off = 0; off < QK_K;) {
            size_t vl = __riscv_vsetvl_e32m8(QK_K - off);
            vfloat32m8_t ax = __riscv_vfabs_v_f32m8(__riscv_vle32_v_f32m8(xb + off, vl), vl);
            long first = __riscv_vfirst_m_b4(__riscv_vmfeq_vf_f32m8_b4(ax, amax, vl), vl);
            if (first >= 0) {
                max = xb[off + (size_t)first];
                break;
            }
            off += vl;
        }

        const float iscale = -127.0f / max;
        for (size_t off = 0; off < QK_K;) {
            size_t vl = __riscv_vsetvl_e32m8(QK_K - off);
            vfloat32m8_t v = __riscv_vfmul_vf_f32m8(__riscv_vle32_v_f32m8(xb + off, vl), iscale, vl);
            vint32m8_t q32 = __riscv_vfcvt_x_f_v_i32m8_rm(v, __RISCV_FRM_RNE, vl);
            vint16m4_t q16 = __riscv_vnclip_wx_i16m4(q32, 0, __RISCV_VXRM_RNE, vl);
            vint8m2_t q8 = __riscv_vnclip_wx_i8m2(q16, 0, __RISCV_VXRM_RNE, vl);
            __riscv_vse8_v_i8m2(yb->qs + off, q8, vl);
            off += vl;
        }
        for (int g = 0; g < QK_K / 16; g++) {
            vint16m1_t z = __riscv_vmv_s_x_i16m1(0, 1);
            vint16m1_t s = __riscv_vwredsum_vs_i8m1_i16m1(__riscv_vle8_v_i8m1(yb->qs + 16 * g, 16), z, 16);
            yb->bsums[g] = (int16_t)__riscv_vmv_x_s_i16m1_i16(s);
        }
        yb->d = 1.0f / iscale;
    }
}

/* ---- dot products ---------------------------------------------------------------------- */

float vec_dot_q4_0_q8_0(int64_t n, const block_q4_0 *x, const block_q8_0 *y) {
    const int64_t nb = n / QK8_0;
    const size_t vl = QK4_0 / 2;
    float sumf = 0.0f;
    for (int64_t ib = 0; ib < nb; ib++) {
        vuint8m1_t tx = __riscv_vle8_v_u8m1(x[ib].qs, vl);
        vint8m1_t y0 = __riscv_vle8_v_i8m1(y[ib].qs, vl);
        vint8m1_t y1 = __riscv_vle8_v_i8m1(y[ib].qs + 16, vl);
        vint8m1_t lo = __riscv_vsub_vx_i8m1(__riscv_vreinterpret_v_u8m1_i8m1(__riscv_vand_vx_u8m1(tx, 0x0F, vl)), 8, vl);
        vint8m1_t hi = __riscv_vsub_vx_i8m1(__riscv_vreinterpret_v_u8m1_i8m1(__riscv_vsrl_vx_u8m1(tx, 4, vl)), 8, vl);
        vint16m2_t p = __riscv_vwmul_vv_i16m2(lo, y0, vl);
        p = __riscv_vwmacc_vv_i16m2(p, hi, y1, vl);
        vint32m1_t s = __riscv_vwredsum_vs_i16m2_i32m1(p, __riscv_vmv_s_x_i32m1(0, 1), vl);
        const int sumi = __riscv_vmv_x_s_i32m1_i32(s);
        /* GGML: sumf += sumi*d_x*d_y  ->  fmadd.s(sumi*d_x, d_y, sumf) */
        sumf = __builtin_fmaf((float)sumi * fp16_to_f32(x[ib].d), fp16_to_f32(y[ib].d), sumf);
    }
    return sumf;
}

float vec_dot_q8_0_q8_0(int64_t n, const block_q8_0 *x, const block_q8_0 *y) {
    const int64_t nb = n / QK8_0;
    const size_t vl = QK8_0;
    float sumf = 0.0f;
    for (int64_t ib = 0; ib < nb; ib++) {
        vint8m2_t bx = __riscv_vle8_v_i8m2(x[ib].qs, vl);
        vint8m2_t by = __riscv_vle8_v_i8m2(y[ib].qs, vl);
        vint16m4_t p = __riscv_vwmul_vv_i16m4(bx, by, vl);
        vint32m1_t s = __riscv_vwredsum_vs_i16m4_i32m1(p, __riscv_vmv_s_x_i32m1(0, 1), vl);
        const int sumi = __riscv_vmv_x_s_i32m1_i32(s);
        /* GGML: sumf += sumi*(d_x*d_y) */
        sumf = __builtin_fmaf((float)sumi, fp16_to_f32(x[ib].d) * fp16_to_f32(y[ib].d), sumf);
    }
    return sumf;
}

float vec_dot_q4_K_q8_K(int64_t n, const block_q4_K *x, const block_q8_K *y) {
    const int64_t nb = n / QK_K;
    float sumf = 0.0f;
    for (int64_t i = 0; i < nb; i++) {
        const float d = y[i].d * fp16_to_f32(x[i].d);
        const float dmin = y[i].d * fp16_to_f32(x[i].dmin);

        uint8_t sc[8], mn[8];
        for (int j = 0; j < 8; j++) {
            q4_K_scale_min(j, x[i].scales, &sc[j], &mn[j]);
        }

        /* mins: sum over sub-blocks of min[j] * (bsums[2j] + bsums[2j+1]) */
        size_t vl = 8;
        vint16m1_t s0 = __riscv_vlse16_v_i16m1(y[i].bsums, 4, vl);
        vint16m1_t s1 = __riscv_vlse16_v_i16m1(y[i].bsums + 1, 4, vl);
        vint16m1_t q8sums = __riscv_vadd_vv_i16m1(s0, s1, vl);
        vint16m1_t mins = __riscv_vreinterpret_v_u16m1_i16m1(__riscv_vzext_vf2_u16m1(__riscv_vle8_v_u8mf2(mn, vl), vl));
        vint32m2_t prod = __riscv_vwmul_vv_i32m2(q8sums, mins, vl);
        vint32m1_t summ = __riscv_vredsum_vs_i32m2_i32m1(prod, __riscv_vmv_s_x_i32m1(0, 1), vl);
        /* GGML: sumf -= dmin * summins  ->  fnmsub.s */
        sumf = __builtin_fmaf(-dmin, (float)__riscv_vmv_x_s_i32m1_i32(summ), sumf);

        const uint8_t *q4 = x[i].qs;
        const int8_t *q8 = y[i].qs;
        int32_t sum_1 = 0, sum_2 = 0;
        vl = 32;
        for (int j = 0; j < QK_K / 64; j++) {
            vuint8m2_t q4x = __riscv_vle8_v_u8m2(q4, vl);
            vint8m2_t lo = __riscv_vreinterpret_v_u8m2_i8m2(__riscv_vand_vx_u8m2(q4x, 0x0F, vl));
            vint8m2_t hi = __riscv_vreinterpret_v_u8m2_i8m2(__riscv_vsrl_vx_u8m2(q4x, 4, vl));
            vint16m4_t p0 = __riscv_vwmul_vv_i16m4(lo, __riscv_vle8_v_i8m2(q8, vl), vl);
            vint16m4_t p1 = __riscv_vwmul_vv_i16m4(hi, __riscv_vle8_v_i8m2(q8 + 32, vl), vl);
            vint32m1_t r0 = __riscv_vwredsum_vs_i16m4_i32m1(p0, __riscv_vmv_s_x_i32m1(0, 1), vl);
            vint32m1_t r1 = __riscv_vwredsum_vs_i16m4_i32m1(p1, __riscv_vmv_s_x_i32m1(0, 1), vl);
            sum_1 += __riscv_vmv_x_s_i32m1_i32(r0) * sc[2 * j + 0];
            sum_2 += __riscv_vmv_x_s_i32m1_i32(r1) * sc[2 * j + 1];
            q4 += 32;
            q8 += 64;
        }
        /* GGML: sumf += d*(sum_1 + sum_2)  ->  fmadd.s */
        sumf = __builtin_fmaf(d, (float)(sum_1 + sum_2), sumf);
    }
    return sumf;
}

/* One group of 32 Q6_K values (0..63, offset 32 still to subtract) against 32 Q8_K values:
 * sc[0] * (sum of the first 16 products) + sc[1] * (sum of the last 16). */
static inline int32_t q6_K_group(vuint8m2_t q, const int8_t *q8, const int8_t *sc) {
    const size_t vl = 32;
    vint8m2_t a = __riscv_vsub_vx_i8m2(__riscv_vreinterpret_v_u8m2_i8m2(q), 32, vl);
    vint16m4_t p = __riscv_vwmul_vv_i16m4(a, __riscv_vle8_v_i8m2(q8, vl), vl);
    vint32m1_t r0 = __riscv_vwredsum_vs_i16m4_i32m1(p, __riscv_vmv_s_x_i32m1(0, 1), 16);
    vint16m4_t p_hi = __riscv_vslidedown_vx_i16m4(p, 16, vl);
    vint32m1_t r1 = __riscv_vwredsum_vs_i16m4_i32m1(p_hi, __riscv_vmv_s_x_i32m1(0, 1), 16);
    return __riscv_vmv_x_s_i32m1_i32(r0) * sc[0] + __riscv_vmv_x_s_i32m1_i32(r1) * sc[1];
}

float vec_dot_q6_K_q8_K(int64_t n, const block_q6_K *x, const block_q8_K *y) {
    const int64_t nb = n / QK_K;
    float sumf = 0.0f;
    for (int64_t i = 0; i < nb; i++) {
        const float d = fp16_to_f32(x[i].d) * y[i].d;
        const uint8_t *ql = x[i].ql;
        const uint8_t *qh = x[i].qh;
        const int8_t *q8 = y[i].qs;
        const int8_t *sc = x[i].scales;
        int32_t sum_t = 0;
        for (int half = 0; half < QK_K / 128; half++) {
            const size_t vl = 32;
            vuint8m2_t h = __riscv_vle8_v_u8m2(qh, vl);
            vuint8m2_t l0 = __riscv_vle8_v_u8m2(ql, vl);
            vuint8m2_t l1 = __riscv_vle8_v_u8m2(ql + 32, vl);
            vuint8m2_t q0 = __riscv_vor_vv_u8m2(__riscv_vand_vx_u8m2(l0, 0x0F, vl),
                                                __riscv_vsll_vx_u8m2(__riscv_vand_vx_u8m2(h, 0x03, vl), 4, vl), vl);
            vuint8m2_t q1 = __riscv_vor_vv_u8m2(__riscv_vand_vx_u8m2(l1, 0x0F, vl),
                                                __riscv_vsll_vx_u8m2(__riscv_vand_vx_u8m2(__riscv_vsrl_vx_u8m2(h, 2, vl), 0x03, vl), 4, vl), vl);
            vuint8m2_t q2 = __riscv_vor_vv_u8m2(__riscv_vsrl_vx_u8m2(l0, 4, vl),
                                                __riscv_vsll_vx_u8m2(__riscv_vand_vx_u8m2(__riscv_vsrl_vx_u8m2(h, 4, vl), 0x03, vl), 4, vl), vl);
            vuint8m2_t q3 = __riscv_vor_vv_u8m2(__riscv_vsrl_vx_u8m2(l1, 4, vl),
                                                __riscv_vsll_vx_u8m2(__riscv_vsrl_vx_u8m2(h, 6, vl), 4, vl), vl);
            sum_t += q6_K_group(q0, q8 + 0, sc + 0) + q6_K_group(q1, q8 + 32, sc + 2) +
                     q6_K_group(q2, q8 + 64, sc + 4) + q6_K_group(q3, q8 + 96, sc + 6);
            ql += 64;
            qh += 32;
            q8 += 128;
            sc += 8;
        }
        /* GGML: sumf += d * sum_t  ->  fmadd.s */
        sumf = __builtin_fmaf(d, (float)sum_t, sumf);
    }
    return sumf;
}

/* F16 x F16: both widened exactly to f32; the product of two f16 values is exact in f32,
 * so each lane's fused multiply-add rounds once per step. Lane partial sums (tail lanes
 * undisturbed) are then added in lane order. */
float vec_dot_f16(int64_t n, const uint16_t *x, const uint16_t *y) {
    const size_t vlmax = __riscv_vsetvlmax_e32m2();
    vfloat32m2_t acc = __riscv_vfmv_v_f_f32m2(0.0f, vlmax);
    for (int64_t i = 0; i < n;) {
        size_t vl = __riscv_vsetvl_e16m1((size_t)(n - i));
        vfloat32m2_t a = load_f16_as_f32_m2(x + i, 2, vl);
        vfloat32m2_t b = load_f16_as_f32_m2(y + i, 2, vl);
        acc = __riscv_vfmacc_vv_f32m2_tu(acc, a, b, vl);
        i += (int64_t)vl;
    }
    vfloat32m1_t s = __riscv_vfredosum_vs_f32m2_f32m1(acc, __riscv_vfmv_s_f_f32m1(0.0f, 1), vlmax);
    return __riscv_vfmv_f_s_f32m1_f32(s);
}

float vec_dot_f32(int64_t n, const float *x, const float *y) {
    const size_t vlmax = __riscv_vsetvlmax_e32m4();
    vfloat32m4_t acc = __riscv_vfmv_v_f_f32m4(0.0f, vlmax);
    for (int64_t i = 0; i < n;) {
        size_t vl = __riscv_vsetvl_e32m4((size_t)(n - i));
        acc = __riscv_vfmacc_vv_f32m4_tu(acc, __riscv_vle32_v_f32m4(x + i, vl), __riscv_vle32_v_f32m4(y + i, vl), vl);
        i += (int64_t)vl;
    }
    vfloat32m1_t s = __riscv_vfredosum_vs_f32m4_f32m1(acc, __riscv_vfmv_s_f_f32m1(0.0f, 1), vlmax);
    return __riscv_vfmv_f_s_f32m1_f32(s);
}

/* BF16 x BF16: widened exactly (bits << 16); products of two bf16 values are exact in f32,
 * then the same lane accumulation as vec_dot_f16. */
float vec_dot_bf16(int64_t n, const uint16_t *x, const uint16_t *y) {
    const size_t vlmax = __riscv_vsetvlmax_e32m2();
    vfloat32m2_t acc = __riscv_vfmv_v_f_f32m2(0.0f, vlmax);
    for (int64_t i = 0; i < n;) {
        size_t vl = __riscv_vsetvl_e16m1((size_t)(n - i));
        vuint32m2_t a = __riscv_vsll_vx_u32m2(__riscv_vzext_vf2_u32m2(__riscv_vle16_v_u16m1(x + i, vl), vl), 16, vl);
        vuint32m2_t b = __riscv_vsll_vx_u32m2(__riscv_vzext_vf2_u32m2(__riscv_vle16_v_u16m1(y + i, vl), vl), 16, vl);
        acc = __riscv_vfmacc_vv_f32m2_tu(acc, __riscv_vreinterpret_v_u32m2_f32m2(a), __riscv_vreinterpret_v_u32m2_f32m2(b), vl);
        i += (int64_t)vl;
    }
    vfloat32m1_t s = __riscv_vfredosum_vs_f32m2_f32m1(acc, __riscv_vfmv_s_f_f32m1(0.0f, 1), vlmax);
    return __riscv_vfmv_f_s_f32m1_f32(s);
}
