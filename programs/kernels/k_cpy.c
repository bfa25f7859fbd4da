/* CPY: copy with type conversion, GGML's ggml_cpy for F32/F16 (the KV-cache store:
 * F32 K/V rows into an F16 cache view).
 *
 *   src0: F32 or F16; dst: F32 or F16 with the same number of elements.
 * Elements are taken in row-major order of src0 and written in row-major order of dst, so
 * the shapes may differ (a [head_dim, n_head_kv, n_tokens] tensor into a 1-D cache view), as
 * in ggml_cpy. Element strides (nb[0]) may be anything, which covers a transposed V cache
 * (a dst view whose nb[0] is the context length times 2). F32 -> F16 rounds to nearest even (fcvt.h.s, ggml_cpu_fp32_to_fp16 on
 * RISC-V); F16 -> F32 is exact; same-type copies move bytes.
 */
#include <riscv_vector.h>

#include "kcommon.h"
#include "kvec.h"
#include "quants.h"

/* Converts n contiguous elements. */
static void convert_run(uint32_t st, uint32_t dt, uintptr_t s, uintptr_t d, int64_t n) {
    if (st == dt) {
        const uint64_t bytes = (uint64_t)n * type_block_bytes(st);
        for (uint64_t i = 0; i < bytes;) {
            size_t vl = __riscv_vsetvl_e8m8((size_t)(bytes - i));
            __riscv_vse8_v_u8m8((uint8_t *)(d + i), __riscv_vle8_v_u8m8((const uint8_t *)(s + i), vl), vl);
            i += vl;
        }
    } else if (st == SAIL_TYPE_F16) {
        f16_row_to_f32((float *)d, (const uint16_t *)s, n);
    } else if (dt == SAIL_TYPE_Q8_0) {
        /* F32 -> Q8_0 (a quantized KV cache): GGML's quantize_row_q8_0, n a multiple of 32 */
        quantize_row_q8_0((const float *)s, (block_q8_0 *)d, n);
    } else if (dt == SAIL_TYPE_BF16) {
        /* F32 -> BF16: round to nearest even, NaN kept quiet (GGML_FP32_TO_BF16) */
        const float *x = (const float *)s;
        uint16_t *y = (uint16_t *)d;
        for (int64_t i = 0; i < n; i++) {
            y[i] = f32_to_bf16(x[i]);
        }
    } else if (n < 8) {
        /* short runs (a transposed V cache stores one element per run): fcvt.h.s */
        const float *x = (const float *)s;
        uint16_t *y = (uint16_t *)d;
        for (int64_t i = 0; i < n; i++) {
            y[i] = f32_to_fp16(x[i]);
        }
    } else {
        /* fcvt.h.s's rounding and NaN on the vector unit (f32_to_f16_m4): the rows come
         * from DDR, where a scalar loop paid a load latency per element */
        const float *x = (const float *)s;
        uint16_t *y = (uint16_t *)d;
        /* the next strip is loaded before this one converts, so that its DDR latency hides
         * behind the conversion's 19 vector operations */
        /* whole pairs of strips first, two registers taking turns (one strip carried
         * over to the next iteration cost a 4-beat register copy per strip) */
        const size_t vm = __riscv_vsetvlmax_e32m4();
        const int64_t full = n & ~(int64_t)(2 * vm - 1); /* vm is a power of two */
        int64_t i0 = 0;
        if (full > 0) {
            vfloat32m4_t a = __riscv_vle32_v_f32m4(x, vm), b = __riscv_vle32_v_f32m4(x + vm, vm);
            for (; i0 < full; i0 += (int64_t)(2 * vm)) {
                /* the next pair (the last round reloads this pair, unused) */
                const int64_t nx = i0 + (int64_t)(2 * vm) < full ? i0 + (int64_t)(2 * vm) : i0;
                const vuint16m2_t ha = f32_to_f16_m4(a, vm);
                a = __riscv_vle32_v_f32m4(x + nx, vm);
                __riscv_vse16_v_u16m2(y + i0, ha, vm);
                const vuint16m2_t hb = f32_to_f16_m4(b, vm);
                b = __riscv_vle32_v_f32m4(x + nx + vm, vm);
                __riscv_vse16_v_u16m2(y + i0 + vm, hb, vm);
            }
        }
        x += i0;
        y += i0;
        n -= i0;
        if (n <= 0) {
            return;
        }
        size_t vl = __riscv_vsetvl_e32m4((size_t)n);
        vfloat32m4_t next = __riscv_vle32_v_f32m4(x, vl);
        for (int64_t i = 0; i < n;) {
            const vfloat32m4_t cur = next;
            const size_t cvl = vl;
            const int64_t j = i + (int64_t)cvl;
            if (j < n) {
                vl = __riscv_vsetvl_e32m4((size_t)(n - j));
                next = __riscv_vle32_v_f32m4(x + j, vl);
            }
            __riscv_vse16_v_u16m2(y + i, f32_to_f16_m4(cur, cvl), cvl);
            i = j;
        }
    }
}

