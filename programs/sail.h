/* sail.h: the runtime of bare-metal Sail programs (doc/programs.md).
 *
 * Console and exit go through the card's MMIO page at 0x10000000:
 *   +0x0  console: a byte stored here is printed
 *   +0x8  exit: a 32-bit value stored here ends the run with that status
 * sail_write() and sail_exit_ecall() use the Linux system call numbers (write = 64,
 * exit = 93), which the emulator implements too, so test programs behave the same under
 * qemu-riscv64. */
#ifndef SAIL_H
#define SAIL_H

#define SAIL_MMIO_BASE 0x10000000UL
#define SAIL_CONSOLE (*(volatile unsigned char *)(SAIL_MMIO_BASE + 0x0))
#define SAIL_EXIT (*(volatile unsigned int *)(SAIL_MMIO_BASE + 0x8))

static inline void sail_putchar(char c) { SAIL_CONSOLE = (unsigned char)c; }

static inline void sail_puts(const char *s) {
    while (*s) sail_putchar(*s++);
}

/* Prints v as 16 hex digits. */
static inline void sail_print_hex(unsigned long v) {
    for (int i = 60; i >= 0; i -= 4) sail_putchar("0123456789abcdef"[(v >> i) & 15]);
}

/* Prints v in decimal. */
static inline void sail_print_dec(long v) {
    char buf[24];
    int n = 0;
    unsigned long u = v < 0 ? -(unsigned long)v : (unsigned long)v;
    do {
        buf[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) sail_putchar('-');
    while (n) sail_putchar(buf[--n]);
}

/* Cycles since reset (the emulator's cycle count; instructions in functional mode). */
static inline unsigned long sail_cycles(void) {
    unsigned long c;
    __asm__ volatile("rdcycle %0" : "=r"(c));
    return c;
}

/* Instructions retired since reset. */
static inline unsigned long sail_instret(void) {
    unsigned long c;
    __asm__ volatile("rdinstret %0" : "=r"(c));
    return c;
}

/* Ends the run with `code` through the MMIO exit register. */
static inline __attribute__((noreturn)) void sail_exit(int code) {
    SAIL_EXIT = (unsigned int)code;
    for (;;) {
    }
}

/* write(fd, buf, len) through ecall 64 (the emulator and Linux both implement it). */
static inline long sail_write(int fd, const void *buf, unsigned long len) {
    register long a0 __asm__("a0") = fd;
    register long a1 __asm__("a1") = (long)buf;
    register long a2 __asm__("a2") = (long)len;
    register long a7 __asm__("a7") = 64;
    __asm__ volatile("ecall" : "+r"(a0) : "r"(a1), "r"(a2), "r"(a7) : "memory");
    return a0;
}

/* exit(code) through ecall 93. */
static inline __attribute__((noreturn)) void sail_exit_ecall(int code) {
    register long a0 __asm__("a0") = code;
    register long a7 __asm__("a7") = 93;
    __asm__ volatile("ecall" : : "r"(a0), "r"(a7));
    for (;;) {
    }
}

#endif
