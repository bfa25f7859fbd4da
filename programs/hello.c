/* hello: the console, the exit register and the cycle counter. */
#include "sail.h"

int main(void) {
    sail_puts("hello from sail\n");
    sail_puts("cycles: ");
    sail_print_dec((long)sail_cycles());
    sail_putchar('\n');
    sail_exit(0);
}
