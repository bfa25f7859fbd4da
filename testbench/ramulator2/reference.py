#!/usr/bin/env python3
"""Runs the DDR validation traces (the 48 of testbench/dramsim3/reference.py, imported from
there) through Ramulator 2, a second reference beside DRAMsim3, and writes reference.json:
per trace Ramulator 2's bandwidth and mean read latency beside DRAMsim3's (read from
testbench/dramsim3/reference.json, not re-run) and the emulator's (run now, with the same
extra arguments the DRAMsim3 file records: emulate_dram_side and emulate_mirror).

    testbench/ramulator2/build.sh                       # once: builds Ramulator 2 + driver
    testbench/ramulator2/reference.py [--emulate PATH] [--driver PATH] [--only SUBSTRING]

Run by hand; no CI test reads the output (doc/validation.md, "A second reference").
"""
import argparse, json, os, subprocess, sys, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
DRAMSIM3 = os.path.join(os.path.dirname(HERE), "dramsim3")
sys.path.insert(0, DRAMSIM3)
from reference import traces  # noqa: E402  (testbench/dramsim3/reference.py)

COMMIT = "38c51d40a976c6b07fbc09de869a7e08dc187d29"  # Ramulator 2 tag v2.1.0
# The boards follow DRAMsim3's read auto-precharge (RDA -> ACT = BL/2 + tRTP + tRP); this
# gives the emulator JEDEC's (tRTP + tRP), which is what Ramulator 2's DDR3 uses.
JEDEC_RDA = ["--set", "memory.controller.read_auto_precharge_after_burst=false"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--emulate", default=os.path.join(
        os.environ.get("CARGO_TARGET_DIR", "target"), "test-release", "emulate"))
    rdir = os.environ.get("RAMULATOR2_DIR", "/tmp/sail-ramulator2")
    ap.add_argument("--driver", default=os.path.join(rdir, "driver"))
    ap.add_argument("--python", default=os.path.join(rdir, "src", "python"),
                    help="Ramulator 2's Python configuration package (build.sh extracts it)")
    ap.add_argument("--only", default="")
    ap.add_argument("--out", default=os.path.join(HERE, "reference.json"))
    a = ap.parse_args()
    sys.path.insert(0, a.python)
    sys.path.insert(0, HERE)
    from config import write_config

    dram = json.load(open(os.path.join(DRAMSIM3, "reference.json")))
    by_name = {r["name"]: r for r in dram["traces"]}
    extra = dram["emulate_dram_side"] + dram["emulate_mirror"]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        configs = {}
        for ini in ["x64", "x16"]:
            for page in ["open", "open-rowhit", "closed", "closed-cap1", "closed-d3rda",
                         "closed-d3rda-drain"]:
                path = os.path.join(tmp, f"{ini}-{page}.yaml")
                write_config(os.path.join(DRAMSIM3, ini + ".ini"), page, path)
                configs[(ini, page)] = path
        for t in traces():
            if a.only and a.only not in t["name"]:
                continue
            trace = os.path.join(tmp, "trace")
            emu = json.loads(subprocess.run(
                [a.emulate, "membench"] + t["args"] + extra
                + ["--trace-out", trace, "--json"],
                check=True, capture_output=True, text=True).stdout)
            ref = json.loads(subprocess.run(
                [a.driver, configs[(t["ini"], t["page"])], trace, str(t["window"]), "64"],
                check=True, capture_output=True, text=True, cwd=tmp).stdout)
            variants = {}
            for v in {"open": ["open-rowhit"],
                      "closed": ["closed-cap1", "closed-d3rda", "closed-d3rda-drain"]}[t["page"]]:
                variants[v] = json.loads(subprocess.run(
                    [a.driver, configs[(t["ini"], v)], trace, str(t["window"]), "64"],
                    check=True, capture_output=True, text=True, cwd=tmp).stdout)
            emu_jedec = None
            if t["page"] == "closed":
                # The emulator with JEDEC's RDA -> ACT (tRTP + tRP), Ramulator's own rule.
                emu_jedec = json.loads(subprocess.run(
                    [a.emulate, "membench"] + t["args"] + extra + JEDEC_RDA + ["--json"],
                    check=True, capture_output=True, text=True).stdout)
            d = by_name[t["name"]]
            row = {"name": t["name"], "args": t["args"], "window": t["window"],
                   "ramulator2_bytes_per_s": ref["bytes_per_s"],
                   "ramulator2_mean_read_latency_ns": ref["mean_read_latency_ns"],
                   "ramulator2_row_hits": ref["row_hits"],
                   "ramulator2_row_misses": ref["row_misses"],
                   "ramulator2_row_conflicts": ref["row_conflicts"],
                   "dramsim3_bytes_per_s": d["dramsim3_bytes_per_s"],
                   "dramsim3_mean_read_latency_ns": d["dramsim3_mean_read_latency_ns"],
                   "emulate_bytes_per_s_when_written": emu["bytes_per_s"],
                   "emulate_mean_latency_ns_when_written": emu["mean_latency_ns"],
                   "emulate_mean_read_latency_ns_when_written": emu.get("mean_read_latency_ns")}
            for v, key in [("closed-cap1", "closedcap1"), ("closed-d3rda", "d3rda"),
                           ("closed-d3rda-drain", "d3rda_drain"), ("open-rowhit", "rowhit")]:
                if v in variants:
                    row[f"ramulator2_{key}_bytes_per_s"] = variants[v]["bytes_per_s"]
                    row[f"ramulator2_{key}_mean_read_latency_ns"] = \
                        variants[v]["mean_read_latency_ns"]
            if emu_jedec:
                row["emulate_jedec_rda_bytes_per_s_when_written"] = emu_jedec["bytes_per_s"]
            rows.append(row)
            print(f"{t['name']:40} ramulator2 {ref['bytes_per_s']/1e9:6.3f} GB/s "
                  f"{ref['mean_read_latency_ns']:8.1f} ns | dramsim3 "
                  f"{d['dramsim3_bytes_per_s']/1e9:6.3f} | emulate {emu['bytes_per_s']/1e9:6.3f} "
                  f"| emu/ram {emu['bytes_per_s']/ref['bytes_per_s']:.3f} "
                  f"emu/dram {emu['bytes_per_s']/d['dramsim3_bytes_per_s']:.3f}"
                  + "".join(f" | {v} {r['bytes_per_s']/1e9:6.3f}" for v, r in variants.items())
                  + (f" | emulate-jedec-rda {emu_jedec['bytes_per_s']/1e9:6.3f}" if emu_jedec
                     else ""),
                  flush=True)
    if a.only:
        return
    doc = {"ramulator2_commit": COMMIT,
           "ramulator2_config": "testbench/ramulator2/config.py from testbench/dramsim3/x64.ini "
                                "and x16.ini; closed pages: the SailClosedAP row policy of "
                                "driver.cc (every RD/WR an RDA/WRA, as DRAMsim3's CLOSE_PAGE); "
                                "ramulator2_closedcap1_*: Ramulator 2's ClosedCAP, cap 1; "
                                "ramulator2_d3rda_*: closed with DRAMsim3's RDA -> ACT "
                                "(nRTP = tRTP + BL/2); ramulator2_d3rda_drain_*: that and "
                                "DRAMsim3's write drain (full to empty: watermarks 0.97 / 0.03); "
                                "ramulator2_rowhit_*: open with the "
                                "FRFCFS-RowHit scheduler",
           "dramsim3_figures_from": "testbench/dramsim3/reference.json",
           "emulate_extra_args": extra,
           "emulate_jedec_rda_extra_args": JEDEC_RDA,
           "request_bytes": 64,
           "traces": rows}
    with open(a.out, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
