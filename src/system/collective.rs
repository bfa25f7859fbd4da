//! Collectives over the fabric, executed as real data moved between the cards' memories.
//!
//! Every algorithm is the ring algorithm (as NCCL uses for large messages), on either
//! topology (a mesh uses its ring subset of cables). A card's buffer of `bytes` bytes of f32
//! is cut into N chunks (element boundaries), each chunk into segments that are pipelined:
//! a segment is sent as soon as its data is final on the sender and the channel is free,
//! and reduced on the receiver as soon as it has arrived and the card's reduce engine is free.
//!
//! - ReduceScatter: N-1 steps; at step s card i sends chunk (i-s) mod N to card i+1, which
//!   adds it into its own copy. Card i ends with the sum of chunk (i+1) mod N.
//! - AllGather: N-1 steps; at step s card i forwards chunk (i+1-s) mod N to card i+1.
//! - AllReduce: ReduceScatter then AllGather.
//! - Broadcast: card 0's buffer flows down the ring, segment by segment.
//!
//! The bound beside each result is the alpha-beta model with alpha = one hop latency and
//! beta = 1 / link goodput: AllReduce 2(N-1)a + 2(N-1)/N S/B; AllGather and ReduceScatter
//! (N-1)a + (N-1)/N S/B; Broadcast (N-1)a + S/B. Bus bandwidth follows nccl-tests: algbw =
//! S / t, busbw = algbw x 2(N-1)/N (AllReduce), x (N-1)/N (AllGather, ReduceScatter), x 1
//! (Broadcast).

use super::topology::Fabric;
use crate::units::Time;
use anyhow::{bail, Result};
use serde::Serialize;

/// Which collective.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Collective {
    /// Sum over cards, result on every card.
    Allreduce,
    /// Every card's chunk, gathered on every card.
    Allgather,
    /// Sum over cards, chunk i on card i-1 (ring order).
    Reducescatter,
    /// Card 0's buffer copied to every card.
    Broadcast,
}

impl Collective {
    /// The nccl-tests bus-bandwidth factor for N cards.
    pub fn busbw_factor(self, n: usize) -> f64 {
        let n = n as f64;
        match self {
            Collective::Allreduce => 2.0 * (n - 1.0) / n,
            Collective::Allgather | Collective::Reducescatter => (n - 1.0) / n,
            Collective::Broadcast => 1.0,
        }
    }

    /// The alpha-beta bound for `bytes` on N cards with latency `alpha` and bandwidth `b`.
    pub fn bound_seconds(self, n: usize, bytes: u64, alpha: f64, b: f64) -> f64 {
        if n < 2 {
            return 0.0;
        }
        let (nf, s) = (n as f64, bytes as f64);
        match self {
            Collective::Allreduce => 2.0 * (nf - 1.0) * alpha + 2.0 * (nf - 1.0) / nf * s / b,
            Collective::Allgather | Collective::Reducescatter => {
                (nf - 1.0) * alpha + (nf - 1.0) / nf * s / b
            }
            Collective::Broadcast => (nf - 1.0) * alpha + s / b,
        }
    }
}

/// What the collective engine needs from the cards: their memories and a reduce engine.
pub trait CardOps {
    /// Reads card memory.
    fn read(&mut self, card: usize, addr: u64, buf: &mut [u8]) -> Result<()>;
    /// Writes card memory.
    fn write(&mut self, card: usize, addr: u64, data: &[u8]) -> Result<()>;
    /// On `card`, adds `bytes` bytes of f32 at `src` into `dst`, starting no earlier than
    /// `start` and after the card's previous reduce; returns when it is done.
    fn reduce_f32(
        &mut self,
        card: usize,
        dst: u64,
        src: u64,
        bytes: u64,
        start: Time,
    ) -> Result<Time>;

