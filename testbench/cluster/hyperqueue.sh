#!/usr/bin/env bash
# Run a sweep as a HyperQueue task array on a running HyperQueue server, then merge.
#
#   testbench/cluster/hyperqueue.sh SPEC.toml out/SWEEP [PATH/TO/emulate]
#
# Needs `hq` on PATH and a server (`hq server start &`) with at least one worker
# (`hq worker start &`); the script checks both and says what is missing instead of waiting.
# Each task runs `emulate sweep SPEC --point I` with I from HQ_TASK_ID (an array 0..N-1), so the
# nodes need neither python nor the source tree (the binary embeds boards, manifests and
# kernels). A failed point fails its task (the sweep keeps its error record in OUT/point-I),
# and the script then lists the failed tasks and exits 1 without merging. Without an `hq` binary,
# testbench/cluster/hyperqueue_local.py runs the same tasks on a local cluster from the PyPI
# package (doc/sweeps.md).
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: $0 SPEC.toml OUT [PATH/TO/emulate]" >&2
  exit 2
fi
spec="$(realpath "$1")"
out="$(realpath -m "$2")"
emulate="${3:-${SAIL_EMULATE:-$(command -v emulate || true)}}"
if [ -z "$emulate" ] || [ ! -x "$emulate" ]; then
  echo "$0: no emulate binary: pass its path, or put it on PATH (cargo install --path .)" >&2
  exit 2
fi
if ! command -v hq >/dev/null; then
  echo "$0: hq is not on PATH (HyperQueue: build it from its source with cargo, or use testbench/cluster/hyperqueue_local.py)" >&2
  exit 2
fi
if ! hq server info >/dev/null 2>&1; then
  echo "$0: no HyperQueue server answers; start one (hq server start &) and a worker (hq worker start &)" >&2
  exit 2
fi
if ! hq worker list 2>/dev/null | grep -q '[0-9]'; then
  echo "$0: the HyperQueue server has no worker; start one (hq worker start &) and retry" >&2
  exit 2
fi
mkdir -p "$out/logs"
n=$("$emulate" sweep "$spec" --plan | grep -c .)
if [ "$n" -eq 0 ]; then
  echo "$0: the spec has no points" >&2
  exit 2
fi
echo "submitting $n points of $spec; waiting for them (hq job list shows progress)"
# `hq submit --wait` exits 0 even when tasks fail (HyperQueue 0.26.2), so the job's final state
# decides whether to merge; --output-mode quiet prints just the job id.
job=$(hq --output-mode quiet submit --array "0-$((n - 1))" --cpus 1 --wait \
  --stdout "$out/logs/point-%{TASK_ID}.out" --stderr "$out/logs/point-%{TASK_ID}.err" \
  -- bash -c '"$0" sweep "$1" --point "$HQ_TASK_ID" --jobs 1 --out "$2/point-$HQ_TASK_ID"' \
  "$emulate" "$spec" "$out")
state=$(hq --output-mode quiet job list --all | awk -v j="$job" '$1 == j { print $2 }')
if [ "$state" != FINISHED ]; then
  hq task list "$job" --task-status failed,canceled,aborted >&2 || true
  echo "$0: HyperQueue job $job ended ${state:-UNKNOWN}; not merging (logs in $out/logs, errors in $out/point-I/results.jsonl)" >&2
  exit 1
fi
files=()
for i in $(seq 0 $((n - 1))); do files+=("$out/point-$i/results.jsonl"); done
"$emulate" sweep merge "${files[@]}" --out "$out" --spec "$spec"
