//! The core timing model against closed forms, and functional-only vs timed runs leaving
//! identical architectural state.

use crate::support::elf::*;
use sail_emu::config::load_board;
use sail_emu::hart::Hart;
use sail_emu::mem::fixed::FixedLatency;
use sail_emu::mem::CardMemory;
use sail_emu::mem::{MemoryModel, Request};
use sail_emu::program::{self, MemoryMap, Program};
use sail_emu::timing::{CoreParams, CoreTiming, Functional, InOrderTiming};
use sail_emu::units::Time;
use std::path::Path;

fn board() -> sail_emu::config::Board {
    load_board("innerjib7ea", &[]).unwrap().board
}

/// A memory with a closed-form latency: the PHY's read latency plus one bus transfer per
/// 8 bytes, so the core's arithmetic can be checked exactly.
fn fixed_memory(b: &sail_emu::config::Board) -> FixedLatency {
    let period = b.clock.period();
    let transfer = Time::from_secs(1.0 / b.memory.data_rate.per_sec());
    FixedLatency::new(
        period * b.memory.phy.read_latency.count(),
        transfer,
        b.memory.bus_width.bytes() as u32,
    )
}

/// Runs `code` timed; returns (cycles, instructions, stats).
fn timed(code: &[u32]) -> (u64, u64, sail_emu::stats::Stats) {
    let b = board();
    let prog = Program::parse(&elf_bytes(code), Path::new("t.elf")).unwrap();
    let mut hart = program::load_card_hart(&prog, &b).unwrap();
    let mut t = InOrderTiming::new(CoreParams::from_board(&b), fixed_memory(&b));
    let stop = program::run(&mut hart, &mut t, 1_000_000, None).unwrap();
    assert_eq!(stop.exit_code, 0);
    let s = t.stats();
    assert_eq!(
        t.cycles(),
        hart.instret() + s.get("stalls.total").unwrap() as u64,
        "cycles = instructions + stalls"
    );
    (t.cycles(), hart.instret(), s)
}

fn with_exit(mut v: Vec<u32>) -> Vec<u32> {
    v.push(addi(10, 0, 0));
    v.extend(exit_seq());
    v
}

#[test]
fn independent_instructions_issue_one_per_cycle() {
    let code = with_exit((0..20).map(|i| addi(5 + (i % 3), 0, i as i32)).collect());
    let (cycles, n, _) = timed(&code);
    assert_eq!(n, 23);
    assert_eq!(cycles, 23);
}

#[test]
fn dependent_multiplies_wait_for_the_multiplier() {
    let b = board();
    let lat = b.core.latency.int_mul.count();
    let k = 10u64;
    let mut code = vec![addi(10, 0, 3)];
    code.extend((0..k).map(|_| mul(10, 10, 10)));
    let (cycles, n, s) = timed(&with_exit(code));
    assert_eq!(
        s.get("stalls.raw.int_mul").unwrap() as u64,
        (lat - 1) * (k - 1)
    );
    assert_eq!(cycles, n + (lat - 1) * (k - 1));
}

#[test]
fn taken_branches_pay_the_penalty() {
    let b = board();
    let pen = b.core.branch_taken_penalty.count();
    // li a0, 5; loop: addi a0, a0, -1; bnez a0, loop: 4 taken, 1 not taken.
    let code = with_exit(vec![addi(10, 0, 5), addi(10, 10, -1), bne(10, 0, -4)]);
    let (cycles, n, s) = timed(&code);
    assert_eq!(n, 1 + 10 + 3);
    assert_eq!(
        s.get("stalls.control.branch_taken").unwrap() as u64,
        4 * pen
    );
    assert_eq!(cycles, n + 4 * pen);
    // A jump pays the jump penalty: j +4 skips nothing but still redirects.
    let jp = b.core.jump_penalty.count();
    let (cycles, n, _) = timed(&with_exit(vec![j(4)]));
    assert_eq!(cycles, n + jp);
}

#[test]
fn divider_is_iterative_and_unpipelined() {
    let b = board();
    let lat = b.core.latency.int_div.count();
    // Two independent divides: the second waits for the divider (structural), then an add
    // dependent on the second waits for its result.
    let code = with_exit(vec![
        addi(5, 0, 100),
        addi(6, 0, 7),
        div(7, 5, 6),
        div(28, 5, 6),
        add(29, 28, 28),
    ]);
    let (cycles, n, s) = timed(&code);
    let structural = s.get("stalls.structural.int_div").unwrap() as u64;
    let raw = s.get("stalls.raw.int_div").unwrap() as u64;
    assert_eq!(structural, lat - 1);
    assert_eq!(raw, lat - 1);
    assert_eq!(cycles, n + 2 * (lat - 1));
}

