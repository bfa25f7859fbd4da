/* Compiled RVV code end to end through the hart: loops clang auto-vectorises (tails,
 * widening, reductions, strided and indexed accesses, FP) and the intrinsics GGML's kernels
 * use, on seeded random data. Every output array is printed. */
#include "sig.h"
#include <riscv_vector.h>

#define N 203 /* not a multiple of any VLMAX: tails everywhere */

static signed char a8[N], b8[N];
static short a16[N], b16[N], r16[N];
static int a32[N], b32[N], c32[N], r32[N];
static float af[N], bf[N], rf[N];
static double ad[N], rd[N];
static unsigned char idx[N];

static void dump32(const char *name, const int *v) {
    for (int i = 0; i < N; i++) sig(name, i, (u64)(unsigned)v[i]);
}

__attribute__((noinline)) static void muladd(void) {
    for (int i = 0; i < N; i++) r32[i] = a32[i] * b32[i] + c32[i];
}

__attribute__((noinline)) static int dot8(void) {
    int s = 0;
    for (int i = 0; i < N; i++) s += a8[i] * b8[i];
    return s;
}

__attribute__((noinline)) static void minmax16(void) {
    for (int i = 0; i < N; i++) {
        short x = a16[i], y = b16[i];
        r16[i] = (short)((x < y ? x : y) ^ (x > y ? x : y) >> 3);
    }
}

__attribute__((noinline)) static void saxpy(float k) {
    for (int i = 0; i < N; i++) rf[i] = k * af[i] + bf[i];
}

__attribute__((noinline)) static void gather(void) {
    for (int i = 0; i < N; i++) r32[i] = a32[idx[i] % N] - b32[(i * 7) % N];
}

__attribute__((noinline)) static void strided(void) {
    for (int i = 0; i < N / 3; i++) rd[i] = ad[3 * i] * 0.5 + ad[3 * i + 1];
}

__attribute__((noinline)) static u64 shifts(void) {
    u64 acc = 0;
    for (int i = 0; i < N; i++) {
        unsigned x = (unsigned)a32[i];
        r32[i] = (int)((x >> (b8[i] & 31)) | (x << 3));
        acc += (u64)r32[i];
    }
    return acc;
}

/* The GGML q8_0 x q8_0 inner loop with intrinsics: widening multiply, widening
   accumulate, widening reduction, then vmv.x.s. */
__attribute__((noinline)) static int dot_intrinsics(const signed char *x, const signed char *y,
                                                    int n) {
    int total = 0;
    while (n > 0) {
        size_t vl = __riscv_vsetvl_e8m1(n);
        vint8m1_t vx = __riscv_vle8_v_i8m1(x, vl);
        vint8m1_t vy = __riscv_vle8_v_i8m1(y, vl);
        vint16m2_t p = __riscv_vwmul_vv_i16m2(vx, vy, vl);
        vint32m1_t zero = __riscv_vmv_v_x_i32m1(0, 1);
        vint32m1_t s = __riscv_vwredsum_vs_i16m2_i32m1(p, zero, vl);
        total += __riscv_vmv_x_s_i32m1_i32(s);
        x += vl;
        y += vl;
        n -= (int)vl;
    }
    return total;
}

/* Fractional LMUL, slides and a masked merge. */
__attribute__((noinline)) static void slides(void) {
    size_t n = N;
    const short *src = a16;
    short *dst = r16;
    while (n > 0) {
        size_t vl = __riscv_vsetvl_e16mf2(n);
        vint16mf2_t v = __riscv_vle16_v_i16mf2(src, vl);
        vint16mf2_t up = __riscv_vslide1up_vx_i16mf2(v, -1, vl);
        vint16mf2_t dn = __riscv_vslidedown_vx_i16mf2(v, 1, vl);
        vbool32_t m = __riscv_vmslt_vx_i16mf2_b32(v, 0, vl);
        vint16mf2_t r = __riscv_vmerge_vvm_i16mf2(up, dn, m, vl);
        __riscv_vse16_v_i16mf2(dst, r, vl);
        src += vl;
        dst += vl;
        n -= vl;
    }
}

/* Float reductions and conversions as the quantizers use them. */
__attribute__((noinline)) static float absmax(const float *x, int n) {
    size_t vlmax = __riscv_vsetvlmax_e32m4();
    vfloat32m4_t acc = __riscv_vfmv_v_f_f32m4(0.0f, vlmax);
    for (int i = 0; i < n;) {
        size_t vl = __riscv_vsetvl_e32m4(n - i);
        vfloat32m4_t v = __riscv_vle32_v_f32m4(x + i, vl);
        acc = __riscv_vfmax_vv_f32m4_tu(acc, acc, __riscv_vfabs_v_f32m4(v, vl), vl);
        i += (int)vl;
    }
    vfloat32m1_t z = __riscv_vfmv_v_f_f32m1(0.0f, 1);
    return __riscv_vfmv_f_s_f32m1_f32(__riscv_vfredmax_vs_f32m4_f32m1(acc, z, vlmax));
}

__attribute__((noinline)) static void quantize(const float *x, signed char *q, float id, int n) {
    for (int i = 0; i < n;) {
        size_t vl = __riscv_vsetvl_e32m4(n - i);
        vfloat32m4_t v = __riscv_vfmul_vf_f32m4(__riscv_vle32_v_f32m4(x + i, vl), id, vl);
        vint16m2_t h = __riscv_vfncvt_x_f_w_i16m2(v, vl);
        vint8m1_t b = __riscv_vncvt_x_x_w_i8m1(h, vl);
        __riscv_vse8_v_i8m1(q + i, b, vl);
        i += (int)vl;
    }
}

static float rng_float(void) { return (float)((int)(rng() % 20001) - 10000) / 997.0f; }

int main(void) {
    for (int i = 0; i < N; i++) {
        a8[i] = (signed char)rng();
        b8[i] = (signed char)rng();
        a16[i] = (short)rng();
        b16[i] = (short)rng();
        a32[i] = (int)rng();
        b32[i] = (int)rng();
        c32[i] = (int)rng();
        af[i] = rng_float();
        bf[i] = rng_float();
        ad[i] = (double)rng_float() * 1.25;
        idx[i] = (unsigned char)rng();
    }
    muladd();
    dump32("muladd", r32);
    sig("dot8", 0, (u64)(unsigned)dot8());
    sig("dot_intrinsics", 0, (u64)(unsigned)dot_intrinsics(a8, b8, N));
    minmax16();
    for (int i = 0; i < N; i++) sig("minmax16", i, (u64)(unsigned short)r16[i]);
    saxpy(1.5f);
    for (int i = 0; i < N; i++) sig("saxpy", i, *(unsigned *)&rf[i]);
    gather();
    dump32("gather", r32);
    strided();
    for (int i = 0; i < N / 3; i++) sig("strided", i, *(u64 *)&rd[i]);
    sig("shifts", 0, shifts());
    dump32("shifts", r32);
    slides();
    for (int i = 0; i < N; i++) sig("slides", i, (u64)(unsigned short)r16[i]);
    float m = absmax(af, N);
    sig("absmax", 0, *(unsigned *)&m);
    signed char q[N];
    quantize(af, q, 127.0f / m, N);
    for (int i = 0; i < N; i++) sig("quantize", i, (u64)(unsigned char)q[i]);
    u64 vlenb;
    __asm__ volatile("csrr %0, vlenb" : "=r"(vlenb));
    sig("vlenb", 0, vlenb);
    sig_flush();
    return 0;
}
