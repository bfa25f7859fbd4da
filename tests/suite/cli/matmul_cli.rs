//! `emulate matmul`: the figures it prints agree with the timing model's closed forms and
//! the roofline, and bad input is refused with a message and a non-zero exit.

use crate::support::emulate;

fn json(args: &[&str]) -> serde_json::Value {
    let out = emulate(args);
    assert!(
        out.status.success(),
        "emulate {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn decode_shape_with_port_speed_memory_is_the_closed_form() {
    let j = json(&[
        "matmul", "--type", "q4_K", "--m", "1", "--n", "5632", "--k", "2048", "--memory", "port",
        "--json",
    ]);
    assert_eq!(
        j["tile"],
        serde_json::json!({"tm": 1, "tn": 14, "tk": 2048})
    );
    // The port streams without a gap (src/matmul/timing.rs, memory_bound_decode_...):
    // descriptor 2, B 73, 402 full tiles of 504 cycles with 400 two-cycle writes between
    // them; then tile 401's 224 K steps and the last tile's fill, 64 K steps, drain, write.
    let expect = 2 + 73 + 402 * 504 + 400 * 2 + 224 + 6 + 64 + 42 + 1;
    assert_eq!(j["cycles"], expect);
    let secs = j["seconds"].as_f64().unwrap();
    assert!((secs - expect as f64 / 75e6).abs() < 1e-12);
    // Roofline: compute at 128 MACs per cycle, compulsory bytes at the DDR peak (2.4 GB/s).
    let macs = 5632.0 * 2048.0;
    let compute = macs / 128.0 / 75e6;
    let bytes = 5632.0 * 1152.0 + 2336.0 + 4.0 * 5632.0 + 64.0;
    let memory = bytes / 2.4e9;
    let r = &j["roofline"];
    assert!((r["compute_seconds"].as_f64().unwrap() - compute).abs() < 1e-12);
    assert!((r["memory_seconds"].as_f64().unwrap() - memory).abs() < 1e-12);
    assert_eq!(r["bound"], "memory");
    let ratio = r["emulated_over_bound"].as_f64().unwrap();
    assert!((ratio - secs / memory).abs() < 1e-9);
    assert!((j["utilisation"].as_f64().unwrap() - macs / 128.0 / expect as f64).abs() < 1e-12);
    let c = &j["cycles_by_cause"];
    let sum: u64 = [
        "descriptor",
        "k_steps",
        "fill_drain",
        "operand_stall",
        "result_stall",
    ]
    .iter()
    .map(|k| c[k].as_u64().unwrap())
    .sum();
    assert_eq!(sum, expect);
}

#[test]
fn ddr3_memory_is_slower_than_the_port_but_above_the_floor() {
    let base = [
        "matmul", "--type", "q4_0", "--m", "1", "--n", "2048", "--k", "2048", "--json",
    ];
    let ddr = json(&base);
    let mut port_args = base.to_vec();
    port_args.extend(["--memory", "port"]);
    let port = json(&port_args);
    let (d, p) = (
        ddr["seconds"].as_f64().unwrap(),
        port["seconds"].as_f64().unwrap(),
    );
    assert!(d >= p, "{d} < {p}");
    assert!(d >= ddr["roofline"]["bound_seconds"].as_f64().unwrap());
    // The matrix unit's and the memory's statistics come with the report.
    assert_eq!(
        ddr["stats"]["matmul"]["macs"]["value"].as_f64(),
        Some(2048.0 * 2048.0)
    );
}

#[test]
fn prefill_is_compute_bound() {
    let j = json(&[
        "matmul", "--type", "q4_K", "--m", "64", "--n", "512", "--k", "2048", "--json",
    ]);
    assert_eq!(j["roofline"]["bound"], "compute");
    assert!(j["utilisation"].as_f64().unwrap() > 0.9);
}

#[test]
fn bad_input_is_refused() {
    for (args, needle) in [
        (
            vec![
                "matmul", "--type", "q4_K", "--m", "1", "--n", "8", "--k", "300",
            ],
            "multiple of the q4_K block size",
        ),
        (
            vec![
                "matmul", "--type", "f32", "--m", "1", "--n", "8", "--k", "256",
            ],
            "f16, q4_0, q8_0, q4_K, q6_K or bf16",
        ),
        (
            vec![
                "matmul", "--type", "q5_K", "--m", "1", "--n", "8", "--k", "256",
            ],
            "unknown GGML type",
        ),
        (
            vec![
                "--set",
                "matmul.enabled=false",
                "matmul",
                "--type",
                "q4_K",
                "--m",
                "1",
                "--n",
                "8",
                "--k",
                "256",
            ],
            "no Xpop_matmul unit",
        ),
    ] {
        let out = emulate(&args);
        assert!(!out.status.success(), "{args:?} succeeded");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}
