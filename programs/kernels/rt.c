/* What a freestanding kernel program needs besides its kernel: the memory functions the
 * compiler may call, and the exit path. The exit convention is provisional until the shared
 * runtime of programs/ (sail.h) lands: `ecall` with a7 = 93 (exit) and the status in a0. */
#include <stddef.h>
#include <stdint.h>

void *memcpy(void *restrict d, const void *restrict s, size_t n) {
    uint8_t *dp = d;
    const uint8_t *sp = s;
    while (n--) {
        *dp++ = *sp++;
    }
    return d;
}

void *memmove(void *d, const void *s, size_t n) {
    uint8_t *dp = d;
    const uint8_t *sp = s;
    if (dp < sp) {
        while (n--) {
            *dp++ = *sp++;
        }
    } else {
        while (n--) {
            dp[n] = sp[n];
        }
    }
    return d;
}

void *memset(void *d, int c, size_t n) {
    uint8_t *dp = d;
    while (n--) {
        *dp++ = (uint8_t)c;
    }
    return d;
}

__attribute__((noreturn)) void sail_exit(int status) {
    register long a0 __asm__("a0") = status;
    register long a7 __asm__("a7") = 93;
    for (;;) {
        __asm__ volatile("ecall" : : "r"(a0), "r"(a7) : "memory");
    }
}
