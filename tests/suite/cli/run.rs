//! The main job end to end: TinyLlama through the kernel programs on the emulated card.
//! Small runs (1 prompt token, 2 decode tokens) keep the test time low; every figure checked
//! here is a closed form or an identity, not a wall time.

use crate::support::{emulate, emulate_json, json_number as f};
use std::process::Command;

/// A small TinyLlama Q4_0 run's JSON report; `extra` options replace the defaults.
fn run_json(extra: &[&str]) -> serde_json::Value {
    let mut a: Vec<&str> = vec!["--json"];
    for (k, v) in [
        ("--manifest", "tinyllama-1.1b-q4_0"),
        ("--prompt", "1"),
        ("--tokens", "2"),
        ("--context", "64"),
    ] {
        // --past replaces the prompt.
        let replaced_by_past = k == "--prompt" && extra.contains(&"--past");
        if !extra.contains(&k) && !replaced_by_past {
            a.extend([k, v]);
        }
    }
    a.extend_from_slice(extra);
    emulate_json(&a)
}

/// The report without the host-side figures (wall time, how many kernels were reused).
fn emulated_figures(v: &serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(m) => serde_json::Value::Object(
            m.iter()
                .filter(|(k, _)| {
                    // The provenance names the command line, which differs between the runs.
                    !k.starts_with("host_seconds")
                        && k.as_str() != "reused"
                        && k.as_str() != "provenance"
                })
                .map(|(k, x)| (k.clone(), emulated_figures(x)))
                .collect(),
        ),
        serde_json::Value::Array(a) => a.iter().map(emulated_figures).collect(),
        x => x.clone(),
    }
}

#[test]
fn resident_run_reports_against_its_bound_and_is_deterministic() {
    let reuse = run_json(&[]);
    assert_eq!(reuse["board"], "innerjib7ea");
    assert_eq!(reuse["regime"], "resident");
    assert!(reuse["regime_reason"].as_str().unwrap().contains("fits"));
    let ms = f(&reuse, "decode.ms_per_token");
    let bound = f(&reuse, "bound.ms_per_token");
    assert!((f(&reuse, "decode.tokens_per_s") - 1e3 / ms).abs() < 1e-9);
    // The bound is a floor (roofline per node), and the emulated card stays within a factor
    // of 10 of it: decode is dominated by weight streaming through the matrix unit.
    assert!(ms >= bound, "{ms} below the bound {bound}");
    assert!(ms / bound < 10.0, "{ms} ms vs bound {bound} ms");
    // By default repeated invocations reuse their measured timing...
    assert!(f(&reuse, "decode.steps.1.reused") > 0.0);
    // ...and that gives exactly the figures of a run where every kernel runs.
    let exact = run_json(&["--exact"]);
    assert_eq!(f(&exact, "decode.steps.1.reused"), 0.0);
    assert_eq!(f(&exact, "prefill.reused"), 0.0);
    assert_eq!(emulated_figures(&exact), emulated_figures(&reuse));
    // Resident: no host-link traffic at all.
    assert_eq!(f(&reuse, "stats.host_link.bytes_in.value"), 0.0);
}

#[test]
fn weight_stream_below_the_weights_pays_the_host_link() {
    let r = run_json(&["--set", "memory.capacity=512 MiB"]);
    assert_eq!(r["regime"], "weight-stream", "{}", r["regime_reason"]);
    let weights = f(&r, "plan.footprint.weights");
    let host = 125e6 * 1472.0 / 1538.0 * 0.84;
    // Every decode token streams all the weights over the link: at least W / rate.
    let floor_ms = weights / host * 1e3;
    assert!(
        f(&r, "decode.ms_per_token") >= floor_ms,
        "{} < {floor_ms}",
        f(&r, "decode.ms_per_token")
    );
    assert!(f(&r, "bound.ms_per_token") >= floor_ms);
}

