//! The DDR3 model against LiteDRAM, the card's own memory controller, on the same request
//! traces (testbench/litedram: the traces are what `emulate membench ARGS` issues;
//! reference.py replayed them through LiteDRAM's controller RTL in migen's simulator, at the
//! versions it names, and recorded its figures in reference.json).
//!
//! Held here: seven traces on the boards' own settings (open page, LiteDRAM's read/write
//! phases, no `--set`), on both boards. A bandwidth is within 10% of LiteDRAM's, except the
//! traces in `KNOWN_GAPS`: LiteDRAM serves one native port strictly in order (its crossbar
//! lets a port's commands into a second bank only once the first bank has issued all of
//! them, and each bank machine serves its 8-deep cmd_buffer in order, writes in line with
//! reads), and it turns the bus from reads to writes only after the PHY's whole read
//! latency; the model reorders across banks, posts writes, and turns around at JEDEC's
//! minimum, so on random and mixed traffic it is 1.3 to 4.6 times faster.
//! doc/validation.md ("LiteDRAM (the card's controller)") has the figures and the causes.
//! Each gap is held to 5% either side of the ratio measured when reference.json was
//! written, so that it cannot move unnoticed either way (a model change that closes one
//! updates its band here and the doc).
//! This reads only the committed JSON and runs `emulate`: it needs nothing external.

use crate::support::emulate_json;

/// Traces whose ratio (emulate / LiteDRAM bytes per second) is a known gap, with the
/// accepted range: 5% either side of the ratio measured when reference.json was written
/// (doc/validation.md explains each).
const KNOWN_GAPS: &[(&str, f64, f64)] = &[
    // Writes in order with reads in one bank: LiteDRAM turns the bus around every two reads,
    // 14 system clocks read to write (RTW waits read_latency - 1) and 8 back (tWTR + WL +
    // tCCD); the model posts writes and serves them in phases (measured 3.646, x16 1.613).
    ("x64/mix-2:1", 3.46, 3.83),
    ("x16/mix-2:1", 1.53, 1.69),
    // The same turnarounds, and one bank at a time per port: LiteDRAM's crossbar admits a
    // command to another bank only once the previous bank has issued all of the port's
    // (measured 4.600, x16 1.856).
    ("x64/stream-add-diff-banks", 4.37, 4.83),
    ("x16/stream-add-diff-banks", 1.76, 1.95),
    // And a row closed and opened for every request (measured 4.478, x16 1.723).
    ("x64/stream-add-same-bank", 4.25, 4.70),
    ("x16/stream-add-same-bank", 1.64, 1.81),
    // One bank at a time: 8 to 10 system clocks a random request; the model opens the next
    // banks while one reads (measured 4.051, x16 1.861).
    ("x64/random-read", 3.85, 4.25),
    ("x16/random-read", 1.77, 1.95),
    // Idle latency: LiteDRAM's crossbar, lookahead FIFO, cmd_buffer and bank FSM before the
    // ACT, and read_latency + 1 after the RD (measured 1.433, x16 1.304: 323 ns against 225,
    // 403 against 309).
    ("x64/random-read-W1", 1.36, 1.50),
    ("x16/random-read-W1", 1.24, 1.37),
];

fn reference() -> serde_json::Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testbench/litedram/reference.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn membench(args: &[String]) -> serde_json::Value {
    let mut argv: Vec<&str> = vec!["membench"];
    argv.extend(args.iter().map(String::as_str));
    argv.push("--json");
    emulate_json(&argv)
}

fn args(t: &serde_json::Value) -> Vec<String> {
    t["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn bandwidth_against_litedram_is_within_ten_percent_or_a_known_gap() {
    let r = reference();
    let mut checked = 0;
    let mut failures = Vec::new();
    for t in r["traces"].as_array().unwrap() {
        let name = t["name"].as_str().unwrap();
        let a = args(t);
        assert!(
            !a.iter().any(|x| x == "--set"),
            "{name}: the boards' own settings"
        );
        let ours = membench(&a)["bytes_per_s"].as_f64().unwrap();
        let reference = t["litedram_bytes_per_s"].as_f64().unwrap();
        let ratio = ours / reference;
        let ok = match KNOWN_GAPS.iter().find(|(n, _, _)| *n == name) {
            Some(&(_, lo, hi)) => ratio >= lo && ratio <= hi,
            None => (ratio - 1.0).abs() <= 0.10,
        };
        if !ok {
            failures.push(format!(
                "{name}: emulate {:.3} GB/s, LiteDRAM {:.3} GB/s, ratio {ratio:.3}",
                ours / 1e9,
                reference / 1e9
            ));
        }
        checked += 1;
    }
    assert_eq!(checked, 14, "seven traces on each board");
    for (gap, _, _) in KNOWN_GAPS {
        assert!(
            r["traces"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t["name"] == *gap),
            "known gap {gap} is not a trace of reference.json"
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The reference itself converged: the second half of each trace ran at the whole trace's
/// bandwidth (within 5%), so the short traces the simulator affords are long enough.
#[test]
fn litedram_figures_have_converged() {
    let r = reference();
    for t in r["traces"].as_array().unwrap() {
        let name = t["name"].as_str().unwrap();
        let whole = t["litedram_bytes_per_s"].as_f64().unwrap();
        let second = t["litedram_bytes_per_s_second_half"].as_f64().unwrap();
        assert!(
            (second / whole - 1.0).abs() <= 0.05,
            "{name}: second half {second:.4e} B/s, whole {whole:.4e} B/s"
        );
    }
}
