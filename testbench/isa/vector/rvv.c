/* RVV 1.0 through compiled C (clang-19 intrinsics): GGML-style kernels (q4_0 x q8_0 dot
 * product, q8_0 quantization with vnclip/vfcvt, f32 reductions), strip-mined loops over
 * every SEW and several LMULs, masks, slides, gathers, compress, fixed-point and FP in every
 * rounding mode with fflags. Prints a signature line per result (sig.h), so qemu-riscv64 and
 * the emulator must agree byte for byte at the same VLEN. */
#include <riscv_vector.h>
#include "sig.h"

#define N 67 /* not a multiple of any VLMAX: exercises tails */

static unsigned n;
static void out(const char *name, u64 v) { sig(name, n++, v); }

static u64 fflags(void) {
    u64 f;
    __asm__ volatile("csrrw %0, fflags, zero" : "=r"(f));
    return f;
}
static void set_frm(u64 rm) { __asm__ volatile("fsrm %0" ::"r"(rm)); }
static void set_vxrm(u64 rm) { __asm__ volatile("csrw vxrm, %0" ::"r"(rm)); }
static u64 vxsat(void) {
    u64 v;
    __asm__ volatile("csrrw %0, vxsat, zero" : "=r"(v));
    return v;
}

static signed char i8a[N], i8b[N], i8c[N];
static unsigned char u8a[N];
static short i16a[N], i16b[N];
static int i32a[N], i32b[N], i32r[N];
static long i64a[N], i64b[N], i64r[N];
static float f32a[N], f32b[N], f32r[N];
static double f64a[N], f64r[N];

static float rand_f32(void) {
    u64 r = rng();
    switch (r & 7) {
    case 0: return (float)((i64)(r >> 40) - 8388608) / 4096.0f;
    case 1: return (float)(int)(r >> 56) - 128.0f;
    case 2: return (float)((i64)(r >> 20)) * 1e-30f;
    default: return (float)((i64)(r >> 30) - (1L << 33)) / 1048576.0f;
    }
}

static void fill(void) {
    for (int i = 0; i < N; i++) {
        i8a[i] = (signed char)rng();
        i8b[i] = (signed char)rng();
        i8c[i] = (signed char)rng();
        u8a[i] = (unsigned char)rng();
        i16a[i] = (short)rng();
        i16b[i] = (short)rng();
        i32a[i] = (int)rng_int();
        i32b[i] = (int)rng_int();
        i64a[i] = (i64)rng_int();
        i64b[i] = (i64)rng_int();
        f32a[i] = rand_f32();
        f32b[i] = rand_f32();
        f64a[i] = (double)rand_f32() * 1.0000001;
    }
}

/* q4_0 x q8_0 style: nibbles of u8a against i8a/i8b, int16 products, widening reduction. */
static void q4_dot(void) {
    long total = 0;
    for (int i = 0; i + 16 <= N; i += 16) {
        size_t vl = __riscv_vsetvl_e8m1(16);
        vuint8m1_t q = __riscv_vle8_v_u8m1(u8a + i, vl);
        vint8m1_t lo = __riscv_vreinterpret_v_u8m1_i8m1(__riscv_vand_vx_u8m1(q, 0x0f, vl));
        vint8m1_t hi = __riscv_vreinterpret_v_u8m1_i8m1(__riscv_vsrl_vx_u8m1(q, 4, vl));
        lo = __riscv_vsub_vx_i8m1(lo, 8, vl);
        hi = __riscv_vsub_vx_i8m1(hi, 8, vl);
        vint8m1_t y0 = __riscv_vle8_v_i8m1(i8a + i, vl);
        vint8m1_t y1 = __riscv_vle8_v_i8m1(i8b + i, vl);
        vint16m2_t p = __riscv_vwmul_vv_i16m2(lo, y0, vl);
        p = __riscv_vwmacc_vv_i16m2(p, hi, y1, vl);
        vint32m1_t z = __riscv_vmv_v_x_i32m1(0, 1);
        vint32m1_t s = __riscv_vwredsum_vs_i16m2_i32m1(p, z, __riscv_vsetvl_e16m2(16));
        total += __riscv_vmv_x_s_i32m1_i32(s);
    }
    out("q4_dot", (u64)total);
}

