//! `emulate --cards N --parallel tp|pp|auto` end to end on a small llama (4 blocks, hidden
//! 512) so the runs take seconds: identities against the single-card run, conservation of
//! the bytes the AllReduces and stage transfers move, the stage split, and thread-count
//! invariance.

use crate::support::{emulate, emulate_json, json_number as f};
use std::path::{Path, PathBuf};

const LAYERS: u64 = 4;
const HIDDEN: u64 = 512;
const FFN: u64 = 1024;
const VOCAB: u64 = 1024;

/// A llama of 4 blocks, hidden 512, 8 heads (64 wide), 4 KV heads, FFN 1024, Q4_0 weights.
fn tiny_manifest(dir: &Path) -> PathBuf {
    let q4 = |ne0: u64, ne1: u64| ne0 / 32 * 18 * ne1;
    let mut t = String::new();
    let mut w = |name: &str, dtype: &str, shape: &[u64], bytes: u64, layer: Option<u64>| {
        let shape: Vec<String> = shape.iter().map(|x| x.to_string()).collect();
        let layer = layer.map_or(String::new(), |l| format!(", layer: {l}"));
        t.push_str(&format!(
            "  - {{name: {name}, kind: weight, dtype: {dtype}, shape: [{}], bytes: {bytes}{layer}}}\n",
            shape.join(", ")
        ));
    };
    w(
        "token_embd.weight",
        "Q4_0",
        &[HIDDEN, VOCAB],
        q4(HIDDEN, VOCAB),
        None,
    );
    for l in 0..LAYERS {
        let b = |n: &str| format!("blk.{l}.{n}.weight");
        w(&b("attn_norm"), "F32", &[HIDDEN], HIDDEN * 4, Some(l));
        w(
            &b("attn_q"),
            "Q4_0",
            &[HIDDEN, HIDDEN],
            q4(HIDDEN, HIDDEN),
            Some(l),
        );
        w(
            &b("attn_k"),
            "Q4_0",
            &[HIDDEN, 256],
            q4(HIDDEN, 256),
            Some(l),
        );
        w(
            &b("attn_v"),
            "Q4_0",
            &[HIDDEN, 256],
            q4(HIDDEN, 256),
            Some(l),
        );
        w(
            &b("attn_output"),
            "Q4_0",
            &[HIDDEN, HIDDEN],
            q4(HIDDEN, HIDDEN),
            Some(l),
        );
        w(&b("ffn_norm"), "F32", &[HIDDEN], HIDDEN * 4, Some(l));
        w(
            &b("ffn_gate"),
            "Q4_0",
            &[HIDDEN, FFN],
            q4(HIDDEN, FFN),
            Some(l),
        );
        w(
            &b("ffn_up"),
            "Q4_0",
            &[HIDDEN, FFN],
            q4(HIDDEN, FFN),
            Some(l),
        );
        w(
            &b("ffn_down"),
            "Q4_0",
            &[FFN, HIDDEN],
            q4(FFN, HIDDEN),
            Some(l),
        );
    }
    w("output_norm.weight", "F32", &[HIDDEN], HIDDEN * 4, None);
    w(
        "output.weight",
        "Q4_0",
        &[HIDDEN, VOCAB],
        q4(HIDDEN, VOCAB),
        None,
    );
    let yaml = format!(
        "name: tiny-llama\narchitecture:\n  family: llama\n  layers: {LAYERS}\n  hidden_size: {HIDDEN}\n  heads: 8\n  kv_heads: 4\n  ffn_size: {FFN}\n  vocab_size: {VOCAB}\n  max_context: 64\n  rms_eps: 1.0e-5\n  rope:\n    freq_base: 10000.0\n    dims: 64\ntensors:\n{t}"
    );
    let p = dir.join("tiny-llama.yaml");
    std::fs::write(&p, yaml).unwrap();
    p
}

fn run(manifest: &Path, extra: &[&str]) -> serde_json::Value {
    let m = manifest.to_str().unwrap();
    let mut a = vec![
        "--manifest",
        m,
        "--context",
        "16",
        "--prompt",
        "2",
        "--tokens",
        "2",
        "--json",
    ];
    a.extend_from_slice(extra);
    emulate_json(&a)
}

