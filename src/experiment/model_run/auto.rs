//! `--parallel auto`: the scheduler's TP/MP rule beside both emulated splits, and whether
//! the rule picks the split the emulation finds faster.

use super::layout::manifest_of;
use super::options::{Cards, RunOptions, Split};
use super::report::RunReport;
use super::run;
use crate::config::Board;
use crate::system::split_rule::{rule, rule_for_tile, RuleCosts, Strategy, Tile};
use crate::workload::RegionKind;
use anyhow::Result;
use serde::Serialize;

/// The rule's estimates, both emulated runs, and whether they agree.
#[derive(Debug, Clone, Serialize)]
pub struct AutoReport {
    /// The decode tile the rule is evaluated on (the FFN up projection of one token).
    pub rule_tile: Tile,
    /// The rule on that tile (W = m k bpe, A = m n bpe, as the scheduler takes them).
    pub rule: RuleCosts,
    /// The rule on the whole decode step: W = the model's weight bytes, A = the bytes TP
    /// all-reduces per token.
    pub rule_whole_step: RuleCosts,
    /// The emulated tensor-parallel run.
    pub tp: RunReport,
    /// The emulated pipeline-parallel run.
    pub pp: RunReport,
    /// The faster emulated split per decode token (TP on a tie).
    pub emulated_choice: Strategy,
    /// Whether the rule on the tile picks the emulated winner.
    pub agree: bool,
    /// One sentence on where they differ.
    pub verdict: String,
}

/// Runs the model split both ways over `opts.cards.count` cards and evaluates the rule.
pub fn run_auto(board: &Board, opts: &RunOptions) -> Result<AutoReport> {
    let m = manifest_of(opts)?.manifest;
    let a = &m.architecture;
    let tile = Tile {
        m: 1,
        n: a.ffn_size,
        k: a.hidden_size,
        bytes_per_element: 2,
    };
    let n = opts.cards.count as u64;
    let rule_tile = rule_for_tile(&tile, n, board);
    let weights: u64 = m
        .tensors
        .iter()
        .filter(|t| t.kind == RegionKind::Weight)
        .map(|t| t.bytes)
        .sum();
    let allreduce_bytes = 2 * u64::from(a.layers) * a.hidden_size * 4;
    let rule_whole_step = rule(
        weights,
        allreduce_bytes,
        n,
        board.memory.peak_bytes_per_s(),
        board.intercard.goodput_bytes_per_s(),
    );
    let with = |split| RunOptions {
        cards: Cards {
            split,
            ..opts.cards
        },
        ..opts.clone()
    };
    let tp = run(board, &with(Split::Tp))?;
    let pp = run(board, &with(Split::Pp))?;
    let (tp_ms, pp_ms) = (tp.decode.ms_per_token, pp.decode.ms_per_token);
    let emulated_choice = if tp_ms <= pp_ms {
        Strategy::Tp
    } else {
        Strategy::Mp
    };
    let agree = rule_tile.choice == emulated_choice;
    let name = |s: Strategy| match s {
        Strategy::Tp => "TP",
        Strategy::Mp => "PP (model parallel)",
    };
    let verdict = format!(
        "emulated: TP {tp_ms:.2} ms/token, PP {pp_ms:.2} ms/token, so {} is faster; the rule on the decode tile (m=1 n={} k={} bpe 2) picks {} (TP {:.2} us vs MP {:.2} us){}; on the whole step (W = {} weight bytes, A = {} AllReduce bytes per token) it picks {} (TP {:.3} ms vs MP {:.3} ms)",
        name(emulated_choice),
        tile.n,
        tile.k,
        name(rule_tile.choice),
        rule_tile.tp_seconds * 1e6,
        rule_tile.mp_seconds * 1e6,
        if agree { ", which agrees" } else { ", which disagrees: the tile's W counts one weight row (m k bpe) where a decode step streams every weight byte" },
        weights,
        allreduce_bytes,
        name(rule_whole_step.choice),
        rule_whole_step.tp_seconds * 1e3,
        rule_whole_step.mp_seconds * 1e3,
    );
    Ok(AutoReport {
        rule_tile: tile,
        rule: rule_tile,
        rule_whole_step,
        tp,
        pp,
        emulated_choice,
        agree,
        verdict,
    })
}
