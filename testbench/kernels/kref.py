"""Numeric references for the kernel set, built on numpy and the PyPI `gguf` package.

Two kinds of reference live here:
  * format references: GGML's block formats and reference quantizers (Q8_0 through
    gguf.quants; Q8_K written from the format, since gguf has none);
  * order models: the exact sequence of f32/f64 operations a kernel performs (doc/kernels.md
    "Numerics"), so that the kernel's output can be required to match bit for bit. Fused
    multiply-adds are reproduced with `fma32`, which is correctly rounded.
Independent float64 references (`*_f64`) check that the order models compute the right thing.
"""

from __future__ import annotations

import numpy as np
from gguf import GGMLQuantizationType as GT
from gguf.quants import dequantize, quantize

f32 = np.float32


# ---- correctly rounded f32 fused multiply-add ------------------------------------------------

def fma32(a, b, c) -> np.ndarray:
    """fl32(a*b + c) with a single rounding, elementwise.

    a*b of two f32 values is exact in f64. TwoSum gives p + c = s + e exactly; rounding s
    to odd (when e != 0 and s is even, step one ulp towards e) and then to f32 is a correct
    rounding, since f64 carries more than 24 + 2 bits.
    """
    a = np.asarray(a, dtype=f32).astype(np.float64)
    b = np.asarray(b, dtype=f32).astype(np.float64)
    c = np.asarray(c, dtype=f32).astype(np.float64)
    p = a * b
    s = p + c
    bb = s - p
    e = (p - (s - bb)) + (c - bb)
    even = (s.view(np.int64) & 1) == 0
    fix = (e != 0) & even
    s = np.where(fix, np.nextafter(s, np.where(e > 0, np.inf, -np.inf)), s)
    return s.astype(f32)


def seq_sum_f32(x: np.ndarray, axis=-1, init=0.0) -> np.ndarray:
    """((init + x0) + x1) + ... in f32 along `axis` (an ordered reduction)."""
    x = np.moveaxis(np.asarray(x, dtype=f32), axis, -1)
    acc = np.full(x.shape[:-1], init, dtype=f32)
    for i in range(x.shape[-1]):
        acc = (acc + x[..., i]).astype(f32)
    return acc


def seq_sum_f64(x: np.ndarray, axis=-1) -> np.ndarray:
    """Sequential double sum of f32 values (vfwredosum; GGML's ggml_float loops)."""
    x = np.moveaxis(np.asarray(x, dtype=f32).astype(np.float64), axis, -1)
    return np.cumsum(x, axis=-1)[..., -1] if x.shape[-1] else np.zeros(x.shape[:-1])


# ---- block formats -----------------------------------------------------------------------------

def fp16(u16: np.ndarray) -> np.ndarray:
    return np.asarray(u16, dtype=np.uint16).view(np.float16).astype(f32)


def q4_0_ints(raw: np.ndarray):
    """Q4_0 blocks (n, 18) -> d (n,), q (n, 32) in element order, values -8..7."""
    raw = raw.reshape(-1, 18)
    d = fp16(raw[:, 0:2].copy().view(np.uint16)[:, 0])
    qs = raw[:, 2:]
    q = np.concatenate([(qs & 0xF), (qs >> 4)], axis=1).astype(np.int64) - 8
    return d, q


def q8_0_ints(raw: np.ndarray):
    raw = raw.reshape(-1, 34)
    d = fp16(raw[:, 0:2].copy().view(np.uint16)[:, 0])
    return d, raw[:, 2:].copy().view(np.int8).astype(np.int64)


def q4_K_parts(raw: np.ndarray):
    """Q4_K blocks (n, 144) -> d, dmin (n,), sc, m (n, 8), q (n, 256) in element order."""
    raw = raw.reshape(-1, 144)
    d = fp16(raw[:, 0:2].copy().view(np.uint16)[:, 0])
    dmin = fp16(raw[:, 2:4].copy().view(np.uint16)[:, 0])
    s = raw[:, 4:16].astype(np.int64)
    sc = np.zeros((raw.shape[0], 8), np.int64)
    m = np.zeros((raw.shape[0], 8), np.int64)
    for j in range(8):
        if j < 4:
            sc[:, j] = s[:, j] & 63
            m[:, j] = s[:, j + 4] & 63
        else:
            sc[:, j] = (s[:, j + 4] & 0xF) | ((s[:, j - 4] >> 6) << 4)
            m[:, j] = (s[:, j + 4] >> 4) | ((s[:, j] >> 6) << 4)
    qs = raw[:, 16:].astype(np.int64)
    q = np.zeros((raw.shape[0], 256), np.int64)
    for c in range(4):
        chunk = qs[:, 32 * c: 32 * c + 32]
        q[:, 64 * c: 64 * c + 32] = chunk & 0xF
        q[:, 64 * c + 32: 64 * c + 64] = chunk >> 4
    return d, dmin, sc, m, q


