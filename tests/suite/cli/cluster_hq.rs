//! The HyperQueue recipe's logic without HyperQueue: testbench/cluster/hyperqueue.sh runs
//! against a fake `hq` that answers `server info` and `worker list` from marker files, runs an
//! array job's tasks at once (HQ_TASK_ID set, `%{TASK_ID}` expanded in the log paths) and
//! reports the job FINISHED or FAILED the way `hq --output-mode quiet job list --all` does
//! (real hq 0.26.2, doc/sweeps.md). The test sees what a cluster would: the refusals without
//! a server or a worker, the task logs under OUT/logs, the merged results, and a failed point
//! making the script exit non-zero without merging.

use std::path::Path;

/// A fake `hq` (bash). Understands the calls the recipe makes and nothing else.
const FAKE_HQ: &str = r#"#!/usr/bin/env bash
set -u
d="$FAKE_HQ_DIR"
echo "hq $*" >> "$d/hq.log"
[ "${1:-}" = --output-mode ] && shift 2
case "$1 ${2:-}" in
  "server info") [ -e "$d/server" ] || { echo "no server" >&2; exit 1; }; echo "server running" ;;
  "worker list") echo "ID HOSTNAME STATE"; [ -e "$d/worker" ] && echo "1 localhost RUNNING" ;;
  "submit --array")
    shift
    range= so= se=
    while [ "$1" != -- ]; do
      case "$1" in
        --array) range="$2"; shift ;;
        --stdout) so="$2"; shift ;;
        --stderr) se="$2"; shift ;;
        --cpus) shift ;;
        --wait) ;;
        *) echo "fake hq: unknown option $1" >&2; exit 1 ;;
      esac
      shift
    done
    shift
    state=FINISHED
    for i in $(seq "${range%-*}" "${range#*-}"); do
      if ! HQ_TASK_ID="$i" "$@" > "${so//%\{TASK_ID\}/$i}" 2> "${se//%\{TASK_ID\}/$i}"; then
        state=FAILED; echo "task $i FAILED" >> "$d/hq.log"
      fi
    done
    echo "$state" > "$d/job-1"
    echo 1 ;;
  "job list") echo "1 $(cat "$d/job-1")" ;;
  "task list") echo "failed tasks of job $3" ;;
  *) echo "fake hq: unknown command $*" >&2; exit 1 ;;
esac
"#;

/// Runs the recipe on `spec` with a fake hq in `dir`; `server` / `worker`: which exist.
fn submit(
    dir: &Path,
    spec: &str,
    server: bool,
    worker: bool,
) -> (std::process::Output, std::path::PathBuf) {
    let state = dir.join("hq");
    std::fs::create_dir_all(&state).unwrap();
    if server {
        std::fs::write(state.join("server"), "").unwrap();
    }
    if worker {
        std::fs::write(state.join("worker"), "").unwrap();
    }
    super::cluster::run_recipe(
        dir,
        "hyperqueue.sh",
        ("hq", FAKE_HQ),
        "FAKE_HQ_DIR",
        &state,
        spec,
    )
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn hyperqueue_recipe_refuses_without_a_server_or_a_worker() {
    let dir = tempfile::tempdir().unwrap();
    let (o, out) = submit(dir.path(), super::cluster::SPEC, false, false);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("no HyperQueue server answers"),
        "{}",
        stderr(&o)
    );
    assert!(!out.exists());
    let dir = tempfile::tempdir().unwrap();
    let (o, out) = submit(dir.path(), super::cluster::SPEC, true, false);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("has no worker"), "{}", stderr(&o));
    assert!(!out.exists());
}

#[test]
fn hyperqueue_recipe_runs_every_point_then_merges() {
    let dir = tempfile::tempdir().unwrap();
    let (o, out) = submit(dir.path(), super::cluster::SPEC, true, true);
    assert!(o.status.success(), "{}", stderr(&o));
    let log = std::fs::read_to_string(dir.path().join("hq/hq.log")).unwrap();
    assert!(log.contains("--array 0-3"), "{log}");
    assert!(!log.contains("FAILED"), "{log}");
    for f in ["point-0.out", "point-3.err"] {
        assert!(out.join("logs").join(f).exists(), "no logs/{f}");
    }
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
}

#[test]
fn hyperqueue_recipe_a_failed_point_fails_the_job_and_holds_the_merge() {
    let dir = tempfile::tempdir().unwrap();
    // `3 MHz` is not a size: points 1 and 3 fail.
    let spec = super::cluster::SPEC.replace("\"512 MiB\"]", "\"3 MHz\"]");
    let (o, out) = submit(dir.path(), &spec, true, true);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("ended FAILED; not merging"),
        "{}",
        stderr(&o)
    );
    let log = std::fs::read_to_string(dir.path().join("hq/hq.log")).unwrap();
    assert!(
        log.contains("task 1 FAILED") && log.contains("task 3 FAILED"),
        "{log}"
    );
    assert!(!out.join("results.jsonl").exists());
    let rec = std::fs::read_to_string(out.join("point-1/results.jsonl")).unwrap();
    assert!(rec.contains("\"ok\":false"), "{rec}");
}