/* Converts one element (the general path's strided walk; no Q8_0 there). */
static inline void convert_one(uint32_t st, uint32_t dt, uintptr_t s, uintptr_t d) {
    if (st == dt) {
        if (st == SAIL_TYPE_F32) {
            *(uint32_t *)d = *(const uint32_t *)s;
        } else {
            *(uint16_t *)d = *(const uint16_t *)s;
        }
    } else if (st == SAIL_TYPE_F16) {
        *(float *)d = fp16_to_f32(*(const uint16_t *)s);
    } else if (dt == SAIL_TYPE_F16) {
        *(uint16_t *)d = f32_to_fp16(*(const float *)s);
    } else {
        *(uint16_t *)d = f32_to_bf16(*(const float *)s);
    }
}

/* tensor_check without the nb[0] rule for the float types (a Q8_0 destination is checked
 * whole: its blocks run along rows). */
static int tensor_check_any_nb0(const struct sail_tensor *t) {
    if (t->type == SAIL_TYPE_Q8_0) {
        return tensor_check(t);
    }
    if (t->type != SAIL_TYPE_F32 && t->type != SAIL_TYPE_F16 && t->type != SAIL_TYPE_BF16) {
        return SAIL_ERR_TYPE;
    }
    for (int i = 0; i < 4; i++) {
        if (t->ne[i] < 1) {
            return SAIL_ERR_SHAPE;
        }
    }
    return SAIL_OK;
}

static int is_contiguous(const struct sail_tensor *t) {
    uint64_t nb = type_block_bytes(t->type);
    for (int d = 0; d < 4; d++) {
        if (t->ne[d] > 1 && t->nb[d] != nb) {
            return 0;
        }
        nb *= (uint64_t)t->ne[d];
    }
    return 1;
}

int sail_kernel(const struct sail_op *op) {
    TRY(desc_check(op));
    if (op->op != SAIL_OP_CPY) {
        return SAIL_ERR_OP;
    }
    if (op->n_src < 1) {
        return SAIL_ERR_SHAPE;
    }
    const struct sail_tensor *src = &op->src[0];
    const struct sail_tensor *dst = &op->dst;
    TRY(tensor_check_any_nb0(src));
    TRY(tensor_check_any_nb0(dst));
    if ((src->type != SAIL_TYPE_F32 && src->type != SAIL_TYPE_F16) ||
        (dst->type != SAIL_TYPE_F32 && dst->type != SAIL_TYPE_F16 && dst->type != SAIL_TYPE_BF16 &&
         dst->type != SAIL_TYPE_Q8_0)) {
        return SAIL_ERR_TYPE;
    }
    /* BF16 and Q8_0 destinations take F32 sources only (the KV-cache store) */
    if ((dst->type == SAIL_TYPE_BF16 || dst->type == SAIL_TYPE_Q8_0) && src->type != SAIL_TYPE_F32) {
        return SAIL_ERR_TYPE;
    }
    const int64_t total = tensor_nelements(src);
    if (total != tensor_nelements(dst)) {
        return SAIL_ERR_SHAPE;
    }
    if (is_contiguous(src) && is_contiguous(dst)) {
        convert_run(src->type, dst->type, (uintptr_t)src->data, (uintptr_t)dst->data, total);
        return SAIL_OK;
    }
    const int rows_contiguous = src->nb[0] == type_block_bytes(src->type) && dst->nb[0] == type_block_bytes(dst->type);
    if (tensor_same_shape(src, dst) && rows_contiguous) {
        for (int64_t i3 = 0; i3 < src->ne[3]; i3++) {
            for (int64_t i2 = 0; i2 < src->ne[2]; i2++) {
                for (int64_t i1 = 0; i1 < src->ne[1]; i1++) {
                    convert_run(src->type, dst->type, tensor_row(src, i1, i2, i3), tensor_row(dst, i1, i2, i3), src->ne[0]);
                }
            }
        }
        return SAIL_OK;
    }
    if (dst->type == SAIL_TYPE_Q8_0) {
        /* blocks cannot be written one element at a time */
        return SAIL_ERR_STRIDE;
    }
    /* general case: walk both tensors in row-major order, one element at a time */
    int64_t d0 = 0, d1 = 0, d2 = 0, d3 = 0;
    for (int64_t i3 = 0; i3 < src->ne[3]; i3++) {
        for (int64_t i2 = 0; i2 < src->ne[2]; i2++) {
            for (int64_t i1 = 0; i1 < src->ne[1]; i1++) {
                for (int64_t i0 = 0; i0 < src->ne[0]; i0++) {
                    uintptr_t s = tensor_row(src, i1, i2, i3) + (uintptr_t)(i0 * (int64_t)src->nb[0]);
                    uintptr_t d = tensor_row(dst, d1, d2, d3) + (uintptr_t)(d0 * (int64_t)dst->nb[0]);
                    convert_one(src->type, dst->type, s, d);
                    if (++d0 == dst->ne[0]) {
                        d0 = 0;
                        if (++d1 == dst->ne[1]) {
                            d1 = 0;
                            if (++d2 == dst->ne[2]) {
                                d2 = 0;
                                d3++;
                            }
                        }
                    }
                }
            }
        }
    }
    return SAIL_OK;
}
