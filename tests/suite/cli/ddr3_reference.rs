//! The DDR3 model against DRAMsim3 on the same request traces (testbench/dramsim3: the
//! traces are what `emulate membench ARGS` issues; reference.py replayed them through
//! DRAMsim3 at the commit it names and recorded its figures in reference.json).
//!
//! Held here: the open-page traces, which is the boards' policy (LiteDRAM keeps rows open).
//! Each sustained bandwidth is within 10% of DRAMsim3's, except the traces listed in
//! `KNOWN_GAPS`, which doc/validation.md explains and which must not get worse. Closed-page
//! traces are not held: DRAMsim3's CLOSE_PAGE precharges after every column command, while
//! the model's closed policy keeps a row open for the queued hits of the same row.

use crate::support::emulate_json;

/// Traces whose bandwidth ratio to DRAMsim3 is a known gap, with the lowest ratio accepted.
const KNOWN_GAPS: &[(&str, f64)] = &[
    // Three streams in one bank: the model reopens the row for each stream's request more
    // often than DRAMsim3's row-hit-first queue does.
    ("x64/open/stream-add-same-bank", 0.58),
];

#[test]
fn open_page_bandwidth_is_within_ten_percent_of_dramsim3() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testbench/dramsim3/reference.json"
    );
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let dram_side: Vec<String> = r["emulate_dram_side"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect();
    let mut checked = 0;
    let mut failures = Vec::new();
    for t in r["traces"].as_array().unwrap() {
        let name = t["name"].as_str().unwrap();
        if !name.contains("/open/") {
            continue;
        }
        let mut argv: Vec<String> = vec!["membench".into()];
        argv.extend(dram_side.iter().cloned());
        argv.extend(
            t["args"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_str().unwrap().to_string()),
        );
        argv.push("--json".into());
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        let v = emulate_json(&argv);
        let ours = v["bytes_per_s"].as_f64().unwrap();
        let reference = t["dramsim3_bytes_per_s"].as_f64().unwrap();
        let ratio = ours / reference;
        let ok = match KNOWN_GAPS.iter().find(|(n, _)| *n == name) {
            Some(&(_, floor)) => ratio >= floor && ratio <= 1.10,
            None => (ratio - 1.0).abs() <= 0.10,
        };
        if !ok {
            failures.push(format!(
                "{name}: emulate {:.3} GB/s, DRAMsim3 {:.3} GB/s, ratio {ratio:.3}",
                ours / 1e9,
                reference / 1e9
            ));
        }
        checked += 1;
    }
    assert_eq!(checked, 24, "the open-page traces of both boards");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
