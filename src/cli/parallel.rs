//! The multi-card side of `emulate run`: `--cards`/`--parallel`/`--threads`, and the
//! report's lines for several cards.

use crate::config::Board;
use crate::experiment::model_run::{Cards, RunReport, Split};
use anyhow::Result;
use serde::Serialize;
use std::fmt::Write as _;

/// `--parallel`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ParallelChoice {
    /// Tensor parallel.
    Tp,
    /// Pipeline parallel.
    Pp,
    /// Run both, and the scheduler's rule, and compare.
    Auto,
}

/// The cards of a run: `count` (default: the board's `cards`), split as `parallel` asks
/// (tensor parallel by default; `auto` runs both), on `threads` host threads.
pub(super) fn cards(
    count: Option<usize>,
    parallel: Option<ParallelChoice>,
    threads: usize,
    board: &Board,
) -> Result<Cards> {
    let count = count.unwrap_or(board.cards as usize);
    crate::config::limits::check_cards(count as u64)
        .map_err(|e| anyhow::anyhow!("--cards {}: {e}", count))?;
    Ok(Cards {
        count,
        split: match parallel {
            Some(ParallelChoice::Pp) => Split::Pp,
            _ => Split::Tp,
        },
        topology: board.topology,
        threads,
        segment: 32 << 10,
    })
}

fn mb(b: u64) -> String {
    format!("{:.1} MB", b as f64 / 1e6)
}

/// The report's lines for several cards: each card's part and time, the link, the
/// AllReduces or the stage transfers. Empty for one card.
pub(super) fn text(r: &RunReport) -> String {
    let mut s = String::new();
    let Some(split) = r.parallel else {
        return s;
    };
    let _ = writeln!(
        s,
        "\n{} over {} cards ({:?}); per card, per decode token:",
        split.describe(),
        r.cards,
        r.topology.unwrap_or(crate::config::Topology::Ring)
    );
    let _ = writeln!(
        s,
        "  card  part                     regime           weights         KV   kernels   busy ms   wait ms  bound ms"
    );
    for c in &r.per_card {
        let part = match (&c.shard, c.layers) {
            (Some(sh), _) => format!("{}q/{}kv heads, ffn {}", sh.heads, sh.kv_heads, sh.ffn),
            (None, Some((a, b))) => format!("blocks {a}..{b}"),
            _ => String::new(),
        };
        let _ = writeln!(
            s,
            "  card{:<2} {:<24} {:<13} {:>10} {:>10} {:>9.0} {:>9.3} {:>9.3} {:>9.3}",
            c.card,
            part,
            c.regime,
            mb(c.weight_bytes),
            mb(c.kv_bytes),
            c.kernels_per_token,
            c.busy_ms_per_token,
            c.wait_ms_per_token,
            c.bound_ms_per_token
        );
    }
    if let Some(l) = &r.link {
        let _ = writeln!(
            s,
            "link      {:.0} payload bytes per token ({:.0} on the wire), utilisation max {:.4} mean {:.4}",
            l.payload_bytes_per_token, l.wire_bytes_per_token, l.max_utilisation, l.mean_utilisation
        );
    }
    if let Some(c) = r
        .collective
        .as_ref()
        .filter(|c| c.allreduces_per_token > 0.0)
    {
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
    if let Some(f) = r.forward.as_ref().filter(|f| f.transfers_per_token > 0.0) {
        let _ = writeln!(
            s,
            "forward   {:.0} transfers per token, {:.0} bytes, {:.3} ms on the link",
            f.transfers_per_token, f.bytes_per_token, f.ms_per_token
        );
    }
    s
}
