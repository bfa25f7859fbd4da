//! `emulate collective`: one collective over N emulated cards, reported as nccl-tests does
//! (time, algbw, busbw) beside the ring's strict floor and the alpha-beta estimate.

use super::membench::parse_bytes;
use super::BoardArgs;
use crate::config::Topology;
use crate::experiment::collective::{self, BenchReport, BenchSpec};
use crate::system::collective::Collective;
use anyhow::{Context, Result};
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
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// With --sizes: print the table as CSV.
    #[arg(long, requires = "sizes")]
    pub csv: bool,
    /// Sweep the buffer size as nccl-tests does (`-b 8 -e 128M -f 2`): `8B..128MiB` runs
    /// 8 B, then each size times --factor up to 128 MiB, and prints one row per size.
    #[arg(long, value_name = "MIN..MAX", conflicts_with = "bytes", value_parser = parse_sizes)]
    pub sizes: Option<(u64, u64)>,
    /// With --sizes: the factor between successive sizes.
    #[arg(long, default_value_t = 2, requires = "sizes")]
    pub factor: u64,
    /// Write the run folder (report.json, stats.csv, board.resolved.yaml, command.txt).
    #[arg(long, value_name = "DIR")]
    pub out: Option<std::path::PathBuf>,
}

/// Most rows a `--sizes` sweep may have (8 B to 128 MiB by 2 is 25).
pub const MAX_SIZES: usize = 64;

/// `MIN..MAX`, each a size such as `8B`, `128MiB` or a byte count.
fn parse_sizes(text: &str) -> Result<(u64, u64), String> {
    let (lo, hi) = text
        .split_once("..")
        .ok_or_else(|| format!("`{text}`: expected MIN..MAX, e.g. 8B..128MiB"))?;
    let lo = parse_bytes(lo)?;
    let hi = parse_bytes(hi)?;
    if lo == 0 || lo > hi {
        return Err(format!("`{text}`: need 0 < MIN <= MAX"));
    }
    Ok((lo, hi))
}

/// The sizes of a `--sizes MIN..MAX --factor F` sweep: MIN, MIN*F, ... up to MAX.
pub fn size_ladder(lo: u64, hi: u64, factor: u64) -> Result<Vec<u64>> {
    if factor < 2 {
        anyhow::bail!("--factor must be at least 2, not {factor}");
    }
    let mut v = Vec::new();
    let mut s = lo;
    while s <= hi {
        if v.len() == MAX_SIZES {
            anyhow::bail!(
                "--sizes {lo}..{hi} --factor {factor} gives more than {MAX_SIZES} sizes (the limit MAX_SIZES)"
            );
        }
        v.push(s);
        match s.checked_mul(factor) {
            Some(n) => s = n,
            None => break,
        }
    }
    Ok(v)
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

fn spec(cmd: &CollectiveCmd, board: &crate::config::Board, bytes: u64) -> Result<BenchSpec> {
    if let Some(n) = cmd.cards {
        if n < 2 {
            anyhow::bail!("a collective needs at least 2 cards, not --cards {n}");
        }
        crate::config::limits::check_cards(n as u64)
            .map_err(|e| anyhow::anyhow!("--cards {}: {e}", n))?;
    }
    let cards = cmd.cards.unwrap_or(board.cards as usize);
    if cards < 2 {
        anyhow::bail!(
            "a collective needs at least 2 cards; board `{}` has {} (pass --cards N)",
            board.name,
            board.cards
        );
    }
    Ok(BenchSpec {
        op: cmd.op,
        cards,
        bytes,
        segment: cmd.segment,
        topology: match cmd.topology {
            None => board.topology,
            Some(TopologyArg::Ring) => Topology::Ring,
            Some(TopologyArg::Mesh) => Topology::Mesh,
        },
        threads: default_threads(cmd.threads)?,
    })
}

fn execute(cmd: &CollectiveCmd, common: &BoardArgs) -> Result<(BenchReport, f64)> {
    let loaded = common.load()?;
    let spec = spec(cmd, &loaded.board, cmd.bytes)?;
    let started = std::time::Instant::now();
    let r = collective::run(&loaded.board, &spec)?;
    Ok((r, started.elapsed().as_secs_f64()))
}

fn to_json(r: &BenchReport, host_seconds: f64, threads: usize) -> Result<serde_json::Value> {
    let mut v = serde_json::to_value(r)?;
    v["host"] = serde_json::json!({ "seconds": host_seconds, "threads": threads });
    Ok(v)
}

/// One row of a `--sizes` sweep, in nccl-tests' columns and units plus the bound.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SizeRow {
    /// Buffer bytes per card.
    pub size: u64,
    /// Elements per card.
    pub count: u64,
    /// Element type (`float`).
    #[serde(rename = "type")]
    pub dtype: &'static str,
    /// Emulated time, microseconds.
    pub time_us: f64,
    /// size / time, GB/s (10^9 bytes per second).
    pub algbw_gbps: f64,
    /// algbw times the nccl-tests bus factor, GB/s.
    pub busbw_gbps: f64,
    /// The ring's strict floor, microseconds.
    pub bound_us: f64,
    /// time / bound.
    pub ratio: f64,
    /// The floor with the cards' reduce kernels as a resource, microseconds.
    pub bound_with_reduce_us: f64,
    /// The alpha-beta estimate, microseconds.
    pub alpha_beta_us: f64,
}

