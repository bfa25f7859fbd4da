//! The Slurm recipe's logic without Slurm: testbench/cluster/slurm-submit.sh runs against a
//! fake `sbatch` that records each submission and runs it at once (array tasks one after
//! another with SLURM_ARRAY_TASK_ID set, a job with `--dependency=afterok:ID` only when every
//! task of ID succeeded), so the test sees what a cluster would: the task logs under
//! OUT/logs, the merged results, and a failed point failing its task and holding the merge.

use crate::support::root;
use std::path::Path;
use std::process::Command;

/// A fake `sbatch` (bash): understands --parsable, --array=0-N, --output (with %a),
/// --export=ALL,VAR=VALUE, --dependency=afterok:ID, --wrap, --job-name.
const FAKE_SBATCH: &str = r#"#!/usr/bin/env bash
set -u
log="$FAKE_SLURM_DIR/sbatch.log"
echo "sbatch $*" >> "$log"
array= output= wrap= dep= envs=()
while [ $# -gt 0 ]; do
  case "$1" in
    --parsable|--job-name=*) ;;
    --array=*) array="${1#--array=}" ;;
    --output=*) output="${1#--output=}" ;;
    --export=*) IFS=, read -ra parts <<< "${1#--export=}"; for p in "${parts[@]}"; do [ "$p" = ALL ] || envs+=("$p"); done ;;
    --dependency=*) dep="${1#--dependency=afterok:}" ;;
    --wrap=*) wrap="${1#--wrap=}" ;;
    --*) echo "fake sbatch: unknown option $1" >&2; exit 1 ;;
    *) break ;;
  esac
  shift
done
id=$(( $(ls "$FAKE_SLURM_DIR" | grep -c '^job-') + 101 ))
touch "$FAKE_SLURM_DIR/job-$id"
if [ -n "$dep" ] && [ -e "$FAKE_SLURM_DIR/failed-$dep" ]; then
  echo "job $id: dependency afterok:$dep never satisfied" >> "$log"
  echo "$id"; exit 0
fi
if [ -n "$array" ]; then
  for i in $(seq "${array%-*}" "${array#*-}"); do
    out="${output//%a/$i}"
    if ! env "${envs[@]}" SLURM_ARRAY_TASK_ID="$i" bash "$@" > "$out" 2>&1; then
      echo "job ${id}_$i FAILED" >> "$log"; touch "$FAKE_SLURM_DIR/failed-$id"
    fi
  done
else
  env "${envs[@]}" sh -c "$wrap" > "$output" 2>&1 || echo "job $id FAILED" >> "$log"
fi
echo "$id"
"#;

/// Runs `testbench/cluster/<script> DIR/spec.toml DIR/out emulate` from `dir` with a fake
/// `tool` (bash source) first on PATH and `state_var` naming `state`, the fake's folder.
pub(crate) fn run_recipe(
    dir: &Path,
    script: &str,
    tool: (&str, &str),
    state_var: &str,
    state: &Path,
    spec: &str,
) -> (std::process::Output, std::path::PathBuf) {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::create_dir_all(state).unwrap();
    let fake = bin.join(tool.0);
    std::fs::write(&fake, tool.1).unwrap();
    Command::new("chmod").arg("+x").arg(&fake).status().unwrap();
    let spec_path = dir.join("spec.toml");
    std::fs::write(&spec_path, spec).unwrap();
    let out = dir.join("out");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let o = Command::new(root().join("testbench/cluster").join(script))
        .arg(&spec_path)
        .arg(&out)
        .arg(env!("CARGO_BIN_EXE_emulate"))
        .env("PATH", path)
        .env(state_var, state)
        .current_dir(dir)
        .output()
        .unwrap();
    (o, out)
}

fn submit(dir: &Path, spec: &str) -> (std::process::Output, std::path::PathBuf) {
    run_recipe(
        dir,
        "slurm-submit.sh",
        ("sbatch", FAKE_SBATCH),
        "FAKE_SLURM_DIR",
        &dir.join("slurm"),
        spec,
    )
}

pub(crate) const SPEC: &str = r#"
command = ["boards", "show"]
[axes]
board = ["innerjib7ea", "innerjib7ea-x16"]
"set:memory.capacity" = ["256 MiB", "512 MiB"]
"#;

#[test]
fn slurm_recipe_runs_every_point_then_merges_after_them() {
    let dir = tempfile::tempdir().unwrap();
    let (o, out) = submit(dir.path(), SPEC);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        text.contains("submitted 4 points as array job 101; merge job 102"),
        "{text}"
    );
    let log = std::fs::read_to_string(dir.path().join("slurm/sbatch.log")).unwrap();
    assert!(
        log.contains("--array=0-3") && log.contains("--dependency=afterok:101"),
        "{log}"
    );
    assert!(!log.contains("FAILED"), "{log}");
    // Logs in OUT/logs, none in the folder the recipe ran from.
    for f in ["point-0.out", "point-3.out", "merge.out"] {
        assert!(out.join("logs").join(f).exists(), "no logs/{f}");
    }
    assert!(std::fs::read_dir(dir.path()).unwrap().all(|e| !e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .starts_with("slurm-")));
    // The merge wrote one record per point, in grid order.
    let merged = std::fs::read_to_string(out.join("results.jsonl")).unwrap();
    let indices: Vec<u64> = merged
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["index"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(indices, [0, 1, 2, 3]);
    assert!(out.join("summary.csv").exists());
}

#[test]
fn a_failed_point_fails_its_task_and_holds_the_merge() {
    let dir = tempfile::tempdir().unwrap();
    // `3 MHz` is not a size: that point fails.
    let spec = SPEC.replace("\"512 MiB\"]", "\"3 MHz\"]");
    let (o, out) = submit(dir.path(), &spec);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let log = std::fs::read_to_string(dir.path().join("slurm/sbatch.log")).unwrap();
    assert!(
        log.contains("job 101_1 FAILED") && log.contains("job 101_3 FAILED"),
        "{log}"
    );
    assert!(
        log.contains("dependency afterok:101 never satisfied"),
        "{log}"
    );
    assert!(!out.join("results.jsonl").exists());
    // The failed point's own folder keeps its error record.
    let rec = std::fs::read_to_string(out.join("point-1/results.jsonl")).unwrap();
    assert!(rec.contains("\"ok\":false"), "{rec}");
}

#[test]
fn the_recipe_refuses_a_missing_binary_with_the_way_to_get_one() {
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new(root().join("testbench/cluster/slurm-submit.sh"))
        .args(["spec.toml", "out", "/nonexistent/emulate"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("cargo install --path ."));
}