/* quantize_row_q8_0 style: amax, scale, round to int, narrow with saturation. */
static void q8_quant(void) {
    for (u64 rm = 0; rm < 5; rm++) {
        set_frm(rm);
        set_vxrm(rm & 3);
        size_t vl = __riscv_vsetvl_e32m4(32);
        vfloat32m4_t x = __riscv_vle32_v_f32m4(f32a, vl);
        vfloat32m1_t zero = __riscv_vfmv_v_f_f32m1(0.0f, 1);
        vfloat32m1_t mx = __riscv_vfredmax_vs_f32m4_f32m1(__riscv_vfabs_v_f32m4(x, vl), zero, vl);
        float amax = __riscv_vfmv_f_s_f32m1_f32(mx);
        float d = amax / 127.0f;
        float id = d != 0.0f ? 1.0f / d : 0.0f;
        vfloat32m4_t sc = __riscv_vfmul_vf_f32m4(x, id, vl);
        vint32m4_t q32 = __riscv_vfcvt_x_f_v_i32m4(sc, vl);
        vint16m2_t q16 = __riscv_vnclip_wx_i16m2(q32, 0, __RISCV_VXRM_RNE, vl);
        vint8m1_t q8 = __riscv_vnclip_wx_i8m1(q16, 0, __RISCV_VXRM_RNE, vl);
        __riscv_vse8_v_i8m1(i8c, q8, vl);
        u64 h = 0;
        for (size_t i = 0; i < vl; i++) h = h * 131 + (unsigned char)i8c[i];
        out("q8_quant", h);
        out("q8_fflags", fflags());
        out("q8_vxsat", vxsat());
    }
    set_frm(0);
    set_vxrm(0);
}

/* Strip-mined element-wise integer ops at every SEW. */
static void int_loops(void) {
    for (size_t i = 0, vl; i < N; i += vl) {
        vl = __riscv_vsetvl_e32m2(N - i);
        vint32m2_t a = __riscv_vle32_v_i32m2(i32a + i, vl);
        vint32m2_t b = __riscv_vle32_v_i32m2(i32b + i, vl);
        vint32m2_t r = __riscv_vadd_vv_i32m2(a, b, vl);
        r = __riscv_vxor_vv_i32m2(r, __riscv_vsll_vx_i32m2(b, 3, vl), vl);
        r = __riscv_vmacc_vv_i32m2(r, a, b, vl);
        r = __riscv_vmax_vv_i32m2(r, __riscv_vsra_vx_i32m2(a, 2, vl), vl);
        vbool16_t m = __riscv_vmslt_vv_i32m2_b16(a, b, vl);
        r = __riscv_vmerge_vvm_i32m2(r, __riscv_vdiv_vv_i32m2(a, b, vl), m, vl);
        r = __riscv_vrem_vv_i32m2_mu(m, r, a, b, vl);
        __riscv_vse32_v_i32m2(i32r + i, r, vl);
    }
    for (int i = 0; i < N; i++) out("i32", (u64)(unsigned)i32r[i]);
    for (size_t i = 0, vl; i < N; i += vl) {
        vl = __riscv_vsetvl_e64m4(N - i);
        vint64m4_t a = __riscv_vle64_v_i64m4(i64a + i, vl);
        vint64m4_t b = __riscv_vle64_v_i64m4(i64b + i, vl);
        vint64m4_t r = __riscv_vmulh_vv_i64m4(a, b, vl);
        r = __riscv_vadd_vv_i64m4(r, __riscv_vmul_vv_i64m4(a, b, vl), vl);
        r = __riscv_vsub_vv_i64m4(r, __riscv_vreinterpret_v_u64m4_i64m4(__riscv_vdivu_vv_u64m4(
                                        __riscv_vreinterpret_v_i64m4_u64m4(a),
                                        __riscv_vreinterpret_v_i64m4_u64m4(b), vl)),
                                  vl);
        __riscv_vse64_v_i64m4(i64r + i, r, vl);
    }
    for (int i = 0; i < N; i++) out("i64", (u64)i64r[i]);
    /* widening / narrowing / extension at e8/e16 */
    for (size_t i = 0, vl; i < N; i += vl) {
        vl = __riscv_vsetvl_e8mf2(N - i);
        vint8mf2_t a = __riscv_vle8_v_i8mf2(i8a + i, vl);
        vint8mf2_t b = __riscv_vle8_v_i8mf2(i8b + i, vl);
        vint16m1_t w = __riscv_vwadd_vv_i16m1(a, b, vl);
        w = __riscv_vwmacc_vv_i16m1(w, a, b, vl);
        vint32m2_t e = __riscv_vsext_vf2_i32m2(w, vl);
        e = __riscv_vsll_vx_i32m2(e, 7, vl);
        vint16m1_t nr = __riscv_vnsra_wx_i16m1(e, 5, vl);
        vint8mf2_t c = __riscv_vnclip_wx_i8mf2(nr, 3, __RISCV_VXRM_RNU, vl);
        __riscv_vse8_v_i8mf2(i8c + i, c, vl);
    }
    for (int i = 0; i < N; i++) out("narrow", (u64)(unsigned char)i8c[i]);
    out("narrow_vxsat", vxsat());
    /* saturating / averaging at e16 */
    for (u64 rm = 0; rm < 4; rm++) {
        size_t vl = __riscv_vsetvl_e16m1(N);
        vint16m1_t a = __riscv_vle16_v_i16m1(i16a, vl);
        vint16m1_t b = __riscv_vle16_v_i16m1(i16b, vl);
        set_vxrm(rm);
        vint16m1_t r = __riscv_vsadd_vv_i16m1(a, b, vl);
#define FIXED(RM)                                                                         \
    r = __riscv_vaadd_vv_i16m1(r, b, RM, vl);                                             \
    r = __riscv_vsmul_vv_i16m1(r, a, RM, vl);                                             \
    r = __riscv_vssra_vx_i16m1(r, 3, RM, vl);
        switch (rm) {
        case 0: FIXED(__RISCV_VXRM_RNU) break;
        case 1: FIXED(__RISCV_VXRM_RNE) break;
        case 2: FIXED(__RISCV_VXRM_RDN) break;
        default: FIXED(__RISCV_VXRM_ROD) break;
        }
        __riscv_vse16_v_i16m1(i16b, r, vl);
        u64 h = 0;
        for (size_t i = 0; i < vl; i++) h = h * 65599 + (unsigned short)i16b[i];
        out("fixed", h);
        out("fixed_vxsat", vxsat());
    }
    set_vxrm(0);
}

