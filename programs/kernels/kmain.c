/* Bare-metal entry of every kernel program: the shared start-up code (programs/crt0.S) calls
 * main, and exits with its return value (ecall 93), which is the kernel's status. */
#include "kcommon.h"

int main(void) {
    return sail_kernel((const struct sail_op *)(uintptr_t)SAIL_DESC_ADDR);
}