impl SizeRow {
    fn of(r: &BenchReport) -> Self {
        Self {
            size: r.bytes,
            count: r.bytes / 4,
            dtype: "float",
            time_us: r.seconds * 1e6,
            algbw_gbps: r.algbw_bytes_per_s / 1e9,
            busbw_gbps: r.busbw_bytes_per_s / 1e9,
            bound_us: r.bound_seconds * 1e6,
            ratio: r.ratio,
            bound_with_reduce_us: r.bound_with_reduce_seconds * 1e6,
            alpha_beta_us: r.alpha_beta_seconds * 1e6,
        }
    }
}

/// Runs every size of a `--sizes` sweep: the JSON report (`rows` in nccl-tests columns).
fn size_sweep(
    cmd: &CollectiveCmd,
    common: &BoardArgs,
    (lo, hi): (u64, u64),
) -> Result<serde_json::Value> {
    let loaded = common.load()?;
    let sizes = size_ladder(lo, hi, cmd.factor)?;
    let started = std::time::Instant::now();
    let mut rows = Vec::new();
    let mut first: Option<BenchSpec> = None;
    for &bytes in &sizes {
        let spec = spec(cmd, &loaded.board, bytes)?;
        let r = collective::run(&loaded.board, &spec).with_context(|| format!("size {bytes} B"))?;
        rows.push(SizeRow::of(&r));
        first.get_or_insert(spec);
    }
    let spec = first.context("--sizes gave no size")?;
    Ok(serde_json::json!({
        "board": loaded.board.name,
        "op": cmd.op,
        "cards": spec.cards,
        "topology": spec.topology,
        "segment_bytes": cmd.segment,
        "busbw_factor": cmd.op.busbw_factor(spec.cards),
        "rows": rows,
        "host": {"seconds": started.elapsed().as_secs_f64(), "threads": spec.threads},
    }))
}

/// The JSON report (what `--json` prints), for sweeps.
pub(super) fn json(cmd: &CollectiveCmd, common: &BoardArgs) -> Result<serde_json::Value> {
    if let Some(range) = cmd.sizes {
        return size_sweep(cmd, common, range);
    }
    let (r, host) = execute(cmd, common)?;
    to_json(&r, host, default_threads(cmd.threads)?)
}

