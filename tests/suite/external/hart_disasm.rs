//! The decoder and disassembler against llvm-objdump-19 on every committed program: each
//! instruction llvm-objdump prints must decode to the same text, vector instructions
//! included (an encoding our decoder refuses is allowed only for vector opcodes).

use crate::support::elf::*;
use crate::support::tools::require;
use sail_emu::isa::{decode, disasm::disasm};
use std::process::Command;

fn check_elf(path: &std::path::Path) -> (usize, usize) {
    let out = Command::new("llvm-objdump-19")
        .args(["-d", "--mattr=+v,+zfh"])
        .arg(path)
        .output()
        .expect("llvm-objdump-19");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let (mut checked, mut skipped) = (0, 0);
    for line in text.lines() {
        // "80000000: 00001197     \tauipc\tgp, 0x1"
        let Some((addr, rest)) = line.split_once(":") else {
            continue;
        };
        let Ok(pc) = u64::from_str_radix(addr.trim(), 16) else {
            continue;
        };
        let mut parts = rest.trim_start().splitn(2, char::is_whitespace);
        let hex = parts.next().unwrap_or("");
        let asm = parts.next().unwrap_or("").trim();
        let Ok(raw) = u32::from_str_radix(hex, 16) else {
            continue;
        };
        if asm.starts_with('<') || asm.is_empty() || asm.starts_with(".") {
            continue; // data, unknown
        }
        // llvm-objdump: mnemonic TAB operands, then " <symbol>" after branch targets.
        let want = asm.replacen('\t', " ", 1);
        let want = match want.find(" <") {
            Some(i) => want[..i].to_string(),
            None => want,
        };
        let mnemonic = want.split(' ').next().unwrap();
        let vector = mnemonic.starts_with('v')
            || (mnemonic.starts_with("vs") || mnemonic.starts_with("vl"))
            || ((raw & 0x7f == 0x07 || raw & 0x7f == 0x27)
                && matches!((raw >> 12) & 7, 0 | 5 | 6 | 7))
            || raw & 0x7f == 0x57;
        match decode(raw) {
            Ok((inst, _)) => {
                assert_eq!(
                    disasm(&inst, Some(pc)),
                    want,
                    "{}: {pc:#x} raw {raw:#x}",
                    path.display()
                );
                checked += 1;
            }
            Err(e) => {
                assert!(
                    vector,
                    "{}: {pc:#x} `{want}` ({raw:#x}) refused: {e}",
                    path.display()
                );
                skipped += 1;
            }
        }
    }
    (checked, skipped)
}

#[test]
fn disassembly_matches_llvm_objdump_on_committed_programs() {
    if !require(&["llvm-objdump-19"]) {
        return;
    }
    let mut elfs = vec![];
    for dir in ["programs", "programs/kernels/elf"] {
        for e in std::fs::read_dir(root().join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "elf") {
                elfs.push(p);
            }
        }
    }
    elfs.sort();
    assert!(elfs.len() >= 2);
    let mut total = 0;
    for p in &elfs {
        let (c, _) = check_elf(p);
        total += c;
    }
    assert!(total > 1000, "{total}");
}

#[test]
fn disassembly_matches_llvm_objdump_on_the_differential_tests() {
    // The QEMU test programs use every scalar instruction, FP rounding modes included.
    if !require(&["llvm-objdump-19", "clang-19"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut total = 0;
    for src in ["int.c", "amo.c", "fp.c"] {
        let obj = dir.path().join(format!("{src}.o"));
        let st = Command::new("clang-19")
            .args([
                "--target=riscv64-unknown-elf",
                "-march=rv64gc_zfh",
                "-mabi=lp64d",
                "-mcmodel=medany",
                "-ffreestanding",
                "-nostdlib",
                "-O2",
                "-DITERS=1",
                "-c",
            ])
            .arg(format!("-I{}", root().join("testbench/isa").display()))
            .arg(root().join("testbench/isa").join(src))
            .arg("-o")
            .arg(&obj)
            .status()
            .unwrap();
        assert!(st.success());
        total += check_elf(&obj).0;
    }
    assert!(total > 2000, "{total}");
}
