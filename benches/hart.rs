//! Host speed of the hart on the scalar integer loop `programs/intloop.elf` (19.0 M
//! instructions) and the RVV kernel loop `programs/vecloop.elf` (int8 dot products with
//! vle8/vwmul/vwredsum): functional only and with the timing model (through `CardMemory`).
//! Criterion's throughput is in instructions (elements) per second: Melem/s = MIPS.
//!
//! Run: `cargo bench --bench hart`. When clang-19, ld.lld-19 and qemu-riscv64 are present,
//! the same source is also built as a Linux program and timed under qemu-riscv64 (median
//! of 5 runs), printed as a note beside criterion's figures.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sail_emu::config::load_board;
use sail_emu::mem::CardMemory;
use sail_emu::program::{self, Program};
use sail_emu::timing::{CoreParams, Functional, InOrderTiming};
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn bench(c: &mut Criterion) {
    let instructions = bench_program(c, "intloop");
    bench_program(c, "vecloop");
    qemu_note(instructions);
}

/// Benchmarks `programs/<name>.elf` functional and timed; returns its instruction count.
fn bench_program(c: &mut Criterion, name: &str) -> u64 {
    let board = load_board("innerjib7ea", &[]).unwrap().board;
    let prog = Program::load(&root().join(format!("programs/{name}.elf"))).unwrap();
    // The instruction count, for the throughput.
    let mut h = program::load_card_hart(&prog, &board).unwrap();
    program::run(&mut h, &mut Functional::default(), u64::MAX, None).unwrap();
    let instructions = h.instret();

    let mut g = c.benchmark_group(name);
    g.sample_size(10);
    g.throughput(Throughput::Elements(instructions));
    g.bench_function("functional", |b| {
        b.iter(|| {
            let mut h = program::load_card_hart(&prog, &board).unwrap();
            let mut t = Functional::default();
            program::run(&mut h, &mut t, u64::MAX, None).unwrap();
            h.instret()
        })
    });
    g.bench_function("timed", |b| {
        b.iter(|| {
            let mut h = program::load_card_hart(&prog, &board).unwrap();
            let mem = CardMemory::new(&board).unwrap();
            let mut t = InOrderTiming::new(CoreParams::from_board(&board), mem);
            program::run(&mut h, &mut t, u64::MAX, None).unwrap();
            h.instret()
        })
    });
    g.finish();
    instructions
}

/// Times the same loop under qemu-riscv64 (Linux build), if the tools are installed.
fn qemu_note(instructions: u64) {
    let dir = root().join("target/bench-hart");
    let _ = std::fs::create_dir_all(&dir);
    let exe = dir.join("intloop-linux");
    let built = Command::new("clang-19")
        .args([
            "--target=riscv64-linux-gnu",
            "-march=rv64gc_zfh",
            "-mabi=lp64d",
            "-O2",
            "-ffreestanding",
            "-nostdlib",
            "-static",
            "-fuse-ld=lld",
        ])
        .arg(format!("-I{}", root().join("programs").display()))
        .arg(root().join("testbench/isa/start_linux.S"))
        .arg(root().join("programs/intloop.c"))
        .arg(root().join("programs/runtime.c"))
        .arg("-o")
        .arg(&exe)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !built {
        println!("note: clang-19 not available; qemu-riscv64 comparison skipped");
        return;
    }
    let mut times = vec![];
    for _ in 0..5 {
        let t0 = Instant::now();
        let ok = Command::new("qemu-riscv64")
            .args(["-cpu", "rv64,v=true,vlen=128,vext_spec=v1.0,Zfh=true"])
            .arg(&exe)
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if !ok {
            println!("note: qemu-riscv64 not available; comparison skipped");
            return;
        }
        times.push(t0.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    let median = times[2];
    println!(
        "qemu-riscv64 intloop: median {:.3} s over 5 runs, {:.1} MIPS (at the emulator's {} instructions)",
        median,
        instructions as f64 / median / 1e6,
        instructions
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
