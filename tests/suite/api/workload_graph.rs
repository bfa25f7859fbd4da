//! The llama decode and prefill graphs against the architecture: op counts, FLOPs against
//! closed forms and against 2 x parameters, bytes, kernels, and operand placement.

use sail_emu::workload::graph::{self, flops_per_element as fpe, Graph, Op};
use sail_emu::workload::kernels;
use sail_emu::workload::recipe::{self, FileType};
use sail_emu::workload::regions::{self, RegionParams};
use sail_emu::workload::{
    load_manifest, Architecture, Family, GgmlType, Manifest, RegionKind, Rope,
};
use std::collections::{BTreeMap, BTreeSet};

const F16: GgmlType = GgmlType::F16;

fn q4_k_m() -> Manifest {
    load_manifest("tinyllama-1.1b-q4_k_m").unwrap()
}

fn q4_0() -> Manifest {
    load_manifest("tinyllama-1.1b-q4_0").unwrap()
}

/// A small model with odd sizes (3 layers, GQA 3:1), for the placement checks.
fn small() -> Manifest {
    let a = Architecture {
        family: Family::Llama,
        layers: 3,
        hidden_size: 768,
        heads: 12,
        kv_heads: 4,
        ffn_size: 2048,
        vocab_size: 1000,
        max_context: 96,
        rms_eps: 1e-6,
        rope: Rope {
            freq_base: 500000.0,
            dims: 64,
        },
    };
    Manifest {
        name: "small".into(),
        description: String::new(),
        source: String::new(),
        tensors: recipe::llama_weights(&a, FileType::MostlyQ4KM),
        architecture: a,
    }
}

/// Element-wise FLOPs of one step, written out from the per-element conventions.
/// The split attention graph (llama.cpp without flash attention), whose op counts and
/// FLOPs these closed forms describe; the fused graph is compared with it below.
const SPLIT: graph::Attention = graph::Attention::Split;

fn elementwise_flops(a: &Architecture, n_tokens: u64, kv_len: u64) -> u64 {
    let (h, f, t) = (a.hidden_size, a.ffn_size, n_tokens);
    let (heads, kvh) = (u64::from(a.heads), u64::from(a.kv_heads));
    let per_layer = 2 * (fpe::RMS_NORM + fpe::MUL) * h * t
        + fpe::ROPE * u64::from(a.rope.dims) * (heads + kvh) * t
        + fpe::SOFT_MAX * kv_len * t * heads
        + 2 * fpe::ADD * h * t
        + fpe::SWIGLU * f * t;
    u64::from(a.layers) * per_layer + (fpe::RMS_NORM + fpe::MUL) * h
}

/// Matrix-product FLOPs of one step: 2 per multiply-add. Block matrices for every token,
/// attention (q.K and p.V) for every token over kv_len positions, output for the last token.
fn matmul_flops(a: &Architecture, n_tokens: u64, n_past: u64) -> u64 {
    let (h, kv, f) = (a.hidden_size, a.kv_dim(), a.ffn_size);
    let block = 2 * h * h + 2 * h * kv + 3 * h * f;
    let attn: u64 = (0..n_tokens).map(|_| 4 * h * (n_past + n_tokens)).sum();
    u64::from(a.layers) * (2 * block * n_tokens + attn) + 2 * h * a.vocab_size
}

