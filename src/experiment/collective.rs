//! One collective on N emulated cards, measured as nccl-tests measures it: the time from
//! all cards starting to the last card finishing, the algorithm bandwidth (bytes / time) and
//! the bus bandwidth (algbw times the collective's factor), beside the ring's strict floor and
//! the alpha-beta estimate.
//!
//! The data are real: every card's buffer is filled with seeded f32 values that are small
//! integers (so every partial sum is exact whatever the grouping), moved over the modelled
//! links, reduced by the `k_eltwise` kernel on the cards, and checked element by element
//! against the collective's definition afterwards.

use super::collective_cards::EmulatedCards;
use crate::config::{Board, Topology};
use crate::link::intercard::LinkParams;
use crate::stats::Stats;
use crate::system::card::{kernel_dir, Card};
use crate::system::collective::{self, Buffers, Collective};
use crate::system::reduce::add_desc;
use crate::system::topology::Fabric;
use crate::units::Time;
use crate::workload::abi::TENSOR_BASE;
use anyhow::{bail, Result};
use serde::Serialize;

/// What to run.
#[derive(Debug, Clone)]
pub struct BenchSpec {
    /// The collective.
    pub op: Collective,
    /// Cards (at least 1).
    pub cards: usize,
    /// Buffer size per card in bytes (a multiple of 4: f32 elements).
    pub bytes: u64,
    /// Pipelining segment in bytes.
    pub segment: u64,
    /// Wiring.
    pub topology: Topology,
    /// Host threads for the cards' kernels.
    pub threads: usize,
}

/// The link figures of a run.
#[derive(Debug, Clone, Serialize)]
pub struct LinkSummary {
    /// Line coding (`8b10b`, `64b66b`).
    pub encoding: String,
    /// Per direction: bytes per second after line coding, before framing.
    pub coded_bytes_per_s: f64,
    /// Per direction: payload bytes per second of a stream of full frames.
    pub goodput_bytes_per_s: f64,
    /// Per-hop latency (the alpha of the bound).
    pub hop_latency_seconds: f64,
    /// Payload bytes per frame and framing bytes per frame.
    pub frame_payload_bytes: u64,
    /// Framing bytes per frame.
    pub frame_overhead_bytes: u64,
    /// Payload bytes sent over all channels.
    pub payload_bytes: u64,
    /// Bytes on the wire (payload and framing) over all channels.
    pub wire_bytes: u64,
    /// Channels that carried data.
    pub channels_used: usize,
    /// Busy time / run time of the busiest channel.
    pub max_utilisation: f64,
    /// Mean of busy time / run time over the channels that carried data.
    pub mean_utilisation: f64,
    /// Payload bytes / busy time of the busiest channel: the rate the model delivered.
    pub measured_payload_bytes_per_s: f64,
}

/// The reduce kernels of a run.
#[derive(Debug, Clone, Serialize)]
pub struct ReduceSummary {
    /// Kernel runs over all cards.
    pub kernels: u64,
    /// Their core cycles.
    pub cycles: u64,
    /// Their emulated time, summed over cards.
    pub seconds: f64,
    /// The busiest card's reduce time.
    pub max_card_seconds: f64,
}

