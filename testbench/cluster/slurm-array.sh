#!/usr/bin/env bash
# Run a sweep as a Slurm job array: one array task per point, then merge.
#
#   n=$(emulate sweep SPEC.toml --plan | wc -l)
#   sbatch --array=0-$((n-1)) testbench/cluster/slurm-array.sh SPEC.toml out/SWEEP
#   # when every task has finished:
#   emulate sweep merge out/SWEEP/point-*/results.jsonl --out out/SWEEP --spec SPEC.toml
#
# Each task writes its own results directory, so tasks never share a file; the merge keeps
# one record per point key and sorts by grid index, which gives the same results.jsonl and
# summary.csv as a single-machine run (tests/suite/cli/sweep.rs proves shard+merge equivalence).
#SBATCH --job-name=sail-sweep
#SBATCH --cpus-per-task=1
#SBATCH --output=slurm-%A_%a.out
set -euo pipefail
spec="$1"
out="$2"
i="${SLURM_ARRAY_TASK_ID:?run under sbatch --array}"
emulate sweep "$spec" --point "$i" --jobs 1 --out "$out/point-$i"
