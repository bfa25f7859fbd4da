#!/usr/bin/env python3
"""Numeric oracle for the Xpop_matmul unit (doc/xpop-matmul.md).

Builds operands from a seed with GGML's own block formats (the PyPI `gguf` package), and
computes the expected outputs two independent ways:

  c_exact.bin  float32, m x n: GGML's reference dot products in GGML's order of operations
               (ggml_vec_dot_*_generic), written here in numpy from the block formats;
               the unit must match these bits.
  c_f64.bin    float64, m x n: sum of products of the values `gguf.quants.dequantize` gives
               (Q8_K, which gguf lacks, is d * qs), accumulated in float64;
  mag.bin      float64, m x n: sum of |terms| of each output, for the tolerance of c_f64.

It also checks its own block decoding against gguf's dequantization before writing anything,
so a misreading of a format fails here rather than agreeing with the same misreading in Rust.

Usage:
  xpop_oracle.py matmul   --type q4_K --m 2 --n 8 --k 512 --seed 1 --out DIR
  xpop_oracle.py quantize --type q8_K --rows 3 --k 512 --seed 1 --out DIR

`matmul` writes a.bin (n weight rows, packed), b.bin (m activation rows, packed) and the
outputs above; `quantize` writes x.bin (float32 rows) and q.bin (the reference bytes: gguf's
quantizer for q8_0, the format written out here for q8_K).
"""

import argparse
import json
import os
import sys

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf.quants import dequantize, quantize

F32 = np.float32
QK_K = 256

TYPES = {
    "q4_0": (T.Q4_0, 32, 18, "q8_0"),
    "q8_0": (T.Q8_0, 32, 34, "q8_0"),
    "q4_K": (T.Q4_K, 256, 144, "q8_K"),
    "q6_K": (T.Q6_K, 256, 210, "q8_K"),
    "bf16": (T.BF16, 1, 2, "bf16"),
    "f16": (T.F16, 1, 2, "f16"),
}

FLOAT16 = {"bf16": T.BF16, "f16": T.F16}


def f16_field(blocks, at):
    """The f16 at byte `at` of every block, widened exactly to float32."""
    return blocks[..., at:at + 2].copy().view(np.float16)[..., 0].astype(F32)


# ----------------------------------------------------------------------------- Q8_K