#[test]
fn load_use_waits_for_the_memory_model() {
    let b = board();
    // a0 = pc + 0x1000 (in DDR); ld a1, 0(a0); add a2, a1, a1.
    let code = with_exit(vec![auipc(10, 1), ld(11, 10, 0), add(12, 11, 11)]);
    let (_, _, s) = timed(&code);
    // Independent closed form: PHY read latency plus one 8-byte transfer, rounded up to
    // core cycles, on top of the core's load latency; the add issues one cycle after the ld.
    let period = 1e15 / b.clock.hz();
    let period_fs = period.round() as u64;
    let mem_fs = b.memory.phy.read_latency.count() * period_fs
        + (1e15 / b.memory.data_rate.per_sec()).round() as u64 * 8 / b.memory.bus_width.bytes();
    let mem_cycles = mem_fs.div_ceil(period_fs);
    let want = b.core.latency.load.count() + mem_cycles - 1;
    assert_eq!(s.get("stalls.raw.load").unwrap() as u64, want);
    assert_eq!(s.get("mem.reads").unwrap(), 1.0);
}

#[test]
fn store_then_load_round_trips_through_memory() {
    let code = with_exit(vec![
        auipc(10, 1),
        addi(11, 0, 42),
        sd(11, 10, 16),
        ld(12, 10, 16),
        addi(13, 12, -42),
        // exit code = a3 (0 when the value came back)
        addi(10, 13, 0),
        addi(17, 0, 93),
        ECALL,
    ]);
    let (_, _, s) = timed(&code);
    assert_eq!(s.get("mem.writes").unwrap(), 1.0);
}

type State = (Vec<u64>, Vec<u64>, u64, u64, Vec<u8>, Vec<u8>, Vec<u8>);

fn state(h: &Hart, lo: u64, len: usize) -> State {
    let mut mem = vec![0u8; len];
    h.mem().read(lo, &mut mem).unwrap();
    let vregs = h
        .vector()
        .map(|v| v.vreg_bytes().to_vec())
        .unwrap_or_default();
    (
        h.xregs().to_vec(),
        h.fregs().to_vec(),
        h.pc(),
        h.instret(),
        h.mem().console.clone(),
        mem,
        vregs,
    )
}

/// Runs a committed program functional-only and timed; the architectural state after both
/// (registers, vector registers, PC, instruction count, console, the program image and the
/// top of the stack) must be identical. Returns the console text.
fn same_state_both_modes(name: &str) -> String {
    let b = board();
    let prog = Program::load(&root().join(format!("programs/{name}.elf"))).unwrap();
    let map = MemoryMap::from_board(&b);
    let mut h1 = program::load_card_hart(&prog, &b).unwrap();
    let mut f = Functional::default();
    let s1 = program::run(&mut h1, &mut f, u64::MAX, None).unwrap();
    let mut h2 = program::load_card_hart(&prog, &b).unwrap();
    let mut t = InOrderTiming::new(CoreParams::from_board(&b), CardMemory::new(&b).unwrap());
    let s2 = program::run(&mut h2, &mut t, u64::MAX, None).unwrap();
    assert_eq!(s1, s2);
    let lo = prog.segments.iter().map(|s| s.addr).min().unwrap();
    let hi = prog
        .segments
        .iter()
        .map(|s| s.addr + s.mem_size)
        .max()
        .unwrap();
    assert_eq!(
        state(&h1, lo, (hi - lo) as usize),
        state(&h2, lo, (hi - lo) as usize)
    );
    let top = map.stack_top();
    assert_eq!(state(&h1, top - 4096, 4096), state(&h2, top - 4096, 4096));
    assert!(t.cycles() > f.cycles(), "the timed run has stalls");
    String::from_utf8_lossy(&h1.mem().console).into_owned()
}

#[test]
fn functional_and_timed_runs_leave_identical_state() {
    assert!(same_state_both_modes("intloop").contains("75a5c7d63781920d"));
}

#[test]
fn functional_and_timed_vector_runs_leave_identical_state() {
    // The checksum is what the same loop gives compiled natively (scalar C on the host).
    assert!(same_state_both_modes("vecloop").contains("6577b0b17e159c3a"));
}

/// e32, m8, ta, ma.
const E32M8: u32 = (2 << 3) | 3 | (1 << 6) | (1 << 7);

