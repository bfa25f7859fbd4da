//! Collectives over the fabric, executed as real data moved between the cards' memories.
//!
//! Every algorithm is the ring algorithm (as NCCL uses for large messages), on either
//! topology (a mesh uses its ring subset of cables). A card's buffer of `bytes` bytes of f32
//! is cut into N chunks (element boundaries), each chunk into segments of at most `segment`
//! bytes that are pipelined: every segment travels its own chain of hops around the ring.
//!
//! - ReduceScatter: N-1 steps; at step s card i sends chunk (i-s) mod N to card i+1, which
//!   adds it into its own copy. Card i ends with the sum of chunk (i+1) mod N.
//! - AllGather: N-1 steps; at step s card i forwards chunk (i+1-s) mod N to card i+1.
//! - AllReduce: ReduceScatter then AllGather (per segment: a segment's all-gather hops start
//!   as soon as that segment is fully reduced, as NCCL's sliced ring does).
//! - Broadcast: card 0's buffer flows down the ring, segment by segment.
//!
//! A run has two phases. The functional phase moves the bytes step by step (all of a step's
//! sends read the senders' data before any receiver changes it) and runs the step's
//! reductions as one batch on the cards (a synchronisation point: different cards may run on
//! host threads), recording each reduction's duration. The timing phase then replays the
//! same hops as a list schedule: a hop is ready when its data is final on the sender; each
//! link direction and each card's reduce engine serves ready work in order of readiness
//! (ties by segment order), without preemption. Kernel durations depend only on the
//! descriptor, not on when the kernel runs, so the two phases give exactly the timing of one
//! interleaved run, and the result does not depend on the host thread count.
//!
//! Two closed forms stand beside each result, with alpha = one hop latency and B = the link
//! goodput. The alpha-beta model (an estimate, as NCCL's): AllReduce 2(N-1)a + 2(N-1)/N S/B;
//! AllGather and ReduceScatter (N-1)a + (N-1)/N S/B; Broadcast (N-1)a + S/B. Pipelining
//! overlaps hop latencies with other segments' transfers, so a run may beat it by a few hop
//! latencies. The bound (a strict floor for the ring): every link carries W = 2(N-1)/N S
//! (AllReduce), (N-1)/N S (AllGather, ReduceScatter) or S (Broadcast), whose last byte lands
//! at least one hop latency after it is sent, and some data crosses 2(N-1) (AllReduce) or N-1
//! hops in sequence: max(W/B + a, hops x a); Broadcast's last segment leaves card 0 after
//! S/B and then crosses N-1 hops: S/B + (N-1)a. Bus bandwidth follows nccl-tests: algbw =
//! S / t, busbw = algbw x 2(N-1)/N (AllReduce), x (N-1)/N (AllGather, ReduceScatter), x 1
//! (Broadcast).

use super::topology::Fabric;
use crate::units::Time;
use anyhow::{bail, Result};
use serde::Serialize;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

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

    /// Hops some data crosses in sequence on a ring of N cards: 2(N-1) for AllReduce
    /// (reduce-scatter, then all-gather), N-1 for the others.
    pub fn sequential_hops(self, n: usize) -> usize {
        let steps = n.saturating_sub(1);
        match self {
            Collective::Allreduce => 2 * steps,
            _ => steps,
        }
    }

    /// Payload bytes every link of the ring carries for a buffer of `bytes` on N cards.
    pub fn link_bytes(self, n: usize, bytes: u64) -> f64 {
        if n < 2 {
            return 0.0;
        }
        let (nf, s) = (n as f64, bytes as f64);
        match self {
            Collective::Allreduce => 2.0 * (nf - 1.0) / nf * s,
            Collective::Allgather | Collective::Reducescatter => (nf - 1.0) / nf * s,
            Collective::Broadcast => s,
        }
    }

    /// The alpha-beta estimate for `bytes` on N cards with latency `alpha` and bandwidth `b`:
    /// the hops' latencies plus the link bytes at `b`. Not a floor: pipelining overlaps the
    /// latencies with other segments' transfers.
    pub fn alpha_beta_seconds(self, n: usize, bytes: u64, alpha: f64, b: f64) -> f64 {
        if n < 2 {
            return 0.0;
        }
        self.sequential_hops(n) as f64 * alpha + self.link_bytes(n, bytes) / b
    }

    /// The strict lower bound of the pipelined ring for `bytes` on N cards: the link bytes at
    /// `b` plus the one hop latency the last byte still needs, or the hops some data crosses
    /// in sequence, whichever is longer; Broadcast's last segment crosses its N-1 hops after
    /// card 0 has sent everything.
    pub fn bound_seconds(self, n: usize, bytes: u64, alpha: f64, b: f64) -> f64 {
        if n < 2 {
            return 0.0;
        }
        let hops = self.sequential_hops(n) as f64 * alpha;
        let link = self.link_bytes(n, bytes) / b;
        match self {
            Collective::Broadcast => link + hops,
            _ => (link + alpha).max(hops),
        }
    }
}

