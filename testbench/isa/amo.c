/* A extension: LR/SC and every AMO, word and doubleword. */
#include "sig.h"

#define AMO(op, addr, v)                                                                  \
    ({                                                                                    \
        u64 r_;                                                                           \
        __asm__ volatile(op " %0, %2, (%1)" : "=r"(r_) : "r"(addr), "r"(v) : "memory");   \
        r_;                                                                               \
    })

static volatile u64 cell[4];

int main(void) {
    static const char *const names_w[] = {"amoswap.w", "amoadd.w", "amoxor.w", "amoand.w", "amoor.w",
                                          "amomin.w", "amomax.w", "amominu.w", "amomaxu.w"};
    for (unsigned i = 0; i < 60; i++) {
        u64 init = rng_int(), v = rng_int();
        u64 r[18];
#define ONE(k, op, addr)                                                                  \
    cell[0] = init;                                                                       \
    r[k] = AMO(op, addr, v);                                                              \
    r[k + 9] = cell[0];
        ONE(0, "amoswap.d", &cell[0]);
        ONE(1, "amoadd.d", &cell[0]);
        ONE(2, "amoxor.d", &cell[0]);
        ONE(3, "amoand.d", &cell[0]);
        ONE(4, "amoor.d", &cell[0]);
        ONE(5, "amomin.d", &cell[0]);
        ONE(6, "amomax.d", &cell[0]);
        ONE(7, "amominu.d", &cell[0]);
        ONE(8, "amomaxu.d", &cell[0]);
        for (unsigned k = 0; k < 18; k++) sig("amo.d", i * 18 + k, r[k]);
        /* Word AMOs on the upper word of the cell (the lower must not change). */
        volatile unsigned *w = (volatile unsigned *)&cell[0] + 1;
        ONE(0, "amoswap.w", w);
        ONE(1, "amoadd.w", w);
        ONE(2, "amoxor.w", w);
        ONE(3, "amoand.w", w);
        ONE(4, "amoor.w", w);
        ONE(5, "amomin.w", w);
        ONE(6, "amomax.w", w);
        ONE(7, "amominu.w", w);
        ONE(8, "amomaxu.w", w);
        for (unsigned k = 0; k < 18; k++) sig(k < 9 ? names_w[k] : "amo.w.mem", i, r[k]);
    }
    /* LR/SC: a successful pair, then an SC without a reservation fails. */
    cell[1] = 5;
    u64 old, fail;
    __asm__ volatile("lr.d %0, (%2)\n sc.d %1, %3, (%2)"
                     : "=&r"(old), "=&r"(fail)
                     : "r"(&cell[1]), "r"(42UL)
                     : "memory");
    sig("lr.d", 0, old);
    sig("sc.d", 0, fail);
    sig("sc.d.mem", 0, cell[1]);
    __asm__ volatile("sc.d %0, %2, (%1)" : "=&r"(fail) : "r"(&cell[1]), "r"(7UL) : "memory");
    sig("sc.d.noreservation", 0, fail != 0);
    sig("sc.d.mem", 1, cell[1]);
    cell[2] = 0xffffffff80000001UL;
    __asm__ volatile("lr.w %0, (%2)\n sc.w %1, %3, (%2)"
                     : "=&r"(old), "=&r"(fail)
                     : "r"(&cell[2]), "r"(0x1234UL)
                     : "memory");
    sig("lr.w", 0, old);
    sig("sc.w", 0, fail);
    sig("sc.w.mem", 0, cell[2]);
    sig_flush();
    return 0;
}
