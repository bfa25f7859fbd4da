/* Shared pieces of the kernel set: GGML block layouts, f16 conversion, tensor checks.
 *
 * Block layouts follow ggml-common.h (see /work/shared/TOOLCHAIN.md section 1); every
 * struct is packed exactly as GGML stores it, so weights copied out of a GGUF file can be
 * used in place.
 */
#ifndef SAIL_KCOMMON_H
#define SAIL_KCOMMON_H

#include <stddef.h>
#include <stdint.h>

#include "ggml_abi.h"

#define QK4_0 32
#define QK8_0 32
#define QK_K 256
#define K_SCALE_SIZE 12

typedef uint16_t ggml_half;

typedef struct {
    ggml_half d;
    uint8_t qs[QK4_0 / 2];
} block_q4_0;

typedef struct {
    ggml_half d;
    int8_t qs[QK8_0];
} block_q8_0;

typedef struct {
    ggml_half d;
    ggml_half dmin;
    uint8_t scales[K_SCALE_SIZE];
    uint8_t qs[QK_K / 2];
} block_q4_K;

typedef struct {
    uint8_t ql[QK_K / 2];
    uint8_t qh[QK_K / 4];
    int8_t scales[QK_K / 16];
    ggml_half d;
} block_q6_K;

typedef struct {
    float d;
    int8_t qs[QK_K];
    int16_t bsums[QK_K / 16];
} block_q8_K;

_Static_assert(sizeof(block_q4_0) == 18, "block_q4_0 is 18 bytes");
_Static_assert(sizeof(block_q8_0) == 34, "block_q8_0 is 34 bytes");
_Static_assert(sizeof(block_q4_K) == 144, "block_q4_K is 144 bytes");
_Static_assert(sizeof(block_q6_K) == 210, "block_q6_K is 210 bytes");
_Static_assert(sizeof(block_q8_K) == 292, "block_q8_K is 292 bytes");

/* f16 <-> f32 through Zfh (flh/fcvt.s.h, fcvt.h.s with the dynamic rounding mode, which
 * the start-up code leaves at round-to-nearest-even): what ggml-cpu does on RISC-V. */
static inline float fp16_to_f32(ggml_half h) {
    union {
        uint16_t u;
        _Float16 f;
    } v = {.u = h};
    return (float)v.f;
}

static inline ggml_half f32_to_fp16(float f) {
    union {
        uint16_t u;
        _Float16 f;
    } v;
    v.f = (_Float16)f;
    return v.u;
}

/* f32 -> bf16 as GGML_FP32_TO_BF16: round to nearest even; NaN stays NaN (quiet bit set). */
static inline uint16_t f32_to_bf16(float f) {
    union {
        float f;
        uint32_t u;
    } v = {.f = f};
    if ((v.u & 0x7fffffffu) > 0x7f800000u) {
        return (uint16_t)((v.u >> 16) | 64u);
    }
    return (uint16_t)((v.u + (0x7fffu + ((v.u >> 16) & 1u))) >> 16);
}

static inline uint32_t f32_bits(float f) {
    union {
        float f;
        uint32_t u;
    } v = {.f = f};
    return v.u;
}

static inline float bits_f32(uint32_t u) {
    union {
        uint32_t u;
        float f;
    } v = {.u = u};
    return v.f;
}

/* The value unchanged, but opaque to the optimiser: keeps a branch-free select (x & mask)
 * from being turned back into a branch, so a kernel's time does not depend on its data. */
static inline uint32_t opaque_u32(uint32_t x) {
    __asm__("" : "+r"(x));
    return x;
}

static inline float param_f32(const struct sail_op *op, int slot) {
    return bits_f32((uint32_t)op->params[slot]);
}

/* Elements per block and bytes per block of each type this kernel set reads or writes;
 * 0 for a type it does not know. */