/// What the collective engine needs from the cards: their memories and a reduce engine.
pub trait CardOps {
    /// Reads card memory.
    fn read(&mut self, card: usize, addr: u64, buf: &mut [u8]) -> Result<()>;
    /// Writes card memory.
    fn write(&mut self, card: usize, addr: u64, data: &[u8]) -> Result<()>;
    /// On `card`, adds `bytes` bytes of f32 at `src` into `dst`; returns how long the card's
    /// reduce engine is busy doing it (which must not depend on when it runs).
    fn reduce_f32(&mut self, card: usize, dst: u64, src: u64, bytes: u64) -> Result<Time>;

    /// Runs a batch of reduces that a synchronisation point releases together: jobs on
    /// different cards are independent, jobs on one card run in the batch's order. Returns
    /// each job's duration, in job order. The default runs them one by one; implementations
    /// may run different cards' jobs on host threads.
    fn reduce_batch(&mut self, jobs: &[ReduceJob]) -> Result<Vec<Time>> {
        jobs.iter()
            .map(|j| self.reduce_f32(j.card, j.dst, j.src, j.bytes))
            .collect()
    }
}

/// One reduce of a batch: on `card`, add `bytes` of f32 at `src` into `dst`.
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
    /// Emulated time from the earliest card's start to the last card's completion.
    pub seconds: f64,
    /// Segments sent over all channels.
    pub messages: u64,
    /// Payload bytes sent over all channels.
    pub bytes_sent: u64,
    /// When each card has its part of the result (and is free to go on).
    #[serde(skip)]
    pub card_done: Vec<Time>,
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

/// Chunk and segment geometry.
struct Geometry {
    n: usize,
    /// Per chunk: its segments as (first element, element count).
    segments: Vec<Vec<(u64, u64)>>,
    /// First element of each chunk.
    chunk_start: Vec<u64>,
}

impl Geometry {
    fn new(n: usize, bytes: u64, segment: u64) -> Self {
        let chunks = split(bytes / 4, n);
        let seg_elems = (segment / 4).max(1);
        let segments = chunks
            .iter()
            .map(|&(lo, cnt)| {
                let k = cnt.div_ceil(seg_elems).max(1) as usize;
                split(cnt, k)
                    .into_iter()
                    .map(|(o, c)| (lo + o, c))
                    .collect()
            })
            .collect();
        Self {
            n,
            chunk_start: chunks.iter().map(|c| c.0).collect(),
            segments,
        }
    }
}

/// One hop of a segment's chain: from card, to card, and whether the receiver reduces.
#[derive(Debug, Clone, Copy)]
struct Hop {
    from: usize,
    to: usize,
    reduce: bool,
}

/// The chain of hops chunk `c`'s segments take for `kind` on `n` cards.
fn chain(kind: Collective, n: usize, c: usize) -> Vec<Hop> {
    let rs = |s: usize| Hop {
        from: (c + s) % n,
        to: (c + s + 1) % n,
        reduce: true,
    };
    // All-gather: chunk c starts on card c-1 (where a reduce-scatter leaves it).
    let ag = |s: usize| Hop {
        from: (c + n - 1 + s) % n,
        to: (c + s) % n,
        reduce: false,
    };
    match kind {
        Collective::Reducescatter => (0..n - 1).map(rs).collect(),
        Collective::Allgather => (0..n - 1).map(ag).collect(),
        Collective::Allreduce => (0..n - 1).map(rs).chain((0..n - 1).map(ag)).collect(),
        Collective::Broadcast => (0..n - 1)
            .map(|s| Hop {
                from: s,
                to: s + 1,
                reduce: false,
            })
            .collect(),
    }
}

