//! The Xpop_matmul unit as the hart sees it: `xpop.mm` / `xpop.info` through a hart context,
//! its traps, the timing entry point and its statistics.

use crate::support::matmul_hart::{test_hart, DDR, DDR_SIZE};
use sail_emu::config::{load_board, Board};
use sail_emu::hart::bare_context::BareContext;
use sail_emu::hart::Trap;
use sail_emu::isa::xpop::{InfoSel, XInst};
use sail_emu::matmul::descriptor::MatmulJob;
use sail_emu::matmul::dot::{matmul, RowSet};
use sail_emu::matmul::{MatmulTiming, MatmulUnit, XpopWork};
use sail_emu::mem::fixed::FixedLatency;
use sail_emu::mem::CardMemory;
use sail_emu::quant::quantize::{quantize_q8_0, quantize_q8_k};
use sail_emu::quant::GgmlType;
use sail_emu::units::Time;

const MM: XInst = XInst::Mm { rs1: 10, rs2: 11 };
const DESC: u64 = DDR + 0x1000;

fn board(overrides: &[&str]) -> Board {
    let o: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
    load_board("innerjib7ea", &o).unwrap().board
}

/// Deterministic pseudo-random bytes.
fn bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 33) as u8
        })
        .collect()
}

fn floats(seed: u64, len: usize) -> Vec<f32> {
    bytes(seed, len)
        .iter()
        .map(|&b| (b as f32 - 127.5) / 64.0)
        .collect()
}

/// Q4_K weight rows with finite scales (d = 0.01, dmin = 0.005) and random quants.
fn q4k_rows(seed: u64, n: usize, k: usize) -> Vec<u8> {
    let mut a = bytes(seed, n * k / 256 * 144);
    for blk in a.chunks_exact_mut(144) {
        blk[0..2].copy_from_slice(&half::f16::from_f32(0.01).to_bits().to_le_bytes());
        blk[2..4].copy_from_slice(&half::f16::from_f32(0.005).to_bits().to_le_bytes());
    }
    a
}

fn q8k_rows(seed: u64, m: usize, k: usize) -> Vec<u8> {
    quantize_q8_k(&floats(seed, m * k)).unwrap()
}

/// Writes `rows` packed rows at `base` with stride `ld`.
fn put_rows(h: &mut BareContext, base: u64, ld: u64, data: &[u8], row: usize) {
    for (r, chunk) in data.chunks_exact(row).enumerate() {
        h.mem.write(base + r as u64 * ld, chunk).unwrap();
    }
}

fn get_c(h: &BareContext, job: &MatmulJob) -> Vec<f32> {
    let mut c = Vec::new();
    for i in 0..job.m {
        let mut row = vec![0u8; 4 * job.n as usize];
        h.mem.read(job.c + i * job.ldc, &mut row).unwrap();
        c.extend(
            row.chunks_exact(4)
                .map(|b| f32::from_le_bytes(b.try_into().unwrap())),
        );
    }
    c
}

fn q4k_job(m: u64, n: u64, k: u64) -> MatmulJob {
    MatmulJob {
        ty: GgmlType::Q4_K,
        a: DDR + 0x10_0000,
        b: DDR + 0x80_0000,
        c: DDR + 0xC0_0000,
        lda: k / 256 * 144,
        ldb: k / 256 * 292,
        ldc: 4 * n,
        m,
        n,
        k,
        a_transposed: false,
    }
}

fn setup(jobs: &[MatmulJob]) -> BareContext {
    let mut h = test_hart();
    for (i, j) in jobs.iter().enumerate() {
        h.mem.write(DESC + 64 * i as u64, &j.encode()).unwrap();
    }
    h.x[10] = DESC;
    h.x[11] = jobs.len() as u64;
    h
}

