//! Reliability: the reproducers of issue 16, each turned into a regression test (bad input
//! gives a clear message naming the file, key, PC or limit, a non-zero exit, and no panic),
//! plus proptest fuzz generators for board YAML, `--set`, manifests, GGUF, ELF and sweep
//! specs that assert no panic and bounded work (doc/validation.md, "Fuzzing").

use crate::support::elf::*;
use crate::support::*;
use proptest::prelude::*;
use sail_emu::config::{load_board, parse_board};
use sail_emu::program::{self, Program, RunError};
use sail_emu::timing::Functional;
use std::path::Path;
use std::process::Command;

/// Runs the CLI; asserts a clean failure (exit code neither 0 nor 101, no panic) whose
/// message contains every one of `want`.
fn fails_cleanly(args: &[&str], want: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_emulate"))
        .args(args)
        .current_dir(root())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    let code = out.status.code();
    assert!(
        code != Some(0) && code != Some(101),
        "{args:?}: exit {code:?}\n{err}"
    );
    assert!(!err.contains("panicked"), "{args:?} panicked:\n{err}");
    for w in want {
        assert!(err.contains(w), "{args:?}: `{w}` not in\n{err}");
    }
}

#[test]
fn board_values_past_their_limits_are_refused_naming_key_and_limit() {
    let cases: &[(&str, &[&str])] = &[
        (
            "memory.capacity=1024TiB",
            &["memory.capacity", "MAX_DDR_CAPACITY"],
        ),
        (
            "memory.timing.tCCD=4e9 cycles",
            &["memory.timing.tCCD", "MAX_DRAM_CLOCKS"],
        ),
        (
            "memory.timing.tRTP=7.5e15 ns",
            &["memory.timing.tRTP", "MAX_DRAM_TIMING_NS"],
        ),
        ("memory.timing.tCL=1e20 cycles", &["tCL", "too large"]),
        (
            "memory.base=18446744069414584320",
            &["memory.base", "address space"],
        ),
        ("memory.base=268435456", &["memory.base", "MMIO"]),
        ("cards=16777216", &["cards", "MAX_CARDS"]),
        ("memory.capacity=1e30 B", &["too large"]),
    ];
    for (set, want) in cases {
        fails_cleanly(&["--set", set, "boards", "show", "innerjib7ea"], want);
    }
}

#[test]
fn cli_numbers_past_their_limits_are_refused() {
    fails_cleanly(&["run", "--cards", "16777216"], &["--cards", "MAX_CARDS"]);
    fails_cleanly(
        &["collective", "allreduce", "--cards", "4294967295"],
        &["--cards", "MAX_CARDS"],
    );
    fails_cleanly(
        &["run", "--tokens", "18446744073709551615"],
        &["--tokens 18446744073709551615", "--context"],
    );
    fails_cleanly(
        &[
            "manifest",
            "graph",
            "tinyllama-1.1b-q4_k_m",
            "--position",
            "18446744073709551615",
        ],
        &["18446744073709551615", "KV cache"],
    );
}

#[test]
fn an_endless_file_is_refused_at_the_program_size_limit() {
    if Path::new("/dev/zero").exists() {
        fails_cleanly(
            &["kernel", "/dev/zero"],
            &["/dev/zero", "MAX_PROGRAM_BYTES"],
        );
    }
}

#[test]
fn the_cycle_limit_holds_inside_one_xpop_mm() {
    // A valid Q4_K product whose MACs alone (5632 x 2048 / 128 = 90 112 cycles) need more
    // cycles than the limit leaves.
    fails_cleanly(
        &[
            "kernel",
            "--node",
            "blk.0.ffn_up",
            "--past",
            "8",
            "--max-cycles",
            "50000",
        ],
        &["xpop.mm at pc", "50000-cycle limit", "--max-cycles"],
    );
}

#[test]
fn a_spinning_program_stops_at_the_limit_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let elf = write_elf(dir.path(), "spin.elf", &[j(0)]);
    fails_cleanly(
        &["kernel", elf.to_str().unwrap(), "--max-cycles", "5000"],
        &["no exit after 5000 cycles", "--max-cycles"],
    );
}

