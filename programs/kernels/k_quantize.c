/* QUANTIZE: F32 rows -> Q8_0 or Q8_K rows (GGML's reference quantizers, see quants.h).
 *
 *   src0: F32 [K, rows, ne2, ne3] (rows may be strided)
 *   dst:  Q8_0 or Q8_K, same ne; K a multiple of the block size.
 */
#include "kcommon.h"
#include "quants.h"

int sail_kernel(const struct sail_op *op) {
    TRY(desc_check(op));
    if (op->op != SAIL_OP_QUANTIZE) {
        return SAIL_ERR_OP;
    }
    if (op->n_src < 1) {
        return SAIL_ERR_SHAPE;
    }
    const struct sail_tensor *src = &op->src[0];
    const struct sail_tensor *dst = &op->dst;
    TRY(tensor_check(src));
    TRY(tensor_check(dst));
    if (src->type != SAIL_TYPE_F32 || (dst->type != SAIL_TYPE_Q8_0 && dst->type != SAIL_TYPE_Q8_K)) {
        return SAIL_ERR_TYPE;
    }
    if (!tensor_same_shape(src, dst)) {
        return SAIL_ERR_SHAPE;
    }
    const int64_t k = src->ne[0];
    for (int64_t i3 = 0; i3 < src->ne[3]; i3++) {
        for (int64_t i2 = 0; i2 < src->ne[2]; i2++) {
            for (int64_t i1 = 0; i1 < src->ne[1]; i1++) {
                const float *x = (const float *)tensor_row(src, i1, i2, i3);
                uintptr_t y = tensor_row(dst, i1, i2, i3);
                if (dst->type == SAIL_TYPE_Q8_0) {
                    quantize_row_q8_0(x, (block_q8_0 *)y, k);
                } else {
                    quantize_row_q8_K(x, (block_q8_K *)y, k);
                }
            }
        }
    }
    return SAIL_OK;
}
