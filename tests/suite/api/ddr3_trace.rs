//! Every command the DDR3 model issues obeys every JEDEC timing rule: random and sequential
//! traces, both page policies, both schedulers, all three address mappings, both boards,
//! plus a fast-clock variant where FR-FCFS row-hit overtakes actually occur. The checker
//! (`mem::ddr3::check`) is independent of the scheduler.

use proptest::prelude::*;
use sail_emu::config::load_board;
use sail_emu::mem::ddr3::{check, CommandKind, CommandTrace, Ddr3, Ddr3Options};
use sail_emu::mem::{Access, MemoryModel, Request};
use sail_emu::units::Time;

use crate::support::ddr::{litedram_phases, page_policy, watermark_batches};

/// (board, overrides) for every policy x scheduler x mapping, on both boards, plus a
/// DDR3-1600-speed clock on the x64 board.
fn configs() -> Vec<(&'static str, Vec<String>)> {
    let mut v = Vec::new();
    for board in ["innerjib7ea", "innerjib7ea-x16"] {
        for policy in ["open", "closed"] {
            for sched in ["in-order", "fr-fcfs"] {
                for map in ["row-bank-column", "bank-row-column", "row-column-bank"] {
                    let mut sets = page_policy(policy);
                    sets.push(format!("memory.controller.scheduler={sched}"));
                    sets.push(format!("memory.controller.address_mapping={map}"));
                    v.push((board, sets));
                }
            }
        }
    }
    for policy in ["open", "closed"] {
        v.push(("innerjib7ea", fast_clock(policy)));
    }
    // DRAMsim3's controller and LiteDRAM's phases on a buffered one (the boards model
    // LiteDRAM with one port, in order, without a write buffer), open page.
    for board in ["innerjib7ea", "innerjib7ea-x16"] {
        v.push((board, watermark_batches()));
        v.push((board, litedram_phases()));
    }
    v
}

/// The board's DDR3 model with refresh, recording every command.
fn traced(b: &sail_emu::config::Board) -> Ddr3<CommandTrace> {
    Ddr3::with_sink(
        &b.memory,
        b.clock,
        Ddr3Options::default(),
        CommandTrace::default(),
    )
    .unwrap()
}

/// DDR3-1600 clocks (800 MHz): tRAS is long enough in clocks that a row hit can overtake a
/// pending precharge under FR-FCFS, and tFAW (24 clocks) exceeds 4 x tRRD (20), so the
/// four-activate window binds.
fn fast_clock(policy: &str) -> Vec<String> {
    let mut v: Vec<String> = vec![
        "clock=400 MHz".into(),
        "memory.dram_clock=800 MHz".into(),
        "memory.data_rate=1600 MT/s".into(),
        "memory.timing.tCL=11 cycles".into(),
        "memory.timing.tCWL=8 cycles".into(),
        "memory.phy.write_latency=4 cycles".into(),
        "memory.controller.scheduler=fr-fcfs".into(),
    ];
    v.extend(page_policy(policy));
    v
}

#[derive(Debug, Clone)]
struct Op {
    offset: u64,
    bytes: u32,
    write: bool,
    gap_fs: u64,
}