/* FP: element-wise ops in every rounding mode, flags, reductions (ordered), conversions. */
static void fp_loops(void) {
    for (u64 rm = 0; rm < 5; rm++) {
        set_frm(rm);
        for (size_t i = 0, vl; i < N; i += vl) {
            vl = __riscv_vsetvl_e32m1(N - i);
            vfloat32m1_t a = __riscv_vle32_v_f32m1(f32a + i, vl);
            vfloat32m1_t b = __riscv_vle32_v_f32m1(f32b + i, vl);
            vfloat32m1_t r = __riscv_vfadd_vv_f32m1(a, b, vl);
            r = __riscv_vfmacc_vv_f32m1(r, a, b, vl);
            r = __riscv_vfdiv_vv_f32m1(r, __riscv_vfadd_vf_f32m1(__riscv_vfabs_v_f32m1(b, vl), 0.5f, vl), vl);
            r = __riscv_vfmin_vv_f32m1(r, __riscv_vfmul_vf_f32m1(a, 1e30f, vl), vl);
            r = __riscv_vfsqrt_v_f32m1(__riscv_vfabs_v_f32m1(r, vl), vl);
            __riscv_vse32_v_f32m1(f32r + i, r, vl);
        }
        u64 h = 0;
        for (int i = 0; i < N; i++) {
            union { float f; unsigned u; } c = {f32r[i]};
            h = h * 1000003 + c.u;
        }
        out("f32_ops", h);
        out("f32_fflags", fflags());
        size_t vl = __riscv_vsetvl_e32m8(N);
        vfloat32m8_t a = __riscv_vle32_v_f32m8(f32a, vl);
        vfloat32m1_t z = __riscv_vfmv_v_f_f32m1(0.25f, 1);
        float os = __riscv_vfmv_f_s_f32m1_f32(__riscv_vfredosum_vs_f32m8_f32m1(a, z, vl));
        union { float f; unsigned u; } c = {os};
        out("f32_osum", c.u);
        vfloat64m1_t zw = __riscv_vfmv_v_f_f64m1(0.0, 1);
        double ws = __riscv_vfmv_f_s_f64m1_f64(
            __riscv_vfwredosum_vs_f32m4_f64m1(__riscv_vle32_v_f32m4(f32b, 32), zw, 32));
        union { double d; u64 u; } cw = {ws};
        out("f32_wosum", cw.u);
        out("red_fflags", fflags());
        /* conversions */
        size_t vlc = __riscv_vsetvl_e32m2(N);
        vfloat32m2_t x = __riscv_vle32_v_f32m2(f32a, vlc);
        vint32m2_t xi = __riscv_vfcvt_x_f_v_i32m2(__riscv_vfmul_vf_f32m2(x, 3.0e6f, vlc), vlc);
        vfloat64m4_t xw = __riscv_vfwcvt_f_f_v_f64m4(x, vlc);
        xw = __riscv_vfmul_vf_f64m4(xw, 1.0 / 3.0, vlc);
        vfloat32m2_t xn = __riscv_vfncvt_f_f_w_f32m2(xw, vlc);
        vint16m1_t xs = __riscv_vfncvt_x_f_w_i16m1(x, vlc);
        vfloat32m2_t xf = __riscv_vfcvt_f_x_v_f32m2(__riscv_vmul_vx_i32m2(xi, 7, vlc), vlc);
        __riscv_vse32_v_i32m2(i32r, xi, vlc);
        __riscv_vse32_v_f32m2(f32r, __riscv_vfadd_vv_f32m2(xn, xf, vlc), vlc);
        __riscv_vse16_v_i16m1(i16a, xs, vlc);
        u64 hc = 0;
        for (size_t i = 0; i < vlc; i++) {
            union { float f; unsigned u; } y = {f32r[i]};
            hc = hc * 1000003 + (unsigned)i32r[i] * 31 + y.u + (unsigned short)i16a[i];
        }
        out("cvt", hc);
        out("cvt_fflags", fflags());
    }
    set_frm(0);
    for (size_t i = 0, vl; i < N; i += vl) {
        vl = __riscv_vsetvl_e64m2(N - i);
        vfloat64m2_t a = __riscv_vle64_v_f64m2(f64a + i, vl);
        vfloat64m2_t r = __riscv_vfmadd_vf_f64m2(a, 1.5, a, vl);
        vbool32_t m = __riscv_vmflt_vf_f64m2_b32(a, 0.0, vl);
        r = __riscv_vfneg_v_f64m2_mu(m, r, r, vl);
        __riscv_vse64_v_f64m2(f64r + i, r, vl);
    }
    for (int i = 0; i < N; i++) {
        union { double d; u64 u; } c = {f64r[i]};
        out("f64", c.u);
    }
    out("f64_fflags", fflags());
}

