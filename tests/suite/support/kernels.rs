//! Shared by the kernel tests: the memory image format of programs/kernels/host_driver.c, and running a kernel program on the
//! emulator's hart with an image in guest memory.

#![allow(dead_code)]

use sail_emu::config::{load_board, Board};
use sail_emu::mem::CardMemory;
use sail_emu::program::{self, Program};
use sail_emu::stats::Stats;
use sail_emu::timing::{CoreParams, CoreTiming, Functional, InOrderTiming};
use std::path::{Path, PathBuf};
use std::process::Command;

pub use super::root as repo;
pub use super::tools::{python, require};

/// Runs testbench/kernels/run_oracle.py with `args`; panics with its output on failure.
pub fn oracle(py: &Path, args: &[&str]) -> String {
    let out = Command::new(py)
        .arg(repo().join("testbench/kernels/run_oracle.py"))
        .args(args)
        .output()
        .expect("run the kernel oracle");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "run_oracle.py {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

pub fn tmp_dir(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("create test temp dir");
    d
}

/// A memory image: `"SAILIMG1"`, u32 count, u32 0, then per segment u64 address, u64
/// length, the bytes and zero padding to 8.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    pub segments: Vec<(u64, Vec<u8>)>,
}

impl Image {
    pub fn parse(b: &[u8]) -> Image {
        assert!(
            b.len() >= 16 && &b[..8] == b"SAILIMG1",
            "not a SAILIMG1 image"
        );
        let n = u32::from_le_bytes(b[8..12].try_into().unwrap()) as usize;
        let mut off = 16;
        let mut segments = Vec::with_capacity(n);
        for _ in 0..n {
            let addr = u64::from_le_bytes(b[off..off + 8].try_into().unwrap());
            let len = u64::from_le_bytes(b[off + 8..off + 16].try_into().unwrap()) as usize;
            off += 16;
            segments.push((addr, b[off..off + len].to_vec()));
            off += len + (8 - len % 8) % 8;
        }
        Image { segments }
    }

    pub fn load(path: &Path) -> Image {
        Image::parse(
            &std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display())),
        )
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = b"SAILIMG1".to_vec();
        out.extend_from_slice(&(self.segments.len() as u32).to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        for (a, d) in &self.segments {
            out.extend_from_slice(&a.to_le_bytes());
            out.extend_from_slice(&(d.len() as u64).to_le_bytes());
            out.extend_from_slice(d);
            out.resize(out.len() + (8 - d.len() % 8) % 8, 0);
        }
        out
    }
}

pub fn board(overrides: &[String]) -> Board {
    load_board("innerjib7ea", overrides)
        .expect("load board innerjib7ea")
        .board
}

/// What one emulated kernel run produced.
pub struct EmuRun {
    pub status: i64,
    pub image: Image,
    pub cycles: u64,
    pub instructions: u64,
    pub stats: Stats,
}

/// Runs the bare-metal `elf` on one hart of `board` (with its matrix unit) after writing
/// `input`'s segments into guest memory; reads the same segments back after exit. Timed
/// through the card's memory system, or functional only.
pub fn run_in_emulator(elf: &Path, input: &Image, board: &Board, timed: bool) -> EmuRun {
    let prog = Program::load(elf).unwrap_or_else(|e| panic!("load {}: {e}", elf.display()));
    let mut hart = program::load_card_hart(&prog, board).expect("load the program");
    for (addr, data) in &input.segments {
        hart.mem_mut()
            .write(*addr, data)
            .unwrap_or_else(|e| panic!("write segment at {addr:#x}: {e}"));
    }
    let limit = 20_000_000_000;
    let (stop, cycles, stats) = if timed {
        let mem = CardMemory::new(board).expect("card memory");
        let mut t = InOrderTiming::new(CoreParams::from_board(board), mem);
        let stop = program::run(&mut hart, &mut t, limit, None);
        let stats = t.stats();
        (stop, t.cycles(), stats)
    } else {
        let mut t = Functional::default();
        let stop = program::run(&mut hart, &mut t, limit, None);
        let stats = t.stats();
        (stop, t.cycles(), stats)
    };
    let stop = stop.unwrap_or_else(|e| panic!("{}: {e}", elf.display()));
    let segments = input
        .segments
        .iter()
        .map(|(addr, data)| {
            let mut buf = vec![0u8; data.len()];
            hart.mem()
                .read(*addr, &mut buf)
                .unwrap_or_else(|e| panic!("read segment at {addr:#x}: {e}"));
            (*addr, buf)
        })
        .collect();
    EmuRun {
        status: stop.exit_code,
        image: Image { segments },
        cycles,
        instructions: hart.instret(),
        stats,
    }
}

/// The cases of a `cases.json` index: (name, program, expected status).
pub fn case_index(dir: &Path) -> Vec<(String, String, i64)> {
    let text = std::fs::read_to_string(dir.join("cases.json")).expect("read cases.json");
    let v: serde_json::Value = serde_json::from_str(&text).expect("parse cases.json");
    v.as_array()
        .expect("cases.json is a list")
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_string(),
                c["program"].as_str().unwrap().to_string(),
                c["status"].as_i64().unwrap(),
            )
        })
        .collect()
}