#[test]
fn decode_op_counts_match_the_architecture() {
    let m = q4_k_m();
    let l = 22;
    for n_past in [0, 100, 2047] {
        let g = graph::decode_with(&m, n_past, 2048, F16, SPLIT).unwrap();
        let want = [
            (Op::GetRows, 1),
            (Op::RmsNorm, 2 * l + 1),
            (Op::Mul, 2 * l + 1),
            (Op::MulMat, 9 * l + 1),
            (Op::Rope, 2 * l),
            (Op::Cpy, 2 * l),
            (Op::SoftMax, l),
            (Op::Add, 2 * l),
            (Op::Swiglu, l),
            // one conversion for q, k and v, one for gate and up (all Q8_K)
            (Op::Quantize, 2 * l),
        ];
        for (op, n) in want {
            assert_eq!(g.count(op), n, "{op} at n_past {n_past}");
        }
        assert_eq!(g.nodes.len(), 23 * l + 4);
        // Seven weight products per block, plus the output projection.
        assert_eq!(g.weight_matmuls().count(), 7 * l + 1);
        let mut per_layer: BTreeMap<Option<u32>, usize> = BTreeMap::new();
        for n in g.weight_matmuls() {
            *per_layer.entry(n.layer).or_default() += 1;
        }
        for b in 0..22u32 {
            assert_eq!(per_layer[&Some(b)], 7, "block {b}");
        }
        assert_eq!(per_layer[&None], 1);
        // Each matrix of the manifest is multiplied exactly once.
        let used: BTreeSet<&str> = g
            .weight_matmuls()
            .map(|n| n.inputs[0].region.as_str())
            .collect();
        let matrices: BTreeSet<&str> = m
            .tensors
            .iter()
            .filter(|t| t.shape.len() == 2 && t.name != "token_embd.weight")
            .map(|t| t.name.as_str())
            .collect();
        assert_eq!(used, matrices);
        // Q4_K_M: Q6_K for output and attn_v/ffn_down in 10 blocks.
        let k = g.by_kernel();
        assert_eq!(k["mul_mat_q6_K"].count, 2 * 10 + 1);
        assert_eq!(k["mul_mat_q4_K"].count, 7 * 22 - 2 * 10);
        assert_eq!(k["mul_mat_f16"].count, 2 * 22);
        assert_eq!(k["get_rows_q4_K"].count, 1);
        assert_eq!(k["cpy_f32_f16"].count, 2 * 22);
    }
    let g = graph::decode_with(&q4_0(), 0, 2048, F16, SPLIT).unwrap();
    let k = g.by_kernel();
    assert_eq!(k["mul_mat_q4_0"].count, 7 * 22);
    assert_eq!(k["mul_mat_q6_K"].count, 1);
    assert_eq!(k["get_rows_q4_0"].count, 1);
}

#[test]
fn decode_flops_equal_the_closed_form_and_are_about_2x_parameters() {
    let m = q4_k_m();
    let a = &m.architecture;
    let n = m.weight_params() as f64; // 1,100,048,384
    let embd = (a.hidden_size * a.vocab_size) as f64;
    for n_past in [0u64, 511, 2047] {
        let g = graph::decode_with(&m, n_past, 2048, F16, SPLIT).unwrap();
        let kv_len = n_past + 1;
        assert_eq!(
            g.flops(),
            matmul_flops(a, 1, n_past) + elementwise_flops(a, 1, kv_len),
            "n_past {n_past}"
        );
        // The matrix part alone is exactly 2 x (parameters that multiply) + attention.
        let mm: u64 = g
            .nodes
            .iter()
            .filter(|x| x.op == Op::MulMat)
            .map(|x| x.flops)
            .sum();
        assert_eq!(mm, 2 * a.matmul_params() + 4 * a.hidden_size * 22 * kv_len);
    }
    // At the first position: 2 x the non-embedding parameters to within 0.1% (norms,
    // rope, softmax and the one-position attention add 0.06%), and 6% below 2 x all
    // parameters, because the 65.5 M-entry embedding table is looked up, not multiplied.
    let f0 = graph::decode(&m, 0, 2048, F16).unwrap().flops() as f64;
    let r = f0 / (2.0 * (n - embd));
    assert!((1.0..1.001).contains(&r), "{r}");
    let r = f0 / (2.0 * a.matmul_params() as f64);
    assert!((1.0..1.001).contains(&r), "{r}");
    let r = f0 / (2.0 * n);
    assert!((0.935..0.945).contains(&r), "{r}");
    assert!(
        (f0 - 2.0 * n).abs() / (2.0 * n) < 0.07,
        "about 2 x parameters"
    );
    // At full context the attention adds 4 x hidden x layers x 2048 = 369 MFLOP (+17.8%).
    let f_full = graph::decode(&m, 2047, 2048, F16).unwrap().flops() as f64;
    let extra = f_full - f0;
    let want = (4 * 2048 * 22 * 2047) as f64 + (7 * 32 * 22 * 2047) as f64;
    assert_eq!(extra, want);
    assert!((0.17..0.19).contains(&(extra / (2.0 * (n - embd)))));
    // Both manifests do the same arithmetic: FLOPs do not depend on the weight types.
    assert_eq!(
        graph::decode(&q4_0(), 700, 2048, F16).unwrap().flops(),
        graph::decode(&m, 700, 2048, F16).unwrap().flops()
    );
}

