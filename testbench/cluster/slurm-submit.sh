#!/usr/bin/env bash
# Runs a sweep on Slurm: one array task per point, then a merge job that starts when every
# task has succeeded (--dependency=afterok). Logs go to OUT/logs, not the current folder.
#
#   testbench/cluster/slurm-submit.sh SPEC.toml OUT [EMULATE]
#
# EMULATE is the binary the nodes run (default: `emulate` on PATH, e.g. after
# `cargo install --path .`; the binary embeds boards, manifests and kernel programs, so the
# nodes need neither the source tree nor python). OUT must be on a filesystem the nodes share.
set -euo pipefail
if [ $# -lt 2 ]; then
    echo "usage: $0 SPEC.toml OUT [EMULATE]" >&2
    exit 2
fi
spec="$(realpath "$1")"
out="$(realpath -m "$2")"
emulate="${3:-$(command -v emulate || true)}"
if [ -z "$emulate" ] || [ ! -x "$emulate" ]; then
    echo "error: no emulate binary: give its path as the third argument, or put it on PATH" \
         "(cargo install --path . from the repository)" >&2
    exit 2
fi
emulate="$(realpath "$emulate")"
n=$("$emulate" sweep "$spec" --plan | wc -l)
if [ "$n" -lt 1 ]; then
    echo "error: $spec has no points (emulate sweep $spec --plan printed nothing)" >&2
    exit 1
fi
here="$(cd "$(dirname "$0")" && pwd)"
mkdir -p "$out/logs"
array=$(sbatch --parsable --array="0-$((n - 1))" --output="$out/logs/point-%a.out" \
    --export="ALL,SAIL_EMULATE=$emulate" "$here/slurm-array.sh" "$spec" "$out")
array="${array%%;*}"
merge=$(sbatch --parsable --dependency="afterok:$array" --job-name=sail-sweep-merge \
    --output="$out/logs/merge.out" \
    --wrap="'$emulate' sweep merge '$out'/point-*/results.jsonl --out '$out' --spec '$spec'")
echo "submitted $n points as array job $array; merge job $merge runs when all succeed"
echo "results: $out/results.jsonl and $out/summary.csv; logs: $out/logs/"
