//! The DDR3 model against DRAMsim3 on the same request traces (testbench/dramsim3: the
//! traces are what `emulate membench ARGS` issues; reference.py replayed them through
//! DRAMsim3 at the commit it names and recorded its figures in reference.json).
//!
//! Held here: every trace, open page (the boards' policy: LiteDRAM keeps rows open) and
//! closed page (every column command with auto-precharge, as DRAMsim3's CLOSE_PAGE), on both
//! boards. Each sustained bandwidth is within 10% of DRAMsim3's, except the traces listed in
//! `KNOWN_GAPS` (none today), which doc/validation.md would explain and which must not get
//! worse. The idle
//! latency (one request in flight) is held on the DRAM side, with the board's own PHY: what
//! membench reports as the DRAM side must be within 10 ns of DRAMsim3's latency. Both run
//! with the request queue as deep as DRAMsim3's transaction queue (`emulate_mirror`).

use crate::support::emulate_json;

/// Traces whose bandwidth ratio to DRAMsim3 is a known gap, with the accepted range (the
/// floor a little under the ratio measured when reference.json was written, so that a gap
/// cannot widen unnoticed). None is left (doc/validation.md tells how each one closed; the
/// last, the x16 closed 2:1 mix, when closed-page writes went from the write buffer straight
/// to their bank's command queue instead of through the request queue). A gap found later
/// goes here with its explanation in the doc.
const KNOWN_GAPS: &[(&str, f64, f64)] = &[];

fn reference() -> serde_json::Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testbench/dramsim3/reference.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect()
}

fn membench(args: &[String], extra: &[String]) -> serde_json::Value {
    let mut argv: Vec<String> = vec!["membench".into()];
    argv.extend(extra.iter().cloned());
    argv.extend(args.iter().cloned());
    argv.push("--json".into());
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    emulate_json(&argv)
}

#[test]
fn bandwidth_is_within_ten_percent_of_dramsim3() {
    let r = reference();
    let mut settings = strings(&r["emulate_dram_side"]);
    settings.extend(strings(&r["emulate_mirror"]));
    let mut checked = 0;
    let mut failures = Vec::new();
    for t in r["traces"].as_array().unwrap() {
        let name = t["name"].as_str().unwrap();
        let v = membench(&strings(&t["args"]), &settings);
        let ours = v["bytes_per_s"].as_f64().unwrap();
        let reference = t["dramsim3_bytes_per_s"].as_f64().unwrap();
        let ratio = ours / reference;
        let ok = match KNOWN_GAPS.iter().find(|(n, _, _)| *n == name) {
            Some(&(_, lo, hi)) => ratio >= lo && ratio <= hi,
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
    assert_eq!(checked, 48, "open and closed page, both boards");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// One request in flight (a dependent read: the next issues when the last is back). The
/// board's PHY stays as it is; membench splits the latency into the PHY's fixed share (13
/// system clocks less CL + BL/2: 16 DRAM clocks, 106.7 ns) and the DRAM side.
#[test]
fn idle_dram_side_latency_is_within_ten_ns_of_dramsim3() {
    let r = reference();
    let mirror = strings(&r["emulate_mirror"]);
    let mut checked = 0;
    let mut failures = Vec::new();
    for t in r["traces"].as_array().unwrap() {
        let name = t["name"].as_str().unwrap();
        if !name.ends_with("window-random-read-W1") {
            continue;
        }
        let v = membench(&strings(&t["args"]), &mirror);
        let phy = v["phy_read_latency_ns"].as_f64().unwrap();
        assert!(
            (phy - 16.0 * 20.0 / 3.0).abs() < 1e-6,
            "{name}: PHY {phy} ns"
        );
        let ours = v["dram_side_read_latency_ns"].as_f64().unwrap();
        let total = v["mean_read_latency_ns"].as_f64().unwrap();
        assert!(
            (ours + phy - total).abs() < 1e-6,
            "{name}: {ours} + {phy} != {total}"
        );
        let reference = t["dramsim3_mean_read_latency_ns"].as_f64().unwrap();
        if (ours - reference).abs() > 10.0 {
            failures.push(format!(
                "{name}: DRAM side {ours:.1} ns (+ PHY {phy:.1} ns), DRAMsim3 {reference:.1} ns"
            ));
        }
        checked += 1;
    }
    assert_eq!(checked, 4, "open and closed page, both boards");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
