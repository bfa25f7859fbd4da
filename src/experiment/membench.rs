//! `emulate membench`'s driver: trace-driven microbenchmarks straight into a board's DDR3
//! model (the patterns are `mem::microbench`'s), with the optional JEDEC trace check, the
//! command dump, the request trace for another simulator, and the loaded-latency curve.

use crate::config::LoadedBoard;
use crate::mem::ddr3::{
    check, ClockConv, CommandSink, CommandTrace, Ddr3, Ddr3Options, Ddr3Timing, NoTrace,
};
use crate::mem::microbench::{self, BenchResult, BenchSpec, Pattern, Streams, Traffic};
use crate::mem::{Access, MemoryModel};
use crate::units::ByteSize;
use anyhow::{bail, Context};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// `--check` records every DRAM command; beyond this many bytes the trace gets too big.
const MAX_CHECKED_BYTES: u64 = 256 << 20;

/// What to measure (the options of `emulate membench`, doc/memory.md).
#[derive(Debug, Clone)]
pub struct MembenchSpec {
    /// Address pattern.
    pub pattern: Pattern,
    /// Footprint of the address sequence (of each array with `streams`).
    pub bytes: u64,
    /// Requests issued (default: the footprint's worth).
    pub requests: Option<u64>,
    /// Reads and writes interleaved (R, W).
    pub mix: Option<(u32, u32)>,
    /// STREAM kernel traffic.
    pub streams: Option<Streams>,
    /// Offset of the footprint from the start of DDR.
    pub base: u64,
    /// With `streams`: bytes from one array's start to the next.
    pub stride: Option<u64>,
    /// Write every request to this file (`0xOFFSET R|W`).
    pub trace_out: Option<PathBuf>,
    /// Bytes per request.
    pub request_bytes: u32,
    /// Requests in flight (default: the controller's queue depth).
    pub outstanding: Option<usize>,
    /// Write instead of read.
    pub write: bool,
    /// Seed of the random and chase address sequences.
    pub seed: u64,
    /// Run without DRAM refresh.
    pub no_refresh: bool,
    /// Record every DRAM command and check it against the JEDEC rules.
    pub check: bool,
    /// Write every DRAM command to this file.
    pub commands_out: Option<PathBuf>,
    /// Measure loaded latency against offered load into this CSV file.
    pub curve: Option<PathBuf>,
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

/// Runs the benchmark on `loaded`'s DDR3 model: the JSON report and the text report. A
/// trace check that finds violations is an error.
pub fn run(
    opts: &MembenchSpec,
    loaded: &LoadedBoard,
) -> anyhow::Result<(serde_json::Value, String)> {
    let b = &loaded.board;
    let mem = &b.memory;
    let capacity = mem.capacity.bytes();
    if opts.bytes == 0 {
        bail!("--bytes must be more than zero");
    }
    if opts.bytes > capacity {
        bail!(
            "--bytes {} exceeds the DDR capacity of board `{}` ({})",
            ByteSize(opts.bytes),
            b.name,
            mem.capacity
        );
    }
    if opts.request_bytes == 0 || opts.request_bytes as u64 > opts.bytes {
        bail!(
            "--request-bytes must be between 1 and --bytes ({}), not {}",
            opts.bytes,
            opts.request_bytes
        );
    }
    if opts.outstanding == Some(0) {
        bail!("--outstanding must be at least 1");
    }
    let pattern = opts.pattern;
    let slots = opts.bytes / opts.request_bytes as u64;
    let requests = opts.requests.unwrap_or(slots);
    if requests == 0 || requests > 1 << 32 {
        bail!("--requests must be between 1 and 2^32, not {requests}");
    }
    let traffic = match (opts.streams, opts.mix) {
        (Some(k), _) => Traffic::Streams {
            kernel: k,
            stride: opts.stride.unwrap_or(opts.bytes + mem.row_size.bytes()),
        },
        (None, Some((reads, writes))) => Traffic::Mix { reads, writes },
        (None, None) => Traffic::Only(if opts.write {
            Access::Write
        } else {
            Access::Read
        }),
    };
    let record = opts.check || opts.commands_out.is_some();
    if record && requests * opts.request_bytes as u64 > MAX_CHECKED_BYTES {
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
    let span = opts
        .base
        .checked_add((arrays - 1).saturating_mul(stride))
        .and_then(|x| x.checked_add(opts.bytes))
        .unwrap_or(u64::MAX);
    if span > capacity {
        bail!(
            "--base {} + the arrays ({} x --stride {}) + --bytes {} end beyond the DDR capacity of board `{}` ({})",
            opts.base,
            arrays - 1,
            stride,
            opts.bytes,
            b.name,
            mem.capacity
        );
    }
    let outstanding = match pattern {
        Pattern::Chase => 1,
        _ => opts
            .outstanding
            .unwrap_or(mem.controller.queue_depth as usize),
    };
    let bench = BenchSpec {
        pattern,
        base: mem.base + opts.base,
        bytes: opts.bytes,
        requests,
        request_bytes: opts.request_bytes,
        outstanding,
        traffic,
        seed: opts.seed,
    };
    if let Some(path) = &opts.trace_out {
        let mut text = String::with_capacity(requests as usize * 14);
        for (addr, access) in bench.requests() {
            let rw = if access == Access::Write { 'W' } else { 'R' };
            writeln!(text, "{:#x} {rw}", addr - mem.base)?;
        }
        std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    let options = Ddr3Options {
        refresh: !opts.no_refresh,
    };
    let outcome = if record {
        let ddr = Ddr3::with_sink(mem, b.clock, options, CommandTrace::default())
            .context("building the DDR3 model")?;
        let (result, ddr) = measure(ddr, &bench);
        if let Some(path) = &opts.commands_out {
            let mut text = String::new();
            for c in ddr.sink().in_clock_order() {
                writeln!(text, "{c}")?;
            }
            std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
        }
        let trace = opts.check.then(|| {
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
        let (result, ddr) = measure(ddr, &bench);
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

    let curve = match &opts.curve {
        Some(path) => {
            let points = microbench::curve(
                || {
                    Ddr3::with_sink(mem, b.clock, options, NoTrace)
                        .expect("the same configuration built above")
                },
                &bench,
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
        "request_bytes": opts.request_bytes,
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
    if let (Some(path), Some(points)) = (&opts.curve, &curve) {
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
            opts.request_bytes,
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
        if let Some(path) = &opts.curve {
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
