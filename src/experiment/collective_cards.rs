//! N emulated cards as the collective engine sees them ([`CardOps`]): each card's memory is a
//! [`Card`]'s memory, and each reduction runs the `k_eltwise` program's add on that card's
//! hart, so its duration is the kernel's emulated cycles at the board clock.
//!
//! A reduce's duration is a function of its descriptor (a fresh memory model per kernel), so
//! when it runs is the collective's timing phase's business. Between synchronisation points
//! (one [`CardOps::reduce_batch`]), different cards' kernels run on host threads; each card's
//! jobs run in order on one thread, so the emulated times do not depend on the thread count.

use crate::config::Board;
use crate::stats::Stats;
use crate::stats::Unit;
use crate::system::card::{kernel_dir, Card};
use crate::system::collective::{CardOps, ReduceJob};
use crate::system::fanout::on_threads;
use crate::system::reduce::run_add;
use crate::units::{Frequency, Time};
use anyhow::{bail, Context, Result};
use std::path::PathBuf;

/// One card and its reduce engine's bookkeeping.
struct Slot {
    card: Card,
    /// Sum of the reduce kernels' durations.
    busy: Time,
    /// Reduce kernels run.
    kernels: u64,
    /// Their core cycles.
    cycles: u64,
    /// Bytes of f32 reduced (one operand).
    bytes: u64,
}

impl Slot {
    /// Runs one add on this card: `dst += src` over `bytes` of f32; returns its duration.
    fn reduce(
        &mut self,
        program: &std::path::Path,
        clock: Frequency,
        j: &ReduceJob,
    ) -> Result<Time> {
        let (dur, cycles) = run_add(&mut self.card, program, clock, j)?;
        if cycles == 0 {
            return Ok(dur);
        }
        self.busy += dur;
        self.kernels += 1;
        self.cycles += cycles;
        self.bytes += j.bytes;
        Ok(dur)
    }
}

/// N emulated cards of one board, reducing with the `k_eltwise` kernel.
pub struct EmulatedCards {
    slots: Vec<Slot>,
    clock: Frequency,
    program: PathBuf,
    threads: usize,
}

impl EmulatedCards {
    /// `n` cards of `board`, each with a DDR window of at least `ddr_bytes` (see
    /// [`Card::new`]), whose reduce batches run on up to `threads` host threads (at least 1).
    pub fn new(board: &Board, n: usize, ddr_bytes: u64, threads: usize) -> Self {
        let slots = (0..n)
            .map(|_| Slot {
                card: Card::new(board, ddr_bytes, false, false, 1 << 40),
                busy: Time::ZERO,
                kernels: 0,
                cycles: 0,
                bytes: 0,
            })
            .collect();
        Self {
            slots,
            clock: board.clock,
            program: kernel_dir().join("k_eltwise.elf"),
            threads: threads.max(1),
        }
    }

    /// Number of cards.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// True when there are no cards.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Host threads used for a batch.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Card `i`, for loading data or running other kernels.
    pub fn card(&mut self, i: usize) -> &mut Card {
        &mut self.slots[i].card
    }

    /// Sum over cards of the reduce kernels' durations.
    pub fn reduce_busy(&self) -> Time {
        self.slots.iter().fold(Time::ZERO, |a, s| a + s.busy)
    }

    /// The longest any one card's reduce engine was busy.
    pub fn max_reduce_busy(&self) -> Time {
        self.slots.iter().map(|s| s.busy).max().unwrap_or_default()
    }

    /// Reduce kernels run over all cards.
    pub fn reduce_kernels(&self) -> u64 {
        self.slots.iter().map(|s| s.kernels).sum()
    }

    /// Core cycles of all reduce kernels.
    pub fn reduce_cycles(&self) -> u64 {
        self.slots.iter().map(|s| s.cycles).sum()
    }

    /// Per-card reduce counters under `card<i>.reduce.*`.
    pub fn stats(&self) -> Stats {
        let mut s = Stats::new();
        for (i, slot) in self.slots.iter().enumerate() {
            let mut c = Stats::new();
            c.set("kernels", slot.kernels as f64, Unit::Kernels);
            c.set("cycles", slot.cycles as f64, Unit::Cycles);
            c.set("busy_ns", slot.busy.ns(), Unit::Nanoseconds);
            c.set("bytes", slot.bytes as f64, Unit::Bytes);
            s.merge_under(&format!("card{i}.reduce"), &c);
        }
        s
    }

