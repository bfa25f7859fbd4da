#!/usr/bin/env python3
"""Numpy reference of the llama forward pass, in GGML's order of operations, for comparing
the emulator's logits (`emulate run --logits`).

Reads a GGUF with gguf.GGUFReader and dequantizes every tensor with gguf.quants.dequantize.
What it models of llama.cpp's CPU path (non flash-attention graph, F16 KV cache):

  * get_rows: the token's embedding row dequantized to f32.
  * rms_norm: f32 squares summed sequentially in f64, mean and scale 1/sqrtf(mean + eps) in f32, then * weight.
  * mul_mat: the f32 activation row is first converted to the weight type's vec_dot_type
    (Q8_K for Q4_K/Q6_K, Q8_0 for Q4_0/Q8_0, F16 for F16, BF16 for BF16, none for F32) with
    GGML's reference quantizers. The products then follow one of three orders (--dot):
      ggml (default): ggml-cpu's RVV vec_dot kernels: integer block sums, one f32 fused
      multiply-add per block; F16/BF16/F32 in 16 f32 lane accumulators (VLEN 128, e32m4)
      reduced in lane order. The attention's K.q and V.softmax use the F16 lane order too.
      unit: quantized and BF16 weights in ggml's generic C order without contraction (every
      op rounded; Q4_K/Q6_K with 8 lanes; BF16 summed in f64), as doc/xpop-matmul.md
      specifies for the Xpop_matmul unit; F16/F32 as ggml.
      f64: the dequantized products summed in f64.
    The orders differ by f32 rounding only, but a one-ulp change that moves an activation
    across a Q8 rounding step moves logits by up to ~0.3 on these models (see README.md).
  * RoPE mode NORM (adjacent pairs), theta = pos * base^(-2i/n_rot) built iteratively in f32
    as ggml's rope cache does (powf, cosf, sinf taken correctly rounded); dimensions past
    n_rot pass through.
  * K and V are rounded to the cache type when stored (--kv-type: f16 by default, bf16 with
    ggml's round-to-nearest-even, q8_0 quantized per 32 values of a head with
    quantize_row_q8_0_ref and read back dequantized).
  * kq = K . q with q converted to the cache's vec_dot_type (f16 or bf16),
    soft_max_ext(kq * 1/sqrt(head_dim) + causal mask) in f32 with expf correctly rounded and
    the sum in f64, then kqv = V . softmax with the softmax converted to that type. A q8_0
    cache exists only with fused attention (as in llama.cpp), where Q and the probabilities
    stay f32. Query head h reads KV head h // (n_head / n_head_kv).
  * SwiGLU: silu(gate) * up in f32; residual adds in f32; output_norm; output.weight, or
    token_embd.weight when output.weight is absent (tied).

Every row is computed independently of the batch, so all positions are run at once with a
causal mask; this equals token-by-token decode.

usage: llama_ref.py MODEL.gguf --ids 1,5,6,... --out FILE.logits [--prompt-len N] [--all]
                   [--dot ggml|unit|f64] [--lanes 16] [--kv-type f16|bf16|q8_0]

Rows written: the positions from prompt_len-1 to the end (the last prompt position and every
decode step, as `emulate run --logits` writes them; prompt_len defaults to 1), or every
position with --all. FILE.json has the emulator's fields (shape, positions, tokens, ...).
"""
import argparse
import json
import os
import sys

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf import GGUFReader
from gguf.quants import dequantize

# ------------------------------------------------------------------ activation conversions


def _nearest_int(v):
    # ggml nearest_int: the 1.5*2^23 trick, i.e. round half to even in f32.
    return np.rint(v.astype(np.float32))


