"""Test cases for the kernel set: each builds a memory image from a seed, names the program
that runs it, and knows how to check the output image against the references in kref.py.

A check returns a list of failure messages (empty = pass) and may depend on VLEN (only the
F32/F16 dot products do: their lane count is VLEN-dependent by design).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

import kabi
import kref
from kabi import BF16, F16, F32, I32, I64, Q4_0, Q4_K, Q6_K, Q8_0, Q8_K, Image, Tensor, pack_op, strided_view

f32 = np.float32


@dataclass
class Case:
    name: str
    program: str
    img: Image
    check: Callable[[Image, int], list] | None
    expect_status: int = 0
    mutable: set = field(default_factory=set)  # addresses of segments the kernel may write
    macs: int = 0  # multiply-accumulates of the op (for the roofline bound); 0 = data movement
    mac_kind: str = ""  # "int8" (quantized dot products) or "f32"
    bytes: int = 0  # bytes the op must move at least (every source and the dst once)


def _mk(name, program, img, op, dst, srcs, params=(), check=None, wsize=0, expect_status=0, dst_segment=None):
    waddr = img.alloc(wsize) if wsize else 0
    img.set_desc(pack_op(kabi.OPS[op], dst, srcs, params, waddr, wsize))
    mutable = {dst.addr if dst_segment is None else dst_segment} | ({waddr} if waddr else set())
    nbytes = dst.nbytes_span + sum(t.nbytes_span for t in srcs)
    return Case(name, program, img, check, expect_status, mutable, bytes=nbytes)


def _cmp_exact(got: np.ndarray, want: np.ndarray, what: str) -> list:
    got = np.asarray(got)
    want = np.asarray(want)
    if got.shape != want.shape:
        return [f"{what}: shape {got.shape} != {want.shape}"]
    gb = got.view(np.uint8) if got.dtype != np.uint8 else got
    wb = want.view(np.uint8) if want.dtype != np.uint8 else want
    if np.array_equal(gb, wb):
        return []
    bad = np.argwhere(gb.reshape(got.shape[:-1] + (-1,)) != wb.reshape(want.shape[:-1] + (-1,)))
    idx = tuple(bad[0])
    return [f"{what}: {len(bad)} byte(s) differ, first at {idx}: got {got.reshape(-1)[:8]} want {want.reshape(-1)[:8]}"]


def _cmp_f32_exact(got, want, what):
    got = np.asarray(got, f32)
    want = np.asarray(want, f32)
    if got.shape != want.shape:
        return [f"{what}: shape {got.shape} != {want.shape}"]
    if np.array_equal(got.view(np.uint32), want.view(np.uint32)):
        return []
    u = kref.ulp_diff(got, want)
    i = np.unravel_index(int(np.argmax(u)), u.shape)
    return [f"{what}: {int((u > 0).sum())} of {u.size} values differ, max {int(u.max())} ulp at {i}: "
            f"got {got[i]!r} want {want[i]!r}"]


def _cmp_tol(got, want64, bound, what):
    """|got - want| <= bound elementwise (bound from an error analysis, see the caller)."""
    got = np.asarray(got, np.float64)
    err = np.abs(got - want64)
    ok = err <= bound
    if ok.all():
        return []
    i = np.unravel_index(int(np.argmax(err - bound)), err.shape)
    return [f"{what}: {int((~ok).sum())} values outside the bound; worst at {i}: got {got[i]!r} "
            f"want {want64[i]!r} err {err[i]:.3g} bound {bound[i] if np.ndim(bound) else bound:.3g}"]


def _dst_f32(out: Image, dst: Tensor) -> np.ndarray:
    return strided_view(out.read_tensor(dst), dst, f32)


# ---- mul_mat ------------------------------------------------------------------------------------

def _weights(rng, wtype, n, k):
    """Random weights of shape (n, k): raw bytes and their dequantized f32 values."""
    if wtype == Q4_K:
        raw = kref.random_q4_K(rng, n * k // 256).reshape(-1)
    elif wtype == Q6_K:
        raw = kref.random_q6_K(rng, n * k // 256).reshape(-1)
    elif wtype == Q4_0:
        raw = kref.quantize_q4_0(rng.normal(0, 0.05, (n, k)).astype(f32))
    elif wtype == Q8_0:
        raw = kref.quantize_q8_0(rng.normal(0, 0.05, (n, k)).astype(f32))
    elif wtype == F16:
        raw = rng.normal(0, 0.5, (n, k)).astype(np.float16).view(np.uint8).reshape(-1)
    elif wtype == BF16:
        raw = kref.to_bf16(rng.normal(0, 0.5, (n, k)).astype(f32)).view(np.uint8).reshape(-1)
    else:
        raw = rng.normal(0, 0.5, (n, k)).astype(f32).view(np.uint8).reshape(-1)
    return np.ascontiguousarray(raw, np.uint8)


def case_mul_mat(seed, wtype, n, m, k, ne2=(1, 1), prequantized=False, xpop=False, misaligned=False, zero_act=False):
    """dst (m, n) = act (m, k) . W (n, k)^T with batch dims ne2 = (w_ne2, a_ne2).
    xpop: run k_mul_mat_xpop and check against GGML's generic order (the unit's arithmetic)."""
    rng = np.random.default_rng(seed)
    wb, ab = ne2
    img = Image()
    wraw = np.concatenate([_weights(rng, wtype, n, k) for _ in range(wb)])
    if misaligned:  # weights at a 2-byte (not 4-byte) aligned address
        seg = img.alloc(len(wraw) + 2, bytes(2) + wraw.tobytes())
        w = Tensor(wtype, (k, n, wb, 1), kabi.contiguous_nb(wtype, (k, n, wb, 1)), seg + 2)
    else:
        w = img.tensor(wtype, (k, n, wb), wraw)
    x = rng.normal(0, 1.0, (ab, m, k)).astype(f32)
    x[..., 5] = 0.0
    if zero_act:
        x[...] = 0.0
    vdt = {Q4_0: Q8_0, Q8_0: Q8_0, Q4_K: Q8_K, Q6_K: Q8_K, F16: F16, BF16: BF16, F32: F32}[wtype]

    def act_dot(xs):  # (m, k) -> raw rows in the dot type
        if vdt == Q8_0:
            return kref.quantize_q8_0(xs)
        if vdt == Q8_K:
            return kref.quantize_q8_K(xs)
        if vdt == F16:
            return xs.astype(np.float16).view(np.uint8).reshape(-1)
        if vdt == BF16:
            return kref.to_bf16(xs).view(np.uint8).reshape(-1)
        return xs.view(np.uint8).reshape(-1)

    if prequantized:
        a = img.tensor(vdt, (k, m, ab), np.concatenate([act_dot(x[b]) for b in range(ab)]))
        wsize = 0
    else:
        a = img.tensor(F32, (k, m, ab), x)
        wsize = ab * m * kabi.row_bytes(vdt, k)
    dst = img.tensor(F32, (n, m, ab))
    r2 = ab // wb
    wrow = kabi.row_bytes(wtype, k)

    def check(out: Image, vlen: int) -> list:
        got = _dst_f32(out, dst)[0]  # (ab, m, n)
        errs = []
        for b in range(ab):
            wr = wraw[(b // r2) * n * wrow:(b // r2 + 1) * n * wrow]
            ar = act_dot(x[b])
            if xpop:
                gen = {Q4_0: kref.mul_mat_q4_0_generic, Q8_0: kref.mul_mat_q8_0_generic,
                       Q4_K: kref.mul_mat_q4_K_generic, Q6_K: kref.mul_mat_q6_K_generic}
                if wtype == BF16:
                    want = kref.mul_mat_bf16_generic(wr.view(np.uint16), ar.view(np.uint16), n, m, k)
                else:
                    want = gen[wtype](wr, ar, n, m, k)
            elif wtype == Q4_0:
                want = kref.mul_mat_q4_0(wr, ar, n, m, k)
            elif wtype == Q8_0:
                want = kref.mul_mat_q8_0(wr, ar, n, m, k)
            elif wtype == Q4_K:
                want = kref.mul_mat_q4_K(wr, ar, n, m, k)
            elif wtype == Q6_K:
                want = kref.mul_mat_q6_K(wr, ar, n, m, k)
            else:
                if wtype == BF16:
                    wf = kref.from_bf16(wr.view(np.uint16)).reshape(n, k)
                    af = kref.from_bf16(ar.view(np.uint16)).reshape(m, k)
                else:
                    el = np.float16 if wtype == F16 else f32
                    wf = wr.view(el).astype(f32).reshape(n, k)
                    af = ar.view(el).astype(f32).reshape(m, k)
                lanes = vlen // 8  # VLMAX of e32 at LMUL 4
                want = kref.mul_mat_lanes(wf, af, lanes)
            errs += _cmp_f32_exact(got[b], want, f"batch {b} order model")
            # independent check of the model: f64 product of dequantized operands; every
            # order of k additions of exact products errs by at most k*2^-24*sum|w*a|
            # (Higham, Accuracy and Stability, 3.1) plus the per-block scale roundings,
            # bounded here by 2^-20 relative per term.
            wf = kref.dequant(wr, wtype, k).astype(np.float64)
            af = kref.dequant(ar, vdt, k).astype(np.float64)
            want64 = af @ wf.T
            bound = (k * 2.0**-24 + 2.0**-20) * (np.abs(af) @ np.abs(wf).T) + 1e-30
            errs += _cmp_tol(got[b], want64, bound, f"batch {b} f64 reference")
        return errs

    tname = {Q4_0: "q4_0", Q8_0: "q8_0", Q4_K: "q4_K", Q6_K: "q6_K", F16: "f16", BF16: "bf16", F32: "f32"}[wtype]
    name = ("xpop_" if xpop else "") + f"mul_mat_{tname}_n{n}_m{m}_k{k}" + (f"_b{wb}x{ab}" if ab > 1 else "") + \
        ("_preq" if prequantized else "") + ("_misaligned" if misaligned else "")
    return _mk(name, "k_mul_mat_xpop" if xpop else "k_mul_mat", img, "mul_mat", dst, [w, a], check=check, wsize=wsize)


# ---- quantize -----------------------------------------------------------------------------------

def case_quantize(seed, qtype, rows, k, zero=False):
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 2.0, (rows, k)).astype(f32)
    if zero:
        x[...] = 0.0
    if rows > 1:
        x[1, :] = 0.0  # an all-zero row (every block zero)
    if zero:
        pass
    elif qtype == Q8_0:
        # block 0 of row 0: amax 127 -> d = 1, so x*id lands exactly on .5 ties (roundf: away from 0)
        x[0, :32] = np.array([127, 0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 3.5] + [0.25] * 24, f32)
    else:
        # first block of row 0: -127 comes before +127, so max = -127 (first largest |x|),
        # iscale = 1 and the .5 values are ties (nearest_int: to even)
        x[0, :256] = 0.0
        x[0, :8] = np.array([-127, 0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 127], f32)
    img = Image()
    # rows strided: 16 bytes of padding after each row
    nb1 = k * 4 + 16
    padded = np.zeros((rows, nb1 // 4), f32)
    padded[:, :k] = x
    src = img.tensor(F32, (k, rows), padded.reshape(-1)[: (rows - 1) * nb1 // 4 + k], nb=(4, nb1, nb1 * rows, nb1 * rows))
    dst = img.tensor(qtype, (k, rows))

    def check(out, vlen):
        got = np.frombuffer(out.read_tensor(dst), np.uint8)
        want = kref.quantize_q8_0(x) if qtype == Q8_0 else kref.quantize_q8_K(x)
        return _cmp_exact(got, want, "quantized bytes")

    name = f"quantize_{'q8_0' if qtype == Q8_0 else 'q8_K'}_r{rows}_k{k}"
    return _mk(name, "k_quantize", img, "quantize", dst, [src], check=check)


# ---- rms_norm -----------------------------------------------------------------------------------

def case_rms_norm(seed, n, rows, eps):
    rng = np.random.default_rng(seed)
    x = (rng.normal(0, 1, (rows, n)) * rng.uniform(0.01, 100, (rows, 1))).astype(f32)
    img = Image()
    src = img.tensor(F32, (n, rows), x)
    dst = img.tensor(F32, (n, rows))

    def check(out, vlen):
        got = _dst_f32(out, dst)[0, 0]
        sq = (x * x).astype(f32)
        mean = (kref.seq_sum_f64(sq) / n).astype(f32)
        scale = (f32(1.0) / np.sqrt((mean + f32(eps)).astype(f32))).astype(f32)
        want = (x * scale[:, None]).astype(f32)
        errs = _cmp_f32_exact(got, want, "GGML order")
        ref64 = x.astype(np.float64) / np.sqrt((x.astype(np.float64) ** 2).mean(axis=1, keepdims=True) + eps)
        errs += _cmp_tol(got, ref64, 4 * 2.0**-24 * np.abs(ref64) + 1e-30, "f64 reference (4 ulp)")
        return errs

    return _mk(f"rms_norm_n{n}_r{rows}", "k_rms_norm", img, "rms_norm", dst, [src], params=[f32(eps)], check=check)


# ---- rope ---------------------------------------------------------------------------------------

def rope_model(x, pos, n_dims, mode, base, freq_scale, attn_factor):
    """x (T, H, D) f32 -> rotated, in the kernel's (= GGML's) order."""
    T, H, D = x.shape
    ts = kref.rope_theta_scale(base, n_dims)
    y = x.copy()
    half = n_dims // 2
    for t in range(T):
        theta = f32(pos[t])
        cs = np.zeros(half, f32)
        sn = np.zeros(half, f32)
        for i in range(half):
            th = f32(f32(freq_scale) * theta)
            cs[i] = f32(f32(np.cos(np.float64(th))) * f32(attn_factor))
            sn[i] = f32(f32(np.sin(np.float64(th))) * f32(attn_factor))
            theta = f32(theta * ts)
        if mode == 0:
            x0, x1 = x[t, :, 0:n_dims:2], x[t, :, 1:n_dims:2]
        else:
            x0, x1 = x[t, :, 0:half], x[t, :, half:n_dims]
        y0 = ((x0 * cs).astype(f32) - (x1 * sn).astype(f32)).astype(f32)
        y1 = ((x0 * sn).astype(f32) + (x1 * cs).astype(f32)).astype(f32)
        if mode == 0:
            y[t, :, 0:n_dims:2], y[t, :, 1:n_dims:2] = y0, y1
        else:
            y[t, :, 0:half], y[t, :, half:n_dims] = y0, y1
    return y


def case_rope(seed, T, H, D, n_dims, mode, base=10000.0, freq_scale=1.0, attn_factor=1.0, n_past=None):
    """Positions from an I32 tensor, or (n_past given) n_past + token index with no tensor."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, (T, H, D)).astype(f32)
    if n_past is None:
        pos = rng.integers(0, 2048, T).astype(np.int32)
        pos[0] = 0
    else:
        pos = (n_past + np.arange(T)).astype(np.int32)
    img = Image()
    src = img.tensor(F32, (D, H, T), x)
    srcs = [src] if n_past is not None else [src, img.tensor(I32, (T,), pos)]
    dst = img.tensor(F32, (D, H, T))
    params = [0 if n_past is None else n_past, n_dims, mode, 0, 2048, f32(base), f32(freq_scale), f32(0.0), f32(attn_factor), f32(32.0), f32(1.0)]

    def check(out, vlen):
        got = _dst_f32(out, dst)[0]
        want = rope_model(x, pos, n_dims, mode, base, freq_scale, attn_factor)
        errs = _cmp_f32_exact(got, want, "GGML order")
        # independent: exact rotation by pos * base^(-2i/n_dims) in f64. The f32 theta
        # recurrence of GGML drifts by about i ulps of theta (theta up to 2048 rad), so
        # the bound grows with |theta|: 2e-6 * |theta| + 1e-5 per output.
        th = pos[:, None].astype(np.float64) * freq_scale * base ** (-2.0 * np.arange(n_dims // 2) / n_dims)
        c, s = np.cos(th) * attn_factor, np.sin(th) * attn_factor
        xd = x.astype(np.float64)
        ref = xd.copy()
        if mode == 0:
            a, b = xd[:, :, 0:n_dims:2], xd[:, :, 1:n_dims:2]
            ref[:, :, 0:n_dims:2] = a * c[:, None] - b * s[:, None]
            ref[:, :, 1:n_dims:2] = a * s[:, None] + b * c[:, None]
            bnd = np.zeros_like(ref)
            bnd[:, :, 0:n_dims:2] = bnd[:, :, 1:n_dims:2] = (2e-6 * th[:, None] + 1e-5) * (np.abs(a) + np.abs(b))
        else:
            hh = n_dims // 2
            a, b = xd[:, :, 0:hh], xd[:, :, hh:n_dims]
            ref[:, :, 0:hh] = a * c[:, None] - b * s[:, None]
            ref[:, :, hh:n_dims] = a * s[:, None] + b * c[:, None]
            bnd = np.zeros_like(ref)
            bnd[:, :, 0:hh] = bnd[:, :, hh:n_dims] = (2e-6 * th[:, None] + 1e-5) * (np.abs(a) + np.abs(b))
        errs += _cmp_tol(got, ref, bnd, "f64 reference")
        return errs

    name = f"rope_{'norm' if mode == 0 else 'neox'}_t{T}_h{H}_d{D}_nd{n_dims}" + ("_fs" if freq_scale != 1.0 else "") + \
        ("" if n_past is None else f"_npast{n_past}")
    return _mk(name, "k_rope", img, "rope", dst, srcs, params=params, check=check)


# ---- soft_max -----------------------------------------------------------------------------------

def softmax_model(w):
    """rows of w (already scaled and masked) -> the kernel's softmax."""
    mx = w.max(axis=-1, keepdims=True)
    e = kref.kexpf((w - mx).astype(f32))
    s = kref.seq_sum_f64(e)
    inv = (1.0 / s).astype(f32)
    return (e * inv[..., None]).astype(f32)


def case_soft_max(seed, n, rows, heads, scale, mask_type=None, causal=False, n_past=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 3, (heads, rows, n)).astype(f32)
    img = Image()
    src = img.tensor(F32, (n, rows, heads), x)
    srcs = [src]
    m = None
    if mask_type is not None:
        m = np.where(rng.random((rows + 2, n)) < 0.3, -np.inf, rng.normal(0, 1, (rows + 2, n))).astype(f32)
        m[:, 0] = 0.0
        if mask_type == F16:
            m = m.astype(np.float16)
        srcs.append(img.tensor(mask_type, (n, rows + 2), m))
    dst = img.tensor(F32, (n, rows, heads))

    def check(out, vlen):
        got = _dst_f32(out, dst)[0]
        w = (x * f32(scale)).astype(f32)
        if m is not None:
            w = (w + m[:rows].astype(f32)[None]).astype(f32)
        if causal:
            j = np.arange(n)[None, None, :]
            i = np.arange(rows)[None, :, None]
            w = np.where(j > n_past + i, f32(-np.inf), w).astype(f32)
        want = softmax_model(w)
        errs = _cmp_f32_exact(got, want, "kernel order")
        wd = w.astype(np.float64)
        ref = np.exp(wd - wd.max(axis=-1, keepdims=True))
        ref /= ref.sum(axis=-1, keepdims=True)
        # relative error: the f32 rounding of (w - max) moves exp's argument by |w - max| ulps
        # of 1, plus ~2 ulp from vexpf and 3 from the sum, reciprocal and scaling
        arg = np.abs(wd - wd.max(axis=-1, keepdims=True))
        bound = (np.where(np.isfinite(arg), arg, 0) + 6) * 2.0**-24 * ref + 1e-37
        errs += _cmp_tol(got, ref, bound, "f64 reference")
        return errs

    name = f"soft_max_n{n}_r{rows}_h{heads}" + ({None: "", F16: "_maskf16", F32: "_maskf32"}[mask_type]) + (f"_causal{n_past}" if causal else "")
    params = [f32(scale), f32(0.0), int(causal), n_past]
    return _mk(name, "k_soft_max", img, "soft_max", dst, srcs, params=params, check=check)


# ---- element-wise -------------------------------------------------------------------------------

def case_eltwise(seed, op, ne_a, ne_b=None):
    rng = np.random.default_rng(seed)
    a = rng.normal(0, 4, ne_a[::-1]).astype(f32)
    a.reshape(-1)[:4] = [0.0, -0.0, 90.0, -110.0]  # exp over/underflow edges for silu
    img = Image()
    ta = img.tensor(F32, ne_a, a)
    srcs = [ta]
    b = None
    if ne_b is not None:
        b = rng.normal(0, 2, ne_b[::-1]).astype(f32)
        srcs.append(img.tensor(F32, ne_b, b))
    dst = img.tensor(F32, ne_a)

    def check(out, vlen):
        got = _dst_f32(out, dst).reshape(a.shape)
        if b is not None:
            reps = tuple(sa // sb for sa, sb in zip(a.shape, b.shape))
            bb = np.tile(b, reps)
        if op == "add":
            want = (a + bb).astype(f32)
        elif op == "mul":
            want = (a * bb).astype(f32)
        elif op == "silu":
            want = kref.silu(a)
        else:
            want = (kref.silu(a) * bb).astype(f32)
        errs = _cmp_f32_exact(got, want, "f32 ops")
        if op in ("silu", "swiglu"):
            ad = a.astype(np.float64)
            ref = ad / (1 + np.exp(-ad))
            if op == "swiglu":
                ref = ref * bb
            errs += _cmp_tol(got, ref, 8 * 2.0**-24 * np.abs(ref) + 1e-37, "f64 reference (8 ulp)")
        return errs

    name = f"{op}_" + "x".join(map(str, ne_a)) + ("_by_" + "x".join(map(str, ne_b)) if ne_b and op in ("add", "mul") else "")
    return _mk(name, "k_eltwise", img, op, dst, srcs, check=check)


# ---- get_rows -----------------------------------------------------------------------------------

def case_get_rows(seed, ttype, n_embd, n_vocab, n_idx, bad_index=False):
    rng = np.random.default_rng(seed)
    raw = _weights(rng, ttype, n_vocab, n_embd)
    img = Image()
    tab = img.tensor(ttype, (n_embd, n_vocab), raw)
    idx = rng.integers(0, n_vocab, n_idx).astype(np.int32)
    idx[0] = n_vocab - 1
    if bad_index:
        idx[-1] = n_vocab
    ti = img.tensor(I32, (n_idx,), idx)
    dst = img.tensor(F32, (n_embd, n_idx))

    def check(out, vlen):
        got = _dst_f32(out, dst)[0, 0]
        rb = kabi.row_bytes(ttype, n_embd)
        rows = np.stack([raw[r * rb:(r + 1) * rb] for r in idx])
        if ttype == F32:
            want = rows.view(f32).reshape(n_idx, n_embd)
        elif ttype == F16:
            want = rows.view(np.float16).astype(f32).reshape(n_idx, n_embd)
        elif ttype == BF16:
            # bf16 -> f32 is exact: the 16 bits become the upper half (gguf's reading too)
            want = (rows.view(np.uint16).astype(np.uint32) << 16).view(f32).reshape(n_idx, n_embd)
        else:
            want = kref.dequant(rows.reshape(-1), ttype, n_embd)
        return _cmp_f32_exact(got, want, "gguf dequantize")

    tname = {Q4_0: "q4_0", Q8_0: "q8_0", Q4_K: "q4_K", Q6_K: "q6_K", F16: "f16", BF16: "bf16", F32: "f32"}[ttype]
    c = _mk(f"get_rows_{tname}_e{n_embd}_i{n_idx}" + ("_badidx" if bad_index else ""), "k_get_rows", img,
            "get_rows", dst, [tab, ti], check=check, expect_status=8 if bad_index else 0)
    c.bytes = n_idx * kabi.row_bytes(ttype, n_embd) + ti.nbytes_span + dst.nbytes_span  # rows gathered only
    return c


# ---- cpy (KV cache store) -----------------------------------------------------------------------

def case_cpy_kv(seed, D, H_kv, T, n_ctx, pos):
    """K rows [D, H_kv, T] (F32) into a 1-D F16 view of a cache of n_ctx rows at row `pos`."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 2, (T, H_kv, D)).astype(f32)
    x.reshape(-1)[:3] = [65520.0, 1e-8, -3e-5]  # overflow to inf, f16 subnormals
    img = Image()
    src = img.tensor(F32, (D, H_kv, T), x)
    row = D * H_kv
    cache0 = rng.normal(0, 1, (n_ctx, row)).astype(np.float16)
    cache_addr = img.alloc(n_ctx * row * 2, cache0.tobytes())
    dst = Tensor(F16, (row * T, 1, 1, 1), (2, row * T * 2, row * T * 2, row * T * 2), cache_addr + pos * row * 2)

    def check(out, vlen):
        got = np.frombuffer(out.read(cache_addr, n_ctx * row * 2), np.float16).reshape(n_ctx, row)
        want = cache0.copy()
        with np.errstate(over="ignore"):
            want[pos:pos + T] = x.reshape(T, row).astype(np.float16)
        return _cmp_exact(got.view(np.uint16), want.view(np.uint16), "cache bytes")

    return _mk(f"cpy_f32_f16_kv_d{D}_h{H_kv}_t{T}_at{pos}", "k_cpy", img, "cpy", dst, [src], check=check,
               dst_segment=cache_addr)


def case_cpy_kv_typed(seed, kv_type, D, H_kv, T, n_ctx, pos):
    """K rows [D, H_kv, T] (F32) into a 1-D BF16 or Q8_0 view of a cache at row `pos`: the
    cache bytes must be GGML's conversion (GGML_FP32_TO_BF16, quantize_row_q8_0) exactly."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 2, (T, H_kv, D)).astype(f32)
    x.reshape(-1)[:4] = [1 + 2.0**-8, 1 + 3 * 2.0**-8, -0.0, 3e-39]  # bf16 ties, a subnormal
    row = D * H_kv
    row_bytes = row * 2 if kv_type == BF16 else row // 32 * 34
    img = Image()
    src = img.tensor(F32, (D, H_kv, T), x)
    cache0 = rng.integers(0, 256, n_ctx * row_bytes, dtype=np.uint8)
    cache_addr = img.alloc(n_ctx * row_bytes, cache0.tobytes())
    esz = 2 if kv_type == BF16 else 34
    n = row * T
    total = T * row_bytes
    dst = Tensor(kv_type, (n, 1, 1, 1), (esz, total, total, total), cache_addr + pos * row_bytes)

    def check(out, vlen):
        got = np.frombuffer(out.read(cache_addr, n_ctx * row_bytes), np.uint8)
        want = cache0.copy()
        enc = kref.to_bf16(x.reshape(T, row)).view(np.uint8) if kv_type == BF16 else \
            kref.quantize_q8_0(x.reshape(T * row // 32, 32))
        want[pos * row_bytes:(pos + T) * row_bytes] = enc.reshape(-1)
        return _cmp_exact(got, want, "cache bytes")

    tname = "bf16" if kv_type == BF16 else "q8_0"
    return _mk(f"cpy_f32_{tname}_kv_d{D}_h{H_kv}_t{T}_at{pos}", "k_cpy", img, "cpy", dst, [src], check=check,
               dst_segment=cache_addr)


def case_cpy_v_transposed(seed, kv_dim, T, n_ctx, pos):
    """V rows [kv_dim, T] (F32) into a transposed F16 V cache: element (d, t) of the view is at
    (d * n_ctx + pos + t) * 2, so the view has nb = (n_ctx*2, 2)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 2, (T, kv_dim)).astype(f32)
    img = Image()
    src = img.tensor(F32, (kv_dim, T), x)
    cache0 = rng.normal(0, 1, (kv_dim, n_ctx)).astype(np.float16)
    cache_addr = img.alloc(kv_dim * n_ctx * 2, cache0.tobytes())
    dst = Tensor(F16, (kv_dim, T, 1, 1), (n_ctx * 2, 2, 2 * T, 2 * T), cache_addr + pos * 2)

    def check(out, vlen):
        got = np.frombuffer(out.read(cache_addr, kv_dim * n_ctx * 2), np.float16).reshape(kv_dim, n_ctx)
        want = cache0.copy()
        want[:, pos:pos + T] = x.T.astype(np.float16)
        return _cmp_exact(got.view(np.uint16), want.view(np.uint16), "cache bytes")

    return _mk(f"cpy_f32_f16_vT_kv{kv_dim}_t{T}_at{pos}", "k_cpy", img, "cpy", dst, [src], check=check,
               dst_segment=cache_addr)


def case_cpy_strided(seed, st, dt, ne):
    """Same shape, strided dst (padding between rows)."""
    rng = np.random.default_rng(seed)
    ne = tuple(ne) + (1,) * (4 - len(ne))
    x = rng.normal(0, 2, ne[::-1]).astype(f32)
    if st == F32 and dt == F16 and x.size >= 16:
        # rounding edges of f32 -> f16: the overflow boundary (65520 rounds to inf), infinities,
        # the smallest subnormal, ties at 2^-25 (to 0), 3 * 2^-26 (up), 1 + 2^-11 (to even: 1)
        # and 1 + 3 * 2^-11 (up), the subnormal/normal boundary, a negative zero
        edges = [65504.0, 65519.99, 65520.0, -65520.0, 1e6, -np.inf, np.inf, 2.0**-24, 2.0**-25,
                 3 * 2.0**-26, 1 + 2.0**-11, 1 + 3 * 2.0**-11, 2.0**-14 - 2.0**-26, -0.0,
                 -2.0**-20, 6.1e-5]
        x.reshape(-1)[:16] = np.array(edges, dtype=f32)
    if st == F16:
        x = x.astype(np.float16)
    img = Image()
    src = img.tensor(st, ne, x)
    esz = 4 if dt == F32 else 2
    nb1 = ne[0] * esz + 8
    dst = img.tensor(dt, ne, nb=(esz, nb1, nb1 * ne[1], nb1 * ne[1] * ne[2]))

    def check(out, vlen):
        got = strided_view(out.read_tensor(dst), dst, f32 if dt == F32 else np.float16)
        want = x.astype(f32 if dt == F32 else np.float16).reshape(got.shape)
        return _cmp_exact(got, want, "copied values")

    name = f"cpy_{'f32' if st == F32 else 'f16'}_{'f32' if dt == F32 else 'f16'}_" + "x".join(map(str, ne[:3]))
    return _mk(name, "k_cpy", img, "cpy", dst, [src], check=check)


# ---- attention ----------------------------------------------------------------------------------

def kv_encode(x32: np.ndarray, kv_type: int):
    """A KV cache of this type holding x32 (rows along the last axis): (raw bytes or array,
    the values the cache holds as float64)."""
    if kv_type == F16:
        h = x32.astype(np.float16)
        return h, h.astype(np.float64)
    if kv_type == BF16:
        u = kref.to_bf16(x32).reshape(x32.shape)
        return u, kref.from_bf16(u).astype(np.float64).reshape(x32.shape)
    raw = kref.quantize_q8_0(x32.reshape(-1, x32.shape[-1]))
    d, qs = kref.q8_0_ints(raw)
    vals = (qs.astype(np.float64) * d.astype(np.float64)[:, None]).reshape(x32.shape)
    return raw, vals


def case_attention(seed, D, H, H_kv, n_q, n_kv, causal, n_past=0, mask_type=None, v_transposed=False,
                   xpop=False, kv_type=F16):
    rng = np.random.default_rng(seed)
    q = rng.normal(0, 1, (n_q, H, D)).astype(f32)
    k = rng.normal(0, 1, (H_kv, n_kv, D)).astype(np.float16)
    v = rng.normal(0, 1, (H_kv, n_kv, D)).astype(np.float16)
    img = Image()
    tq = img.tensor(F32, (D, n_q, H), np.ascontiguousarray(q.transpose(1, 0, 2)))
    if kv_type != F16:
        # the same draws, stored in the cache type; the reference uses the stored values
        assert not v_transposed
        k_raw, k = kv_encode(rng.normal(0, 1, (H_kv, n_kv, D)).astype(f32), kv_type)
        v_raw, v = kv_encode(rng.normal(0, 1, (H_kv, n_kv, D)).astype(f32), kv_type)
        tk = img.tensor(kv_type, (D, n_kv, H_kv), k_raw)
        tv = img.tensor(kv_type, (D, n_kv, H_kv), v_raw)
    elif v_transposed:
        tk = img.tensor(F16, (D, n_kv, H_kv), k)
        # cache stored as [n_kv, D] per head: element (d, j) at d*n_kv*2 + j*2
        vt = np.ascontiguousarray(v.transpose(0, 2, 1))
        tv = img.tensor(F16, (D, n_kv, H_kv), vt, nb=(n_kv * 2, 2, n_kv * D * 2, n_kv * D * H_kv * 2))
    else:
        tk = img.tensor(F16, (D, n_kv, H_kv), k)
        tv = img.tensor(F16, (D, n_kv, H_kv), v)
    srcs = [tq, tk, tv]
    m = None
    if mask_type is not None:
        m = np.where(rng.random((n_q, n_kv)) < 0.25, -np.inf, 0.0).astype(f32)
        m[:, 0] = 0.0
        if mask_type == F16:
            m = m.astype(np.float16)
        srcs.append(img.tensor(mask_type, (n_kv, n_q), m))
    dst = img.tensor(F32, (D, H, n_q))
    scale = f32(1.0 / np.sqrt(D))

    def check(out, vlen):
        # The kernel's online softmax visits keys in blocks and rescales as the maximum grows,
        # so its sums are not GGML's order: it is checked against a float64 reference within
        # a first-order error bound (Higham, sums of n terms: gamma_n = n u, u = 2^-24), per
        # output element, with P = sum_j p_j |v_jd| (p normalised):
        #   score s_j: D-term fma chain in f32, then one product by the scale:
        #     |ds_j| <= (D + 2) u |scale| sum_d |q_d k_jd| + D 2^-37 |scale| (the widened K is
        #     k * 2^-112: products below 2^-126 there are subnormal, absolute error 2^-149)
        #   p_j = exp(s_j - m): relative error |ds_j| + |dm| + 2 ulp (vexpf) + the rescaling
        #     by the running maximum's corrections (one rounding per key block)
        #   output: n-term fma chain of p_j v_jd (gamma_n P), a sum of n p_j in f32 (gamma_n),
        #     subnormal products p_j v_jd 2^-112 (n 2^-37 absolute), the final scaling (2 u)
        #   |err| <= (2 max|ds| + 2 * 2^-22 + (2 n + blocks + 4) u) P + n 2^-37
        # With n up to 2048 the gamma_n terms dominate and stay below 3e-4 P; a wrong head
        # map, a lost key or a missing rescale moves outputs by O(P).
        #
        # On the matrix unit (xpop): q and p are rounded to f16 (relative 2^-11, absolute
        # 2^-25 in the subnormal range) and the products are exact sums rounded once, so
        #   |ds_j| <= (2^-11 + 3u) |scale| sum_d |q_d k_jd| + 2^-25 |scale| sum_d |k_jd|
        #   output: + 2^-11 P from p's rounding (p <= 1 unnormalised and l >= 1, so its
        #     subnormal absolute error adds n 2^-25 max|v|), 3 roundings per key block
        #     (p.V to f32, the correction product, the accumulate), the f32 sum of p.
        # On the matrix unit over a BF16 or Q8_0 cache the reference takes q as the kernel
        # hands it to the unit (rounded to bf16 by GGML_FP32_TO_BF16, or quantized to Q8_0 by
        # quantize_row_q8_0, both exactly reproduced here), so the scores carry only the
        # unit's roundings:
        #   BF16: exact products summed in binary64, rounded to f32, scaled: 3u relative;
        #   Q8_0: per block f32(sumi) exact, d_x*d_y, the product and the running sum rounded:
        #     (D/32 + 4) u relative to sum_d |q'_d k_jd|;
        #   output, BF16: p rounded to bf16 (relative 2^-8) as F16's 2^-11 above;
        #     Q8_0: p stays f32 and p.V is the vector unit's fma chain in key order, the RVV
        #     kernel's (2n + blocks + 4) u;
        #   both flush probabilities below 2^-123 (a hidden key's e^-87) to 0: n 2^-123 max|v|.
        got = _dst_f32(out, dst)[0]  # (n_q, H, D)
        q_unit = q.astype(np.float64)
        if xpop and kv_type == BF16:
            q_unit = kref.from_bf16(kref.to_bf16(q)).astype(np.float64).reshape(q.shape)
        elif xpop and kv_type == Q8_0:
            dq, qs = kref.q8_0_ints(kref.quantize_q8_0(q.reshape(-1, D)))
            q_unit = (qs.astype(np.float64) * dq.astype(np.float64)[:, None]).reshape(q.shape)
        ref = np.zeros_like(got, dtype=np.float64)
        bnd = np.zeros_like(ref)
        u = 2.0**-24
        for iq in range(n_q):
            n_vis = min(n_kv, n_past + iq + 1) if causal else n_kv
            blocks = -(-n_vis // 16)
            if xpop:
                blocks = -(-n_vis // 128)
            for h in range(H):
                kk = k[h // (H // H_kv), :n_vis].astype(np.float64)
                vv = v[h // (H // H_kv), :n_vis].astype(np.float64)
                qq = q_unit[iq, h]
                s = kk @ qq * np.float64(scale)
                if xpop and kv_type == BF16:
                    ds = 3 * u * abs(float(scale)) * (np.abs(kk) @ np.abs(qq))
                elif xpop and kv_type == Q8_0:
                    ds = (D // 32 + 4) * u * abs(float(scale)) * (np.abs(kk) @ np.abs(qq))
                elif xpop:
                    ds = (2.0**-11 + 3 * u) * abs(float(scale)) * (np.abs(kk) @ np.abs(qq)) \
                        + 2.0**-25 * abs(float(scale)) * np.abs(kk).sum(axis=1)
                else:
                    ds = (D + 2) * u * abs(float(scale)) * (np.abs(kk) @ np.abs(qq)) + D * 2.0**-37 * abs(float(scale))
                if m is not None:
                    s = s + m[iq, :n_vis].astype(np.float64)
                    ds = np.where(np.isfinite(s), ds + u * np.abs(np.where(np.isfinite(s), s, 0)), 0)
                p = np.exp(s - s.max())
                p /= p.sum()
                ref[iq, h] = p @ vv
                P = p @ np.abs(vv)
                if xpop and kv_type == BF16:
                    bnd[iq, h] = (2 * ds.max() + 2 * 2.0**-22 + 2.0**-8 + (n_vis + 3 * blocks + 4) * u) * P \
                        + n_vis * 2.0**-123 * np.abs(vv).max() + 1e-30
                elif xpop and kv_type == Q8_0:
                    bnd[iq, h] = (2 * ds.max() + 2 * 2.0**-22 + (2 * n_vis + blocks + 4) * u) * P \
                        + n_vis * 2.0**-123 * np.abs(vv).max() + 1e-30
                elif xpop:
                    bnd[iq, h] = (2 * ds.max() + 2 * 2.0**-22 + 2.0**-11 + (n_vis + 3 * blocks + 4) * u) * P \
                        + n_vis * 2.0**-25 * np.abs(vv).max() + 1e-30
                else:
                    bnd[iq, h] = (2 * ds.max() + 2 * 2.0**-22 + (2 * n_vis + blocks + 4) * u) * P + n_vis * 2.0**-37 + 1e-30
        return _cmp_tol(got, ref, bnd, "f64 reference")

    name = f"attention_d{D}_h{H}_kv{H_kv}_q{n_q}_n{n_kv}" + (f"_causal{n_past}" if causal else "") + \
        ({None: "", F16: "_maskf16", F32: "_maskf32"}[mask_type]) + ("_vT" if v_transposed else "") + \
        ("_xpop" if xpop else "") + ({F16: "", BF16: "_bf16", Q8_0: "_q8_0"}[kv_type])
    return _mk(name, "k_attention_xpop" if xpop else "k_attention", img, "attention", dst, srcs, params=[scale, f32(0.0), int(causal), n_past],
               check=check)


# ---- microbenchmarks ----------------------------------------------------------------------------

def case_stream_read(seed, nbytes, repeat):
    rng = np.random.default_rng(seed)
    w = rng.integers(0, 2**32, nbytes // 4, dtype=np.uint32)
    img = Image()
    src = img.tensor(I32, (nbytes // 4,), w)
    dst = img.tensor(I32, (1,))

    def check(out, vlen):
        got = np.frombuffer(out.read_tensor(dst), np.uint32)[0]
        want = np.uint32((int(w.astype(np.uint64).sum()) * repeat) % 2**32)
        return [] if got == want else [f"sum {got:#x} != {want:#x}"]

    return _mk(f"stream_read_{nbytes}_x{repeat}", "b_stream", img, "stream_read", dst, [src], params=[repeat], check=check)


def case_stream_copy(seed, nbytes, repeat):
    rng = np.random.default_rng(seed)
    b = rng.integers(0, 256, nbytes, dtype=np.uint8)
    img = Image()
    src = img.tensor(kabi.I8, (nbytes,), b)
    dst = img.tensor(kabi.I8, (nbytes,))

    def check(out, vlen):
        return _cmp_exact(np.frombuffer(out.read_tensor(dst), np.uint8), b, "copied bytes")

    return _mk(f"stream_copy_{nbytes}_x{repeat}", "b_stream", img, "stream_copy", dst, [src], params=[repeat], check=check)


def case_chase(seed, n, steps):
    rng = np.random.default_rng(seed)
    perm = np.arange(n)
    for i in range(n - 1, 0, -1):  # Sattolo: one cycle through every element
        j = int(rng.integers(0, i))
        perm[i], perm[j] = perm[j], perm[i]
    nxt = perm.astype(np.int64)
    img = Image()
    src = img.tensor(I64, (n,), nxt)
    dst = img.tensor(I64, (1,))
    i = 0
    for _ in range(steps):
        i = int(nxt[i])
    want = i

    def check(out, vlen):
        got = int(np.frombuffer(out.read_tensor(dst), np.int64)[0])
        return [] if got == want else [f"index {got} != {want}"]

    c = _mk(f"pointer_chase_n{n}_s{steps}", "b_chase", img, "pointer_chase", dst, [src],
            params=[steps & 0xFFFFFFFF, steps >> 32], check=check)
    c.bytes = 8 * steps + 8  # one 8-byte load per step
    return c


# ---- refused descriptors --------------------------------------------------------------------------

def error_cases() -> list:
    out = []
    # bad magic
    c = case_rms_norm(900, 64, 2, 1e-5)
    blob = bytearray(c.img.segments[0][1])
    blob[0] ^= 0xFF
    c.img.set_desc(bytes(blob))
    c.name, c.expect_status = "err_bad_magic", 1
    out.append(c)
    # op from another family
    c = case_rms_norm(901, 64, 2, 1e-5)
    blob = bytearray(c.img.segments[0][1])
    blob[6:8] = struct.pack("<H", kabi.OPS["rope"])
    c.img.set_desc(bytes(blob))
    c.name, c.expect_status = "err_wrong_family", 2
    out.append(c)
    # Q8_K is an activation type, not a weight type
    img = Image()
    w = img.tensor(Q8_K, (256, 2), np.zeros(2 * 292, np.uint8))
    a = img.tensor(F32, (256, 1), np.zeros(256, f32))
    d = img.tensor(F32, (2, 1))
    out.append(_mk("err_mul_mat_q8_K_weights", "k_mul_mat", img, "mul_mat", d, [w, a], expect_status=3))
    # K not a multiple of the Q4_K block
    img = Image()
    w = img.tensor(Q4_0, (96, 2), kref.quantize_q4_0(np.ones((2, 96), f32)))
    a = img.tensor(F32, (96, 1), np.ones(96, f32))
    d = img.tensor(F32, (3, 1))
    out.append(_mk("err_mul_mat_shape", "k_mul_mat", img, "mul_mat", d, [w, a], expect_status=4, wsize=4096))
    # work buffer too small (1000 Q8_K rows do not fit the 256 KiB scratchpad either)
    img = Image()
    w = img.tensor(Q4_K, (256, 2), kref.random_q4_K(np.random.default_rng(3), 2).reshape(-1))
    a = img.tensor(F32, (256, 1000), np.ones(256000, f32))
    d = img.tensor(F32, (2, 1000))
    out.append(_mk("err_mul_mat_work", "k_mul_mat", img, "mul_mat", d, [w, a], expect_status=6, wsize=292))
    # YaRN ramp is not implemented
    c = case_rope(902, 1, 2, 64, 64, 0)
    blob = bytearray(c.img.segments[0][1])
    blob[32 + 4 * 7: 32 + 4 * 8] = struct.pack("<f", 1.0)
    c.img.set_desc(bytes(blob))
    c.name, c.expect_status = "err_rope_ext_factor", 7
    out.append(c)
    return out


def all_cases() -> list:
    cases = []
    for i, wt in enumerate([Q4_0, Q8_0, Q4_K, Q6_K, F16, F32]):
        cases.append(case_mul_mat(100 + i, wt, 24, 3, 512))
        cases.append(case_mul_mat(200 + i, wt, 8, 1, 1024, prequantized=wt not in (F32,)))
        cases.append(case_get_rows(400 + i, wt, 512, 40, 6))
    cases.append(case_mul_mat(300, F32, 5, 4, 96, ne2=(2, 4)))
    cases.append(case_mul_mat(301, F16, 7, 3, 80, ne2=(1, 3)))
    cases.append(case_mul_mat(302, Q4_K, 16, 2, 2048))
    cases.append(case_mul_mat(303, BF16, 12, 3, 200))
    cases.append(case_get_rows(407, BF16, 512, 40, 6))
    cases.append(case_mul_mat(305, Q4_K, 5, 2, 512, misaligned=True))
    # activations too large for the scratchpad: converted into the work buffer / read in place
    cases.append(case_mul_mat(307, Q4_0, 4, 300, 1024))
    cases.append(case_mul_mat(308, Q8_0, 3, 260, 1024, prequantized=True))
    cases.append(case_mul_mat(306, Q6_K, 5, 2, 512, misaligned=True))
    cases.append(case_mul_mat(304, BF16, 6, 2, 64, ne2=(2, 2), prequantized=True))
    cases.append(case_get_rows(410, Q4_K, 256, 8, 3, bad_index=True))
    cases += [case_quantize(500, Q8_0, 3, 256), case_quantize(501, Q8_K, 3, 512)]
    cases += [case_rms_norm(510, 2048, 3, 1e-5), case_rms_norm(511, 100, 4, 1e-6)]
    cases += [
        case_rope(520, 3, 4, 64, 64, 0),
        case_rope(521, 2, 3, 64, 32, 0),
        case_rope(522, 3, 2, 128, 128, 2),
        case_rope(523, 2, 2, 64, 64, 0, freq_scale=0.5, attn_factor=0.9),
        case_rope(524, 4, 4, 64, 64, 0, n_past=1000),
    ]
    cases += [
        case_soft_max(530, 37, 3, 2, 0.125),
        case_soft_max(531, 100, 5, 1, 1.0, mask_type=F16),
        case_soft_max(532, 64, 4, 2, 0.3, mask_type=F32),
        case_soft_max(533, 20, 6, 3, 0.5, causal=True, n_past=13),
    ]
    cases += [
        case_eltwise(540, "add", (64, 3, 2), (64, 1, 1)),
        case_eltwise(541, "mul", (96, 4), (32, 2)),
        case_eltwise(542, "add", (50, 3), (50, 3)),
        case_eltwise(543, "silu", (300, 3)),
        case_eltwise(544, "swiglu", (77, 5), (77, 5)),
    ]
    cases += [
        case_cpy_kv(550, 64, 4, 3, 20, 7),
        case_cpy_v_transposed(554, 48, 3, 16, 5),
        case_cpy_kv_typed(555, BF16, 64, 4, 3, 20, 7),
        case_cpy_kv_typed(556, Q8_0, 64, 4, 3, 20, 7),
        case_cpy_strided(551, F32, F16, (40, 3, 2)),
        case_cpy_strided(552, F16, F32, (33, 4)),
        case_cpy_strided(553, F32, F32, (20, 2)),
    ]
    cases += [
        case_attention(560, 64, 8, 2, 1, 37, True, n_past=36),
        case_attention(561, 64, 4, 4, 5, 15, True, n_past=10),
        case_attention(562, 32, 4, 1, 3, 40, False, mask_type=F16),
        case_attention(563, 64, 4, 2, 2, 21, True, n_past=19, v_transposed=True),
        case_attention(564, 80, 2, 1, 2, 9, False, mask_type=F32),
        # a group of 32 heads and 2048 keys: many key blocks, every row width
        case_attention(565, 16, 32, 1, 1, 2048, False),
        # a prefill: 64 tokens of 8 heads sharing a KV head, causal from position 0
        case_attention(566, 64, 16, 2, 64, 64, True, n_past=0),
        # groups of 7 heads (rows of 4, 2 and 1) and a non-multiple-of-block key count
        case_attention(567, 32, 14, 2, 3, 131, True, n_past=128),
        # an odd head size (the score loop's odd last d) and two key blocks
        case_attention(568, 33, 4, 1, 2, 70, True, n_past=68),
        # the BF16 and Q8_0 caches (--kv-type): a decode and a short prefill each
        case_attention(580, 64, 8, 2, 1, 137, True, n_past=136, kv_type=BF16),
        case_attention(581, 64, 4, 2, 5, 21, True, n_past=16, kv_type=BF16),
        case_attention(582, 64, 8, 2, 1, 137, True, n_past=136, kv_type=Q8_0),
        case_attention(583, 32, 4, 1, 5, 70, True, n_past=65, kv_type=Q8_0),
    ]
    cases += [case_stream_read(570, 4096, 3), case_stream_copy(571, 3000, 2), case_chase(572, 1000, 2500)]
    cases += error_cases()
    return cases


def xpop_cases() -> list:
    """mul_mat on the Xpop_matmul unit: emulator only (QEMU has no matrix unit), with the
    activations either given in the dot type or converted by the RVV quantizers."""
    return [
        case_mul_mat(700, Q4_0, 24, 3, 512, prequantized=True, xpop=True),
        case_mul_mat(701, Q8_0, 16, 2, 256, prequantized=True, xpop=True),
        case_mul_mat(702, Q4_K, 16, 3, 1024, prequantized=True, xpop=True),
        case_mul_mat(703, Q6_K, 8, 2, 512, prequantized=True, xpop=True),
        case_mul_mat(704, BF16, 6, 2, 100, prequantized=True, xpop=True),
        case_mul_mat(705, Q4_K, 8, 2, 256, ne2=(2, 4), prequantized=True, xpop=True),
        # F32 activations: converted by the RVV quantizers, then the unit
        case_mul_mat(706, Q4_K, 12, 3, 512, xpop=True),
        case_mul_mat(707, Q4_0, 10, 2, 256, xpop=True),
        # attention on the matrix unit: decode with GQA, several key blocks, masks, a prefill
        case_attention(710, 64, 8, 2, 1, 300, True, n_past=299, xpop=True),
        case_attention(711, 64, 4, 4, 5, 15, True, n_past=10, xpop=True),
        case_attention(712, 32, 4, 1, 3, 140, False, mask_type=F16, xpop=True),
        case_attention(713, 80, 2, 1, 2, 9, False, mask_type=F32, xpop=True),
        case_attention(714, 64, 16, 2, 24, 150, True, n_past=126, xpop=True),
        case_attention(715, 33, 14, 2, 3, 131, True, n_past=128, xpop=True),
        # decode over a single key block (no accumulators): TinyLlama's shape at position 8
        # (short rows: the scores transposed), rows longer than 32 keys, one key, odd D
        case_attention(716, 64, 32, 4, 1, 9, True, n_past=8, xpop=True),
        case_attention(717, 64, 8, 2, 1, 40, True, n_past=39, xpop=True),
        case_attention(718, 33, 12, 2, 1, 1, True, n_past=0, xpop=True),
        # decode whose last block is short (transposed scores after a full block)
        case_attention(719, 64, 8, 2, 1, 150, True, n_past=149, xpop=True),
        # BF16 caches: BF16 jobs for q.K and p.V
        case_attention(720, 64, 8, 2, 1, 300, True, n_past=299, xpop=True, kv_type=BF16),
        case_attention(721, 80, 2, 1, 2, 9, False, mask_type=F32, xpop=True, kv_type=BF16),
        case_attention(722, 64, 16, 2, 24, 150, True, n_past=126, xpop=True, kv_type=BF16),
        case_attention(723, 33, 14, 2, 3, 131, True, n_past=128, xpop=True, kv_type=BF16),
        case_attention(728, 64, 32, 4, 1, 9, True, n_past=8, xpop=True, kv_type=BF16),
        case_attention(729, 80, 10, 2, 1, 20, False, xpop=True, kv_type=BF16),
        case_attention(731, 64, 8, 2, 1, 150, True, n_past=149, xpop=True, kv_type=BF16),
        # Q8_0 caches: q.K on the int8 path, p.V on the vector unit; a prefill of two chunks
        case_attention(724, 64, 8, 2, 1, 300, True, n_past=299, xpop=True, kv_type=Q8_0),
        case_attention(725, 32, 4, 1, 3, 140, False, mask_type=F16, xpop=True, kv_type=Q8_0),
        case_attention(726, 64, 16, 2, 40, 150, True, n_past=110, xpop=True, kv_type=Q8_0),
        case_attention(727, 96, 6, 3, 2, 131, True, n_past=129, mask_type=F32, xpop=True, kv_type=Q8_0),
        case_attention(730, 64, 32, 4, 1, 9, True, n_past=8, xpop=True, kv_type=Q8_0),
        case_mul_mat(708, Q6_K, 6, 2, 256, xpop=True),
        case_mul_mat(709, Q8_0, 5, 3, 128, xpop=True),
        case_mul_mat(710, BF16, 7, 2, 96, xpop=True),
    ]


def _with_macs(case, macs, kind):
    case.macs, case.mac_kind = int(macs), kind
    return case


def tinyllama_rvv_cases() -> list:
    """One TinyLlama-1.1B decode step's kernels at their real shapes (hidden 2048, FFN 5632,
    32 heads of 64, 4 KV heads), on the RVV programs, plus the memory microbenchmarks."""
    H, HKV, D, E, F, NKV = 32, 4, 64, 2048, 5632, 512
    return [
        _with_macs(case_get_rows(900, Q4_K, E, 64, 1), 0, ""),
        _with_macs(case_rms_norm(901, E, 1, 1e-5), 0, ""),
        _with_macs(case_eltwise(902, "mul", (E, 1), (E, 1)), 0, ""),
        _with_macs(case_quantize(903, Q8_K, 1, E), 0, ""),
        _with_macs(case_mul_mat(904, Q4_K, E, 1, E), E * E, "int8"),
        _with_macs(case_mul_mat(905, Q4_K, HKV * D, 1, E), HKV * D * E, "int8"),
        _with_macs(case_rope(906, 1, H, D, D, 0, n_past=NKV - 1), 0, ""),
        _with_macs(case_cpy_kv(907, D, HKV, 1, NKV, NKV - 1), 0, ""),
        _with_macs(case_attention(908, D, H, HKV, 1, NKV, True, n_past=NKV - 1), 2 * H * NKV * D, "f32"),
        _with_macs(case_mul_mat(909, F16, NKV, 1, D, ne2=(HKV, H)), H * NKV * D, "f32"),
        _with_macs(case_soft_max(910, NKV, 1, H, 0.125, causal=True, n_past=NKV - 1), 0, ""),
        _with_macs(case_eltwise(911, "add", (E, 1), (E, 1)), 0, ""),
        _with_macs(case_mul_mat(912, Q4_K, F, 1, E), F * E, "int8"),
        _with_macs(case_eltwise(913, "swiglu", (F, 1), (F, 1)), 0, ""),
        _with_macs(case_mul_mat(914, Q6_K, E, 1, F), E * F, "int8"),
        _with_macs(case_stream_read(915, 1 << 20, 1), 0, ""),
        _with_macs(case_stream_copy(916, 1 << 20, 1), 0, ""),
        _with_macs(case_chase(917, 1 << 16, 4096), 0, ""),
    ]


def tinyllama_xpop_cases() -> list:
    """TinyLlama-1.1B decode (m = 1) and a short prefill (m = 8) mul_mat shapes on the matrix
    unit: attn_q/attn_output 2048x2048, attn_k/attn_v 256x2048, ffn_gate/ffn_up 5632x2048
    (Q4_K), ffn_down 2048x5632 (Q6_K, as Q4_K_M files store it)."""
    return [
        case_mul_mat(800, Q4_K, 2048, 1, 2048, prequantized=True, xpop=True),
        case_mul_mat(801, Q4_K, 256, 1, 2048, prequantized=True, xpop=True),
        case_mul_mat(802, Q4_K, 5632, 1, 2048, prequantized=True, xpop=True),
        case_mul_mat(803, Q6_K, 2048, 1, 5632, prequantized=True, xpop=True),
        case_mul_mat(804, Q4_K, 5632, 8, 2048, prequantized=True, xpop=True),
    ]


def timing_invariance_cases() -> list:
    """Pairs of runs with the same descriptor and different data (random, or all zeros): a
    kernel's cycle count must depend on its descriptor only, which is what lets the system
    runner reuse the timing of identical invocations. get_rows is left out on purpose: the
    row it reads, hence the DDR rows and banks it touches, is the index's value."""
    out = []
    tn = {Q4_0: "q4_0", Q8_0: "q8_0", Q4_K: "q4_K", Q6_K: "q6_K", F16: "f16", Q8_K: "q8_K"}

    def pair(stem, make_a, make_b):
        a, b = make_a(), make_b()
        a.name, b.name = stem + "__a", stem + "__b"
        out.extend([a, b])

    for wt in (Q4_0, Q8_0, Q4_K, Q6_K, F16):
        pair(f"mul_mat_{tn[wt]}", lambda wt=wt: case_mul_mat(1, wt, 8, 2, 512),
             lambda wt=wt: case_mul_mat(2, wt, 8, 2, 512, zero_act=True))
    for wt in (Q4_0, Q4_K, Q6_K):
        pair(f"xpop_mul_mat_{tn[wt]}", lambda wt=wt: case_mul_mat(1, wt, 8, 2, 512, xpop=True),
             lambda wt=wt: case_mul_mat(2, wt, 8, 2, 512, xpop=True, zero_act=True))
    for qt in (Q8_0, Q8_K):
        pair(f"quantize_{tn[qt]}", lambda qt=qt: case_quantize(1, qt, 2, 512),
             lambda qt=qt: case_quantize(2, qt, 2, 512, zero=True))
    pair("rope", lambda: case_rope(1, 3, 4, 64, 64, 0), lambda: case_rope(2, 3, 4, 64, 64, 0))
    pair("rms_norm", lambda: case_rms_norm(1, 512, 2, 1e-5), lambda: case_rms_norm(2, 512, 2, 1e-5))
    pair("soft_max", lambda: case_soft_max(1, 100, 3, 2, 0.5, mask_type=F16),
         lambda: case_soft_max(2, 100, 3, 2, 0.5, mask_type=F16))
    pair("swiglu", lambda: case_eltwise(1, "swiglu", (300, 2), (300, 2)),
         lambda: case_eltwise(2, "swiglu", (300, 2), (300, 2)))
    pair("attention", lambda: case_attention(1, 64, 8, 2, 2, 40, True, n_past=38),
         lambda: case_attention(2, 64, 8, 2, 2, 40, True, n_past=38))
    pair("xpop_attention", lambda: case_attention(1, 64, 8, 2, 2, 140, True, n_past=138, xpop=True),
         lambda: case_attention(2, 64, 8, 2, 2, 140, True, n_past=138, xpop=True))
    for kt, kn in ((BF16, "bf16"), (Q8_0, "q8_0")):
        pair(f"xpop_attention_{kn}",
             lambda kt=kt: case_attention(1, 64, 8, 2, 2, 140, True, n_past=138, xpop=True, kv_type=kt),
             lambda kt=kt: case_attention(2, 64, 8, 2, 2, 140, True, n_past=138, xpop=True, kv_type=kt))
    pair("cpy", lambda: case_cpy_kv(1, 64, 4, 2, 16, 3), lambda: case_cpy_kv(2, 64, 4, 2, 16, 3))
    return out


CASE_SETS = {"qemu": all_cases, "xpop": xpop_cases, "tinyllama_xpop": tinyllama_xpop_cases,
             "tinyllama_rvv": tinyllama_rvv_cases, "timing_invariance": timing_invariance_cases}