def q6_K_parts(raw: np.ndarray):
    """Q6_K blocks (n, 210) -> d (n,), scales (n, 16), q (n, 256) in element order (-32..31)."""
    raw = raw.reshape(-1, 210)
    ql = raw[:, 0:128].astype(np.int64)
    qh = raw[:, 128:192].astype(np.int64)
    scales = raw[:, 192:208].copy().view(np.int8).astype(np.int64)
    d = fp16(raw[:, 208:210].copy().view(np.uint16)[:, 0])
    q = np.zeros((raw.shape[0], 256), np.int64)
    for h in range(2):
        L = ql[:, 64 * h: 64 * h + 64]
        H = qh[:, 32 * h: 32 * h + 32]
        base = 128 * h
        q[:, base + 0: base + 32] = (L[:, 0:32] & 0xF) | (((H >> 0) & 3) << 4)
        q[:, base + 32: base + 64] = (L[:, 32:64] & 0xF) | (((H >> 2) & 3) << 4)
        q[:, base + 64: base + 96] = (L[:, 0:32] >> 4) | (((H >> 4) & 3) << 4)
        q[:, base + 96: base + 128] = (L[:, 32:64] >> 4) | (((H >> 6) & 3) << 4)
    return d, scales, q - 32


def q8_K_parts(raw: np.ndarray):
    raw = raw.reshape(-1, 292)
    d = raw[:, 0:4].copy().view(f32)[:, 0]
    qs = raw[:, 4:260].copy().view(np.int8).astype(np.int64)
    bsums = raw[:, 260:292].copy().view(np.int16).astype(np.int64)
    return d, qs, bsums


def random_q4_K(rng, nblocks: int) -> np.ndarray:
    """Random Q4_K blocks: any bytes are valid once d and dmin are finite f16 values."""
    raw = rng.integers(0, 256, (nblocks, 144), dtype=np.uint8)
    raw[:, 0:4] = rng.uniform(1e-3, 0.05, (nblocks, 2)).astype(np.float16).view(np.uint8).reshape(nblocks, 4)
    return raw


def random_q6_K(rng, nblocks: int) -> np.ndarray:
    raw = rng.integers(0, 256, (nblocks, 210), dtype=np.uint8)
    raw[:, 208:210] = rng.uniform(1e-3, 0.02, (nblocks, 1)).astype(np.float16).view(np.uint8).reshape(nblocks, 2)
    return raw


def quantize_q8_0(x: np.ndarray) -> np.ndarray:
    """GGML's quantize_row_q8_0_ref through gguf (bit-exact to the C reference)."""
    x = np.asarray(x, dtype=f32)
    return quantize(x.reshape(-1, x.shape[-1]), GT.Q8_0).reshape(-1)


def quantize_q4_0(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=f32)
    return quantize(x.reshape(-1, x.shape[-1]), GT.Q4_0).reshape(-1)


def quantize_q8_K(x: np.ndarray) -> np.ndarray:
    """quantize_row_q8_K_ref, written from ggml-quants.c: the first element of largest
    magnitude sets iscale = -127/max; q = min(127, nearest_int(iscale*x)) (ties to even);
    d = 1/iscale; bsums = sums of 16 quants. All-zero blocks: d = 0, q = 0, bsums = 0."""
    blocks = np.asarray(x, dtype=f32).reshape(-1, 256)
    out = np.zeros((blocks.shape[0], 292), np.uint8)
    for i, b in enumerate(blocks):
        ax = np.abs(b)
        amax = ax.max()
        if amax == 0:
            continue
        mx = b[int(np.argmax(ax))]
        iscale = f32(-127.0) / mx
        q = np.minimum(127, np.rint((iscale * b).astype(f32))).astype(np.int8)
        bsums = q.astype(np.int64).reshape(16, 16).sum(axis=1).astype(np.int16)
        d = f32(1.0) / iscale
        out[i, 0:4] = np.array([d], f32).view(np.uint8)
        out[i, 4:260] = q.view(np.uint8)
        out[i, 260:292] = bsums.view(np.uint8)
    return out.reshape(-1)