/// The functional phase: moves the bytes and runs the reductions, step by step (hop index
/// h of every chain belongs to step h). Returns the duration of each reducing hop, keyed by
/// (chunk, segment, hop).
fn functional(
    kind: Collective,
    g: &Geometry,
    cards: &mut impl CardOps,
    buffers: &[Buffers],
) -> Result<BTreeMap<(usize, usize, usize), Time>> {
    let n = g.n;
    let chains: Vec<Vec<Hop>> = (0..n).map(|c| chain(kind, n, c)).collect();
    let steps = chains.iter().map(Vec::len).max().unwrap_or(0);
    let mut durations = BTreeMap::new();
    for h in 0..steps {
        // All sends of a step read the senders' data before any receiver changes it.
        let mut arrivals = Vec::new();
        for (c, ch) in chains.iter().enumerate() {
            let Some(hop) = ch.get(h) else { continue };
            for (k, &(e0, ne)) in g.segments[c].iter().enumerate() {
                let mut data = vec![0u8; (ne * 4) as usize];
                cards.read(hop.from, buffers[hop.from].data + e0 * 4, &mut data)?;
                arrivals.push((c, k, *hop, data));
            }
        }
        let mut jobs = Vec::new();
        let mut keys = Vec::new();
        for (c, k, hop, data) in arrivals {
            let (e0, ne) = g.segments[c][k];
            let b = buffers[hop.to];
            let dst = b.data + e0 * 4;
            if hop.reduce {
                let recv = b.recv + (e0 - g.chunk_start[c]) * 4;
                cards.write(hop.to, recv, &data)?;
                jobs.push(ReduceJob {
                    card: hop.to,
                    dst,
                    src: recv,
                    bytes: ne * 4,
                });
                keys.push((c, k, h));
            } else {
                cards.write(hop.to, dst, &data)?;
            }
        }
        let done = cards.reduce_batch(&jobs)?;
        if done.len() != jobs.len() {
            bail!(
                "reduce batch returned {} durations for {} jobs",
                done.len(),
                jobs.len()
            );
        }
        durations.extend(keys.into_iter().zip(done));
    }
    Ok(durations)
}

/// A unit of work of the timing phase: hop `h` of segment `k` of chunk `c`, its send or the
/// receiver's reduce. Ordered by priority as a wavefront over (segment, hop), in the spirit of
/// NCCL's sliced ring: the lowest `2k + h` first (earlier slices first, a hop further along a
/// chain counting half a slice), then the earlier slice, then the hop furthest along, then
/// chunk order. Work of a later slice fills a resource's idle time while an earlier slice's
/// data is still on its way, and no slice's chain is starved until the end (which would
/// leave its all-gather hops as a tail). Measured on the 8b/10b board with reduces slower
/// than the link, this order stays within about 1% of the resource bound at 16 MiB on 2-8
/// cards where slice-first or hop-first orders leave 3-20%.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Work {
    wave: Reverse<usize>,
    k: Reverse<usize>,
    h: usize,
    c: Reverse<usize>,
    reduce: bool,
}

/// A resource of the timing phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Resource {
    /// The link direction from one card to another.
    Link(usize, usize),
    /// A card's reduce engine.
    Engine(usize),
}

/// Resources' ready queues and busy times.
#[derive(Default)]
struct Queues {
    ready: BTreeMap<Resource, BinaryHeap<Work>>,
    busy_until: BTreeMap<Resource, Time>,
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
    let start = vec![Time::ZERO; fabric.cards()];
    let buffers = vec![buffers; fabric.cards()];
    run_from(kind, fabric, cards, &buffers, bytes, segment, &start)
}