/// An ELF with the given PT_LOAD segments `(addr, bytes, mem_size, flags)`, entry `entry`.
fn elf_with(entry: u64, segs: &[(u64, Vec<u8>, u64, u32)]) -> Vec<u8> {
    let mut e = Vec::new();
    e.extend_from_slice(b"\x7fELF");
    e.extend_from_slice(&[2, 1, 1, 0]);
    e.extend_from_slice(&[0; 8]);
    e.extend_from_slice(&2u16.to_le_bytes());
    e.extend_from_slice(&243u16.to_le_bytes());
    e.extend_from_slice(&1u32.to_le_bytes());
    e.extend_from_slice(&entry.to_le_bytes());
    e.extend_from_slice(&64u64.to_le_bytes());
    e.extend_from_slice(&0u64.to_le_bytes());
    e.extend_from_slice(&5u32.to_le_bytes());
    e.extend_from_slice(&64u16.to_le_bytes());
    e.extend_from_slice(&56u16.to_le_bytes());
    e.extend_from_slice(&(segs.len() as u16).to_le_bytes());
    e.extend_from_slice(&[64, 0, 0, 0, 0, 0]);
    let mut off = 64 + 56 * segs.len() as u64;
    for (addr, data, mem, flags) in segs {
        e.extend_from_slice(&1u32.to_le_bytes());
        e.extend_from_slice(&flags.to_le_bytes());
        e.extend_from_slice(&off.to_le_bytes());
        e.extend_from_slice(&addr.to_le_bytes());
        e.extend_from_slice(&addr.to_le_bytes());
        e.extend_from_slice(&(data.len() as u64).to_le_bytes());
        e.extend_from_slice(&mem.to_le_bytes());
        e.extend_from_slice(&4u64.to_le_bytes());
        off += data.len() as u64;
    }
    for (_, data, _, _) in segs {
        e.extend_from_slice(data);
    }
    e
}

fn code(words: &[u32]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_le_bytes()).collect()
}

const DDR: u64 = 0x8000_0000;
const SCRATCH: u64 = 0x2000_0000;

fn run_elf(bytes: &[u8]) -> (Result<program::RunStop, RunError>, sail_emu::hart::Hart) {
    let b = load_board("innerjib7ea", &[]).unwrap().board;
    let p = Program::parse(bytes, Path::new("t.elf")).unwrap();
    let mut hart = program::load_card_hart(&p, &b).unwrap();
    let r = program::run(&mut hart, &mut Functional::default(), 1_000_000, None);
    (r, hart)
}

#[test]
fn executable_segments_far_apart_and_a_huge_bss_cost_no_host_memory() {
    // Text in DDR, an executable segment in the scratchpad 1.5 GiB below it, and a 2 GiB
    // .bss: the decode cache and .bss used to allocate gigabytes here.
    let mut main = vec![addi(10, 0, 0)];
    main.extend(exit_seq());
    let elf = elf_with(
        DDR,
        &[
            (DDR, code(&main), 64, 5),
            (SCRATCH, code(&[addi(0, 0, 0)]), 4, 5),
            (DDR + 0x1000, vec![1, 2, 3], 2 << 30, 6),
        ],
    );
    let (r, hart) = run_elf(&elf);
    assert_eq!(r.unwrap().exit_code, 0);
    assert!(
        hart.mem().resident_bytes() <= 4 << 16,
        "{} bytes resident",
        hart.mem().resident_bytes()
    );
    assert_eq!(hart.mem().read_uint(DDR + 0x1001, 2).unwrap(), 0x0302);
    assert_eq!(hart.mem().read_uint(DDR + 0x1003, 8).unwrap(), 0);
}

