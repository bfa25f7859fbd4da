//! Host throughput of the memory models: requests per host second on a sequential and a
//! random trace, straight into the DDR3 model and through `CardMemory`.
//!
//! Run: `cargo bench --bench mem`. Criterion reports the time per batch of `N` requests and
//! the throughput in requests (elements) per second.

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use sail_emu::config::load_board;
use sail_emu::mem::ddr3::Ddr3;
use sail_emu::mem::microbench::SplitMix64;
use sail_emu::mem::{Access, CardMemory, MemoryModel, Request};
use sail_emu::units::Time;

const N: u64 = 100_000;

/// Requests as a streaming engine issues them: one every 4 DRAM-clock-equivalents of time
/// (26.7 ns, the bus time of a 64-byte burst), so the model stays near saturation.
fn trace(random: bool) -> Vec<Request> {
    let mut rng = SplitMix64::new(1);
    (0..N)
        .map(|i| Request {
            addr: 0x8000_0000
                + if random {
                    rng.below(1 << 26) * 64
                } else {
                    i * 64
                },
            bytes: 64,
            access: if random && i % 4 == 3 {
                Access::Write
            } else {
                Access::Read
            },
            issue: Time(i * 26_666_667),
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let board = load_board("innerjib7ea", &[]).unwrap().board;
    let mut g = c.benchmark_group("ddr3");
    g.throughput(Throughput::Elements(N));
    for (name, random) in [("sequential", false), ("random", true)] {
        let reqs = trace(random);
        g.bench_with_input(BenchmarkId::new("ddr3", name), &reqs, |b, reqs| {
            b.iter(|| {
                let mut m = Ddr3::from_board(&board).unwrap();
                let mut last = Time::ZERO;
                for r in reqs {
                    last = last.max(m.access(*r));
                }
                black_box(last)
            })
        });
        g.bench_with_input(BenchmarkId::new("card", name), &reqs, |b, reqs| {
            b.iter(|| {
                let mut m = CardMemory::new(&board).unwrap();
                let mut last = Time::ZERO;
                for r in reqs {
                    last = last.max(m.access(*r));
                }
                black_box(last)
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