#[test]
fn vector_instructions_cost_beats_and_wait_for_their_groups() {
    let b = board();
    let vlmax = 8 * b.core.vlen as u64 / 32;
    let beats = (vlmax * 32).div_ceil(32 * b.core.vector_lanes as u64);
    let lat = b.core.latency.vec_alu.count();
    // vsetvli t0, zero, e32, m8 (vl = VLMAX); two independent group adds: the second waits
    // for the unit's beats. Exit code: t0 - VLMAX (0 when vl is right).
    let vl_check = |v: Vec<u32>| {
        let mut c = vec![vsetvli(5, 0, E32M8)];
        c.extend(v);
        c.push(addi(10, 5, -(vlmax as i32)));
        c.extend(exit_seq());
        c
    };
    let (cycles, n, s) = timed(&vl_check(vec![vadd_vv(8, 16, 24), vadd_vv(0, 16, 24)]));
    assert_eq!(s.get("stalls.structural.vector").unwrap() as u64, beats - 1);
    assert_eq!(cycles, n + beats - 1);
    assert_eq!(s.get("vpu.busy_cycles").unwrap() as u64, 2 * beats);
    // A dependent add waits for the whole group: latency + beats - 1 after issue.
    let (_, _, s) = timed(&vl_check(vec![vadd_vv(8, 16, 24), vadd_vv(0, 8, 8)]));
    assert_eq!(s.get("stalls.raw.vec_alu").unwrap() as u64, lat + beats - 2);
}

/// Records every request with the look-ahead it came with, and answers as `FixedLatency`.
#[derive(Debug, Clone)]
struct Recorder {
    inner: FixedLatency,
    seen: Vec<(Request, Vec<Request>)>,
}

impl MemoryModel for Recorder {
    fn access(&mut self, req: Request) -> Time {
        self.access_ahead(req, &[])
    }
    fn access_ahead(&mut self, req: Request, ahead: &[Request]) -> Time {
        self.seen.push((req, ahead.to_vec()));
        self.inner.access(req)
    }
    fn stats(&self) -> sail_emu::stats::Stats {
        self.inner.stats()
    }
}

/// vlse32.v vd, (rs1), rs2 (unmasked).
fn vlse32(vd: u32, rs1: u32, rs2: u32) -> u32 {
    (2 << 26) | (1 << 25) | (rs2 << 20) | (rs1 << 15) | (6 << 12) | (vd << 7) | 0x07
}

/// The accesses of one instruction (a strided vector load's four elements) go to the memory
/// model together: each with the instruction's later accesses, at the same issue time, as its
/// look-ahead. A scalar load that follows has none, and no request of it is ever in the
/// vector load's look-ahead.
#[test]
fn one_instructions_accesses_are_each_others_look_ahead() {
    let b = board();
    // t1 = pc + 0x1000 (in DDR); t2 = 1024 (stride); t0 = vsetvli(4, e32, m1);
    // vlse32.v v1, (t1), t2; ld t3, 0(t1).
    let e32m1 = 2 << 3;
    let code = with_exit(vec![
        auipc(6, 1),
        addi(7, 0, 1024),
        addi(5, 0, 4),
        vsetvli(5, 5, e32m1),
        vlse32(1, 6, 7),
        ld(28, 6, 0),
    ]);
    let prog = Program::parse(&elf_bytes(&code), Path::new("t.elf")).unwrap();
    let mut hart = program::load_card_hart(&prog, &b).unwrap();
    let mem = Recorder {
        inner: fixed_memory(&b),
        seen: Vec::new(),
    };
    let mut t = InOrderTiming::new(CoreParams::from_board(&b), mem);
    let stop = program::run(&mut hart, &mut t, 1_000_000, None).unwrap();
    assert_eq!(stop.exit_code, 0);
    let seen = &t.memory().seen;
    assert_eq!(seen.len(), 5, "{seen:?}");
    let elements: Vec<Request> = seen[..4].iter().map(|(r, _)| *r).collect();
    for (i, (req, ahead)) in seen[..4].iter().enumerate() {
        assert_eq!(req.addr, elements[0].addr + 1024 * i as u64);
        assert_eq!(req.issue, elements[0].issue);
        assert_eq!(ahead[..], elements[i + 1..], "element {i}");
    }
    let (ld_req, ld_ahead) = &seen[4];
    assert!(ld_req.issue > elements[0].issue);
    assert!(ld_ahead.is_empty());
}