#[test]
fn prefill_flops_scale_with_the_prompt() {
    let m = q4_k_m();
    let a = &m.architecture;
    let f = |p: u64| {
        graph::prefill_with(&m, p, 2048, F16, SPLIT)
            .unwrap()
            .flops()
    };
    for p in [1u64, 7, 128, 512, 2048] {
        assert_eq!(
            f(p),
            matmul_flops(a, p, 0) + elementwise_flops(a, p, p),
            "prompt {p}"
        );
    }
    // A prefill of 1 token is the decode at position 0.
    assert_eq!(f(1), graph::decode(&m, 0, 2048, F16).unwrap().flops());
    // Quadratic in P: the second difference is constant, 2 x (4 hidden + 7 heads) x layers
    // (the P x P scores of q.K, p.V and soft_max in each block).
    let second = |p: u64| f(p + 2) + f(p) - 2 * f(p + 1);
    let want = 2 * (4 * 2048 + 7 * 32) * 22;
    for p in [1u64, 100, 1000] {
        assert_eq!(second(p), want);
    }
    // Per token, a short prefill costs about 2 x the block parameters (the output
    // projection runs once per step, for the last token only).
    let block_params = (22 * a.params_per_layer()) as f64;
    let per_token = f(64) as f64 / 64.0;
    assert!(
        (per_token / (2.0 * block_params) - 1.0).abs() < 0.05,
        "{per_token}"
    );
}

#[test]
fn bytes_moved_include_every_weight_once_and_the_kv_cache() {
    let m = q4_k_m();
    let a = &m.architecture;
    let n_past = 1000;
    let g = graph::decode_with(&m, n_past, 2048, F16, SPLIT).unwrap();
    let weight_read: u64 = g
        .nodes
        .iter()
        .flat_map(|n| &n.inputs)
        .filter(|o| o.kind == RegionKind::Weight)
        .map(|o| o.bytes)
        .sum();
    let embd = m.tensor("token_embd.weight").unwrap();
    let embd_row = embd.dtype.row_bytes(a.hidden_size).unwrap();
    assert_eq!(weight_read, m.weight_bytes() - embd.bytes + embd_row);
    // KV: each block reads K and V for n_past + 1 positions and writes one position of each.
    let kv_read: u64 = g
        .nodes
        .iter()
        .flat_map(|n| &n.inputs)
        .filter(|o| o.kind == RegionKind::Kv)
        .map(|o| o.bytes)
        .sum();
    let kv_written: u64 = g
        .nodes
        .iter()
        .filter(|n| n.output.kind == RegionKind::Kv)
        .map(|n| n.output.bytes)
        .sum();
    assert_eq!(kv_read, 22 * 2 * (n_past + 1) * a.kv_dim() * 2);
    assert_eq!(kv_written, 22 * 2 * a.kv_dim() * 2);
    // Decode moves mostly weights: they are 93% or more of the bytes at this context.
    let share = weight_read as f64 / g.bytes_moved() as f64;
    assert!((0.9..1.0).contains(&share), "{share}");
    // Each node's bytes_moved is its inputs + output + twice its scratch.
    for n in &g.nodes {
        let want = n.inputs.iter().map(|o| o.bytes).sum::<u64>()
            + n.output.bytes
            + n.scratch.as_ref().map_or(0, |s| 2 * s.bytes);
        assert_eq!(n.bytes_moved, want, "{}", n.name);
    }
}

/// A BF16 or Q8_0 cache: the attention reads (n_past + 1) positions of K and V and the
/// stores write one of each, at the type's bytes per position (Q8_0: 34 per 32 values); a
/// position's row starts at position x row bytes.
#[test]
fn kv_bytes_follow_the_cache_type() {
    let m = q4_k_m();
    let kvd = m.architecture.kv_dim();
    let n_past = 700;
    for (t, row) in [
        (F16, 2 * kvd),
        (GgmlType::BF16, 2 * kvd),
        (GgmlType::Q8_0, kvd / 32 * 34),
    ] {
        let g = graph::decode(&m, n_past, 2048, t).unwrap();
        let kv_in = |n: &graph::Node| -> u64 {
            n.inputs
                .iter()
                .filter(|o| o.kind == RegionKind::Kv)
                .map(|o| o.bytes)
                .sum()
        };
        let read: u64 = g.nodes.iter().map(kv_in).sum();
        assert_eq!(read, 22 * 2 * (n_past + 1) * row, "{t}");
        for n in g.nodes.iter().filter(|n| n.output.kind == RegionKind::Kv) {
            assert_eq!(n.output.bytes, row, "{t} {}", n.name);
            assert_eq!(n.output.offset, n_past * row, "{t} {}", n.name);
            assert_eq!(n.output.dtype, t);
        }
        let attn = g.nodes.iter().find(|n| n.op == Op::FlashAttnExt).unwrap();
        // K viewed [head_dim, kv_len, kv_heads]: a position is a row, a head is a slice of it.
        assert_eq!(attn.inputs[1].nb[1], row, "{t}");
        assert_eq!(attn.inputs[1].nb[2], row / 4, "{t}");
        assert_eq!(attn.kernel, kernels::flash_attn_ext(t));
    }
}

