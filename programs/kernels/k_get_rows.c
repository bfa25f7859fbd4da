/* GET_ROWS: gather rows of a table (token embeddings) into F32, dequantizing on the way.
 *
 *   src0: table [ne0, n_rows, ne02, ne03] of F32, F16, BF16, Q4_0, Q8_0, Q4_K or Q6_K
 *   src1: I32 row indices [n, ne11, ne12]
 *   dst:  F32 [ne0, n, ne11, ne12];  dst[:, i, j, k] = dequant(src0[:, idx[i,j,k], j % ne02, k % ne03])
 *
 * Dequantization follows GGML's dequantize_row_* operation for operation (Q4_0: (q-8)*d,
 * Q8_0: q*d, Q4_K: (d*sc)*q - dmin*m, Q6_K: (d*sc)*q), so the output is bit-exact to
 * GGML's and to gguf.quants.dequantize. An index outside [0, n_rows) is SAIL_ERR_INDEX.
 */
#include <riscv_vector.h>

#include "kcommon.h"
#include "kvec.h"
#include "quants.h"

/* y[0..vl) = (float)q * s for vl signed bytes q */
static inline void store_scaled_i8(float *y, vint8m1_t q, float s, size_t vl) {
    vfloat32m4_t f = __riscv_vfcvt_f_x_v_f32m4(__riscv_vsext_vf4_i32m4(q, vl), vl);
    __riscv_vse32_v_f32m4(y, __riscv_vfmul_vf_f32m4(f, s, vl), vl);
}

static void dequant_q4_0(const block_q4_0 *x, float *y, int64_t n) {
    for (int64_t i = 0; i < n / QK4_0; i++) {
        const float d = fp16_to_f32(x[i].d);
        const size_t vl = 16;
        vuint8m1_t q = __riscv_vle8_v_u8m1(x[i].qs, vl);
        vint8m1_t lo = __riscv_vsub_vx_i8m1(__riscv_vreinterpret_v_u8m1_i8m1(__riscv_vand_vx_u8m1(q, 0x0F, vl)), 8, vl);
        vint8m1_t hi = __riscv_vsub_vx_i8m1(__riscv_vreinterpret_v_u8m1_i8m1(__riscv_vsrl_vx_u8m1(q, 4, vl)), 8, vl);
        store_scaled_i8(y + 32 * i, lo, d, vl);
        store_scaled_i8(y + 32 * i + 16, hi, d, vl);
    }
}

static void dequant_q8_0(const block_q8_0 *x, float *y, int64_t n) {
    for (int64_t i = 0; i < n / QK8_0; i++) {
        const float d = fp16_to_f32(x[i].d);
        store_scaled_i8(y + 32 * i, __riscv_vle8_v_i8m1(x[i].qs, 16), d, 16);
        store_scaled_i8(y + 32 * i + 16, __riscv_vle8_v_i8m1(x[i].qs + 16, 16), d, 16);
    }
}

static void dequant_q4_K(const block_q4_K *x, float *y, int64_t n) {
    for (int64_t i = 0; i < n / QK_K; i++) {
        const float d = fp16_to_f32(x[i].d);
        const float dmin = fp16_to_f32(x[i].dmin);
        const uint8_t *q = x[i].qs;
        for (int c = 0; c < 4; c++) {
            uint8_t sc, m;
            q4_K_scale_min(2 * c, x[i].scales, &sc, &m);
            const float d1 = d * (float)sc, m1 = dmin * (float)m;
            q4_K_scale_min(2 * c + 1, x[i].scales, &sc, &m);
            const float d2 = d * (float)sc, m2 = dmin * (float)m;
            const size_t vl = 32;
            /* the low and high nibbles' chains interleaved, so that each operation's
             * latency (4 + 8 beats - 1 at LMUL 8) is covered by the other chain's */
            vuint8m2_t b = __riscv_vle8_v_u8m2(q + 32 * c, vl);
            vuint8m2_t bl = __riscv_vand_vx_u8m2(b, 0x0F, vl);
            vuint8m2_t bh = __riscv_vsrl_vx_u8m2(b, 4, vl);
            vfloat32m8_t lo = __riscv_vfcvt_f_xu_v_f32m8(__riscv_vzext_vf4_u32m8(bl, vl), vl);
            vfloat32m8_t hi = __riscv_vfcvt_f_xu_v_f32m8(__riscv_vzext_vf4_u32m8(bh, vl), vl);
            lo = __riscv_vfmul_vf_f32m8(lo, d1, vl);
            hi = __riscv_vfmul_vf_f32m8(hi, d2, vl);
            lo = __riscv_vfsub_vf_f32m8(lo, m1, vl);
            hi = __riscv_vfsub_vf_f32m8(hi, m2, vl);
            __riscv_vse32_v_f32m8(y + 64 * c, lo, vl);
            __riscv_vse32_v_f32m8(y + 64 * c + 32, hi, vl);
        }
        y += QK_K;
    }
}