#[test]
fn strided_job_matches_the_semantics_and_makes_one_access_per_run() {
    let (m, n, k) = (3u64, 5u64, 512u64);
    let a = q4k_rows(1, n as usize, k as usize);
    let b = q8k_rows(2, m as usize, k as usize);
    let job = MatmulJob {
        lda: 288 + 32,
        ldb: 584 + 8,
        ldc: 4 * n + 12,
        ..q4k_job(m, n, k)
    };
    let mut h = setup(&[job]);
    put_rows(&mut h, job.a, job.lda, &a, 288);
    put_rows(&mut h, job.b, job.ldb, &b, 584);
    let mut unit = MatmulUnit::new(&board(&[]));
    unit.execute(&MM, &mut h).unwrap();
    let want = matmul(
        GgmlType::Q4_K,
        k,
        RowSet::packed(&a, n as usize, 288),
        RowSet::packed(&b, m as usize, 584),
    )
    .unwrap();
    assert_eq!(get_c(&h, &job), want);
    // One descriptor load, two one-byte probes of each of A's and B's extents (before any
    // operand is copied), one per strided row of A and B, two one-byte probes of C's
    // extent; one store per strided C row.
    assert_eq!(h.loads().len(), 1 + 4 + 5 + 3 + 2);
    assert_eq!(h.stores().len(), 3);
    // Packed operands: one access each.
    let packed = q4k_job(m, n, k);
    let mut h = setup(&[packed]);
    h.mem.write(packed.a, &a).unwrap();
    h.mem.write(packed.b, &b).unwrap();
    unit.execute(&MM, &mut h).unwrap();
    assert_eq!((h.loads().len(), h.stores().len()), (1 + 4 + 2 + 2, 1));
    assert_eq!(get_c(&h, &packed), want);
}

/// F16 rows from `floats` (exactly representable: multiples of 1/64 below 2).
fn f16_rows(seed: u64, len: usize) -> Vec<u8> {
    floats(seed, len)
        .iter()
        .flat_map(|&x| half::f16::from_f32(x).to_bits().to_le_bytes())
        .collect()
}

#[test]
fn f16_products_with_a_transposed_equal_the_plain_layout_and_a_float64_sum() {
    // P . V of attention: m = 3 query heads, n = 8 outputs (head size), k = 20 keys. V is
    // stored as k rows of n elements, 48 bytes apart (a cache of 3 KV heads).
    let (m, n, k) = (3u64, 8u64, 20u64);
    let v = f16_rows(11, (k * n) as usize); // [k][n]
    let p = f16_rows(12, (m * k) as usize); // [m][k]
    let t = MatmulJob {
        ty: GgmlType::F16,
        a: DDR + 0x10_0000,
        b: DDR + 0x20_0000,
        c: DDR + 0x30_0000,
        lda: 48,
        ldb: 2 * k,
        ldc: 4 * n,
        m,
        n,
        k,
        a_transposed: true,
    };
    let mut h = setup(&[t]);
    put_rows(&mut h, t.a, t.lda, &v, 2 * n as usize);
    h.mem.write(t.b, &p).unwrap();
    let mut unit = MatmulUnit::new(&board(&[]));
    unit.execute(&MM, &mut h).unwrap();
    let got = get_c(&h, &t);
    // The same product with V transposed on the host and the unit's plain layout.
    let mut vt = vec![0u8; v.len()];
    for key in 0..k as usize {
        for d in 0..n as usize {
            let (from, to) = (2 * (key * n as usize + d), 2 * (d * k as usize + key));
            vt[to..to + 2].copy_from_slice(&v[from..from + 2]);
        }
    }
    let want = matmul(
        GgmlType::F16,
        k,
        RowSet::packed(&vt, n as usize, 2 * k as usize),
        RowSet::packed(&p, m as usize, 2 * k as usize),
    )
    .unwrap();
    assert_eq!(got, want);
    // Each product of two f16 is exact in binary32 and the sum is binary64, so every output
    // is the float64 dot product rounded once to f32 (k = 20 small values: no rounding in
    // the binary64 sum).
    let f = |b: &[u8], i: usize| {
        half::f16::from_bits(u16::from_le_bytes([b[2 * i], b[2 * i + 1]])).to_f64()
    };
    for i in 0..m as usize {
        for d in 0..n as usize {
            let exact: f64 = (0..k as usize)
                .map(|key| f(&p, i * k as usize + key) * f(&v, key * n as usize + d))
                .sum();
            assert_eq!(got[i * n as usize + d], exact as f32, "({i}, {d})");
        }
    }
    // Timing: the compulsory bytes, k runs of 2n bytes for A, at the F16 rate.
    let mut mem = CardMemory::new(&board(&[])).unwrap();
    let r = MatmulTiming::new(&board(&[])).time_jobs(DESC, &[t], Time::ZERO, &mut mem);
    assert_eq!(r.operand_bytes, k * 2 * n + m * 2 * k);
    assert_eq!(r.macs, m * n * k);
    assert_eq!(r.mac, (m * n * k).div_ceil(8));
}

