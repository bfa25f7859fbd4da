//! Sweeps: resume, error isolation, key stability, shard + merge equivalence, and
//! the command line, on fast `boards show` points.

use crate::support::{emulate, emulate_in};
use sail_emu::sweep::{self, key::KeyContext, results, spec::SweepSpec, Selection, SweepOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

const SPEC: &str = r#"
command = ["boards", "show"]
[axes]
board = ["innerjib7ea", "innerjib7ea-x16"]
"set:intercard.encoding" = ["8b10b", "64b66b"]
"set:memory.capacity" = ["256 MiB", "512 MiB", "3 MHz"]
[[plots]]
file = "link"
x = "set:memory.capacity"
y = "intercard_payload_bytes_per_s"
series = "set:intercard.encoding"
"#;

fn ctx() -> KeyContext {
    KeyContext::new()
}

fn opts(out: &Path, selection: Selection, resume: bool) -> SweepOptions {
    SweepOptions {
        jobs: 2,
        out: out.to_path_buf(),
        resume,
        selection,
        progress: false,
    }
}

/// The parts of a record that must not depend on how the sweep was split (not host time).
type Comparable = (
    String,
    usize,
    bool,
    Option<serde_json::Value>,
    Option<String>,
);

fn comparable(rs: &[results::Record]) -> Vec<Comparable> {
    rs.iter()
        .map(|r| {
            (
                r.key.clone(),
                r.index,
                r.ok,
                r.result.clone(),
                r.error.clone(),
            )
        })
        .collect()
}

#[test]
fn failing_points_are_recorded_and_the_sweep_goes_on() {
    let spec = SweepSpec::parse(SPEC).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let o = sweep::run(
        &spec,
        &opts(dir.path(), Selection::All, false),
        &ctx(),
        &sail_emu::cli::run_json,
    )
    .unwrap();
    assert_eq!((o.grid, o.ran, o.failed), (12, 12, 4));
    let rs = results::read_records(&dir.path().join("results.jsonl")).unwrap();
    assert_eq!(rs.len(), 12);
    for r in &rs {
        let bad = r.axes.iter().any(|(_, v)| v == "3 MHz");
        assert_eq!(r.ok, !bad);
        if bad {
            assert!(
                r.error.as_ref().unwrap().contains("memory.capacity"),
                "{:?}",
                r.error
            );
        } else {
            let want = if r.axes[1].1 == "64b66b" {
                5e9 * 64.0 / 66.0 / 8.0
            } else {
                5e8
            };
            let got = r.number("intercard_payload_bytes_per_s").unwrap();
            assert!((got - want).abs() < 1e-3, "{got} vs {want}");
        }
    }
    let csv = std::fs::read_to_string(dir.path().join("summary.csv")).unwrap();
    assert_eq!(csv.lines().count(), 13);
    // One resolved config per loadable point sits next to the results.
    let configs = std::fs::read_dir(dir.path().join("configs"))
        .unwrap()
        .count();
    assert_eq!(configs, 8);
}

#[test]
fn a_panicking_point_is_isolated() {
    let spec = SweepSpec::parse(SPEC).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let runner = |argv: &[String]| -> anyhow::Result<serde_json::Value> {
        if argv.iter().any(|a| a.contains("512 MiB")) {
            panic!("boom");
        }
        Ok(serde_json::json!({"x": 1}))
    };
    let o = sweep::run(
        &spec,
        &opts(dir.path(), Selection::All, false),
        &ctx(),
        &runner,
    )
    .unwrap();
    assert_eq!(o.failed, 4);
    let rs = results::read_records(&dir.path().join("results.jsonl")).unwrap();
    assert!(rs
        .iter()
        .filter(|r| !r.ok)
        .all(|r| r.error.as_ref().unwrap().contains("boom")));
}

#[test]
fn resume_skips_done_points_and_survives_a_cut_line() {
    let spec = SweepSpec::parse(SPEC).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let calls = AtomicUsize::new(0);
    let runner = |_: &[String]| -> anyhow::Result<serde_json::Value> {
        calls.fetch_add(1, Ordering::SeqCst);
        Ok(serde_json::json!({"v": 2}))
    };
    // First run: only shard 0/3 (4 points).
    sweep::run(
        &spec,
        &opts(dir.path(), Selection::Shard { k: 0, n: 3 }, false),
        &ctx(),
        &runner,
    )
    .unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 4);
    // Simulate an interruption in the middle of writing a line.
    let path = dir.path().join("results.jsonl");
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("{\"key\":\"abc\",\"ind");
    std::fs::write(&path, text).unwrap();
    // Without --resume the sweep refuses to mix runs.
    assert!(sweep::run(
        &spec,
        &opts(dir.path(), Selection::All, false),
        &ctx(),
        &runner
    )
    .is_err());
    let o = sweep::run(
        &spec,
        &opts(dir.path(), Selection::All, true),
        &ctx(),
        &runner,
    )
    .unwrap();
    assert_eq!((o.skipped, o.ran), (4, 8));
    assert_eq!(calls.load(Ordering::SeqCst), 12);
    let rs = results::read_records(&path).unwrap();
    assert_eq!(rs.len(), 12);
    // A second resume runs nothing.
    let o = sweep::run(
        &spec,
        &opts(dir.path(), Selection::All, true),
        &ctx(),
        &runner,
    )
    .unwrap();
    assert_eq!((o.skipped, o.ran), (12, 0));
}

