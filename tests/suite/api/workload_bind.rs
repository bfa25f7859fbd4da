//! Graph nodes bound to kernel descriptors: every view stays inside its region, the
//! attention views read exactly what the cache stores and RoPE wrote, and the parameters
//! land in the ABI's slots.

use sail_emu::workload::abi::{TensorDesc, OP_BYTES, TENSOR_BASE};
use sail_emu::workload::bind::{descriptor, slot};
use sail_emu::workload::graph::{self, Graph, Node};
use sail_emu::workload::kernels::abi_of;
use sail_emu::workload::regions::{self, RegionParams};
use sail_emu::workload::{load_manifest, GgmlType, Manifest, RegionKind};
use std::collections::BTreeMap;

/// Regions laid out one after another from TENSOR_BASE, 64-byte aligned: name -> (base, bytes).
fn place(m: &Manifest, p: &RegionParams) -> BTreeMap<String, (u64, u64)> {
    let mut at = TENSOR_BASE;
    let mut map = BTreeMap::new();
    for r in regions::regions(m, p).unwrap() {
        map.insert(r.name, (at, r.bytes));
        at = (at + r.bytes).div_ceil(64) * 64;
    }
    map
}

/// First and one-past-last byte a descriptor tensor can touch.
fn span(t: &TensorDesc, dtype: GgmlType) -> (u64, u64) {
    let blocks0 = t.ne[0] as u64 / dtype.block_elems();
    let mut last = (blocks0 - 1) * t.nb[0];
    for i in 1..4 {
        last += (t.ne[i] as u64 - 1) * t.nb[i];
    }
    (t.data, t.data + last + dtype.block_bytes())
}

/// Address of element `idx` (element indices; dimension 0 of a plain type).
fn elem(t: &TensorDesc, idx: [u64; 4]) -> u64 {
    t.data + (0..4).map(|i| idx[i] * t.nb[i]).sum::<u64>()
}

fn bind_all(
    m: &Manifest,
    p: &RegionParams,
    g: &Graph,
) -> Vec<(Node, sail_emu::workload::abi::OpDesc)> {
    let map = place(m, p);
    let lookup = |name: &str| map.get(name).map(|x| x.0);
    g.nodes
        .iter()
        .map(|n| {
            let d = descriptor(n, m.architecture.max_context, &lookup)
                .unwrap_or_else(|e| panic!("{e}"));
            (n.clone(), d)
        })
        .collect()
}

#[test]
fn every_descriptor_tensor_stays_inside_its_region() {
    for (name, ctx, prompt) in [
        ("tinyllama-1.1b-q4_k_m", 2048u64, 64u64),
        ("tinyllama-1.1b-q4_0", 512, 512),
    ] {
        let m = load_manifest(name).unwrap();
        let p = RegionParams::new(ctx, prompt);
        let map = place(&m, &p);
        for g in [
            graph::prefill(&m, prompt, ctx, GgmlType::F16).unwrap(),
            graph::decode(&m, ctx - 1, ctx, GgmlType::F16).unwrap(),
            graph::decode(&m, 0, ctx, GgmlType::F16).unwrap(),
        ] {
            for (n, d) in bind_all(&m, &p, &g) {
                assert_eq!(d.pack().len(), OP_BYTES);
                assert_eq!(
                    Some(d.op),
                    abi_of(&n.kernel).map(|k| k.opcode),
                    "{}",
                    n.name
                );
                let ops = n.inputs.iter().chain([&n.output]);
                let descs = d.src.iter().chain([&d.dst]);
                for (o, t) in ops.zip(descs) {
                    let (base, bytes) = map[&o.region];
                    let (lo, hi) = span(t, o.dtype);
                    assert!(
                        lo >= base && hi <= base + bytes,
                        "{}: {} touches {lo:#x}..{hi:#x}, region {base:#x}+{bytes}",
                        n.name,
                        o.region
                    );
                    assert_eq!(t.type_id, o.dtype.id());
                    if o.kind == RegionKind::Weight {
                        assert_eq!(
                            *t,
                            TensorDesc::contiguous(o.dtype, o.ne, base),
                            "{}",
                            n.name
                        );
                    }
                }
                if let Some(s) = &n.scratch {
                    let (base, bytes) = map[&s.region];
                    assert!(d.work.0 >= base && d.work.0 + d.work.1 <= base + bytes);
                    // k_mul_mat needs rows(src1) x row_bytes(dot type, K) bytes of work space.
                    let src1 = &n.inputs[1];
                    let rows = src1.ne[1] * src1.ne[2] * src1.ne[3];
                    let need = s.dtype.row_bytes(src1.ne[0]).unwrap() * rows;
                    assert_eq!(d.work.1, need, "{}", n.name);
                }
            }
        }
    }
}