def to_bf16(x: np.ndarray) -> np.ndarray:
    """GGML_FP32_TO_BF16 (round to nearest even, NaN kept quiet) via gguf, as uint16."""
    x = np.asarray(x, dtype=f32)
    return quantize(x.reshape(-1, x.shape[-1]), GT.BF16).reshape(-1).view(np.uint16)


def from_bf16(u: np.ndarray) -> np.ndarray:
    return (np.asarray(u, np.uint16).astype(np.uint32) << 16).view(f32)


def dequant(raw: np.ndarray, t: int, n: int) -> np.ndarray:
    """GGML's dequantize_row_* via gguf for the block types; rows of n elements."""
    if t == 15:  # Q8_K: gguf has no Q8_K
        d, qs, _ = q8_K_parts(raw)
        return (qs.astype(f32) * d[:, None]).astype(f32).reshape(-1, n)
    return dequantize(np.asarray(raw, np.uint8).reshape(-1, _row_bytes(t, n)), GT(t)).reshape(-1, n)


def _row_bytes(t, n):
    from kabi import row_bytes
    return row_bytes(t, n)


# ---- order models of the dot products (doc/kernels.md "Numerics") ------------------------------

def _per_block(a_raw, b_raw, rows_a, rows_b, bytes_a, bytes_b, nb):
    A = np.asarray(a_raw, np.uint8).reshape(rows_a, nb, bytes_a)
    B = np.asarray(b_raw, np.uint8).reshape(rows_b, nb, bytes_b)
    return A, B


def mul_mat_q4_0(w_raw, a_raw, n, m, k) -> np.ndarray:
    """dst[m, n] for Q4_0 weights (n rows) x Q8_0 activations (m rows): per block
    sumf = fma(f32(sumi) * d_x, d_y, sumf)."""
    nb = k // 32
    W, A = _per_block(w_raw, a_raw, n, m, 18, 34, nb)
    acc = np.zeros((m, n), f32)
    for ib in range(nb):
        dx, qx = q4_0_ints(W[:, ib])
        dy, qy = q8_0_ints(A[:, ib])
        sumi = qy @ qx.T  # (m, n), exact in int64
        t = (sumi.astype(f32) * dx[None, :]).astype(f32)
        acc = fma32(t, np.broadcast_to(dy[:, None], acc.shape), acc)
    return acc


def mul_mat_q8_0(w_raw, a_raw, n, m, k) -> np.ndarray:
    """Q8_0 x Q8_0: sumf = fma(f32(sumi), d_x*d_y, sumf)."""
    nb = k // 32
    W, A = _per_block(w_raw, a_raw, n, m, 34, 34, nb)
    acc = np.zeros((m, n), f32)
    for ib in range(nb):
        dx, qx = q8_0_ints(W[:, ib])
        dy, qy = q8_0_ints(A[:, ib])
        sumi = qy @ qx.T
        dd = (dy[:, None] * dx[None, :]).astype(f32)
        acc = fma32(sumi.astype(f32), dd, acc)
    return acc


def mul_mat_q4_K(w_raw, a_raw, n, m, k) -> np.ndarray:
    """Q4_K x Q8_K: per block d = y.d*f16(x.d), dmin = y.d*f16(x.dmin);
    sumf = fma(-dmin, f32(sum_j min_j*(bsum_2j + bsum_2j+1)), sumf);
    sumf = fma(d, f32(sum_j sc_j * sum(q4*q8 over sub-block j)), sumf)."""
    nb = k // 256
    W, A = _per_block(w_raw, a_raw, n, m, 144, 292, nb)
    acc = np.zeros((m, n), f32)
    for ib in range(nb):
        xd, xdmin, sc, mn, q4 = q4_K_parts(W[:, ib])
        yd, q8, bsums = q8_K_parts(A[:, ib])
        d = (yd[:, None] * xd[None, :]).astype(f32)
        dmin = (yd[:, None] * xdmin[None, :]).astype(f32)
        pair = bsums[:, 0::2] + bsums[:, 1::2]  # (m, 8)
        summins = pair @ mn.T  # (m, n)
        acc = fma32(-dmin, summins.astype(f32), acc)
        # per sub-block integer dots: (m, n, 8)
        sub = np.einsum("msl,nsl->mns", q8.reshape(-1, 8, 32), q4.reshape(-1, 8, 32))
        sumi = np.einsum("mns,ns->mn", sub, sc)
        acc = fma32(d, sumi.astype(f32), acc)
    return acc