#[test]
fn sharded_then_merged_equals_a_single_run() {
    let spec = SweepSpec::parse(SPEC).unwrap();
    let single = tempfile::tempdir().unwrap();
    sweep::run(
        &spec,
        &opts(single.path(), Selection::All, false),
        &ctx(),
        &sail_emu::cli::run_json,
    )
    .unwrap();
    let mut sets = Vec::new();
    let shards: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    for (k, d) in shards.iter().enumerate() {
        sweep::run(
            &spec,
            &opts(d.path(), Selection::Shard { k, n: 3 }, false),
            &ctx(),
            &sail_emu::cli::run_json,
        )
        .unwrap();
        sets.push(results::read_records(&d.path().join("results.jsonl")).unwrap());
    }
    let merged = results::merge(sets);
    let one =
        results::merge([results::read_records(&single.path().join("results.jsonl")).unwrap()]);
    assert_eq!(comparable(&merged), comparable(&one));
    assert_eq!(results::summary_csv(&merged), results::summary_csv(&one));
}

#[test]
fn keys_are_stable_across_expansions_and_axis_order() {
    let a = sweep::plan(&SweepSpec::parse(SPEC).unwrap(), &ctx());
    let b = sweep::plan(&SweepSpec::parse(SPEC).unwrap(), &ctx());
    assert_eq!(a, b);
    let mut keys: Vec<&String> = a.iter().map(|(_, k)| k).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 12, "every point has its own key");
    let reordered = SPEC.replace(
        "board = [\"innerjib7ea\", \"innerjib7ea-x16\"]\n\"set:intercard.encoding\" = [\"8b10b\", \"64b66b\"]",
        "\"set:intercard.encoding\" = [\"8b10b\", \"64b66b\"]\nboard = [\"innerjib7ea\", \"innerjib7ea-x16\"]",
    );
    assert_ne!(reordered, SPEC);
    let mut ka: Vec<String> = a.into_iter().map(|(_, k)| k).collect();
    let mut kb: Vec<String> = sweep::plan(&SweepSpec::parse(&reordered).unwrap(), &ctx())
        .into_iter()
        .map(|(_, k)| k)
        .collect();
    ka.sort();
    kb.sort();
    assert_eq!(ka, kb);
}

