/* intloop: a scalar integer loop (xorshift, multiply, table loads and stores) used as the
   hart's speed benchmark. Prints a checksum through ecall write, so the same source also
   runs as a Linux program under qemu-riscv64 (benches/hart.rs); exits with 0. */
#include "sail.h"

#define N 1000000
#define TABLE 256

static unsigned long table[TABLE];

int main(void) {
    unsigned long x = 0x9e3779b97f4a7c15UL, sum = 0;
    for (int i = 0; i < TABLE; i++) table[i] = (unsigned long)i * 0x100000001b3UL;
    for (int i = 0; i < N; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        unsigned long t = table[x & (TABLE - 1)];
        sum += t * (x | 1);
        table[(x >> 8) & (TABLE - 1)] = sum;
    }
    char line[] = "intloop checksum 0000000000000000\n";
    for (int i = 0; i < 16; i++) line[17 + i] = "0123456789abcdef"[(sum >> (60 - 4 * i)) & 15];
    sail_write(1, line, sizeof line - 1);
    return 0;
}
