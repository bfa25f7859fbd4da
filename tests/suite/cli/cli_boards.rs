//! The `emulate boards` command and the board loader's error reporting, run as a user would.

use crate::support::emulate;
use std::path::PathBuf;
use std::process::Output;

fn show_json(args: &[&str]) -> serde_json::Value {
    let mut a = vec!["boards", "show"];
    a.extend_from_slice(args);
    a.push("--json");
    let out = emulate(&a);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("valid JSON")
}

fn stderr_of_failure(out: &Output) -> String {
    assert!(!out.status.success(), "expected a non-zero exit");
    assert_eq!(out.status.code(), Some(1));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn lists_both_boards() {
    let out = emulate(&["boards"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let names: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(names, ["innerjib7ea", "innerjib7ea-x16"]);
}

#[test]
fn innerjib7ea_derived_figures() {
    let j = show_json(&["innerjib7ea"]);
    // 64 bits x 300 MT/s.
    assert_eq!(j["ddr_peak_bytes_per_s"].as_f64().unwrap(), 2.4e9);
    // 4 lanes x 1.25 Gbps x 8/10 / 8 bits.
    assert_eq!(j["intercard_payload_bytes_per_s"].as_f64().unwrap(), 5.0e8);
    // 125 MB/s x 1472/1538 x 0.84.
    let host = j["host_link_bytes_per_s"].as_f64().unwrap();
    assert!((8e7..=1.25e8).contains(&host), "{host}");
    let closed = 125e6 * 1472.0 / 1538.0 * 0.84;
    assert!((host - closed).abs() < 1.0, "{host} vs {closed}");
    let refresh = j["derived"]["refresh_overhead"].as_f64().unwrap();
    assert!((refresh - 260.0 / 7800.0).abs() < 1e-12);
    assert_eq!(j["board"]["memory"]["capacity"], "4 GiB");
}

#[test]
fn x16_variant_and_64b66b_override() {
    let j = show_json(&["innerjib7ea-x16"]);
    assert_eq!(j["ddr_peak_bytes_per_s"].as_f64().unwrap(), 6.0e8);
    let j = show_json(&["innerjib7ea", "--set", "intercard.encoding=64b66b"]);
    let link = j["intercard_payload_bytes_per_s"].as_f64().unwrap();
    assert!((link - 5e9 * 64.0 / 66.0 / 8.0).abs() < 1.0, "{link}");
    assert!((link - 6.06e8).abs() < 1e6);
    // Goodput is payload less the framing (512 payload bytes per 520).
    let good = j["derived"]["intercard_goodput_bytes_per_s"]
        .as_f64()
        .unwrap();
    assert!((good - link * 512.0 / 520.0).abs() < 1.0);
}

#[test]
fn board_by_path_and_default() {
    let by_path = show_json(&["boards/innerjib7ea-x16.yaml"]);
    assert_eq!(by_path["board"]["name"], "innerjib7ea-x16");
    let out = emulate(&["--board", "innerjib7ea-x16", "boards", "show", "--json"]);
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["board"]["name"], "innerjib7ea-x16");
}

/// Writes a copy of innerjib7ea.yaml with one line replaced and returns its path.
fn broken_board(tag: &str, from: &str, to: &str) -> (tempfile::TempDir, PathBuf) {
    let text = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("boards/innerjib7ea.yaml"),
    )
    .unwrap();
    assert!(
        text.contains(from),
        "fixture line `{from}` not in the board"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("{tag}.yaml"));
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
    (dir, path)
}

fn line_number_of(path: &PathBuf, needle: &str) -> usize {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .position(|l| l.trim_start().starts_with(needle))
        .expect("needle in file")
        + 1
}

fn assert_bad_file(from: &str, to: &str, key: &str, words: &[&str]) {
    let (_dir, path) = broken_board("bad", from, to);
    let p = path.to_str().unwrap();
    let err = stderr_of_failure(&emulate(&["boards", "show", p]));
    let line = line_number_of(&path, &format!("{}:", to.trim().split(':').next().unwrap()));
    assert!(
        err.contains(&format!("{p}:{line}:")),
        "no file:line in: {err}"
    );
    assert!(
        err.contains(&format!("`{key}`")),
        "no key `{key}` in: {err}"
    );
    for w in words {
        assert!(err.contains(w), "no `{w}` in: {err}");
    }
}

#[test]
fn wrong_unit_kind_names_file_line_key() {
    assert_bad_file(
        "  data_rate: 300 MT/s",
        "  data_rate: 300 MHz",
        "memory.data_rate",
        &["frequency", "transfer rate"],
    );
}

#[test]
fn unknown_key_is_refused() {
    assert_bad_file(
        "    tWTR: 7.5 ns",
        "    tWTRX: 7.5 ns",
        "memory.timing.tWTRX",
        &["unknown field"],
    );
}

#[test]
fn missing_key_is_refused() {
    let (_dir, path) = broken_board("missing", "    tRTP: 7.5 ns", "");
    let err = stderr_of_failure(&emulate(&["boards", "show", path.to_str().unwrap()]));
    assert!(err.contains("`memory.timing.tRTP`"), "{err}");
    assert!(err.contains("missing field"), "{err}");
    let line = line_number_of(&path, "timing:");
    assert!(err.contains(&format!(":{line}:")), "{err}");
}

#[test]
fn zero_and_negative_bandwidth_are_refused() {
    assert_bad_file(
        "  lane_rate: 1.25 Gbps",
        "  lane_rate: 0 Gbps",
        "intercard.lane_rate",
        &["greater than zero"],
    );
    assert_bad_file(
        "  line_rate: 1 Gbps",
        "  line_rate: -1 Gbps",
        "host_link.line_rate",
        &["negative"],
    );
}

#[test]
fn jedec_contradictions_are_refused() {
    assert_bad_file(
        "    tRC: 48.75 ns",
        "    tRC: 40 ns",
        "memory.timing.tRC",
        &["tRAS + tRP"],
    );
    assert_bad_file(
        "    tFAW: 30 ns",
        "    tFAW: 20 ns",
        "memory.timing.tFAW",
        &["4 x tRRD"],
    );
    assert_bad_file(
        "  dram_clock: 150 MHz",
        "  dram_clock: 200 MHz",
        "memory.dram_clock",
        &["two transfers per clock"],
    );
}

#[test]
fn malformed_yaml_names_the_line() {
    let (_dir, path) = broken_board("malformed", "  banks: 8", "  banks: [8");
    let err = stderr_of_failure(&emulate(&["boards", "show", path.to_str().unwrap()]));
    assert!(err.contains(path.to_str().unwrap()), "{err}");
    assert!(err.contains(":"), "{err}");
}

#[test]
fn set_overrides_are_validated_like_the_file() {
    let err = stderr_of_failure(&emulate(&[
        "boards",
        "show",
        "--set",
        "memory.capacity=3 MHz",
    ]));
    assert!(err.contains("`memory.capacity`"), "{err}");
    assert!(err.contains("frequency"), "{err}");
    let err = stderr_of_failure(&emulate(&[
        "boards",
        "show",
        "--set",
        "memory.capcity=2 GiB",
    ]));
    assert!(err.contains("unknown key `capcity`"), "{err}");
    let err = stderr_of_failure(&emulate(&[
        "boards",
        "show",
        "--set",
        "memory.timing.tRC=40 ns",
    ]));
    assert!(err.contains("innerjib7ea.yaml:"), "{err}");
    assert!(err.contains("`memory.timing.tRC`"), "{err}");
    let ok = show_json(&["--set", "memory.capacity=2 GiB"]);
    assert_eq!(ok["board"]["memory"]["capacity"], "2 GiB");
    // LiteDRAM's phases: both or neither, and only with open pages.
    let err = stderr_of_failure(&emulate(&[
        "boards",
        "show",
        "--set",
        "memory.controller.read_time=32 cycles",
    ]));
    assert!(err.contains("`memory.controller.read_time`"), "{err}");
    assert!(err.contains("write_time"), "{err}");
    let err = stderr_of_failure(&emulate(&[
        "boards",
        "show",
        "--set",
        "memory.controller.read_time=32 cycles",
        "--set",
        "memory.controller.write_time=16 cycles",
        "--set",
        "memory.controller.page_policy=closed",
    ]));
    assert!(err.contains("page_policy: open"), "{err}");
    let err = stderr_of_failure(&emulate(&[
        "boards",
        "show",
        "--set",
        "memory.controller.read_to_write=100000 cycles",
    ]));
    assert!(err.contains("`memory.controller.read_to_write`"), "{err}");
}

#[test]
fn unknown_board_name_lists_known_boards() {
    let err = stderr_of_failure(&emulate(&["boards", "show", "nosuchboard"]));
    assert!(
        err.contains("nosuchboard") && err.contains("innerjib7ea"),
        "{err}"
    );
}
