//! End to end: the compiled `programs/kernels/elf/k_mul_mat_xpop.elf` (GGML mul_mat through
//! `xpop.mm`, built from programs/xpop.h) runs on the emulated core with its matrix unit, and
//! its output equals the unit's semantics (`dot::matmul`) bit for bit:
//! - with activations already in the dot type (the unit's arithmetic alone);
//! - with F32 activations, which the kernel quantizes with its RVV Q8_K / Q8_0 quantizer:
//!   the result must equal `dot::matmul` over the Rust reference quantizer's bytes, which
//!   also checks the kernel's quantizer against `quantize_row_q8_K_ref` / `q8_0_ref`.
//!
//! The descriptor is the kernel ABI's `struct sail_op` (programs/kernels/ggml_abi.h).

use sail_emu::config::load_board;
use sail_emu::matmul::descriptor::MatmulJob;
use sail_emu::matmul::dot::{matmul, RowSet};
use sail_emu::matmul::MatmulTiming;
use sail_emu::mem::CardMemory;
use sail_emu::program::{self, Program};
use sail_emu::quant::quantize::{quantize_bf16, quantize_q8_0, quantize_q8_k};
use sail_emu::quant::GgmlType;
use sail_emu::timing::{CoreParams, CoreTiming, Functional, InOrderTiming};
use sail_emu::units::Time;
use std::path::Path;

const DESC: u64 = 0x8100_0000;
const TENSORS: u64 = 0x8100_1000;

fn bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut s = seed ^ 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 24) as u8
        })
        .collect()
}

fn floats(seed: u64, len: usize) -> Vec<f32> {
    bytes(seed, len)
        .iter()
        .map(|&b| (b as f32 - 127.5) / 50.0)
        .collect()
}

fn weights(ty: GgmlType, n: usize, k: usize) -> Vec<u8> {
    match ty {
        GgmlType::Q4_K | GgmlType::Q6_K => {
            let bb = ty.block_bytes();
            let mut a = bytes(1, n * k / 256 * bb);
            let d = half::f16::from_f32(0.0123).to_bits().to_le_bytes();
            for blk in a.chunks_exact_mut(bb) {
                if ty == GgmlType::Q4_K {
                    blk[0..2].copy_from_slice(&d);
                    blk[2..4].copy_from_slice(&d);
                } else {
                    blk[208..210].copy_from_slice(&d);
                }
            }
            a
        }
        GgmlType::Q8_0 => quantize_q8_0(&floats(2, n * k)).unwrap(),
        GgmlType::Q4_0 => {
            let mut a = bytes(3, n * k / 32 * 18);
            for blk in a.chunks_exact_mut(18) {
                blk[0..2].copy_from_slice(&half::f16::from_f32(0.02).to_bits().to_le_bytes());
            }
            a
        }
        _ => quantize_bf16(&floats(4, n * k)),
    }
}

/// One `struct sail_tensor` (80 bytes): type, flags, ne[4], nb[4], data.
fn tensor(ty: GgmlType, ne: [i64; 4], data: u64) -> Vec<u8> {
    let row = ty.row_bytes(ne[0] as u64).unwrap();
    let nb = [
        ty.block_bytes() as u64,
        row,
        row * ne[1] as u64,
        row * (ne[1] * ne[2]) as u64,
    ];
    let mut t = Vec::with_capacity(80);
    t.extend(ty.id().to_le_bytes());
    t.extend(0u32.to_le_bytes());
    for v in ne {
        t.extend(v.to_le_bytes());
    }
    for v in nb {
        t.extend(v.to_le_bytes());
    }
    t.extend(data.to_le_bytes());
    t
}

/// Runs k_mul_mat_xpop on W (n x k, type `ty`) and X (m x k, type `xt`); returns C and the
/// timed run's cycles.
fn run(
    ty: GgmlType,
    xt: GgmlType,
    w: &[u8],
    x: &[u8],
    m: usize,
    n: usize,
    k: usize,
) -> (Vec<f32>, u64, f64) {
    let elf = Path::new(env!("CARGO_MANIFEST_DIR")).join("programs/kernels/elf/k_mul_mat_xpop.elf");
    let program = Program::load(&elf).expect("the committed k_mul_mat_xpop.elf");
    let board = load_board("innerjib7ea", &[]).unwrap().board;
    let align = |v: u64| v.div_ceil(4096) * 4096;
    let w_at = TENSORS;
    let x_at = align(w_at + w.len() as u64);
    let c_at = align(x_at + x.len() as u64);
    let work = align(c_at + (4 * m * n) as u64);
    // Work buffer for converted activations: more than any dot type's rows need.
    let wsize = (4 * m * k) as u64 + 4096;
    let mut op = Vec::new();
    op.extend(0x504f_4b53u32.to_le_bytes()); // "SKOP"
    op.extend(1u16.to_le_bytes()); // version
    op.extend(1u16.to_le_bytes()); // SAIL_OP_MUL_MAT
    op.extend(2u32.to_le_bytes()); // n_src
    op.extend(0u32.to_le_bytes()); // flags
    op.extend(work.to_le_bytes());
    op.extend(wsize.to_le_bytes());
    op.extend([0u8; 64]); // params
    op.extend(tensor(GgmlType::F32, [n as i64, m as i64, 1, 1], c_at));
    op.extend(tensor(ty, [k as i64, n as i64, 1, 1], w_at));
    op.extend(tensor(xt, [k as i64, m as i64, 1, 1], x_at));
    op.resize(496, 0);

    let mut results = Vec::new();
    let mut cycles = 0;
    let mut unit_busy = 0.0;
    for timed in [false, true] {
        // The card's hart: the board's memory map, vector unit and Xpop_matmul unit.
        let mut hart = program::load_card_hart(&program, &board).unwrap();
        let store = hart.mem_mut();
        store.write(DESC, &op).unwrap();
        store.write(w_at, w).unwrap();
        store.write(x_at, x).unwrap();
        let stop = if timed {
            let mem = CardMemory::new(&board).unwrap();
            let mut t = InOrderTiming::new(CoreParams::from_board(&board), mem);
            let s = program::run(&mut hart, &mut t, 1 << 40, None);
            cycles = sail_emu::timing::CoreTiming::cycles(&t);
            unit_busy = t.stats().get("matmul.busy_cycles").unwrap_or(0.0);
            s
        } else {
            let mut t = Functional::default();
            program::run(&mut hart, &mut t, 1 << 40, None)
        };
        assert_eq!(stop.expect("the kernel runs").exit_code, 0, "SAIL_OK");
        let mut c = vec![0u8; 4 * m * n];
        hart.mem_mut().read(c_at, &mut c).unwrap();
        results.push(
            c.chunks_exact(4)
                .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
                .collect::<Vec<f32>>(),
        );
    }
    let timed = results.pop().unwrap();
    let functional = results.pop().unwrap();
    assert_eq!(
        functional.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
        timed.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
        "timing must not change results"
    );
    (timed, cycles, unit_busy)
}

