/* The ATTENTION descriptor contract shared by k_attention (RVV) and k_attention_xpop (the
 * matrix unit): operand checks and the launch's parameters. See k_attention.c for the
 * contract itself. */
#ifndef SAIL_ATTENTION_COMMON_H
#define SAIL_ATTENTION_COMMON_H

#include "kcommon.h"

#define ATTN_MAX_GROUP 64 /* query heads per KV head */

/* One launch's operands and parameters, checked. */
struct attn_args {
    const struct sail_tensor *q, *k, *v, *mask, *dst;
    int64_t D, n_q, H, n_kv, H_kv, group, n_past;
    float scale;
    int causal;
};

/* The KV cache types: F16 (llama.cpp's default), BF16 and Q8_0 (-ctk/-ctv). */
static inline int attn_kv_type_ok(uint32_t t) {
    return t == SAIL_TYPE_F16 || t == SAIL_TYPE_BF16 || t == SAIL_TYPE_Q8_0;
}

static int attn_check_v(const struct sail_tensor *v) {
    if (!attn_kv_type_ok(v->type)) {
        return SAIL_ERR_TYPE;
    }
    if (v->type == SAIL_TYPE_Q8_0) {
        /* blocks run along a row: V rows must be positions (no transposed Q8_0 cache) */
        return tensor_check(v);
    }
    for (int i = 0; i < 4; i++) {
        if (v->ne[i] < 1) {
            return SAIL_ERR_SHAPE;
        }
    }
    return (v->nb[0] % 2 == 0 && v->nb[0] != 0) ? SAIL_OK : SAIL_ERR_STRIDE;
}

/* Checks the descriptor of an ATTENTION launch and fills `a`. */
static int attn_args_of(const struct sail_op *op, struct attn_args *a) {
    TRY(desc_check(op));
    if (op->op != SAIL_OP_ATTENTION) {
        return SAIL_ERR_OP;
    }
    if (op->n_src < 3) {
        return SAIL_ERR_SHAPE;
    }
    const struct sail_tensor *q = &op->src[0];
    const struct sail_tensor *k = &op->src[1];
    const struct sail_tensor *v = &op->src[2];
    const struct sail_tensor *mask = op->n_src >= 4 ? &op->src[3] : 0;
    const struct sail_tensor *dst = &op->dst;
    TRY(tensor_check(q));
    TRY(tensor_check(k));
    TRY(attn_check_v(v));
    TRY(tensor_check(dst));
    if (q->type != SAIL_TYPE_F32 || !attn_kv_type_ok(k->type) || v->type != k->type || dst->type != SAIL_TYPE_F32) {
        return SAIL_ERR_TYPE;
    }
    const int64_t D = q->ne[0], n_q = q->ne[1], H = q->ne[2];
    const int64_t n_kv = k->ne[1], H_kv = k->ne[2];
    if (k->ne[0] != D || v->ne[0] != D || v->ne[1] != n_kv || v->ne[2] != H_kv || H % H_kv != 0 ||
        q->ne[3] != 1 || k->ne[3] != 1 || v->ne[3] != 1 || dst->ne[0] != D || dst->ne[1] != H ||
        dst->ne[2] != n_q || dst->ne[3] != 1 || H / H_kv > ATTN_MAX_GROUP) {
        return SAIL_ERR_SHAPE;
    }
    if (mask) {
        TRY(tensor_check(mask));
        if (mask->type != SAIL_TYPE_F32 && mask->type != SAIL_TYPE_F16) {
            return SAIL_ERR_TYPE;
        }
        if (mask->ne[0] != n_kv || mask->ne[1] < n_q) {
            return SAIL_ERR_SHAPE;
        }
    }
    a->scale = param_f32(op, SAIL_P_ATTN_SCALE);
    a->causal = op->params[SAIL_P_ATTN_CAUSAL];
    a->n_past = op->params[SAIL_P_ATTN_N_PAST];
    if (param_f32(op, SAIL_P_ATTN_MAX_BIAS) != 0.0f || (a->causal != 0 && a->causal != 1) || a->n_past < 0) {
        return SAIL_ERR_PARAM;
    }
    a->q = q;
    a->k = k;
    a->v = v;
    a->mask = mask;
    a->dst = dst;
    a->D = D;
    a->n_q = n_q;
    a->H = H;
    a->n_kv = n_kv;
    a->H_kv = H_kv;
    a->group = H / H_kv;
    return SAIL_OK;
}

/* x, or +0 when x is -inf; without a branch (the time must not depend on the data) */
static inline float attn_zero_if_neg_inf(float x) {
    uint32_t b = f32_bits(x);
    uint32_t is = opaque_u32((uint32_t)(b == 0xff800000u));
    return bits_f32(b & ~(0u - is));
}

/* The keys the query tokens [t0, t0 + nt) see: all n_kv, or up to n_past + t0 + nt causally */
static inline int64_t attn_keys_seen(const struct attn_args *a, int64_t t0, int64_t nt) {
    int64_t n = a->causal ? a->n_past + t0 + nt : a->n_kv;
    return n < a->n_kv ? n : a->n_kv;
}

#endif /* SAIL_ATTENTION_COMMON_H */
