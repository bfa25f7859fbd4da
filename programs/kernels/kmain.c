/* Bare-metal entry of every kernel program: the shared start-up code (programs/crt0.S) calls
 * main, and exits with its return value (ecall 93), which is the kernel's status.
 *
 * The descriptor is copied from DDR into the top of the scratchpad first (four 128-byte
 * vector loads and stores), and the kernel reads that copy: the core has no data cache, and
 * a kernel reads its descriptor's fields (shapes, strides, addresses) many times. */
#include <riscv_vector.h>

#include "kcommon.h"

_Static_assert(sizeof(struct sail_op) <= SAIL_DESC_COPY_SIZE, "the descriptor fits its copy");

int main(void) {
    const uint8_t *from = (const uint8_t *)(uintptr_t)SAIL_DESC_ADDR;
    uint8_t *to = (uint8_t *)(uintptr_t)SAIL_DESC_COPY_ADDR;
    for (size_t i = 0; i < SAIL_DESC_COPY_SIZE;) {
        size_t vl = __riscv_vsetvl_e8m8(SAIL_DESC_COPY_SIZE - i);
        __riscv_vse8_v_u8m8(to + i, __riscv_vle8_v_u8m8(from + i, vl), vl);
        i += vl;
    }
    return sail_kernel((const struct sail_op *)(uintptr_t)SAIL_DESC_COPY_ADDR);
}
