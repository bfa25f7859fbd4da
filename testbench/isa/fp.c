/* F, D and Zfh: arithmetic in every rounding mode (static and dynamic), fused multiply-add,
 * compares, min/max, sign injection, classify, conversions, NaN boxing, and the fflags each
 * operation raises (read and cleared after every operation). */
#include "sig.h"

#define RM_ALL(X, ...)                                                                    \
    X(".rne", ", rne", __VA_ARGS__)                                                       \
    X(".rtz", ", rtz", __VA_ARGS__)                                                       \
    X(".rdn", ", rdn", __VA_ARGS__)                                                       \
    X(".rup", ", rup", __VA_ARGS__)                                                       \
    X(".rmm", ", rmm", __VA_ARGS__)                                                       \
    X(".dyn", "", __VA_ARGS__)

static unsigned n;

static u64 flags(void) {
    u64 f;
    __asm__ volatile("csrrw %0, fflags, zero" : "=r"(f));
    return f;
}

static void out(const char *name, u64 v) {
    sig(name, n, v);
    sig("fflags", n, flags());
    n++;
}

/* Two operands in, FP result out. */
#define BIN(insn, mv, rm, a, b)                                                           \
    ({                                                                                    \
        u64 r_;                                                                           \
        __asm__ volatile("fmv." mv ".x ft0, %1\n\tfmv." mv ".x ft1, %2\n\t" insn          \
                         " ft2, ft0, ft1" rm "\n\tfmv.x." mv " %0, ft2"                   \
                         : "=r"(r_)                                                       \
                         : "r"(a), "r"(b)                                                 \
                         : "ft0", "ft1", "ft2");                                          \
        r_;                                                                               \
    })
/* Two operands in, integer result out (compares). */
#define CMP(insn, mv, a, b)                                                               \
    ({                                                                                    \
        u64 r_;                                                                           \
        __asm__ volatile("fmv." mv ".x ft0, %1\n\tfmv." mv ".x ft1, %2\n\t" insn          \
                         " %0, ft0, ft1"                                                  \
                         : "=r"(r_)                                                       \
                         : "r"(a), "r"(b)                                                 \
                         : "ft0", "ft1");                                                 \
        r_;                                                                               \
    })
#define UN(insn, mv, rm, a)                                                               \
    ({                                                                                    \
        u64 r_;                                                                           \
        __asm__ volatile("fmv." mv ".x ft0, %1\n\t" insn " ft2, ft0" rm                   \
                         "\n\tfmv.x." mv " %0, ft2"                                       \
                         : "=r"(r_)                                                       \
                         : "r"(a)                                                         \
                         : "ft0", "ft2");                                                 \
        r_;                                                                               \
    })
#define TER(insn, mv, rm, a, b, c)                                                        \
    ({                                                                                    \
        u64 r_;                                                                           \
        __asm__ volatile("fmv." mv ".x ft0, %1\n\tfmv." mv ".x ft1, %2\n\tfmv." mv        \
                         ".x ft3, %3\n\t" insn " ft2, ft0, ft1, ft3" rm                   \
                         "\n\tfmv.x." mv " %0, ft2"                                       \
                         : "=r"(r_)                                                       \
                         : "r"(a), "r"(b), "r"(c)                                         \
                         : "ft0", "ft1", "ft2", "ft3");                                   \
        r_;                                                                               \
    })
/* FP in, integer out. */
#define TOINT(insn, mv, rm, a)                                                            \
    ({                                                                                    \
        u64 r_;                                                                           \
        __asm__ volatile("fmv." mv ".x ft0, %1\n\t" insn " %0, ft0" rm                    \
                         : "=r"(r_)                                                       \
                         : "r"(a)                                                         \
                         : "ft0");                                                        \
        r_;                                                                               \
    })
/* Integer in, FP out. */
#define FROMINT(insn, mv, rm, a)                                                          \
    ({                                                                                    \
        u64 r_;                                                                           \
        __asm__ volatile(insn " ft0, %1" rm "\n\tfmv.x." mv " %0, ft0"                    \
                         : "=r"(r_)                                                       \
                         : "r"(a)                                                         \
                         : "ft0");                                                        \
        r_;                                                                               \
    })
/* FP of one format in (mv_in), another out (mv_out). */
#define CVT(insn, mvi, mvo, rm, a)                                                        \
    ({                                                                                    \
        u64 r_;                                                                           \
        __asm__ volatile("fmv." mvi ".x ft0, %1\n\t" insn " ft2, ft0" rm                  \
                         "\n\tfmv.x." mvo " %0, ft2"                                      \
                         : "=r"(r_)                                                       \
                         : "r"(a)                                                         \
                         : "ft0", "ft2");                                                 \
        r_;                                                                               \
    })