def quantize_q8_k(x):
    """quantize_row_q8_K_ref, from the format: x float32 [rows, k] -> uint8 [rows, k/256*292].

    Per block: the value of largest magnitude `max` (the first one on ties) sets
    iscale = -127/max; q = min(127, round-half-even(iscale * x)); d = 1/iscale;
    bsums = sums of 16 consecutive quants. All-zero blocks: d = 0, q = 0, sums 0.
    """
    rows, k = x.shape
    blocks = x.reshape(rows, k // QK_K, QK_K).astype(F32)
    out = np.zeros((rows, k // QK_K, 292), dtype=np.uint8)
    for r in range(rows):
        for b in range(k // QK_K):
            v = blocks[r, b]
            a = np.abs(v)
            i = int(np.argmax(a))  # first index of the largest |x|, as the C loop's strict '>'
            if a[i] == 0:
                continue
            iscale = F32(F32(-127.0) / v[i])
            q = np.rint(iscale * v).astype(np.int32)  # float32 product, ties to even
            q = np.minimum(q, 127).astype(np.int8)
            d = F32(F32(1.0) / iscale)
            out[r, b, 0:4] = np.frombuffer(np.array([d], dtype="<f4").tobytes(), np.uint8)
            out[r, b, 4:260] = q.view(np.uint8)
            sums = q.astype(np.int32).reshape(16, 16).sum(axis=1).astype("<i2")
            out[r, b, 260:292] = sums.view(np.uint8)
    return out.reshape(rows, -1)


def decode_q8_k(raw, rows, nb):
    b = raw.reshape(rows, nb, 292)
    d = b[..., 0:4].copy().view("<f4")[..., 0].astype(F32)
    qs = b[..., 4:260].view(np.int8).astype(np.int64)
    bsums = b[..., 260:292].copy().view("<i2").astype(np.int64)
    return d, qs, bsums


# ----------------------------------------------------------------------------- weights

def q4_k_scale_min(s):
    """get_scale_min_k4 for all 8 sub-blocks: s uint8 [..., 12] -> (sc, m) int64 [..., 8]."""
    s = s.astype(np.int64)
    sc = np.empty(s.shape[:-1] + (8,), dtype=np.int64)
    mn = np.empty_like(sc)
    for j in range(4):
        sc[..., j] = s[..., j] & 63
        mn[..., j] = s[..., j + 4] & 63
    for j in range(4, 8):
        sc[..., j] = (s[..., j + 4] & 0xF) | ((s[..., j - 4] >> 6) << 4)
        mn[..., j] = (s[..., j + 4] >> 4) | ((s[..., j] >> 6) << 4)
    return sc, mn


def decode_q4_k(raw, rows, nb):
    """-> d, dmin float32 [rows, nb]; q int64 [rows, nb, 256] (0..15, element order);
    scale per element and min per element, int64 [rows, nb, 256]."""
    b = raw.reshape(rows, nb, 144)
    d, dmin = f16_field(b, 0), f16_field(b, 2)
    sc, mn = q4_k_scale_min(b[..., 4:16])
    qs = b[..., 16:144].astype(np.int64).reshape(rows, nb, 4, 32)
    q = np.concatenate([qs & 0xF, qs >> 4], axis=-1).reshape(rows, nb, 256)
    sub = np.arange(256) // 32
    return d, dmin, q, sc[..., sub], mn[..., sub]


def decode_q6_k(raw, rows, nb):
    """-> d float32 [rows, nb]; q int64 [rows, nb, 256] (-32..31); scale per element."""
    b = raw.reshape(rows, nb, 210)
    ql = b[..., 0:128].astype(np.int64)
    qh = b[..., 128:192].astype(np.int64)
    sc = b[..., 192:208].view(np.int8).astype(np.int64)
    d = f16_field(b, 208)
    q = np.empty((rows, nb, 256), dtype=np.int64)
    for h in range(2):
        lo, hi = ql[..., 64 * h:64 * h + 64], qh[..., 32 * h:32 * h + 32]
        base = 128 * h
        q[..., base + 0:base + 32] = (lo[..., 0:32] & 0xF) | (((hi >> 0) & 3) << 4)
        q[..., base + 32:base + 64] = (lo[..., 32:64] & 0xF) | (((hi >> 2) & 3) << 4)
        q[..., base + 64:base + 96] = (lo[..., 0:32] >> 4) | (((hi >> 4) & 3) << 4)
        q[..., base + 96:base + 128] = (lo[..., 32:64] >> 4) | (((hi >> 6) & 3) << 4)
    q -= 32
    return d, q, sc[..., np.arange(256) // 16]


def decode_b32(raw, rows, nb, signed_offset):
    """Q4_0 (offset 8) or Q8_0 blocks -> d float32 [rows, nb], q int64 [rows, nb, 32]."""
    size = 18 if signed_offset else 34
    b = raw.reshape(rows, nb, size)
    d = f16_field(b, 0)
    if signed_offset:
        qs = b[..., 2:18].astype(np.int64)
        q = np.concatenate([(qs & 0xF) - 8, (qs >> 4) - 8], axis=-1)
    else:
        q = b[..., 2:34].view(np.int8).astype(np.int64)
    return d, q


# ----------------------------------------------------------------------------- references

def lanes_of(prod):
    """[..., 256] exact integer products -> [..., 8] sums of elements l, l+8, l+16, ..."""
    return prod.reshape(prod.shape[:-1] + (32, 8)).sum(axis=-2)


def ggml_kquant(ty, a_raw, b_raw, m, n, k):
    nb = k // QK_K
    yd, yq, ybs = decode_q8_k(b_raw, m, nb)
    if ty == "q4_K":
        xd, xdmin, xq, xsc, xmn = decode_q4_k(a_raw, n, nb)
    else:
        xd, xq, xsc = decode_q6_k(a_raw, n, nb)
    lanes = np.zeros((m, n, 8), dtype=F32)
    sumf = np.zeros((m, n), dtype=F32)
    for blk in range(nb):
        prod = xsc[None, :, blk, :] * xq[None, :, blk, :] * yq[:, None, blk, :]
        isum = lanes_of(prod)  # [m, n, 8], exact
        d = (xd[None, :, blk] * yd[:, None, blk]).astype(F32)
        lanes = (lanes + (d[..., None] * isum.astype(F32))).astype(F32)
        if ty == "q4_K":
            mins = xmn[:, blk, ::32]  # [n, 8]: one min per 32-element sub-block
            msum = (ybs[:, None, blk, :] * np.repeat(mins, 2, axis=-1)[None, :, :]).sum(-1)
            dmin = (xdmin[None, :, blk] * yd[:, None, blk]).astype(F32)
            sumf = (sumf - dmin * msum.astype(F32)).astype(F32)
    for lane in range(8):
        sumf = (sumf + lanes[..., lane]).astype(F32)
    return sumf


def ggml_b32(ty, a_raw, b_raw, m, n, k):
    nb = k // 32
    xd, xq = decode_b32(a_raw, n, nb, ty == "q4_0")
    yd, yq = decode_b32(b_raw, m, nb, False)
    sumf = np.zeros((m, n), dtype=F32)
    for blk in range(nb):
        sumi = (xq[None, :, blk, :] * yq[:, None, blk, :]).sum(-1).astype(F32)
        dx, dy = xd[None, :, blk], yd[:, None, blk]
        if ty == "q4_0":
            term = ((sumi * dx).astype(F32) * dy).astype(F32)  # sumi*dx*dy, left to right
        else:
            term = (sumi * (dx * dy).astype(F32)).astype(F32)  # sumi*(dx*dy)
        sumf = (sumf + term).astype(F32)
    return sumf


def ggml_float16(ty, a_raw, b_raw, m, n, k):
    """ggml_vec_dot_bf16 / ggml_vec_dot_f16 (scalar paths): float32 products of the widened
    values (exact for two 16-bit floats), summed in double in element order."""
    a = dequantize(a_raw.reshape(n, 2 * k), FLOAT16[ty]).astype(F32)  # exact widening
    b = dequantize(b_raw.reshape(m, 2 * k), FLOAT16[ty]).astype(F32)
    prod = (b[:, None, :] * a[None, :, :]).astype(F32)  # float32 products
    s = np.zeros((m, n), dtype=np.float64)
    for e in range(k):  # ggml_float (double) accumulation in element order
        s = s + prod[..., e].astype(np.float64)
    return s.astype(F32)


def reference_f64(ty, a_raw, b_raw, m, n, k):
    """Sum of products of gguf's dequantized values, in float64, and the sum of |terms|."""
    qt, _, _, bt = TYPES[ty]
    a = dequantize(a_raw.reshape(n, -1), qt).astype(np.float64)
    if bt == "q8_K":
        d, qs, _ = decode_q8_k(b_raw, m, k // QK_K)
        b = (d.astype(np.float64)[..., None] * qs).reshape(m, k)
    else:
        b = dequantize(b_raw.reshape(m, -1), T.Q8_0 if bt == "q8_0" else FLOAT16[bt])
        b = b.astype(np.float64)
    c = b @ a.T
    # Magnitude of every term the unit's arithmetic rounds: for Q4_K both halves of
    # d*sc*q - dmin*m count, since GGML sums them separately.
    if ty == "q4_K":
        xd, xdmin, xq, xsc, xmn = decode_q4_k(a_raw, n, k // QK_K)
        mag_a = (np.abs(xd[..., None].astype(np.float64) * xsc * xq)
                 + np.abs(xdmin[..., None].astype(np.float64) * xmn)).reshape(n, k)
    else:
        mag_a = np.abs(a)
    return c, np.abs(b) @ mag_a.T


def check_decoding(ty, a_raw, n, k):
    """Our reading of the weight format must agree with gguf's dequantization."""
    qt = TYPES[ty][0]
    g = dequantize(a_raw.reshape(n, -1), qt).astype(np.float64).reshape(n, -1)
    if ty == "q4_K":
        d, dmin, q, sc, mn = decode_q4_k(a_raw, n, k // QK_K)
        d64 = d.astype(np.float64)[..., None]
        dm64 = dmin.astype(np.float64)[..., None]
        mine = (d64 * sc * q - dm64 * mn).reshape(n, k)
        scale = (np.abs(d64 * sc * q) + np.abs(dm64 * mn)).reshape(n, k)
    elif ty == "q6_K":
        d, q, sc = decode_q6_k(a_raw, n, k // QK_K)
        mine = (d.astype(np.float64)[..., None] * sc * q).reshape(n, k)
        scale = np.abs(mine)
    elif ty in ("q4_0", "q8_0"):
        d, q = decode_b32(a_raw, n, k // 32, ty == "q4_0")
        mine = (d.astype(np.float64)[..., None] * q).reshape(n, k)
        scale = np.abs(mine)
    else:
        return
    # gguf rounds each dequantized value to float32 after at most two float32 roundings
    # (d*sc, then *q - dmin*m): 3 * 2^-24 of the terms' magnitude bounds the difference.
    bad = np.abs(g - mine) > 3 * 2.0**-24 * scale + 1e-30
    if bad.any():
        r, e = map(int, np.argwhere(bad)[0])
        sys.exit(f"{ty}: our decoding of row {r} element {e} is {mine[r, e]}, "
                 f"gguf dequantizes {g[r, e]}")


# ----------------------------------------------------------------------------- inputs

def to_bytes(q, rows):
    """gguf's quantize output as `rows` rows of bytes (F16 comes back as float16 values)."""
    if q.dtype == np.float16:
        q = q.view(np.uint8)
    return q.reshape(rows, -1).astype(np.uint8)


def make_weights(rng, ty, n, k):
    qt, _, size, _ = TYPES[ty]
    if ty in ("q4_0", "q8_0", "bf16", "f16"):
        x = rng.standard_normal((n, k)).astype(F32) * F32(0.05)
        # Odd rows: one sign and magnitudes near the block maximum. With the odd activation
        # rows alike, every block's integer sum is near its largest (2^14 and more), where the
        # association order of GGML's scale multiplications changes the rounding.
        x[1::2] = rng.uniform(0.6, 1.0, x[1::2].shape).astype(F32) * F32(0.05)
        return to_bytes(quantize(x, qt), n)
    nb = k // QK_K
    raw = rng.integers(0, 256, (n, nb, size), dtype=np.uint8)  # any bytes are valid quants
    if ty == "q4_K":
        ds = rng.uniform(1e-3, 0.05, (n, nb, 2)).astype(np.float16)
        raw[..., 0:4] = ds.view(np.uint8).reshape(n, nb, 4)
    else:
        ds = rng.uniform(1e-3, 0.05, (n, nb, 1)).astype(np.float16)
        raw[..., 208:210] = ds.view(np.uint8).reshape(n, nb, 2)
    return raw.reshape(n, -1)


def make_activations(rng, bt, m, k, weights):
    x = rng.standard_normal((m, k)).astype(F32) * F32(2.0)
    # Row 0 follows weight row 0, so its first output is a large sum of aligned products.
    x[0] = weights[0] * F32(40.0) + x[0] * F32(0.01)
    x[1::2] = rng.uniform(0.6, 1.0, x[1::2].shape).astype(F32) * F32(2.0)
    if k >= 512 and m >= 2:
        x[1, 256:512] = 0  # an all-zero block: Q8_K d = 0
    if bt == "q8_K":
        return quantize_q8_k(x)
    return to_bytes(quantize(x, T.Q8_0 if bt == "q8_0" else FLOAT16[bt]), m)


def cmd_matmul(args):
    ty, m, n, k = args.type, args.m, args.n, args.k
    _, block, _, bt = TYPES[ty]
    if k % block or (bt == "q8_K" and k % QK_K):
        sys.exit(f"k = {k} is not a multiple of the {ty} block size")
    rng = np.random.default_rng(args.seed)
    a = make_weights(rng, ty, n, k)
    a_values = dequantize(a.reshape(n, -1), TYPES[ty][0]).astype(F32).reshape(n, k)
    b = make_activations(rng, bt, m, k, a_values)
    check_decoding(ty, a, n, k)
    if ty in ("q4_K", "q6_K"):
        c = ggml_kquant(ty, a, b, m, n, k)
    elif ty in ("q4_0", "q8_0"):
        c = ggml_b32(ty, a, b, m, n, k)
    else:
        c = ggml_float16(ty, a, b, m, n, k)
    c64, mag = reference_f64(ty, a, b, m, n, k)
    os.makedirs(args.out, exist_ok=True)
    a.tofile(os.path.join(args.out, "a.bin"))
    b.tofile(os.path.join(args.out, "b.bin"))
    c.astype("<f4").tofile(os.path.join(args.out, "c_exact.bin"))
    c64.astype("<f8").tofile(os.path.join(args.out, "c_f64.bin"))
    mag.astype("<f8").tofile(os.path.join(args.out, "mag.bin"))
    meta = {"type": ty, "m": m, "n": n, "k": k, "seed": args.seed,
            "a_row_bytes": int(a.shape[1]), "b_row_bytes": int(b.shape[1])}
    with open(os.path.join(args.out, "meta.json"), "w") as f:
        json.dump(meta, f)


def cmd_quantize(args):
    rng = np.random.default_rng(args.seed)
    x = rng.standard_normal((args.rows, args.k)).astype(F32) * F32(3.0)
    x[0, :32] = 0  # a zero block (Q8_0) / partly zero block (Q8_K)
    if args.rows > 1 and args.k >= 512:
        x[1, 256:512] = 0  # an all-zero Q8_K block
    x[-1, 5] = 1e-30  # a tiny value
    if args.type == "q8_K":
        q = quantize_q8_k(x)
    elif args.type == "q8_0":
        q = quantize(x, T.Q8_0).reshape(args.rows, -1).astype(np.uint8)
    elif args.type == "bf16":
        q = quantize(x, T.BF16).reshape(args.rows, -1).astype(np.uint8)
    else:
        sys.exit(f"no reference quantizer for {args.type}")
    os.makedirs(args.out, exist_ok=True)
    x.astype("<f4").tofile(os.path.join(args.out, "x.bin"))
    q.tofile(os.path.join(args.out, "q.bin"))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    mm = sub.add_parser("matmul")
    mm.add_argument("--type", required=True, choices=sorted(TYPES))
    for name in ("m", "n", "k", "seed"):
        mm.add_argument(f"--{name}", type=int, required=True)
    mm.add_argument("--out", required=True)
    qz = sub.add_parser("quantize")
    qz.add_argument("--type", required=True, choices=["q8_0", "q8_K", "bf16"])
    for name in ("rows", "k", "seed"):
        qz.add_argument(f"--{name}", type=int, required=True)
    qz.add_argument("--out", required=True)
    args = p.parse_args()
    {"matmul": cmd_matmul, "quantize": cmd_quantize}[args.cmd](args)


if __name__ == "__main__":
    main()
