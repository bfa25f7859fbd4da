//! Host speed of the vector unit on the instruction mix of GGML's q4_0 x q8_0 dot-product
//! inner loop (TOOLCHAIN.md section 2), plus an FP loop (vfmul/vfmax/vfcvt, as in
//! quantize_row_q8_0), at VLEN 128 and 256. Reports vector instructions per second
//! (criterion "elements" = instructions).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use sail_emu::hart::bare_context::BareContext;
use sail_emu::hart::vector::VectorUnit;
use sail_emu::isa::vector::{decode, VInst};
use std::hint::black_box;

/// Encodings from llvm-mc-19 (-mattr=+v).
fn q4_0_loop() -> Vec<VInst> {
    [
        0xcc087057u32, // vsetivli zero, 16, e8, m1, ta, ma
        0x02058107,    // vle8.v v2, (a1)
        0x02060187,    // vle8.v v3, (a2)
        0x02068207,    // vle8.v v4, (a3)
        0x2627b2d7,    // vand.vi v5, v2, 15
        0xa2223357,    // vsrl.vi v6, v2, 4
        0x025c32d7,    // vadd.vi v5, v5, -8
        0x026c3357,    // vadd.vi v6, v6, -8
        0xee51a457,    // vwmul.vv v8, v5, v3
        0xf6432457,    // vwmacc.vv v8, v6, v4
        0x0c9072d7,    // vsetvli t0, zero, e16, m2, ta, ma
        0xc6808057,    // vwredsum.vs v0, v8, v1
        0x42002557,    // vmv.x.s a0, v0
    ]
    .iter()
    .map(|&w| decode(w).unwrap())
    .collect()
}

fn fp_loop() -> Vec<VInst> {
    [
        0x0d007057u32, // vsetvli zero, zero, e32, m1, ta, ma
        0x02066107,    // vle32.v v2, (a2)
        0x92255157,    // vfmul.vf v2, v2, fa0
        0x2a211257,    // vfabs.v v4, v2
        0x1a4212d7,    // vfmax.vv v5, v4, v4
        0x4a209357,    // vfcvt.x.f.v v6, v2
        0x1e2792d7,    // vfredmax.vs v5, v2, v15 (result unused)
    ]
    .iter()
    .map(|&w| decode(w).unwrap())
    .collect()
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("vector_unit");
    for (name, prog) in [("q4_0_dot_loop", q4_0_loop()), ("fp32_loop", fp_loop())] {
        for vlen in [128u32, 256] {
            let mut vu = VectorUnit::new(vlen);
            let mut cx = BareContext::new(0, 4096);
            let fill: Vec<u8> = (0..4096).map(|i| (i * 37 % 251) as u8).collect();
            cx.put_bytes(0, &fill);
            cx.x[11] = 256;
            cx.x[12] = 512;
            cx.x[13] = 1024;
            cx.f[10] = 0xffff_ffff_3e00_0000;
            // A fixed vl for the FP loop.
            vu.execute(&decode(0x0d0072d7).unwrap(), &mut cx).unwrap(); // vsetvli t0, zero, e32, m1
            const REPS: usize = 100;
            g.throughput(Throughput::Elements((prog.len() * REPS) as u64));
            g.bench_with_input(BenchmarkId::new(name, vlen), &prog, |b, prog| {
                b.iter(|| {
                    for _ in 0..REPS {
                        for i in prog {
                            vu.execute(black_box(i), &mut cx).unwrap();
                        }
                    }
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
