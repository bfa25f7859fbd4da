//! `emulate membench`: trace-driven microbenchmarks straight into the board's DDR3 model.

use super::BoardArgs;
use crate::mem::ddr3::{check, CommandSink, CommandTrace, Ddr3, Ddr3Options, NoTrace};
use crate::mem::microbench::{self, BenchResult, BenchSpec, Pattern};
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
    /// Bytes moved, which is also the footprint: `64MiB`, `4 GiB` or a byte count.
    #[arg(long, default_value = "16MiB", value_parser = parse_bytes)]
    bytes: u64,
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
    if cmd.check && cmd.bytes > MAX_CHECKED_BYTES {
        bail!(
            "--check records every DRAM command: use --bytes {} or less",
            MAX_CHECKED_BYTES
        );
    }
    let pattern: Pattern = cmd.pattern.into();
    let outstanding = match pattern {
        Pattern::Chase => 1,
        _ => cmd
            .outstanding
            .unwrap_or(mem.controller.queue_depth as usize),
    };
    let spec = BenchSpec {
        pattern,
        base: mem.base,
        bytes: cmd.bytes,
        request_bytes: cmd.request_bytes,
        outstanding,
        access: if cmd.write {
            Access::Write
        } else {
            Access::Read
        },
        seed: cmd.seed,
    };
    let options = Ddr3Options {
        refresh: !cmd.no_refresh,
    };
    let outcome = if cmd.check {
        let ddr = Ddr3::with_sink(mem, b.clock, options, CommandTrace::default())
            .context("building the DDR3 model")?;
        let (result, ddr) = measure(ddr, &spec);
        let trace = check::check(
            ddr.timing(),
            ddr.banks(),
            &ddr.sink().commands,
            options.refresh,
        );
        Outcome {
            result,
            stats: ddr.stats(),
            trace: Some(trace),
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
    let access = if cmd.write { "write" } else { "read" };
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
