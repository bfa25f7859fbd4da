/* Exhaustive host-side check that the reordered exp of k_eltwise's swiglu loop (swiglu_rows3,
 * programs/kernels/k_eltwise.c) gives the same bits as vexpf (programs/kernels/kmath.h) on
 * -x, for all 2^32 f32 patterns x: the same operations, except that
 *   - the clamp is taken on x and negated into the products: min(max(-x, -104), 89) is
 *     -max(min(x, 104), -89) (RISC-V's fmin/fmax return the other operand of a NaN and order
 *     -0 below +0, so this holds for NaNs and zeros too), the product with log2(e) takes
 *     -log2(e), and the first reduction step is vfnmacc (-(ln2_hi n) - u instead of
 *     -(ln2_hi n) + t, u = -t): every step is exact negation under round to nearest even;
 *   - the two scale exponents come from m = n + 254: m >> 1 is (n >> 1) + 127 and m - (m >> 1)
 *     is n - (n >> 1) + 127 (integer identities).
 * Build and run (about ten minutes on one core; must not use -ffast-math):
 *   clang -O2 -ffp-contract=off -o /tmp/silu_exp_check testbench/tools/silu_exp_check.c -lm
 *   /tmp/silu_exp_check          # exit status 0 iff no mismatch
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "vexpf_model.h"

/* the kernel's sequence on x itself */
static float exp_neg(float x) {
    float u = fminf(x, 104.0f);                         /* vfmin.vf */
    u = fmaxf(u, -89.0f);                               /* vfmax.vf */
    const int32_t n = (int32_t)nearbyintf(u * -1.44269502163f); /* vfmul.vf, vfcvt.x.f (RNE) */
    const float nf = (float)n;
    float r = fmaf(-0.693145751953125f, nf, -u);        /* vfnmacc.vf: -(ln2_hi n) - u, one rounding */
    r = fmaf(-1.4286068203094172e-06f, nf, r);          /* vfnmsac.vf */
    float p = fmaf(1.0f / 5040.0f, r, VEXPF_C[0]);            /* splat 1/720, vfmacc.vf 1/5040 */
    for (int i = 1; i < 7; i++) {
        p = fmaf(p, r, VEXPF_C[i]);
    }
    const int32_t m = n + 254, m1 = m >> 1, m2 = m - m1;
    p = p * fbits((uint32_t)m1 << 23);
    return p * fbits((uint32_t)m2 << 23);
}

int main(void) {
    uint64_t bad = 0;
    for (uint64_t i = 0; i < (1ull << 32); i++) {
        const float x = fbits((uint32_t)i);
        const float want = vexpf(-x), got = exp_neg(x);
        if (!(bitsf(want) == bitsf(got) || (isnan(want) && isnan(got)))) {
            if (bad < 20) {
                printf("mismatch x=%08x want %08x got %08x\n", (uint32_t)i, bitsf(want), bitsf(got));
            }
            bad++;
        }
    }
    printf("all 2^32 patterns: %llu mismatches\n", (unsigned long long)bad);
    return bad != 0;
}