/// As [`run`], with card i's buffers at `buffers[i]` and card i joining the collective at
/// `start[i]`: its data is ready and its reduce engine free from then on. Links keep their
/// earlier bookings, so collectives run one after another on the same fabric queue behind
/// each other's traffic.
pub fn run_from(
    kind: Collective,
    fabric: &mut Fabric,
    cards: &mut impl CardOps,
    buffers: &[Buffers],
    bytes: u64,
    segment: u64,
    start: &[Time],
) -> Result<CollectiveTiming> {
    if !bytes.is_multiple_of(4) {
        bail!("collective size {bytes} is not a whole number of f32 elements");
    }
    if segment < 4 {
        bail!("segment size must be at least one f32 element");
    }
    let n = fabric.cards();
    if start.len() != n || buffers.len() != n {
        bail!(
            "{} start times and {} buffer sets for {n} cards",
            start.len(),
            buffers.len()
        );
    }
    let t0 = start.iter().copied().min().unwrap_or_default();
    let mut timing = CollectiveTiming {
        seconds: 0.0,
        messages: 0,
        bytes_sent: 0,
        card_done: start.to_vec(),
    };
    if n < 2 || bytes == 0 {
        return Ok(timing);
    }
    let g = Geometry::new(n, bytes, segment);
    let durations = functional(kind, &g, cards, buffers)?;

    // The timing phase: a list schedule of every segment's chain. Events at one time are
    // all applied before any idle resource picks its next work, so the pick follows the
    // priority order, not the order events were generated in.
    let chains: Vec<Vec<Hop>> = (0..n).map(|c| chain(kind, n, c)).collect();
    let mut q = Queues::default();
    for (card, &t) in start.iter().enumerate() {
        q.busy_until.insert(Resource::Engine(card), t);
    }
    // (time, work): `work` becomes ready at `time`.
    let mut events: BinaryHeap<Reverse<(Time, Work)>> = BinaryHeap::new();
    for (c, ch) in chains.iter().enumerate() {
        if let Some(first) = ch.first() {
            for k in 0..g.segments[c].len() {
                let w = Work {
                    wave: Reverse(2 * k),
                    h: 0,
                    c: Reverse(c),
                    k: Reverse(k),
                    reduce: false,
                };
                events.push(Reverse((start[first.from], w)));
            }
        }
    }
    let resource = |w: &Work| {
        let hop = chains[w.c.0][w.h];
        if w.reduce {
            Resource::Engine(hop.to)
        } else {
            Resource::Link(hop.from, hop.to)
        }
    };
    // Wake-ups of busy resources: (time, resource).
    let mut wakeups: BinaryHeap<Reverse<(Time, Resource)>> = BinaryHeap::new();
    let done = &mut timing.card_done;
    loop {
        let next_event = events.peek().map(|e| e.0 .0);
        let next_wake = wakeups.peek().map(|e| e.0 .0);
        let now = match (next_event, next_wake) {
            (None, None) => break,
            (Some(a), None) => a,
            (None, Some(b)) => b,
            (Some(a), Some(b)) => a.min(b),
        };
        let mut touched = std::collections::BTreeSet::new();
        while events.peek().is_some_and(|e| e.0 .0 == now) {
            let Reverse((_, w)) = events.pop().expect("peeked");
            let r = resource(&w);
            q.ready.entry(r).or_default().push(w);
            touched.insert(r);
        }
        while wakeups.peek().is_some_and(|e| e.0 .0 == now) {
            let Reverse((_, r)) = wakeups.pop().expect("peeked");
            touched.insert(r);
        }
        for r in touched {
            if q.busy_until.get(&r).is_some_and(|&t| t > now) {
                continue;
            }
            let Some(w) = q.ready.get_mut(&r).and_then(|h| h.pop()) else {
                continue;
            };
            let (c, k) = (w.c.0, w.k.0);
            let hop = chains[c][w.h];
            let last = w.h + 1 == chains[c].len();
            let next = |h: usize| Work {
                wave: Reverse(2 * k + h),
                h,
                c: w.c,
                k: w.k,
                reduce: false,
            };
            if w.reduce {
                let dur = durations.get(&(c, k, w.h)).copied().ok_or_else(|| {
                    anyhow::anyhow!("no reduce measured for chunk {c} segment {k} hop {}", w.h)
                })?;
                let end = now + dur;
                q.busy_until.insert(r, end);
                wakeups.push(Reverse((end, r)));
                done[hop.to] = done[hop.to].max(end);
                if !last {
                    events.push(Reverse((end, next(w.h + 1))));
                }
            } else {
                let len = g.segments[c][k].1 * 4;
                let ch = fabric.channel(hop.from, hop.to).ok_or_else(|| {
                    anyhow::anyhow!("no cable from card {} to card {}", hop.from, hop.to)
                })?;
                let at = ch.send(len, now);
                let free = at - ch.params().hop_latency;
                timing.messages += 1;
                timing.bytes_sent += len;
                q.busy_until.insert(r, free);
                wakeups.push(Reverse((free, r)));
                if hop.reduce {
                    events.push(Reverse((at, Work { reduce: true, ..w })));
                } else {
                    done[hop.to] = done[hop.to].max(at);
                    if !last {
                        events.push(Reverse((at, next(w.h + 1))));
                    }
                }
            }
        }
    }
    let end = done.iter().copied().max().unwrap_or_default();
    timing.seconds = (end - t0).secs();
    Ok(timing)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{load_board, Topology};
    use crate::hart::GuestMemory;
    use crate::link::intercard::LinkParams;

    /// Cards whose reduce is plain f32 addition at a fixed rate.
    struct TestCards {
        stores: Vec<GuestMemory>,
        bytes_per_s: f64,
    }

    impl TestCards {
        fn new(n: usize, bytes_per_s: f64) -> Self {
            let stores = (0..n)
                .map(|_| {
                    let mut s = GuestMemory::new(0x1000_0000);
                    s.add_region("ddr", 0x8000_0000, 1 << 30);
                    s
                })
                .collect();
            Self {
                stores,
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
        fn reduce_f32(&mut self, card: usize, dst: u64, src: u64, bytes: u64) -> Result<Time> {
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
            Ok(Time::from_secs(bytes as f64 / self.bytes_per_s))
        }
    }

    const BUF: Buffers = Buffers {
        data: 0x8100_0000,
        recv: 0x9000_0000,
    };

    fn setup(n: usize, bytes: u64) -> (Fabric, TestCards, Vec<Vec<f32>>) {
        setup_with(n, bytes, &[])
    }

    /// `setup` on the board with `sets` overrides.
    fn setup_with(n: usize, bytes: u64, sets: &[String]) -> (Fabric, TestCards, Vec<Vec<f32>>) {
        let p = LinkParams::from_config(&load_board("innerjib7ea", sets).unwrap().board.intercard);
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
                let estimate = kind.alpha_beta_seconds(n, big, a, b);
                // Pipelining overlaps all but one hop latency with the transfers: the run
                // never beats the strict floor, and meets the alpha-beta figure within 2%.
                let floor = kind.bound_seconds(n, big, a, b);
                assert!(
                    t.seconds >= floor,
                    "{kind:?} n={n}: {} below {floor}",
                    t.seconds
                );
                assert!(floor <= estimate, "{kind:?} n={n}");
                assert!(
                    (t.seconds / estimate - 1.0).abs() <= 0.02,
                    "{kind:?} n={n}: {} vs alpha-beta {estimate}",
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
                    t.seconds >= kind.bound_seconds(n, small, a, b),
                    "{kind:?} n={n}"
                );
                assert!(
                    latency / t.seconds > 0.5,
                    "{kind:?} n={n}: latency {latency} of {}",
                    t.seconds
                );
            }
        }
    }

    /// The bound is a floor: no size, segment or card count beats it, on the board's link and
    /// on a link 20x slower (where the bandwidth term dominates sooner).
    #[test]
    fn no_run_beats_the_strict_floor() {
        for lane_rate in ["1.25Gbps", "0.0625Gbps"] {
            let sets = [format!("intercard.lane_rate={lane_rate}")];
            let p =
                LinkParams::from_config(&load_board("innerjib7ea", &sets).unwrap().board.intercard);
            let (a, b) = (p.hop_latency.secs(), p.goodput_bytes_per_s());
            for kind in [
                Collective::Allreduce,
                Collective::Allgather,
                Collective::Reducescatter,
                Collective::Broadcast,
            ] {
                for n in [2, 3, 5, 8] {
                    for (bytes, segment) in [
                        (64 * n as u64, 256),
                        (4 << 10, 256),
                        (96 << 10, 4 << 10),
                        (1 << 20, 32 << 10),
                    ] {
                        let (mut f, mut cards, _) = setup_with(n, bytes, &sets);
                        let t = run(kind, &mut f, &mut cards, BUF, bytes, segment).unwrap();
                        // The run may meet the floor exactly (times are whole femtoseconds).
                        let floor = kind.bound_seconds(n, bytes, a, b) * (1.0 - 1e-12);
                        assert!(
                            t.seconds >= floor,
                            "{kind:?} n={n} {bytes} B / {segment}: {} below {floor}",
                            t.seconds
                        );
                        assert!(floor <= kind.alpha_beta_seconds(n, bytes, a, b));
                    }
                }
            }
        }
    }
}
