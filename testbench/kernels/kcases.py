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
from kabi import F16, F32, I32, I64, Q4_0, Q4_K, Q6_K, Q8_0, Q8_K, Image, Tensor, pack_op, strided_view

f32 = np.float32


@dataclass
class Case:
    name: str
    program: str
    img: Image
    check: Callable[[Image, int], list] | None
    expect_status: int = 0
    mutable: set = field(default_factory=set)  # addresses of segments the kernel may write


def _mk(name, program, img, op, dst, srcs, params=(), check=None, wsize=0, expect_status=0):
    waddr = img.alloc(wsize) if wsize else 0
    img.set_desc(pack_op(kabi.OPS[op], dst, srcs, params, waddr, wsize))
    mutable = {dst.addr} | ({waddr} if waddr else set())
    return Case(name, program, img, check, expect_status, mutable)


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
    else:
        raw = rng.normal(0, 0.5, (n, k)).astype(f32).view(np.uint8).reshape(-1)
    return np.ascontiguousarray(raw, np.uint8)


def case_mul_mat(seed, wtype, n, m, k, ne2=(1, 1), prequantized=False):
    """dst (m, n) = act (m, k) . W (n, k)^T with batch dims ne2 = (w_ne2, a_ne2)."""
    rng = np.random.default_rng(seed)
    wb, ab = ne2
    img = Image()
    wraw = np.concatenate([_weights(rng, wtype, n, k) for _ in range(wb)])
    w = img.tensor(wtype, (k, n, wb), wraw)
    x = rng.normal(0, 1.0, (ab, m, k)).astype(f32)
    x[..., 5] = 0.0
    vdt = {Q4_0: Q8_0, Q8_0: Q8_0, Q4_K: Q8_K, Q6_K: Q8_K, F16: F16, F32: F32}[wtype]

    def act_dot(xs):  # (m, k) -> raw rows in the dot type
        if vdt == Q8_0:
            return kref.quantize_q8_0(xs)
        if vdt == Q8_K:
            return kref.quantize_q8_K(xs)
        if vdt == F16:
            return xs.astype(np.float16).view(np.uint8).reshape(-1)
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
            if wtype == Q4_0:
                want = kref.mul_mat_q4_0(wr, ar, n, m, k)
            elif wtype == Q8_0:
                want = kref.mul_mat_q8_0(wr, ar, n, m, k)
            elif wtype == Q4_K:
                want = kref.mul_mat_q4_K(wr, ar, n, m, k)
            elif wtype == Q6_K:
                want = kref.mul_mat_q6_K(wr, ar, n, m, k)
            else:
                el = np.float16 if wtype == F16 else f32
                wf = wr.view(el).astype(f32).reshape(n, k)
                af = ar.view(el).astype(f32).reshape(m, k)
                lanes = vlen // 16 if wtype == F16 else vlen // 8
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

    tname = {Q4_0: "q4_0", Q8_0: "q8_0", Q4_K: "q4_K", Q6_K: "q6_K", F16: "f16", F32: "f32"}[wtype]
    name = f"mul_mat_{tname}_n{n}_m{m}_k{k}" + (f"_b{wb}x{ab}" if ab > 1 else "") + ("_preq" if prequantized else "")
    return _mk(name, "k_mul_mat", img, "mul_mat", dst, [w, a], check=check, wsize=wsize)


def all_cases() -> list:
    cases = []
    for i, wt in enumerate([Q4_0, Q8_0, Q4_K, Q6_K, F16, F32]):
        cases.append(case_mul_mat(100 + i, wt, 24, 3, 512))
        cases.append(case_mul_mat(200 + i, wt, 8, 1, 1024, prequantized=wt not in (F32,)))
    cases.append(case_mul_mat(300, F32, 5, 4, 96, ne2=(2, 4)))
    cases.append(case_mul_mat(301, F16, 7, 3, 80, ne2=(1, 3)))
    return cases
