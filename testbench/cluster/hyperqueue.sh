#!/usr/bin/env bash
# Run a sweep as a HyperQueue task array: one task per line of the plan, then merge.
#
#   testbench/cluster/hyperqueue.sh SPEC.toml out/SWEEP
#
# `hq submit --each-line` gives each task one plan line in $HQ_ENTRY; the task runs the
# point whose index that line names. Shards (--shard K/N) work the same way for coarser tasks.
set -euo pipefail
spec="$1"
out="$2"
mkdir -p "$out"
emulate sweep "$spec" --plan > "$out/plan.jsonl"
hq submit --each-line "$out/plan.jsonl" --cpus 1 --wait -- bash -c '
  i=$(printf "%s" "$HQ_ENTRY" | python3 -c "import json,sys; print(json.load(sys.stdin)[\"index\"])")
  emulate sweep "'"$spec"'" --point "$i" --jobs 1 --out "'"$out"'/point-$i"
'
emulate sweep merge "$out"/point-*/results.jsonl --out "$out" --spec "$spec"