/// A report without what depends on the host (wall time, the command line).
fn without_host(mut r: serde_json::Value) -> serde_json::Value {
    let o = r.as_object_mut().unwrap();
    for k in ["host_seconds", "host_seconds_per_token", "provenance"] {
        o.remove(k);
    }
    r
}

/// One runner for any card count: one card asked for as tensor or pipeline parallel is the
/// single-card run, report for report.
#[test]
fn one_card_tp_and_pp_are_the_single_card_run() {
    let dir = tempfile::tempdir().unwrap();
    let m = tiny_manifest(dir.path());
    let single = without_host(run(&m, &[]));
    assert_eq!(f(&single, "cards"), 1.0);
    assert!(single.get("link").is_none() && single.get("parallel").is_none());
    for split in ["tp", "pp"] {
        let one = without_host(run(&m, &["--cards", "1", "--parallel", split]));
        assert_eq!(one, single, "{split}");
    }
}

/// The logits a run wrote with `--logits FILE`: rows of n_vocab f32.
fn logits(
    manifest: &Path,
    dir: &Path,
    name: &str,
    extra: &[&str],
) -> (serde_json::Value, Vec<Vec<f32>>) {
    let file = dir.join(name);
    let mut a = vec!["--logits", file.to_str().unwrap()];
    a.extend_from_slice(extra);
    let r = run(manifest, &a);
    let bytes = std::fs::read(&file).unwrap();
    let rows = bytes
        .chunks_exact(VOCAB as usize * 4)
        .map(|row| {
            row.chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect()
        })
        .collect();
    (r, rows)
}

/// Split over 2 or 4 cards the model computes what one card computes. Pipeline stages run
/// the same kernels on the same values in the same order: the logits are bit-identical.
/// Tensor parallel splits each attention-output and down projection into per-card partial
/// sums that the ring AllReduce adds in f32 (in a ring order), where one card accumulates
/// the whole row in its kernel's order: a reassociation of a sum of 512 or 1024 products per
/// output, whose f32 rounding (a few ulp of the partial sums, about 1e-7 relative) is then
/// carried through the later blocks' norms and products. The test allows 2e-4 on any logit
/// (the logits here are of order 0.1..1) and asks the mean to stay below 1e-5, and the
/// greedy tokens to be the same.
#[test]
fn split_runs_compute_the_single_cards_tokens_and_logits() {
    let dir = tempfile::tempdir().unwrap();
    let m = tiny_manifest(dir.path());
    let (single, base) = logits(&m, dir.path(), "one", &[]);
    let ids = |r: &serde_json::Value| r["tokens_out"].clone();
    assert_eq!(base.len(), 3, "the prefill's row and two decode rows");
    for cards in ["2", "4"] {
        let (pp, rows) = logits(
            &m,
            dir.path(),
            &format!("pp{cards}"),
            &["--cards", cards, "--parallel", "pp"],
        );
        assert_eq!(rows, base, "pp on {cards} cards");
        assert_eq!(ids(&pp), ids(&single), "pp on {cards} cards");
        let (tp, rows) = logits(
            &m,
            dir.path(),
            &format!("tp{cards}"),
            &["--cards", cards, "--parallel", "tp"],
        );
        assert_eq!(ids(&tp), ids(&single), "tp on {cards} cards");
        let (mut max, mut sum, mut n) = (0f32, 0f64, 0usize);
        for (a, b) in rows.iter().flatten().zip(base.iter().flatten()) {
            let d = (a - b).abs();
            max = max.max(d);
            sum += f64::from(d);
            n += 1;
        }
        assert_eq!(n, base.len() * VOCAB as usize);
        let mean = sum / n as f64;
        eprintln!("tp on {cards} cards: max |delta logit| {max:e}, mean {mean:e}");
        assert!(
            max <= 2e-4 && mean <= 1e-5,
            "tp on {cards}: max {max}, mean {mean}"
        );
        // The same model, not merely close numbers: a different weight slice would move
        // the logits by their own size (checked below on every row of the prefill too).
        let scale = base.iter().flatten().map(|x| x.abs()).fold(0f32, f32::max);
        assert!(scale > 100.0 * max, "logits of scale {scale}");
    }
}

