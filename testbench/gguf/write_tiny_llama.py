#!/usr/bin/env python3
"""Write a tiny llama-architecture GGUF file with seeded random weights, using the PyPI
`gguf` package's GGUFWriter (the reference writer), for the GGUF reader tests.

The model: 2 blocks, hidden 256, 4 heads (head size 64), 2 KV heads, FFN 512, vocab 320,
context 256. Its tensors use a mix of GGML types (Q4_K, Q6_K, Q4_0, Q8_0, F16, BF16, F32);
Q4_0/Q8_0/BF16 are quantized by gguf.quants, Q4_K/Q6_K are random bytes with finite
f16 scales (any such bytes are valid blocks). The metadata has every GGUF value type,
arrays of numbers, strings and bools, and the tokenizer arrays a real llama file has.

usage: write_tiny_llama.py OUT.gguf [--seed N] [--no-vocab-key] [--tied-output]
                           [--vocab N] [--layers N] [--mix NAME]

Without --mix the file is the reader-test model above (its bytes are unchanged). --mix writes
a model for the numeric oracle (testbench/oracle/llama_ref.py) instead: real-valued random
matrices (std 1/sqrt(ne0), output std 3/sqrt(ne0), so logits are O(1..10)) quantized to the
mix's types. Q4_K and Q6_K are quantized here by a simple min/max quantizer (gguf.quants
cannot quantize them), checked against gguf's dequantizer. Mixes (norms are always F32):
  q4_k_m   Q4_K matrices; Q6_K attn_v, ffn_down and output (like llama.cpp's Q4_K_M)
  f16      every matrix F16
  f32_f16  even layers F32, odd layers F16; token_embd F16, output F32
  tied     q4_k_m without output.weight (the output reuses token_embd: Q6_K, std 3/sqrt(ne0))
  q4_0     every matrix Q4_0
  q8_0     every matrix Q8_0
  bf16     every matrix BF16
  bf16_f16emb  every matrix BF16 but token_embd F16 (BF16 products without a BF16 get_rows)
"""
import argparse
import sys

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf import GGUFWriter
from gguf.quants import dequantize, quantize

LAYERS, HIDDEN, HEADS, KV_HEADS, FFN, VOCAB, CONTEXT = 2, 256, 4, 2, 512, 320, 256
HEAD = HIDDEN // HEADS

# Per-layer matrix types: (name, ne0, ne1, type for block 0, type for block 1).
LAYER_MATRICES = [
    ("attn_q", HIDDEN, HIDDEN, T.Q4_K, T.Q4_K),
    ("attn_k", HIDDEN, HEAD * KV_HEADS, T.Q4_0, T.Q4_K),
    ("attn_v", HIDDEN, HEAD * KV_HEADS, T.Q6_K, T.Q4_K),
    ("attn_output", HIDDEN, HIDDEN, T.Q8_0, T.BF16),
    ("ffn_gate", HIDDEN, FFN, T.Q4_K, T.Q4_K),
    ("ffn_up", HIDDEN, FFN, T.F16, T.Q4_K),
    ("ffn_down", FFN, HIDDEN, T.Q6_K, T.Q6_K),
]


