//! The QEMU differential harness (doc/programs.md, "Differential tests"): one C source is
//! built twice, Linux-static for `qemu-riscv64` and bare-metal for the emulator, both run,
//! and their signatures (stdout) must be identical.
//!
//! Shared by `external::qemu_scalar` and the vector tests: call [`check`] with a source under
//! `testbench/isa/`, the seeds and the VLENs to run it at.
#![allow(dead_code)]

use sail_emu::config::load_board;
use sail_emu::program::{self, Program};
use sail_emu::timing::Functional;
use std::path::{Path, PathBuf};
use std::process::Command;

pub use super::root;

/// True when the cross toolchain and QEMU run (`support::tools::require`).
pub fn tools_present() -> bool {
    super::tools::require(&["clang-19", "ld.lld-19", "qemu-riscv64"])
}

fn run(cmd: &mut Command) -> Result<Vec<u8>, String> {
    let o = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if !o.status.success() {
        return Err(format!(
            "{cmd:?} failed ({}):\n{}{}",
            o.status,
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ));
    }
    Ok(o.stdout)
}

/// The two builds of one source.
pub struct Build {
    /// Bare-metal ELF for the emulator.
    pub bare: PathBuf,
    /// Linux-static executable for qemu-riscv64.
    pub linux: PathBuf,
}

/// Common compiler flags (DESIGN.md), plus the seed.
fn cflags(seed: u64, extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = [
        "-march=rv64gcv_zfh",
        "-mabi=lp64d",
        "-mcmodel=medany",
        "-ffreestanding",
        "-nostdlib",
        "-O2",
        "-Wall",
        "-Werror",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.push(format!("-DSEED={seed}"));
    v.push(format!("-I{}", root().join("testbench/isa").display()));
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

/// Builds `src` (a C file) both ways into `target/qemu-tests/`.
pub fn build(src: &Path, seed: u64, extra_cflags: &[&str]) -> Result<Build, String> {
    let stem = src.file_stem().unwrap().to_string_lossy();
    // One folder per build: tests run in parallel and may build the same source and seed,
    // and one must not overwrite the ELF another is running.
    static BUILDS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = BUILDS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = root().join("target/qemu-tests").join(format!(
        "{stem}-seed{seed}{}-{}-{n}",
        extra_cflags.join("").replace(['-', '=', ' '], "_"),
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let flags = cflags(seed, extra_cflags);
    let rt = root().join("programs/runtime.c");
    for (target, tag) in [
        ("riscv64-unknown-elf", "bare"),
        ("riscv64-linux-gnu", "linux"),
    ] {
        let t = format!("--target={target}");
        run(Command::new("clang-19")
            .arg(&t)
            .args(&flags)
            .arg("-c")
            .arg(src)
            .arg("-o")
            .arg(dir.join(format!("{tag}-test.o"))))?;
        run(Command::new("clang-19")
            .arg(&t)
            .args(&flags)
            .args(["-fno-builtin", "-march=rv64gc_zfh", "-c"])
            .arg(&rt)
            .arg("-o")
            .arg(dir.join(format!("{tag}-rt.o"))))?;
        let start = if tag == "bare" {
            root().join("programs/crt0.S")
        } else {
            root().join("testbench/isa/start_linux.S")
        };
        run(Command::new("clang-19")
            .arg(&t)
            .args(&flags)
            .arg("-c")
            .arg(&start)
            .arg("-o")
            .arg(dir.join(format!("{tag}-start.o"))))?;
    }
    let bare = dir.join("test.elf");
    run(Command::new("ld.lld-19")
        .arg("-T")
        .arg(root().join("programs/link.ld"))
        .args(["--no-relax-gp", "-static"])
        .args(["bare-start.o", "bare-test.o", "bare-rt.o"].map(|f| dir.join(f)))
        .arg("-o")
        .arg(&bare))?;
    let linux = dir.join("test-linux");
    run(Command::new("ld.lld-19")
        .arg("-static")
        .args(["linux-start.o", "linux-test.o", "linux-rt.o"].map(|f| dir.join(f)))
        .arg("-o")
        .arg(&linux))?;
    Ok(Build { bare, linux })
}

/// Runs the Linux build under qemu-riscv64 at `vlen`; returns its stdout.
pub fn run_qemu(linux: &Path, vlen: u32) -> Result<String, String> {
    let cpu = format!("rv64,v=true,vlen={vlen},vext_spec=v1.0,Zfh=true");
    let out = run(Command::new("qemu-riscv64").args(["-cpu", &cpu]).arg(linux))?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Runs the bare-metal build on the emulator (functional) with `core.vlen = vlen`; returns
/// its console output.
pub fn run_emulator(bare: &Path, vlen: u32) -> Result<String, String> {
    let board = load_board("innerjib7ea", &[format!("core.vlen={vlen}")])
        .map_err(|e| e.to_string())?
        .board;
    let prog = Program::load(bare).map_err(|e| e.to_string())?;
    let mut hart = program::load_card_hart(&prog, &board).map_err(|e| e.to_string())?;
    let stop = program::run(&mut hart, &mut Functional::default(), 2_000_000_000, None)
        .map_err(|e| format!("{}: {e}", bare.display()))?;
    if stop.exit_code != 0 {
        return Err(format!(
            "{}: exit status {}",
            bare.display(),
            stop.exit_code
        ));
    }
    Ok(String::from_utf8_lossy(&hart.mem().console).into_owned())
}

/// Compares two signatures; the error names the first differing line.
pub fn compare(what: &str, qemu: &str, emu: &str) -> Result<usize, String> {
    let (q, e): (Vec<&str>, Vec<&str>) = (qemu.lines().collect(), emu.lines().collect());
    for (i, (a, b)) in q.iter().zip(e.iter()).enumerate() {
        if a != b {
            return Err(format!(
                "{what}: signature line {} differs\n  qemu:     {a}\n  emulator: {b}",
                i + 1
            ));
        }
    }
    if q.len() != e.len() {
        return Err(format!(
            "{what}: qemu printed {} lines, the emulator {}",
            q.len(),
            e.len()
        ));
    }
    Ok(q.len())
}

/// Builds `testbench/isa/<rel>` for each seed, runs it under QEMU and the emulator at each
/// VLEN, and fails on the first signature difference. Returns the lines compared.
pub fn check(rel: &str, seeds: &[u64], vlens: &[u32], extra_cflags: &[&str]) -> usize {
    let src = root().join("testbench/isa").join(rel);
    let mut lines = 0;
    for &seed in seeds {
        let b = build(&src, seed, extra_cflags).unwrap_or_else(|e| panic!("{e}"));
        for &vlen in vlens {
            let q = run_qemu(&b.linux, vlen).unwrap_or_else(|e| panic!("{e}"));
            let e = run_emulator(&b.bare, vlen).unwrap_or_else(|e| panic!("{e}"));
            let what = format!("{rel} seed {seed} vlen {vlen}");
            lines += compare(&what, &q, &e).unwrap_or_else(|e| panic!("{e}"));
        }
    }
    assert!(lines > 0, "{rel}: no signature lines compared");
    lines
}
