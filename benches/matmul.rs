//! Host speed of the Xpop_matmul unit's semantics (`dot::matmul`) and timing model.
//!
//! `cargo bench --bench matmul`; figures are per call of the TinyLlama decode FFN shape
//! (m=1, n=5632, k=2048: 11.5 M MACs) unless the name says otherwise.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sail_emu::config::load_board;
use sail_emu::matmul::descriptor::MatmulJob;
use sail_emu::matmul::dot::{matmul, RowSet};
use sail_emu::matmul::timing::{time_jobs, TimingParams};
use sail_emu::mem::fixed::FixedLatency;
use sail_emu::quant::quantize::{quantize_bf16, quantize_q8_0, quantize_q8_k};
use sail_emu::quant::GgmlType;
use sail_emu::units::Time;
use std::hint::black_box;

fn bytes(len: usize) -> Vec<u8> {
    let mut s = 0x9E37_79B9_7F4A_7C15u64;
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s as u8
        })
        .collect()
}

fn floats(len: usize) -> Vec<f32> {
    bytes(len)
        .iter()
        .map(|&b| (b as f32 - 127.5) / 64.0)
        .collect()
}

/// Weight rows of `ty` with finite f16 scales.
fn weights(ty: GgmlType, n: usize, k: usize) -> Vec<u8> {
    match ty {
        GgmlType::Q4_K => {
            let mut a = bytes(n * k / 256 * 144);
            for blk in a.chunks_exact_mut(144) {
                blk[0..4].copy_from_slice(&[0x1f, 0x21, 0x1f, 0x1d]);
            }
            a
        }
        GgmlType::Q6_K => {
            let mut a = bytes(n * k / 256 * 210);
            for blk in a.chunks_exact_mut(210) {
                blk[208..210].copy_from_slice(&[0x1f, 0x21]);
            }
            a
        }
        GgmlType::Q8_0 => quantize_q8_0(&floats(n * k)).unwrap(),
        _ => quantize_bf16(&floats(n * k)),
    }
}

fn activations(ty: GgmlType, m: usize, k: usize) -> Vec<u8> {
    match ty {
        GgmlType::Q4_K | GgmlType::Q6_K => quantize_q8_k(&floats(m * k)).unwrap(),
        GgmlType::Q8_0 => quantize_q8_0(&floats(m * k)).unwrap(),
        _ => quantize_bf16(&floats(m * k)),
    }
}

fn semantics(c: &mut Criterion) {
    let mut g = c.benchmark_group("matmul_semantics");
    g.sample_size(10);
    for (ty, m, n, k) in [
        (GgmlType::Q4_K, 1, 5632, 2048),
        (GgmlType::Q6_K, 1, 2048, 5632),
        (GgmlType::Q4_K, 8, 1024, 2048),
        (GgmlType::Q8_0, 1, 5632, 2048),
        (GgmlType::BF16, 1, 1024, 2048),
    ] {
        let a = weights(ty, n, k);
        let b = activations(ty, m, k);
        let ra = ty.row_bytes(k as u64).unwrap() as usize;
        let rb = ty.vec_dot_type().unwrap().row_bytes(k as u64).unwrap() as usize;
        g.throughput(Throughput::Elements((m * n * k) as u64));
        g.bench_function(format!("{ty}_m{m}_n{n}_k{k}"), |bench| {
            bench.iter(|| {
                matmul(
                    ty,
                    k as u64,
                    RowSet::packed(black_box(&a), n, ra),
                    RowSet::packed(black_box(&b), m, rb),
                )
                .unwrap()
            })
        });
    }
    g.finish();
}

fn timing(c: &mut Criterion) {
    let board = load_board("innerjib7ea", &[]).unwrap().board;
    let p = TimingParams::from_board(&board);
    let job = MatmulJob {
        ty: GgmlType::Q4_K,
        a: 0x8100_0000,
        b: 0x8200_0000,
        c: 0x8300_0000,
        lda: 1152,
        ldb: 2336,
        ldc: 4 * 5632,
        m: 1,
        n: 5632,
        k: 2048,
        a_transposed: false,
    };
    c.bench_function("matmul_timing_q4_K_m1_n5632_k2048", |bench| {
        bench.iter(|| {
            let mut mem = FixedLatency::new(Time::ZERO, board.clock.period(), 32);
            time_jobs(&p, 0x8000_1000, black_box(&[job]), Time::ZERO, &mut mem)
        })
    });
}

criterion_group!(benches, semantics, timing);
criterion_main!(benches);