static inline int64_t type_block_elems(uint32_t t) {
    switch (t) {
    case SAIL_TYPE_Q4_0:
    case SAIL_TYPE_Q8_0:
        return 32;
    case SAIL_TYPE_Q4_K:
    case SAIL_TYPE_Q6_K:
    case SAIL_TYPE_Q8_K:
        return QK_K;
    case SAIL_TYPE_F32:
    case SAIL_TYPE_F16:
    case SAIL_TYPE_I8:
    case SAIL_TYPE_I32:
    case SAIL_TYPE_I64:
    case SAIL_TYPE_BF16:
        return 1;
    default:
        return 0;
    }
}

static inline uint64_t type_block_bytes(uint32_t t) {
    switch (t) {
    case SAIL_TYPE_F32:
    case SAIL_TYPE_I32:
        return 4;
    case SAIL_TYPE_F16:
    case SAIL_TYPE_BF16:
        return 2;
    case SAIL_TYPE_I8:
        return 1;
    case SAIL_TYPE_I64:
        return 8;
    case SAIL_TYPE_Q4_0:
        return sizeof(block_q4_0);
    case SAIL_TYPE_Q8_0:
        return sizeof(block_q8_0);
    case SAIL_TYPE_Q4_K:
        return sizeof(block_q4_K);
    case SAIL_TYPE_Q6_K:
        return sizeof(block_q6_K);
    case SAIL_TYPE_Q8_K:
        return sizeof(block_q8_K);
    default:
        return 0;
    }
}

/* Bytes of one row of `n` elements of type t (n a multiple of the block size). */
static inline uint64_t type_row_bytes(uint32_t t, int64_t n) {
    return (uint64_t)(n / type_block_elems(t)) * type_block_bytes(t);
}

static inline int64_t tensor_nelements(const struct sail_tensor *t) {
    return t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3];
}

static inline int64_t tensor_nrows(const struct sail_tensor *t) {
    return t->ne[1] * t->ne[2] * t->ne[3];
}

/* Address of row (i1,i2,i3). */
static inline uintptr_t tensor_row(const struct sail_tensor *t, int64_t i1, int64_t i2, int64_t i3) {
    return (uintptr_t)(t->data + (uint64_t)i1 * t->nb[1] + (uint64_t)i2 * t->nb[2] + (uint64_t)i3 * t->nb[3]);
}

/* A tensor is well formed when its type is known, every ne >= 1, ne[0] is a whole number
 * of blocks and nb[0] is the block size (rows are contiguous within themselves). Returns
 * SAIL_OK or the reason. */
static inline int tensor_check(const struct sail_tensor *t) {
    int64_t be = type_block_elems(t->type);
    if (be == 0) {
        return SAIL_ERR_TYPE;
    }
    for (int i = 0; i < 4; i++) {
        if (t->ne[i] < 1) {
            return SAIL_ERR_SHAPE;
        }
    }
    if (t->ne[0] % be != 0) {
        return SAIL_ERR_SHAPE;
    }
    if (t->nb[0] != type_block_bytes(t->type)) {
        return SAIL_ERR_STRIDE;
    }
    return SAIL_OK;
}

static inline int tensor_same_shape(const struct sail_tensor *a, const struct sail_tensor *b) {
    return a->ne[0] == b->ne[0] && a->ne[1] == b->ne[1] && a->ne[2] == b->ne[2] && a->ne[3] == b->ne[3];
}

/* Runs `expr` (which yields a status) and returns it from the enclosing function when it is
 * not SAIL_OK. */
#define TRY(expr)                                                                                  \
    do {                                                                                           \
        int try_status_ = (expr);                                                                  \
        if (try_status_ != SAIL_OK) {                                                              \
            return try_status_;                                                                    \
        }                                                                                          \
    } while (0)

/* Every kernel program implements this; the start-up code (bare metal) or the test driver
 * (Linux) calls it with the descriptor at SAIL_DESC_ADDR and exits with its result. */
int sail_kernel(const struct sail_op *op);

/* Checks magic and version; every sail_kernel starts with it. */
static inline int desc_check(const struct sail_op *op) {
    if (op->magic != SAIL_OP_MAGIC || op->version != SAIL_OP_VERSION || op->n_src > SAIL_MAX_SRC) {
        return SAIL_ERR_DESC;
    }
    return SAIL_OK;
}

#endif
