#!/usr/bin/env python3
"""Runs the DDR validation traces through LiteDRAM's controller (replay.py, migen's simulator)
and through `emulate membench` on the boards' own settings, and writes both figures to
reference.json.

    testbench/litedram/setup.sh                    # once: the pinned venv
    $VENV/bin/python testbench/litedram/reference.py --emulate PATH [--jobs 2] [--only NAME]

Every trace is what `emulate membench ARGS --trace-out FILE` issues (open page, the boards'
own settings, no --set); replay.py replays it with the same window and also reports the
first and second half of each trace apart, so that the figure's convergence shows in the file.
tests/suite/cli/litedram_reference.rs holds the emulator to this file on every CI run.
"""
import argparse, json, os, subprocess, sys, tempfile
from concurrent.futures import ProcessPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import replay  # noqa: E402

# x64: 64 B per burst, one port command per request; x16: four. migen's simulator runs some
# 50 to 150 system clocks per host second, so the traces are short: the sequential ones take
# 2 (x64) or 8 (x16) system clocks per request, the others 8 to 20 (LiteDRAM serves one
# port in order, below). Each is long enough for several refreshes (every 585 clocks);
# replay.py also reports the first and the second half apart, to show convergence.
REQUESTS = {("x64", True): 2048, ("x64", False): 1024, ("x16", True): 512, ("x16", False): 256}
# One request in flight: the idle latency of a dependent read (some 25-35 clocks each).
REQUESTS_W1 = {"x64": 256, "x16": 256}


def traces():
    out = []
    for board, size in [("innerjib7ea", "x64"), ("innerjib7ea-x16", "x16")]:
        foot = "64MiB" if size == "x64" else "16MiB"
        # Same bank, different rows: arrays a multiple of (row x banks) apart.
        same_bank = "64MiB" if size == "x64" else "16MiB"
        def t(name, args, w=32):
            n = REQUESTS[(size, name.startswith("seq"))] if w > 1 else REQUESTS_W1[size]
            out.append({
                "name": f"{size}/{name}", "board": board, "size": size, "window": w,
                "requests": n,
                "args": ["--board", board, "--bytes", foot] + args
                + ["--outstanding", str(w), "--requests", str(n)]})
        t("seq-read", ["--pattern", "stream"])
        t("seq-write", ["--pattern", "stream", "--write"])
        t("mix-2:1", ["--pattern", "stream", "--mix", "2:1"])
        t("stream-add-diff-banks", ["--pattern", "stream", "--streams", "add"])
        t("stream-add-same-bank", ["--pattern", "stream", "--streams", "add",
                                   "--stride", same_bank])
        t("random-read", ["--pattern", "random"])
        t("random-read-W1", ["--pattern", "random"], 1)
    return out


def emulate(exe, args, trace_out=None):
    cmd = [exe, "membench"] + args + ["--json"]
    if trace_out:
        cmd += ["--trace-out", trace_out]
    return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)


def run_one(job):
    t, exe = job
    args = t["args"]
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "trace")
        emu = emulate(exe, args, path)
        lite = replay.replay(t["size"], replay.load_trace(path), t["window"])
    return t["name"], args, emu, lite


def versions():
    from importlib.metadata import version
    return {p: version(p) for p in ["migen", "litex", "litedram"]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--emulate", default=os.path.join(
        os.environ.get("CARGO_TARGET_DIR", "target"), "test-release", "emulate"))
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--only", default="")
    ap.add_argument("--out", default=os.path.join(HERE, "reference.json"))
    ap.add_argument("--partial", default=os.path.join(tempfile.gettempdir(),
                                                       "sail-litedram-partial.json"),
                    help="finished runs are kept here, so an interrupted run resumes")
    a = ap.parse_args()
    done = {}
    if os.path.exists(a.partial):
        done = {r["name"]: r for r in json.load(open(a.partial))}
    jobs = [(t, a.emulate) for t in traces()
            if (not a.only or a.only in t["name"]) and t["name"] not in done]
    # Longest first (x16: four port commands per request; mixed traffic turns the bus around).
    jobs.sort(key=lambda j: -j[0]["requests"] * (4 if j[0]["size"] == "x16" else 1)
              * (1 if j[0]["name"].split("/")[1].startswith("seq") else 8))
    with ProcessPoolExecutor(a.jobs) as pool:
        for name, args, emu, lite in pool.map(run_one, jobs):
            done[name] = {
                "name": name, "args": args,
                "window": int(args[args.index("--outstanding") + 1]),
                "litedram_bytes_per_s": lite["bytes_per_s"],
                "litedram_bytes_per_s_first_half": lite["bytes_per_s_first_half"],
                "litedram_bytes_per_s_second_half": lite["bytes_per_s_second_half"],
                "litedram_cycles": lite["cycles"],
                "litedram_mean_read_latency_ns": lite["mean_read_latency_ns"],
                "litedram_mean_read_port_latency_ns": lite["mean_read_port_latency_ns"],
                "emulate_bytes_per_s_when_written": emu["bytes_per_s"],
                "emulate_mean_read_latency_ns_when_written": emu.get("mean_read_latency_ns"),
            }
            json.dump(list(done.values()), open(a.partial, "w"), indent=1)
            e, l = emu["bytes_per_s"], lite["bytes_per_s"]
            print(f"{name:32} litedram {l/1e9:6.3f} GB/s "
                  f"{lite['mean_read_latency_ns']:8.1f} ns | emulate {e/1e9:6.3f} "
                  f"{emu.get('mean_read_latency_ns') or 0:8.1f} ns | ratio {e/l:.3f}", flush=True)
    rows = [done[t["name"]] for t in traces() if t["name"] in done]
    for r in rows:
        r.setdefault("window", int(r["args"][r["args"].index("--outstanding") + 1]))
    # The emulator's figures depend on the model and the boards: the last commit to touch them.
    commit = subprocess.run(["git", "-C", HERE, "log", "-1", "--format=%H", "--", "../../src",
                             "../../boards"], capture_output=True, text=True).stdout.strip()
    doc = {"litedram_versions": versions(),
           "emulate_src_commit_when_written": commit,
           "controller": "LiteDRAMController + LiteDRAMCrossbar, one native port, "
                         "ControllerSettings() defaults (read_time 32, write_time 16, "
                         "cmd_buffer_depth 8, refresh on, auto-precharge on)",
           "phy": "ECP5DDRPHY's PhySettings at CL 6 / CWL 5, nphases 2 (rdphase 0, wrphase 1, "
                  "read_latency 13, write_latency 3), 75 MHz system clock",
           "request_bytes": 64,
           "reproduce": "testbench/litedram/setup.sh && $VENV/bin/python "
                        "testbench/litedram/reference.py --emulate "
                        "$CARGO_TARGET_DIR/test-release/emulate",
           "traces": rows}
    if not a.only:
        with open(a.out, "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