/// Runs `ops` (issue times accumulate the gaps) and checks the trace and the counters. Each
/// request goes with the next `ahead` as its look-ahead (`MemoryModel::access_ahead`: the
/// FR-FCFS row-hit hold), or alone when `ahead` is 0.
fn run_and_check(board: &str, sets: &[String], ops: &[Op], ahead: usize) {
    let b = load_board(board, sets).unwrap().board;
    let mut m = traced(&b);
    let mut issue = Time::ZERO;
    let reqs: Vec<Request> = ops
        .iter()
        .map(|op| {
            issue += Time(op.gap_fs);
            Request {
                addr: b.memory.base + op.offset,
                bytes: op.bytes,
                access: if op.write {
                    Access::Write
                } else {
                    Access::Read
                },
                issue,
            }
        })
        .collect();
    for (i, r) in reqs.iter().enumerate() {
        let next = &reqs[i + 1..(i + 1 + ahead).min(reqs.len())];
        let done = m.access_ahead(*r, next);
        let t = r.issue;
        assert!(done > t, "completion {done:?} not after issue {t:?}");
    }
    let trace = &m.sink().commands;
    let summary = check::check(m.timing(), m.banks(), trace, true).unwrap_or_else(|v| {
        panic!(
            "{board} {sets:?}: {} violations, first: {}",
            v.len(),
            v.iter()
                .take(5)
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join("; ")
        )
    });
    let s = m.stats();
    let count = |k: CommandKind| trace.iter().filter(|c| c.kind == k).count() as f64;
    assert_eq!(s.get("activates"), Some(summary.activates as f64));
    assert_eq!(s.get("activates"), Some(count(CommandKind::Activate)));
    assert_eq!(
        s.get("bursts"),
        Some((summary.reads + summary.writes) as f64)
    );
    assert_eq!(s.get("refreshes"), Some(summary.refreshes as f64));
    assert_eq!(s.get("precharges"), Some(summary.precharges as f64));
    let classified =
        s.get("row_hits").unwrap() + s.get("row_misses").unwrap() + s.get("row_conflicts").unwrap();
    assert_eq!(Some(classified), s.get("bursts"));
    assert_eq!(
        s.get("row_misses").unwrap() + s.get("row_conflicts").unwrap(),
        summary.activates as f64
    );
}