/// Everything a collective run measured.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    /// Board name.
    pub board: String,
    /// The collective.
    pub op: Collective,
    /// The algorithm (always the pipelined ring).
    pub algorithm: String,
    /// Cards.
    pub cards: usize,
    /// Wiring.
    pub topology: Topology,
    /// Buffer size per card.
    pub bytes: u64,
    /// Pipelining segment.
    pub segment_bytes: u64,
    /// Emulated time.
    pub seconds: f64,
    /// The strict floor of the pipelined ring on this link (`Collective::bound_seconds`).
    pub bound_seconds: f64,
    /// seconds / bound_seconds (at least 1).
    pub ratio: f64,
    /// The alpha-beta estimate (`Collective::alpha_beta_seconds`), as NCCL models a ring.
    pub alpha_beta_seconds: f64,
    /// seconds / alpha_beta_seconds (pipelining may put it a little below 1).
    pub alpha_beta_ratio: f64,
    /// Payload bytes per second one card's reduce kernel adds (one operand), from one
    /// isolated run of the kernel on a full segment.
    pub reduce_bytes_per_s: f64,
    /// The reduce work of the busiest card at that rate: (N-1)/N S / R for AllReduce and
    /// ReduceScatter, zero for the others.
    pub reduce_bound_seconds: f64,
    /// The floor with the cards' reduce engines as a resource: the larger of the link's floor
    /// and one hop latency (the first operand's arrival) plus the reduce term.
    pub bound_with_reduce_seconds: f64,
    /// seconds / bound_with_reduce_seconds.
    pub ratio_with_reduce: f64,
    /// The alpha-beta estimate with the reduce engines: the hops' latencies plus the larger of
    /// the link's bandwidth term and the reduce term (both resources pipeline).
    pub alpha_beta_with_reduce_seconds: f64,
    /// bytes / seconds.
    pub algbw_bytes_per_s: f64,
    /// algbw x the nccl-tests factor.
    pub busbw_bytes_per_s: f64,
    /// The nccl-tests bus-bandwidth factor.
    pub busbw_factor: f64,
    /// Messages (segments) sent.
    pub messages: u64,
    /// The link.
    pub link: LinkSummary,
    /// The reduce kernels.
    pub reduce: ReduceSummary,
    /// Whether every card's buffer matched the collective's definition.
    pub result_check: String,
    /// Per-channel and per-card counters.
    pub stats: Stats,
}

/// The seeded value of element `e` on card `c`: small integers, exact in any sum.
fn value(c: usize, e: u64) -> f32 {
    ((e * 7 + c as u64 * 13) % 101) as f32
}