#[test]
fn attention_reads_what_the_cache_stores_and_rope_wrote() {
    let m = load_manifest("tinyllama-1.1b-q4_k_m").unwrap();
    let (ctx, n_past, t) = (256u64, 40u64, 5u64);
    let p = RegionParams::new(ctx, 64);
    let g = graph::build_shard_with(
        &m,
        regions::StepShape {
            n_tokens: t,
            n_past,
        },
        ctx,
        GgmlType::F16,
        graph::Shard::whole(&m),
        graph::Attention::Split,
    )
    .unwrap();
    let bound: BTreeMap<String, _> = bind_all(&m, &p, &g)
        .into_iter()
        .map(|(n, d)| (n.name.clone(), d))
        .collect();
    let a = &m.architecture;
    let (hd, kvh, heads) = (a.head_dim(), u64::from(a.kv_heads), u64::from(a.heads));
    let (k_store, v_store) = (&bound["blk.3.k_store"], &bound["blk.3.v_store"]);
    let (kq, kqv) = (&bound["blk.3.kq"], &bound["blk.3.kqv"]);
    let rope_q = &bound["blk.3.rope_q"];
    let attn_out = &bound["blk.3.attn_output"];
    for tok in [0, t - 1] {
        for g_ in [0, kvh - 1] {
            for d in [0, 1, hd - 1] {
                let j = g_ * hd + d; // element of the K/V row
                let pos = n_past + tok;
                // K: k_store's dst is [kv_dim, t] at position n_past; kq's src0 is [hd, kv_len, kv_heads].
                assert_eq!(
                    elem(&k_store.dst, [j, tok, 0, 0]),
                    elem(&kq.src[0], [d, pos, g_, 0])
                );
                // V: v_store's dst is [t, kv_dim] (transposed); kqv's src0 is [kv_len, hd, kv_heads].
                assert_eq!(
                    elem(&v_store.dst, [tok, j, 0, 0]),
                    elem(&kqv.src[0], [pos, d, g_, 0])
                );
                // v_store reads act.v [kv_dim, t] through its transposed view.
                assert_eq!(
                    elem(&v_store.src[0], [tok, j, 0, 0]),
                    bound["blk.3.attn_v"].dst.data + (tok * a.kv_dim() + j) * 4
                );
            }
        }
        for head in [0, heads - 1] {
            for d in [0, hd - 1] {
                // q: rope wrote [hd, heads, t]; kq reads [hd, t, heads].
                assert_eq!(
                    elem(&rope_q.dst, [d, head, tok, 0]),
                    elem(&kq.src[1], [d, tok, head, 0])
                );
                // kqv writes [hd, t, heads] that attn_output reads as [hidden, t].
                assert_eq!(
                    elem(&kqv.dst, [d, tok, head, 0]),
                    elem(&attn_out.src[1], [head * hd + d, tok, 0, 0])
                );
            }
        }
    }
    // GQA: 32 query heads over 4 KV heads (the kernel broadcasts ne2 by 8).
    assert_eq!((kq.src[0].ne[2], kq.src[1].ne[2]), (4, 32));
}

