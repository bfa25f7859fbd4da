//! The HyperQueue recipe on a real HyperQueue: testbench/cluster/hyperqueue_local.py with the
//! PyPI `hyperqueue` package (its wheel carries the server and the workers). Needs a Python
//! (`$SAIL_PYTHON`) that imports `hyperqueue`; the full tier fails without one, otherwise the
//! test is reported skipped.

use crate::cli::cluster::SPEC;
use crate::support::root;
use std::path::Path;
use std::process::Command;

/// The HyperQueue recipe on a real (local) HyperQueue cluster from the PyPI package: every
/// point runs as a task, the merge holds them in grid order, and the figures equal those of
/// the same sweep run directly.
#[test]
fn hyperqueue_recipe_runs_every_point_on_a_local_cluster_then_merges() {
    let Some(py) = crate::support::tools::python_with("hyperqueue") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("spec.toml");
    std::fs::write(&spec, SPEC).unwrap();
    let out = dir.path().join("hq");
    let o = Command::new(&py)
        .arg(root().join("testbench/cluster/hyperqueue_local.py"))
        .arg(&spec)
        .arg(&out)
        .args(["--workers", "1", "--cores", "2"])
        .env("SAIL_EMULATE", env!("CARGO_BIN_EXE_emulate"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let direct = dir.path().join("direct");
    let d = Command::new(env!("CARGO_BIN_EXE_emulate"))
        .arg("sweep")
        .arg(&spec)
        .arg("--out")
        .arg(&direct)
        .output()
        .unwrap();
    assert!(d.status.success(), "{}", String::from_utf8_lossy(&d.stderr));
    let records = |dir: &Path| -> Vec<serde_json::Value> {
        std::fs::read_to_string(dir.join("results.jsonl"))
            .unwrap()
            .lines()
            .map(|l| {
                let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
                // Host times and provenance (command line) differ between the two runs.
                fn strip(v: &mut serde_json::Value) {
                    if let Some(o) = v.as_object_mut() {
                        o.retain(|k, _| !k.starts_with("host") && k != "provenance");
                        o.values_mut().for_each(strip);
                    }
                }
                strip(&mut v);
                v
            })
            .collect()
    };
    let (hq, mut plain) = (records(&out), records(&direct));
    let indices: Vec<u64> = hq.iter().map(|v| v["index"].as_u64().unwrap()).collect();
    assert_eq!(indices, [0, 1, 2, 3]);
    // A direct run records points as they finish; the merge holds them in grid order.
    plain.sort_by_key(|v| v["index"].as_u64());
    assert_eq!(hq.len(), plain.len());
    for (a, b) in hq.iter().zip(&plain) {
        assert!(a == b, "point {} differs from the direct run", a["index"]);
    }
    assert!(out.join("summary.csv").exists());
}
