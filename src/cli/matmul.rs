//! `emulate matmul`: the Xpop_matmul unit's timing model on one matrix product, without a
//! program: the tile plan, cycles by cause, bytes moved, and the roofline bound.

use super::BoardArgs;
use crate::matmul::descriptor::MatmulJob;
use crate::matmul::timing::{plan_tiles, TimingReport};
use crate::matmul::MatmulTiming;
use crate::mem::fixed::FixedLatency;
use crate::mem::{CardMemory, MemoryModel};
use crate::quant::GgmlType;
use crate::units::Time;
use anyhow::{ensure, Context};
use clap::{Args, ValueEnum};

/// `emulate matmul --type q4_K --m 1 --n 5632 --k 2048 [--memory ddr3|port] [--json]`.
#[derive(Args, Debug)]
pub struct MatmulCmd {
    /// Weight type: q4_0, q8_0, q4_K, q6_K or bf16 (activations are its vec_dot type).
    #[arg(long = "type", value_parser = parse_type)]
    ty: GgmlType,
    /// Activation rows (tokens): output rows.
    #[arg(long)]
    m: u32,
    /// Weight rows: outputs per token.
    #[arg(long)]
    n: u32,
    /// Elements per row (a multiple of the type's block size).
    #[arg(long)]
    k: u32,
    /// Memory behind the unit's port: `ddr3` (the card's DDR3 model) or `port` (no memory
    /// limit beyond the unit's own operand port).
    #[arg(long, value_enum, default_value_t = MemoryChoice::Ddr3)]
    memory: MemoryChoice,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Write the run folder (report.json, stats.csv, board.resolved.yaml, command.txt).
    #[arg(long, value_name = "DIR")]
    out: Option<std::path::PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum MemoryChoice {
    Ddr3,
    Port,
}

fn parse_type(s: &str) -> Result<GgmlType, String> {
    s.parse()
}

fn report(cmd: &MatmulCmd, common: &BoardArgs) -> anyhow::Result<serde_json::Value> {
    let loaded = common.load()?;
    let board = &loaded.board;
    ensure!(
        board.matmul.enabled,
        "board `{}` has no Xpop_matmul unit (matmul.enabled = false)",
        board.name
    );
    let ty = cmd.ty;
    let bt = crate::matmul::descriptor::activation_type(ty)
        .filter(|_| crate::matmul::descriptor::WEIGHT_TYPES.contains(&ty));
    let bt = bt.with_context(|| {
        format!("--type {ty}: the unit takes f16, q4_0, q8_0, q4_K, q6_K or bf16 weights")
    })?;
    let (m, n, k) = (cmd.m as u64, cmd.n as u64, cmd.k as u64);
    let ra = ty.row_bytes(k).with_context(|| {
        format!(
            "--k {k} is not a multiple of the {ty} block size {}",
            ty.block_elems()
        )
    })?;
    let rb = bt.row_bytes(k).expect("same block size as the weights");
    // Operands back to back from 16 MiB into DDR, each 4 KiB aligned.
    let align = |x: u64| x.div_ceil(4096) * 4096;
    let desc = board.memory.base + 0x0100_0000;
    let a = desc + 4096;
    let b = align(a + n * ra);
    let c = align(b + m * rb);
    let end = c + m * n * 4;
    ensure!(
        end <= board.memory.base + board.memory.capacity.bytes(),
        "the operands ({} bytes) do not fit the board's {} of DDR",
        end - desc,
        board.memory.capacity
    );
    let job = MatmulJob {
        ty,
        a,
        b,
        c,
        lda: ra,
        ldb: rb,
        ldc: 4 * n,
        m,
        n,
        k,
        a_transposed: false,
    };
    job.validate()
        .map_err(|e| anyhow::anyhow!("invalid matmul: {e}"))?;
    let mut unit = MatmulTiming::new(board);
    let (r, mem_stats) = match cmd.memory {
        MemoryChoice::Ddr3 => {
            let mut mem = CardMemory::new(board).context("building the DDR3 model")?;
            let r = unit.time_jobs(desc, &[job], Time::ZERO, &mut mem);
            (r, mem.stats())
        }
        MemoryChoice::Port => {
            let p = unit.params().clone();
            let mut mem = FixedLatency::new(
                Time::ZERO,
                p.clock.period(),
                p.operand_bytes_per_cycle as u32,
            );
            let r = unit.time_jobs(desc, &[job], Time::ZERO, &mut mem);
            (r, mem.stats())
        }
    };
    let plan = plan_tiles(unit.params(), &job);
    // Roofline: compute at the peak MAC rate, and each operand moved once at the DDR peak.
    let rate = unit.params().macs_per_cycle(ty) as f64;
    let compute_s = job.macs() as f64 / rate / board.clock.hz();
    let compulsory = n * ra + m * rb + 4 * m * n + 64;
    let memory_s = compulsory as f64 / board.memory.peak_bytes_per_s();
    let bound_s = compute_s.max(memory_s);
    let secs = r.end.secs();
    Ok(serde_json::json!({
        "board": board.name,
        "type": ty.name(),
        "activation_type": bt.name(),
        "m": m, "n": n, "k": k,
        "memory": match cmd.memory { MemoryChoice::Ddr3 => "ddr3", MemoryChoice::Port => "port" },
        "tile": {"tm": plan.tm, "tn": plan.tn, "tk": plan.tk},
        "cycles": r.busy,
        "seconds": secs,
        "macs": r.macs,
        "utilisation": r.utilisation(),
        "cycles_by_cause": breakdown(&r),
        "bytes": {
            "descriptors": r.descriptor_bytes,
            "operands": r.operand_bytes,
            "results": r.result_bytes,
            "compulsory": compulsory,
        },
        "achieved_bytes_per_s": (r.descriptor_bytes + r.operand_bytes + r.result_bytes) as f64 / secs.max(1e-30),
        "roofline": {
            "compute_seconds": compute_s,
            "memory_seconds": memory_s,
            "bound_seconds": bound_s,
            "bound": if compute_s >= memory_s { "compute" } else { "memory" },
            "emulated_over_bound": secs / bound_s,
        },
        "stats": {"matmul": unit.stats().to_json(), "memory": mem_stats.to_json()},
        "config": loaded.resolved_yaml(),
    }))
}

fn breakdown(r: &TimingReport) -> serde_json::Value {
    serde_json::json!({
        "descriptor": r.descriptor,
        "k_steps": r.k_steps,
        "mac": r.mac,
        "epilogue_stall": r.epilogue_stall,
        "fill_drain": r.fill_drain,
        "operand_stall": r.operand_stall,
        "result_stall": r.result_stall,
    })
}

/// The JSON report, for sweeps.
pub(super) fn json(cmd: &MatmulCmd, common: &BoardArgs) -> anyhow::Result<serde_json::Value> {
    report(cmd, common)
}

pub(super) fn run(cmd: MatmulCmd, common: &BoardArgs) -> anyhow::Result<()> {
    let mut j = report(&cmd, common)?;
    super::output::finish(&mut j, None, cmd.out.as_deref(), common)?;
    if cmd.json {
        println!("{}", serde_json::to_string_pretty(&j)?);
        return Ok(());
    }
    let f = |p: &str| j.pointer(p).and_then(|v| v.as_f64()).unwrap_or(f64::NAN);
    println!(
        "xpop.mm {} x {} m={} n={} k={} on {} ({} memory)",
        j["type"].as_str().unwrap_or(""),
        j["activation_type"].as_str().unwrap_or(""),
        cmd.m,
        cmd.n,
        cmd.k,
        j["board"].as_str().unwrap_or(""),
        j["memory"].as_str().unwrap_or("")
    );
    println!(
        "  tile           {} x {} x {} (tm x tn x tk)",
        j["tile"]["tm"], j["tile"]["tn"], j["tile"]["tk"]
    );
    println!(
        "  time           {} cycles = {:.3} ms",
        j["cycles"],
        f("/seconds") * 1e3
    );
    println!(
        "  utilisation    {:.1}% of peak MACs",
        100.0 * f("/utilisation")
    );
    for cause in [
        "descriptor",
        "mac",
        "epilogue_stall",
        "fill_drain",
        "operand_stall",
        "result_stall",
    ] {
        println!("  {:<14} {} cycles", cause, j["cycles_by_cause"][cause]);
    }
    println!(
        "  bytes          {} operands, {} results, {} descriptors ({:.2} GB/s)",
        j["bytes"]["operands"],
        j["bytes"]["results"],
        j["bytes"]["descriptors"],
        f("/achieved_bytes_per_s") / 1e9
    );
    println!(
        "  roofline       {:.3} ms ({}-bound: compute {:.3} ms, memory {:.3} ms at DDR peak); emulated/bound {:.3}",
        f("/roofline/bound_seconds") * 1e3,
        j["roofline"]["bound"].as_str().unwrap_or(""),
        f("/roofline/compute_seconds") * 1e3,
        f("/roofline/memory_seconds") * 1e3,
        f("/roofline/emulated_over_bound")
    );
    Ok(())
}
