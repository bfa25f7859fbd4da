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

/// SAIL_DESC_ADDR of programs/kernels/ggml_abi.h.
const DESC_ADDR: u64 = 0x8100_0000;

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

/// The roofline bound of one run in cycles: the larger of the unit's MAC time at its peak
/// rate and the time to move every operand and result byte once at the DDR peak.
fn roofline_cycles(b: &sail_emu::config::Board, macs: f64, bf16: bool, bytes: f64) -> f64 {
    let macs_per_cycle = if bf16 {
        b.matmul.bf16_macs_per_cycle
    } else {
        b.matmul.int8_macs_per_cycle
    } as f64;
    let ddr_bytes_per_cycle =
        b.memory.data_rate.per_sec() * b.memory.bus_width.bytes() as f64 / b.clock.hz();
    (macs / macs_per_cycle).max(bytes / ddr_bytes_per_cycle)
}

#[test]
fn xpop_mul_mat_tinyllama_shapes_are_exact_and_above_the_roofline() {
    let Some(py) = python() else {
        available(false, "a Python with gguf and numpy ($SAIL_PYTHON)");
        return;
    };
    let dir = tmp_dir("kernels-emu-tinyllama");
    let d = dir.to_str().unwrap();
    oracle(&py, &["--emit", d, "--set", "tinyllama_xpop"]);
    let b = board(&[]);
    println!(
        "| shape | cycles | bound | ratio | unit utilisation | tensor bytes | unit bytes moved |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (name, prog, _) in case_index(&dir) {
        let input = Image::load(&dir.join(format!("{name}.in.img")));
        let elf = repo().join(format!("programs/kernels/elf/{prog}.elf"));
        let r = run_in_emulator(&elf, &input, &b, true);
        std::fs::write(dir.join(format!("{name}.out.img")), r.image.to_bytes()).unwrap();
        std::fs::write(dir.join(format!("{name}.status")), r.status.to_string()).unwrap();
        let get = |k: &str| r.stats.get(k).unwrap_or_else(|| panic!("stat {k} missing"));
        let macs = get("matmul.macs");
        // every tensor once: weights, activations and the result (the descriptor page aside)
        let bytes: usize = input
            .segments
            .iter()
            .filter(|(a, _)| *a != DESC_ADDR)
            .map(|(_, d)| d.len())
            .sum();
        let bound = roofline_cycles(&b, macs, name.contains("bf16"), bytes as f64);
        println!(
            "| {name} | {} | {bound:.0} | {:.2} | {:.3} | {bytes} | {:.0} |",
            r.cycles,
            r.cycles as f64 / bound,
            get("matmul.utilisation"),
            get("matmul.bytes.operands") + get("matmul.bytes.results")
        );
        assert!(
            r.cycles as f64 >= bound,
            "{name}: {} cycles beat the roofline bound {bound:.0}",
            r.cycles
        );
    }
    let out = oracle(&py, &["--check", d, "--set", "tinyllama_xpop"]);
    println!("{out}");
}
