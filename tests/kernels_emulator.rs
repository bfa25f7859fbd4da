//! The kernel programs in the emulator, checked against the same numeric oracle as under
//! QEMU (testbench/kernels/).
//!
//! - `xpop_mul_mat_matches_ggml_generic_order_in_the_emulator`: k_mul_mat_xpop.elf runs on
//!   the timed hart with its Xpop_matmul unit for Q4_0, Q8_0, Q4_K, Q6_K and BF16 weights
//!   (activations given in the dot type), and its outputs must equal, bit for bit, a model of
//!   GGML's generic dot products (and an f64 reference within the argued bound); inputs must
//!   come back unchanged.
//!
//! Needs a Python with gguf and numpy; skips locally without one, fails under CI.

mod kernels_support;

use kernels_support::*;

#[test]
fn xpop_mul_mat_matches_ggml_generic_order_in_the_emulator() {
    let Some(py) = python() else {
        available(false, "a Python with gguf and numpy ($SAIL_PYTHON)");
        return;
    };
    let dir = tmp_dir("kernels-emu-xpop");
    let d = dir.to_str().unwrap();
    oracle(&py, &["--emit", d, "--set", "xpop"]);
    let b = board(&[]);
    let cases = case_index(&dir);
    assert!(
        cases.len() >= 6,
        "expected the xpop cases, found {}",
        cases.len()
    );
    for (name, prog, _) in &cases {
        let input = Image::load(&dir.join(format!("{name}.in.img")));
        let elf = repo().join(format!("programs/kernels/elf/{prog}.elf"));
        let r = run_in_emulator(&elf, &input, &b, true);
        println!(
            "{name}: status {} cycles {} instructions {}",
            r.status, r.cycles, r.instructions
        );
        std::fs::write(dir.join(format!("{name}.out.img")), r.image.to_bytes()).unwrap();
        std::fs::write(dir.join(format!("{name}.status")), r.status.to_string()).unwrap();
    }
    let out = oracle(&py, &["--check", d, "--set", "xpop"]);
    println!("{out}");
}
