//! Whole-program vector differential test: `testbench/isa/vector/rvv.c` (RVV intrinsics:
//! GGML-style q4_0 dot product and q8_0 quantization, strip-mined integer/fixed-point/FP
//! loops in every rounding mode, permutes, masks, strided and indexed memory) built once as
//! a Linux-static binary for qemu-riscv64 and once bare-metal for the emulator, at VLEN 128
//! and 256, through the shared harness (`support::qemu`).

use crate::support::qemu::{build, check, root, run_qemu, tools_present};

/// The source builds and runs under QEMU at both VLENs and prints its signature.
#[test]
fn rvv_program_runs_under_qemu() {
    if !tools_present() {
        return;
    }
    let src = root().join("testbench/isa/vector/rvv.c");
    let b = build(&src, 1, &[]).unwrap_or_else(|e| panic!("{e}"));
    for vlen in [128, 256] {
        let out = run_qemu(&b.linux, vlen).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            out.lines().count() > 300,
            "VLEN {vlen}: {} lines",
            out.lines().count()
        );
    }
}

/// The emulator (the full hart with its vector unit) prints the same signature as QEMU.
#[test]
fn rvv_program_matches_qemu() {
    if tools_present() {
        let n = check("vector/rvv.c", &[1, 2], &[128, 256], &[]);
        assert!(n > 1200, "{n} lines compared");
    }
}
