/* Activation quantizers and dot products with RVV intrinsics.
 *
 * The dot products keep the floating-point accumulation order of GGML's RVV kernels
 * (ggml/src/ggml-cpu/arch/riscv/quants.c, VLEN-256 variants), with deliberate differences
 * documented in doc/kernels.md:
 *  - the integer work of a K-quant block is exact 32-bit arithmetic. Q4_K scales its
 *    sub-block products into 32-bit lane accumulators (vwmacc) and reduces once per block;
 *    Q6_K reduces each 16-element sub-block into 32 bits (GGML's Q4_K VLEN-256 path reduces
 *    32 products into 16 bits, which can wrap). The integer results are the exact sums in
 *    every formulation, so the float steps see the same values; the choices only save
 *    loads, reductions and vector beats on this core;
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
        /* id = d ? 1/d : 0, without a branch (the time must not depend on the data) */
        const float id = bits_f32(f32_bits(1.0f / d) & opaque_u32(-(uint32_t)(d != 0.0f)));
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
    float *const stage = (float *)(uintptr_t)Q8K_STAGE;
    /* the comparison masks of pass 2, one bit per element, just below the staged block */
    uint8_t *const mbits = (uint8_t *)(uintptr_t)Q8K_MASKS;
    /* strips of 32 elements at every VLEN (e32m8 holds 32 at VLEN = 128) */
    const size_t vs = __riscv_vsetvl_e32m8(32);
    const size_t v4 = __riscv_vsetvl_e32m4(16);
    const vint16m1_t zero16 = __riscv_vmv_v_x_i16m1(0, 1);
    for (int64_t i = 0; i < nb; i++) {
        /* Pass 1: stage the block in the scratchpad (it is read twice more, and the core has
         * no data cache), four loads in flight before their stores, and keep the element-wise
         * largest and smallest values on the way (one reduction each per block, and no
         * operation waits on another's result within a strip) */
        const float *src = x + i * QK_K;
        float *st = stage;
        vfloat32m4_t hi = __riscv_vfmv_v_f_f32m4(0.0f, v4);
        vfloat32m4_t lo = hi;
        /* unrolled by two: one loop branch per 128 values (session 15) */
#pragma clang loop unroll_count(2)
        for (int s = 0; s < QK_K / 64; s++) {
            vfloat32m4_t a = __riscv_vle32_v_f32m4(src, v4);
            vfloat32m4_t b = __riscv_vle32_v_f32m4(src + 16, v4);
            vfloat32m4_t c = __riscv_vle32_v_f32m4(src + 32, v4);
            vfloat32m4_t d = __riscv_vle32_v_f32m4(src + 48, v4);
            __riscv_vse32_v_f32m4(st, a, v4);
            hi = __riscv_vfmax_vv_f32m4(hi, a, v4);
            lo = __riscv_vfmin_vv_f32m4(lo, a, v4);
            __riscv_vse32_v_f32m4(st + 16, b, v4);
            hi = __riscv_vfmax_vv_f32m4(hi, b, v4);
            lo = __riscv_vfmin_vv_f32m4(lo, b, v4);
            __riscv_vse32_v_f32m4(st + 32, c, v4);
            hi = __riscv_vfmax_vv_f32m4(hi, c, v4);
            lo = __riscv_vfmin_vv_f32m4(lo, c, v4);
            __riscv_vse32_v_f32m4(st + 48, d, v4);
            hi = __riscv_vfmax_vv_f32m4(hi, d, v4);
            lo = __riscv_vfmin_vv_f32m4(lo, d, v4);
            src += 64;
            st += 64;
        }
        const vfloat32m1_t z = __riscv_vfmv_s_f_f32m1(0.0f, 1);
        const float vmax = __riscv_vfmv_f_s_f32m1_f32(__riscv_vfredmax_vs_f32m4_f32m1(hi, z, v4));
        const float vmin = __riscv_vfmv_f_s_f32m1_f32(__riscv_vfredmin_vs_f32m4_f32m1(lo, z, v4));
        /* the largest magnitude (both start at 0; with finite data no NaN enters) */
        const float amax = bits_f32(f32_bits(vmax) ^ ((f32_bits(vmax) ^ f32_bits(-vmin)) &
                                                      opaque_u32(-(uint32_t)(-vmin > vmax))));
        block_q8_K *yb = &y[i];
        /* an all-zero block (amax == 0) takes the same path: iscale and d are forced to 0,
         * which gives q = 0 and bsums = 0 (no branch: the time must not depend on the data) */
        const uint32_t nonzero = opaque_u32(-(uint32_t)(amax != 0.0f));

        /* Pass 2: the first element whose magnitude is amax, with its sign (GGML scans with
         * `>`). The magnitudes are compared as bits (integer operations, one cycle of
         * latency; for amax > 0 that is the float comparison, and amax == 0 is masked
         * below); each strip's mask goes to the scratchpad, and vfirst then searches the
         * whole block's bits (128 or more at a time), so the time does not depend on the
         * data and no scalar work is done per strip. */
        const uint32_t abits = f32_bits(amax);
        const uint32_t *xw = (const uint32_t *)stage;
        uint8_t *mb = mbits;
#pragma clang loop unroll(disable)
        for (int s = 0; s < QK_K / 64; s++) {
            /* two strips at a time: each operation issues while the other strip's is busy */
            vuint32m8_t a = __riscv_vle32_v_u32m8(xw, vs);
            vuint32m8_t b = __riscv_vle32_v_u32m8(xw + 32, vs);
            a = __riscv_vand_vx_u32m8(a, 0x7FFFFFFFu, vs);
            b = __riscv_vand_vx_u32m8(b, 0x7FFFFFFFu, vs);
            vbool4_t ma = __riscv_vmseq_vx_u32m8_b4(a, abits, vs);
            vbool4_t mb2 = __riscv_vmseq_vx_u32m8_b4(b, abits, vs);
            __riscv_vsm_v_b4(mb, ma, vs);
            __riscv_vsm_v_b4(mb + 4, mb2, vs);
            xw += 64;
            mb += 8;
        }
        uint64_t first = QK_K;
        for (size_t h = 0; h < QK_K;) {
            const size_t vl8 = __riscv_vsetvl_e8m8(QK_K - h);
            const long f = __riscv_vfirst_m_b1(__riscv_vlm_v_b1(mbits + h / 8, vl8), vl8);
            const uint64_t cand = (uint64_t)((long)h + f) | (uint64_t)(f >> 63);
            first ^= (first ^ cand) & (0 - (uint64_t)opaque_u32((uint32_t)(cand < first)));
            h += vl8;
        }
        /* the element itself (+amax or -amax); 0 for an all-zero block, masked below */
        const float max = stage[first & (QK_K - 1)];

        /* Pass 3: q = nearest(iscale * x), two sub-blocks of 16 at a time, and each
         * sub-block's sum (bsums) by a widening reduction of its 16 values (exact:
         * |sum| <= 16 * 127), stored from the vector */
        const float iscale = bits_f32(f32_bits(-127.0f / max) & nonzero);
        /* d now, so that the divide runs beside pass 3 rather than after it */
        float dq = 1.0f / iscale;
        __asm__ volatile("" : "+f"(dq));
        const float *xb = stage;
        int8_t *qs = yb->qs;
        int16_t *bs = yb->bsums;
        /* unrolled: no loop branch, and the next pair's loads issue among this pair's
         * operations (session 15: 8 629 -> 8 232 cycles with pass 1 by two) */
#pragma clang loop unroll(full)
        for (int s = 0; s < QK_K / 32; s++) {
            vfloat32m4_t a = __riscv_vle32_v_f32m4(xb, v4);
            vfloat32m4_t b = __riscv_vle32_v_f32m4(xb + 16, v4);
            a = __riscv_vfmul_vf_f32m4(a, iscale, v4);
            b = __riscv_vfmul_vf_f32m4(b, iscale, v4);
            /* to the nearest integer, ties to even, narrowed to 16 bits in the same
             * operation (|v| <= 127 + a rounding: no saturation) */
            vint16m2_t ha = __riscv_vfncvt_x_f_w_i16m2_rm(a, __RISCV_FRM_RNE, v4);
            vint16m2_t hb = __riscv_vfncvt_x_f_w_i16m2_rm(b, __RISCV_FRM_RNE, v4);
            vint8m1_t ba = __riscv_vnclip_wx_i8m1(ha, 0, __RISCV_VXRM_RNE, v4);
            vint8m1_t bb = __riscv_vnclip_wx_i8m1(hb, 0, __RISCV_VXRM_RNE, v4);
            __riscv_vse8_v_i8m1(qs, ba, v4);
            __riscv_vse8_v_i8m1(qs + 16, bb, v4);
            vint16m1_t sa = __riscv_vwredsum_vs_i8m1_i16m1(ba, zero16, v4);
            vint16m1_t sb = __riscv_vwredsum_vs_i8m1_i16m1(bb, zero16, v4);
            __riscv_vse16_v_i16m1(bs, sa, 1);
            __riscv_vse16_v_i16m1(bs + 1, sb, 1);
            xb += 32;
            qs += 32;
            bs += 2;
        }
        yb->d = bits_f32(f32_bits(dq) & nonzero);
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

/* The 8 six-bit scales and 8 mins of a Q4_K block (GGML's utmp unpacking of its 12 packed
 * bytes, read as three 32-bit words): scales in bytes 0..7 of *sc, mins in bytes 0..7 of
 * *mn, kept in registers. `aligned`: the block is 4-byte aligned, so the words are three
 * loads instead of twelve. */
static inline void q4_K_unpack(const uint8_t *packed, int aligned, uint64_t *sc, uint64_t *mn) {
    const uint32_t kmask1 = 0x3f3f3f3f, kmask2 = 0x0f0f0f0f, kmask3 = 0x03030303;
    uint32_t u0, u1, u2;
    if (aligned) {
        const uint32_t *w = (const uint32_t *)__builtin_assume_aligned(packed, 4);
        u0 = w[0];
        u1 = w[1];
        u2 = w[2];
    } else {
        u0 = (uint32_t)packed[0] | (uint32_t)packed[1] << 8 | (uint32_t)packed[2] << 16 | (uint32_t)packed[3] << 24;
        u1 = (uint32_t)packed[4] | (uint32_t)packed[5] << 8 | (uint32_t)packed[6] << 16 | (uint32_t)packed[7] << 24;
        u2 = (uint32_t)packed[8] | (uint32_t)packed[9] << 8 | (uint32_t)packed[10] << 16 | (uint32_t)packed[11] << 24;
    }
    const uint32_t m_hi = ((u2 >> 4) & kmask2) | (((u1 >> 6) & kmask3) << 4);
    const uint32_t m_lo = u1 & kmask1;
    const uint32_t s_hi = (u2 & kmask2) | (((u0 >> 6) & kmask3) << 4);
    const uint32_t s_lo = u0 & kmask1;
    *sc = (uint64_t)s_lo | (uint64_t)s_hi << 32;
    *mn = (uint64_t)m_lo | (uint64_t)m_hi << 32;
}

float vec_dot_q4_K_q8_K(int64_t n, const block_q4_K *x, const block_q8_K *y) {
    const int64_t nb = n / QK_K;
    float sumf = 0.0f;
    const int aligned = ((uintptr_t)x & 3) == 0; /* 144-byte blocks keep a row's alignment */
    for (int64_t i = 0; i < nb; i++) {
        const float d = y[i].d * fp16_to_f32(x[i].d);
        const float dmin = y[i].d * fp16_to_f32(x[i].dmin);
        uint64_t sc, mn;
        q4_K_unpack(x[i].scales, aligned, &sc, &mn);

        /* mins: sum over sub-blocks of min[j] * (bsums[2j] + bsums[2j+1]); the 16 bsums in
         * one load, paired by narrowing their 32-bit view (as GGML's VLEN-128 kernel) */
        size_t vl = 8;
        vuint32m2_t bs = __riscv_vreinterpret_v_i32m2_u32m2(
            __riscv_vreinterpret_v_i16m2_i32m2(__riscv_vle16_v_i16m2(y[i].bsums, 16)));
        vint16m1_t even = __riscv_vreinterpret_v_u16m1_i16m1(__riscv_vnsrl_wx_u16m1(bs, 0, vl));
        vint16m1_t odd = __riscv_vreinterpret_v_u16m1_i16m1(__riscv_vnsrl_wx_u16m1(bs, 16, vl));
        vint16m1_t q8sums = __riscv_vadd_vv_i16m1(even, odd, vl);
        vuint8mf2_t m8 = __riscv_vlmul_trunc_v_u8m1_u8mf2(
            __riscv_vreinterpret_v_u64m1_u8m1(__riscv_vmv_s_x_u64m1(mn, 1)));
        vint16m1_t mv = __riscv_vreinterpret_v_u16m1_i16m1(__riscv_vzext_vf2_u16m1(m8, vl));
        vint32m2_t prod = __riscv_vwmul_vv_i32m2(q8sums, mv, vl);
        vint32m1_t summ = __riscv_vredsum_vs_i32m2_i32m1(prod, __riscv_vmv_s_x_i32m1(0, 1), vl);
        /* GGML: sumf -= dmin * summins  ->  fnmsub.s */
        sumf = __builtin_fmaf(-dmin, (float)__riscv_vmv_x_s_i32m1_i32(summ), sumf);

        /* sub-block dot products, each widened and scaled into 32-bit lane accumulators
         * (exact), reduced once per block; 64 Q8_K values per load */
        const uint8_t *q4 = x[i].qs;
        const int8_t *q8 = y[i].qs;
        vl = 32;
        vint32m8_t acc = __riscv_vmv_v_x_i32m8(0, vl);
        for (int j = 0; j < QK_K / 64; j++) {
            vuint8m2_t q4x = __riscv_vle8_v_u8m2(q4, vl);
            vint8m4_t q8x = __riscv_vle8_v_i8m4(q8, 2 * vl);
            vint8m2_t q8lo = __riscv_vlmul_trunc_v_i8m4_i8m2(q8x);
            vint8m2_t q8hi = __riscv_vlmul_trunc_v_i8m4_i8m2(__riscv_vslidedown_vx_i8m4(q8x, 32, 2 * vl));
            vint8m2_t lo = __riscv_vreinterpret_v_u8m2_i8m2(__riscv_vand_vx_u8m2(q4x, 0x0F, vl));
            vint8m2_t hi = __riscv_vreinterpret_v_u8m2_i8m2(__riscv_vsrl_vx_u8m2(q4x, 4, vl));
            vint16m4_t p0 = __riscv_vwmul_vv_i16m4(lo, q8lo, vl);
            vint16m4_t p1 = __riscv_vwmul_vv_i16m4(hi, q8hi, vl);
            acc = __riscv_vwmacc_vx_i32m8(acc, (int16_t)((sc >> (16 * j)) & 0xff), p0, vl);
            acc = __riscv_vwmacc_vx_i32m8(acc, (int16_t)((sc >> (16 * j + 8)) & 0xff), p1, vl);
            q4 += 32;
            q8 += 64;
        }
        vint32m1_t sumi = __riscv_vredsum_vs_i32m8_i32m1(acc, __riscv_vmv_s_x_i32m1(0, 1), vl);
        /* GGML: sumf += d*(sum_1 + sum_2)  ->  fmadd.s */
        sumf = __builtin_fmaf(d, (float)__riscv_vmv_x_s_i32m1_i32(sumi), sumf);
    }
    return sumf;
}

/* One group of 32 Q6_K values (0..63, offset 32 still to subtract) against 32 Q8_K values:
 * sc0 * (sum of the first 16 products) + sc1 * (sum of the last 16), exact integers.
 * `scales` holds the block's 16 scales as 8 pairs; the group's pair is element `pair`. */
static inline int32_t q6_K_group(vuint8m2_t q, vint8m2_t q8, vint16m1_t scales, size_t pair) {
    const size_t vl = 32;
    vint8m2_t a = __riscv_vsub_vx_i8m2(__riscv_vreinterpret_v_u8m2_i8m2(q), 32, vl);
    vint16m4_t p = __riscv_vwmul_vv_i16m4(a, q8, vl);
    vint32m1_t r0 = __riscv_vwredsum_vs_i16m4_i32m1(p, __riscv_vmv_s_x_i32m1(0, 1), 16);
    vint32m1_t r1 = __riscv_vwredsum_vs_i16m4_i32m1(__riscv_vslidedown_vx_i16m4(p, 16, vl),
                                                     __riscv_vmv_s_x_i32m1(0, 1), 16);
    const int16_t sp = __riscv_vmv_x_s_i16m1_i16(__riscv_vslidedown_vx_i16m1(scales, pair, 8));
    const int32_t sc0 = (int8_t)(sp & 0xff), sc1 = (int8_t)((uint16_t)sp >> 8);
    return __riscv_vmv_x_s_i32m1_i32(r0) * sc0 + __riscv_vmv_x_s_i32m1_i32(r1) * sc1;
}

float vec_dot_q6_K_q8_K(int64_t n, const block_q6_K *x, const block_q8_K *y) {
    const int64_t nb = n / QK_K;
    const size_t vl = 32;
    float sumf = 0.0f;
    for (int64_t i = 0; i < nb; i++) {
        const float d = fp16_to_f32(x[i].d) * y[i].d;
        const uint8_t *ql = x[i].ql;
        const uint8_t *qh = x[i].qh;
        const int8_t *q8 = y[i].qs;
        /* the 16 scales in one load, viewed as 8 (scale, scale) pairs */
        const vint16m1_t scales = __riscv_vreinterpret_v_i8m1_i16m1(__riscv_vle8_v_i8m1(x[i].scales, 16));
        int32_t sum_t = 0;
        for (int half = 0; half < QK_K / 128; half++) {
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
            vint8m4_t y01 = __riscv_vle8_v_i8m4(q8, 2 * vl);
            vint8m4_t y23 = __riscv_vle8_v_i8m4(q8 + 64, 2 * vl);
            const size_t g = 4 * (size_t)half;
            sum_t += q6_K_group(q0, __riscv_vlmul_trunc_v_i8m4_i8m2(y01), scales, g + 0);
            sum_t += q6_K_group(q1, __riscv_vlmul_trunc_v_i8m4_i8m2(__riscv_vslidedown_vx_i8m4(y01, 32, 2 * vl)), scales, g + 1);
            sum_t += q6_K_group(q2, __riscv_vlmul_trunc_v_i8m4_i8m2(y23), scales, g + 2);
            sum_t += q6_K_group(q3, __riscv_vlmul_trunc_v_i8m4_i8m2(__riscv_vslidedown_vx_i8m4(y23, 32, 2 * vl)), scales, g + 3);
            ql += 64;
            qh += 32;
            q8 += 128;
        }
        /* GGML: sumf += d * sum_t  ->  fmadd.s */
        sumf = __builtin_fmaf(d, (float)sum_t, sumf);
    }
    return sumf;
}

/* F16 x F16 (the activation side already widened): products of two f16 values are exact
 * in f32, so each lane's fused multiply-add rounds once per step. VLMAX(e32, LMUL 4) lane
 * partial sums (tail lanes undisturbed) are then added in lane order from 0. */
float vec_dot_f16_f32(int64_t n, const uint16_t *x, const float *y) {
    const size_t vlmax = __riscv_vsetvlmax_e32m4();
    vfloat32m4_t acc = __riscv_vfmv_v_f_f32m4(0.0f, vlmax);
    for (int64_t i = 0; i < n;) {
        size_t vl = __riscv_vsetvl_e16m2((size_t)(n - i));
        vfloat32m4_t a = f16_to_f32_m4(__riscv_vle16_v_u16m2(x + i, vl), vl);
        acc = __riscv_vfmacc_vv_f32m4_tu(acc, a, __riscv_vle32_v_f32m4(y + i, vl), vl);
        i += (int64_t)vl;
    }
    vfloat32m1_t s = __riscv_vfredosum_vs_f32m4_f32m1(acc, __riscv_vfmv_s_f_f32m1(0.0f, 1), vlmax);
    return __riscv_vfmv_f_s_f32m1_f32(s);
}

/* BF16 x BF16 (the activation side already widened), the same lanes as vec_dot_f16_f32. */
float vec_dot_bf16_f32(int64_t n, const uint16_t *x, const float *y) {
    const size_t vlmax = __riscv_vsetvlmax_e32m4();
    vfloat32m4_t acc = __riscv_vfmv_v_f_f32m4(0.0f, vlmax);
    for (int64_t i = 0; i < n;) {
        size_t vl = __riscv_vsetvl_e16m2((size_t)(n - i));
        vfloat32m4_t a = bf16_to_f32_m4(__riscv_vle16_v_u16m2(x + i, vl), vl);
        acc = __riscv_vfmacc_vv_f32m4_tu(acc, a, __riscv_vle32_v_f32m4(y + i, vl), vl);
        i += (int64_t)vl;
    }
    vfloat32m1_t s = __riscv_vfredosum_vs_f32m4_f32m1(acc, __riscv_vfmv_s_f_f32m1(0.0f, 1), vlmax);
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
