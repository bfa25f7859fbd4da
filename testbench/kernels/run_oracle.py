#!/usr/bin/env python3
"""Runs the kernel test cases and checks them against the references in kref.py.

    run_oracle.py --bin DIR [--vlen 128,256] [--set qemu] [--filter S] [--dump DIR] [-v]
    run_oracle.py --emit DIR [--set S] [--filter S]     write the input images only
    run_oracle.py --check DIR [--set S] [--vlen V]      check outputs another executor wrote

With --bin, DIR holds the Linux-static kernel programs (`make -f programs/kernels/kernels.mk
kernels-linux`); each case runs under
`qemu-riscv64 -cpu rv64,v=true,vlen=V,vext_spec=v1.0,Zfh=true PROGRAM in.img out.img`.
Every case then requires the expected exit status, every segment other than the
destination and the work buffer unchanged, and the case's numeric check to pass.

--dump DIR keeps, per case and VLEN, `NAME.vV.in.img` and `NAME.vV.out.img`, plus an index
`cases.json`, so that another executor (the emulator) can replay the inputs and compare its
outputs with QEMU's byte for byte.
--emit DIR writes `NAME.in.img` and `cases.json` (name, program, expected status). The other
executor writes `NAME.out.img` and `NAME.status` (the exit code as text), and --check DIR
verifies them.

Sets: `qemu` (every RVV kernel), `xpop` (k_mul_mat_xpop; emulator only), `tinyllama_rvv`
and `tinyllama_xpop` (one decode step's shapes, for the cycle tables; emulator only).
Exit status: 0 all passed, 1 some case failed, 2 environment problem.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import kabi  # noqa: E402
import kcases  # noqa: E402

QEMU_CPU = "rv64,v=true,vlen={vlen},vext_spec=v1.0,Zfh=true"


def verify(case, status, out_bytes, vlen):
    """Failure messages for one executed case (empty when it passed)."""
    if status != case.expect_status:
        return [f"exit status {status} ({kabi.STATUS.get(status, '?')}), expected {case.expect_status}"]
    if out_bytes is None:
        return ["no output image"]
    out = kabi.Image.from_bytes(out_bytes)
    errs = []
    if len(out.segments) != len(case.img.segments):
        return ["segment count changed"]
    for (a, buf), (a2, buf2) in zip(case.img.segments, out.segments):
        if a != a2 or len(buf) != len(buf2):
            errs.append(f"segment layout changed at {a:#x}")
        elif a not in case.mutable and buf != buf2:
            errs.append(f"input segment at {a:#x} was modified")
    if case.check is not None and case.expect_status == 0 and not errs:
        errs += case.check(out, vlen)
    return errs


def run_qemu(case, vlen, bindir, qemu, tmp, dump):
    prog = os.path.join(bindir, case.program)
    if not os.path.exists(prog):
        return [f"program {prog} not built"], None
    inp = os.path.join(tmp, "in.img")
    outp = os.path.join(tmp, "out.img")
    with open(inp, "wb") as f:
        f.write(case.img.to_bytes())
    if os.path.exists(outp):
        os.remove(outp)
    t0 = time.time()
    proc = subprocess.run([qemu, "-cpu", QEMU_CPU.format(vlen=vlen), prog, inp, outp],
                          capture_output=True, timeout=600)
    dt = time.time() - t0
    out_bytes = None
    if os.path.exists(outp):
        with open(outp, "rb") as f:
            out_bytes = f.read()
    errs = verify(case, proc.returncode, out_bytes, vlen)
    if errs and proc.stderr:
        errs.append("stderr: " + proc.stderr.decode(errors="replace").strip()[:300])
    if dump and out_bytes is not None:
        base = os.path.join(dump, f"{case.name}.v{vlen}")
        shutil.copyfile(inp, base + ".in.img")
        with open(base + ".out.img", "wb") as f:
            f.write(out_bytes)
    return errs, dt


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default="", help="directory of Linux-static kernel programs (run under QEMU)")
    ap.add_argument("--emit", default="", help="write input images to this directory")
    ap.add_argument("--check", default="", help="check output images in this directory")
    ap.add_argument("--set", default="qemu", choices=sorted(kcases.CASE_SETS))
    ap.add_argument("--vlen", default="128,256")
    ap.add_argument("--filter", default="")
    ap.add_argument("--dump", default="")
    ap.add_argument("--qemu", default=shutil.which("qemu-riscv64") or "qemu-riscv64")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    if sum(bool(x) for x in (args.bin, args.emit, args.check)) != 1:
        print("run_oracle: give exactly one of --bin, --emit, --check", file=sys.stderr)
        return 2

    vlens = [int(v) for v in args.vlen.split(",") if v]
    cases = [c for c in kcases.CASE_SETS[args.set]() if args.filter in c.name]
    if not cases:
        print(f"run_oracle: no case matches {args.filter!r}", file=sys.stderr)
        return 2

    if args.emit:
        os.makedirs(args.emit, exist_ok=True)
        index = []
        for c in cases:
            with open(os.path.join(args.emit, c.name + ".in.img"), "wb") as f:
                f.write(c.img.to_bytes())
            index.append({"name": c.name, "program": c.program, "status": c.expect_status,
                          "macs": c.macs, "mac_kind": c.mac_kind, "bytes": c.bytes})
        with open(os.path.join(args.emit, "cases.json"), "w") as f:
            json.dump(index, f, indent=1)
        print(f"run_oracle: wrote {len(cases)} input images to {args.emit}")
        return 0

    failed = 0
    total = 0
    if args.check:
        for c in cases:
            total += 1
            base = os.path.join(args.check, c.name)
            try:
                with open(base + ".status") as f:
                    status = int(f.read().strip())
                with open(base + ".out.img", "rb") as f:
                    out_bytes = f.read()
                errs = verify(c, status, out_bytes, vlens[0])
            except OSError as e:
                errs = [f"missing result: {e}"]
            if errs or args.verbose:
                print(("FAIL " if errs else "ok   ") + c.name)
            for e in errs:
                print(f"     {e}")
            failed += bool(errs)
        print(f"run_oracle: {total - failed}/{total} passed")
        return 1 if failed else 0

    if not shutil.which(args.qemu) and not os.path.exists(args.qemu):
        print(f"run_oracle: {args.qemu} not found", file=sys.stderr)
        return 2
    if args.dump:
        os.makedirs(args.dump, exist_ok=True)
    index = []
    with tempfile.TemporaryDirectory() as tmp:
        for vlen in vlens:
            for case in cases:
                total += 1
                errs, dt = run_qemu(case, vlen, args.bin, args.qemu, tmp, args.dump)
                index.append({"name": case.name, "vlen": vlen, "program": case.program,
                              "status": case.expect_status})
                if errs or args.verbose:
                    print(("FAIL" if errs else "ok  ") + f" vlen={vlen} {case.name}" + (f" ({dt:.2f}s)" if dt else ""))
                for e in errs:
                    print(f"     {e}")
                failed += bool(errs)
    if args.dump:
        with open(os.path.join(args.dump, "cases.json"), "w") as f:
            json.dump(index, f, indent=1)
    print(f"run_oracle: {total - failed}/{total} passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