/// Fused attention (the default): K and V are stored as rows of positions, and the one
/// flash_attn_ext node reads q where rope wrote it, K and V where the stores put them, and
/// writes the merged heads where attn_output reads them.
#[test]
fn fused_attention_reads_what_the_cache_stores_and_rope_wrote() {
    let m = load_manifest("tinyllama-1.1b-q4_k_m").unwrap();
    let (ctx, n_past, t) = (256u64, 40u64, 5u64);
    let p = RegionParams::new(ctx, 64);
    let g = graph::build(
        &m,
        regions::StepShape {
            n_tokens: t,
            n_past,
        },
        ctx,
        GgmlType::F16,
    )
    .unwrap();
    assert!(g.nodes.iter().all(|n| !n.name.ends_with(".kq")));
    let bound: BTreeMap<String, _> = bind_all(&m, &p, &g)
        .into_iter()
        .map(|(n, d)| (n.name.clone(), d))
        .collect();
    let a = &m.architecture;
    let (hd, kvh, heads) = (a.head_dim(), u64::from(a.kv_heads), u64::from(a.heads));
    let (k_store, v_store) = (&bound["blk.3.k_store"], &bound["blk.3.v_store"]);
    let attn = &bound["blk.3.attn"];
    let rope_q = &bound["blk.3.rope_q"];
    let attn_out = &bound["blk.3.attn_output"];
    assert_eq!(attn.src.len(), 3, "q, K, V; the causal mask is a parameter");
    assert_eq!(v_store.dst.nb[0], 2, "V rows are contiguous");
    for tok in [0, t - 1] {
        for g_ in [0, kvh - 1] {
            for d in [0, 1, hd - 1] {
                let j = g_ * hd + d;
                let pos = n_past + tok;
                assert_eq!(
                    elem(&k_store.dst, [j, tok, 0, 0]),
                    elem(&attn.src[1], [d, pos, g_, 0])
                );
                assert_eq!(
                    elem(&v_store.dst, [j, tok, 0, 0]),
                    elem(&attn.src[2], [d, pos, g_, 0])
                );
            }
        }
        for head in [0, heads - 1] {
            for d in [0, hd - 1] {
                assert_eq!(
                    elem(&rope_q.dst, [d, head, tok, 0]),
                    elem(&attn.src[0], [d, tok, head, 0])
                );
                assert_eq!(
                    elem(&attn.dst, [d, head, tok, 0]),
                    elem(&attn_out.src[1], [head * hd + d, tok, 0, 0])
                );
            }
        }
    }
    assert_eq!((attn.src[1].ne[2], attn.src[0].ne[2]), (4, 32));
    assert_eq!(attn.src[1].ne[1], (n_past + t) as i64);
    let f = |bits: i32| f32::from_bits(bits as u32);
    assert_eq!(f(attn.params[slot::ATTN_SCALE]), 0.125);
    assert_eq!(attn.params[slot::ATTN_CAUSAL], 1);
    assert_eq!(attn.params[slot::ATTN_N_PAST], n_past as i32);
}

#[test]
fn parameters_land_in_the_abi_slots() {
    let m = load_manifest("tinyllama-1.1b-q4_k_m").unwrap();
    let p = RegionParams::new(2048, 1);
    let g = graph::decode(&m, 77, 2048, GgmlType::F16).unwrap();
    let f = |bits: i32| f32::from_bits(bits as u32);
    for (n, d) in bind_all(&m, &p, &g) {
        match n.kernel.as_str() {
            "rms_norm_f32" => assert_eq!(f(d.params[slot::RMS_EPS]), 1e-5),
            "soft_max_f32" => {
                assert_eq!(f(d.params[slot::SOFTMAX_SCALE]), 0.125);
                assert_eq!(d.params[slot::SOFTMAX_CAUSAL], 1);
                assert_eq!(d.params[slot::SOFTMAX_N_PAST], 77);
            }
            "rope_f32" => {
                assert_eq!(d.params[slot::ROPE_N_DIMS], 64);
                assert_eq!(d.params[slot::ROPE_MODE], 0);
                assert_eq!(f(d.params[slot::ROPE_FREQ_BASE]), 10000.0);
                assert_eq!(f(d.params[slot::ROPE_FREQ_SCALE]), 1.0);
                assert_eq!(d.params[slot::ROPE_N_CTX_ORIG], 2048);
                assert_eq!(d.src.len(), 2, "x and positions");
            }
            _ => {}
        }
        // The packed bytes carry the same parameters at byte 32.
        let b = d.pack();
        for (i, v) in d.params.iter().enumerate() {
            assert_eq!(
                i32::from_le_bytes(b[32 + 4 * i..36 + 4 * i].try_into().unwrap()),
                *v
            );
        }
    }
    // An unplaced region is an error naming the node and the region.
    let n = &g.nodes[0];
    let e = descriptor(n, 2048, &|_| None).unwrap_err().to_string();
    assert!(
        e.contains("inp_embd") && e.contains("has no address"),
        "{e}"
    );
}