fn random_op() -> impl Strategy<Value = Op> {
    (
        // A small footprint (4 MiB) so rows are hit, missed and conflicted.
        0u64..(4 << 20),
        prop_oneof![Just(64u32), Just(8), Just(1), 1u32..300],
        any::<bool>(),
        // Mostly back-to-back, sometimes a pause, rarely longer than a refresh interval.
        prop_oneof![
            6 => Just(0u64),
            3 => 0u64..200_000_000,
            1 => 0u64..20_000_000_000,
        ],
    )
        .prop_map(|(offset, bytes, write, gap_fs)| Op {
            offset,
            bytes,
            write,
            gap_fs,
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn random_traces_obey_every_timing_rule(ops in prop::collection::vec(random_op(), 1..400)) {
        for (board, sets) in configs() {
            run_and_check(board, &sets, &ops, 0);
            run_and_check(board, &sets, &ops, 8);
        }
    }

    #[test]
    fn sequential_traces_obey_every_timing_rule(
        start in 0u64..(1 << 20),
        bytes in prop_oneof![Just(64u32), Just(256), 1u32..512],
        write_every in 0usize..5,
        gap in prop_oneof![Just(0u64), 0u64..100_000_000],
        n in 1usize..1500,
    ) {
        let ops: Vec<Op> = (0..n)
            .map(|i| Op {
                offset: start + i as u64 * bytes as u64,
                bytes,
                write: write_every > 0 && i % write_every == 0,
                gap_fs: gap,
            })
            .collect();
        for (board, sets) in configs() {
            run_and_check(board, &sets, &ops, 0);
            run_and_check(board, &sets, &ops, 8);
        }
    }
}

/// A long mixed run (several refresh intervals of saturated traffic) on every configuration.
#[test]
fn long_mixed_runs_are_legal() {
    let mut ops = Vec::new();
    let mut x = 12345u64;
    for i in 0..20_000u64 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let random = i % 3 == 0;
        ops.push(Op {
            offset: if random { x % (64 << 20) } else { i * 64 },
            bytes: 64,
            write: x.is_multiple_of(5),
            gap_fs: if i % 1000 == 999 { 30_000_000_000 } else { 0 },
        });
    }
    for (board, sets) in configs() {
        run_and_check(board, &sets, &ops, 0);
        run_and_check(board, &sets, &ops, 16);
    }
}

/// With DDR3-1600 clocks, FR-FCFS serves a row hit before a pending precharge of that row,
/// and the trace stays legal.
#[test]
fn fr_fcfs_overtakes_a_pending_precharge() {
    let b = load_board("innerjib7ea", &fast_clock("open"))
        .unwrap()
        .board;
    let mut m = traced(&b);
    let base = b.memory.base;
    let row = b.memory.row_size.bytes() * b.memory.banks as u64;
    let read = |addr| Request {
        addr,
        bytes: 64,
        access: Access::Read,
        issue: Time::ZERO,
    };
    // Open row 0 of bank 0; a conflict (row 1) must wait for tRAS before its PRE; a hit to
    // row 0 arriving with it is served before that PRE.
    let first = m.access(read(base));
    let conflict = m.access(read(base + row));
    let hit = m.access(read(base + 64));
    assert!(
        hit < conflict,
        "the hit ({hit:?}) overtook the conflict ({conflict:?})"
    );
    assert!(hit > first);
    assert_eq!(m.stats().get("fr_fcfs_overtakes"), Some(1.0));
    let t = m.timing();
    assert!(
        t.faw > 4 * t.rrd,
        "tFAW {} binds over 4 x tRRD {}",
        t.faw,
        t.rrd
    );
    let trace = m.sink().in_clock_order();
    check::check(m.timing(), m.banks(), &trace, true).unwrap();
    let kinds: Vec<_> = trace.iter().map(|c| c.kind).collect();
    use CommandKind::*;
    assert_eq!(kinds, [Activate, Read, Read, Precharge, Activate, Read]);
}

/// FR-FCFS with the row-hit cap at the boards' own clocks: a conflict that arrives knowing
/// the hits to the open row that follow it (a closed-loop requester's look-ahead) leaves
/// room for them before its precharge, up to `row_hit_cap` column commands to the row.
#[test]
fn a_conflict_waits_for_queued_row_hits_up_to_the_cap() {
    for (cap, hits_first) in [(4u32, 3usize), (2, 1)] {
        let b = load_board(
            "innerjib7ea",
            &[
                "memory.controller.scheduler=fr-fcfs".to_string(),
                format!("memory.controller.row_hit_cap={cap}"),
            ],
        )
        .unwrap()
        .board;
        let mut m = traced(&b);
        let base = b.memory.base;
        let row = b.memory.row_size.bytes() * b.memory.banks as u64;
        let read = |addr| Request {
            addr,
            bytes: 64,
            access: Access::Read,
            issue: Time::ZERO,
        };
        let hits: Vec<Request> = (1..4).map(|c| read(base + 64 * c)).collect();
        m.access_ahead(read(base), &[read(base + row)]);
        let conflict = m.access_ahead(read(base + row), &hits);
        let done: Vec<Time> = (0..3)
            .map(|i| m.access_ahead(hits[i], &hits[i + 1..]))
            .collect();
        for (i, d) in done.iter().enumerate() {
            assert_eq!(
                *d < conflict,
                i < hits_first,
                "cap {cap}: hit {i} at {d:?}, conflict at {conflict:?}"
            );
        }
        let trace = m.sink().in_clock_order();
        check::check(m.timing(), m.banks(), &trace, true).unwrap();
        let rows: Vec<(CommandKind, u64)> = trace.iter().map(|c| (c.kind, c.row)).collect();
        use CommandKind::*;
        let mut want = vec![(Activate, 0)];
        want.extend(std::iter::repeat_n((Read, 0), 1 + hits_first));
        want.extend([(Precharge, 0), (Activate, 1), (Read, 1)]);
        assert_eq!(&rows[..want.len()], &want[..], "cap {cap}");
    }
}

/// Closed page: every column command carries its own precharge (RDA/WRA, as DRAMsim3's
/// CLOSE_PAGE), even between the bursts of one request in one row.
#[test]
fn closed_page_auto_precharges_every_burst() {
    let b = load_board("innerjib7ea-x16", &page_policy("closed"))
        .unwrap()
        .board;
    let mut m = traced(&b);
    for (i, access) in [Access::Read, Access::Write].into_iter().enumerate() {
        m.access(Request {
            addr: b.memory.base + 4096 * i as u64,
            bytes: 64,
            access,
            issue: Time::ZERO,
        });
    }
    m.flush();
    let trace = m.sink().in_clock_order();
    let s = check::check(m.timing(), m.banks(), &trace, true).unwrap();
    use CommandKind::*;
    let kinds: Vec<_> = trace.iter().map(|c| c.kind).collect();
    assert_eq!(kinds.iter().filter(|&&k| k == Activate).count(), 8);
    assert_eq!(kinds.iter().filter(|&&k| k == ReadAp).count(), 4);
    assert_eq!(kinds.iter().filter(|&&k| k == WriteAp).count(), 4);
    assert!(!kinds.contains(&Precharge) && !kinds.contains(&Read));
    assert_eq!((s.reads, s.writes, s.precharges), (4, 4, 8));
    assert_eq!(m.stats().get("precharges"), Some(8.0));
}

/// With LiteDRAM's phases a 2:1 read/write stream alternates read and write phases of the
/// lengths the settings give: a write phase lasts `write_time` (16 system clocks = 32 DRAM
/// clocks on the 1:2 PHY), 8 writes at tCCD = 4; the read phase before it `read_time` (32
/// system clocks = 64 DRAM clocks), 16 reads. Without them the batches are the buffer's 32.
#[test]
fn litedram_phases_shape_a_mixed_stream() {
    use sail_emu::mem::microbench::{self, BenchSpec, Pattern, Traffic};
    let runs = |sets: &[String]| {
        let b = load_board("innerjib7ea", sets).unwrap().board;
        let mut m = traced(&b);
        let spec = BenchSpec {
            pattern: Pattern::Stream,
            base: b.memory.base,
            bytes: 4 << 20,
            requests: 30_000,
            request_bytes: 64,
            outstanding: 32,
            traffic: Traffic::Mix {
                reads: 2,
                writes: 1,
            },
            seed: 1,
        };
        microbench::run(&mut m, &spec);
        let trace = &m.sink().commands;
        check::check(m.timing(), m.banks(), trace, true).expect("a legal trace");
        let t = *m.timing();
        let mut cols: Vec<_> = trace
            .iter()
            .filter(|c| matches!(c.kind, CommandKind::Read | CommandKind::Write))
            .collect();
        cols.sort_by_key(|c| c.at);
        let (mut reads, mut writes) = (Vec::new(), Vec::new());
        let mut i = 0;
        while i < cols.len() {
            let kind = cols[i].kind;
            let j = cols[i..]
                .iter()
                .position(|c| c.kind != kind)
                .map_or(cols.len(), |n| i + n);
            if kind == CommandKind::Write {
                &mut writes
            } else {
                &mut reads
            }
            .push(j - i);
            i = j;
        }
        let median = |v: &mut Vec<usize>| {
            v.sort_unstable();
            v[v.len() / 2] as u64
        };
        (median(&mut reads), median(&mut writes), t)
    };
    // LiteDRAM's ControllerSettings: read_time 32 / write_time 16.
    let sets = litedram_phases();
    let (reads, writes, t) = runs(&sets);
    let b = load_board("innerjib7ea", &sets).unwrap().board;
    let (read_time, write_time) = (
        b.memory.controller.read_time.count(),
        b.memory.controller.write_time.count(),
    );
    assert_eq!((read_time, write_time), (32, 16));
    let gap = t.column_gap(true, true);
    assert_eq!(writes, write_time * t.ratio / gap, "write phase");
    assert_eq!(reads, read_time * t.ratio / gap, "read phase");
    let (_, batch, _) = runs(&watermark_batches());
    assert_eq!(batch, 32, "without phases the batch is the full buffer");
}