    /// Runs a batch of reduces that a synchronisation point releases together: jobs on
    /// different cards are independent, jobs on one card run in the batch's order. Returns
    /// each job's completion time, in job order. The default runs them one by one;
    /// implementations may run different cards' jobs on host threads, but must return the
    /// same times as the one-by-one order.
    fn reduce_batch(&mut self, jobs: &[ReduceJob]) -> Result<Vec<Time>> {
        jobs.iter()
            .map(|j| self.reduce_f32(j.card, j.dst, j.src, j.bytes, j.start))
            .collect()
    }
}

/// One reduce of a batch: on `card`, add `bytes` of f32 at `src` into `dst`, no earlier than
/// `start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReduceJob {
    /// The card.
    pub card: usize,
    /// Destination (and first operand).
    pub dst: u64,
    /// Second operand.
    pub src: u64,
    /// Bytes of f32.
    pub bytes: u64,
    /// Earliest start (the data's arrival).
    pub start: Time,
}

/// Where the buffers sit in each card's memory.
#[derive(Debug, Clone, Copy)]
pub struct Buffers {
    /// The data buffer (`bytes` long) on every card.
    pub data: u64,
    /// A receive area of at least one chunk on every card (ReduceScatter lands here).
    pub recv: u64,
}

/// Timing of one collective.
#[derive(Debug, Clone, Serialize)]
pub struct CollectiveTiming {
    /// Emulated time from start to the last card's completion.
    pub seconds: f64,
    /// Segments sent over all channels.
    pub messages: u64,
    /// Payload bytes sent over all channels.
    pub bytes_sent: u64,
}

/// Splits `elems` into `parts` nearly equal runs: (first element, count).
fn split(elems: u64, parts: usize) -> Vec<(u64, u64)> {
    let p = parts as u64;
    (0..p)
        .map(|i| {
            let lo = elems * i / p;
            let hi = elems * (i + 1) / p;
            (lo, hi - lo)
        })
        .collect()
}

/// The pipelined ring engine: chunk and segment geometry, and when each segment's data is
/// final on each card.
struct Ring<'a> {
    n: usize,
    buffers: Buffers,
    /// Per chunk: its segments as (first element, element count).
    segments: Vec<Vec<(u64, u64)>>,
    /// ready[card][chunk][segment]: when that segment's data is final on that card.
    ready: Vec<Vec<Vec<Time>>>,
    /// First element of each chunk.
    chunk_start: Vec<u64>,
    fabric: &'a mut Fabric,
    timing: CollectiveTiming,
    end: Time,
    buf: Vec<u8>,
}

impl<'a> Ring<'a> {
    fn new(fabric: &'a mut Fabric, buffers: Buffers, bytes: u64, segment: u64) -> Self {
        let n = fabric.cards();
        let chunks = split(bytes / 4, n);
        let seg_elems = (segment / 4).max(1);
        let segments: Vec<Vec<(u64, u64)>> = chunks
            .iter()
            .map(|&(lo, cnt)| {
                let k = cnt.div_ceil(seg_elems).max(1) as usize;
                split(cnt, k)
                    .into_iter()
                    .map(|(o, c)| (lo + o, c))
                    .collect()
            })
            .collect();
        let ready = (0..n)
            .map(|_| segments.iter().map(|s| vec![Time::ZERO; s.len()]).collect())
            .collect();
        Self {
            n,
            buffers,
            chunk_start: chunks.iter().map(|c| c.0).collect(),
            segments,
            ready,
            fabric,
            timing: CollectiveTiming {
                seconds: 0.0,
                messages: 0,
                bytes_sent: 0,
            },
            end: Time::ZERO,
            buf: Vec::new(),
        }
    }

    /// Sends segment `k` of chunk `c` from `from` to `to`; returns its arrival time and
    /// leaves its bytes in `self.buf`.
    fn send(
        &mut self,
        cards: &mut impl CardOps,
        from: usize,
        to: usize,
        c: usize,
        k: usize,
    ) -> Result<Time> {
        let (e0, ne) = self.segments[c][k];
        let len = ne * 4;
        self.buf.resize(len as usize, 0);
        cards.read(from, self.buffers.data + e0 * 4, &mut self.buf)?;
        let ch = self
            .fabric
            .channel(from, to)
            .ok_or_else(|| anyhow::anyhow!("no cable from card {from} to card {to}"))?;
        let at = ch.send(len, self.ready[from][c][k]);
        self.timing.messages += 1;
        self.timing.bytes_sent += len;
        Ok(at)
    }

