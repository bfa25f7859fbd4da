/* DDR stream microbenchmark.
 *
 * STREAM_READ: reads src0 (contiguous, a whole number of 32-bit words) `repeat` times with
 *   unit-stride vector loads (e32, LMUL 8) and writes the wrapping 32-bit sum of every word
 *   read to dst (I32 [1]), so no load can be optimised away and the result is checkable:
 *   repeat * (sum of the words) mod 2^32.
 * STREAM_COPY: copies src0 to dst (same byte size, both contiguous) `repeat` times with
 *   vle8/vse8 at LMUL 8.
 * params[0] = repeat (>= 1).
 */
#include <riscv_vector.h>

#include "kcommon.h"

static uint64_t contiguous_bytes(const struct sail_tensor *t) {
    uint64_t nb = type_block_bytes(t->type);
    for (int d = 0; d < 4; d++) {
        if (t->ne[d] > 1 && t->nb[d] != nb) {
            return 0;
        }
        nb *= (uint64_t)t->ne[d];
    }
    return nb;
}

int sail_kernel(const struct sail_op *op) {
    TRY(desc_check(op));
    if (op->op != SAIL_OP_STREAM_READ && op->op != SAIL_OP_STREAM_COPY) {
        return SAIL_ERR_OP;
    }
    if (op->n_src < 1) {
        return SAIL_ERR_SHAPE;
    }
    const struct sail_tensor *src = &op->src[0];
    const struct sail_tensor *dst = &op->dst;
    TRY(tensor_check(src));
    TRY(tensor_check(dst));
    const int32_t repeat = op->params[SAIL_P_STREAM_REPEAT];
    if (repeat < 1) {
        return SAIL_ERR_PARAM;
    }
    const uint64_t bytes = contiguous_bytes(src);
    if (bytes == 0) {
        return SAIL_ERR_STRIDE;
    }
    if (op->op == SAIL_OP_STREAM_READ) {
        if (dst->type != SAIL_TYPE_I32 || tensor_nelements(dst) != 1) {
            return SAIL_ERR_TYPE;
        }
        if (bytes % 4 != 0) {
            return SAIL_ERR_SHAPE;
        }
        const uint32_t *w = (const uint32_t *)(uintptr_t)src->data;
        const uint64_t words = bytes / 4;
        const size_t vlmax = __riscv_vsetvlmax_e32m8();
        vuint32m8_t acc = __riscv_vmv_v_x_u32m8(0, vlmax);
        for (int32_t r = 0; r < repeat; r++) {
            for (uint64_t i = 0; i < words;) {
                size_t vl = __riscv_vsetvl_e32m8((size_t)(words - i));
                acc = __riscv_vadd_vv_u32m8_tu(acc, acc, __riscv_vle32_v_u32m8(w + i, vl), vl);
                i += vl;
            }
        }
        vuint32m1_t s = __riscv_vredsum_vs_u32m8_u32m1(acc, __riscv_vmv_s_x_u32m1(0, 1), vlmax);
        *(uint32_t *)(uintptr_t)dst->data = __riscv_vmv_x_s_u32m1_u32(s);
        return SAIL_OK;
    }
    if (contiguous_bytes(dst) != bytes) {
        return SAIL_ERR_SHAPE;
    }
    const uint8_t *s = (const uint8_t *)(uintptr_t)src->data;
    uint8_t *d = (uint8_t *)(uintptr_t)dst->data;
    for (int32_t r = 0; r < repeat; r++) {
        for (uint64_t i = 0; i < bytes;) {
            size_t vl = __riscv_vsetvl_e8m8((size_t)(bytes - i));
            __riscv_vse8_v_u8m8(d + i, __riscv_vle8_v_u8m8(s + i, vl), vl);
            i += vl;
        }
    }
    return SAIL_OK;
}
