//! `emulate --cards N --parallel tp|pp|auto`: the model run split over N cards.

use super::collective::default_threads;
use super::run::{options, RunArgs};
use super::BoardArgs;
use crate::config::Board;
use crate::system::parallel_run::{
    self, AutoReport, ParallelChoice, ParallelOptions, ParallelReport,
};
use anyhow::Result;
use std::fmt::Write as _;

/// The split asked for, if the run is a parallel one: `--parallel`, or more than one card.
pub(super) fn wanted(a: &RunArgs, board: &Board) -> Result<Option<ParallelChoice>> {
    let cards = a.cards.unwrap_or(board.cards as usize);
    crate::config::limits::check_cards(cards as u64).map_err(anyhow::Error::msg)?;
    if a.past.is_some() && (cards > 1 || a.parallel.is_some()) {
        anyhow::bail!("--past is a single-card option (the parallel runs emulate the prefill)");
    }
    if a.logits_all && (cards > 1 || a.parallel.is_some()) {
        anyhow::bail!("--logits-all is a single-card option");
    }
    Ok(match a.parallel {
        Some(p) => Some(p),
        None if cards > 1 => Some(ParallelChoice::Tp),
        None => None,
    })
}

/// What a parallel run produced.
enum Outcome {
    One(Box<ParallelReport>),
    Auto(Box<AutoReport>),
}

fn execute(a: &RunArgs, board: &Board, p: ParallelChoice) -> Result<Outcome> {
    let o = ParallelOptions {
        run: options(a, false),
        cards: a.cards.unwrap_or(board.cards as usize),
        topology: board.topology,
        threads: default_threads(a.threads)?,
        segment: 32 << 10,
    };
    Ok(match p {
        ParallelChoice::Tp => Outcome::One(Box::new(parallel_run::run_tp(board, &o)?)),
        ParallelChoice::Pp => Outcome::One(Box::new(parallel_run::run_pp(board, &o)?)),
        ParallelChoice::Auto => Outcome::Auto(Box::new(parallel_run::run_auto(board, &o)?)),
    })
}

fn to_json(o: &Outcome) -> Result<serde_json::Value> {
    Ok(match o {
        Outcome::One(r) => serde_json::to_value(r)?,
        Outcome::Auto(r) => serde_json::to_value(r)?,
    })
}

/// The JSON report: a [`ParallelReport`], or for `auto` an [`AutoReport`] (doc/multicard.md).
pub(super) fn json(a: &RunArgs, board: &Board, p: ParallelChoice) -> Result<serde_json::Value> {
    to_json(&execute(a, board, p)?)
}

pub(super) fn run(a: &RunArgs, board: &Board, common: &BoardArgs, p: ParallelChoice) -> Result<()> {
    let outcome = execute(a, board, p)?;
    let mut value = to_json(&outcome)?;
    super::output::finish(&mut value, Some(a.seed), a.out.as_deref(), common)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    match &outcome {
        Outcome::One(r) => print!("{}", text(r)),
        Outcome::Auto(r) => {
            print!("{}\n{}", text(&r.tp), text(&r.pp));
            println!("\nrule      {}", r.verdict);
        }
    }
    Ok(())
}

fn mb(b: u64) -> String {
    format!("{:.1} MB", b as f64 / 1e6)
}

/// The report a hardware architect reads in ten seconds.
fn text(r: &ParallelReport) -> String {
    let mut s = String::new();
    let split = match r.parallel {
        parallel_run::Split::Tp => "tensor parallel",
        parallel_run::Split::Pp => "pipeline parallel",
    };
    let _ = writeln!(
        s,
        "{split} over {} cards ({:?}), board {}, model {}: context {}, prompt {}, {} decode tokens, {} KV cache",
        r.cards, r.topology, r.board, r.manifest, r.context, r.prompt, r.tokens, r.kv_type
    );
    let _ = writeln!(
        s,
        "TTFT      {:.2} ms   decode {:.2} ms/token = {:.2} tokens/s   bound {:.2} ms/token ({:.2} tokens/s), emulated/bound {:.2}",
        r.ttft_ms, r.ms_per_token, r.tokens_per_s, r.bound.ms_per_token, r.bound.tokens_per_s, r.bound.ratio
    );
    let _ = writeln!(
        s,
        "per card (decode, per token)     regime         weights        KV   kernels   busy ms   wait ms"
    );
    for c in &r.per_card {
        let part = match (&c.shard, c.layers) {
            (Some(sh), _) => format!("{}q/{}kv heads, ffn {}", sh.heads, sh.kv_heads, sh.ffn),
            (None, Some((a, b))) => format!("blocks {a}..{b}"),
            _ => String::new(),
        };
        let _ = writeln!(
            s,
            "  card{:<2} {:<24} {:<13} {:>10} {:>9} {:>9.0} {:>9.3} {:>9.3}",
            c.card,
            part,
            c.regime,
            mb(c.weight_bytes),
            mb(c.kv_bytes),
            c.kernels_per_token,
            c.busy_ms_per_token,
            c.wait_ms_per_token
        );
    }
    let l = &r.link;
    let _ = writeln!(
        s,
        "link      {:.0} payload bytes per token ({:.0} on the wire), utilisation max {:.4} mean {:.4}",
        l.payload_bytes_per_token, l.wire_bytes_per_token, l.max_utilisation, l.mean_utilisation
    );
    if r.collective.allreduces_per_token > 0.0 {
        let c = &r.collective;
        let _ = writeln!(
            s,
            "allreduce {:.0} per token, {:.0} bytes each, {:.0} in all: {:.3} ms per token on the critical path, {:.3} ms waiting for the slowest shard ({:.0} reduce kernels, {:.3} ms of them)",
            c.allreduces_per_token,
            c.bytes_per_token / c.allreduces_per_token,
            c.bytes_per_token,
            c.ms_per_token,
            c.imbalance_ms_per_token,
            c.reduce_kernels_per_token,
            c.reduce_ms_per_token
        );
    }
    if r.forward.transfers_per_token > 0.0 {
        let f = &r.forward;
        let _ = writeln!(
            s,
            "forward   {:.0} transfers per token, {:.0} bytes, {:.3} ms on the link",
            f.transfers_per_token, f.bytes_per_token, f.ms_per_token
        );
    }
    let _ = writeln!(s, "host      {:.1} s", r.host_seconds);
    s
}
