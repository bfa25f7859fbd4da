//! `emulate regress` on the command line: bless, pass, a perturbed golden that fails with the
//! table of old, new and change, a tolerance that absorbs the same drift; and the committed
//! suite's golden file covering exactly the figures its cases watch.

use crate::support::{emulate, root};
use sail_emu::regress::{read_goldens, Suite};
use std::path::{Path, PathBuf};
use std::process::Output;

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A small suite of fast cases: the decode FFN tile (doc/xpop-matmul.md) and a pointer chase.
fn write_suite(dir: &Path, tolerance: f64) -> PathBuf {
    let suite = dir.join("suite.toml");
    std::fs::write(
        &suite,
        format!(
            r#"
golden = "golden.json"
[[case]]
name = "ffn-tile"
argv = ["matmul", "--type", "q4_K", "--m", "1", "--n", "5632", "--k", "2048"]
metrics = ["cycles", "bytes.operands"]
tolerance = {tolerance:?}
[[case]]
name = "chase"
argv = ["membench", "--pattern", "chase", "--bytes", "64KiB"]
metrics = ["mean_latency_ns"]
"#
        ),
    )
    .unwrap();
    suite
}

#[test]
fn bless_then_pass_then_a_perturbed_golden_fails_with_the_table() {
    let dir = tempfile::tempdir().unwrap();
    let suite = write_suite(dir.path(), 0.0);
    let s = suite.to_str().unwrap();
    let golden = dir.path().join("golden.json");

    // No golden yet: every figure fails and says so.
    let o = emulate(&["regress", "--suite", s]);
    assert!(!o.status.success());
    assert!(text(&o).contains("NO GOLDEN"), "{}", text(&o));

    let o = emulate(&["regress", "--suite", s, "--bless"]);
    assert!(o.status.success(), "{}", text(&o));
    // The blessed figure is whatever the run printed (its value is checked against closed
    // forms by the matmul tests and pinned by the committed goldens, not here).
    let g = read_goldens(&golden).unwrap();
    let cycles = g["ffn-tile"]["cycles"];
    assert!(cycles > 0.0 && cycles.fract() == 0.0, "cycles {cycles}");

    let o = emulate(&["regress", "--suite", s]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("3 figures of 2 cases match"),
        "{}",
        text(&o)
    );

    // One cycle more in the golden file: the run must fail and show old, new and change.
    let mut doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&golden).unwrap()).unwrap();
    let figure = doc
        .pointer_mut("/ffn-tile/cycles")
        .unwrap_or_else(|| panic!("no ffn-tile cycles in {}", golden.display()));
    *figure = serde_json::json!(cycles + 1.0);
    std::fs::write(&golden, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    let o = emulate(&["regress", "--suite", s]);
    assert!(!o.status.success());
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let header = out.lines().next().unwrap_or("");
    for col in ["case", "metric", "golden", "now", "change"] {
        assert!(header.contains(col), "header `{header}`");
    }
    let row = out
        .lines()
        .find(|l| l.starts_with("ffn-tile") && l.contains(" cycles "))
        .unwrap_or_else(|| panic!("no row for the drifted figure:\n{out}"));
    let cols: Vec<&str> = row.split_whitespace().collect();
    let (old, new) = (format!("{}", cycles + 1.0), format!("{cycles}"));
    assert_eq!(
        cols[..4],
        ["ffn-tile", "cycles", old.as_str(), new.as_str()]
    );
    assert!(
        cols[4].starts_with('-') && cols[4].ends_with('%'),
        "change {}",
        cols[4]
    );
    assert!(row.contains("DRIFT"), "{row}");
    // Only the drifted figure is listed, then the build that measured it, and the error says
    // how to accept the change.
    assert_eq!(out.lines().count(), 3, "{out}");
    assert!(
        out.lines()
            .nth(2)
            .is_some_and(|l| l.starts_with("measured by emulate") && l.contains("build ")),
        "{out}"
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("1 of 3 figures differ") && err.contains("--bless"),
        "{err}"
    );

    // --all lists every figure, passing ones as ok.
    let o = emulate(&["regress", "--suite", s, "--all"]);
    assert!(!o.status.success());
    assert_eq!(String::from_utf8_lossy(&o.stdout).matches(" ok").count(), 2);

    // --json and --out: every comparison with the provenance of the build that measured it.
    let folder = dir.path().join("folder");
    let o = emulate(&[
        "regress",
        "--suite",
        s,
        "--json",
        "--out",
        folder.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON on stdout");
    assert_eq!(
        (j["passed"].as_u64(), j["failed"].as_u64()),
        (Some(2), Some(1))
    );
    let drifted: Vec<&serde_json::Value> = j["figures"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["passes"] == false)
        .collect();
    assert_eq!(drifted.len(), 1);
    assert_eq!(drifted[0]["metric"], "cycles");
    assert_eq!(drifted[0]["golden"].as_f64(), Some(cycles + 1.0));
    assert_eq!(drifted[0]["now"].as_f64(), Some(cycles));
    let p = &j["provenance"];
    assert!(p["build"].as_str().is_some_and(|b| !b.is_empty()), "{p}");
    assert!(p["command_line"].to_string().contains("regress"), "{p}");
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(folder.join("report.json")).unwrap())
            .unwrap();
    assert_eq!(saved, j);
    assert!(folder.join("command.txt").is_file() && folder.join("stats.csv").is_file());
}

#[test]
fn a_tolerance_absorbs_a_drift_within_it() {
    let dir = tempfile::tempdir().unwrap();
    let suite = write_suite(dir.path(), 1e-3);
    let s = suite.to_str().unwrap();
    let golden = dir.path().join("golden.json");
    assert!(emulate(&["regress", "--suite", s, "--bless"])
        .status
        .success());
    // The golden cycles moved by 0.06%: inside 0.1%; by 0.2%: not.
    let set_cycles = |scale: f64| {
        let mut doc: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&golden).unwrap()).unwrap();
        let figure = doc.pointer_mut("/ffn-tile/cycles").unwrap();
        let blessed = figure.as_f64().unwrap();
        *figure = serde_json::json!(blessed * scale);
        std::fs::write(&golden, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    };
    set_cycles(1.0006);
    let o = emulate(&["regress", "--suite", s]);
    assert!(o.status.success(), "{}", text(&o));
    set_cycles(1.002 / 1.0006);
    let o = emulate(&["regress", "--suite", s]);
    assert!(!o.status.success());
    assert!(text(&o).contains("DRIFT (tolerance 0.001)"), "{}", text(&o));
}

#[test]
fn the_committed_golden_file_covers_exactly_the_watched_figures() {
    let suite = Suite::load(&root().join("testbench/regress.toml")).unwrap();
    let goldens = read_goldens(&suite.golden).unwrap();
    let mut watched = Vec::new();
    for c in &suite.cases {
        for m in &c.metrics {
            assert!(
                goldens.get(&c.name).and_then(|g| g.get(m)).is_some(),
                "case `{}` metric `{m}` has no golden: run `emulate regress --bless`",
                c.name
            );
            watched.push((c.name.clone(), m.clone()));
        }
    }
    let stored: usize = goldens.values().map(|g| g.len()).sum();
    assert_eq!(stored, watched.len(), "the golden file holds stale figures");
    // The suite covers every kind of figure the issue asks for.
    for prefix in ["kernel-", "matmul-", "membench-", "collective-", "run-"] {
        assert!(
            suite.cases.iter().any(|c| c.name.starts_with(prefix)),
            "no `{prefix}` case"
        );
    }
}
