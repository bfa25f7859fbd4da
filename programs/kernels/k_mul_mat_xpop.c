/* MUL_MAT on the Xpop_matmul unit (programs/xpop.h, doc/xpop-matmul.md).
 *
 * Same descriptor contract as k_mul_mat.c (src0 weights, src1 activations, dst F32, work
 * buffer for converted activations), for the weight types the unit accepts: Q4_0, Q8_0,
 * Q4_K, Q6_K and BF16. The activations are converted by the RVV quantizers shared with
 * k_mul_mat (mul_mat_common.h); then one 64-byte xpop descriptor per (i2, i3) batch hands the
 * whole [N x M] product to the unit: A = the batch's weight rows (stride nb01), B = the
 * converted activation rows, C = the batch's dst rows (stride nb1). Batches are issued in
 * groups of up to XPOP_GROUP descriptors per xpop.mm.
 *
 * The unit's arithmetic is GGML's generic (scalar reference) dot product order, which is
 * not the RVV kernels' order: the two variants agree to rounding, not bit for bit.
 * Other weight types -> SAIL_ERR_TYPE; a unit that does not report the type -> SAIL_ERR_XPOP.
 */
#include "kcommon.h"
#include "mul_mat_common.h"
#include "xpop.h"

#define XPOP_GROUP 16

int sail_kernel(const struct sail_op *op) {
    TRY(desc_check(op));
    if (op->op != SAIL_OP_MUL_MAT) {
        return SAIL_ERR_OP;
    }
    if (op->n_src < 1) {
        return SAIL_ERR_SHAPE;
    }
    const struct sail_tensor *w = &op->src[0];
    const uint32_t t = w->type;
    if (t != SAIL_TYPE_Q4_0 && t != SAIL_TYPE_Q8_0 && t != SAIL_TYPE_Q4_K && t != SAIL_TYPE_Q6_K &&
        t != SAIL_TYPE_BF16) {
        return SAIL_ERR_TYPE;
    }
    struct mul_mat_plan plan;
    TRY(mul_mat_prepare(op, &plan, 0));
    const struct sail_tensor *dst = &op->dst;
    const int64_t k = w->ne[0], n = dst->ne[0], m = dst->ne[1];
    if (k > 0xffffffffll || n > 0xffffffffll || m > 0xffffffffll) {
        return SAIL_ERR_SHAPE;
    }
    if (!((xpop_info(XPOP_INFO_TYPES) >> t) & 1u)) {
        return SAIL_ERR_XPOP;
    }
    const uint64_t ldb = plan.act_base ? plan.act_row_bytes : plan.src1->nb[1];

    struct xpop_desc desc[XPOP_GROUP] __attribute__((aligned(8)));
    uint64_t used = 0;
    for (int64_t i3 = 0; i3 < dst->ne[3]; i3++) {
        for (int64_t i2 = 0; i2 < dst->ne[2]; i2++) {
            struct xpop_desc *d = &desc[used++];
            d->a = (uint64_t)tensor_row(w, 0, i2 / plan.r2, i3 / plan.r3);
            d->b = (uint64_t)mul_mat_act_row(&plan, 0, i2, i3);
            d->c = (uint64_t)tensor_row(dst, 0, i2, i3);
            d->lda = w->nb[1];
            d->ldb = ldb;
            d->ldc = dst->nb[1];
            d->m = (uint32_t)m;
            d->n = (uint32_t)n;
            d->k = (uint32_t)k;
            d->ctrl = t;
            if (used == XPOP_GROUP) {
                xpop_mm(desc, used);
                used = 0;
            }
        }
    }
    if (used) {
        xpop_mm(desc, used);
    }
    return SAIL_OK;
}
