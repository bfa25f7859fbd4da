//! The region list for the memory layer: weights from the manifest, the KV cache and the
//! activation buffers derived for a context and prompt, against closed forms.

use sail_emu::workload::regions::{self, act, RegionParams, RegionSpec};
use sail_emu::workload::{load_manifest, GgmlType, RegionKind};
use std::collections::BTreeSet;

#[test]
fn kv_cache_bytes_follow_the_closed_form() {
    let m = load_manifest("tinyllama-1.1b-q4_k_m").unwrap();
    for ctx in [1u64, 512, 2048] {
        let r = regions::regions(&m, &RegionParams::new(ctx, 1)).unwrap();
        let (_, kv, _) = regions::totals(&r);
        // K and V, 22 blocks, 4 KV heads x 64, F16.
        assert_eq!(kv, 2 * 22 * (4 * 64) * ctx * 2, "context {ctx}");
    }
    let r = regions::regions(&m, &RegionParams::new(2048, 1)).unwrap();
    assert_eq!(regions::totals(&r).1, 46_137_344); // 44 MiB
    let p = RegionParams {
        logits_all: false,
        context: 2048,
        prompt: 1,
        kv_type: GgmlType::F32,
    };
    assert_eq!(
        regions::totals(&regions::regions(&m, &p).unwrap()).1,
        2 * 46_137_344
    );
    // BF16 is two bytes a value like F16; Q8_0 is 34 bytes per 32 values (an f16 scale and
    // 32 int8).
    for (kv_type, per_32_values) in [(GgmlType::BF16, 64u64), (GgmlType::Q8_0, 34)] {
        let p = RegionParams {
            kv_type,
            ..RegionParams::new(2048, 1)
        };
        let kv = regions::totals(&regions::regions(&m, &p).unwrap()).1;
        assert_eq!(
            kv,
            2 * 22 * (4 * 64 / 32) * per_32_values * 2048,
            "{kv_type}"
        );
    }
}

#[test]
fn the_region_list_has_every_weight_kv_and_activation_region_once() {
    let m = load_manifest("tinyllama-1.1b-q4_0").unwrap();
    let r = regions::regions(&m, &RegionParams::new(1024, 64)).unwrap();
    let names: BTreeSet<&str> = r.iter().map(|x| x.name.as_str()).collect();
    assert_eq!(names.len(), r.len());
    let count = |k| r.iter().filter(|x| x.kind == k).count();
    assert_eq!(count(RegionKind::Weight), 201);
    assert_eq!(count(RegionKind::Kv), 44);
    assert_eq!(count(RegionKind::Activation), 14);
    // Weights in manifest order with their bytes and layers.
    for (reg, t) in r.iter().zip(&m.tensors) {
        assert_eq!(
            reg,
            &RegionSpec {
                name: t.name.clone(),
                kind: RegionKind::Weight,
                bytes: t.bytes,
                layer: t.layer,
            }
        );
    }
    assert_eq!(regions::totals(&r).0, 635_990_016);
    for l in 0..22u32 {
        for n in [format!("cache_k_l{l}"), format!("cache_v_l{l}")] {
            let x = r.iter().find(|x| x.name == n).unwrap();
            assert_eq!(
                (x.kind, x.layer, x.bytes),
                (RegionKind::Kv, Some(l), 256 * 1024 * 2)
            );
        }
    }
    assert!(r
        .iter()
        .filter(|x| x.kind == RegionKind::Activation)
        .all(|x| x.layer.is_none() && x.name.starts_with("act.")));
}