/// The parallel bound is the cards' per-node rooflines: on one card it is the single-card
/// run's bound (the same nodes), with pipeline parallel on any card count too (the stages
/// split the same nodes and run in turn); with tensor parallel the slowest card's share,
/// below one card's bound and at most its shard's part of it above an even split.
#[test]
fn the_parallel_bound_is_the_cards_rooflines() {
    let dir = tempfile::tempdir().unwrap();
    let m = tiny_manifest(dir.path());
    let single = f(&run(&m, &[]), "bound.ms_per_token");
    assert!(single > 0.0);
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b;
    for (split, cards) in [("tp", "1"), ("pp", "1"), ("pp", "2"), ("pp", "4")] {
        let r = run(&m, &["--cards", cards, "--parallel", split]);
        let b = f(&r, "bound.ms_per_token");
        assert!(close(b, single), "{split} on {cards}: {b} vs {single}");
        assert!(f(&r, "bound.ratio") >= 1.0, "{split} on {cards}");
    }
    for cards in [2.0, 4.0] {
        let r = run(&m, &["--cards", &cards.to_string(), "--parallel", "tp"]);
        let b = f(&r, "bound.ms_per_token");
        // Each card runs the replicated ops (norms, adds, embedding, head) whole and its
        // shard of the rest: more than an even split, less than the whole.
        assert!(
            b < single && b > single / cards,
            "tp on {cards}: {b} vs {single}"
        );
        assert!(f(&r, "bound.ratio") >= 1.0, "tp on {cards}");
        assert!(close(f(&r, "bound.tokens_per_s"), 1e3 / b));
    }
}

#[test]
fn tp_on_two_cards_allreduces_twice_per_block_and_conserves_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let m = tiny_manifest(dir.path());
    let single = run(&m, &[]);
    let tp = run(&m, &["--cards", "2", "--parallel", "tp", "--threads", "1"]);
    // Two AllReduces per block (after the attention output and the down projection), each
    // of hidden x 4 bytes for the one decode token.
    assert_eq!(
        f(&tp, "collective.allreduces_per_token"),
        2.0 * LAYERS as f64
    );
    let s = 2.0 * LAYERS as f64 * HIDDEN as f64 * 4.0;
    assert_eq!(f(&tp, "collective.bytes_per_token"), s);
    // A ring AllReduce of S on N cards sends 2(N-1) chunks of S/N from every card: 2(N-1)/N
    // S per card, 2(N-1) S in all. On 2 cards: 2 S over the link per token, plus framing.
    assert_eq!(f(&tp, "link.payload_bytes_per_token"), 2.0 * s);
    assert!(f(&tp, "link.wire_bytes_per_token") > 2.0 * s);
    // One reduce kernel per card per AllReduce (each chunk is one segment).
    assert_eq!(
        f(&tp, "collective.reduce_kernels_per_token"),
        2.0 * 2.0 * LAYERS as f64
    );
    // Each card holds half the heads, KV heads and FFN, and half the block weights.
    for c in 0..2 {
        let card = &tp["per_card"][c];
        assert_eq!(card["shard"]["heads"], 4);
        assert_eq!(card["shard"]["kv_heads"], 2);
        assert_eq!(card["shard"]["ffn"], FFN / 2);
        assert_eq!(card["regime"], "resident");
    }
    let whole = f(&single, "plan.footprint.weights");
    let w0 = f(&tp, "per_card.0.weight_bytes");
    // Shared: token_embd + 2 norms per block + output_norm; the output head is split.
    let q4 = |a: u64, b: u64| (a / 32 * 18 * b) as f64;
    let replicated = q4(HIDDEN, VOCAB) + (2 * LAYERS + 1) as f64 * HIDDEN as f64 * 4.0;
    assert_eq!(w0, replicated + (whole - replicated) / 2.0);
    assert_eq!(
        f(&tp, "per_card.0.kv_bytes") * 2.0,
        f(&single, "plan.footprint.kv")
    );
    // Splitting the block's matrix products halves their work: TP decodes faster than one
    // card, and never faster than half of it.
    let one = f(&single, "decode.ms_per_token");
    let two = f(&tp, "decode.ms_per_token");
    assert!(two < one && two > one / 2.0, "{two} vs {one}");
    // Host threads change nothing.
    let mut threaded = run(&m, &["--cards", "2", "--parallel", "tp", "--threads", "2"]);
    let serial = tp.clone();
    // The provenance names the command line, which differs in --threads.
    threaded = without_host(threaded);
    let serial = without_host(serial);
    assert_eq!(threaded, serial);
}