/// A block-quantized cache cannot hold split attention's transposed V (one value at a
/// time), and its blocks must tile a head.
#[test]
fn a_q8_0_cache_needs_fused_attention_and_whole_blocks_per_head() {
    let q8 = GgmlType::Q8_0;
    let e = graph::decode_with(&q4_k_m(), 10, 512, q8, SPLIT).unwrap_err();
    assert!(e.0.contains("needs fused attention"), "{}", e.0);
    let mut m = small();
    m.architecture.hidden_size = 12 * 40; // head_dim 40
    m.architecture.rope.dims = 40;
    m.tensors = recipe::llama_weights(&m.architecture, FileType::MostlyQ4KM);
    let e = graph::decode(&m, 10, 96, q8).unwrap_err();
    assert!(e.0.contains("head_dim 40"), "{}", e.0);
}

/// Fused attention does the same arithmetic as the split graph in decode (every cached
/// position is visible), and in a prefill only the causal pairs: the split graph computes
/// all P x P scores and masks the upper triangle, the fused kernel never visits it.
#[test]
fn fused_attention_counts_the_visible_pairs_only() {
    let m = q4_k_m();
    let a = &m.architecture;
    let (hd, heads) = (a.head_dim(), u64::from(a.heads));
    for n_past in [0u64, 511, 2047] {
        let fused = graph::decode(&m, n_past, 2048, F16).unwrap();
        let split = graph::decode_with(&m, n_past, 2048, F16, SPLIT).unwrap();
        assert_eq!(fused.flops(), split.flops(), "n_past {n_past}");
        assert_eq!(fused.count(Op::FlashAttnExt), 22);
        assert_eq!(fused.count(Op::SoftMax), 0);
        assert_eq!(fused.count(Op::Cpy), 2 * 22);
        assert_eq!(fused.nodes.len(), split.nodes.len() - 2 * 22);
    }
    for p in [1u64, 7, 64, 512] {
        let fused = graph::prefill(&m, p, 2048, F16).unwrap().flops();
        let split = graph::prefill_with(&m, p, 2048, F16, SPLIT)
            .unwrap()
            .flops();
        let hidden_pairs = heads * (p * p - p * (p + 1) / 2);
        assert_eq!(
            split - fused,
            22 * hidden_pairs * (4 * hd + fpe::SOFT_MAX),
            "prompt {p}"
        );
    }
}

#[test]
fn every_mul_mat_counts_two_flops_per_multiply_add_of_its_operands() {
    let m = small();
    for g in [
        graph::decode(&m, 50, 96, F16).unwrap(),
        graph::prefill(&m, 33, 96, F16).unwrap(),
    ] {
        for n in g.nodes.iter().filter(|n| n.op == Op::MulMat) {
            let (w, x) = (&n.inputs[0], &n.inputs[1]);
            // src0 [k, m, b] . src1 [k, n, batch]: 2 k m n batch.
            let batch = x.ne[2];
            let rows = x.ne[1];
            assert_eq!(w.ne[0], x.ne[0], "{}: k", n.name);
            assert_eq!(n.flops, 2 * w.ne[0] * w.ne[1] * rows * batch, "{}", n.name);
            assert_eq!(
                n.output.ne[0] * n.output.ne[1] * n.output.ne[2],
                w.ne[1] * rows * batch
            );
            if w.kind == RegionKind::Kv {
                // Grouped-query attention: heads / kv_heads queries per K/V head.
                assert_eq!(batch / w.ne[2], 3);
            }
        }
    }
}

