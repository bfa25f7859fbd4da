//! `emulate kernel PROGRAM`: runs one bare-metal program on one card's hart and reports
//! cycles, instructions, IPC, stall cycles by cause and host speed.

use super::BoardArgs;
use crate::config::Board;
use crate::mem::CardMemory;
use crate::program::{self, Program, RunError, RunStop};
use crate::stats::Stats;
use crate::timing::{run_stats, CoreParams, CoreTiming, Functional, InOrderTiming};
use anyhow::Context;
use clap::Args;
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

/// `emulate kernel PROGRAM [--max-cycles N] [--trace] [--json] [--functional]`.
#[derive(Args, Debug)]
pub struct KernelCmd {
    /// The program: an ELF64 RISC-V executable (see doc/programs.md).
    program: PathBuf,
    /// Stop with an error if the program has not exited after this many cycles.
    #[arg(long, default_value_t = 10_000_000_000)]
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
        (o, run_stats(&t, &hart), t.cycles())
    } else {
        let mem = CardMemory::new(board).context("building the card's memory model")?;
        let mut t = InOrderTiming::new(CoreParams::from_board(board), mem);
        let o = program::run(&mut hart, &mut t, max_cycles, trace);
        (o, run_stats(&t, &hart), t.cycles())
    };
    let host_seconds = start.elapsed().as_secs_f64();
    Ok(KernelResult {
        outcome,
        stats,
        instructions: hart.instret,
        cycles,
        host_seconds,
        console: hart.mem.take_console(),
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
        "program": cmd.program.display().to_string(),
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

fn execute(
    cmd: &KernelCmd,
    common: &BoardArgs,
    trace: Option<&mut dyn Write>,
) -> anyhow::Result<(Board, KernelResult)> {
    let loaded = common.load()?;
    let program = Program::load(&cmd.program)?;
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
    let (board, r) = execute(cmd, common, None)?;
    if let Err(e) = &r.outcome {
        anyhow::bail!("running {}: {e}", cmd.program.display());
    }
    Ok(report(cmd, &board, &r))
}

pub(super) fn run(cmd: KernelCmd, common: &BoardArgs) -> anyhow::Result<()> {
    let stdout = std::io::stdout();
    let mut lock = std::io::BufWriter::new(stdout.lock());
    let trace: Option<&mut dyn Write> = if cmd.trace { Some(&mut lock) } else { None };
    let (board, r) = execute(&cmd, common, trace)?;
    lock.flush()?;
    drop(lock);
    let exit_code = r.outcome.as_ref().ok().map(|s| s.exit_code);
    if cmd.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report(&cmd, &board, &r))?
        );
    } else {
        let console = String::from_utf8_lossy(&r.console);
        print!("{console}");
        if !console.is_empty() && !console.ends_with('\n') {
            println!();
        }
        println!("program:        {}", cmd.program.display());
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
                cmd.program.display()
            )
        }
        Err(e) => Err(e).with_context(|| format!("running {}", cmd.program.display())),
    }
}

fn ipc(r: &KernelResult) -> f64 {
    if r.cycles == 0 {
        0.0
    } else {
        r.instructions as f64 / r.cycles as f64
    }
}
