//! Host speed of the multi-card machinery: a ring AllReduce of 1 MiB on 4 emulated cards
//! (real data, reductions by the `k_eltwise` kernel on each card's emulated core), on 1 and
//! 2 host threads. Emulated times are identical on any thread count (tests/collective.rs);
//! this measures only how long the host takes.
//!
//! Run: `cargo bench --bench multicard`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use sail_emu::config::{load_board, Topology};
use sail_emu::experiment::collective::{run, BenchSpec};
use sail_emu::system::collective::Collective;

fn bench(c: &mut Criterion) {
    let board = load_board("innerjib7ea", &[]).unwrap().board;
    let mut g = c.benchmark_group("allreduce_1MiB_4_cards");
    g.sample_size(10);
    // Reduced bytes over all cards: (N-1)/N of the buffer on each of N cards.
    g.throughput(Throughput::Bytes(3 << 20));
    for threads in [1usize, 2] {
        let spec = BenchSpec {
            op: Collective::Allreduce,
            cards: 4,
            bytes: 1 << 20,
            segment: 32 << 10,
            topology: Topology::Ring,
            threads,
        };
        g.bench_with_input(BenchmarkId::new("threads", threads), &spec, |b, s| {
            b.iter(|| run(&board, s).unwrap().seconds)
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
