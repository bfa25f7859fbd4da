/* Bare-metal entry of every kernel program: the shared start-up code (programs/crt0.S) calls
 * main, and exits with its return value (ecall 93), which is the kernel's status.
 *
 * The descriptor is copied from DDR into the top of the scratchpad first (four 128-byte
 * vector loads, then the four stores), and the kernel reads that copy: the core has no data cache, and
 * a kernel reads its descriptor's fields (shapes, strides, addresses) many times. */
#include <riscv_vector.h>

#include "kcommon.h"

_Static_assert(sizeof(struct sail_op) <= SAIL_DESC_COPY_SIZE, "the descriptor fits its copy");

int main(void) {
    const uint8_t *from = (const uint8_t *)(uintptr_t)SAIL_DESC_ADDR;
    uint8_t *to = (uint8_t *)(uintptr_t)SAIL_DESC_COPY_ADDR;
    const size_t vmax = __riscv_vsetvlmax_e8m8();
    if (4 * vmax >= SAIL_DESC_COPY_SIZE) {
        /* all four loads first, so that their DDR latencies overlap (VLEN >= 128) */
        const size_t v0 = vmax < SAIL_DESC_COPY_SIZE ? vmax : SAIL_DESC_COPY_SIZE;
        const size_t r1 = SAIL_DESC_COPY_SIZE - v0;
        const size_t v1 = vmax < r1 ? vmax : r1;
        const size_t r2 = r1 - v1;
        const size_t v2 = vmax < r2 ? vmax : r2;
        const size_t v3 = r2 - v2;
        vuint8m8_t a = __riscv_vle8_v_u8m8(from, v0);
        vuint8m8_t b = __riscv_vle8_v_u8m8(from + v0, v1);
        vuint8m8_t c = __riscv_vle8_v_u8m8(from + v0 + v1, v2);
        vuint8m8_t d = __riscv_vle8_v_u8m8(from + v0 + v1 + v2, v3);
        __riscv_vse8_v_u8m8(to, a, v0);
        __riscv_vse8_v_u8m8(to + v0, b, v1);
        __riscv_vse8_v_u8m8(to + v0 + v1, c, v2);
        __riscv_vse8_v_u8m8(to + v0 + v1 + v2, d, v3);
    } else {
        for (size_t i = 0; i < SAIL_DESC_COPY_SIZE;) {
            size_t vl = __riscv_vsetvl_e8m8(SAIL_DESC_COPY_SIZE - i);
            __riscv_vse8_v_u8m8(to + i, __riscv_vle8_v_u8m8(from + i, vl), vl);
            i += vl;
        }
    }
    return sail_kernel((const struct sail_op *)(uintptr_t)SAIL_DESC_COPY_ADDR);
}
