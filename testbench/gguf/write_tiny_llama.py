#!/usr/bin/env python3
"""Write a tiny llama-architecture GGUF file with seeded random weights, using the PyPI
`gguf` package's GGUFWriter (the reference writer), for the GGUF reader tests.

The model: 2 blocks, hidden 256, 4 heads (head size 64), 2 KV heads, FFN 512, vocab 320,
context 256. Its tensors use a mix of GGML types (Q4_K, Q6_K, Q4_0, Q8_0, F16, BF16, F32);
Q4_0/Q8_0/BF16 are quantized by gguf.quants, Q4_K/Q6_K are random bytes with finite
f16 scales (any such bytes are valid blocks). The metadata has every GGUF value type,
arrays of numbers, strings and bools, and the tokenizer arrays a real llama file has.

usage: write_tiny_llama.py OUT.gguf [--seed N] [--no-vocab-key] [--tied-output]
"""
import argparse
import sys

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf import GGUFWriter
from gguf.quants import quantize

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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--no-vocab-key", action="store_true",
                    help="leave out llama.vocab_size (the reader then counts the tokens)")
    ap.add_argument("--tied-output", action="store_true",
                    help="leave out output.weight (the output reuses token_embd)")
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)

    w = GGUFWriter(a.out, arch="llama")
    w.add_name("tiny-llama-test")
    w.add_context_length(CONTEXT)
    w.add_embedding_length(HIDDEN)
    w.add_block_count(LAYERS)
    w.add_feed_forward_length(FFN)
    w.add_head_count(HEADS)
    w.add_head_count_kv(KV_HEADS)
    w.add_rope_freq_base(10000.0)
    w.add_rope_dimension_count(HEAD)
    w.add_layer_norm_rms_eps(1e-5)
    if not a.no_vocab_key:
        w.add_vocab_size(VOCAB)
    w.add_file_type(15)  # LLAMA_FTYPE_MOSTLY_Q4_K_M
    w.add_tokenizer_model("llama")
    tokens = ["<unk>", "<s>", "</s>"] + [f"tok{i}" for i in range(VOCAB - 3)]
    w.add_token_list(tokens)
    w.add_token_scores([float(-i) for i in range(VOCAB)])
    w.add_token_types([1] * VOCAB)
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

    def add(name, ne0, ne1, qtype):
        data, raw = tensor_data(rng, ne0, ne1, qtype)
        if raw is None:
            w.add_tensor(name, data)
        else:
            w.add_tensor(name, data, raw_dtype=raw)

    add("token_embd.weight", HIDDEN, VOCAB, T.Q4_K)
    for l in range(LAYERS):
        w.add_tensor(f"blk.{l}.attn_norm.weight",
                     rng.normal(1.0, 0.1, HIDDEN).astype(np.float32))
        for name, ne0, ne1, t0, t1 in LAYER_MATRICES:
            if name == "ffn_gate":
                w.add_tensor(f"blk.{l}.ffn_norm.weight",
                             rng.normal(1.0, 0.1, HIDDEN).astype(np.float32))
            add(f"blk.{l}.{name}.weight", ne0, ne1, t0 if l == 0 else t1)
    w.add_tensor("output_norm.weight", rng.normal(1.0, 0.1, HIDDEN).astype(np.float32))
    if not a.tied_output:
        add("output.weight", HIDDEN, VOCAB, T.Q6_K)

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


if __name__ == "__main__":
    sys.exit(main())