/// Runs `spec` on cards of `board`.
pub fn run(board: &Board, spec: &BenchSpec) -> Result<BenchReport> {
    let n = spec.cards;
    if n == 0 {
        bail!("a collective needs at least 1 card");
    }
    if spec.bytes == 0 || !spec.bytes.is_multiple_of(4) {
        bail!(
            "--bytes {} is not a positive whole number of f32 elements (a multiple of 4)",
            spec.bytes
        );
    }
    if spec.segment < 4 || !spec.segment.is_multiple_of(4) {
        bail!(
            "--segment {} is not a positive multiple of 4 bytes",
            spec.segment
        );
    }
    let elems = spec.bytes / 4;
    let chunk_bytes = elems.div_ceil(n as u64) * 4;
    let buffers = Buffers {
        data: TENSOR_BASE,
        recv: (TENSOR_BASE + spec.bytes).next_multiple_of(1 << 16),
    };
    let needed = buffers.recv + chunk_bytes - board.memory.base;
    if needed > board.memory.capacity.bytes() {
        bail!(
            "--bytes {}: the buffer and its receive area need {needed} bytes of DDR; board `{}` has {}",
            spec.bytes,
            board.name,
            board.memory.capacity
        );
    }
    let params = LinkParams::from_config(&board.intercard);
    let mut fabric = Fabric::new(n, spec.topology, params);
    let mut cards = EmulatedCards::new(board, n, needed, spec.threads);
    let piece = 1u64 << 20;
    for c in 0..n {
        let mut e0 = 0;
        while e0 < elems {
            let cnt = piece.min(elems - e0);
            let bytes: Vec<u8> = (e0..e0 + cnt)
                .flat_map(|e| value(c, e).to_le_bytes())
                .collect();
            cards.card(c).write(buffers.data + e0 * 4, &bytes)?;
            e0 += cnt;
        }
    }
    let t = collective::run(
        spec.op,
        &mut fabric,
        &mut cards,
        buffers,
        spec.bytes,
        spec.segment,
    )?;
    check(spec, &mut cards, buffers)?;

    let elapsed = Time::from_secs(t.seconds);
    let alpha = params.hop_latency.secs();
    let goodput = params.goodput_bytes_per_s();
    let bound = spec.op.bound_seconds(n, spec.bytes, alpha, goodput);
    let alpha_beta = spec.op.alpha_beta_seconds(n, spec.bytes, alpha, goodput);
    let seg = spec.segment.min(chunk_bytes);
    let reduce_rate = reduce_rate(board, buffers, seg)?;
    let nf = n as f64;
    let reduces = matches!(spec.op, Collective::Allreduce | Collective::Reducescatter);
    let reduce_bound = if reduces && n > 1 {
        (nf - 1.0) / nf * spec.bytes as f64 / reduce_rate
    } else {
        0.0
    };
    let latency_term = spec.op.alpha_beta_seconds(n, 0, alpha, goodput);
    let beta_term = alpha_beta - latency_term;
    let alpha_beta_with_reduce = latency_term + beta_term.max(reduce_bound);
    let bound_with_reduce = if reduce_bound > 0.0 {
        bound.max(alpha + reduce_bound)
    } else {
        bound
    };
    let over = |b: f64| if b > 0.0 { t.seconds / b } else { 0.0 };
    let link_stats = fabric.stats(elapsed);
    let mut stats = link_stats.clone();
    stats.merge_under("", &cards.stats());
    let link = link_summary(board, &params, &link_stats);
    let algbw = if t.seconds > 0.0 {
        spec.bytes as f64 / t.seconds
    } else {
        0.0
    };
    let factor = spec.op.busbw_factor(n);
    Ok(BenchReport {
        board: board.name.clone(),
        op: spec.op,
        algorithm: match spec.topology {
            Topology::Ring => "ring (pipelined)".into(),
            Topology::Mesh => "ring (pipelined, on the mesh's ring of cables)".into(),
        },
        cards: n,
        topology: spec.topology,
        bytes: spec.bytes,
        segment_bytes: spec.segment,
        seconds: t.seconds,
        bound_seconds: bound,
        ratio: over(bound),
        alpha_beta_seconds: alpha_beta,
        alpha_beta_ratio: over(alpha_beta),
        reduce_bytes_per_s: reduce_rate,
        reduce_bound_seconds: reduce_bound,
        bound_with_reduce_seconds: bound_with_reduce,
        ratio_with_reduce: over(bound_with_reduce),
        alpha_beta_with_reduce_seconds: alpha_beta_with_reduce,
        algbw_bytes_per_s: algbw,
        busbw_bytes_per_s: algbw * factor,
        busbw_factor: factor,
        messages: t.messages,
        link,
        reduce: ReduceSummary {
            kernels: cards.reduce_kernels(),
            cycles: cards.reduce_cycles(),
            seconds: cards.reduce_busy().secs(),
            max_card_seconds: cards.max_reduce_busy().secs(),
        },
        result_check: "exact: every card's buffer equals the collective's definition".into(),
        stats,
    })
}

/// Bytes per second of one `seg`-byte add on a fresh card, at the collective's addresses.
fn reduce_rate(board: &Board, b: Buffers, seg: u64) -> Result<f64> {
    let mut card = Card::new(
        board,
        b.recv + seg - board.memory.base,
        false,
        false,
        1 << 40,
    );
    let run = card.run(
        &kernel_dir().join("k_eltwise.elf"),
        &add_desc(seg / 4, b.data, b.recv),
    )?;
    Ok(seg as f64 / board.clock.cycles_to_time(run.cycles).secs())
}

fn link_summary(board: &Board, p: &LinkParams, s: &Stats) -> LinkSummary {
    let mut payload = 0.0;
    let mut wire = 0.0;
    let mut used = 0;
    let mut max_util: f64 = 0.0;
    let mut sum_util = 0.0;
    let mut busiest = (0.0, 0.0);
    for (path, counter) in s.iter() {
        let value = counter.value;
        let Some(ch) = path.strip_suffix(".tx_bytes") else {
            continue;
        };
        if value == 0.0 {
            continue;
        }
        used += 1;
        payload += value;
        wire += s.get(&format!("{ch}.wire_bytes")).unwrap_or(0.0);
        let util = s.get(&format!("{ch}.utilisation")).unwrap_or(0.0);
        let busy = s.get(&format!("{ch}.busy_ns")).unwrap_or(0.0);
        sum_util += util;
        if util > max_util {
            max_util = util;
            busiest = (value, busy);
        }
    }
    LinkSummary {
        encoding: match board.intercard.encoding {
            crate::config::Encoding::E8b10b => "8b10b".into(),
            crate::config::Encoding::E64b66b => "64b66b".into(),
        },
        coded_bytes_per_s: p.coded_bytes_per_s,
        goodput_bytes_per_s: p.goodput_bytes_per_s(),
        hop_latency_seconds: p.hop_latency.secs(),
        frame_payload_bytes: p.frame_payload,
        frame_overhead_bytes: p.frame_overhead,
        payload_bytes: payload as u64,
        wire_bytes: wire as u64,
        channels_used: used,
        max_utilisation: max_util,
        mean_utilisation: if used > 0 {
            sum_util / used as f64
        } else {
            0.0
        },
        measured_payload_bytes_per_s: if busiest.1 > 0.0 {
            busiest.0 / (busiest.1 * 1e-9)
        } else {
            0.0
        },
    }
}

