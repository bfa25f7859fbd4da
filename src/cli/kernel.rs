//! `emulate kernel PROGRAM`: runs one bare-metal program on one card's hart and reports
//! cycles, instructions, IPC, stall cycles by cause and host speed.

use super::BoardArgs;
use crate::config::Board;
use crate::experiment::model_run::{self, Cards, NodeTiming, RunOptions};
use crate::mem::regime::MemoryModelChoice;
use crate::mem::CardMemory;
use crate::program::{self, Program, RunError, RunStop};
use crate::stats::Stats;
use crate::timing::{CoreParams, CoreTiming, Functional, InOrderTiming};
use anyhow::Context;
use clap::Args;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// `emulate kernel PROGRAM [--max-cycles N] [--trace] [--json] [--functional]`, or
/// `emulate kernel --node PREFIX [--manifest M] [--context N] [--past P]`: the kernels of a
/// model's decode step, each against its roofline bound.
#[derive(Args, Debug)]
pub struct KernelCmd {
    /// The program: an ELF64 RISC-V executable (see doc/programs.md).
    #[arg(required_unless_present = "node", conflicts_with = "node")]
    program: Option<PathBuf>,
    /// Time the kernels of one decode step whose graph node names start with this prefix
    /// (`blk.0.` for a whole layer, `blk.0.ffn_up`, `output`), on the model's real shapes.
    #[arg(long)]
    node: Option<String>,
    /// With --node: manifest name or path [default: the --weights file's, else TinyLlama
    /// Q4_K_M].
    #[arg(long, requires = "node")]
    manifest: Option<String>,
    /// With --node: the weights of this GGUF file instead of synthetic ones.
    #[arg(long, requires = "node", value_name = "FILE.gguf")]
    weights: Option<PathBuf>,
    /// With --node: KV cache capacity in positions.
    #[arg(long, default_value_t = 512, requires = "node")]
    context: u64,
    /// With --node: positions already in the KV cache (the decoded token's position).
    #[arg(long, default_value_t = 511, requires = "node")]
    past: u64,
    /// With --node: quantized products on the vector unit instead of Xpop_matmul.
    #[arg(long, requires = "node")]
    no_matrix_unit: bool,
    /// With --node: fused or split attention (see `emulate run --help`).
    #[arg(long, requires = "node", default_value = "fused", value_parser = super::run::parse_attention)]
    attention: crate::workload::graph::Attention,
    /// With --node: KV cache type (f16, bf16, q8_0; see `emulate run --help`).
    #[arg(long, requires = "node", default_value = "f16", value_parser = super::run::parse_kv_type)]
    kv_type: crate::workload::dtype::GgmlType,
    /// Stop with an error if the program has not exited after this many cycles.
    #[arg(long, default_value_t = crate::program::DEFAULT_MAX_CYCLES)]
    max_cycles: u64,
    /// Print every retired instruction: cycle, PC, raw bits, disassembly.
    #[arg(long)]
    trace: bool,
    /// Print the results as JSON (the console output is in the `console` key).
    #[arg(long)]
    json: bool,
    /// Functional only: no timing model (cycles = instructions).
    #[arg(long)]
    functional: bool,
    /// Write the run folder (report.json, stats.csv, board.resolved.yaml, command.txt).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

/// What a run produced.
pub struct KernelResult {
    /// How it ended.
    pub outcome: Result<RunStop, RunError>,
    /// Core, memory and matrix-unit counters.
    pub stats: Stats,
    /// Instructions retired.
    pub instructions: u64,
    /// Cycles.
    pub cycles: u64,
    /// Host seconds spent running.
    pub host_seconds: f64,
    /// Console output.
    pub console: Vec<u8>,
}

/// Runs `program` on a hart of `board` (with its matrix unit), timed through the card's
/// memory system ([`CardMemory`]: DDR3 model and scratchpad) or functional only.
pub fn run_kernel(
    board: &Board,
    program: &Program,
    max_cycles: u64,
    functional: bool,
    trace: Option<&mut dyn Write>,
) -> anyhow::Result<KernelResult> {
    let mut hart = program::load_card_hart(program, board)?;
    let start = Instant::now();
    let (outcome, stats, cycles) = if functional {
        let mut t = Functional::default();
        let o = program::run(&mut hart, &mut t, max_cycles, trace);
        (o, t.stats(), t.cycles())
    } else {
        let mem = CardMemory::new(board).context("building the card's memory model")?;
        let mut t = InOrderTiming::new(CoreParams::from_board(board), mem);
        let o = program::run(&mut hart, &mut t, max_cycles, trace);
        (o, t.stats(), t.cycles())
    };
    let host_seconds = start.elapsed().as_secs_f64();
    Ok(KernelResult {
        outcome,
        stats,
        instructions: hart.instret(),
        cycles,
        host_seconds,
        console: hart.mem_mut().take_console(),
    })
}

fn mips(r: &KernelResult) -> f64 {
    if r.host_seconds > 0.0 {
        r.instructions as f64 / r.host_seconds / 1e6
    } else {
        0.0
    }
}

fn report(cmd: &KernelCmd, board: &Board, r: &KernelResult) -> serde_json::Value {
    serde_json::json!({
        "program": program_path(cmd).display().to_string(),
        "board": board.name,
        "mode": if cmd.functional { "functional" } else { "timed" },
        "cycles": r.cycles,
        "instructions": r.instructions,
        "ipc": ipc(r),
        "host_seconds": r.host_seconds,
        "host_mips": mips(r),
        "exit_code": r.outcome.as_ref().ok().map(|s| s.exit_code),
        "error": r.outcome.as_ref().err().map(|e| e.to_string()),
        "console": String::from_utf8_lossy(&r.console),
        "stats": r.stats.to_json(),
    })
}

fn program_path(cmd: &KernelCmd) -> &Path {
    cmd.program.as_deref().unwrap_or(Path::new(""))
}

/// The `--node` mode: a decode step's kernels on the model's shapes.
fn node_timings(
    cmd: &KernelCmd,
    common: &BoardArgs,
    prefix: &str,
) -> anyhow::Result<(Board, Vec<NodeTiming>)> {
    let loaded = common.load()?;
    let opts = RunOptions {
        manifest: cmd.manifest.clone(),
        weights: cmd.weights.clone(),
        context: cmd.context,
        context_overflow: false,
        prompt: cmd.past,
        tokens: 0,
        memory_model: MemoryModelChoice::Auto,
        exact: true,
        seed: 1,
        matrix_unit: !cmd.no_matrix_unit,
        attention: cmd.attention,
        kv_type: cmd.kv_type,
        past: None,
        max_kernel_cycles: cmd.max_cycles,
        progress: None,
        ids: Default::default(),
        cards: Cards::ONE,
    };
    let t = model_run::time_decode_nodes(&loaded.board, &opts, prefix)?;
    Ok((loaded.board, t))
}

fn node_json(
    cmd: &KernelCmd,
    board: &Board,
    t: &[NodeTiming],
) -> anyhow::Result<serde_json::Value> {
    Ok(serde_json::json!({
        "board": board.name,
        "context": cmd.context,
        "past": cmd.past,
        "kernels": serde_json::to_value(t)?,
    }))
}

fn node_text(board: &Board, cmd: &KernelCmd, t: &[NodeTiming]) -> String {
    use std::fmt::Write as _;
    let mut s = format!(
        "{} ({}), decode step at position {} of {}\n\n{:<22} {:<18} {:<30} {:>12} {:>10} {:>7} {:>6} {:>6} {:>12} {:>12}\n",
        board.name, board.clock, cmd.past, cmd.context,
        "node", "program", "unit", "cycles", "bound", "ratio", "vpu", "mxu", "tensor B", "DDR B"
    );
    let cyc = |secs: f64| secs * board.clock.hz();
    for k in t {
        let _ = writeln!(
            s,
            "{:<22} {:<18} {:<30} {:>12} {:>10.0} {:>7.2} {:>5.0}% {:>5.0}% {:>12} {:>12}",
            k.node,
            k.program.trim_end_matches(".elf"),
            k.unit,
            k.cycles,
            cyc(k.bound_seconds),
            k.ratio,
            100.0 * k.vector_utilisation,
            100.0 * k.matrix_busy_fraction,
            k.tensor_bytes,
            k.ddr_bytes
        );
    }
    let _ = writeln!(
        s,
        "\nunit = where the node's arithmetic ran (attention: per product); bound = max(FLOPs at the peak of that unit, vector lane ops at the lanes' issue rate, tensor bytes at the DDR peak); vpu/mxu = busy cycles / cycles"
    );
    s
}

fn execute(
    cmd: &KernelCmd,
    common: &BoardArgs,
    trace: Option<&mut dyn Write>,
) -> anyhow::Result<(Board, KernelResult)> {
    let loaded = common.load()?;
    let program = crate::program::Program::load_asset(program_path(cmd))?;
    let r = run_kernel(
        &loaded.board,
        &program,
        cmd.max_cycles,
        cmd.functional,
        trace,
    )?;
    Ok((loaded.board, r))
}

/// The JSON report of a run (for sweeps); a run that traps or runs out of cycles is an error.
pub(super) fn json(cmd: &KernelCmd, common: &BoardArgs) -> anyhow::Result<serde_json::Value> {
    if let Some(prefix) = &cmd.node {
        let (board, t) = node_timings(cmd, common, prefix)?;
        return node_json(cmd, &board, &t);
    }
    let (board, r) = execute(cmd, common, None)?;
    if let Err(e) = &r.outcome {
        anyhow::bail!("running {}: {e}", program_path(cmd).display());
    }
    Ok(report(cmd, &board, &r))
}

pub(super) fn run(cmd: KernelCmd, common: &BoardArgs) -> anyhow::Result<()> {
    if let Some(prefix) = &cmd.node {
        let (board, t) = node_timings(&cmd, common, prefix)?;
        let mut v = node_json(&cmd, &board, &t)?;
        super::output::finish(&mut v, None, cmd.out.as_deref(), common)?;
        if cmd.json {
            println!("{}", serde_json::to_string_pretty(&v)?);
        } else {
            print!("{}", node_text(&board, &cmd, &t));
        }
        return Ok(());
    }
    let stdout = std::io::stdout();
    let mut lock = std::io::BufWriter::new(stdout.lock());
    let trace: Option<&mut dyn Write> = if cmd.trace { Some(&mut lock) } else { None };
    let (board, r) = execute(&cmd, common, trace)?;
    lock.flush()?;
    drop(lock);
    let exit_code = r.outcome.as_ref().ok().map(|s| s.exit_code);
    let mut v = report(&cmd, &board, &r);
    super::output::finish(&mut v, None, cmd.out.as_deref(), common)?;
    if cmd.json {
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        let console = String::from_utf8_lossy(&r.console);
        print!("{console}");
        if !console.is_empty() && !console.ends_with('\n') {
            println!();
        }
        println!("program:        {}", program_path(&cmd).display());
        println!(
            "mode:           {} ({} at {})",
            if cmd.functional {
                "functional (no timing model)"
            } else {
                "timed"
            },
            board.name,
            board.clock
        );
        if let Some(c) = exit_code {
            println!("exit code:      {c}");
        }
        println!("cycles:         {}", r.cycles);
        println!("instructions:   {}", r.instructions);
        println!("IPC:            {:.4}", ipc(&r));
        if !cmd.functional {
            println!("stall cycles by cause:");
            for (path, c) in r.stats.iter() {
                if let Some(cause) = path.strip_prefix("stalls.") {
                    if c.value > 0.0 || cause == "total" {
                        println!("  {cause:<24} {:>14}", c.value);
                    }
                }
            }
        }
        println!(
            "host:           {:.3} s, {:.1} MIPS",
            r.host_seconds,
            mips(&r)
        );
    }
    match r.outcome {
        Ok(RunStop { exit_code: 0 }) => Ok(()),
        Ok(RunStop { exit_code }) => {
            anyhow::bail!(
                "program {} exited with status {exit_code}",
                program_path(&cmd).display()
            )
        }
        Err(e) => Err(e).with_context(|| format!("running {}", program_path(&cmd).display())),
    }
}

fn ipc(r: &KernelResult) -> f64 {
    if r.cycles == 0 {
        0.0
    } else {
        r.instructions as f64 / r.cycles as f64
    }
}
