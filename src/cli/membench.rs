//! `emulate membench`: trace-driven microbenchmarks straight into the board's DDR3 model.

use super::BoardArgs;
use crate::mem::ddr3::{
    check, ClockConv, CommandSink, CommandTrace, Ddr3, Ddr3Options, Ddr3Timing, NoTrace,
};
use crate::mem::microbench::{self, BenchResult, BenchSpec, Pattern, Streams, Traffic};
use crate::mem::{Access, MemoryModel};
use crate::units::ByteSize;
use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// `--check` records every DRAM command; beyond this many bytes the trace gets too big.
const MAX_CHECKED_BYTES: u64 = 256 << 20;

/// Measure the DDR model: sustained bandwidth (stream), random 64-byte bandwidth (random),
/// pointer-chase latency (chase), and optionally loaded latency against offered load.
#[derive(Args, Debug)]
pub struct MembenchCmd {
    /// Address pattern: sequential, random independent, or dependent random (pointer chase).
    #[arg(long, value_enum, default_value = "stream")]
    pattern: PatternArg,
    /// Footprint of the address sequence (of each array with --streams): `64MiB`, `4 GiB`
    /// or a byte count. Without --requests, also the bytes moved.
    #[arg(long, default_value = "16MiB", value_parser = parse_bytes)]
    bytes: u64,
    /// Requests issued (default: the footprint's worth; a stream wraps around it).
    #[arg(long)]
    requests: Option<u64>,
    /// Interleave reads and writes over the address sequence: `2:1` is two reads, one write.
    #[arg(long, value_name = "R:W", value_parser = parse_mix, conflicts_with = "write")]
    mix: Option<(u32, u32)>,
    /// STREAM kernel traffic: per element, one request to each array (reads first).
    #[arg(long, value_enum, conflicts_with_all = ["write", "mix"])]
    streams: Option<StreamsArg>,
    /// Offset of the footprint (the first array) from the start of DDR.
    #[arg(long, default_value = "0", value_parser = parse_bytes)]
    base: u64,
    /// With --streams: bytes from one array's start to the next (default: the footprint plus
    /// one row, so the arrays fall in different banks; a multiple of row x banks puts them
    /// in the same bank).
    #[arg(long, value_parser = parse_bytes)]
    stride: Option<u64>,
    /// Write every request (`0xOFFSET R|W` per line, offsets from the start of DDR) to
    /// FILE, for replay in another simulator (testbench/dramsim3).
    #[arg(long, value_name = "FILE")]
    trace_out: Option<PathBuf>,
    /// Bytes per request.
    #[arg(long, default_value_t = 64)]
    request_bytes: u32,
    /// Requests in flight (default: the controller's queue depth; a chase always has one).
    #[arg(long)]
    outstanding: Option<usize>,
    /// Write instead of read.
    #[arg(long)]
    write: bool,
    /// Seed of the random and chase address sequences.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Run without DRAM refresh (to see what refresh costs).
    #[arg(long)]
    no_refresh: bool,
    /// Record every DRAM command and check it against the JEDEC timing rules.
    #[arg(long)]
    check: bool,
    /// Record every DRAM command and write them to FILE in clock order, one a line
    /// (`@CLOCK KIND bank B row R col C`), to compare with another simulator's command trace.
    #[arg(long, value_name = "FILE")]
    commands_out: Option<PathBuf>,
    /// Also measure loaded latency against offered load (open-loop requester at 5%..120% of
    /// peak) and write it to FILE as CSV; the resolved board goes next to it
    /// (FILE.board.yaml).
    #[arg(long, value_name = "FILE.csv")]
    curve: Option<PathBuf>,
    /// Print JSON (keys include `bytes_per_s` and `mean_latency_ns`).
    #[arg(long)]
    json: bool,
    /// Write the run folder (report.json, stats.csv, board.resolved.yaml, command.txt).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum StreamsArg {
    Copy,
    Scale,
    Add,
    Triad,
}

impl From<StreamsArg> for Streams {
    fn from(s: StreamsArg) -> Self {
        match s {
            StreamsArg::Copy => Streams::Copy,
            StreamsArg::Scale => Streams::Scale,
            StreamsArg::Add => Streams::Add,
            StreamsArg::Triad => Streams::Triad,
        }
    }
}

