#!/usr/bin/env python3
"""Runs the DDR validation traces through DRAMsim3 and through `emulate membench`, and writes
the DRAMsim3 figures (with the emulator's beside them, for reading) to reference.json.

    testbench/dramsim3/build.sh                    # once: builds DRAMsim3 + driver
    testbench/dramsim3/reference.py [--emulate PATH] [--driver PATH]

Every trace is what `emulate membench ARGS --trace-out FILE` issues; the driver replays the
file with the same window. The emulator runs with the PHY's read latency cut to CL + BL/2
(DRAM_SIDE below), which is what DRAMsim3 reports: its latency ends with the burst on the
DRAM pins, and with its request queue as deep as DRAMsim3's transaction queue (MIRROR).
The window-1 traces also run with the board's own PHY, for the idle latency split into the
DRAM side and the PHY (what `emulate membench` reports). tests/suite/cli/ddr3_reference.rs
holds the emulator to this file on every CI run.
"""
import argparse, json, os, subprocess, sys, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
COMMIT = "29817593b3389f1337235d63cac515024ab8fd6e"
# CL 6 + BL8 (4 clocks) = 10 DRAM clocks = 5 system clocks: data at the DRAM pins.
DRAM_SIDE = ["--set", "memory.phy.read_latency=5 cycles"]
# x64.ini / x16.ini: trans_queue_size = 32 requests wait in DRAMsim3's controller.
MIRROR = ["--set", "memory.controller.queue_depth=32",
          # DRAMsim3's controller: FR-FCFS, a 32-entry write buffer drained in batches when
          # full (to empty) or when more than 8 wait and the queue is empty, JEDEC's
          # turnarounds, no one-port bank rule. The boards model LiteDRAM with one port instead
          # (doc/memory.md).
          "--set", "memory.controller.scheduler=fr-fcfs",
          "--set", "memory.controller.write_buffer=32",
          "--set", "memory.controller.write_high_watermark=32",
          "--set", "memory.controller.write_low_watermark=0",
          "--set", "memory.controller.write_idle_drain=8",
          "--set", "memory.controller.read_time=0 cycles",
          "--set", "memory.controller.write_time=0 cycles",
          "--set", "memory.controller.read_to_write=0 cycles",
          "--set", "memory.controller.write_to_read=0 cycles",
          "--set", "memory.controller.bank_switch=0 cycles"]
REQUESTS = "65536"

def traces():
    out = []
    for board, ini in [("innerjib7ea", "x64"), ("innerjib7ea-x16", "x16")]:
        foot = "64MiB" if ini == "x64" else "16MiB"
        # Same bank, different rows: arrays a multiple of (row x banks) apart.
        same_bank = "64MiB" if ini == "x64" else "16MiB"
        for page in ["open", "closed"]:
            base = ["--board", board, "--set", f"memory.controller.page_policy={page}",
                    "--requests", REQUESTS, "--bytes", foot]
            t = lambda name, args, w=32: out.append({
                "name": f"{ini}/{page}/{name}", "board": board, "ini": ini, "page": page,
                "window": w, "args": base + args + ["--outstanding", str(w)]})
            t("seq-read", ["--pattern", "stream"])
            t("seq-write", ["--pattern", "stream", "--write"])
            t("random-read", ["--pattern", "random"])
            t("mix-2:1", ["--pattern", "stream", "--mix", "2:1"])
            t("stream-add-diff-banks", ["--pattern", "stream", "--streams", "add"])
            t("stream-add-same-bank", ["--pattern", "stream", "--streams", "add",
                                       "--stride", same_bank])
            for w in [1, 2, 4, 8, 16, 32]:
                t(f"window-random-read-W{w}", ["--pattern", "random"], w)
    return out

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--emulate", default=os.path.join(
        os.environ.get("CARGO_TARGET_DIR", "target"), "test-release", "emulate"))
    ap.add_argument("--driver", default=os.path.join(
        os.environ.get("DRAMSIM3_DIR", "/tmp/sail-dramsim3"), "driver"))
    ap.add_argument("--only", default="")
    ap.add_argument("--out", default=os.path.join(HERE, "reference.json"))
    a = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for t in traces():
            if a.only and a.only not in t["name"]:
                continue
            trace = os.path.join(tmp, "trace")
            emu = json.loads(subprocess.run(
                [a.emulate, "membench"] + t["args"] + DRAM_SIDE + MIRROR
                + ["--trace-out", trace, "--json"],
                check=True, capture_output=True, text=True).stdout)
            ini = os.path.join(tmp, "cfg.ini")
            text = open(os.path.join(HERE, t["ini"] + ".ini")).read()
            if t["page"] == "closed":
                text = text.replace("row_buf_policy = OPEN_PAGE", "row_buf_policy = CLOSE_PAGE")
            open(ini, "w").write(text)
            ref = json.loads(subprocess.run(
                [a.driver, ini, trace, str(t["window"]), "64"],
                check=True, capture_output=True, text=True, cwd=tmp).stdout)
            row = {"name": t["name"], "args": t["args"], "window": t["window"],
                   "dramsim3_bytes_per_s": ref["bytes_per_s"],
                   "dramsim3_mean_read_latency_ns": ref["mean_read_latency_ns"],
                   "emulate_bytes_per_s_when_written": emu["bytes_per_s"],
                   "emulate_mean_latency_ns_when_written": emu["mean_latency_ns"]}
            if t["window"] == 1:
                phy = json.loads(subprocess.run(
                    [a.emulate, "membench"] + t["args"] + MIRROR + ["--json"],
                    check=True, capture_output=True, text=True).stdout)
                row["emulate_board_phy_read_latency_ns_when_written"] = phy["mean_read_latency_ns"]
                row["emulate_dram_side_read_latency_ns_when_written"] = \
                    phy["dram_side_read_latency_ns"]
                row["emulate_phy_read_latency_ns"] = phy["phy_read_latency_ns"]
            rows.append(row)
            print(f"{t['name']:40} dramsim3 {ref['bytes_per_s']/1e9:6.3f} GB/s "
                  f"{ref['mean_read_latency_ns']:8.1f} ns | emulate {emu['bytes_per_s']/1e9:6.3f} "
                  f"{emu['mean_latency_ns']:8.1f} ns | ratio {emu['bytes_per_s']/ref['bytes_per_s']:.3f}",
                  flush=True)
    if a.only:
        return
    doc = {"dramsim3_commit": COMMIT,
           "dramsim3_configs": {"x64": "testbench/dramsim3/x64.ini",
                                "x16": "testbench/dramsim3/x16.ini"},
           "closed_page": "row_buf_policy = CLOSE_PAGE in the same file",
           "emulate_dram_side": DRAM_SIDE,
           "emulate_mirror": MIRROR,
           "request_bytes": 64,
           "traces": rows}
    with open(a.out, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")

if __name__ == "__main__":
    main()
