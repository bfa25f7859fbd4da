#!/usr/bin/env bash
# One Slurm array task: runs sweep point $SLURM_ARRAY_TASK_ID into OUT/point-I. Submitted by
# testbench/cluster/slurm-submit.sh, which also queues the merge; see doc/sweeps.md.
#
#   slurm-array.sh SPEC.toml OUT        (under sbatch --array; SAIL_EMULATE names the binary)
#
# Each task writes its own results folder, so tasks never share a file. A point that fails
# keeps its error record and makes the task exit non-zero, so Slurm shows it FAILED.
#SBATCH --job-name=sail-sweep
#SBATCH --cpus-per-task=1
set -euo pipefail
spec="$1"
out="$2"
emulate="${SAIL_EMULATE:-emulate}"
i="${SLURM_ARRAY_TASK_ID:?run under sbatch --array (slurm-submit.sh does)}"
exec "$emulate" sweep "$spec" --point "$i" --jobs 1 --out "$out/point-$i"