fn expect(ty: GgmlType, w: &[u8], xq: &[u8], m: usize, n: usize, k: usize) -> Vec<f32> {
    let ra = ty.row_bytes(k as u64).unwrap() as usize;
    let rb = ty.vec_dot_type().unwrap().row_bytes(k as u64).unwrap() as usize;
    matmul(
        ty,
        k as u64,
        RowSet::packed(w, n, ra),
        RowSet::packed(xq, m, rb),
    )
    .unwrap()
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

#[test]
fn kernel_with_quantized_activations_equals_the_unit_semantics() {
    for (ty, m, n, k) in [
        (GgmlType::Q4_K, 2, 24, 512),
        (GgmlType::Q6_K, 1, 9, 256),
        (GgmlType::Q4_0, 3, 5, 256),
        (GgmlType::Q8_0, 1, 16, 128),
        (GgmlType::BF16, 2, 3, 96),
    ] {
        let w = weights(ty, n, k);
        let xf = floats(10 + m as u64, m * k);
        let xt = ty.vec_dot_type().unwrap();
        let xq = match xt {
            GgmlType::Q8_K => quantize_q8_k(&xf).unwrap(),
            GgmlType::Q8_0 => quantize_q8_0(&xf).unwrap(),
            _ => quantize_bf16(&xf),
        };
        let (c, cycles, _) = run(ty, xt, &w, &xq, m, n, k);
        assert_eq!(bits(&c), bits(&expect(ty, &w, &xq, m, n, k)), "{ty}");
        eprintln!("k_mul_mat_xpop {ty} m={m} n={n} k={k}: {cycles} cycles");
    }
}

#[test]
fn kernel_quantizes_f32_activations_as_ggml_does() {
    for (ty, m, n, k) in [(GgmlType::Q4_K, 2, 8, 512), (GgmlType::Q8_0, 2, 8, 256)] {
        let w = weights(ty, n, k);
        let xf = floats(20, m * k);
        let x: Vec<u8> = xf.iter().flat_map(|v| v.to_le_bytes()).collect();
        let (c, _, _) = run(ty, GgmlType::F32, &w, &x, m, n, k);
        let xq = match ty.vec_dot_type().unwrap() {
            GgmlType::Q8_K => quantize_q8_k(&xf).unwrap(),
            _ => quantize_q8_0(&xf).unwrap(),
        };
        assert_eq!(bits(&c), bits(&expect(ty, &w, &xq, m, n, k)), "{ty}");
    }
}

/// The core waits for `xpop.mm` as long as the unit needs, and no longer: a memory-bound
/// product (1024 Q4_K rows of k = 2048, 1.2 MB of weights) costs the kernel what the unit's
/// timing model gives for the same job on a fresh memory, plus the kernel's own few thousand
/// cycles (the timing layer does not also replay the unit's recorded accesses).
#[test]
fn xpop_mm_costs_the_kernel_what_the_unit_needs() {
    let (ty, m, n, k) = (GgmlType::Q4_K, 1usize, 1024usize, 2048usize);
    let w = weights(ty, n, k);
    let xq = quantize_q8_k(&floats(5, m * k)).unwrap();
    let (_, cycles, _) = run(ty, GgmlType::Q8_K, &w, &xq, m, n, k);
    // The same job timed alone, at the addresses run() places the tensors.
    let board = load_board("innerjib7ea", &[]).unwrap().board;
    let align = |v: u64| v.div_ceil(4096) * 4096;
    let a = TENSORS;
    let b = align(a + w.len() as u64);
    let c = align(b + xq.len() as u64);
    let job = MatmulJob {
        ty,
        a,
        b,
        c,
        lda: 8 * 144,
        ldb: 8 * 292,
        ldc: 4 * n as u64,
        m: m as u64,
        n: n as u64,
        k: k as u64,
        a_transposed: false,
    };
    let mut unit = MatmulTiming::new(&board);
    let alone = unit
        .time_jobs(
            DESC,
            &[job],
            Time::ZERO,
            &mut CardMemory::new(&board).unwrap(),
        )
        .busy;
    assert!(alone > 30_000, "{alone}");
    assert!(
        cycles < alone + 5_000,
        "the kernel took {cycles} cycles; the product alone takes {alone}"
    );
}