/// Checks every card's buffer against the definition of the collective.
fn check(spec: &BenchSpec, cards: &mut EmulatedCards, b: Buffers) -> Result<()> {
    let n = spec.cards;
    let elems = spec.bytes / 4;
    let bounds: Vec<(u64, u64)> = (0..n as u64)
        .map(|i| (elems * i / n as u64, elems * (i + 1) / n as u64))
        .collect();
    let chunk_of = |e: u64| bounds.iter().position(|&(lo, hi)| e >= lo && e < hi);
    let sum = |e: u64| (0..n).map(|c| value(c, e)).sum::<f32>();
    let piece = 1u64 << 20;
    for c in 0..n {
        let mut e0 = 0;
        while e0 < elems {
            let cnt = piece.min(elems - e0);
            let mut buf = vec![0u8; (cnt * 4) as usize];
            cards.card(c).read(b.data + e0 * 4, &mut buf)?;
            for (i, x) in buf.chunks_exact(4).enumerate() {
                let e = e0 + i as u64;
                let got = f32::from_le_bytes([x[0], x[1], x[2], x[3]]);
                let k = chunk_of(e).unwrap_or(0);
                let want = if n == 1 {
                    value(0, e)
                } else {
                    match spec.op {
                        Collective::Allreduce => sum(e),
                        // Card c holds the sum of chunk c+1.
                        Collective::Reducescatter if k == (c + 1) % n => sum(e),
                        Collective::Reducescatter => continue,
                        // Chunk k starts on card k-1 (where a ReduceScatter leaves it).
                        Collective::Allgather => value((k + n - 1) % n, e),
                        Collective::Broadcast => value(0, e),
                    }
                };
                if got != want {
                    bail!(
                        "{:?} on {n} cards: card {c} element {e} is {got}, expected {want}",
                        spec.op
                    );
                }
            }
            e0 += cnt;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_board;

    #[test]
    fn every_collective_checks_out_and_reports_nccl_bandwidths() {
        let board = load_board("innerjib7ea", &[]).unwrap().board;
        for op in [
            Collective::Allreduce,
            Collective::Allgather,
            Collective::Reducescatter,
            Collective::Broadcast,
        ] {
            let spec = BenchSpec {
                op,
                cards: 3,
                bytes: 4 * 3000,
                segment: 1024,
                topology: Topology::Ring,
                threads: 1,
            };
            let r = run(&board, &spec).unwrap();
            assert!((r.algbw_bytes_per_s - spec.bytes as f64 / r.seconds).abs() < 1e-6);
            assert_eq!(
                r.busbw_bytes_per_s,
                r.algbw_bytes_per_s * op.busbw_factor(3)
            );
            assert_eq!(
                r.reduce.kernels > 0,
                op == Collective::Allreduce || op == Collective::Reducescatter
            );
            // Conservation: payload over the links is what the algorithm moves.
            let moved = match op {
                Collective::Allreduce => 2 * 2 * spec.bytes,
                Collective::Allgather | Collective::Reducescatter => 2 * spec.bytes,
                Collective::Broadcast => 2 * spec.bytes,
            };
            assert_eq!(r.link.payload_bytes, moved, "{op:?}");
        }
    }
}