#[test]
fn pp_stages_cover_every_block_once_and_forward_the_residual() {
    let dir = tempfile::tempdir().unwrap();
    let m = tiny_manifest(dir.path());
    let single = run(&m, &[]);
    let decode_kernels: f64 = (0..2)
        .map(|i| f(&single, &format!("decode.steps.{i}.kernels")))
        .sum::<f64>()
        / 2.0;
    for n in [2usize, 3, 4] {
        let cards = n.to_string();
        let pp = run(&m, &["--cards", &cards, "--parallel", "pp"]);
        let mut next = 0.0;
        let mut kernels = 0.0;
        let mut weights = 0.0;
        for c in 0..n {
            let l = &pp["per_card"][c]["layers"];
            assert_eq!(l[0].as_f64().unwrap(), next, "card {c} of {n}");
            next = l[1].as_f64().unwrap();
            kernels += f(&pp, &format!("per_card.{c}.kernels_per_token"));
            weights += f(&pp, &format!("per_card.{c}.weight_bytes"));
        }
        assert_eq!(next, LAYERS as f64);
        // Every node runs once on exactly one card; every weight lives on one card.
        assert_eq!(kernels, decode_kernels);
        assert_eq!(weights, f(&single, "plan.footprint.weights"));
        // Per token: the residual (hidden x 4 bytes) down the N-1 stage links, then the
        // token id (4 bytes) back to card 0.
        let fwd = (n - 1) as f64 * HIDDEN as f64 * 4.0 + 4.0;
        assert_eq!(f(&pp, "forward.bytes_per_token"), fwd);
        assert_eq!(f(&pp, "forward.transfers_per_token"), n as f64);
        assert_eq!(f(&pp, "link.payload_bytes_per_token"), fwd);
        // No micro-batching: the stages run in turn, so a token takes exactly the stages'
        // kernel time plus the transfers...
        let busy: f64 = (0..n)
            .map(|c| f(&pp, &format!("per_card.{c}.busy_ms_per_token")))
            .sum();
        let t = f(&pp, "decode.ms_per_token");
        assert!(
            (t - busy - f(&pp, "forward.ms_per_token")).abs() < 1e-9,
            "n={n}: {t}"
        );
        // ... which is the single card's, up to the DDR timing of different addresses (each
        // card places only its own regions).
        let one = f(&single, "decode.ms_per_token");
        assert!((t / one - 1.0).abs() < 0.02, "n={n}: {t} vs {one}");
    }
}

#[test]
fn auto_reports_the_rule_and_both_runs() {
    let dir = tempfile::tempdir().unwrap();
    let m = tiny_manifest(dir.path());
    let auto = run(&m, &["--cards", "2", "--parallel", "auto"]);
    let tp = f(&auto, "tp.decode.ms_per_token");
    let pp = f(&auto, "pp.decode.ms_per_token");
    let faster = if tp <= pp { "tp" } else { "mp" };
    assert_eq!(auto["emulated_choice"], faster);
    assert_eq!(auto["rule_tile"]["n"], FFN);
    assert_eq!(auto["rule_tile"]["k"], HIDDEN);
    let agree = auto["rule"]["choice"] == auto["emulated_choice"];
    assert_eq!(auto["agree"], agree);
    assert!(auto["verdict"].as_str().unwrap().contains("emulated"));
}