/* A random value of a format with `eb` exponent and `fb` fraction bits: specials,
 * subnormals, values near 1, near the overflow and underflow thresholds, random bits. */
static u64 rng_fp(int eb, int fb) {
    u64 r = rng();
    u64 emax = (1UL << eb) - 1, bias = emax >> 1;
    u64 sign = (r >> 63) << (eb + fb);
    u64 frac = rng() & ((1UL << fb) - 1);
    u64 e;
    switch (r % 10) {
    case 0:
    case 9: { /* specials */
        static const int kinds = 8;
        switch ((r >> 8) % kinds) {
        case 0: return sign;                                     /* zero */
        case 1: return sign | (emax << fb);                      /* inf */
        case 2: return (emax << fb) | (1UL << (fb - 1)) | frac;  /* qNaN */
        case 3: return (emax << fb) | (frac ? frac >> 1 : 1);    /* sNaN */
        case 4: return sign | 1;                                 /* min subnormal */
        case 5: return sign | ((emax - 1) << fb) | ((1UL << fb) - 1); /* max finite */
        case 6: return sign | (1UL << fb);                       /* min normal */
        default: return sign | (bias << fb);                     /* one */
        }
    }
    case 1: return sign | frac; /* subnormal */
    case 2: e = emax - 1 - (rng() % 3); break;  /* near overflow */
    case 3: e = 1 + (rng() % 3); break;         /* near underflow */
    case 4: return rng() & ((1UL << (eb + fb + 1)) - 1); /* random bits */
    default: e = bias - 8 + (rng() % 17); break; /* near one */
    }
    return sign | (e << fb) | frac;
}

static u64 rng_fp_small_int(int eb, int fb) {
    /* Exactly representable halves and integers: rounding-tie cases for conversions. */
    i64 k = (i64)(rng() % 4001) - 2000;
    u64 bias = ((1UL << eb) - 1) >> 1;
    if (k == 0) return 0;
    u64 sign = k < 0 ? 1UL << (eb + fb) : 0;
    u64 m = (u64)(k < 0 ? -k : k); /* value = m / 2 */
    int top = 63 - __builtin_clzl(m);
    u64 e = bias + top - 1;
    u64 frac = top >= fb ? (m >> (top - fb)) : (m << (fb - top));
    return sign | (e << fb) | (frac & ((1UL << fb) - 1));
}

#define ARITH(rmname, rm, sfx, mv, a, b, c)                                              \
    out("fadd." sfx rmname, BIN("fadd." sfx, mv, rm, a, b));                              \
    out("fsub." sfx rmname, BIN("fsub." sfx, mv, rm, a, b));                              \
    out("fmul." sfx rmname, BIN("fmul." sfx, mv, rm, a, b));                              \
    out("fdiv." sfx rmname, BIN("fdiv." sfx, mv, rm, a, b));                              \
    out("fsqrt." sfx rmname, UN("fsqrt." sfx, mv, rm, a));                                \
    out("fmadd." sfx rmname, TER("fmadd." sfx, mv, rm, a, b, c));                         \
    out("fmsub." sfx rmname, TER("fmsub." sfx, mv, rm, a, b, c));                         \
    out("fnmsub." sfx rmname, TER("fnmsub." sfx, mv, rm, a, b, c));                       \
    out("fnmadd." sfx rmname, TER("fnmadd." sfx, mv, rm, a, b, c));                       \
    out("fcvt.w." sfx rmname, TOINT("fcvt.w." sfx, mv, rm, a));                           \
    out("fcvt.wu." sfx rmname, TOINT("fcvt.wu." sfx, mv, rm, a));                         \
    out("fcvt.l." sfx rmname, TOINT("fcvt.l." sfx, mv, rm, a));                           \
    out("fcvt.lu." sfx rmname, TOINT("fcvt.lu." sfx, mv, rm, a));                         \
    out("fcvt.w." sfx ".half" rmname, TOINT("fcvt.w." sfx, mv, rm, h));                   \
    out("fcvt." sfx ".w" rmname, FROMINT("fcvt." sfx ".w", mv, rm, i));                   \
    out("fcvt." sfx ".wu" rmname, FROMINT("fcvt." sfx ".wu", mv, rm, i));                 \
    out("fcvt." sfx ".l" rmname, FROMINT("fcvt." sfx ".l", mv, rm, i));                   \
    out("fcvt." sfx ".lu" rmname, FROMINT("fcvt." sfx ".lu", mv, rm, i));

