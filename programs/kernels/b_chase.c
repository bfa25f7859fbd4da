/* Pointer-chase microbenchmark: memory latency with no overlap between loads.
 *
 *   src0: I64 [n] (contiguous); element i holds the index of the next element to visit
 *   dst:  I64 [1] receives the index reached after `steps` steps from index 0
 *   params[0], params[1]: steps, low and high 32 bits
 * Each step is one dependent 64-bit load; an index outside [0, n) is SAIL_ERR_INDEX.
 */
#include "kcommon.h"

int sail_kernel(const struct sail_op *op) {
    TRY(desc_check(op));
    if (op->op != SAIL_OP_POINTER_CHASE) {
        return SAIL_ERR_OP;
    }
    if (op->n_src < 1) {
        return SAIL_ERR_SHAPE;
    }
    const struct sail_tensor *src = &op->src[0];
    const struct sail_tensor *dst = &op->dst;
    TRY(tensor_check(src));
    TRY(tensor_check(dst));
    if (src->type != SAIL_TYPE_I64 || dst->type != SAIL_TYPE_I64 || tensor_nelements(dst) != 1) {
        return SAIL_ERR_TYPE;
    }
    if (tensor_nrows(src) != 1) {
        return SAIL_ERR_SHAPE;
    }
    const uint64_t steps = (uint64_t)(uint32_t)op->params[SAIL_P_CHASE_STEPS_LO] |
                           ((uint64_t)(uint32_t)op->params[SAIL_P_CHASE_STEPS_HI] << 32);
    const volatile int64_t *next = (const volatile int64_t *)(uintptr_t)src->data;
    const uint64_t n = (uint64_t)src->ne[0];
    uint64_t i = 0;
    for (uint64_t s = 0; s < steps; s++) {
        i = (uint64_t)next[i];
        if (i >= n) {
            return SAIL_ERR_INDEX;
        }
    }
    *(int64_t *)(uintptr_t)dst->data = (int64_t)i;
    return SAIL_OK;
}