#[test]
fn overlapping_segments_are_refused_naming_both() {
    let elf = elf_with(
        DDR,
        &[
            (DDR, code(&[j(0)]), 0x100, 5),
            (DDR + 0x80, vec![0; 8], 8, 6),
        ],
    );
    let e = Program::parse(&elf, Path::new("o.elf"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("o.elf") && e.contains("overlap"), "{e}");
    let wraps = elf_with(u64::MAX - 3, &[(u64::MAX - 3, vec![0; 4], 64, 5)]);
    let e = Program::parse(&wraps, Path::new("w.elf"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("address space"), "{e}");
}

/// Stores `size` bytes of x5 (= 7) at MMIO offset `off`: sb/sh/sw/sd.
fn mmio_store(off: i32, size: u32) -> Vec<u32> {
    let f3 = size.trailing_zeros();
    let st = (((off as u32 >> 5) & 0x7f) << 25)
        | (5 << 20)
        | (6 << 15)
        | (f3 << 12)
        | ((off as u32 & 31) << 7)
        | 0x23;
    let mut v = vec![lui(6, 0x10000), addi(5, 0, 7), st, addi(10, 0, 0)];
    v.extend(exit_seq());
    v
}

#[test]
fn mmio_takes_only_its_two_registers() {
    // Undefined offset, partial exit store, store straddling the exit register.
    for (off, size) in [(0x10, 8), (0x8, 1), (0x8, 2), (0xc, 8), (0x4, 8)] {
        let (r, _) = run_elf(&elf_bytes(&mmio_store(off, size)));
        let e = r.unwrap_err();
        assert!(
            matches!(e, RunError::OutOfBounds { .. }) && e.to_string().contains("MMIO page"),
            "+{off:#x}/{size}: {e}"
        );
    }
    // The console and exit registers still work.
    let (r, hart) = run_elf(&elf_bytes(&mmio_store(0, 1)));
    assert_eq!(r.unwrap().exit_code, 0);
    assert_eq!(hart.mem().console, vec![7]);
    let (r, _) = run_elf(&elf_bytes(&mmio_store(8, 4)));
    assert_eq!(r.unwrap().exit_code, 7);
}

#[test]
fn a_vector_store_to_the_console_is_refused() {
    // vsetivli x0, 4, e32; vse32.v v0, (x6) with x6 = the console.
    let vsetivli = (0b11 << 30) | (0b010_000 << 20) | (4 << 15) | (7 << 12) | 0x57;
    let vse32 = (1 << 25) | (6 << 15) | (6 << 12) | 0x27;
    let mut v = vec![lui(6, 0x10000), vsetivli, vse32, addi(10, 0, 0)];
    v.extend(exit_seq());
    let (r, _) = run_elf(&elf_bytes(&v));
    let e = r.unwrap_err().to_string();
    assert!(e.contains("16 bytes") && e.contains("MMIO page"), "{e}");
}

#[test]
fn ecall_exit_keeps_the_low_8_bits_and_write_is_not_cut() {
    let mut v = vec![addi(10, 0, 256)];
    v.extend(exit_seq());
    let (r, _) = run_elf(&elf_bytes(&v));
    assert_eq!(
        r.unwrap().exit_code,
        0,
        "exit(256) is status 0, as on Linux"
    );
    // write(1, DDR, 2 MiB): all of it reaches the console.
    let mut v = vec![
        addi(10, 0, 1),
        lui(11, 0x40000),
        add(11, 11, 11), // 0x8000_0000 (lui alone would sign-extend)
        lui(12, 0x200),
        addi(17, 0, 64),
        ECALL,
        addi(10, 0, 0),
    ];
    v.extend(exit_seq());
    let (r, hart) = run_elf(&elf_bytes(&v));
    r.unwrap();
    assert_eq!(hart.mem().console.len(), 2 << 20);
}

#[test]
fn regress_refuses_an_infinite_tolerance_naming_the_suite() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("suite.toml");
    std::fs::write(
        &p,
        "golden = \"g.json\"\n[[case]]\nname = \"a\"\nargv = [\"boards\"]\nmetrics = [\"x\"]\ntolerance = inf\n",
    )
    .unwrap();
    let e = format!("{:#}", sail_emu::regress::Suite::load(&p).unwrap_err());
    assert!(e.contains("suite.toml") && e.contains("finite"), "{e}");
}

// ---- Fuzzing: proptest generators (doc/validation.md, "Fuzzing") -------------------------

const KEYS: &[&str] = &[
    "cards",
    "clock",
    "core.vlen",
    "core.vector_lanes",
    "core.latency.int_mul",
    "matmul.int8_macs_per_cycle",
    "matmul.fill",
    "matmul.a_buffer",
    "scratchpad.base",
    "scratchpad.size",
    "memory.base",
    "memory.capacity",
    "memory.banks",
    "memory.row_size",
    "memory.timing.tCL",
    "memory.timing.tCCD",
    "memory.timing.tRTP",
    "memory.timing.tREFI",
    "memory.controller.queue_depth",
    "memory.regimes.page_size",
    "memory.regimes.staging_window",
    "intercard.lanes",
    "intercard.frame_payload",
    "host_link.mtu",
    "host_link.latency",
    "nope.key",
];
const UNITS: &[&str] = &[
    "", " B", " GiB", " TiB", " cycles", " ns", " us", " MHz", " Gbps", " MT/s", " parsecs",
];

fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<u64>().prop_map(|v| v.to_string()),
        any::<f64>().prop_map(|v| v.to_string()),
        (0u32..70).prop_map(|e| format!("1e{e}")),
        Just("-1".to_string()),
        Just("NaN".to_string()),
        "[ -~]{0,12}",
    ]
}

