/* sig.h: result signatures for the QEMU differential tests (doc/programs.md).
 *
 * A test program prints one line per checked value, "name hexvalue", through ecall write
 * (64) and ends with ecall exit (93): the same system calls under qemu-riscv64 (Linux) and
 * in the emulator, so the two outputs must be byte-identical. Inputs come from a
 * xorshift64* generator seeded with SEED (-DSEED=n at build time). */
#ifndef SIG_H
#define SIG_H

#ifndef SEED
#define SEED 1
#endif

typedef unsigned long u64;
typedef long i64;

static inline long sig_sys_write(const void *buf, unsigned long len) {
    register long a0 __asm__("a0") = 1;
    register long a1 __asm__("a1") = (long)buf;
    register long a2 __asm__("a2") = (long)len;
    register long a7 __asm__("a7") = 64;
    __asm__ volatile("ecall" : "+r"(a0) : "r"(a1), "r"(a2), "r"(a7) : "memory");
    return a0;
}

static char sig_buf[8192];
static unsigned sig_len;

static void sig_flush(void) {
    if (sig_len) sig_sys_write(sig_buf, sig_len);
    sig_len = 0;
}

static void sig_char(char c) {
    if (sig_len == sizeof sig_buf) sig_flush();
    sig_buf[sig_len++] = c;
}

static void sig_str(const char *s) {
    while (*s) sig_char(*s++);
}

static void sig_hex(u64 v) {
    for (int i = 60; i >= 0; i -= 4) sig_char("0123456789abcdef"[(v >> i) & 15]);
}

/* One signature line: "<name>[<index>] <value>". */
static void sig(const char *name, unsigned idx, u64 v) {
    sig_str(name);
    sig_char('[');
    sig_hex(idx);
    sig_str("] ");
    sig_hex(v);
    sig_char('\n');
}

static u64 rng_state = 0x9e3779b97f4a7c15UL ^ ((u64)SEED * 0xbf58476d1ce4e5b9UL);

static u64 rng(void) {
    u64 x = rng_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return x * 0x2545f4914f6cdd1dUL;
}

/* A random 64-bit value, biased towards the edges integer code trips on. */
static __attribute__((unused)) u64 rng_int(void) {
    static const u64 edge[] = {0,
                               1,
                               2,
                               (u64)-1,
                               (u64)-2,
                               0x7fffffffffffffffUL,
                               0x8000000000000000UL,
                               0x7fffffffUL,
                               0x80000000UL,
                               0xffffffff80000000UL,
                               0xffffffffUL,
                               0x100000000UL,
                               63,
                               64,
                               31,
                               32};
    u64 r = rng();
    switch (r & 3) {
    case 0: return edge[(r >> 8) % (sizeof edge / sizeof edge[0])];
    case 1: return (u64)(i64)(int)rng(); /* sign-extended 32-bit */
    default: return rng();
    }
}

#endif