/// `2:1` -> (2, 1).
fn parse_mix(text: &str) -> Result<(u32, u32), String> {
    let (r, w) = text
        .split_once(':')
        .ok_or_else(|| format!("`{text}` is not READS:WRITES, e.g. 2:1"))?;
    let n = |x: &str| {
        x.trim()
            .parse::<u32>()
            .map_err(|e| format!("`{x}` in `{text}`: {e}"))
    };
    let (r, w) = (n(r)?, n(w)?);
    if r + w == 0 || r > 1 << 20 || w > 1 << 20 {
        return Err(format!(
            "`{text}`: need at least one read or write, each at most 1048576"
        ));
    }
    Ok((r, w))
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum PatternArg {
    Stream,
    Random,
    Chase,
}

impl From<PatternArg> for Pattern {
    fn from(p: PatternArg) -> Self {
        match p {
            PatternArg::Stream => Pattern::Stream,
            PatternArg::Random => Pattern::Random,
            PatternArg::Chase => Pattern::Chase,
        }
    }
}

/// `64MiB`, `64 MiB`, `1048576`.
pub(super) fn parse_bytes(text: &str) -> Result<u64, String> {
    let t = text.trim();
    if let Ok(n) = t.parse::<u64>() {
        return Ok(n);
    }
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let spaced = format!("{} {}", &t[..split], t[split..].trim());
    ByteSize::parse(&spaced)
        .map(|b| b.bytes())
        .map_err(|e| e.to_string())
}

/// What one run measured, with the trace check when asked.
struct Outcome {
    result: BenchResult,
    stats: crate::stats::Stats,
    trace: Option<Result<check::TraceSummary, Vec<check::Violation>>>,
}

fn measure<S: CommandSink>(mut ddr: Ddr3<S>, spec: &BenchSpec) -> (BenchResult, Ddr3<S>) {
    let r = microbench::run(&mut ddr, spec);
    (r, ddr)
}

impl MembenchCmd {
    /// The seed of the address sequences (for provenance).
    pub(super) fn seed(&self) -> u64 {
        self.seed
    }
}

/// The JSON report of a run (what `--json` prints), for sweeps.
pub(super) fn json(cmd: &MembenchCmd, common: &BoardArgs) -> anyhow::Result<serde_json::Value> {
    let (v, _) = execute(cmd, common)?;
    Ok(v)
}

pub(super) fn run(cmd: MembenchCmd, common: &BoardArgs) -> anyhow::Result<()> {
    let (mut v, text) = execute(&cmd, common)?;
    super::output::finish(&mut v, Some(cmd.seed), cmd.out.as_deref(), common)?;
    if cmd.json {
        print_out(&format!("{}\n", serde_json::to_string_pretty(&v)?))
    } else {
        print_out(&text)
    }
}

/// Runs the benchmark: the JSON report and the text report. A trace check that finds
/// violations is an error (after printing nothing).
fn execute(cmd: &MembenchCmd, common: &BoardArgs) -> anyhow::Result<(serde_json::Value, String)> {
    let loaded = common.load()?;
    let b = &loaded.board;
    let mem = &b.memory;
    let capacity = mem.capacity.bytes();
    if cmd.bytes == 0 {
        bail!("--bytes must be more than zero");
    }
    if cmd.bytes > capacity {
        bail!(
            "--bytes {} exceeds the DDR capacity of board `{}` ({})",
            ByteSize(cmd.bytes),
            b.name,
            mem.capacity
        );
    }
    if cmd.request_bytes == 0 || cmd.request_bytes as u64 > cmd.bytes {
        bail!(
            "--request-bytes must be between 1 and --bytes ({}), not {}",
            cmd.bytes,
            cmd.request_bytes
        );
    }
    if cmd.outstanding == Some(0) {
        bail!("--outstanding must be at least 1");
    }
    let pattern: Pattern = cmd.pattern.into();
    let slots = cmd.bytes / cmd.request_bytes as u64;
    let requests = cmd.requests.unwrap_or(slots);
    if requests == 0 || requests > 1 << 32 {
        bail!("--requests must be between 1 and 2^32, not {requests}");
    }
    let traffic = match (cmd.streams, cmd.mix) {
        (Some(k), _) => Traffic::Streams {
            kernel: k.into(),
            stride: cmd.stride.unwrap_or(cmd.bytes + mem.row_size.bytes()),
        },
        (None, Some((reads, writes))) => Traffic::Mix { reads, writes },
        (None, None) => Traffic::Only(if cmd.write {
            Access::Write
        } else {
            Access::Read
        }),
    };
    let record = cmd.check || cmd.commands_out.is_some();
    if record && requests * cmd.request_bytes as u64 > MAX_CHECKED_BYTES {
        bail!(
            "--check records every DRAM command (so does --commands-out): use --bytes {} or less",
            MAX_CHECKED_BYTES
        );
    }
    let arrays = match traffic {
        Traffic::Streams { kernel, .. } => kernel.reads() + 1,
        _ => 1,
    };
    let stride = match traffic {
        Traffic::Streams { stride, .. } => stride,
        _ => 0,
    };
    let span = cmd
        .base
        .checked_add((arrays - 1).saturating_mul(stride))
        .and_then(|x| x.checked_add(cmd.bytes))
        .unwrap_or(u64::MAX);
    if span > capacity {
        bail!(
            "--base {} + the arrays ({} x --stride {}) + --bytes {} end beyond the DDR capacity of board `{}` ({})",
            cmd.base,
            arrays - 1,
            stride,
            cmd.bytes,
            b.name,
            mem.capacity
        );
    }
    let outstanding = match pattern {
        Pattern::Chase => 1,
        _ => cmd
            .outstanding
            .unwrap_or(mem.controller.queue_depth as usize),
    };
    let spec = BenchSpec {
        pattern,
        base: mem.base + cmd.base,
        bytes: cmd.bytes,
        requests,
        request_bytes: cmd.request_bytes,
        outstanding,
        traffic,
        seed: cmd.seed,
    };
    if let Some(path) = &cmd.trace_out {
        let mut text = String::with_capacity(requests as usize * 14);
        for (addr, access) in spec.requests() {
            let rw = if access == Access::Write { 'W' } else { 'R' };
            writeln!(text, "{:#x} {rw}", addr - mem.base)?;
        }
        std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    let options = Ddr3Options {
        refresh: !cmd.no_refresh,
    };
    let outcome = if record {
        let ddr = Ddr3::with_sink(mem, b.clock, options, CommandTrace::default())
            .context("building the DDR3 model")?;
        let (result, ddr) = measure(ddr, &spec);
        if let Some(path) = &cmd.commands_out {
            let mut text = String::new();
            for c in ddr.sink().in_clock_order() {
                writeln!(text, "{c}")?;
            }
            std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
        }
        let trace = cmd.check.then(|| {
            check::check(
                ddr.timing(),
                ddr.banks(),
                &ddr.sink().commands,
                options.refresh,
            )
        });
        Outcome {
            result,
            stats: ddr.stats(),
            trace,
        }
    } else {
        let ddr =
            Ddr3::with_sink(mem, b.clock, options, NoTrace).context("building the DDR3 model")?;
        let (result, ddr) = measure(ddr, &spec);
        Outcome {
            result,
            stats: ddr.stats(),
            trace: None,
        }
    };
    let peak = mem.peak_bytes_per_s();
    // The PHY's share of a read's latency: its read latency (RD on the DFI to the whole burst
    // at the controller) less what the DRAM itself takes (CL, then BL/2 on the pins), which is
    // where DRAMsim3's latency ends. Fixed per read, so the rest is the DRAM side.
    let timing = Ddr3Timing::from_config(mem).context("building the DDR3 model")?;
    let phy_ns = ClockConv::new(mem.dram_clock)
        .time_of(timing.phy_read.saturating_sub(timing.cl + timing.burst))
        .ns();
    let dram_side_ns = (outcome.result.mean_read_latency_ns - phy_ns).max(0.0);

    let curve = match &cmd.curve {
        Some(path) => {
            let points = microbench::curve(
                || {
                    Ddr3::with_sink(mem, b.clock, options, NoTrace)
                        .expect("the same configuration built above")
                },
                &spec,
                peak,
            );
            write_curve(path, &points, &loaded.resolved_yaml())?;
            Some(points)
        }
        None => None,
    };

    let r = &outcome.result;
    let access = match traffic {
        Traffic::Only(Access::Write) => "write".to_string(),
        Traffic::Only(_) => "read".to_string(),
        Traffic::Mix { reads, writes } => format!("{reads}:{writes} read:write"),
        Traffic::Streams { kernel, stride } => {
            format!("STREAM {} (arrays {stride} B apart)", kernel.name())
        }
    };
    let mut out = String::new();
    let mut v = serde_json::json!({
        "board": b.name,
        "pattern": pattern.name(),
        "access": access,
        "bytes": r.bytes,
        "request_bytes": cmd.request_bytes,
        "outstanding": outstanding,
        "requests": r.requests,
        "refresh": options.refresh,
        "elapsed_ns": r.elapsed.ns(),
        "bytes_per_s": r.bytes_per_s,
        "peak_bytes_per_s": peak,
        "mean_latency_ns": r.mean_latency_ns,
        "max_latency_ns": r.max_latency_ns,
        "mean_read_latency_ns": r.mean_read_latency_ns,
        "phy_read_latency_ns": phy_ns,
        "dram_side_read_latency_ns": dram_side_ns,
        "stats": outcome.stats.to_json(),
    });
    if let Some(t) = &outcome.trace {
        v["trace_check"] = match t {
            Ok(s) => serde_json::json!({
                "violations": 0,
                "activates": s.activates,
                "reads": s.reads,
                "writes": s.writes,
                "precharges": s.precharges,
                "refreshes": s.refreshes,
            }),
            Err(errs) => serde_json::json!({
                "violations": errs.len(),
                "first": errs.iter().take(10).map(|e| e.to_string()).collect::<Vec<_>>(),
            }),
        };
    }
    if let (Some(path), Some(points)) = (&cmd.curve, &curve) {
        v["curve_file"] = serde_json::json!(path.display().to_string());
        v["curve_points"] = serde_json::json!(points.len());
    }
    {
        let s = &outcome.stats;
        let g = |k: &str| s.get(k).unwrap_or(0.0);
        writeln!(
            out,
            "membench {}: {} {access}, {} in {}-byte requests, {} outstanding{}",
            b.name,
            pattern.name(),
            ByteSize(r.bytes),
            cmd.request_bytes,
            outstanding,
            if options.refresh { "" } else { ", no refresh" }
        )?;
        writeln!(
            out,
            "  bandwidth     {:>9.3} GB/s  ({:.1}% of the {:.3} GB/s peak)",
            r.bytes_per_s / 1e9,
            100.0 * r.bytes_per_s / peak,
            peak / 1e9
        )?;
        writeln!(
            out,
            "  latency       {:>9.1} ns mean, {:.1} ns max (issue to data)",
            r.mean_latency_ns, r.max_latency_ns
        )?;
        if r.mean_read_latency_ns > 0.0 {
            writeln!(
                out,
                "  read latency  {:>9.1} ns mean = DRAM side {:.1} ns + PHY {:.1} ns (the PHY's read latency less CL + BL/2)",
                r.mean_read_latency_ns, dram_side_ns, phy_ns
            )?;
        }
        writeln!(
            out,
            "  bursts {}: row hits {}, misses {}, conflicts {}; refreshes {}",
            g("bursts"),
            g("row_hits"),
            g("row_misses"),
            g("row_conflicts"),
            g("refreshes")
        )?;
        if let Some(t) = &outcome.trace {
            match t {
                Ok(sum) => writeln!(
                    out,
                    "  trace check: {} commands, no timing violation",
                    sum.activates + sum.reads + sum.writes + sum.precharges + sum.refreshes
                )?,
                Err(errs) => {
                    writeln!(out, "  trace check: {} violations", errs.len())?;
                    for e in errs.iter().take(10) {
                        writeln!(out, "    {e}")?;
                    }
                }
            }
        }
        if let Some(path) = &cmd.curve {
            writeln!(out, "  curve written to {}", path.display())?;
        }
    }
    if let Some(Err(errs)) = &outcome.trace {
        bail!(
            "the DRAM command trace broke {} timing rules; the first: {}",
            errs.len(),
            errs.iter()
                .take(5)
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("; ")
        );
    }
    Ok((v, out))
}

/// Writes to stdout; a reader that went away (`| head`) is not an error.
fn print_out(text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|_| stdout.flush())
    {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

fn write_curve(
    path: &Path,
    points: &[microbench::CurvePoint],
    resolved: &str,
) -> anyhow::Result<()> {
    let mut csv = String::from(
        "offered_fraction,offered_bytes_per_s,achieved_bytes_per_s,mean_latency_ns,max_latency_ns\n",
    );
    for p in points {
        csv.push_str(&format!(
            "{},{},{},{},{}\n",
            p.offered_fraction,
            p.offered_bytes_per_s,
            p.achieved_bytes_per_s,
            p.mean_latency_ns,
            p.max_latency_ns
        ));
    }
    std::fs::write(path, csv).with_context(|| format!("writing {}", path.display()))?;
    let board_file = PathBuf::from(format!("{}.board.yaml", path.display()));
    std::fs::write(&board_file, resolved)
        .with_context(|| format!("writing {}", board_file.display()))?;
    Ok(())
}
