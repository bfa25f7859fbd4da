/* The host model of the kernels' vexpf (programs/kernels/kmath.h), one lane, shared by the
 * exhaustive checkers silu_exp_check.c and silu_div_check.c: the same operations in the same
 * order with C's fmaf (one rounding each). Build the checkers with -ffp-contract=off and
 * never with -ffast-math. */
#ifndef VEXPF_MODEL_H
#define VEXPF_MODEL_H

#include <math.h>
#include <stdint.h>
#include <string.h>

static float fbits(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static uint32_t bitsf(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

/* The Horner coefficients after the leading 1/5040, highest degree first. */
static const float VEXPF_C[7] = {1.0f / 720.0f, 1.0f / 120.0f, 1.0f / 24.0f, 1.0f / 6.0f,
                                 0.5f,          1.0f,          1.0f};

/* vexpf_* of kmath.h: clamp, n = round(x log2 e), a two-part ln 2 reduction, the degree-7
 * Horner polynomial, and the scale 2^n applied in two halves. */
static float vexpf(float x) {
    x = fmaxf(x, -104.0f);
    x = fminf(x, 89.0f);
    const int32_t n = (int32_t)nearbyintf(x * 1.44269502163f); /* vfcvt.x.f.v, RNE */
    const float nf = (float)n;
    float r = fmaf(-0.693145751953125f, nf, x);
    r = fmaf(-1.4286068203094172e-06f, nf, r);
    float p = 1.0f / 5040.0f;
    for (int i = 0; i < 7; i++) {
        p = fmaf(p, r, VEXPF_C[i]);
    }
    const int32_t n1 = n >> 1, n2 = n - n1;
    p = p * fbits((uint32_t)(n1 + 127) << 23);
    return p * fbits((uint32_t)(n2 + 127) << 23);
}

#endif