static void dequant_q6_K(const block_q6_K *x, float *y, int64_t n) {
    for (int64_t i = 0; i < n / QK_K; i++) {
        const float d = fp16_to_f32(x[i].d);
        const uint8_t *ql = x[i].ql;
        const uint8_t *qh = x[i].qh;
        const int8_t *sc = x[i].scales;
        for (int half = 0; half < 2; half++) {
            for (int lc = 0; lc < 32; lc += 16) {
                const size_t vl = 16;
                const int is = lc / 16;
                vuint8m1_t h = __riscv_vle8_v_u8m1(qh + lc, vl);
                vuint8m1_t l0 = __riscv_vle8_v_u8m1(ql + lc, vl);
                vuint8m1_t l1 = __riscv_vle8_v_u8m1(ql + 32 + lc, vl);
                vuint8m1_t q1 = __riscv_vor_vv_u8m1(__riscv_vand_vx_u8m1(l0, 0x0F, vl), __riscv_vsll_vx_u8m1(__riscv_vand_vx_u8m1(h, 3, vl), 4, vl), vl);
                vuint8m1_t q2 = __riscv_vor_vv_u8m1(__riscv_vand_vx_u8m1(l1, 0x0F, vl), __riscv_vsll_vx_u8m1(__riscv_vand_vx_u8m1(__riscv_vsrl_vx_u8m1(h, 2, vl), 3, vl), 4, vl), vl);
                vuint8m1_t q3 = __riscv_vor_vv_u8m1(__riscv_vsrl_vx_u8m1(l0, 4, vl), __riscv_vsll_vx_u8m1(__riscv_vand_vx_u8m1(__riscv_vsrl_vx_u8m1(h, 4, vl), 3, vl), 4, vl), vl);
                vuint8m1_t q4 = __riscv_vor_vv_u8m1(__riscv_vsrl_vx_u8m1(l1, 4, vl), __riscv_vsll_vx_u8m1(__riscv_vsrl_vx_u8m1(h, 6, vl), 4, vl), vl);
                store_scaled_i8(y + lc + 0, __riscv_vsub_vx_i8m1(__riscv_vreinterpret_v_u8m1_i8m1(q1), 32, vl), d * (float)sc[is + 0], vl);
                store_scaled_i8(y + lc + 32, __riscv_vsub_vx_i8m1(__riscv_vreinterpret_v_u8m1_i8m1(q2), 32, vl), d * (float)sc[is + 2], vl);
                store_scaled_i8(y + lc + 64, __riscv_vsub_vx_i8m1(__riscv_vreinterpret_v_u8m1_i8m1(q3), 32, vl), d * (float)sc[is + 4], vl);
                store_scaled_i8(y + lc + 96, __riscv_vsub_vx_i8m1(__riscv_vreinterpret_v_u8m1_i8m1(q4), 32, vl), d * (float)sc[is + 6], vl);
            }
            y += 128;
            ql += 64;
            qh += 32;
            sc += 8;
        }
    }
}

static void copy_f32(const float *x, float *y, int64_t n) {
    for (int64_t i = 0; i < n;) {
        size_t vl = __riscv_vsetvl_e32m8((size_t)(n - i));
        __riscv_vse32_v_f32m8(y + i, __riscv_vle32_v_f32m8(x + i, vl), vl);
        i += (int64_t)vl;
    }
}

/* Copies n bytes from DDR into the scratchpad, four m8 loads in flight before their stores
 * (one DDR latency per four chunks instead of one per chunk). */