    /// One ring pass of N-1 steps: at step s card i sends chunk `chunk_of(i, s)` to card
    /// i+1, which reduces it into its copy (`reduce`) or overwrites its copy.
    fn pass(
        &mut self,
        cards: &mut impl CardOps,
        reduce: bool,
        chunk_of: impl Fn(usize, usize) -> usize,
    ) -> Result<()> {
        let n = self.n;
        for s in 0..n - 1 {
            // All sends of a step read the senders' data before any receiver changes it.
            let mut arrivals = Vec::new();
            for from in 0..n {
                let to = self.fabric.next(from);
                let c = chunk_of(from, s);
                for k in 0..self.segments[c].len() {
                    let at = self.send(cards, from, to, c, k)?;
                    arrivals.push((to, c, k, at, self.buf.clone()));
                }
            }
            // The received data lands; the step's reduces then run as one batch (a
            // synchronisation point: different cards' reduces may run on host threads).
            let mut jobs = Vec::new();
            let mut reduced = Vec::new();
            for (to, c, k, at, data) in arrivals {
                let (e0, ne) = self.segments[c][k];
                let dst = self.buffers.data + e0 * 4;
                if reduce {
                    let recv = self.buffers.recv + (e0 - self.chunk_start[c]) * 4;
                    cards.write(to, recv, &data)?;
                    jobs.push(ReduceJob {
                        card: to,
                        dst,
                        src: recv,
                        bytes: ne * 4,
                        start: at,
                    });
                    reduced.push((to, c, k));
                } else {
                    cards.write(to, dst, &data)?;
                    self.ready[to][c][k] = at;
                    self.end = self.end.max(at);
                }
            }
            let done = cards.reduce_batch(&jobs)?;
            if done.len() != jobs.len() {
                bail!(
                    "reduce batch returned {} times for {} jobs",
                    done.len(),
                    jobs.len()
                );
            }
            for ((to, c, k), t) in reduced.into_iter().zip(done) {
                self.ready[to][c][k] = t;
                self.end = self.end.max(t);
            }
        }
        Ok(())
    }

    /// Card 0's buffer forwarded down the ring, segment by segment.
    fn broadcast(&mut self, cards: &mut impl CardOps) -> Result<()> {
        for from in 0..self.n - 1 {
            let to = from + 1;
            for c in 0..self.n {
                for k in 0..self.segments[c].len() {
                    let at = self.send(cards, from, to, c, k)?;
                    let e0 = self.segments[c][k].0;
                    cards.write(to, self.buffers.data + e0 * 4, &self.buf)?;
                    self.ready[to][c][k] = at;
                    self.end = self.end.max(at);
                }
            }
        }
        Ok(())
    }
}