fn board_text() -> String {
    std::fs::read_to_string(root().join("boards/innerjib7ea.yaml")).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    /// `--set` with any key, number and unit: an error or a board within its limits.
    #[test]
    fn fuzz_set_overrides(k in 0..KEYS.len(), v in number(), u in 0..UNITS.len()) {
        let text = board_text();
        let set = format!("{}={v}{}", KEYS[k], UNITS[u]);
        if let Ok(b) = parse_board(&text, "b.yaml", &[set]) {
            prop_assert!(b.memory.capacity.bytes() <= sail_emu::config::limits::MAX_DDR_CAPACITY);
            prop_assert!(b.cards as u64 <= sail_emu::config::limits::MAX_CARDS);
            // A valid board builds its card memory map without wrapping.
            let map = program::MemoryMap::from_board(&b);
            let _ = map.guest_memory();
        }
    }

    /// Board YAML with bytes replaced: never a panic.
    #[test]
    fn fuzz_board_yaml(edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8)) {
        let mut t = board_text().into_bytes();
        for (i, b) in edits {
            let at = i.index(t.len());
            t[at] = b;
        }
        let _ = parse_board(&String::from_utf8_lossy(&t), "b.yaml", &[]);
    }

    /// Manifest text with bytes replaced: never a panic.
    #[test]
    fn fuzz_manifest(edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8)) {
        let text = std::fs::read_to_string(root().join("manifests/tinyllama-1.1b-q4_0.yaml")).unwrap();
        let mut t = text.into_bytes();
        for (i, b) in edits {
            let at = i.index(t.len());
            t[at] = b;
        }
        let _ = sail_emu::workload::manifest::Manifest::parse(&String::from_utf8_lossy(&t), "m.yaml");
    }

    /// GGUF headers with random counts and lengths: never a panic, never a huge allocation
    /// (the reader checks every count against the file length first).
    #[test]
    fn fuzz_gguf(version in 0u32..5, tensors in any::<u64>(), kvs in any::<u64>(), tail in proptest::collection::vec(any::<u8>(), 0..256)) {
        let mut b = b"GGUF".to_vec();
        b.extend_from_slice(&version.to_le_bytes());
        b.extend_from_slice(&tensors.to_le_bytes());
        b.extend_from_slice(&kvs.to_le_bytes());
        b.extend_from_slice(&tail);
        let len = b.len() as u64;
        let _ = sail_emu::workload::gguf::parse_gguf(std::io::Cursor::new(b), len, "f.gguf");
    }

    /// ELF bytes with fields replaced: never a panic; a program that loads runs for a bounded
    /// number of cycles.
    #[test]
    fn fuzz_elf(edits in proptest::collection::vec((0usize..140, any::<u8>()), 1..6)) {
        let mut e = elf_bytes(&[addi(10, 0, 3), addi(17, 0, 93), ECALL]);
        for (i, b) in edits {
            let at = i % e.len();
            e[at] = b;
        }
        let b = load_board("innerjib7ea", &[]).unwrap().board;
        if let Ok(p) = Program::parse(&e, Path::new("f.elf")) {
            if let Ok(mut hart) = program::load_card_hart(&p, &b) {
                let _ = program::run(&mut hart, &mut Functional::default(), 10_000, None);
                prop_assert!(hart.mem().resident_bytes() <= 16 << 16);
            }
        }
    }

    /// Sweep spec text with bytes replaced: never a panic.
    #[test]
    fn fuzz_sweep_spec(edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6)) {
        let text = std::fs::read_to_string(root().join("testbench/sweeps/multicard.toml")).unwrap();
        let mut t = text.into_bytes();
        for (i, b) in edits {
            let at = i.index(t.len());
            t[at] = b;
        }
        let _ = sail_emu::sweep::spec::SweepSpec::parse(&String::from_utf8_lossy(&t));
    }
}
