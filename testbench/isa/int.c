/* Integer and M-extension instructions on seeded random and edge operands. */
#include "sig.h"

#define RR(op, a, b)                                                                      \
    ({                                                                                    \
        u64 r_;                                                                           \
        __asm__ volatile(op " %0, %1, %2" : "=r"(r_) : "r"(a), "r"(b));                   \
        r_;                                                                               \
    })
#define RI(op, a, imm)                                                                    \
    ({                                                                                    \
        u64 r_;                                                                           \
        __asm__ volatile(op " %0, %1, " #imm : "=r"(r_) : "r"(a));                        \
        r_;                                                                               \
    })

int main(void) {
    for (unsigned i = 0; i < 200; i++) {
        u64 a = rng_int(), b = rng_int();
        sig("add", i, RR("add", a, b));
        sig("sub", i, RR("sub", a, b));
        sig("sll", i, RR("sll", a, b));
        sig("slt", i, RR("slt", a, b));
        sig("sltu", i, RR("sltu", a, b));
        sig("xor", i, RR("xor", a, b));
        sig("srl", i, RR("srl", a, b));
        sig("sra", i, RR("sra", a, b));
        sig("or", i, RR("or", a, b));
        sig("and", i, RR("and", a, b));
        sig("addw", i, RR("addw", a, b));
        sig("subw", i, RR("subw", a, b));
        sig("sllw", i, RR("sllw", a, b));
        sig("srlw", i, RR("srlw", a, b));
        sig("sraw", i, RR("sraw", a, b));
        sig("mul", i, RR("mul", a, b));
        sig("mulh", i, RR("mulh", a, b));
        sig("mulhsu", i, RR("mulhsu", a, b));
        sig("mulhu", i, RR("mulhu", a, b));
        sig("div", i, RR("div", a, b));
        sig("divu", i, RR("divu", a, b));
        sig("rem", i, RR("rem", a, b));
        sig("remu", i, RR("remu", a, b));
        sig("mulw", i, RR("mulw", a, b));
        sig("divw", i, RR("divw", a, b));
        sig("divuw", i, RR("divuw", a, b));
        sig("remw", i, RR("remw", a, b));
        sig("remuw", i, RR("remuw", a, b));
        sig("addi", i, RI("addi", a, -2048));
        sig("slti", i, RI("slti", a, 5));
        sig("sltiu", i, RI("sltiu", a, -1));
        sig("xori", i, RI("xori", a, 0x555));
        sig("ori", i, RI("ori", a, -7));
        sig("andi", i, RI("andi", a, 0x7f0));
        sig("slli", i, RI("slli", a, 63));
        sig("srli", i, RI("srli", a, 33));
        sig("srai", i, RI("srai", a, 17));
        sig("addiw", i, RI("addiw", a, 2047));
        sig("slliw", i, RI("slliw", a, 31));
        sig("srliw", i, RI("srliw", a, 1));
        sig("sraiw", i, RI("sraiw", a, 13));
    }
    /* Loads and stores of every width, sign and zero extension. */
    static volatile unsigned char mem[64];
    for (unsigned i = 0; i < 64; i++) mem[i] = (unsigned char)rng();
    for (unsigned i = 0; i < 56; i += 3) {
        volatile unsigned char *p = mem + i;
        sig("lb", i, (u64)(i64) * (volatile signed char *)p);
        sig("lbu", i, *p);
        sig("lh", i, (u64)(i64) * (volatile short *)p);
        sig("lhu", i, *(volatile unsigned short *)p);
        sig("lw", i, (u64)(i64) * (volatile int *)p);
        sig("lwu", i, *(volatile unsigned *)p);
        sig("ld", i, *(volatile u64 *)p);
        *(volatile u64 *)p = rng();
        *(volatile unsigned *)(p + 1) = (unsigned)rng();
        *(volatile unsigned short *)(p + 2) = (unsigned short)rng();
    }
    for (unsigned i = 0; i < 64; i += 8) sig("mem", i, *(volatile u64 *)(mem + i));
    /* lui/auipc-built constants and a computed jump table (compressed code included). */
    u64 acc = 0;
    for (unsigned i = 0; i < 100; i++) {
        switch (rng() % 5) {
        case 0: acc += 0x12345678UL; break;
        case 1: acc ^= acc << 7; break;
        case 2: acc = acc * 3 + 1; break;
        case 3: acc -= i; break;
        default: acc = ~acc; break;
        }
    }
    sig("switch", 0, acc);
    sig_flush();
    return 0;
}