#[test]
fn resident_forced_over_capacity_is_a_clear_error() {
    let out = emulate(&[
        "--manifest",
        "tinyllama-1.1b-q4_0",
        "--memory-model",
        "resident",
        "--set",
        "memory.capacity=512 MiB",
        "--prompt",
        "1",
        "--tokens",
        "1",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("resident"), "{err}");
}

#[test]
fn kv_swap_below_the_full_footprint_pays_for_the_kv_pages_it_moves() {
    // Context 2048 makes the KV cache 46 MB; 626 MiB of DDR holds the weights and a 3.6 MB
    // page pool, so the decode steps swap KV pages over the host link.
    let args = ["--context", "2048"];
    let resident = run_json(&args);
    assert_eq!(resident["regime"], "resident");
    let swap = run_json(&[args[0], args[1], "--set", "memory.capacity=626 MiB"]);
    assert_eq!(swap["regime"], "kv-swap", "{}", swap["regime_reason"]);
    assert!(f(&swap, "stats.host_link.bytes_in.value") > 0.0);
    assert!(f(&swap, "stats.regime.evictions.value") > 0.0);
    let stall = f(&swap, "by_resource.host_link_stall") * 1e3;
    assert!(stall > 0.0);
    // The kernels are the same; the only difference is the wait for the link.
    let (ms_swap, ms_res) = (
        f(&swap, "decode.ms_per_token"),
        f(&resident, "decode.ms_per_token"),
    );
    assert!(
        (ms_swap - ms_res - stall).abs() < 1e-6 * ms_swap,
        "{ms_swap} != {ms_res} + {stall}"
    );
}

#[test]
fn a_gguf_files_real_weights_run_and_reuse_gives_the_exact_cycles() {
    let Some(py) = crate::support::workload::python() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let gguf = crate::support::workload::write_tiny(&py, dir.path(), "tiny.gguf", &[]);
    let path = gguf.to_str().unwrap();
    let small = [
        "--weights",
        path,
        "--prompt",
        "4",
        "--tokens",
        "3",
        "--context",
        "64",
    ];
    let run = |extra: &[&str]| {
        let mut a: Vec<&str> = small.to_vec();
        a.extend_from_slice(extra);
        a.push("--json");
        let out = emulate(&a);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let r = run(&[]);
    // The bytes in card memory are the file's tensors: the gguf package's reader hashes the
    // same bytes (tensors in file order, which is the manifest's order).
    let code = "import sys, hashlib; from gguf import GGUFReader\n\
                h = hashlib.sha256()\n\
                for t in GGUFReader(sys.argv[1]).tensors: h.update(t.data.tobytes())\n\
                print(h.hexdigest())";
    let o = Command::new(&py).args(["-c", code, path]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let oracle = String::from_utf8_lossy(&o.stdout).trim().to_string();
    assert_eq!(r["weights"]["sha256"].as_str().unwrap(), oracle);
    assert_eq!(r["weights"]["source"].as_str().unwrap(), path);
    // Reuse (the default) and --exact give the same emulated figures.
    assert!(f(&r, "decode.steps.1.reused") > 0.0);
    let exact = run(&["--exact"]);
    assert_eq!(f(&exact, "prefill.reused"), 0.0);
    assert_eq!(emulated_figures(&exact), emulated_figures(&r));
    // A manifest the file does not match is refused before anything runs.
    let out = emulate(&[&small[..], &["--manifest", "tinyllama-1.1b-q4_0"]].concat());
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("tiny.gguf") && err.contains("token_embd.weight"),
        "{err}"
    );
}

#[test]
fn a_truncated_weights_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("cut.gguf");
    // A GGUF header that stops in the middle of its metadata.
    let mut b = b"GGUF".to_vec();
    b.extend_from_slice(&3u32.to_le_bytes());
    b.extend_from_slice(&1u64.to_le_bytes());
    b.extend_from_slice(&5u64.to_le_bytes());
    std::fs::write(&p, &b).unwrap();
    let out = emulate(&["--weights", p.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cut.gguf"), "{err}");
}

/// `emulate kernel --node blk.0.` on TinyLlama Q4_0 decoding at position 3 of 64, as JSON.
fn layer0_kernels_at_position_3() -> serde_json::Value {
    emulate_json(&[
        "kernel",
        "--node",
        "blk.0.",
        "--manifest",
        "tinyllama-1.1b-q4_0",
        "--context",
        "64",
        "--past",
        "3",
        "--json",
    ])
}

#[test]
fn kernel_node_timing_equals_the_full_runs_and_is_above_its_bound() {
    // The full run's last step decodes at position prompt + tokens - 1 = 3.
    let full = run_json(&["--prompt", "3", "--tokens", "1"]);
    let alone = layer0_kernels_at_position_3();
    let alone = alone["kernels"].as_array().unwrap();
    let in_run: Vec<&serde_json::Value> = full["kernels"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["node"].as_str().unwrap().starts_with("blk.0."))
        .collect();
    assert_eq!(alone.len(), in_run.len());
    assert!(
        alone.len() >= 19,
        "a layer has its 19 (fused attention) kernels"
    );
    for (a, r) in alone.iter().zip(in_run) {
        assert_eq!(a["node"], r["node"]);
        // Timing does not depend on the data, so running the node alone gives the cycles
        // it took inside the run.
        assert_eq!(a["cycles"], r["cycles"], "{}", a["node"]);
        // The roofline is a floor: no kernel beats it.
        assert!(f(a, "ratio") >= 1.0, "{a}");
        assert!(f(a, "ddr_bytes") > 0.0);
        // Every cycle is an issue slot or a stall with a cause (single issue).
        let stalls: u64 = a["stalls"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_u64().unwrap())
            .sum();
        assert_eq!(
            a["instructions"].as_u64().unwrap() + stalls,
            a["cycles"].as_u64().unwrap(),
            "{}",
            a["node"]
        );
    }
    // Conservation: the per-op split of the decode step sums its kernels' seconds.
    let mm: f64 = full["kernels"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["op"] == "mul_mat" && k["node"].as_str().unwrap().starts_with("blk.0."))
        .map(|k| f(k, "seconds"))
        .sum();
    assert!(mm > 0.0 && mm < f(&full, "by_op.mul_mat.seconds"));
    // The prefill's per-op split sums to the prefill step (one card, no host-link waits),
    // and to its bound; a --past run has none.
    let split = full["prefill_by_op"].as_object().unwrap();
    let sum = |key: &str| {
        split
            .values()
            .map(|v| v[key].as_f64().unwrap())
            .sum::<f64>()
    };
    let (prefill, bound) = (
        f(&full, "prefill.seconds"),
        f(&full, "prefill.bound_seconds"),
    );
    assert!(
        (sum("seconds") - prefill).abs() < 1e-9 * prefill,
        "{prefill}"
    );
    assert!(
        (sum("bound_seconds") - bound).abs() < 1e-9 * bound,
        "{bound}"
    );
    let count: u64 = split.values().map(|v| v["count"].as_u64().unwrap()).sum();
    assert_eq!(count, f(&full, "prefill.kernels") as u64);
    let past = run_json(&["--past", "3", "--tokens", "1"]);
    assert!(past.get("prefill_by_op").is_none());
    // A prefix that names no node is an error listing some that exist.
    let out = emulate(&["kernel", "--node", "blk.0.nothing"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("blk.0.attn_norm"));
}

#[test]
fn past_decodes_at_its_position_without_a_prefill() {
    let steps = |v: &serde_json::Value| -> Vec<f64> {
        v["decode"]["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["seconds"].as_f64().unwrap())
            .collect()
    };
    // A decode step after a 4-token prefill and one at --past 4 run the same kernels on the
    // same shapes; only the DDR state the prefill left behind differs, so the step times
    // agree closely (kernel timing is data independent).
    let after_prefill = run_json(&["--prompt", "4"]);
    let past = run_json(&["--past", "4"]);
    assert!(past.get("ttft_ms").is_none() && past.get("prefill").is_none());
    assert_eq!(past["past"], 4);
    let (a, b) = (steps(&after_prefill), steps(&past));
    assert_eq!(b.len(), 2);
    for (x, y) in a.iter().zip(&b) {
        assert!(
            (x - y).abs() / x < 1e-3,
            "after prefill {x} s, --past {y} s"
        );
    }
    // Attention over 60 cached positions costs more than over 4: --past moves the position.
    let late = run_json(&["--past", "60"]);
    let attn = |v: &serde_json::Value| f(v, "by_op.flash_attn_ext.seconds");
    assert!(
        attn(&late) > 2.0 * attn(&past),
        "{} vs {}",
        attn(&late),
        attn(&past)
    );
    // With synthetic KV values the tokens mean nothing, and the report says so.
    assert_eq!(late["tokens_out"]["meaningful"], false);
}

/// `--kv-type`: the cache's footprint and the bytes the attention reads follow the type's
/// size (F16 and BF16 2 bytes a value, Q8_0 34 bytes per 32), and the report names it.
#[test]
fn kv_type_sets_the_cache_footprint_and_the_attention_bytes() {
    // TinyLlama: 22 blocks, K and V of 4 heads x 64 values a position; q and the output
    // are 32 heads x 64 f32.
    let (layers, kv_dim, q_bytes) = (22u64, 256u64, 32 * 64 * 4u64);
    for (kv, name, row) in [
        ("f16", "F16", kv_dim * 2),
        ("bf16", "BF16", kv_dim * 2),
        ("q8_0", "Q8_0", kv_dim / 32 * 34),
    ] {
        let v = run_json(&["--past", "60", "--tokens", "1", "--kv-type", kv]);
        assert_eq!(v["kv_type"], name);
        assert_eq!(
            v["plan"]["footprint"]["kv"].as_u64().unwrap(),
            2 * layers * 64 * row,
            "{kv}"
        );
        // The step at position 60 attends to 61 positions of K and V in each block.
        assert_eq!(
            v["by_op"]["flash_attn_ext"]["bytes"].as_u64().unwrap(),
            layers * (2 * q_bytes + 2 * 61 * row),
            "{kv}"
        );
        assert_eq!(
            v["by_op"]["cpy"]["bytes"].as_u64().unwrap(),
            layers * 2 * (kv_dim * 4 + row),
            "{kv}"
        );
    }
}

/// `--kv-type` on the matrix unit: the fused attention runs k_attention_xpop for every cache
/// type, the report names the unit of each product, and the bound takes each product at the
/// peak of the unit that runs it: F16 and BF16 both products on the unit (8 MACs per cycle
/// each on innerjib7ea), Q8_0 q.K on the int8 array (128 per cycle) and p.V on the 4 vector
/// lanes; the online softmax's 20 lane operations per pair on the lanes in every case.
/// TinyLlama at position 3: 32 heads x 4 keys, head size 64.
#[test]
fn kv_type_attention_names_its_units_and_takes_their_peaks() {
    let pairs = 32.0 * 4.0;
    for (kv, unit, per_pair) in [
        (
            "f16",
            "matrix f16: q.K, p.V",
            64.0 / 8.0 + 64.0 / 8.0 + 20.0 / 4.0,
        ),
        (
            "bf16",
            "matrix bf16: q.K, p.V",
            64.0 / 8.0 + 64.0 / 8.0 + 20.0 / 4.0,
        ),
        (
            "q8_0",
            "matrix int8: q.K; vector: p.V",
            64.0 / 128.0 + 64.0 / 4.0 + 20.0 / 4.0,
        ),
    ] {
        // Layer 0's nodes at position 3 of a 64-position cache of this type.
        let nodes = |extra: &[&str]| {
            let mut argv = vec![
                "kernel",
                "--node",
                "blk.0.attn",
                "--manifest",
                "tinyllama-1.1b-q4_0",
                "--context",
                "64",
                "--past",
                "3",
                "--kv-type",
                kv,
                "--json",
            ];
            argv.extend_from_slice(extra);
            emulate_json(&argv)
        };
        let v = nodes(&[]);
        let attn = kernel_of(&v, "blk.0.attn");
        assert_eq!(attn["program"], "k_attention_xpop.elf", "{kv}");
        assert_eq!(attn["unit"], unit, "{kv}");
        let want = pairs * per_pair;
        let got = f(attn, "bound_seconds") * 75e6;
        assert!(
            (got - want).abs() < 1e-6 * want,
            "{kv}: {got} cycles, want {want}"
        );
        assert!(f(attn, "ratio") >= 1.0, "{kv}: {attn}");
        // The weight products say their datapath; the element-wise ops the vector unit.
        assert_eq!(kernel_of(&v, "blk.0.attn_q")["unit"], "matrix int8");
        // Without the matrix unit everything is on the vector unit.
        let rvv = nodes(&["--no-matrix-unit"]);
        let attn = kernel_of(&rvv, "blk.0.attn");
        assert_eq!(attn["program"], "k_attention.elf", "{kv}");
        assert_eq!(attn["unit"], "vector", "{kv}");
    }
    // The run report says where attention's products ran.
    for (kv, args, units) in [
        ("q8_0", &[][..], "matrix int8: q.K; vector: p.V"),
        (
            "bf16",
            &["--attention", "split"][..],
            "matrix bf16: q.K, p.V",
        ),
        ("f16", &["--attention", "split"][..], "vector: q.K, p.V"),
    ] {
        let mut argv = vec!["--past", "8", "--tokens", "1", "--kv-type", kv];
        argv.extend_from_slice(args);
        let v = run_json(&argv);
        assert_eq!(v["attention_units"], units, "{kv} {args:?}");
    }
}

#[test]
fn past_and_logits_all_are_checked_against_the_context() {
    for (args, msg) in [
        (
            &["--past", "63", "--tokens", "2", "--context", "64"][..],
            "--past 63 + --tokens 2 exceeds --context 64",
        ),
        (
            &["--past", "8", "--tokens", "0"][..],
            "at least one decode token",
        ),
        (&["--past", "8", "--prompt", "3"][..], "cannot be used with"),
        (
            &["--kv-type", "q8_0", "--attention", "split"][..],
            "needs fused attention",
        ),
        (&["--kv-type", "q4_0"][..], "is not a KV cache type"),
        (&["--logits-all"][..], "--logits <FILE>"),
    ] {
        let mut argv = vec!["run"];
        argv.extend_from_slice(args);
        let o = emulate(&argv);
        assert!(!o.status.success(), "{args:?} was accepted");
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(e.contains(msg), "{args:?}: {e}");
    }
}

/// The entry of node `name` in a `kernel --node --json` report.
fn kernel_of<'a>(v: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    v["kernels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["node"] == name)
        .unwrap_or_else(|| panic!("no node {name}"))
}

#[test]
fn vector_ops_bound_the_element_wise_kernels() {
    // doc/kernels.md counts the vector lane operations per element, the element-wise ops'
    // loads and stores included (one per operand element, one per result): swiglu 26 (two
    // loads, exp 15, add, reciprocal 5, two multiplies, the store), rms_norm 7, add 4, rope
    // 5 per rotated element plus its cos/sin table's 81 per token and rotated pair, cpy 3,
    // get_rows of a Q4_K row 6, and per attention (query, key) pair 2 x head_dim
    // multiply-adds plus an online softmax step of 20 (exp 15 and 5) (on the vector unit). On
    // innerjib7ea's 4 lanes these exceed the FLOP and byte terms, so each bound is
    // elements x ops / 4 cycles at 75 MHz. TinyLlama: hidden 2048, ffn 5632, 32 heads of 64
    // (all dimensions rotated), 4 KV heads; decoding at position 3 sees 4 keys.
    let v = layer0_kernels_at_position_3();
    let bound_cycles = |node: &str| f(kernel_of(&v, node), "bound_seconds") * 75e6;
    for (node, want) in [
        ("blk.0.ffn_swiglu", 5632.0 * 26.0 / 4.0),
        ("blk.0.attn_norm", 2048.0 * 7.0 / 4.0),
        ("blk.0.attn_residual", 2048.0 * 4.0 / 4.0),
        ("blk.0.rope_q", (64.0 * 32.0 * 5.0 + 32.0 * 81.0) / 4.0),
        ("blk.0.rope_k", (64.0 * 4.0 * 5.0 + 32.0 * 81.0) / 4.0),
        ("blk.0.k_store", 256.0 * 3.0 / 4.0),
        // On the matrix unit (the default): the products' 2 x 64 MACs per pair at its 8 F16
        // MACs per cycle, then the softmax step's 20 lane operations at 4 lanes.
        ("blk.0.attn", 32.0 * 4.0 * (2.0 * 64.0 / 8.0 + 20.0 / 4.0)),
    ] {
        let got = bound_cycles(node);
        assert!(
            (got - want).abs() < 1e-6 * want,
            "{node}: {got} cycles, want {want}"
        );
    }
    // Without the matrix unit attention is all lane operations: 2 x 64 + 20 per pair.
    let rvv = emulate_json(&[
        "kernel",
        "--node",
        "blk.0.attn",
        "--manifest",
        "tinyllama-1.1b-q4_0",
        "--context",
        "64",
        "--past",
        "3",
        "--no-matrix-unit",
        "--json",
    ]);
    let attn = kernel_of(&rvv, "blk.0.attn");
    assert_eq!(attn["program"], "k_attention.elf");
    let want = 32.0 * 4.0 * (2.0 * 64.0 + 20.0) / 4.0;
    let got = f(attn, "bound_seconds") * 75e6;
    assert!((got - want).abs() < 1e-6 * want, "RVV attention: {got}");
    assert_eq!(
        kernel_of(&v, "blk.0.attn")["program"],
        "k_attention_xpop.elf"
    );
}