#[test]
fn descriptors_run_in_order_and_are_counted() {
    // Two Q8_0 jobs sharing B; info reports 2 completed descriptors.
    let (m, n, k) = (2u64, 4u64, 64u64);
    let a = quantize_q8_0(&floats(3, (n * k) as usize)).unwrap();
    let b = quantize_q8_0(&floats(4, (m * k) as usize)).unwrap();
    let j0 = MatmulJob {
        ty: GgmlType::Q8_0,
        a: DDR + 0x10_0000,
        b: DDR + 0x20_0000,
        c: DDR + 0x30_0000,
        lda: 68,
        ldb: 68,
        ldc: 16,
        m,
        n,
        k,
        a_transposed: false,
    };
    let j1 = MatmulJob {
        n: 2,
        ldc: 8,
        a: j0.a + 2 * 68,
        c: DDR + 0x40_0000,
        ..j0
    };
    let mut h = setup(&[j0, j1]);
    h.mem.write(j0.a, &a).unwrap();
    h.mem.write(j0.b, &b).unwrap();
    let mut unit = MatmulUnit::new(&board(&[]));
    unit.execute(&MM, &mut h).unwrap();
    let c0 = get_c(&h, &j0);
    let c1 = get_c(&h, &j1);
    // Job 1 computes weight rows 2 and 3 of job 0.
    assert_eq!(c1, vec![c0[2], c0[3], c0[6], c0[7]]);
    unit.execute(
        &XInst::Info {
            rd: 5,
            sel: InfoSel::Jobs,
        },
        &mut h,
    )
    .unwrap();
    assert_eq!(h.x[5], 2);
}

#[test]
fn info_reports_the_board() {
    let mut unit = MatmulUnit::new(&board(&["matmul.int8_macs_per_cycle=64"]));
    let mut h = test_hart();
    let mut ask = |sel| {
        unit.execute(&XInst::Info { rd: 7, sel }, &mut h).unwrap();
        h.x[7]
    };
    assert_eq!(ask(InfoSel::Version), 1);
    assert_eq!(
        ask(InfoSel::Types),
        (1 << 1) | (1 << 2) | (1 << 8) | (1 << 12) | (1 << 14) | (1 << 30)
    );
    assert_eq!(ask(InfoSel::Int8Macs), 64);
    assert_eq!(ask(InfoSel::Bf16Macs), 8);
    assert_eq!(ask(InfoSel::F16Macs), 8);
    assert_eq!(ask(InfoSel::Jobs), 0);
    // Writes to x0 are dropped.
    unit.execute(
        &XInst::Info {
            rd: 0,
            sel: InfoSel::Version,
        },
        &mut h,
    )
    .unwrap();
    assert_eq!(h.x[0], 0);
}

fn trap_of(job: MatmulJob, prepare: impl FnOnce(&mut BareContext)) -> (Trap, BareContext) {
    let mut h = setup(&[job]);
    prepare(&mut h);
    let mut unit = MatmulUnit::new(&board(&[]));
    let t = unit.execute(&MM, &mut h).unwrap_err();
    (t, h)
}

#[test]
fn disabled_unit_is_illegal() {
    let mut unit = MatmulUnit::new(&board(&["matmul.enabled=false"]));
    let mut h = setup(&[q4k_job(1, 1, 256)]);
    let t = unit.execute(&MM, &mut h).unwrap_err();
    assert!(matches!(&t, Trap::IllegalInstruction { reason } if reason.contains("not fitted")));
    let t = unit
        .execute(
            &XInst::Info {
                rd: 5,
                sel: InfoSel::Version,
            },
            &mut h,
        )
        .unwrap_err();
    assert!(matches!(t, Trap::IllegalInstruction { .. }));
}