/// Runs `kind` over `fabric` on buffers of `bytes` bytes (a multiple of 4: f32 elements),
/// segments of at most `segment` bytes. Every card starts at time zero.
pub fn run(
    kind: Collective,
    fabric: &mut Fabric,
    cards: &mut impl CardOps,
    buffers: Buffers,
    bytes: u64,
    segment: u64,
) -> Result<CollectiveTiming> {
    if !bytes.is_multiple_of(4) {
        bail!("collective size {bytes} is not a whole number of f32 elements");
    }
    if segment < 4 {
        bail!("segment size must be at least one f32 element");
    }
    let n = fabric.cards();
    let mut ring = Ring::new(fabric, buffers, bytes, segment);
    if n >= 2 && bytes > 0 {
        match kind {
            Collective::Reducescatter => ring.pass(cards, true, |i, s| (i + n - s) % n)?,
            Collective::Allreduce => {
                ring.pass(cards, true, |i, s| (i + n - s) % n)?;
                ring.pass(cards, false, |i, s| (i + 1 + n - s) % n)?;
            }
            Collective::Allgather => ring.pass(cards, false, |i, s| (i + 1 + n - s) % n)?,
            Collective::Broadcast => ring.broadcast(cards)?,
        }
    }
    ring.timing.seconds = ring.end.secs();
    Ok(ring.timing)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{load_board, Topology};
    use crate::link::intercard::LinkParams;
    use crate::mem::store::BackingStore;

    /// Cards whose reduce is plain f32 addition at a fixed rate.
    struct TestCards {
        stores: Vec<BackingStore>,
        reduce_free: Vec<Time>,
        bytes_per_s: f64,
    }

    impl TestCards {
        fn new(n: usize, bytes_per_s: f64) -> Self {
            let stores = (0..n)
                .map(|_| {
                    let mut s = BackingStore::new();
                    s.add_region("ddr", 0x8000_0000, 1 << 30);
                    s
                })
                .collect();
            Self {
                stores,
                reduce_free: vec![Time::ZERO; n],
                bytes_per_s,
            }
        }
    }

    impl CardOps for TestCards {
        fn read(&mut self, card: usize, addr: u64, buf: &mut [u8]) -> Result<()> {
            Ok(self.stores[card].read(addr, buf)?)
        }
        fn write(&mut self, card: usize, addr: u64, data: &[u8]) -> Result<()> {
            Ok(self.stores[card].write(addr, data)?)
        }
        fn reduce_f32(
            &mut self,
            card: usize,
            dst: u64,
            src: u64,
            bytes: u64,
            start: Time,
        ) -> Result<Time> {
            let mut a = vec![0u8; bytes as usize];
            let mut b = vec![0u8; bytes as usize];
            self.stores[card].read(dst, &mut a)?;
            self.stores[card].read(src, &mut b)?;
            for (x, y) in a.chunks_exact_mut(4).zip(b.chunks_exact(4)) {
                let s = f32::from_le_bytes(x.try_into().unwrap())
                    + f32::from_le_bytes(y.try_into().unwrap());
                x.copy_from_slice(&s.to_le_bytes());
            }
            self.stores[card].write(dst, &a)?;
            let begin = start.max(self.reduce_free[card]);
            let done = begin + Time::from_secs(bytes as f64 / self.bytes_per_s);
            self.reduce_free[card] = done;
            Ok(done)
        }
    }

    const BUF: Buffers = Buffers {
        data: 0x8100_0000,
        recv: 0x9000_0000,
    };

    fn setup(n: usize, bytes: u64) -> (Fabric, TestCards, Vec<Vec<f32>>) {
        let p = LinkParams::from_config(&load_board("innerjib7ea", &[]).unwrap().board.intercard);
        let fabric = Fabric::new(n, Topology::Ring, p);
        let mut cards = TestCards::new(n, 2.0e9);
        // Small integers keep every partial sum exact, whatever the order of addition.
        let data: Vec<Vec<f32>> = (0..n)
            .map(|c| {
                (0..bytes / 4)
                    .map(|e| ((e * 7 + c as u64 * 13) % 101) as f32)
                    .collect()
            })
            .collect();
        for (c, d) in data.iter().enumerate() {
            let bytes: Vec<u8> = d.iter().flat_map(|v| v.to_le_bytes()).collect();
            cards.write(c, BUF.data, &bytes).unwrap();
        }
        (fabric, cards, data)
    }

    fn read_f32(cards: &mut TestCards, card: usize, bytes: u64) -> Vec<f32> {
        let mut b = vec![0u8; bytes as usize];
        cards.read(card, BUF.data, &mut b).unwrap();
        b.chunks_exact(4)
            .map(|x| f32::from_le_bytes(x.try_into().unwrap()))
            .collect()
    }

    #[test]
    fn allreduce_equals_elementwise_sum_on_every_card() {
        for n in [2, 3, 4, 8] {
            let bytes = 4 * 1000;
            let (mut f, mut cards, data) = setup(n, bytes);
            run(Collective::Allreduce, &mut f, &mut cards, BUF, bytes, 256).unwrap();
            let want: Vec<f32> = (0..1000).map(|e| data.iter().map(|d| d[e]).sum()).collect();
            for c in 0..n {
                assert_eq!(read_f32(&mut cards, c, bytes), want, "card {c} of {n}");
            }
        }
    }

    #[test]
    fn allgather_reducescatter_broadcast_move_the_right_data() {
        let n = 4;
        let bytes = 4 * 1000;
        let (mut f, mut cards, data) = setup(n, bytes);
        run(
            Collective::Reducescatter,
            &mut f,
            &mut cards,
            BUF,
            bytes,
            256,
        )
        .unwrap();
        let chunks = split(1000, n);
        for c in 0..n {
            let got = read_f32(&mut cards, c, bytes);
            let (lo, cnt) = chunks[(c + 1) % n];
            for e in lo..lo + cnt {
                let want: f32 = data.iter().map(|d| d[e as usize]).sum();
                assert_eq!(got[e as usize], want);
            }
        }
        let (mut f, mut cards, data) = setup(n, bytes);
        run(Collective::Allgather, &mut f, &mut cards, BUF, bytes, 256).unwrap();
        for c in 0..n {
            let got = read_f32(&mut cards, c, bytes);
            for (owner, &(lo, cnt)) in chunks.iter().enumerate() {
                // Chunk k starts on card k-1 (the owner after a ReduceScatter).
                let src = (owner + n - 1) % n;
                assert_eq!(
                    &got[lo as usize..(lo + cnt) as usize],
                    &data[src][lo as usize..(lo + cnt) as usize]
                );
            }
        }
        let (mut f, mut cards, data) = setup(n, bytes);
        run(Collective::Broadcast, &mut f, &mut cards, BUF, bytes, 256).unwrap();
        for c in 0..n {
            assert_eq!(read_f32(&mut cards, c, bytes), data[0]);
        }
    }

    #[test]
    fn large_messages_reach_the_alpha_beta_bound_small_ones_the_latency() {
        for kind in [
            Collective::Allreduce,
            Collective::Allgather,
            Collective::Reducescatter,
            Collective::Broadcast,
        ] {
            for n in [2, 4, 8] {
                let p = LinkParams::from_config(
                    &load_board("innerjib7ea", &[]).unwrap().board.intercard,
                );
                let (a, b) = (p.hop_latency.secs(), p.goodput_bytes_per_s());
                let big = 16 << 20;
                let (mut f, mut cards, _) = setup(n, big);
                let t = run(kind, &mut f, &mut cards, BUF, big, 32 << 10).unwrap();
                let bound = kind.bound_seconds(n, big, a, b);
                // Pipelining overlaps all but one hop latency with the transfers, so the
                // strict floor is the bandwidth term alone; the alpha-beta figure is met
                // within 2%.
                let beta_term = kind.bound_seconds(n, big, 0.0, b);
                assert!(
                    t.seconds >= beta_term,
                    "{kind:?} n={n}: {} below {beta_term}",
                    t.seconds
                );
                assert!(
                    (t.seconds / bound - 1.0).abs() <= 0.02,
                    "{kind:?} n={n}: {} vs bound {bound}",
                    t.seconds
                );
                let small = 4 * n as u64;
                let (mut f, mut cards, _) = setup(n, small);
                let t = run(kind, &mut f, &mut cards, BUF, small, 64 << 10).unwrap();
                let steps = match kind {
                    Collective::Allreduce => 2 * (n - 1),
                    _ => n - 1,
                } as f64;
                let latency = steps * a;
                assert!(t.seconds >= latency, "{kind:?} n={n}");
                assert!(
                    latency / t.seconds > 0.5,
                    "{kind:?} n={n}: latency {latency} of {}",
                    t.seconds
                );
            }
        }
    }
}