#[test]
fn activation_buffers_are_sized_for_the_larger_step() {
    let m = load_manifest("tinyllama-1.1b-q4_k_m").unwrap();
    let get = |r: &[RegionSpec], n: &str| r.iter().find(|x| x.name == n).unwrap().bytes;
    let (h, f, heads, v) = (2048u64, 5632u64, 32u64, 32000u64);
    for (ctx, p) in [(2048u64, 512u64), (2048, 1), (256, 256), (100, 7)] {
        let r = regions::regions(&m, &RegionParams::new(ctx, p)).unwrap();
        assert_eq!(get(&r, act::X), h * p * 4);
        assert_eq!(get(&r, act::GATE), f * p * 4);
        assert_eq!(get(&r, act::TOKENS), p * 4);
        // Scores: the prefill's P x P per head, or the decode's context per head.
        assert_eq!(get(&r, act::KQ), (p * p).max(ctx) * heads * 4);
        assert_eq!(get(&r, act::LOGITS), v * 4);
        // Converted activations: the largest of the Q8_K rows of ffn_down (5632 wide)
        // and the F16 copies of the scores for p.V.
        let q8k_down = 5632 / 256 * 292 * p;
        let f16_scores = (p * p).max(ctx) * heads * 2;
        assert_eq!(
            get(&r, act::SRC1_Q),
            q8k_down.max(f16_scores),
            "ctx {ctx} p {p}"
        );
    }
    // The total at context 2048, prompt 512: tokens and positions 2 x 4p, five [h, p] F32
    // buffers, K and V [256, p], scores p x p x heads, gate and up [f, p], the F16 scores
    // for p.V (larger than the Q8_K rows), logits.
    let p = 512u64;
    let want = 2 * 4 * p
        + 5 * h * p * 4
        + 2 * 256 * p * 4
        + p * p * heads * 4
        + 2 * f * p * 4
        + p * p * heads * 2
        + v * 4;
    let r = regions::regions(&m, &RegionParams::new(2048, 512)).unwrap();
    assert_eq!(regions::totals(&r).2, want);
    assert_eq!(want, 95_552_512);
}

#[test]
fn impossible_parameters_are_refused() {
    let m = load_manifest("tinyllama-1.1b-q4_k_m").unwrap();
    let e = |p: RegionParams| regions::regions(&m, &p).unwrap_err().to_string();
    assert!(e(RegionParams::new(4096, 1)).contains("max_context"));
    assert!(e(RegionParams::new(0, 1)).contains("context 0"));
    assert!(e(RegionParams::new(100, 101)).contains("prompt length 101"));
    assert!(e(RegionParams::new(100, 0)).contains("prompt length 0"));
    let p = RegionParams {
        logits_all: false,
        context: 100,
        prompt: 1,
        kv_type: GgmlType::Q4_0,
    };
    assert!(e(p).contains("KV cache type Q4_0"));
}

#[test]
fn manifest_show_json_reports_the_library_figures() {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_emulate"))
        .args([
            "manifest",
            "show",
            "tinyllama-1.1b-q4_k_m",
            "--context",
            "2048",
            "--prompt",
            "512",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["weight_bytes"], 667_078_656u64);
    assert_eq!(v["kv_bytes"], 46_137_344u64);
    assert_eq!(v["activation_bytes"], 95_552_512u64);
    assert_eq!(v["total_bytes"], 667_078_656u64 + 46_137_344 + 95_552_512);
    assert_eq!(v["params"], 1_100_048_384u64);
    assert_eq!(v["weights_by_dtype"]["Q6_K"]["params"], 186_122_240u64);
    assert_eq!(v["regions"].as_array().unwrap().len(), 201 + 44 + 14);
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_emulate"))
        .args([
            "manifest",
            "graph",
            "tinyllama-1.1b-q4_k_m",
            "--position",
            "0",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let m = load_manifest("tinyllama-1.1b-q4_k_m").unwrap();
    let g = sail_emu::workload::graph::decode(&m, 0, 2048, GgmlType::F16).unwrap();
    assert_eq!(v["flops"], g.flops());
    assert_eq!(v["flops"], 2_070_132_032u64);
    assert_eq!(v["bytes_moved"], g.bytes_moved());
    // The split graph has 23 nodes per layer plus 4 (510 for 22 layers: two of them the
    // shared activation conversions) and 199 mul_mats; the fused default replaces each
    // layer's kq mul_mat, soft_max and kqv mul_mat by one flash_attn_ext node.
    let layers = m.architecture.layers as usize;
    assert_eq!(v["nodes"].as_array().unwrap().len(), 510 - 2 * layers);
    assert_eq!(v["by_op"]["quantize"]["count"], 2 * layers);
    assert_eq!(v["by_op"]["mul_mat"]["count"], 199 - 2 * layers);
    assert_eq!(v["by_op"]["flash_attn_ext"]["count"], layers);
}