def mul_mat_q6_K(w_raw, a_raw, n, m, k) -> np.ndarray:
    """Q6_K x Q8_K: per block d = f16(x.d)*y.d; sumf = fma(d, f32(sum_s sc_s * dot_s), sumf)."""
    nb = k // 256
    W, A = _per_block(w_raw, a_raw, n, m, 210, 292, nb)
    acc = np.zeros((m, n), f32)
    for ib in range(nb):
        xd, sc, q6 = q6_K_parts(W[:, ib])
        yd, q8, _ = q8_K_parts(A[:, ib])
        d = (xd[None, :] * yd[:, None]).astype(f32)
        sub = np.einsum("msl,nsl->mns", q8.reshape(-1, 16, 16), q6.reshape(-1, 16, 16))
        sumi = np.einsum("mns,ns->mn", sub, sc)
        acc = fma32(d, sumi.astype(f32), acc)
    return acc


def mul_mat_lanes(w: np.ndarray, a: np.ndarray, lanes: int) -> np.ndarray:
    """F32/F16 dot order: `lanes` f32 accumulators (lane l takes elements l, l+lanes, ...
    with one fma each, tail lanes undisturbed), then an ordered sum of the lanes from 0.
    w (n, k), a (m, k) as f32 (already widened from f16). Returns (m, n)."""
    n, k = w.shape
    m = a.shape[0]
    acc = np.zeros((m, n, lanes), f32)
    for s in range(0, k, lanes):
        e = min(lanes, k - s)
        acc[:, :, :e] = fma32(a[:, None, s: s + e], w[None, :, s: s + e], acc[:, :, :e])
    return seq_sum_f32(acc, axis=-1)


# ---- the vector expf of kmath.h ----------------------------------------------------------------

LOG2E_F = f32(1.4426950408889634)
LN2_HI_F = f32(0.693145751953125)
LN2_LO_F = f32(1.4286068203094172e-06)


def kexpf(x) -> np.ndarray:
    """Operation-for-operation model of vexpf_* in programs/kernels/kmath.h."""
    x = np.asarray(x, dtype=f32)
    x = np.minimum(np.maximum(x, f32(-104.0)), f32(89.0))
    t = (x * LOG2E_F).astype(f32)
    n = np.rint(t).astype(np.int32)
    nf = n.astype(f32)
    r = fma32(-nf, LN2_HI_F, x)
    r = fma32(-nf, LN2_LO_F, r)
    p = np.full(x.shape, f32(1.0) / f32(5040.0), f32)
    for c in (f32(1.0) / f32(720.0), f32(1.0) / f32(120.0), f32(1.0) / f32(24.0), f32(1.0) / f32(6.0),
              f32(0.5), f32(1.0), f32(1.0)):
        p = fma32(p, r, np.full(x.shape, c, f32))
    n1 = n >> 1
    n2 = n - n1
    s1 = ((n1 + 127).astype(np.int32) << 23).view(f32)
    s2 = ((n2 + 127).astype(np.int32) << 23).view(f32)
    with np.errstate(over="ignore"):
        return ((p * s1).astype(f32) * s2).astype(f32)


def silu(x) -> np.ndarray:
    """x / (1 + kexpf(-x)) in f32."""
    x = np.asarray(x, dtype=f32)
    return (x / (f32(1.0) + kexpf(-x)).astype(f32)).astype(f32)


# ---- the scalar double math of kmath.h (rope) ---------------------------------------------------

def rope_theta_scale(freq_base: float, n_dims: int) -> np.float32:
    e = f32(-2.0) / f32(n_dims)
    return f32(np.float64(f32(freq_base)) ** np.float64(e))