def act_q8_K(x):
    """quantize_row_q8_K_ref then dequantize: per 256, iscale = -127/max (max = the signed value
    of largest |x|, first such), q = min(127, nearest_int(iscale*x)), d = 1/iscale (f32)."""
    rows, n = x.shape
    b = x.reshape(rows, n // 256, 256).astype(np.float32)
    ax = np.abs(b)
    idx = ax.argmax(axis=2)
    mx = np.take_along_axis(b, idx[:, :, None], axis=2)[:, :, 0]
    amax = np.take_along_axis(ax, idx[:, :, None], axis=2)[:, :, 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        iscale = np.where(amax > 0, np.float32(-127.0) / mx, np.float32(0)).astype(np.float32)
        q = np.minimum(127, _nearest_int(iscale[:, :, None] * b))
        d = np.where(amax > 0, np.float32(1.0) / iscale, np.float32(0)).astype(np.float32)
    return (d[:, :, None] * q).astype(np.float32).reshape(rows, n)


def act_q8_0(x):
    """quantize_row_q8_0_ref then dequantize: per 32, d = amax/127, q = roundf(x * (1/d)),
    d stored as f16 (the product uses the f16 d)."""
    rows, n = x.shape
    b = x.reshape(rows, n // 32, 32).astype(np.float32)
    amax = np.abs(b).max(axis=2)
    d = (amax / np.float32(127.0)).astype(np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        idv = np.where(d > 0, np.float32(1.0) / d, np.float32(0)).astype(np.float32)
    v = (b * idv[:, :, None]).astype(np.float32)
    q = np.sign(v) * np.floor(np.abs(v) + np.float32(0.5))  # roundf: half away from zero
    d16 = d.astype(np.float16).astype(np.float32)
    return (d16[:, :, None] * q).astype(np.float32).reshape(rows, n)


def act_f16(x):
    return x.astype(np.float32).astype(np.float16).astype(np.float32)


def act_bf16(x):
    """ggml_compute_fp32_to_bf16: round to nearest even on the top 16 bits (NaN kept quiet)."""
    u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    r = ((u + (0x7FFF + ((u >> 16) & 1))) >> 16) & 0xFFFF
    nan = np.isnan(x)
    r = np.where(nan, (u >> 16) | 64, r)
    return (r.astype(np.uint32) << 16).view(np.float32)


def expf(x):
    """expf as glibc computes it (correctly rounded in practice): f64 exp rounded to f32.
    ggml-cpu's scalar path calls expf in soft_max and silu (its SIMD builds use ggml_v_expf,
    a polynomial within a few ulps). With ORACLE_DIAG=kexpf: the emulator's vexpf polynomial
    (programs/kernels/kmath.h), to attribute differences, never for a verdict."""
    x = np.asarray(x, np.float32)
    if DIAG.get("kexpf"):
        return _poly_expf(x)
    with np.errstate(over="ignore"):
        return np.exp(x.astype(np.float64)).astype(np.float32)


def exp_nonpos_unit(x):
    """exp_nonpos_m8 of programs/kernels/k_attention_xpop.c, operation for operation: x
    clamped at -87, x = n ln2 + r (two-part ln 2), a degree-5 polynomial, times 2^n."""
    x = np.maximum(np.asarray(x, np.float32), np.float32(-87.0))
    n = np.rint((x * np.float32(1.44269502163)).astype(np.float32)).astype(np.int32)
    nf = n.astype(np.float32)
    r = _fma32(-nf, np.full_like(x, np.float32(0.693145751953125)), x)
    r = _fma32(-nf, np.full_like(x, np.float32(1.4286068203094172e-06)), r)
    p = np.full_like(x, np.float32(float.fromhex("0x1.0feb04p-7")))
    for c in ("0x1.575f02p-5", "0x1.555a0cp-3", "0x1.fffd1ap-2", "0x1.fffff6p-1", "0x1.000002p+0"):
        p = _fma32(p, r, np.full_like(x, np.float32(float.fromhex(c))))
    two_n = ((n + 127).astype(np.int32) << 23).view(np.float32)
    return (p * two_n).astype(np.float32)


def _fma32(a, b, c):
    return (a.astype(np.float64) * b.astype(np.float64) + c.astype(np.float64)).astype(np.float32)


def _poly_expf(x):
    f32 = np.float32
    x = np.minimum(np.maximum(x, f32(-104.0)), f32(89.0))
    n = np.rint((x * f32(1.44269502163)).astype(f32)).astype(np.int32)
    nf = n.astype(f32)
    r = _fma32(-nf, np.full_like(x, 0.693145751953125), x)
    r = _fma32(-nf, np.full_like(x, 1.4286068203094172e-06), r)
    pcoef = [f32(1.0) / f32(c) for c in (5040.0, 720.0, 120.0, 24.0, 6.0)] + [f32(0.5), f32(1), f32(1)]
    p = np.full_like(x, pcoef[0])
    for c in pcoef[1:]:
        p = _fma32(p, r, np.full_like(x, c))
    n1 = n >> 1
    n2 = n - n1
    s1 = ((n1 + 127).astype(np.int32) << 23).view(f32)
    s2 = ((n2 + 127).astype(np.int32) << 23).view(f32)
    with np.errstate(over="ignore"):
        return ((p * s1).astype(f32) * s2).astype(f32)



# ------------------------------------------------------------------ GGML block-order products
# Default product order (--dot ggml): each output is accumulated as ggml-cpu's vec_dot kernels
# do it: integer sums inside a block, then per block one f32 fused multiply-add into sumf
# (q4_0: fma(sumi*dx, dy, sumf); q8_0: fma(sumi, dx*dy, sumf); q4_K: fma(-dmin, summins, sumf)
# then fma(d, sumi, sumf) with d = y.d*dx, dmin = y.d*dmin_x; q6_K: fma(d, sum_t, sumf) with
# d = dx*y.d), and F16/BF16/F32 as LANES f32 lane accumulators (fma) reduced in lane order
# (the RVV build at VLEN 128 with e32m4: 16 lanes). An f32 fma is modelled as the f64
# a*b + c (exact product of two f32) rounded to f32. --dot f64 instead sums the dequantized
# products in f64. --dot unit: ggml's generic C without contraction for the quantized and
# BF16 products (dot_blocks_generic), the order the Xpop_matmul unit implements.
LANES = 16


def _f32(v):
    return np.asarray(v, np.float64).astype(np.float32)


def _fma(a, b, c):
    return _f32(np.asarray(a, np.float64) * np.asarray(b, np.float64) + np.asarray(c, np.float64))


def _f16(raw2):
    """[..., 2] uint8 -> [...] f32 of the f16."""
    return np.ascontiguousarray(raw2).view(np.float16)[..., 0].astype(np.float32)


def unpack_q4_0(raw, ne0):
    b = raw.reshape(raw.shape[0], ne0 // 32, 18)
    qs = b[:, :, 2:].astype(np.int32)
    q = np.concatenate([(qs & 0xF) - 8, (qs >> 4) - 8], axis=2)
    return _f16(b[:, :, 0:2]), q  # d [R, nb], q [R, nb, 32]


def unpack_q8_0(raw, ne0):
    b = raw.reshape(raw.shape[0], ne0 // 32, 34)
    return _f16(b[:, :, 0:2]), b[:, :, 2:].view(np.int8).astype(np.int32)


def unpack_q4_K(raw, ne0):
    b = raw.reshape(raw.shape[0], ne0 // 256, 144)
    sb = b[:, :, 4:16].astype(np.int32)
    sc = np.zeros(b.shape[:2] + (8,), np.int32)
    mn = np.zeros_like(sc)
    for j in range(8):
        if j < 4:
            sc[..., j] = sb[..., j] & 63
            mn[..., j] = sb[..., j + 4] & 63
        else:
            sc[..., j] = (sb[..., j + 4] & 0xF) | ((sb[..., j - 4] >> 6) << 4)
            mn[..., j] = (sb[..., j + 4] >> 4) | ((sb[..., j] >> 6) << 4)
    qs = b[:, :, 16:].astype(np.int32).reshape(b.shape[0], b.shape[1], 4, 32)
    q = np.stack([qs & 0xF, qs >> 4], axis=3).reshape(b.shape[0], b.shape[1], 8, 32)
    return _f16(b[:, :, 0:2]), _f16(b[:, :, 2:4]), sc, mn, q  # q [R, nb, 8 sub-blocks, 32]


def unpack_q6_K(raw, ne0):
    b = raw.reshape(raw.shape[0], ne0 // 256, 210)
    ql = b[:, :, 0:128].astype(np.int32)
    qh = b[:, :, 128:192].astype(np.int32)
    sc = b[:, :, 192:208].view(np.int8).astype(np.int32)
    halves = []
    for h in range(2):
        l0, l1 = ql[..., 64 * h:64 * h + 32], ql[..., 64 * h + 32:64 * h + 64]
        hh = qh[..., 32 * h:32 * h + 32]
        halves += [(l0 & 0xF) | ((hh & 3) << 4), (l1 & 0xF) | (((hh >> 2) & 3) << 4),
                   (l0 >> 4) | (((hh >> 4) & 3) << 4), (l1 >> 4) | (((hh >> 6) & 3) << 4)]
    q = np.concatenate(halves, axis=2) - 32  # [R, nb, 256] in element order
    return _f16(b[:, :, 208:210]), sc, q.reshape(b.shape[0], b.shape[1], 16, 16)


def q8_K_ints(x):
    """quantize_row_q8_K_ref as integers: (d f32 [n, nb], q int32 [n, nb, 256])."""
    rows, n = x.shape
    b = x.reshape(rows, n // 256, 256).astype(np.float32)
    ax = np.abs(b)
    idx = ax.argmax(axis=2)
    mx = np.take_along_axis(b, idx[:, :, None], axis=2)[:, :, 0]
    amax = np.take_along_axis(ax, idx[:, :, None], axis=2)[:, :, 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        iscale = np.where(amax > 0, np.float32(-127.0) / mx, np.float32(0)).astype(np.float32)
        q = np.minimum(127, _nearest_int(iscale[:, :, None] * b)).astype(np.int32)
        d = np.where(amax > 0, np.float32(1.0) / iscale, np.float32(0)).astype(np.float32)
    return d, q


def q8_0_ints(x):
    """quantize_row_q8_0_ref as integers: (d as stored, f16->f32 [n, nb], q int32 [n, nb, 32])."""
    rows, n = x.shape
    b = x.reshape(rows, n // 32, 32).astype(np.float32)
    amax = np.abs(b).max(axis=2)
    d = (amax / np.float32(127.0)).astype(np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        idv = np.where(d > 0, np.float32(1.0) / d, np.float32(0)).astype(np.float32)
    v = (b * idv[:, :, None]).astype(np.float32)
    q = (np.sign(v) * np.floor(np.abs(v) + np.float32(0.5))).astype(np.int32)
    return d.astype(np.float16).astype(np.float32), q


def dot_lanes(w, a):
    """F16/BF16/F32 rows w [R, K] (as f32 values) . activations a [n, K] (already converted):
    LANES fma accumulators, element i into lane i % LANES, then an ordered lane sum."""
    R, K = w.shape
    n = a.shape[0]
    acc = np.zeros((n, R, LANES), np.float32)
    for i0 in range(0, K, LANES):
        i1 = min(K, i0 + LANES)
        prod = a[:, None, i0:i1].astype(np.float64) * w[None, :, i0:i1].astype(np.float64)
        acc[:, :, :i1 - i0] = _f32(acc[:, :, :i1 - i0].astype(np.float64) + prod)
    s = np.zeros((n, R), np.float32)
    for l in range(LANES):
        s = _f32(s.astype(np.float64) + acc[:, :, l])
    return s


def _add(a, b):
    return _f32(np.asarray(a, np.float64) + np.asarray(b, np.float64))


def _mul(a, b):
    return _f32(np.asarray(a, np.float64) * np.asarray(b, np.float64))


def dot_blocks_generic(typ, packed, x):
    """ggml_vec_dot_*_generic compiled without contraction (every op rounded to f32): the
    order doc/xpop-matmul.md section 4 specifies for the matrix unit."""
    if typ in (T.Q4_0, T.Q8_0):
        dy, qy = q8_0_ints(x)
        dx, qx = packed
        sumi = np.einsum("rbk,nbk->nrb", qx, qy, dtype=np.int64)
        sumf = np.zeros(sumi.shape[:2], np.float32)
        for ib in range(sumi.shape[2]):
            si = sumi[:, :, ib].astype(np.float32)
            if typ == T.Q4_0:
                t = _mul(_mul(si, dx[None, :, ib]), dy[:, None, ib])
            else:
                t = _mul(si, _mul(dx[None, :, ib], dy[:, None, ib]))
            sumf = _add(sumf, t)
        return sumf
    dy, qy = q8_K_ints(x)
    nb = qy.shape[1]
    if typ == T.Q4_K:
        dx, dminx, sc, mn, q = packed
        # element e = 32*j + k; lane e % 8 = k % 8
        prod = np.einsum("rbjk,nbjk->nrbjk", q * sc[..., None], qy.reshape(qy.shape[0], nb, 8, 32))
        ngrp = qy.reshape(qy.shape[0], nb, 16, 16).sum(axis=3)  # bsums
        msum = (ngrp[:, None] * np.repeat(mn, 2, axis=2)[None]).sum(axis=3)
    else:
        dx, sc, q = packed
        prod = np.einsum("rbgk,nbgk->nrbgk", q * sc[..., None], qy.reshape(qy.shape[0], nb, 16, 16))
        msum = None
    isum = prod.reshape(prod.shape[0], prod.shape[1], nb, 256 // 8, 8).sum(axis=3)  # [n,R,nb,8]
    lanes = np.zeros(isum.shape[:2] + (8,), np.float32)
    sumf = np.zeros(isum.shape[:2], np.float32)
    for ib in range(nb):
        d = _mul(dx[None, :, ib], dy[:, None, ib])
        lanes = _add(lanes, _mul(d[..., None], isum[:, :, ib, :].astype(np.float32)))
        if msum is not None:
            dmin = _mul(dminx[None, :, ib], dy[:, None, ib])
            sumf = _f32(sumf.astype(np.float64) - _mul(dmin, msum[:, :, ib].astype(np.float32)))
    for l in range(8):
        sumf = _add(sumf, lanes[:, :, l])
    return sumf


def dot_bf16_generic(w, a):
    """ggml_vec_dot_bf16 scalar: f64 sum of the (exact) f32 products, rounded to f32."""
    return _f32(a.astype(np.float64) @ w.astype(np.float64).T)


def dot_blocks(typ, packed, x):
    """Quantized weights (unpacked) . f32 activations x [n, K] in ggml's block order -> [n, R]."""
    if typ in (T.Q4_0, T.Q8_0):
        dy, qy = q8_0_ints(x)  # [n, nb], [n, nb, 32]
        dx, qx = packed
        sumi = np.einsum("rbk,nbk->nrb", qx, qy, dtype=np.int64)
        sumf = np.zeros(sumi.shape[:2], np.float32)
        for ib in range(sumi.shape[2]):
            si = sumi[:, :, ib].astype(np.float32)
            if typ == T.Q4_0:
                sumf = _fma(_f32(si * dx[None, :, ib].astype(np.float64)), dy[:, None, ib], sumf)
            else:
                sumf = _fma(si, _f32(dx[None, :, ib].astype(np.float64) * dy[:, None, ib]), sumf)
        return sumf
    dy, qy = q8_K_ints(x)  # [n, nb], [n, nb, 256]
    if typ == T.Q4_K:
        dx, dminx, sc, mn, q = packed
        qy8 = qy.reshape(qy.shape[0], qy.shape[1], 8, 32)
        sub = np.einsum("rbjk,nbjk->nrbj", q, qy8, dtype=np.int64)
        sumi = (sub * sc[None]).sum(axis=3)
        summ = (qy8.sum(axis=3)[:, None] * mn[None]).sum(axis=3)
        sumf = np.zeros(sumi.shape[:2], np.float32)
        for ib in range(sumi.shape[2]):
            d = _f32(dy[:, None, ib].astype(np.float64) * dx[None, :, ib])
            dmin = _f32(dy[:, None, ib].astype(np.float64) * dminx[None, :, ib])
            sumf = _fma(-dmin, summ[:, :, ib].astype(np.float32), sumf)
            sumf = _fma(d, sumi[:, :, ib].astype(np.float32), sumf)
        return sumf
    if typ == T.Q6_K:
        dx, sc, q = packed
        qy16 = qy.reshape(qy.shape[0], qy.shape[1], 16, 16)
        sub = np.einsum("rbgk,nbgk->nrbg", q, qy16, dtype=np.int64)
        sum_t = (sub * sc[None]).sum(axis=3)
        sumf = np.zeros(sum_t.shape[:2], np.float32)
        for ib in range(sum_t.shape[2]):
            d = _f32(dx[None, :, ib].astype(np.float64) * dy[:, None, ib])
            sumf = _fma(d, sum_t[:, :, ib].astype(np.float32), sumf)
        return sumf
    raise ValueError(typ)


UNPACK = {T.Q4_0: unpack_q4_0, T.Q8_0: unpack_q8_0, T.Q4_K: unpack_q4_K, T.Q6_K: unpack_q6_K}

VEC_DOT = {
    T.Q4_K: act_q8_K, T.Q6_K: act_q8_K,
    T.Q4_0: act_q8_0, T.Q8_0: act_q8_0,
    T.F16: act_f16, T.BF16: act_bf16,
    T.F32: lambda x: x.astype(np.float32),
}

def cache_q8_0(x):
    """x [n, heads, head_dim] stored in a Q8_0 cache and read back: blocks of 32 along a
    head's dimensions."""
    n, h, d = x.shape
    return act_q8_0(x.reshape(n * h, d)).reshape(n, h, d)


# The KV cache types: (rounding of a stored K or V [n, heads, head_dim], rounding of the
# operand a split-path product converts to the cache's vec_dot_type, None for none).
KV_TYPES = {
    "f16": (act_f16, act_f16),
    "bf16": (act_bf16, act_bf16),
    "q8_0": (cache_q8_0, None),
}

# Diagnosis only (never for a verdict): ORACLE_DIAG=no_q16,no_sm16,k_f32,v_f32 turn off one f16
# rounding of GGML's order, rope_f64 takes theta exactly, dot_f32
# accumulates mat-vec products in f32, kexpf uses the emulator's exp polynomial:
# to see which variant another implementation follows.
DIAG = {k: True for k in os.environ.get("ORACLE_DIAG", "").split(",") if k}

# ------------------------------------------------------------------ model


class Model:
    def __init__(self, path):
        r = GGUFReader(path)
        self.fields = r.fields
        self.tensors = {t.name: t for t in r.tensors}
        arch = self.str_field("general.architecture")
        if arch != "llama":
            raise SystemExit(f"{path}: general.architecture is {arch!r}, not llama")
        self.n_embd = self.int_field("llama.embedding_length")
        self.n_layer = self.int_field("llama.block_count")
        self.n_head = self.int_field("llama.attention.head_count")
        self.n_head_kv = self.int_field("llama.attention.head_count_kv", self.n_head)
        self.head_dim = self.n_embd // self.n_head
        self.eps = np.float32(self.float_field("llama.attention.layer_norm_rms_epsilon"))
        self.rope_base = np.float32(self.float_field("llama.rope.freq_base", 10000.0))
        self.n_rot = self.int_field("llama.rope.dimension_count", self.head_dim)
        self._cache = {}
        self._packed = {}
        self.kv_type = "f16"
        self.dot = "ggml"
        self.attention = "split"
        self.unit = False  # quantized and BF16 weight products in the generic (unit) order
        emb = self.tensors["token_embd.weight"]
        self.n_vocab = int(emb.shape[1])
        self.out_name = "output.weight" if "output.weight" in self.tensors else "token_embd.weight"

    def _scalar(self, key, default):
        f = self.fields.get(key)
        if f is None:
            if default is None:
                raise SystemExit(f"missing metadata key {key}")
            return default
        return f.parts[f.data[0]][0]

    def int_field(self, key, default=None):
        return int(self._scalar(key, default))

    def float_field(self, key, default=None):
        return float(self._scalar(key, default))

    def str_field(self, key):
        f = self.fields[key]
        return bytes(f.parts[f.data[0]]).decode()

    def weight(self, name):
        """(dequantized f32 [rows, ne0], ggml type)."""
        if name not in self._cache:
            t = self.tensors[name]
            ne0 = int(t.shape[0])
            w = dequantize(t.data, t.tensor_type).astype(np.float32).reshape(-1, ne0)
            self._cache[name] = (w, T(t.tensor_type))
        return self._cache[name]

    def vec(self, name):
        return self.weight(name)[0].reshape(-1)

    def mul_mat(self, name, x):
        """x [n, ne0] f32 -> [n, rows] f32, activation converted to the vec_dot_type first."""
        w, typ = self.weight(name)
        if DIAG.get("dot_f32"):  # f32 accumulation (BLAS order) instead of f64
            return (VEC_DOT[typ](x) @ w.T).astype(np.float32)
        if self.dot == "ggml":
            if typ in UNPACK:
                if name not in self._packed:
                    t = self.tensors[name]
                    self._packed[name] = UNPACK[typ](np.asarray(t.data), int(t.shape[0]))
                # in chunks of rows to bound memory
                out = []
                pk = self._packed[name]
                fn = dot_blocks_generic if self.unit else dot_blocks
                for r0 in range(0, w.shape[0], 2048):
                    out.append(fn(typ, tuple(p[r0:r0 + 2048] for p in pk), x))
                return np.concatenate(out, axis=1)
            if typ == T.BF16 and self.unit:
                return dot_bf16_generic(w, VEC_DOT[typ](x))
            return np.concatenate([dot_lanes(w[r0:r0 + 4096], VEC_DOT[typ](x))
                                   for r0 in range(0, w.shape[0], 4096)], axis=1)
        xa = VEC_DOT[typ](x).astype(np.float64)
        return (xa @ w.astype(np.float64).T).astype(np.float32)

    # -------------------------------------------------------------- ops

    def rms_norm(self, x, wname):
        sq = (x * x).astype(np.float32).astype(np.float64)  # f32 squares, as GGML
        ss = np.zeros(x.shape[0], np.float64)
        for i in range(x.shape[1]):  # sequential f64 sum (ggml_float)
            ss += sq[:, i]
        mean = (ss / x.shape[1]).astype(np.float32)
        scale = (np.float32(1.0) / np.sqrt(mean + self.eps)).astype(np.float32)
        return (x * scale[:, None]).astype(np.float32) * self.vec(wname)

    def rope(self, x, pos):
        """x [n, heads, head_dim], NORM mode. As ggml_rope_cache_init: theta_scale =
        powf(base, -2.0f/n_rot), theta_0 = (float)pos, theta_{i+1} = theta_i * theta_scale in
        f32, cos/sin of the f32 theta rounded to f32 (glibc cosf/sinf/powf are correctly
        rounded in practice, so they are taken in f64 and rounded; numpy's own float32
        cos/sin are not, and differ by an ulp often enough to matter)."""
        y = x.copy()
        expo = float(np.float32(-2.0) / np.float32(self.n_rot))
        theta_scale = np.float32(float(self.rope_base) ** expo)
        for i, p in enumerate(pos):
            theta = np.float32(p)
            for i0 in range(0, self.n_rot, 2):
                c, s = np.float32(np.cos(float(theta))), np.float32(np.sin(float(theta)))
                if DIAG.get("rope_f64"):
                    th = p * float(self.rope_base) ** (-i0 / self.n_rot)
                    c, s = np.float32(np.cos(th)), np.float32(np.sin(th))
                x0 = x[i, :, i0]
                x1 = x[i, :, i0 + 1]
                y[i, :, i0] = x0 * c - x1 * s
                y[i, :, i0 + 1] = x0 * s + x1 * c
                theta = np.float32(theta * theta_scale)
        return y

    @staticmethod
    def attention_on_unit(q, k, kc, vc, kq_scale, mask, kv_type="f16"):
        """The fused kernel on the matrix unit (k_attention_xpop) for one head: q [n_q, D]
        f32, k [n_kv, D] the K rows as computed (f32), kc and vc the cache's values.
        f16 / bf16: Q rounded to the cache's type, scores as the unit's exact products
        summed in binary64 then rounded to f32, the unnormalised probabilities e^(s - max)
        (the kernel's exp polynomial) rounded to the cache's type for the p.V product
        (exact, binary64; bf16 flushes probabilities below 2^-123 to 0 first).
        q8_0: Q quantized to Q8_0 (quantize_row_q8_0) and the scores in the unit's
        ggml_vec_dot_q8_0_q8_0 generic order against K's stored blocks; the probabilities
        stay f32 (below 2^-123 flushed to 0) and p.V is the vector unit's f32 fma chain in
        key order. Every path divides by the f32 sum of the unrounded probabilities. Exact
        for keys in one block of 128 (the running maximum is then the row's maximum);
        longer rows rescale per block, which this does not model."""
        if kv_type == "q8_0":
            dy, qy = q8_0_ints(q)
            dx, qx = q8_0_ints(k)
            sumi = np.einsum("rbk,nbk->nrb", qx, qy, dtype=np.int64)
            kq = np.zeros(sumi.shape[:2], np.float32)
            for ib in range(sumi.shape[2]):
                kq = _add(kq, _mul(sumi[:, :, ib].astype(np.float32), _mul(dx[None, :, ib], dy[:, None, ib])))
        else:
            rnd = act_bf16 if kv_type == "bf16" else act_f16
            kq = (rnd(q).astype(np.float64) @ kc.T).astype(np.float32)
        wv = (kq * kq_scale + mask).astype(np.float32)
        mx = wv.max(axis=1, keepdims=True)
        e = exp_nonpos_unit((wv - mx).astype(np.float32))
        ssum = e.astype(np.float32).sum(axis=1, keepdims=True, dtype=np.float32)
        if kv_type == "f16":
            pv = (act_f16(e).astype(np.float64) @ vc).astype(np.float32)
        else:
            p = np.where(e < np.float32(2.0**-123), np.float32(0), e).astype(np.float32)
            if kv_type == "bf16":
                pv = (act_bf16(p).astype(np.float64) @ vc).astype(np.float32)
            else:
                v32 = vc.astype(np.float32)  # qs * d, exact in f32
                pv = np.zeros((p.shape[0], v32.shape[1]), np.float32)
                for j in range(v32.shape[0]):
                    pv = _fma32(p[:, j:j + 1], v32[j:j + 1, :], pv)
        return (pv * (np.float32(1.0) / ssum).astype(np.float32)).astype(np.float32)

    def forward(self, ids):
        n = len(ids)
        pos = list(range(n))
        emb, _ = self.weight("token_embd.weight")
        x = emb[np.asarray(ids)].astype(np.float32)
        H, Hkv, D = self.n_head, self.n_head_kv, self.head_dim
        group = H // Hkv
        kq_scale = np.float32(1.0 / np.sqrt(np.float32(D)))
        mask = np.where(np.arange(n)[None, :] <= np.arange(n)[:, None], 0.0, -np.inf)
        mask = mask.astype(np.float32)
        for l in range(self.n_layer):
            p = f"blk.{l}."
            cur = self.rms_norm(x, p + "attn_norm.weight")
            q = self.mul_mat(p + "attn_q.weight", cur).reshape(n, H, D)
            k = self.mul_mat(p + "attn_k.weight", cur).reshape(n, Hkv, D)
            v = self.mul_mat(p + "attn_v.weight", cur).reshape(n, Hkv, D)
            q = self.rope(q, pos)
            k = self.rope(k, pos)
            store, vdt = KV_TYPES[self.kv_type]
            kc = store(k).astype(np.float64)  # the cache's values
            vc = store(v).astype(np.float64)
            if DIAG.get("k_f32"):
                kc = k.astype(np.float64)
            if DIAG.get("v_f32"):
                vc = v.astype(np.float64)
            if vdt is None and self.attention == "split":
                raise SystemExit(f"a {self.kv_type} KV cache needs fused attention")
            q16 = (vdt or act_f16)(q).astype(np.float64)  # vec_dot_type of the K cache
            if DIAG.get("no_q16") or self.attention == "fused":
                # The fused kernel (flash_attn_ext) takes Q in f32: no vec_dot_type rounding.
                q16 = q.astype(np.float64)
            out = np.zeros((n, H, D), np.float32)
            for h in range(H):
                g = h // group
                if self.attention == "fused-unit":
                    out[:, h, :] = self.attention_on_unit(q[:, h, :], k[:, g, :], kc[:, g, :],
                                                          vc[:, g, :], kq_scale, mask, self.kv_type)
                    continue
                if self.dot == "ggml":
                    kq = dot_lanes(kc[:, g, :], q16[:, h, :])
                else:
                    kq = (q16[:, h, :] @ kc[:, g, :].T).astype(np.float32)  # [n_q, n_kv]
                wv = (kq * kq_scale + mask).astype(np.float32)
                mx = wv.max(axis=1, keepdims=True)
                e = expf((wv - mx).astype(np.float32))
                ssum = e.astype(np.float64).sum(axis=1, keepdims=True)
                sm = (e * (1.0 / ssum).astype(np.float32)).astype(np.float32)
                sm16 = (vdt or act_f16)(sm).astype(np.float64)  # vec_dot_type of the V cache
                if DIAG.get("no_sm16") or self.attention == "fused":
                    # Fused: the probabilities stay f32 (online softmax, no kqv mul_mat).
                    sm16 = sm.astype(np.float64)
                if self.dot == "ggml":
                    out[:, h, :] = dot_lanes(np.ascontiguousarray(vc[:, g, :].T), sm16)
                else:
                    out[:, h, :] = (sm16 @ vc[:, g, :]).astype(np.float32)
            attn = self.mul_mat(p + "attn_output.weight", out.reshape(n, H * D))
            x = (x + attn).astype(np.float32)
            cur = self.rms_norm(x, p + "ffn_norm.weight")
            gate = self.mul_mat(p + "ffn_gate.weight", cur)
            up = self.mul_mat(p + "ffn_up.weight", cur)
            with np.errstate(over="ignore"):
                silu = (gate / (np.float32(1.0) + expf(-gate))).astype(np.float32)
            ff = self.mul_mat(p + "ffn_down.weight", (silu * up).astype(np.float32))
            x = (x + ff).astype(np.float32)
        cur = self.rms_norm(x, "output_norm.weight")
        return self.mul_mat(self.out_name, cur)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model")
    ap.add_argument("--ids", required=True, help="token ids fed at positions 0.., comma separated")
    ap.add_argument("--out", required=True, help="FILE.logits (and FILE.logits.json)")
    ap.add_argument("--prompt-len", type=int, default=1,
                    help="prompt length: rows start at its last position (default 1)")
    ap.add_argument("--all", action="store_true", help="a row for every position")
    ap.add_argument("--dot", choices=["ggml", "unit", "f64"], default="ggml",
                    help="product order: ggml (the RVV kernels' order: per-block fma), unit "
                         "(quantized/BF16 weights in ggml's generic unfused order, as the "
                         "Xpop_matmul unit, doc/xpop-matmul.md; F16/F32 as ggml), or f64 sums")
    ap.add_argument("--lanes", type=int, default=16,
                    help="f32 lane accumulators of F16/BF16/F32 products (default 16: VLEN 128)")
    ap.add_argument("--attention", choices=["split", "fused", "fused-unit"], default="split",
                    help="split: kq mul_mat (Q rounded to f16), soft_max, kqv mul_mat (P rounded "
                         "to f16), as llama.cpp without flash attention; fused: Q and P stay f32 "
                         "as in the emulator's RVV flash_attn_ext kernel (its online softmax order "
                         "is not modelled); fused-unit: the kernel on the matrix unit (f16/bf16 caches: Q and the "
                         "unnormalised probabilities rounded to the cache type, exact products; "
                         "q8_0: Q quantized to Q8_0, int8 products, p.V in f32)")
    ap.add_argument("--kv-type", choices=sorted(KV_TYPES), default="f16",
                    help="KV cache type (emulate run --kv-type); q8_0 needs a fused attention")
    a = ap.parse_args()
    ids = [int(s) for s in a.ids.split(",") if s.strip()]
    if not 1 <= a.prompt_len <= len(ids):
        raise SystemExit("--prompt-len must be between 1 and the number of ids")
    global LANES
    LANES = a.lanes
    m = Model(a.model)
    m.dot = "f64" if a.dot == "f64" else "ggml"
    m.unit = a.dot == "unit"
    m.attention = a.attention
    m.kv_type = a.kv_type
    bad = [i for i in ids if not 0 <= i < m.n_vocab]
    if bad:
        raise SystemExit(f"token ids out of range 0..{m.n_vocab - 1}: {bad}")
    logits = m.forward(ids)
    first = 0 if a.all else a.prompt_len - 1
    rows = np.ascontiguousarray(logits[first:], dtype="<f4")
    rows.tofile(a.out)
    meta = {
        "byte_order": "little",
        "dtype": "f32",
        "fed_ids": ids[a.prompt_len:],
        "meaningful": True,
        "positions": list(range(first, len(ids))),
        "prompt_ids": ids[:a.prompt_len],
        "shape": [int(rows.shape[0]), int(rows.shape[1])],
        "tokens": ids[first:],
        "source": "testbench/oracle/llama_ref.py",
    }
    with open(a.out + ".json", "w") as f:
        json.dump(meta, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
