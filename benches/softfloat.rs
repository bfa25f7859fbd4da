//! Host speed of the hart's floating point (`hart::softfloat`): binary32 add, multiply and
//! fused multiply-add on normal operands in round-to-nearest-even (the case the kernels'
//! vector arithmetic hits, served by the binary64 fast paths), and the same fused
//! multiply-add under round-toward-zero (always the software path), per element.
//!
//! Run: `cargo bench --bench softfloat`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sail_emu::hart::softfloat::{add, fma, mul, F32, RNE, RTZ};
use std::hint::black_box;

/// `n` binary32 bit patterns of normal numbers between 2^-8 and 2^8, either sign.
fn operands(n: usize, mut s: u64) -> Vec<u64> {
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let exp = 119 + (s >> 40) % 16;
            ((s >> 63) << 31) | (exp << 23) | (s & 0x7f_ffff)
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    const N: usize = 4096;
    let (a, b, z) = (operands(N, 1), operands(N, 2), operands(N, 3));
    let mut g = c.benchmark_group("softfloat_f32");
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("add_rne", |bench| {
        bench.iter(|| {
            let mut fl = 0;
            let mut acc = 0u64;
            for (&x, &y) in a.iter().zip(&b) {
                acc ^= add(F32, black_box(x), y, RNE, &mut fl);
            }
            acc
        })
    });
    g.bench_function("mul_rne", |bench| {
        bench.iter(|| {
            let mut fl = 0;
            let mut acc = 0u64;
            for (&x, &y) in a.iter().zip(&b) {
                acc ^= mul(F32, black_box(x), y, RNE, &mut fl);
            }
            acc
        })
    });
    for (name, rm) in [("fma_rne", RNE), ("fma_rtz_software", RTZ)] {
        g.bench_function(name, |bench| {
            bench.iter(|| {
                let mut fl = 0;
                let mut acc = 0u64;
                for ((&x, &y), &w) in a.iter().zip(&b).zip(&z) {
                    acc ^= fma(F32, black_box(x), y, w, false, false, rm, &mut fl);
                }
                acc
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