fn check_placement(m: &Manifest, p: &RegionParams, g: &Graph) {
    let regs = regions::regions(m, p).unwrap();
    let by_name: BTreeMap<&str, _> = regs.iter().map(|r| (r.name.as_str(), r)).collect();
    assert_eq!(by_name.len(), regs.len(), "region names are unique");
    for n in &g.nodes {
        for o in n.inputs.iter().chain([&n.output]).chain(n.scratch.as_ref()) {
            let r = by_name
                .get(o.region.as_str())
                .unwrap_or_else(|| panic!("{}: no region {}", n.name, o.region));
            assert_eq!(r.kind, o.kind, "{}: {}", n.name, o.region);
            assert!(
                o.offset + o.extent <= r.bytes,
                "{}: {} needs {}..{} of {}",
                n.name,
                o.region,
                o.offset,
                o.offset + o.extent,
                r.bytes
            );
            assert!(o.bytes <= o.extent, "{}: {}", n.name, o.region);
        }
    }
}

#[test]
fn every_operand_lies_inside_a_region_of_the_right_kind() {
    for (m, ctx, prompt) in [(q4_k_m(), 2048, 512), (q4_0(), 300, 300), (small(), 96, 17)] {
        let p = RegionParams::new(ctx, prompt);
        check_placement(&m, &p, &graph::prefill(&m, prompt, ctx, F16).unwrap());
        for pos in [0, ctx / 2, ctx - 1] {
            check_placement(&m, &p, &graph::decode(&m, pos, ctx, F16).unwrap());
        }
    }
    let m = small();
    let p = RegionParams {
        logits_all: false,
        context: 96,
        prompt: 8,
        kv_type: GgmlType::F32,
    };
    // An F32 cache runs the split path (the fused kernel reads F16 caches only).
    let g = graph::decode_with(&m, 95, 96, GgmlType::F32, graph::Attention::Split).unwrap();
    check_placement(&m, &p, &g);
    for kv_type in [GgmlType::BF16, GgmlType::Q8_0] {
        let p = RegionParams { kv_type, ..p };
        for pos in [0, 50, 95] {
            check_placement(&m, &p, &graph::decode(&m, pos, 96, kv_type).unwrap());
        }
        check_placement(&m, &p, &graph::prefill(&m, 8, 96, kv_type).unwrap());
    }
    let fused = graph::decode(&m, 95, 96, GgmlType::F32).unwrap_err();
    assert!(fused.0.contains("flash_attn_ext_f32"), "{}", fused.0);
}

#[test]
fn nodes_bind_to_documented_kernels_with_their_parameters() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/doc/manifests.md"))
        .expect("doc/manifests.md");
    for m in [q4_k_m(), q4_0(), small()] {
        let g = graph::decode(&m, 3, 64, F16).unwrap();
        for n in &g.nodes {
            let abi = kernels::abi_of(&n.kernel)
                .unwrap_or_else(|| panic!("{}: kernel {} not in the ABI table", n.name, n.kernel));
            assert!(
                doc.contains(abi.pattern),
                "doc/manifests.md lacks {}",
                abi.pattern
            );
            assert!(doc.contains(&format!("`{}`", n.kernel)) || abi.pattern.contains('<'));
        }
        for n in &g.nodes {
            match (&n.op, &n.params) {
                (
                    Op::SoftMax,
                    graph::Params::SoftMax {
                        scale,
                        n_past,
                        causal,
                    },
                ) => {
                    assert_eq!(*scale, 1.0 / (m.architecture.head_dim() as f64).sqrt());
                    assert_eq!((*n_past, *causal), (3, true));
                }
                (
                    Op::Rope,
                    graph::Params::Rope {
                        n_past,
                        dims,
                        freq_base,
                        ..
                    },
                ) => {
                    assert_eq!(*n_past, 3);
                    assert_eq!(*dims, m.architecture.rope.dims);
                    assert_eq!(*freq_base, m.architecture.rope.freq_base);
                }
                (Op::RmsNorm, graph::Params::RmsNorm { eps }) => {
                    assert_eq!(*eps, m.architecture.rms_eps)
                }
                (Op::MulMat, graph::Params::MulMat { vec_dot_type }) => {
                    assert_eq!(*vec_dot_type, n.inputs[0].dtype.vec_dot_type())
                }
                (Op::FlashAttnExt, graph::Params::Attention { scale, n_past }) => {
                    assert_eq!(*scale, 1.0 / (m.architecture.head_dim() as f64).sqrt());
                    assert_eq!(*n_past, 3);
                }
                (Op::Cpy, graph::Params::Cpy { n_past, .. }) => assert_eq!(*n_past, 3),
                (Op::GetRows | Op::Mul | Op::Add | Op::Swiglu, graph::Params::None) => {}
                (Op::Quantize, graph::Params::None) => {
                    // F32 in, the dot type of the products that read it out.
                    assert_eq!(n.inputs[0].dtype, GgmlType::F32);
                    let readers: Vec<_> = g
                        .nodes
                        .iter()
                        .filter(|r| r.op == Op::MulMat && r.inputs[1] == n.output)
                        .collect();
                    assert!(readers.len() >= 2, "{}: read by {}", n.name, readers.len());
                    for r in readers {
                        assert_eq!(n.output.dtype, r.inputs[0].dtype.vec_dot_type());
                    }
                }
                (op, p) => panic!("{}: {op} with {p:?}", n.name),
            }
        }
    }
    assert_eq!(kernels::mul_mat(GgmlType::Q4_K), "mul_mat_q4_K");
    assert!(kernels::abi_of("mul_mat_q9_K").is_none());
}