    fn slot(&mut self, card: usize) -> Result<&mut Slot> {
        let n = self.slots.len();
        self.slots
            .get_mut(card)
            .with_context(|| format!("card {card} does not exist ({n} cards)"))
    }
}

impl CardOps for EmulatedCards {
    fn read(&mut self, card: usize, addr: u64, buf: &mut [u8]) -> Result<()> {
        self.slot(card)?.card.read(addr, buf)
    }

    fn write(&mut self, card: usize, addr: u64, data: &[u8]) -> Result<()> {
        self.slot(card)?.card.write(addr, data)
    }

    fn reduce_f32(&mut self, card: usize, dst: u64, src: u64, bytes: u64) -> Result<Time> {
        let (program, clock) = (self.program.clone(), self.clock);
        let job = ReduceJob {
            card,
            dst,
            src,
            bytes,
        };
        self.slot(card)?.reduce(&program, clock, &job)
    }

    fn reduce_batch(&mut self, jobs: &[ReduceJob]) -> Result<Vec<Time>> {
        let n = self.slots.len();
        // Each card's jobs, in batch order, with their index in the batch.
        let mut per_card: Vec<Vec<(usize, ReduceJob)>> = vec![Vec::new(); n];
        for (i, j) in jobs.iter().enumerate() {
            if j.card >= n {
                bail!("card {} does not exist ({n} cards)", j.card);
            }
            per_card[j.card].push((i, *j));
        }
        let (program, clock) = (&self.program, self.clock);
        let busy_cards = per_card.iter().filter(|w| !w.is_empty()).count();
        let threads = self.threads.min(busy_cards).max(1);
        let results = on_threads(&mut self.slots, &per_card, threads, |slot, jobs| {
            jobs.iter()
                .map(|(i, j)| Ok((*i, slot.reduce(program, clock, j)?)))
                .collect::<Result<Vec<(usize, Time)>>>()
        })?;
        let mut times = vec![Time::ZERO; jobs.len()];
        for (i, t) in results.into_iter().flatten() {
            times[i] = t;
        }
        Ok(times)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{load_board, Topology};
    use crate::link::intercard::LinkParams;
    use crate::system::collective::{self, Buffers, Collective};
    use crate::system::reduce::add_desc;
    use crate::system::topology::Fabric;
    use crate::workload::abi::TENSOR_BASE;

    const BUF: Buffers = Buffers {
        data: TENSOR_BASE,
        recv: TENSOR_BASE + (64 << 20),
    };

    fn f32s(v: &[f32]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    fn read_f32(cards: &mut EmulatedCards, card: usize, addr: u64, n: usize) -> Vec<f32> {
        let mut b = vec![0u8; n * 4];
        cards.read(card, addr, &mut b).unwrap();
        b.chunks_exact(4)
            .map(|x| f32::from_le_bytes(x.try_into().unwrap()))
            .collect()
    }

    /// Non-integer values: the sums are rounded, so equality with the reference checks the
    /// order of additions as well as the values.
    fn data(n: usize, elems: usize) -> Vec<Vec<f32>> {
        (0..n)
            .map(|c| {
                (0..elems)
                    .map(|e| ((e * 7919 + c * 104_729) % 10_007) as f32 * 0.013_7 - 60.1)
                    .collect()
            })
            .collect()
    }

    /// Emulated cards whose reduces take no time (and do nothing): the link-only timing.
    struct Instant(EmulatedCards);

    impl CardOps for Instant {
        fn read(&mut self, card: usize, addr: u64, buf: &mut [u8]) -> Result<()> {
            self.0.read(card, addr, buf)
        }
        fn write(&mut self, card: usize, addr: u64, data: &[u8]) -> Result<()> {
            self.0.write(card, addr, data)
        }
        fn reduce_f32(&mut self, _: usize, _: u64, _: u64, _: u64) -> Result<Time> {
            Ok(Time::ZERO)
        }
    }

    #[test]
    fn reduce_is_the_kernels_add_and_takes_its_cycles() {
        let board = load_board("innerjib7ea", &[]).unwrap().board;
        let mut cards = EmulatedCards::new(&board, 1, 0, 1);
        let d = data(2, 1000);
        cards.write(0, BUF.data, &f32s(&d[0])).unwrap();
        cards.write(0, BUF.recv, &f32s(&d[1])).unwrap();
        let dur = cards.reduce_f32(0, BUF.data, BUF.recv, 4000).unwrap();
        let got = read_f32(&mut cards, 0, BUF.data, 1000);
        let want: Vec<f32> = d[0].iter().zip(&d[1]).map(|(a, b)| a + b).collect();
        assert_eq!(got, want);
        // The duration is the kernel's cycles at the board clock, measured independently.
        let mut card = Card::new(&board, 0, false, false, 1 << 40);
        card.write(BUF.data, &f32s(&d[0])).unwrap();
        card.write(BUF.recv, &f32s(&d[1])).unwrap();
        let run = card
            .run(
                &kernel_dir().join("k_eltwise.elf"),
                &add_desc(1000, BUF.data, BUF.recv),
            )
            .unwrap();
        assert!(run.cycles > 1000 / 4, "at least one cycle per 4 lanes");
        assert_eq!(cards.reduce_cycles(), run.cycles);
        assert_eq!(dur, board.clock.cycles_to_time(run.cycles));
        // Same descriptor, same duration (the data differ now).
        let again = cards.reduce_f32(0, BUF.data, BUF.recv, 4000).unwrap();
        assert_eq!(again, dur);
        assert_eq!(cards.reduce_kernels(), 2);
        assert_eq!(cards.reduce_busy(), dur + dur);
    }

    #[test]
    fn allreduce_on_emulated_cards_equals_the_ring_order_sum() {
        let board = load_board("innerjib7ea", &[]).unwrap().board;
        let params = LinkParams::from_config(&board.intercard);
        for n in [2usize, 3, 4] {
            let elems = 3000;
            let bytes = (elems * 4) as u64;
            let d = data(n, elems);
            let mut cards = EmulatedCards::new(&board, n, 0, 1);
            for (c, v) in d.iter().enumerate() {
                cards.write(c, BUF.data, &f32s(v)).unwrap();
            }
            let mut fabric = Fabric::new(n, Topology::Ring, params);
            let t = collective::run(
                Collective::Allreduce,
                &mut fabric,
                &mut cards,
                BUF,
                bytes,
                2048,
            )
            .unwrap();
            // The ring order: chunk c ends on card c-1 after adding, in turn, the copies of
            // cards c+1, ..., c-1 (each add is the receiver's own value + the incoming
            // partial sum; f32 addition commutes, so only the grouping matters).
            let chunks: Vec<(usize, usize)> = (0..n)
                .map(|i| (elems * i / n, elems * (i + 1) / n))
                .collect();
            let mut want = vec![0f32; elems];
            for (c, &(lo, hi)) in chunks.iter().enumerate() {
                for (e, w) in want.iter_mut().enumerate().take(hi).skip(lo) {
                    let mut acc = d[c][e];
                    for s in 1..n {
                        acc += d[(c + s) % n][e];
                    }
                    *w = acc;
                }
            }
            for c in 0..n {
                assert_eq!(
                    read_f32(&mut cards, c, BUF.data, elems),
                    want,
                    "card {c}/{n}"
                );
            }
            // Timing: every reduce ran as a kernel; the collective cannot finish before the
            // busiest card's reduce kernels plus the link time of one segment.
            assert!(cards.reduce_kernels() > 0);
            let segs_per_card = (n - 1) as u64 * (bytes / n as u64).div_ceil(2048);
            assert!(cards.reduce_kernels() >= n as u64 * segs_per_card - n as u64);
            assert!(t.seconds > cards.max_reduce_busy().secs());
            // The same collective with instantaneous reduces finishes earlier by at least
            // the last reduce kernel on the critical path (one segment's add).
            let mut instant = Instant(EmulatedCards::new(&board, n, 0, 1));
            for (c, v) in d.iter().enumerate() {
                instant.write(c, BUF.data, &f32s(v)).unwrap();
            }
            let mut fabric = Fabric::new(n, Topology::Ring, params);
            let t0 = collective::run(
                Collective::Allreduce,
                &mut fabric,
                &mut instant,
                BUF,
                bytes,
                2048,
            )
            .unwrap();
            let min_kernel = cards.reduce_busy().secs() / cards.reduce_kernels() as f64 * 0.5;
            assert!(
                t.seconds > t0.seconds + min_kernel,
                "{} vs {} without kernel time",
                t.seconds,
                t0.seconds
            );
        }
    }
}