/* Permutes and masks. */
static void permutes(void) {
    size_t vl = __riscv_vsetvl_e16m2(N);
    vint16m2_t a = __riscv_vle16_v_i16m2(i16a, vl);
    vint16m2_t up = __riscv_vslideup_vx_i16m2(a, a, 3, vl);
    vint16m2_t dn = __riscv_vslidedown_vx_i16m2(a, 5, vl);
    vint16m2_t s1 = __riscv_vslide1down_vx_i16m2(dn, -7, vl);
    vint16m2_t s2 = __riscv_vslide1up_vx_i16m2(up, 9, vl);
    vuint16m2_t idx = __riscv_vremu_vx_u16m2(__riscv_vid_v_u16m2(vl), 7, vl);
    idx = __riscv_vmul_vx_u16m2(idx, 3, vl);
    vint16m2_t g = __riscv_vrgather_vv_i16m2(s1, idx, vl);
    vbool8_t m = __riscv_vmsgt_vx_i16m2_b8(a, 0, vl);
    vint16m2_t c = __riscv_vcompress_vm_i16m2(g, m, vl);
    vint16m2_t r = __riscv_vadd_vv_i16m2(c, s2, vl);
    __riscv_vse16_v_i16m2(i16b, r, vl);
    for (size_t i = 0; i < vl; i++) out("perm", (u64)(unsigned short)i16b[i]);
    out("cpop", __riscv_vcpop_m_b8(m, vl));
    out("first", (u64)__riscv_vfirst_m_b8(__riscv_vmnot_m_b8(m, vl), vl));
    vbool8_t sbf = __riscv_vmsbf_m_b8(m, vl);
    vuint16m2_t io = __riscv_vid_v_u16m2(vl);
    io = __riscv_viota_m_u16m2(__riscv_vmor_mm_b8(sbf, m, vl), vl);
    __riscv_vse16_v_u16m2((unsigned short *)i16b, io, vl);
    for (size_t i = 0; i < vl; i++) out("iota", (u64)(unsigned short)i16b[i]);
    /* strided and indexed memory */
    size_t v4 = __riscv_vsetvl_e32m1(8);
    vint32m1_t st = __riscv_vlse32_v_i32m1(i32a + 1, 12, v4);
    vuint32m1_t off = __riscv_vmul_vx_u32m1(__riscv_vid_v_u32m1(v4), 20, v4);
    vint32m1_t ix = __riscv_vluxei32_v_i32m1(i32b, off, v4);
    __riscv_vsse32_v_i32m1(i32r, 8, __riscv_vadd_vv_i32m1(st, ix, v4), v4);
    for (int i = 0; i < 16; i++) out("mem", (u64)(unsigned)i32r[i]);
}

int main(void) {
    fill();
    q4_dot();
    q8_quant();
    int_loops();
    fp_loops();
    permutes();
    sig_flush();
    return 0;
}
