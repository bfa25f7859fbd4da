/* intloop: a scalar integer loop (xorshift, multiply, table loads and stores) used as the
   hart's speed benchmark. Prints a checksum; exits with 0. */
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
    sail_puts("intloop checksum ");
    sail_print_hex(sum);
    sail_putchar('\n');
    return 0;
}
