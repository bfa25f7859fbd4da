/* Xpop_matmul v1: C wrappers for the matrix unit's instructions (doc/xpop-matmul.md).
 *
 *   xpop.mm   rs1, rs2   run x[rs2] 64-byte descriptors starting at address x[rs1];
 *                        blocks until every output of every descriptor is in memory
 *   xpop.info rd, sel    rd <- a property of the unit (XPOP_INFO_*)
 *
 * Both are R-type instructions in the custom-0 opcode, emitted with `.insn r`, which clang-19
 * and GNU as 2.40 both accept. Registers are named x-style so either assembler works.
 *
 * One descriptor computes C[i][j] = dot(A row j, B row i) for i < m, j < n over k elements,
 * bit-exact to GGML's reference dot product for the weight type: GGML's mul_mat with
 * src0 = A (weights, n rows), src1 = B (activations already in the weight type's vec_dot
 * type, m rows) and dst = C (f32, m rows of n).
 */
#ifndef SAIL_XPOP_H
#define SAIL_XPOP_H

#include <stdint.h>

/* Weight types (GGML ids); B must hold the matching activation type. */
#define XPOP_TYPE_F16 1u   /* B: F16, any k >= 1           */
#define XPOP_TYPE_Q4_0 2u  /* B: Q8_0, k a multiple of 32  */
#define XPOP_TYPE_Q8_0 8u  /* B: Q8_0, k a multiple of 32  */
#define XPOP_TYPE_Q4_K 12u /* B: Q8_K, k a multiple of 256 */
#define XPOP_TYPE_Q6_K 14u /* B: Q8_K, k a multiple of 256 */
#define XPOP_TYPE_BF16 30u /* B: BF16, any k >= 1          */

/* xpop.info selectors. */
#define XPOP_INFO_VERSION 0   /* 1 */
#define XPOP_INFO_TYPES 1     /* bit t set when weight type t is accepted */
#define XPOP_INFO_INT8_MACS 2 /* int8 multiply-accumulates per cycle */
#define XPOP_INFO_BF16_MACS 3 /* BF16 multiply-accumulates per cycle */
#define XPOP_INFO_JOBS 4      /* descriptors completed since reset */
#define XPOP_INFO_F16_MACS 5  /* F16 multiply-accumulates per cycle */

/* ctrl bit 8: A is stored transposed (F16 and BF16 only): element e of weight row j at
 * a + e * lda + 2 * j, i.e. memory holds k rows of n elements (lda >= 2n). */
#define XPOP_CTRL_A_TRANSPOSED (1u << 8)

/* The descriptor xpop.mm reads: 64 bytes, 8-byte aligned, little-endian.
 * Alignment: a and lda to 2 bytes; b and ldb to 4 (Q8_K) or 2 (Q8_0, BF16, F16); c and ldc to 4.
 * Strides must be at least one row when there is more than one row. */
struct xpop_desc {
    uint64_t a;    /* weight row 0 */
    uint64_t b;    /* activation row 0 */
    uint64_t c;    /* output row 0 (f32) */
    uint64_t lda;  /* bytes between weight rows */
    uint64_t ldb;  /* bytes between activation rows */
    uint64_t ldc;  /* bytes between output rows (>= 4n) */
    uint32_t m;    /* activation rows = output rows */
    uint32_t n;    /* weight rows = outputs per output row */
    uint32_t k;    /* elements per row */
    uint32_t ctrl; /* bits 7:0 weight type (XPOP_TYPE_*), bit 8 XPOP_CTRL_A_TRANSPOSED, 31:9 zero */
};

_Static_assert(sizeof(struct xpop_desc) == 64, "xpop_desc is 64 bytes");
_Static_assert(__builtin_offsetof(struct xpop_desc, m) == 0x30, "m at 0x30");
_Static_assert(__builtin_offsetof(struct xpop_desc, ctrl) == 0x3c, "ctrl at 0x3c");

/* Runs `count` descriptors stored back to back from `desc`. The "memory" clobber orders the
 * instruction after the stores that fill the descriptors and operands, and before the loads
 * that read C. */
static inline void xpop_mm(const struct xpop_desc *desc, uint64_t count) {
    __asm__ volatile(".insn r CUSTOM_0, 0, 0, x0, %0, %1" : : "r"(desc), "r"(count) : "memory");
}

/* Reads a property of the unit; `sel` must be a compile-time constant (XPOP_INFO_*). */
#define xpop_info(sel)                                                                      \
    ({                                                                                      \
        uint64_t xpop_info_rd_;                                                             \
        __asm__ volatile(".insn r CUSTOM_0, 1, %1, %0, x0, x0" : "=r"(xpop_info_rd_) : "i"(sel)); \
        xpop_info_rd_;                                                                      \
    })

/* Fills a descriptor for packed rows: A n x row(k), B m x row(k), C m x n. */
static inline void xpop_desc_packed(struct xpop_desc *d, uint32_t type, const void *a, const void *b,
                                    float *c, uint32_t m, uint32_t n, uint32_t k,
                                    uint64_t a_row_bytes, uint64_t b_row_bytes) {
    d->a = (uint64_t)(uintptr_t)a;
    d->b = (uint64_t)(uintptr_t)b;
    d->c = (uint64_t)(uintptr_t)c;
    d->lda = a_row_bytes;
    d->ldb = b_row_bytes;
    d->ldc = (uint64_t)n * sizeof(float);
    d->m = m;
    d->n = n;
    d->k = k;
    d->ctrl = type;
}

#endif /* SAIL_XPOP_H */
