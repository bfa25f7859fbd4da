/* vecloop: an RVV kernel loop (GGML's q8_0 dot-product core: vle8, vwmul, vwredsum,
   vmv.x.s) over a 4 KiB pair of int8 rows, repeated; the hart's vector speed benchmark.
   Prints the checksum through ecall write; exits with 0. */
#include <riscv_vector.h>
#include "sail.h"

#define LEN 4096
#define REPS 400

static signed char x[LEN], y[LEN];

static int dot(const signed char *a, const signed char *b, int n) {
    int total = 0;
    while (n > 0) {
        size_t vl = __riscv_vsetvl_e8m1(n);
        vint16m2_t p = __riscv_vwmul_vv_i16m2(__riscv_vle8_v_i8m1(a, vl), __riscv_vle8_v_i8m1(b, vl), vl);
        vint32m1_t s = __riscv_vwredsum_vs_i16m2_i32m1(p, __riscv_vmv_v_x_i32m1(0, 1), vl);
        total += __riscv_vmv_x_s_i32m1_i32(s);
        a += vl;
        b += vl;
        n -= (int)vl;
    }
    return total;
}

int main(void) {
    unsigned long r = 0x2545f4914f6cdd1dUL, sum = 0;
    for (int i = 0; i < LEN; i++) {
        r ^= r << 13;
        r ^= r >> 7;
        r ^= r << 17;
        x[i] = (signed char)r;
        y[i] = (signed char)(r >> 8);
    }
    for (int k = 0; k < REPS; k++) {
        sum = sum * 31 + (unsigned)dot(x, y, LEN - k);
    }
    char line[] = "vecloop checksum 0000000000000000\n";
    for (int i = 0; i < 16; i++) line[17 + i] = "0123456789abcdef"[(sum >> (60 - 4 * i)) & 15];
    sail_write(1, line, sizeof line - 1);
    return 0;
}
