//! Differential tests of the scalar ISA against qemu-riscv64: integer and M, A, F/D/Zfh
//! (every rounding mode, fflags, NaN boxing) and compressed code (every source is compiled
//! with C), on seeded random inputs.

use crate::support::qemu::{check, tools_present};

/// Scalar sources are built without V (no auto-vectorisation, no vector copies).
const SCALAR: &[&str] = &["-march=rv64gc_zfh"];

#[test]
fn integer_and_m_match_qemu() {
    if tools_present() {
        let n = check("int.c", &[1, 2, 3], &[128], SCALAR);
        assert!(n > 8000, "{n}");
    }
}

#[test]
fn atomics_match_qemu() {
    if tools_present() {
        check("amo.c", &[1, 2], &[128], SCALAR);
    }
}

#[test]
fn fp_f_d_zfh_rounding_and_flags_match_qemu() {
    if tools_present() {
        let n = check("fp.c", &[1, 2], &[128], SCALAR);
        assert!(n > 40_000, "{n}");
    }
}

#[test]
fn compiled_rvv_code_matches_qemu_at_vlen_128_and_256() {
    // Auto-vectorised loops and GGML-style intrinsics, end to end through the hart.
    if tools_present() {
        let n = check("rvv.c", &[1, 2], &[128, 256], &[]);
        assert!(n > 3000, "{n}");
    }
}
