//! The GGML kernel set (programs/kernels/) against its two references, under QEMU:
//!
//! - every kernel, built as a Linux-static program, runs under `qemu-riscv64` at VLEN 128
//!   and 256 on inputs built from seeds by `testbench/kernels/`, and its output must match
//!   the numeric oracle (the `gguf` package's block formats and dequantizers, order models
//!   of the kernels' float arithmetic, independent float64 references with argued bounds);
//! - the committed bare-metal ELFs must be exactly what the sources build to.
//!
//! Needs clang-19, ld.lld-19, make, qemu-riscv64 and a Python with `gguf` and `numpy`
//! (`$SAIL_PYTHON`, else python3). Missing tools are reported: see `support::tools`.

use crate::support::kernels::*;
use std::path::Path;
use std::process::Command;

fn toolchain_available() -> bool {
    require(&["clang-19", "ld.lld-19", "make"])
}

fn make(args: &[&str]) {
    let out = Command::new("make")
        .arg("-f")
        .arg(repo().join("programs/kernels/kernels.mk"))
        .args(args)
        .current_dir(repo())
        .output()
        .expect("run make");
    assert!(
        out.status.success(),
        "make {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn kernels_match_the_numeric_oracle_under_qemu() {
    let Some(py) = python() else { return };
    if !toolchain_available() || !require(&["qemu-riscv64"]) {
        return;
    }
    let bin = tmp_dir("kernels-linux");
    make(&[
        "kernels-linux",
        &format!("KERNELS_LINUX_OUT={}", bin.display()),
    ]);
    let out = Command::new(&py)
        .arg(repo().join("testbench/kernels/run_oracle.py"))
        .arg("--bin")
        .arg(&bin)
        .args(["--vlen", "128,256"])
        .output()
        .expect("run the oracle");
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "kernel oracle failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // every case ran at both VLENs
    assert!(
        stdout.contains("passed"),
        "no summary line in the oracle output"
    );
}

fn elf_names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".elf"))
        .collect();
    v.sort();
    v
}

#[test]
fn committed_kernel_elfs_match_their_sources() {
    if !toolchain_available() {
        return;
    }
    let out = tmp_dir("kernels-bare");
    let elf = out.join("elf");
    let _ = std::fs::remove_dir_all(&elf);
    make(&[
        "kernels-bare",
        &format!("KERNELS_BARE_OUT={}", elf.display()),
        &format!("KERNELS_LINUX_OUT={}", out.join("obj").display()),
    ]);
    let committed = repo().join("programs/kernels/elf");
    let names = elf_names(&committed);
    assert_eq!(
        names,
        elf_names(&elf),
        "the set of committed kernel ELFs differs from what kernels.mk builds"
    );
    assert!(
        names.len() >= 11,
        "expected the whole kernel set, found {names:?}"
    );
    for n in &names {
        let a = std::fs::read(committed.join(n)).expect("read committed ELF");
        let b = std::fs::read(elf.join(n)).expect("read rebuilt ELF");
        assert!(
            a == b,
            "programs/kernels/elf/{n} is stale: rebuild with `make -f programs/kernels/kernels.mk`"
        );
    }
}
