#!/usr/bin/env python3
"""Run a sweep as HyperQueue tasks, one task per grid point, then merge the points.

    $SAIL_PYTHON testbench/cluster/hyperqueue_local.py SPEC.toml OUT [--workers N] [--cores C]

Uses the `hyperqueue` package from PyPI (`pip install hyperqueue`: its wheel carries the
HyperQueue server and worker, so no `hq` binary is needed): it starts a local cluster of N
workers with C cores each, submits one task per line of `emulate sweep SPEC --plan`, each
running `emulate sweep SPEC --point I --jobs 1 --out OUT/point-I` (one core), waits, then
runs `emulate sweep merge`, which checks that every point is there exactly once. On a real
cluster, start `hq server` and `hq worker`s and submit the same tasks with
testbench/cluster/hyperqueue.sh. SAIL_EMULATE names the binary (default: `emulate` on PATH).
A failed point fails its task; the script then prints HyperQueue's failures and exits 1.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("spec")
    ap.add_argument("out")
    ap.add_argument("--workers", type=int, default=1, help="local workers (default 1)")
    ap.add_argument("--cores", type=int, default=None, help="cores per worker (default: all)")
    a = ap.parse_args()
    try:
        from hyperqueue import Client, Job  # noqa: F401
        from hyperqueue.cluster import LocalCluster, WorkerConfig
    except ImportError as e:
        print(f"hyperqueue_local.py: the `hyperqueue` package is missing ({e}); "
              f"pip install hyperqueue", file=sys.stderr)
        return 2
    emulate = os.environ.get("SAIL_EMULATE") or shutil.which("emulate")
    if not emulate:
        print("hyperqueue_local.py: no emulate binary (set SAIL_EMULATE)", file=sys.stderr)
        return 2
    spec, out = Path(a.spec).resolve(), Path(a.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    plan = subprocess.run([emulate, "sweep", str(spec), "--plan"], check=True,
                          capture_output=True, text=True).stdout
    points = [json.loads(line)["index"] for line in plan.splitlines() if line.strip()]
    print(f"{len(points)} points of {spec.name} on {a.workers} local HyperQueue worker(s)",
          file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="hq-server-") as server_dir:
        with LocalCluster(server_dir) as cluster:
            for _ in range(a.workers):
                cluster.start_worker(WorkerConfig(cores=a.cores))
            client = cluster.client()
            job = Job()
            for i in points:
                job.program([emulate, "sweep", str(spec), "--point", str(i), "--jobs", "1",
                             "--out", str(out / f"point-{i}")],
                            stdout=str(out / f"point-{i}.stdout"),
                            stderr=str(out / f"point-{i}.stderr"),
                            name=f"point-{i}")
            submitted = client.submit(job)
            if not client.wait_for_jobs([submitted], raise_on_error=False):
                for task, ctx in client.get_failed_tasks(submitted).items():
                    print(f"task {task} failed: {ctx}", file=sys.stderr)
                return 1
    results = [str(out / f"point-{i}" / "results.jsonl") for i in points]
    subprocess.run([emulate, "sweep", "merge", *results, "--out", str(out), "--spec", str(spec)],
                   check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