pub(super) fn run(cmd: CollectiveCmd, common: &BoardArgs) -> Result<()> {
    if let Some(range) = cmd.sizes {
        let mut v = size_sweep(&cmd, common, range)?;
        super::output::finish(&mut v, None, cmd.out.as_deref(), common)?;
        if cmd.json {
            println!("{}", serde_json::to_string_pretty(&v)?);
        } else if cmd.csv {
            print!("{}", size_csv(&v));
        } else {
            print!("{}", size_table(&v));
        }
        return Ok(());
    }
    let (r, host) = execute(&cmd, common)?;
    let mut v = to_json(&r, host, default_threads(cmd.threads)?)?;
    super::output::finish(&mut v, None, cmd.out.as_deref(), common)?;
    if cmd.json {
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        print!("{}", text(&r, host));
    }
    Ok(())
}

const COLUMNS: [&str; 10] = [
    "size",
    "count",
    "type",
    "time_us",
    "algbw_gbps",
    "busbw_gbps",
    "bound_us",
    "ratio",
    "bound_with_reduce_us",
    "alpha_beta_us",
];

fn cell(row: &serde_json::Value, c: &str) -> String {
    match &row[c] {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) if n.is_f64() => {
            let x = n.as_f64().unwrap_or(f64::NAN);
            if c == "ratio" {
                format!("{x:.4}")
            } else {
                format!("{x:.3}")
            }
        }
        other => other.to_string(),
    }
}

/// The `--sizes` report as CSV, one row per size, columns as in the JSON rows.
pub fn size_csv(v: &serde_json::Value) -> String {
    let mut s = COLUMNS.join(",") + "\n";
    for row in v["rows"].as_array().into_iter().flatten() {
        let cells: Vec<String> = COLUMNS.iter().map(|c| cell(row, c)).collect();
        s.push_str(&cells.join(","));
        s.push('\n');
    }
    s
}

/// The `--sizes` report as nccl-tests prints it, with the bound and ratio beside.
pub fn size_table(v: &serde_json::Value) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# {} on {} cards ({}, board {}), busbw factor {:.4}",
        v["op"].as_str().unwrap_or(""),
        v["cards"],
        v["topology"].as_str().unwrap_or(""),
        v["board"].as_str().unwrap_or(""),
        v["busbw_factor"].as_f64().unwrap_or(f64::NAN)
    );
    let _ = writeln!(
        s,
        "#{:>11} {:>11} {:>6} {:>12} {:>9} {:>9} {:>12} {:>8} {:>14} {:>12}",
        "size",
        "count",
        "type",
        "time",
        "algbw",
        "busbw",
        "bound",
        "ratio",
        "bound+reduce",
        "alpha-beta"
    );
    let _ = writeln!(
        s,
        "#{:>11} {:>11} {:>6} {:>12} {:>9} {:>9} {:>12} {:>8} {:>14} {:>12}",
        "(B)", "(elements)", "", "(us)", "(GB/s)", "(GB/s)", "(us)", "", "(us)", "(us)"
    );
    for row in v["rows"].as_array().into_iter().flatten() {
        let c = |k: &str| cell(row, k);
        let _ = writeln!(
            s,
            " {:>11} {:>11} {:>6} {:>12} {:>9} {:>9} {:>12} {:>8} {:>14} {:>12}",
            c("size"),
            c("count"),
            c("type"),
            c("time_us"),
            c("algbw_gbps"),
            c("busbw_gbps"),
            c("bound_us"),
            c("ratio"),
            c("bound_with_reduce_us"),
            c("alpha_beta_us")
        );
    }
    s
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
        "time      {:.3} us   bound {:.3} us (the ring's floor)   ratio {:.4}   alpha-beta estimate {:.3} us   ratio {:.4}",
        r.seconds * 1e6,
        r.bound_seconds * 1e6,
        r.ratio,
        r.alpha_beta_seconds * 1e6,
        r.alpha_beta_ratio
    );
    if r.reduce_bound_seconds > 0.0 {
        let _ = writeln!(
            s,
            "          reduce kernel {} per card: reduce term {:.3} us, bound with it {:.3} us, ratio {:.4}, alpha-beta with it {:.3} us",
            rate(r.reduce_bytes_per_s),
            r.reduce_bound_seconds * 1e6,
            r.bound_with_reduce_seconds * 1e6,
            r.ratio_with_reduce,
            r.alpha_beta_with_reduce_seconds * 1e6
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