static void stage_bytes(uint8_t *to, const uint8_t *from, uint64_t n) {
    for (uint64_t i = 0; i < n;) {
        size_t v0 = __riscv_vsetvl_e8m8((size_t)(n - i));
        const uint64_t i1 = i + v0;
        size_t v1 = i1 < n ? __riscv_vsetvl_e8m8((size_t)(n - i1)) : 0;
        const uint64_t i2 = i1 + v1;
        size_t v2 = i2 < n ? __riscv_vsetvl_e8m8((size_t)(n - i2)) : 0;
        const uint64_t i3 = i2 + v2;
        size_t v3 = i3 < n ? __riscv_vsetvl_e8m8((size_t)(n - i3)) : 0;
        vuint8m8_t a = __riscv_vle8_v_u8m8(from + i, v0);
        vuint8m8_t b = __riscv_vle8_v_u8m8(from + i1, v1);
        vuint8m8_t c = __riscv_vle8_v_u8m8(from + i2, v2);
        vuint8m8_t d = __riscv_vle8_v_u8m8(from + i3, v3);
        __riscv_vse8_v_u8m8(to + i, a, v0);
        __riscv_vse8_v_u8m8(to + i1, b, v1);
        __riscv_vse8_v_u8m8(to + i2, c, v2);
        __riscv_vse8_v_u8m8(to + i3, d, v3);
        i = i3 + v3;
    }
}

int sail_kernel(const struct sail_op *op) {
    TRY(desc_check(op));
    if (op->op != SAIL_OP_GET_ROWS) {
        return SAIL_ERR_OP;
    }
    if (op->n_src < 2) {
        return SAIL_ERR_SHAPE;
    }
    const struct sail_tensor *tab = &op->src[0];
    const struct sail_tensor *idx = &op->src[1];
    const struct sail_tensor *dst = &op->dst;
    TRY(tensor_check(tab));
    TRY(tensor_check(idx));
    TRY(tensor_check(dst));
    const uint32_t t = tab->type;
    if (dst->type != SAIL_TYPE_F32 || idx->type != SAIL_TYPE_I32 ||
        !(t == SAIL_TYPE_F32 || t == SAIL_TYPE_F16 || t == SAIL_TYPE_BF16 || t == SAIL_TYPE_Q4_0 || t == SAIL_TYPE_Q8_0 ||
          t == SAIL_TYPE_Q4_K || t == SAIL_TYPE_Q6_K)) {
        return SAIL_ERR_TYPE;
    }
    if (dst->ne[0] != tab->ne[0] || dst->ne[1] != idx->ne[0] || dst->ne[2] != idx->ne[1] ||
        dst->ne[3] != idx->ne[2] || idx->ne[3] != 1) {
        return SAIL_ERR_SHAPE;
    }
    const int64_t n = tab->ne[0];
    const uint64_t row_bytes = type_row_bytes(t, n);
    const int staged = type_block_elems(t) > 1 && row_bytes <= SAIL_SCRATCH_SIZE;
    for (int64_t i12 = 0; i12 < idx->ne[2]; i12++) {
        for (int64_t i11 = 0; i11 < idx->ne[1]; i11++) {
            for (int64_t i10 = 0; i10 < idx->ne[0]; i10++) {
                const int32_t r = *(const int32_t *)(uintptr_t)(idx->data + (uint64_t)i10 * idx->nb[0] +
                                                                 (uint64_t)i11 * idx->nb[1] + (uint64_t)i12 * idx->nb[2]);
                if (r < 0 || r >= tab->ne[1]) {
                    return SAIL_ERR_INDEX;
                }
                uintptr_t src = tensor_row(tab, r, i11 % tab->ne[2], i12 % tab->ne[3]);
                /* a quantized row is staged in the scratchpad first: the block scales are
                 * read one scalar at a time, each a DDR round trip where the row is */
                if (staged) {
                    stage_bytes((uint8_t *)(uintptr_t)SAIL_SCRATCH_BASE, (const uint8_t *)src, row_bytes);
                    src = (uintptr_t)SAIL_SCRATCH_BASE;
                }
                float *y = (float *)tensor_row(dst, i10, i11, i12);
                switch (t) {
                case SAIL_TYPE_Q4_0:
                    dequant_q4_0((const block_q4_0 *)src, y, n);
                    break;
                case SAIL_TYPE_Q8_0:
                    dequant_q8_0((const block_q8_0 *)src, y, n);
                    break;
                case SAIL_TYPE_Q4_K:
                    dequant_q4_K((const block_q4_K *)src, y, n);
                    break;
                case SAIL_TYPE_Q6_K:
                    dequant_q6_K((const block_q6_K *)src, y, n);
                    break;
                case SAIL_TYPE_F16:
                    f16_row_to_f32(y, (const uint16_t *)src, n);
                    break;
                case SAIL_TYPE_BF16:
                    bf16_row_to_f32(y, (const uint16_t *)src, n);
                    break;
                default:
                    copy_f32((const float *)src, y, n);
                    break;
                }
            }
        }
    }
    return SAIL_OK;
}