#[test]
fn bad_descriptors_trap_before_anything_is_written() {
    let mut bad_type = q4k_job(1, 2, 256).encode();
    bad_type[0x3c] = 3; // Q4_1
    let mut h = test_hart();
    h.mem.write(DESC, &q4k_job(1, 2, 256).encode()).unwrap();
    h.mem.write(DESC + 64, &bad_type).unwrap();
    h.x[10] = DESC;
    h.x[11] = 2;
    let mut unit = MatmulUnit::new(&board(&[]));
    let t = unit.execute(&MM, &mut h).unwrap_err();
    match &t {
        Trap::IllegalInstruction { reason } => {
            assert!(reason.contains("descriptor 1 at 0x80001040"), "{reason}");
            assert!(reason.contains("type id 3"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    // The good first descriptor did not run either.
    assert!(h.stores().is_empty());

    let (t, _) = trap_of(q4k_job(1, 2, 300), |_| {});
    assert!(
        matches!(&t, Trap::IllegalInstruction { reason } if reason.contains("multiple of the q4_K block size 256"))
    );

    let (t, _) = trap_of(
        MatmulJob {
            b: DDR + 0x80_0002,
            ..q4k_job(1, 2, 256)
        },
        |_| {},
    );
    assert_eq!(
        t,
        Trap::Misaligned {
            addr: DDR + 0x80_0002,
            len: 4
        }
    );
}

#[test]
fn descriptor_address_and_count_are_checked() {
    let mut unit = MatmulUnit::new(&board(&[]));
    let mut h = setup(&[q4k_job(1, 1, 256)]);
    h.x[10] = DESC + 4;
    assert_eq!(
        unit.execute(&MM, &mut h).unwrap_err(),
        Trap::Misaligned {
            addr: DESC + 4,
            len: 64
        }
    );
    h.x[10] = DESC;
    h.x[11] = 1 << 20;
    assert!(matches!(
        unit.execute(&MM, &mut h).unwrap_err(),
        Trap::IllegalInstruction { reason } if reason.contains("at most 65535")
    ));
    // Zero descriptors: nothing read, nothing written.
    h.x[11] = 0;
    h.accesses.clear();
    unit.execute(&MM, &mut h).unwrap();
    assert!(h.loads().is_empty() && h.stores().is_empty());
}

#[test]
fn operands_outside_memory_trap_out_of_bounds() {
    let job = MatmulJob {
        a: DDR + DDR_SIZE - 100,
        ..q4k_job(1, 2, 256)
    };
    let (t, h) = trap_of(job, |_| {});
    // A's last byte is probed before A is copied: the trap names it.
    assert!(matches!(t, Trap::OutOfBounds(ref e) if e.addr >= DDR + DDR_SIZE));
    assert!(h.stores().is_empty());
    // C running off the end of memory: refused before any output is written.
    let job = MatmulJob {
        c: DDR + DDR_SIZE - 256,
        ..q4k_job(3, 2, 256)
    };
    let job = MatmulJob { ldc: 128, ..job };
    let (t, h) = trap_of(job, |_| {});
    assert!(matches!(t, Trap::OutOfBounds(_)));
    assert!(h.stores().is_empty());
    // An absurd weight matrix (4e9 rows, 576 GB) traps out of bounds without the host
    // trying to allocate it.
    let job = MatmulJob {
        a: DDR + DDR_SIZE - 4096,
        n: 4_000_000_000,
        ldc: 16_000_000_000,
        ..q4k_job(1, 2, 256)
    };
    let (t, _) = trap_of(job, |_| {});
    assert!(matches!(t, Trap::OutOfBounds(_)));
}

#[test]
fn timing_blocks_until_the_last_write_and_counts_conserve() {
    let b = board(&[]);
    let mut unit = MatmulUnit::new(&b);
    let job = q4k_job(2, 64, 1024);
    let mut h = setup(&[job]);
    unit.execute(&MM, &mut h).unwrap();
    let period = b.clock.period();
    let mut mem = FixedLatency::new(Time::ZERO, period, 32);
    let issue = b.clock.cycles_to_time(1000);
    // The executed instruction hands its jobs over; the timing state is the timing layer's.
    let work = unit.last_work().cloned().expect("xpop.mm left its work");
    assert!(matches!(&work, XpopWork::Mm { jobs, .. } if jobs == &[job]));
    let mut timing = MatmulTiming::new(&b);
    let t = timing.time(&work, issue, &mut mem);
    let s = timing.stats();
    let busy = s.get("busy_cycles").unwrap();
    assert_eq!(t, b.clock.cycles_to_time(1000 + busy as u64));
    let parts = [
        "descriptor_cycles",
        "k_step_cycles",
        "fill_drain_cycles",
        "stall_cycles.operands",
        "stall_cycles.result_write",
    ];
    let sum: f64 = parts.iter().map(|p| s.get(p).unwrap()).sum();
    assert_eq!(sum, busy);
    assert_eq!(
        s.get("k_step_cycles").unwrap(),
        s.get("mac_cycles").unwrap() + s.get("stall_cycles.epilogue").unwrap()
    );
    assert_eq!(s.get("macs").unwrap(), (2 * 64 * 1024) as f64);
    assert_eq!(s.get("macs_by_type.q4_K").unwrap(), (2 * 64 * 1024) as f64);
    assert_eq!(
        s.get("bytes.operands").unwrap(),
        (64 * 576 + 2 * 1168) as f64
    );
    assert_eq!(s.get("bytes.results").unwrap(), (2 * 64 * 4) as f64);
    let util = s.get("utilisation").unwrap();
    assert_eq!(util, (2.0 * 64.0 * 1024.0 / 128.0) / busy);
    // xpop.info takes one cycle.
    let info = XInst::Info {
        rd: 5,
        sel: InfoSel::Version,
    };
    unit.execute(&info, &mut h).unwrap();
    assert_eq!(unit.last_work(), Some(&XpopWork::Info));
    assert_eq!(
        timing.time(&XpopWork::Info, issue, &mut mem),
        issue + period
    );
    assert_eq!(timing.stats().get("instructions.info"), Some(1.0));
    assert_eq!(timing.stats().get("instructions.mm"), Some(1.0));
}

/// The figure quoted for the TinyLlama FFN projection: m=1 n=5632 k=2048 Q4_K on
/// innerjib7ea, operands in DDR through the card's DDR3 model. Run with `--nocapture` to
/// see it.
#[test]
fn tinyllama_ffn_decode_q4k_on_innerjib7ea() {
    let b = board(&[]);
    let mut unit = MatmulTiming::new(&b);
    let job = MatmulJob {
        a: DDR + 0x0100_0000,
        b: DDR + 0x0200_0000,
        c: DDR + 0x0210_0000,
        ..q4k_job(1, 5632, 2048)
    };
    let mut mem = CardMemory::new(&b).unwrap();
    let r = unit.time_jobs(DESC, &[job], Time::ZERO, &mut mem);
    let bytes = (r.operand_bytes + r.result_bytes + r.descriptor_bytes) as f64;
    let peak = b.memory.peak_bytes_per_s();
    let floor = bytes / peak;
    let compute = job.macs() as f64 / 128.0 / b.clock.hz();
    let secs = r.end.secs();
    eprintln!(
        "TinyLlama FFN m=1 n=5632 k=2048 Q4_K on innerjib7ea (DDR3 model): {} cycles = {:.3} ms, \
         {:.1} MB moved at {:.2} GB/s; DDR-peak floor {:.3} ms (ratio {:.3}), compute floor {:.3} ms, \
         MAC utilisation {:.1}%, operand stalls {} cycles",
        r.busy,
        secs * 1e3,
        bytes / 1e6,
        bytes / secs / 1e9,
        floor * 1e3,
        secs / floor,
        compute * 1e3,
        100.0 * r.utilisation(),
        r.operand_stall
    );
    // Memory bound: never faster than the DDR peak, and the unit keeps DDR busy (within
    // the realistic 1.5-2.4 GB/s band of DESIGN.md).
    assert!(secs >= floor);
    assert!(bytes / secs >= 1.5e9, "{} GB/s", bytes / secs / 1e9);
    assert_eq!(r.tiles, 403);
    assert_eq!(
        r.busy,
        r.descriptor + r.k_steps + r.fill_drain + r.operand_stall + r.result_stall
    );
}
