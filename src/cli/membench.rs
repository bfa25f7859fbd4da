//! `emulate membench`: trace-driven microbenchmarks straight into the board's DDR3 model.

use super::BoardArgs;
use crate::experiment::membench::{self, MembenchSpec};
use crate::mem::microbench::{Pattern, Streams};
use crate::units::ByteSize;
use clap::{Args, ValueEnum};
use std::path::PathBuf;

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

impl MembenchCmd {
    /// What to measure, for the driver.
    fn spec(&self) -> MembenchSpec {
        MembenchSpec {
            pattern: self.pattern.into(),
            bytes: self.bytes,
            requests: self.requests,
            mix: self.mix,
            streams: self.streams.map(Into::into),
            base: self.base,
            stride: self.stride,
            trace_out: self.trace_out.clone(),
            request_bytes: self.request_bytes,
            outstanding: self.outstanding,
            write: self.write,
            seed: self.seed,
            no_refresh: self.no_refresh,
            check: self.check,
            commands_out: self.commands_out.clone(),
            curve: self.curve.clone(),
        }
    }

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

/// Runs the benchmark (`experiment::membench`): the JSON report and the text report.
fn execute(cmd: &MembenchCmd, common: &BoardArgs) -> anyhow::Result<(serde_json::Value, String)> {
    let loaded = common.load()?;
    membench::run(&cmd.spec(), &loaded)
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