#[test]
fn bad_parallel_input_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let m = tiny_manifest(dir.path());
    let m = m.to_str().unwrap();
    for (args, needle) in [
        (vec!["--cards", "0"], "at least 1"),
        (vec!["--cards", "3", "--parallel", "tp"], "divide"),
        (vec!["--cards", "5", "--parallel", "pp"], "4 blocks over 5"),
        (vec!["--parallel", "dp"], "dp"),
    ] {
        let mut args = args.clone();
        args.extend_from_slice(&["--manifest", m, "--context", "16"]);
        let out = emulate(&args);
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

/// Every run option works on several cards: `--logits-all` gives every prompt row (the
/// pipeline's bit for bit the one card's), and `--past` decodes from a position on a filled
/// cache without a prefill.
#[test]
fn logits_all_and_past_run_on_several_cards() {
    let dir = tempfile::tempdir().unwrap();
    let m = tiny_manifest(dir.path());
    let all = ["--logits-all"];
    let (_, base) = logits(&m, dir.path(), "one-all", &all);
    assert_eq!(base.len(), 4, "two prompt rows and two decode rows");
    let mut pp_args = all.to_vec();
    pp_args.extend_from_slice(&["--cards", "2", "--parallel", "pp"]);
    let (_, rows) = logits(&m, dir.path(), "pp-all", &pp_args);
    assert_eq!(rows, base);
    let mut tp_args = all.to_vec();
    tp_args.extend_from_slice(&["--cards", "2", "--parallel", "tp"]);
    let (_, rows) = logits(&m, dir.path(), "tp-all", &tp_args);
    assert_eq!(rows.len(), base.len());
    for (a, b) in rows.iter().flatten().zip(base.iter().flatten()) {
        assert!((a - b).abs() <= 2e-4, "{a} vs {b}");
    }
    for split in ["tp", "pp"] {
        let r = emulate_json(&[
            "--manifest",
            m.to_str().unwrap(),
            "--context",
            "16",
            "--past",
            "9",
            "--tokens",
            "2",
            "--cards",
            "2",
            "--parallel",
            split,
            "--json",
        ]);
        assert_eq!(f(&r, "past"), 9.0, "{split}");
        assert!(r.get("ttft_ms").is_none(), "{split}");
        assert_eq!(r["decode"]["steps"].as_array().unwrap().len(), 2, "{split}");
        assert!(f(&r, "decode.ms_per_token") > 0.0, "{split}");
    }
}

/// `--context-overflow` runs a context beyond the model's trained one (here 64), as
/// llama.cpp does with a warning; without it such a context is refused, and beyond 8x it is
/// refused either way.
#[test]
fn a_context_beyond_the_trained_one_needs_the_overflow_option() {
    let dir = tempfile::tempdir().unwrap();
    let m = tiny_manifest(dir.path());
    let m = m.to_str().unwrap();
    let base = ["--manifest", m, "--past", "100", "--tokens", "2", "--json"];
    let mut ok = base.to_vec();
    ok.extend_from_slice(&["--context", "128", "--context-overflow"]);
    let r = emulate_json(&ok);
    assert_eq!(f(&r, "trained_context"), 64.0);
    assert_eq!(f(&r, "context"), 128.0);
    // The cache holds 128 positions: twice the 64-position cache's bytes.
    let small = emulate_json(&[
        "--manifest",
        m,
        "--past",
        "40",
        "--tokens",
        "2",
        "--context",
        "64",
        "--json",
    ]);
    assert!(small.get("trained_context").is_none());
    assert_eq!(
        f(&r, "plan.footprint.kv"),
        2.0 * f(&small, "plan.footprint.kv")
    );
    for (extra, needle) in [
        (&["--context", "128"][..], "max_context"),
        (
            &["--context", "1024", "--context-overflow"][..],
            "8x the trained context",
        ),
    ] {
        let mut a = base.to_vec();
        a.extend_from_slice(extra);
        let out = emulate(&a);
        assert!(!out.status.success(), "{a:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{a:?}: {err}");
    }
}