def kquant_bytes(rng, rows, ne0, qtype):
    """Random K-quant blocks with finite, small f16 scales."""
    if qtype == T.Q4_K:
        bsz, scale_at = 144, [(0, 2), (2, 4)]  # d, dmin
    else:
        bsz, scale_at = 210, [(208, 210)]  # d
    nblk = rows * ne0 // 256
    raw = rng.integers(0, 256, (nblk, bsz), dtype=np.uint8)
    for lo, hi in scale_at:
        raw[:, lo:hi] = rng.uniform(1e-3, 0.05, (nblk, 1)).astype(np.float16).view(np.uint8)
    return raw.reshape(rows, ne0 // 256 * bsz)


def tensor_data(rng, ne0, ne1, qtype):
    """(array, raw_dtype) for a [ne1 rows, ne0] matrix of type qtype."""
    if qtype in (T.Q4_K, T.Q6_K):
        return kquant_bytes(rng, ne1, ne0, qtype), qtype
    x = rng.normal(0.0, 0.02, (ne1, ne0)).astype(np.float32)
    if qtype == T.F32:
        return x, None
    if qtype == T.F16:
        return x.astype(np.float16), None
    return quantize(x, qtype), qtype


def f16(x):
    return np.asarray(x, np.float32).astype(np.float16)


def quantize_q4_k(x):
    """[rows, ne0] f32 -> [rows, ne0/256*144] uint8 Q4_K blocks (per 32: min/max; 6-bit scales)."""
    rows, ne0 = x.shape
    b = x.reshape(-1, 8, 32).astype(np.float32)  # blocks, sub-blocks, elems
    lo = np.minimum(b.min(axis=2), 0.0)
    hi = np.maximum(b.max(axis=2), 0.0)
    sc_f = (hi - lo) / 15.0
    m_f = -lo
    d = f16(sc_f.max(axis=1) / 63.0).astype(np.float32)
    dmin = f16(m_f.max(axis=1) / 63.0).astype(np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        sc = np.where(d[:, None] > 0, np.rint(sc_f / d[:, None]), 0).clip(0, 63).astype(np.int32)
        m = np.where(dmin[:, None] > 0, np.rint(m_f / dmin[:, None]), 0).clip(0, 63).astype(np.int32)
        step = d[:, None] * sc
        q = np.where(step[:, :, None] > 0,
                     np.rint((b + (dmin[:, None] * m)[:, :, None]) / step[:, :, None]), 0)
    q = q.clip(0, 15).astype(np.uint8)  # blocks, 8, 32
    nb = b.shape[0]
    out = np.zeros((nb, 144), np.uint8)
    out[:, 0:2] = d.astype(np.float16).view(np.uint8).reshape(nb, 2)
    out[:, 2:4] = dmin.astype(np.float16).view(np.uint8).reshape(nb, 2)
    sc8, m8 = sc.astype(np.uint8), m.astype(np.uint8)
    for j in range(4):
        out[:, 4 + j] = (sc8[:, j] & 63) | ((sc8[:, j + 4] >> 4) << 6)
        out[:, 8 + j] = (m8[:, j] & 63) | ((m8[:, j + 4] >> 4) << 6)
        out[:, 12 + j] = (sc8[:, j + 4] & 0xF) | ((m8[:, j + 4] & 0xF) << 4)
    for c in range(4):
        out[:, 16 + 32 * c:16 + 32 * c + 32] = q[:, 2 * c, :] | (q[:, 2 * c + 1, :] << 4)
    return out.reshape(rows, ne0 // 256 * 144)


def quantize_q6_k(x):
    """[rows, ne0] f32 -> [rows, ne0/256*210] uint8 Q6_K blocks (per 16: signed 8-bit scale)."""
    rows, ne0 = x.shape
    b = x.reshape(-1, 16, 16).astype(np.float32)
    s_f = np.abs(b).max(axis=2) / 31.0
    d = f16(s_f.max(axis=1) / 127.0).astype(np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        sc = np.where(d[:, None] > 0, np.rint(s_f / d[:, None]), 0).clip(-128, 127).astype(np.int32)
        step = d[:, None] * sc
        q = np.where(step[:, :, None] > 0, np.rint(b / step[:, :, None]), 0)
    q = (q.clip(-32, 31) + 32).astype(np.uint8).reshape(-1, 256)
    nb = b.shape[0]
    out = np.zeros((nb, 210), np.uint8)
    for h in range(2):
        y = q[:, 128 * h:128 * h + 128]
        q1, q2, q3, q4 = y[:, 0:32], y[:, 32:64], y[:, 64:96], y[:, 96:128]
        out[:, 64 * h:64 * h + 32] = (q1 & 0xF) | ((q3 & 0xF) << 4)
        out[:, 64 * h + 32:64 * h + 64] = (q2 & 0xF) | ((q4 & 0xF) << 4)
        out[:, 128 + 32 * h:128 + 32 * h + 32] = ((q1 >> 4) | ((q2 >> 4) << 2)
                                                  | ((q3 >> 4) << 4) | ((q4 >> 4) << 6))
    out[:, 192:208] = sc.astype(np.int8).view(np.uint8)
    out[:, 208:210] = d.astype(np.float16).view(np.uint8).reshape(nb, 2)
    return out.reshape(rows, ne0 // 256 * 210)


def real_tensor(x, qtype):
    """(array, raw_dtype) for the real-valued [rows, ne0] matrix x stored as qtype."""
    if qtype == T.F32:
        return x.astype(np.float32), None
    if qtype == T.F16:
        return x.astype(np.float16), None
    if qtype == T.Q4_K:
        raw = quantize_q4_k(x)
    elif qtype == T.Q6_K:
        raw = quantize_q6_k(x)
    else:
        raw = quantize(x, qtype)
    back = dequantize(raw, qtype).reshape(x.shape)
    err = np.abs(back - x).max() / max(np.abs(x).max(), 1e-30)
    assert err < 0.25, f"{qtype.name} round trip error {err}"
    return raw, qtype


# --mix NAME -> function (tensor kind, layer or None) -> GGML type. Kinds: token_embd, output,
# and the per-layer matrix names of LAYER_MATRICES.
def _q4_k_m(kind, layer):
    return T.Q6_K if kind in ("output", "attn_v", "ffn_down") else T.Q4_K


def _tied(kind, layer):
    return T.Q6_K if kind in ("token_embd", "attn_v", "ffn_down") else T.Q4_K


def _f32_f16(kind, layer):
    if layer is None:
        return T.F16 if kind == "token_embd" else T.F32
    return T.F32 if layer % 2 == 0 else T.F16


MIXES = {
    "q4_k_m": _q4_k_m,
    "f16": lambda kind, layer: T.F16,
    "f32_f16": _f32_f16,
    "tied": _tied,
    "q4_0": lambda kind, layer: T.Q4_0,
    "q8_0": lambda kind, layer: T.Q8_0,
    "bf16": lambda kind, layer: T.BF16,
    "bf16_f16emb": lambda kind, layer: T.F16 if kind == "token_embd" else T.BF16,
    # types no kernel implements (GGUF files hold them; the emulator must refuse them)
    "unsupported": lambda kind, layer: T.Q5_0 if kind == "attn_q" else T.Q4_1 if kind == "ffn_gate" else T.Q8_0,
}
FILE_TYPES = {"q4_k_m": 15, "f16": 1, "f32_f16": 1, "tied": 15, "q4_0": 2, "q8_0": 7, "bf16": 32,
              "bf16_f16emb": 32, "unsupported": 8}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--no-vocab-key", action="store_true",
                    help="leave out llama.vocab_size (the reader then counts the tokens)")
    ap.add_argument("--tied-output", action="store_true",
                    help="leave out output.weight (the output reuses token_embd)")
    ap.add_argument("--vocab", type=int, default=VOCAB, help=f"vocabulary size (default {VOCAB})")
    ap.add_argument("--layers", type=int, default=LAYERS, help=f"blocks (default {LAYERS})")
    ap.add_argument("--mix", choices=sorted(MIXES),
                    help="write an oracle model with this type mix (see the module doc)")
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    vocab, layers = a.vocab, a.layers
    mix = MIXES.get(a.mix)
    tied = a.tied_output or a.mix == "tied"

    w = GGUFWriter(a.out, arch="llama")
    w.add_name("tiny-llama-test")
    w.add_context_length(CONTEXT)
    w.add_embedding_length(HIDDEN)
    w.add_block_count(layers)
    w.add_feed_forward_length(FFN)
    w.add_head_count(HEADS)
    w.add_head_count_kv(KV_HEADS)
    w.add_rope_freq_base(10000.0)
    w.add_rope_dimension_count(HEAD)
    w.add_layer_norm_rms_eps(1e-5)
    if not a.no_vocab_key:
        w.add_vocab_size(vocab)
    w.add_file_type(15 if mix is None else FILE_TYPES[a.mix])  # 15: LLAMA_FTYPE_MOSTLY_Q4_K_M
    w.add_tokenizer_model("llama")
    tokens = ["<unk>", "<s>", "</s>"] + [f"tok{i}" for i in range(vocab - 3)]
    w.add_token_list(tokens)
    w.add_token_scores([float(-i) for i in range(vocab)])
    w.add_token_types([1] * vocab)
    # One key of every value type, and arrays, to exercise the reader.
    w.add_uint8("test.u8", 200)
    w.add_int8("test.i8", -100)
    w.add_uint16("test.u16", 60000)
    w.add_int16("test.i16", -30000)
    w.add_uint32("test.u32", 4000000000)
    w.add_int32("test.i32", -2000000000)
    w.add_float32("test.f32", 0.5)
    w.add_bool("test.bool", True)
    w.add_string("test.string", "héllo, wörld")
    w.add_uint64("test.u64", 2**63 + 5)
    w.add_int64("test.i64", -(2**62))
    w.add_float64("test.f64", 2.718281828459045)
    w.add_array("test.array_i32", [1, -2, 3])
    w.add_array("test.array_str", ["a", "", "ccc"])
    w.add_array("test.array_bool", [True, False])
    w.add_array("test.array_nested", [[1, 2], [3]])

    def add(name, ne0, ne1, qtype, kind=None, layer=None, std=None):
        if mix is None:
            data, raw = tensor_data(rng, ne0, ne1, qtype)
        else:
            qtype = mix(kind, layer)
            std = std if std is not None else 1.0 / np.sqrt(ne0)
            data, raw = real_tensor(rng.normal(0.0, std, (ne1, ne0)).astype(np.float32), qtype)
        if raw is None:
            w.add_tensor(name, data)
        else:
            w.add_tensor(name, data, raw_dtype=raw)

    # Tied: token_embd is also the output matrix, so it gets the output's scale.
    add("token_embd.weight", HIDDEN, vocab, T.Q4_K, "token_embd",
        std=3.0 / np.sqrt(HIDDEN) if tied else 1.0)
    for l in range(layers):
        w.add_tensor(f"blk.{l}.attn_norm.weight",
                     rng.normal(1.0, 0.1, HIDDEN).astype(np.float32))
        for name, ne0, ne1, t0, t1 in LAYER_MATRICES:
            if name == "ffn_gate":
                w.add_tensor(f"blk.{l}.ffn_norm.weight",
                             rng.normal(1.0, 0.1, HIDDEN).astype(np.float32))
            add(f"blk.{l}.{name}.weight", ne0, ne1, t0 if l == 0 else t1, name, l)
    w.add_tensor("output_norm.weight", rng.normal(1.0, 0.1, HIDDEN).astype(np.float32))
    if not tied:
        add("output.weight", HIDDEN, vocab, T.Q6_K, "output", std=3.0 / np.sqrt(HIDDEN))

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


if __name__ == "__main__":
    sys.exit(main())
