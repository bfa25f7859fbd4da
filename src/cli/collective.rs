//! `emulate collective`: one collective over N emulated cards, reported as nccl-tests does
//! (time, algbw, busbw) beside the alpha-beta bound.

use super::membench::parse_bytes;
use super::BoardArgs;
use crate::config::Topology;
use crate::system::collective::Collective;
use crate::system::collective_bench::{self, BenchReport, BenchSpec};
use anyhow::Result;
use clap::{Args, ValueEnum};
use std::fmt::Write as _;

/// Run a collective (ring AllReduce, AllGather, ReduceScatter or Broadcast) on N cards,
/// with real data over the modelled links and the reductions run by a kernel on the cards.
#[derive(Args, Debug, Clone)]
pub struct CollectiveCmd {
    /// The collective.
    #[arg(value_enum)]
    pub op: Collective,
    /// Cards (default: the board's `cards`).
    #[arg(long)]
    pub cards: Option<usize>,
    /// Buffer size per card (f32 elements): `16MiB`, `4 KiB` or a byte count.
    #[arg(long, default_value = "16MiB", value_parser = parse_bytes)]
    pub bytes: u64,
    /// Pipelining segment: each chunk moves in segments of at most this size.
    #[arg(long, default_value = "32KiB", value_parser = parse_bytes)]
    pub segment: u64,
    /// Wiring (default: the board's `topology`); a mesh runs the ring algorithm on its ring
    /// of cables.
    #[arg(long, value_enum)]
    pub topology: Option<TopologyArg>,
    /// Host threads that run the cards' kernels (default: the host's cores); emulated
    /// times do not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `--topology`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum TopologyArg {
    /// One cable to each ring neighbour.
    Ring,
    /// A cable between every pair.
    Mesh,
}

/// The default host thread count: the host's cores.
pub(super) fn default_threads(requested: Option<usize>) -> Result<usize> {
    match requested {
        Some(0) => anyhow::bail!("--threads must be at least 1"),
        Some(t) => Ok(t),
        None => Ok(std::thread::available_parallelism().map_or(1, |n| n.get())),
    }
}

fn execute(cmd: &CollectiveCmd, common: &BoardArgs) -> Result<(BenchReport, f64)> {
    let loaded = common.load()?;
    let board = &loaded.board;
    if let Some(n) = cmd.cards {
        crate::config::limits::check_cards(n as u64).map_err(anyhow::Error::msg)?;
    }
    let spec = BenchSpec {
        op: cmd.op,
        cards: cmd.cards.unwrap_or(board.cards as usize),
        bytes: cmd.bytes,
        segment: cmd.segment,
        topology: match cmd.topology {
            None => board.topology,
            Some(TopologyArg::Ring) => Topology::Ring,
            Some(TopologyArg::Mesh) => Topology::Mesh,
        },
        threads: default_threads(cmd.threads)?,
    };
    let started = std::time::Instant::now();
    let r = collective_bench::run(board, &spec)?;
    Ok((r, started.elapsed().as_secs_f64()))
}

fn to_json(r: &BenchReport, host_seconds: f64, threads: usize) -> Result<serde_json::Value> {
    let mut v = serde_json::to_value(r)?;
    v["host"] = serde_json::json!({ "seconds": host_seconds, "threads": threads });
    Ok(v)
}

/// The JSON report (what `--json` prints), for sweeps.
pub(super) fn json(cmd: &CollectiveCmd, common: &BoardArgs) -> Result<serde_json::Value> {
    let (r, host) = execute(cmd, common)?;
    to_json(&r, host, default_threads(cmd.threads)?)
}

pub(super) fn run(cmd: CollectiveCmd, common: &BoardArgs) -> Result<()> {
    let (r, host) = execute(&cmd, common)?;
    if cmd.json {
        let v = to_json(&r, host, default_threads(cmd.threads)?)?;
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        print!("{}", text(&r, host));
    }
    Ok(())
}

fn rate(b: f64) -> String {
    format!("{:.1} MB/s", b / 1e6)
}

fn text(r: &BenchReport, host: f64) -> String {
    let mut s = String::new();
    let l = &r.link;
    let _ = writeln!(
        s,
        "{:?} of {} bytes on {} cards ({:?}), {} algorithm, segments of {} bytes",
        r.op, r.bytes, r.cards, r.topology, r.algorithm, r.segment_bytes
    );
    let _ = writeln!(
        s,
        "link      {}: {} coded, {} payload after framing ({} + {} bytes per frame), hop {:.0} ns",
        l.encoding,
        rate(l.coded_bytes_per_s),
        rate(l.goodput_bytes_per_s),
        l.frame_payload_bytes,
        l.frame_overhead_bytes,
        l.hop_latency_seconds * 1e9
    );
    let _ = writeln!(
        s,
        "time      {:.3} us   alpha-beta bound {:.3} us   ratio {:.4}",
        r.seconds * 1e6,
        r.bound_seconds * 1e6,
        r.ratio
    );
    if r.reduce_bound_seconds > 0.0 {
        let _ = writeln!(
            s,
            "          reduce kernel {} per card: reduce term {:.3} us, bound with it {:.3} us, ratio {:.4}",
            rate(r.reduce_bytes_per_s),
            r.reduce_bound_seconds * 1e6,
            r.bound_with_reduce_seconds * 1e6,
            r.ratio_with_reduce
        );
    }
    let _ = writeln!(
        s,
        "bandwidth algbw {}   busbw {} (factor {:.3})",
        rate(r.algbw_bytes_per_s),
        rate(r.busbw_bytes_per_s),
        r.busbw_factor
    );
    let _ = writeln!(
        s,
        "links     {} channels used, {} payload + {} framing = {} wire bytes, utilisation max {:.3} mean {:.3}, measured {}",
        l.channels_used,
        l.payload_bytes,
        l.wire_bytes - l.payload_bytes,
        l.wire_bytes,
        l.max_utilisation,
        l.mean_utilisation,
        rate(l.measured_payload_bytes_per_s)
    );
    let _ = writeln!(
        s,
        "reduce    {} k_eltwise add kernels, {} cycles, {:.3} us in all, busiest card {:.3} us",
        r.reduce.kernels,
        r.reduce.cycles,
        r.reduce.seconds * 1e6,
        r.reduce.max_card_seconds * 1e6
    );
    let _ = writeln!(s, "check     {}", r.result_check);
    let _ = writeln!(s, "host      {host:.2} s");
    s
}