#define FORMAT(sfx, mv, eb, fb)                                                           \
    for (unsigned it = 0; it < ITERS; it++) {                                             \
        u64 a = rng_fp(eb, fb), b = rng_fp(eb, fb), c = rng_fp(eb, fb);                   \
        u64 h = rng_fp_small_int(eb, fb), i = rng_int();                                  \
        u64 frm = rng() % 5;                                                              \
        __asm__ volatile("fsrm %0" : : "r"(frm));                                         \
        RM_ALL(ARITH, sfx, mv, a, b, c)                                                   \
        out("fsgnj." sfx, BIN("fsgnj." sfx, mv, "", a, b));                               \
        out("fsgnjn." sfx, BIN("fsgnjn." sfx, mv, "", a, b));                             \
        out("fsgnjx." sfx, BIN("fsgnjx." sfx, mv, "", a, b));                             \
        out("fmin." sfx, BIN("fmin." sfx, mv, "", a, b));                                 \
        out("fmax." sfx, BIN("fmax." sfx, mv, "", a, b));                                 \
        out("feq." sfx, CMP("feq." sfx, mv, a, b));                                       \
        out("flt." sfx, CMP("flt." sfx, mv, a, b));                                       \
        out("fle." sfx, CMP("fle." sfx, mv, a, b));                                       \
        out("feq.self." sfx, CMP("feq." sfx, mv, a, a));                                  \
        out("fclass." sfx, TOINT("fclass." sfx, mv, "", a));                              \
    }

#define CONVERT(rmname, rm, a, b, c)                                                      \
    out("fcvt.s.d" rmname, CVT("fcvt.s.d", "d", "w", rm, a));                             \
    out("fcvt.h.d" rmname, CVT("fcvt.h.d", "d", "h", rm, a));                             \
    out("fcvt.h.s" rmname, CVT("fcvt.h.s", "w", "h", rm, b));                             \
    out("fcvt.d.s" rmname, CVT("fcvt.d.s", "w", "d", rm, b));                             \
    out("fcvt.d.h" rmname, CVT("fcvt.d.h", "h", "d", rm, c));                             \
    out("fcvt.s.h" rmname, CVT("fcvt.s.h", "h", "w", rm, c));

#ifndef ITERS
#define ITERS 24
#endif

int main(void) {
    FORMAT("s", "w", 8, 23)
    FORMAT("d", "d", 11, 52)
    FORMAT("h", "h", 5, 10)
    for (unsigned it = 0; it < 4 * ITERS; it++) {
        u64 a = rng_fp(11, 52), b = rng_fp(8, 23), c = rng_fp(5, 10);
        __asm__ volatile("fsrm %0" : : "r"(rng() % 5));
        RM_ALL(CONVERT, a, b, c)
    }
    /* NaN boxing: a single or half read from a register that does not hold a boxed value
       is the canonical NaN; fmv.x.w and fsw move the raw low bits. */
    u64 raw = 0x0000000012345678UL, r;
    __asm__ volatile("fmv.d.x ft0, %1\n\tfadd.s ft1, ft0, ft0\n\tfmv.x.d %0, ft1"
                     : "=r"(r) : "r"(raw) : "ft0", "ft1");
    out("box.fadd.s", r);
    __asm__ volatile("fmv.d.x ft0, %1\n\tfsgnj.h ft1, ft0, ft0\n\tfmv.x.d %0, ft1"
                     : "=r"(r) : "r"(raw) : "ft0", "ft1");
    out("box.fsgnj.h", r);
    __asm__ volatile("fmv.d.x ft0, %1\n\tfmv.x.w %0, ft0" : "=r"(r) : "r"(raw) : "ft0");
    out("box.fmv.x.w", r);
    __asm__ volatile("fmv.w.x ft0, %1\n\tfmv.x.d %0, ft0" : "=r"(r) : "r"(raw) : "ft0");
    out("box.fmv.w.x", r);
    static volatile u64 slot[2];
    volatile u64 *p = slot;
    __asm__ volatile("fmv.d.x ft0, %0\n\tfsw ft0, 0(%1)\n\tfsh ft0, 8(%1)\n\tflw ft1, 0(%1)\n\t"
                     "fmv.x.d %0, ft1"
                     : "+r"(raw) : "r"(p) : "ft0", "ft1", "memory");
    out("box.flw", raw);
    out("box.mem0", slot[0]);
    out("box.mem1", slot[1]);
    /* fcsr as a whole. */
    __asm__ volatile("fscsr %0, %1" : "=r"(r) : "r"(0xffUL));
    out("fcsr.old", r);
    __asm__ volatile("frcsr %0" : "=r"(r));
    out("fcsr.new", r);
    __asm__ volatile("fsrmi 0");
    sig_flush();
    return 0;
}
