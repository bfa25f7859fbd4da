#!/usr/bin/env python3
"""Runs the kernel test cases under qemu-riscv64 and checks them against the references.

    run_oracle.py --bin DIR [--vlen 128,256] [--filter SUBSTR] [--dump DIR] [-v]

DIR holds the Linux-static kernel programs (built by `make -f programs/kernels/kernels.mk
linux`). For each VLEN and case: write the input image, run
`qemu-riscv64 -cpu rv64,v=true,vlen=V,vext_spec=v1.0,Zfh=true PROGRAM in.img out.img`,
require the expected exit status, require every segment other than the destination and
the work buffer to come back unchanged, and run the case's numeric check.

--dump DIR writes, per case and VLEN, `NAME.vV.in.img` and `NAME.vV.out.img` plus an
index `cases.json` (program, status) so the emulator test can replay the same inputs and
compare its outputs byte for byte with QEMU's.

Exit status: 0 all passed, 1 some case failed, 2 environment problem (no qemu, no binary).
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


def run_case(case, vlen, bindir, qemu, tmp, dump):
    prog = os.path.join(bindir, case.program)
    if not os.path.exists(prog):
        return [f"program {prog} not built"], None
    inp = os.path.join(tmp, "in.img")
    outp = os.path.join(tmp, "out.img")
    blob = case.img.to_bytes()
    with open(inp, "wb") as f:
        f.write(blob)
    if os.path.exists(outp):
        os.remove(outp)
    t0 = time.time()
    proc = subprocess.run([qemu, "-cpu", QEMU_CPU.format(vlen=vlen), prog, inp, outp],
                          capture_output=True, timeout=600)
    dt = time.time() - t0
    errs = []
    status = proc.returncode
    if status != case.expect_status:
        errs.append(f"exit status {status} ({kabi.STATUS.get(status, '?')}), expected {case.expect_status}"
                    f"; stderr: {proc.stderr.decode(errors='replace').strip()[:300]}")
        return errs, dt
    if not os.path.exists(outp):
        return ["no output image"], dt
    with open(outp, "rb") as f:
        out_bytes = f.read()
    out = kabi.Image.from_bytes(out_bytes)
    for (a, buf), (a2, buf2) in zip(case.img.segments, out.segments):
        if a != a2 or len(buf) != len(buf2):
            errs.append(f"segment layout changed at {a:#x}")
        elif a not in case.mutable and buf != buf2:
            errs.append(f"input segment at {a:#x} was modified")
    if case.check is not None and case.expect_status == 0:
        errs += case.check(out, vlen)
    if dump:
        base = os.path.join(dump, f"{case.name}.v{vlen}")
        shutil.copyfile(inp, base + ".in.img")
        with open(base + ".out.img", "wb") as f:
            f.write(out_bytes)
    return errs, dt


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True, help="directory of Linux-static kernel programs")
    ap.add_argument("--vlen", default="128,256")
    ap.add_argument("--filter", default="")
    ap.add_argument("--dump", default="")
    ap.add_argument("--qemu", default=shutil.which("qemu-riscv64") or "qemu-riscv64")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()

    if not shutil.which(args.qemu) and not os.path.exists(args.qemu):
        print(f"run_oracle: {args.qemu} not found", file=sys.stderr)
        return 2
    vlens = [int(v) for v in args.vlen.split(",") if v]
    cases = [c for c in kcases.all_cases() if args.filter in c.name]
    if not cases:
        print(f"run_oracle: no case matches {args.filter!r}", file=sys.stderr)
        return 2
    if args.dump:
        os.makedirs(args.dump, exist_ok=True)
    failed = 0
    index = []
    with tempfile.TemporaryDirectory() as tmp:
        for vlen in vlens:
            for case in cases:
                errs, dt = run_case(case, vlen, args.bin, args.qemu, tmp, args.dump)
                index.append({"name": case.name, "vlen": vlen, "program": case.program,
                              "status": case.expect_status, "mutable": sorted(case.mutable)})
                tag = "ok  " if not errs else "FAIL"
                if errs or args.verbose:
                    print(f"{tag} vlen={vlen} {case.name}" + (f" ({dt:.2f}s)" if dt else ""))
                for e in errs:
                    print(f"     {e}")
                failed += bool(errs)
    if args.dump:
        with open(os.path.join(args.dump, "cases.json"), "w") as f:
            json.dump(index, f, indent=1)
    total = len(cases) * len(vlens)
    print(f"run_oracle: {total - failed}/{total} passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
