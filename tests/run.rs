//! The main job end to end: TinyLlama through the kernel programs on the emulated card.
//! Small runs (1 prompt token, 2 decode tokens) keep the test time low; every figure checked
//! here is a closed form or an identity, not a wall time.

use std::process::{Command, Output};

fn emulate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_emulate"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run emulate")
}

fn run_json(extra: &[&str]) -> serde_json::Value {
    let mut a = vec![
        "--manifest",
        "tinyllama-1.1b-q4_0",
        "--prompt",
        "1",
        "--tokens",
        "2",
        "--context",
        "64",
        "--json",
    ];
    a.extend_from_slice(extra);
    let out = emulate(&a);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON report")
}

fn f(v: &serde_json::Value, path: &str) -> f64 {
    let mut x = v;
    for p in path.split('.') {
        x = &x[p];
    }
    x.as_f64().unwrap_or_else(|| panic!("no number at {path}"))
}

#[test]
fn resident_run_reports_against_its_bound_and_reuse_is_exact() {
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
    // Reusing identical invocations gives the same cycles as running every kernel.
    let exact = run_json(&["--exact"]);
    assert_eq!(f(&exact, "decode.ms_per_token"), ms);
    assert_eq!(f(&exact, "ttft_ms"), f(&reuse, "ttft_ms"));
    assert_eq!(f(&exact, "decode.steps.1.reused"), 0.0);
    assert!(f(&reuse, "decode.steps.1.reused") > 0.0);
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