#[test]
fn impossible_steps_are_refused() {
    let m = q4_k_m();
    let e = |r: Result<Graph, regions::WorkloadError>| r.unwrap_err().to_string();
    assert!(e(graph::decode(&m, 2048, 2048, F16)).contains("KV cache holds 2048"));
    assert!(e(graph::decode(&m, 0, 4096, F16)).contains("max_context"));
    assert!(e(graph::prefill(&m, 0, 2048, F16)).contains("at least one token"));
    assert!(e(graph::decode(&m, 0, 2048, GgmlType::Q4_0)).contains("KV cache type Q4_0"));
}

/// `NAME = value` entries of a C enum in programs/kernels/ggml_abi.h.
fn abi_enum(prefix: &str) -> BTreeMap<String, u64> {
    let h = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/programs/kernels/ggml_abi.h"
    ))
    .expect("programs/kernels/ggml_abi.h");
    h.lines()
        .filter_map(|l| {
            let l = l.trim();
            let rest = l.strip_prefix(prefix)?;
            let (name, val) = rest.split_once('=')?;
            let val = val.trim().trim_end_matches(',').split_whitespace().next()?;
            let val = val.trim_end_matches(',');
            Some((name.trim().to_string(), val.parse().ok()?))
        })
        .collect()
}

#[test]
fn kernels_bind_to_existing_programs_opcodes_and_types_of_the_kernel_abi() {
    let ops = abi_enum("SAIL_OP_");
    let types = abi_enum("SAIL_TYPE_");
    assert!(
        ops.len() >= 12 && types.len() >= 10,
        "parsed {ops:?} {types:?}"
    );
    for k in kernels::KERNELS {
        let elf = format!(
            "{}/programs/kernels/elf/{}.elf",
            env!("CARGO_MANIFEST_DIR"),
            k.program
        );
        assert!(std::path::Path::new(&elf).is_file(), "{elf} missing");
        let name = k
            .ggml_op
            .split_whitespace()
            .last()
            .unwrap()
            .trim_matches(['(', ')']);
        assert_eq!(
            ops.get(name),
            Some(&(k.opcode as u64)),
            "{} -> {name}",
            k.pattern
        );
    }
    // Every element type a TinyLlama graph hands to a kernel has the same id in the ABI.
    for m in [q4_k_m(), q4_0()] {
        for g in [
            graph::decode(&m, 9, 2048, F16).unwrap(),
            graph::prefill(&m, 9, 2048, F16).unwrap(),
        ] {
            for n in &g.nodes {
                for o in n.inputs.iter().chain([&n.output]).chain(n.scratch.as_ref()) {
                    assert_eq!(
                        types.get(o.dtype.name()),
                        Some(&u64::from(o.dtype.id())),
                        "{}: {} {}",
                        n.name,
                        o.region,
                        o.dtype
                    );
                }
            }
        }
    }
}

#[test]
fn rope_reads_the_positions_of_the_step() {
    let m = small();
    let g = graph::prefill(&m, 5, 96, F16).unwrap();
    for n in g.nodes.iter().filter(|n| n.op == Op::Rope) {
        assert_eq!(n.inputs[1].region, "act.pos");
        assert_eq!(
            (n.inputs[1].dtype, n.inputs[1].ne),
            (GgmlType::I32, [5, 1, 1, 1])
        );
    }
}