def ulp_diff(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance in f32 ulps (as ordered integers)."""
    ai = np.asarray(a, f32).view(np.int32).astype(np.int64)
    bi = np.asarray(b, f32).view(np.int32).astype(np.int64)
    ai = np.where(ai < 0, np.int64(-2**31) - ai, ai)
    bi = np.where(bi < 0, np.int64(-2**31) - bi, bi)
    return np.abs(ai - bi)


# ---- GGML's generic (scalar reference) dot-product order: the Xpop_matmul unit's arithmetic --
# (ggml-cpu/quants.c *_generic; every float operation separately rounded, never fused)

def mul_mat_q4_0_generic(w_raw, a_raw, n, m, k) -> np.ndarray:
    """sumf += sumi*d_x*d_y, evaluated left to right: ((f32(sumi)*d_x)*d_y) then the add."""
    nb = k // 32
    W, A = _per_block(w_raw, a_raw, n, m, 18, 34, nb)
    acc = np.zeros((m, n), f32)
    for ib in range(nb):
        dx, qx = q4_0_ints(W[:, ib])
        dy, qy = q8_0_ints(A[:, ib])
        sumi = (qy @ qx.T).astype(f32)
        t = ((sumi * dx[None, :]).astype(f32) * dy[:, None]).astype(f32)
        acc = (acc + t).astype(f32)
    return acc


def mul_mat_q8_0_generic(w_raw, a_raw, n, m, k) -> np.ndarray:
    """sumf += sumi*(d_x*d_y)."""
    nb = k // 32
    W, A = _per_block(w_raw, a_raw, n, m, 34, 34, nb)
    acc = np.zeros((m, n), f32)
    for ib in range(nb):
        dx, qx = q8_0_ints(W[:, ib])
        dy, qy = q8_0_ints(A[:, ib])
        dd = (dy[:, None] * dx[None, :]).astype(f32)
        acc = (acc + ((qy @ qx.T).astype(f32) * dd).astype(f32)).astype(f32)
    return acc


def _lanes8(prod_scaled: np.ndarray) -> np.ndarray:
    """(m, n, 256) integer terms -> (m, n, 8) lane sums aux32[l] = sum of terms e with e%8 == l."""
    return prod_scaled.reshape(prod_scaled.shape[:-1] + (32, 8)).sum(axis=-2)


def mul_mat_q4_K_generic(w_raw, a_raw, n, m, k) -> np.ndarray:
    """8 f32 lane sums: sums[l] += d*aux32[l] per block; sumf -= dmin*sumi_mins per block;
    finally sumf += sums[l] for l = 0..7."""
    nb = k // 256
    W, A = _per_block(w_raw, a_raw, n, m, 144, 292, nb)
    sums = np.zeros((m, n, 8), f32)
    sumf = np.zeros((m, n), f32)
    for ib in range(nb):
        xd, xdmin, sc, mn, q4 = q4_K_parts(W[:, ib])
        yd, q8, bsums = q8_K_parts(A[:, ib])
        scale_e = np.repeat(sc, 32, axis=1)  # (n, 256): the sub-block scale of element e
        terms = q8[:, None, :] * (q4 * scale_e)[None, :, :]  # (m, n, 256)
        aux32 = _lanes8(terms).astype(f32)
        d = (xd[None, :] * yd[:, None]).astype(f32)
        sums = (sums + (d[..., None] * aux32).astype(f32)).astype(f32)
        sumi = bsums @ np.repeat(mn, 2, axis=1).T  # (m, n): sum_j bsums[j] * mins[j/2]
        dmin = (xdmin[None, :] * yd[:, None]).astype(f32)
        sumf = (sumf - (dmin * sumi.astype(f32)).astype(f32)).astype(f32)
    for l in range(8):
        sumf = (sumf + sums[..., l]).astype(f32)
    return sumf


def mul_mat_q6_K_generic(w_raw, a_raw, n, m, k) -> np.ndarray:
    """8 f32 lane sums: sums[l] += d*aux32[l] per block; result = sum of sums[l] from 0."""
    nb = k // 256
    W, A = _per_block(w_raw, a_raw, n, m, 210, 292, nb)
    sums = np.zeros((m, n, 8), f32)
    for ib in range(nb):
        xd, sc, q6 = q6_K_parts(W[:, ib])
        yd, q8, _ = q8_K_parts(A[:, ib])
        scale_e = np.repeat(sc, 16, axis=1)
        terms = q8[:, None, :] * (q6 * scale_e)[None, :, :]
        aux32 = _lanes8(terms).astype(f32)
        d = (xd[None, :] * yd[:, None]).astype(f32)
        sums = (sums + (d[..., None] * aux32).astype(f32)).astype(f32)
    sumf = np.zeros((m, n), f32)
    for l in range(8):
        sumf = (sumf + sums[..., l]).astype(f32)
    return sumf


def mul_mat_bf16_generic(w_u16, a_u16, n, m, k) -> np.ndarray:
    """sumf (double) += f32(x*y) in order; result rounded to f32."""
    wf = from_bf16(w_u16).reshape(n, k)
    af = from_bf16(a_u16).reshape(m, k)
    prod = (af[:, None, :] * wf[None, :, :]).astype(f32)
    return seq_sum_f64(prod, axis=-1).astype(f32)
