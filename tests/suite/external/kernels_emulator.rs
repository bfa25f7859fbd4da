//! The kernel programs in the emulator, checked against the same numeric oracle as under
//! QEMU (testbench/kernels/).
//!
//! - `xpop_mul_mat_matches_ggml_generic_order_in_the_emulator`: k_mul_mat_xpop.elf runs on
//!   the timed hart with its Xpop_matmul unit for Q4_0, Q8_0, Q4_K, Q6_K and BF16 weights
//!   (activations given in the dot type or converted from F32 by the RVV quantizers), and its outputs must equal, bit for bit, a model of
//!   GGML's generic dot products (and an f64 reference within the argued bound); inputs must
//!   come back unchanged.
//!
//! - `rvv_kernels_match_qemu_bit_for_bit_in_the_emulator`: every case of the QEMU oracle set
//!   (all RVV kernels, VLEN 128 and 256) replayed on the timed hart with the board's VLEN set
//!   to match: same exit status, and every guest-memory segment byte-identical to QEMU's.
//!
//! Needs a Python with gguf and numpy (and clang-19 + qemu-riscv64 for the QEMU comparison);
//! missing tools are reported (`support::tools`).

use crate::support::kernels::*;

/// SAIL_DESC_ADDR of programs/kernels/ggml_abi.h.
const DESC_ADDR: u64 = 0x8100_0000;