#[test]
fn command_line_plan_point_merge_and_plots() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("s.toml");
    std::fs::write(&spec, SPEC).unwrap();
    let s = spec.to_str().unwrap();
    let plan = emulate(&["sweep", s, "--plan"]);
    assert!(plan.status.success());
    assert_eq!(String::from_utf8_lossy(&plan.stdout).lines().count(), 12);
    let a = dir.path().join("a");
    let b = dir.path().join("b");
    // Each shard holds two `3 MHz` error points: they are recorded, and the exit says so.
    let out = emulate(&["sweep", s, "--shard", "0/2", "--out", a.to_str().unwrap()]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("2 of 6 selected points failed"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = emulate(&["sweep", s, "--shard", "1/2", "--out", b.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("2 of 6 selected points failed"));
    let m = dir.path().join("m");
    let out = emulate(&[
        "sweep",
        "merge",
        a.join("results.jsonl").to_str().unwrap(),
        b.join("results.jsonl").to_str().unwrap(),
        "--out",
        m.to_str().unwrap(),
        "--spec",
        s,
    ]);
    // As the shards' own runs, the merge writes everything and exits non-zero naming the
    // failed points.
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("4 of 12 points failed") && err.contains("points 2, 5, 8, 11"),
        "{err}"
    );
    // The two shards hold the grid once; the merge keeps the resolved boards.
    let rs = results::read_records(&m.join("results.jsonl")).unwrap();
    assert_eq!(
        rs.iter().map(|r| r.index).collect::<Vec<_>>(),
        (0..12).collect::<Vec<_>>()
    );
    for r in rs.iter().filter(|r| r.ok) {
        assert!(m.join("configs").join(format!("{}.yaml", r.key)).is_file());
    }
    assert!(m.join("link.svg").is_file());
    let svg = std::fs::read_to_string(m.join("link.svg")).unwrap();
    assert!(svg.contains("64b66b") && svg.contains("8b10b"));
    let bad = emulate(&[
        "sweep",
        s,
        "--point",
        "99",
        "--out",
        dir.path().join("c").to_str().unwrap(),
    ]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("the grid has 12 points"));
}

/// The committed regime sweep spans every regime auto can pick, from capacities where nothing
/// fits to ones where everything does, with all four memory models at each capacity.
#[test]
fn the_regime_sweep_spans_the_regimes() {
    use sail_emu::mem::regime::{plan, MemoryModelChoice, RegimeParams};
    let spec = SweepSpec::load(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testbench/sweeps/regimes.toml"),
    )
    .unwrap();
    let points = spec.points();
    assert!(points.len() >= 24, "{} points", points.len());
    let arg = |name: &str| {
        let i = spec.command.iter().position(|a| a == name)?;
        spec.command.get(i + 1).cloned()
    };
    let m = sail_emu::workload::load_manifest(&arg("--manifest").unwrap()).unwrap();
    // A `--past` run sizes its regions for one-token steps (llm.rs), a prompt run for its
    // prompt.
    let prompt = match (arg("--past"), arg("--prompt")) {
        (Some(_), _) => 1,
        (None, Some(p)) => p.parse().unwrap(),
        (None, None) => 8,
    };
    let rp =
        sail_emu::workload::RegionParams::new(arg("--context").unwrap().parse().unwrap(), prompt);
    let regions = sail_emu::workload::regions(&m, &rp).unwrap();
    let models: Vec<&str> = points
        .iter()
        .filter_map(|p| p.axis("--memory-model"))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(models, ["auto", "kv-swap", "resident", "weight-stream"]);
    let mut picked = Vec::new();
    for p in points
        .iter()
        .filter(|p| p.axis("--memory-model") == Some("auto"))
    {
        let cap = p.axis("set:memory.capacity").unwrap();
        let board = sail_emu::config::load_board(&spec.board, &[format!("memory.capacity={cap}")])
            .unwrap()
            .board;
        let reserved = sail_emu::workload::abi::TENSOR_BASE - board.memory.base;
        let params = RegimeParams::from_board(&board).with_reserved(reserved);
        picked.push(match plan(MemoryModelChoice::Auto, &regions, &params) {
            Ok(p) => p.regime.name().to_string(),
            Err(_) => "none".to_string(),
        });
    }
    // Capacities ascend: nothing fits, then weight-stream, kv-swap, resident, each at least
    // twice except the first.
    let mut runs: Vec<(String, usize)> = Vec::new();
    for r in picked {
        match runs.last_mut() {
            Some((last, n)) if *last == r => *n += 1,
            _ => runs.push((r, 1)),
        }
    }
    let names: Vec<&str> = runs.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(
        names,
        ["none", "weight-stream", "kv-swap", "resident"],
        "{runs:?}"
    );
    assert!(runs[1..].iter().all(|(_, n)| *n >= 2), "{runs:?}");
}

/// The committed card-count sweep: both boards, tp and pp, 1 to 8 cards, one plot per board.
#[test]
fn the_multicard_sweep_covers_strategies_and_card_counts() {
    let spec = SweepSpec::load(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testbench/sweeps/multicard.toml"),
    )
    .unwrap();
    let points = spec.points();
    assert_eq!(points.len(), 16);
    let p = points
        .iter()
        .find(|p| {
            p.axis("board") == Some("innerjib7ea-x16")
                && p.axis("--parallel") == Some("pp")
                && p.axis("--cards") == Some("8")
        })
        .unwrap();
    let argv = p.argv.join(" ");
    assert!(argv.starts_with("--board innerjib7ea-x16 run "), "{argv}");
    assert!(argv.ends_with("--parallel pp --cards 8"), "{argv}");
    let boards: Vec<&str> = spec
        .plots
        .iter()
        .map(|p| p.filter["board"].as_str())
        .collect();
    assert_eq!(boards, ["innerjib7ea", "innerjib7ea-x16"]);
    assert!(spec
        .plots
        .iter()
        .all(|p| p.x == "--cards" && p.series.as_deref() == Some("--parallel")));
}

/// Issue 17: a shard set with one point missing and one point of another spec is refused,
/// naming the points; `--allow-partial` merges the rest with a note.
#[test]
fn merge_refuses_missing_and_foreign_points() {
    let dir = tempfile::tempdir().unwrap();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let spec = dir.path().join("s.toml");
    std::fs::write(&spec, SPEC).unwrap();
    // Another spec: same command, one axis value differs, so its point 2 is foreign.
    let other = dir.path().join("other.toml");
    std::fs::write(&other, SPEC.replace("\"3 MHz\"", "\"1 GiB\"")).unwrap();
    let s = spec.to_str().unwrap();
    let mut shards = Vec::new();
    for i in 0..12 {
        // Point 5 never runs; point 2 comes from the other spec.
        if i == 5 {
            continue;
        }
        let from = if i == 2 { other.to_str().unwrap() } else { s };
        let d = dir.path().join(format!("p{i}"));
        let o = emulate_in(
            &root,
            &[
                "sweep",
                from,
                "--point",
                &i.to_string(),
                "--out",
                d.to_str().unwrap(),
            ],
        );
        // Point 2 of the spec (`3 MHz`) is an error point; of the other spec it succeeds.
        assert!(
            o.status.success() || i % 3 == 2,
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        shards.push(d.to_str().unwrap().to_string());
    }
    let m = dir.path().join("m");
    let mut args = vec!["sweep", "merge"];
    args.extend(shards.iter().map(String::as_str));
    args.extend(["--out", m.to_str().unwrap(), "--spec", s]);
    let out = emulate(&args);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("missing points: 2, 5"), "{err}");
    assert!(err.contains("points of another spec: 2"), "{err}");
    assert!(!m.join("results.jsonl").exists());
    args.push("--allow-partial");
    let out = emulate(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("PARTIAL: 10 of 12"));
    assert!(std::fs::read_to_string(m.join("merge-notes.txt"))
        .unwrap()
        .contains("missing points: 2, 5"));
    assert_eq!(
        results::read_records(&m.join("results.jsonl"))
            .unwrap()
            .len(),
        10
    );
}

/// Issue 16 item 7: a sweep whose selected points fail exits non-zero, keeping the records.
#[test]
fn a_failed_point_is_a_non_zero_exit_with_its_record_kept() {
    let dir = tempfile::tempdir().unwrap();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let spec = dir.path().join("s.toml");
    std::fs::write(&spec, SPEC).unwrap();
    let d = dir.path().join("p2");
    // Point 2 sets memory.capacity to `3 MHz`, which is not a size.
    let out = emulate_in(
        &root,
        &[
            "sweep",
            spec.to_str().unwrap(),
            "--point",
            "2",
            "--out",
            d.to_str().unwrap(),
        ],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 of 1 selected points failed"));
    let rs = results::read_records(&d.join("results.jsonl")).unwrap();
    assert_eq!(rs.len(), 1);
    assert!(!rs[0].ok && rs[0].error.is_some());
    let d = dir.path().join("p3");
    let out = emulate_in(
        &root,
        &[
            "sweep",
            spec.to_str().unwrap(),
            "--point",
            "3",
            "--out",
            d.to_str().unwrap(),
        ],
    );
    assert!(out.status.success());
}

/// Issue 16 item 6: the key hashes the program a `kernel` point runs, and a resume after a
/// change replaces the old record instead of adding one.
#[test]
fn resume_replaces_records_whose_inputs_changed() {
    let dir = tempfile::tempdir().unwrap();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let prog = dir.path().join("prog.elf");
    std::fs::copy(root.join("programs/hello.elf"), &prog).unwrap();
    let spec = dir.path().join("k.toml");
    std::fs::write(
        &spec,
        format!(
            "command = [\"kernel\", {:?}]\n[axes]\n\"--max-cycles\" = [1000000000, 2000000000]\n",
            prog.to_str().unwrap()
        ),
    )
    .unwrap();
    let out = dir.path().join("o");
    let run = || {
        let o = emulate_in(
            &root,
            &[
                "sweep",
                spec.to_str().unwrap(),
                "--resume",
                "--out",
                out.to_str().unwrap(),
            ],
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    assert!(run().contains("ran 2, skipped 0"));
    assert!(run().contains("ran 0, skipped 2"));
    let mut before = results::read_records(&out.join("results.jsonl")).unwrap();
    before.sort_by_key(|r| r.index);
    // Swap the program for another one: every point must re-run, with one record each.
    std::fs::copy(root.join("programs/intloop.elf"), &prog).unwrap();
    let third = run();
    assert!(
        third.contains("ran 2, skipped 0") && third.contains("dropped 2 stale"),
        "{third}"
    );
    let mut after = results::read_records(&out.join("results.jsonl")).unwrap();
    after.sort_by_key(|r| r.index);
    assert_eq!(after.len(), 2);
    assert!(before
        .iter()
        .zip(&after)
        .all(|(a, b)| a.key != b.key && a.index == b.index));
    let csv = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    assert_eq!(csv.lines().count(), 3);
}