#[test]
fn xpop_mul_mat_matches_ggml_generic_order_in_the_emulator() {
    let Some(py) = python() else { return };
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

/// The roofline bound of an RVV kernel in cycles: MACs at the vector unit's peak (4 int8 or 1
/// f32 multiply-accumulate per 32-bit lane per cycle) against the bytes it must move at the
/// DDR peak.
fn rvv_roofline_cycles(b: &sail_emu::config::Board, macs: f64, kind: &str, bytes: f64) -> f64 {
    let lanes = b.core.vector_lanes as f64;
    let peak = match kind {
        "int8" => 4.0 * lanes,
        "f32" => lanes,
        _ => f64::INFINITY,
    };
    let ddr_bytes_per_cycle =
        b.memory.data_rate.per_sec() * b.memory.bus_width.bytes() as f64 / b.clock.hz();
    (macs / peak).max(bytes / ddr_bytes_per_cycle)
}

#[test]
fn rvv_kernels_tinyllama_decode_shapes_are_exact_and_above_the_roofline() {
    let Some(py) = python() else { return };
    let dir = tmp_dir("kernels-emu-tinyllama-rvv");
    let d = dir.to_str().unwrap();
    oracle(&py, &["--emit", d, "--set", "tinyllama_rvv"]);
    let b = board(&[]);
    let text = std::fs::read_to_string(dir.join("cases.json")).unwrap();
    let index: serde_json::Value = serde_json::from_str(&text).unwrap();
    println!("| kernel | cycles | instructions | bound | ratio | VPU busy | bytes |");
    println!("|---|---|---|---|---|---|---|");
    for c in index.as_array().unwrap() {
        let name = c["name"].as_str().unwrap();
        let prog = c["program"].as_str().unwrap();
        let input = Image::load(&dir.join(format!("{name}.in.img")));
        let elf = repo().join(format!("programs/kernels/elf/{prog}.elf"));
        let r = run_in_emulator(&elf, &input, &b, true);
        std::fs::write(dir.join(format!("{name}.out.img")), r.image.to_bytes()).unwrap();
        std::fs::write(dir.join(format!("{name}.status")), r.status.to_string()).unwrap();
        let bytes = c["bytes"].as_f64().unwrap();
        let macs = c["macs"].as_f64().unwrap();
        let bound = rvv_roofline_cycles(&b, macs, c["mac_kind"].as_str().unwrap(), bytes);
        let vpu = r.stats.get("vpu.busy_cycles").unwrap_or(f64::NAN);
        println!(
            "| {name} | {} | {} | {bound:.0} | {:.1} | {vpu:.0} | {bytes:.0} |",
            r.cycles,
            r.instructions,
            r.cycles as f64 / bound
        );
        assert!(
            r.cycles as f64 >= bound,
            "{name}: {} cycles beat the roofline bound {bound:.0}",
            r.cycles
        );
    }
    let out = oracle(&py, &["--check", d, "--set", "tinyllama_rvv"]);
    println!("{out}");
}

#[test]
fn xpop_mul_mat_tinyllama_shapes_are_exact_and_above_the_roofline() {
    let Some(py) = python() else { return };
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

/// Every RVV kernel case of the QEMU oracle, at VLEN 128 and 256: the emulator (timed, the
/// board's VLEN overridden) must exit with QEMU's status and leave every segment of guest
/// memory byte-identical to QEMU's output image.
#[test]
fn rvv_kernels_match_qemu_bit_for_bit_in_the_emulator() {
    let Some(py) = python() else { return };
    if !require(&["clang-19", "ld.lld-19", "make", "qemu-riscv64"]) {
        return;
    }
    let bin = tmp_dir("kernels-emu-qemu-bin");
    let out = std::process::Command::new("make")
        .arg("-f")
        .arg(repo().join("programs/kernels/kernels.mk"))
        .arg("kernels-linux")
        .arg(format!("KERNELS_LINUX_OUT={}", bin.display()))
        .current_dir(repo())
        .output()
        .expect("make");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dump = tmp_dir("kernels-emu-qemu-dump");
    oracle(
        &py,
        &[
            "--bin",
            bin.to_str().unwrap(),
            "--vlen",
            "128,256",
            "--dump",
            dump.to_str().unwrap(),
        ],
    );
    let text = std::fs::read_to_string(dump.join("cases.json")).unwrap();
    let index: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut failures = Vec::new();
    let mut ran = 0;
    for c in index.as_array().unwrap() {
        let name = c["name"].as_str().unwrap();
        let prog = c["program"].as_str().unwrap();
        let vlen = c["vlen"].as_u64().unwrap();
        let b = board(&[format!("core.vlen={vlen}")]);
        let input = Image::load(&dump.join(format!("{name}.v{vlen}.in.img")));
        let qemu = Image::load(&dump.join(format!("{name}.v{vlen}.out.img")));
        let elf = repo().join(format!("programs/kernels/elf/{prog}.elf"));
        let r = run_in_emulator(&elf, &input, &b, true);
        ran += 1;
        if r.status != c["status"].as_i64().unwrap() {
            failures.push(format!(
                "{name} vlen {vlen}: status {} (QEMU {})",
                r.status, c["status"]
            ));
            continue;
        }
        for ((a, e), (_, q)) in r.image.segments.iter().zip(&qemu.segments) {
            if e != q {
                let first = e.iter().zip(q).position(|(x, y)| x != y).unwrap();
                failures.push(format!(
                    "{name} vlen {vlen}: segment {a:#x} differs from QEMU first at byte {first}"
                ));
            }
        }
        println!(
            "{name} vlen {vlen}: {} cycles, {} instructions",
            r.cycles, r.instructions
        );
    }
    assert!(ran >= 100, "expected the whole QEMU case set, ran {ran}");
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The same descriptor with different data (random, or all zeros) must take the same
/// cycles: the system runner reuses the timing of identical invocations (src/system/card.rs).
/// Every pair is also checked against the oracle. get_rows is not in the set: which row it
/// reads is its index's value, and so are the DDR rows and banks it touches.
#[test]
fn kernel_cycles_depend_on_the_descriptor_not_the_data() {
    let Some(py) = python() else { return };
    let dir = tmp_dir("kernels-emu-invariance");
    let d = dir.to_str().unwrap();
    oracle(&py, &["--emit", d, "--set", "timing_invariance"]);
    let b = board(&[]);
    let mut by_stem: std::collections::BTreeMap<String, Vec<(u64, Vec<u8>)>> = Default::default();
    for (name, prog, _) in case_index(&dir) {
        let input = Image::load(&dir.join(format!("{name}.in.img")));
        let elf = repo().join(format!("programs/kernels/elf/{prog}.elf"));
        let r = run_in_emulator(&elf, &input, &b, true);
        std::fs::write(dir.join(format!("{name}.out.img")), r.image.to_bytes()).unwrap();
        std::fs::write(dir.join(format!("{name}.status")), r.status.to_string()).unwrap();
        let stem = name.split("__").next().unwrap().to_string();
        let desc = input
            .segments
            .iter()
            .find(|(a, _)| *a == DESC_ADDR)
            .unwrap()
            .1
            .clone();
        by_stem.entry(stem).or_default().push((r.cycles, desc));
    }
    assert!(
        by_stem.len() >= 15,
        "expected the invariance pairs, found {}",
        by_stem.len()
    );
    for (stem, runs) in &by_stem {
        assert_eq!(runs.len(), 2, "{stem}: expected a pair");
        assert_eq!(
            runs[0].1, runs[1].1,
            "{stem}: the pair's descriptors differ"
        );
        assert_eq!(
            runs[0].0, runs[1].0,
            "{stem}: same descriptor, different data, different cycles"
        );
    }
    oracle(&py, &["--check", d, "--set", "timing_invariance"]);
}
