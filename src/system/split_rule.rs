//! The scheduler's closed-form rule for splitting work over N cards (the GGML backend's
//! `pick_strategy`, Spanker `decision.rs`): tensor parallel (TP: weights sharded, the
//! activation all-reduced over the link) or model parallel (MP: weights whole on a card,
//! the activation sharded forward over the link).
//!
//! ```text
//! TP = W / (N . ddr) + A / ic
//! MP = W / ddr       + A / (N . ic)
//! ```
//!
//! TP wins ties, and N = 1 is TP. For a matrix-product tile (m, n, k) with `bpe` bytes per
//! element the rule takes, as the backend does, W = m . k . bpe (the weight bytes one output
//! row streams) and A = m . n . bpe (the activation the step moves). Both are bandwidth
//! terms only: compute and link latency are left out. The emulated runs (`emulate --parallel
//! auto`) measure what the rule only estimates; where they disagree, the report says so.

use crate::config::Board;
use serde::Serialize;

/// The two ways of splitting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// Tensor parallel: weights sharded, activations all-reduced.
    Tp,
    /// Model parallel: weights whole per card, activations forwarded (pipeline parallel
    /// when whole layers go to each card).
    Mp,
}

/// A matrix-product tile: `m` activation rows, `n` outputs, `k` inner dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Tile {
    /// Activation rows (tokens).
    pub m: u64,
    /// Output columns.
    pub n: u64,
    /// Inner (contraction) dimension.
    pub k: u64,
    /// Bytes per element.
    pub bytes_per_element: u64,
}

impl Tile {
    /// W as the rule takes it: m . k . bpe.
    pub fn weight_bytes(&self) -> u64 {
        self.m
            .saturating_mul(self.k)
            .saturating_mul(self.bytes_per_element)
    }

    /// A as the rule takes it: m . n . bpe.
    pub fn activation_bytes(&self) -> u64 {
        self.m
            .saturating_mul(self.n)
            .saturating_mul(self.bytes_per_element)
    }
}

/// The rule's figures and its choice.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RuleCosts {
    /// W in bytes.
    pub weight_bytes: u64,
    /// A in bytes.
    pub activation_bytes: u64,
    /// N.
    pub cards: u64,
    /// ddr, bytes per second of one card's memory.
    pub ddr_bytes_per_s: f64,
    /// ic, bytes per second of one link direction.
    pub ic_bytes_per_s: f64,
    /// W / (N ddr) + A / ic.
    pub tp_seconds: f64,
    /// W / ddr + A / (N ic).
    pub mp_seconds: f64,
    /// The cheaper; TP on a tie or N <= 1.
    pub choice: Strategy,
}

/// Bytes over a rate; an empty rate makes the term infinite (never a division by zero).
fn over(bytes: u64, rate: f64) -> f64 {
    if rate > 0.0 {
        bytes as f64 / rate
    } else {
        f64::INFINITY
    }
}

/// The rule for W and A bytes on `cards` cards with memory bandwidth `ddr` and link
/// bandwidth `ic` (bytes per second).
pub fn rule(weight_bytes: u64, activation_bytes: u64, cards: u64, ddr: f64, ic: f64) -> RuleCosts {
    let n = cards.max(1) as f64;
    let tp = over(weight_bytes, ddr) / n + over(activation_bytes, ic);
    let mp = over(weight_bytes, ddr) + over(activation_bytes, ic) / n;
    let choice = if cards <= 1 || tp <= mp || tp.is_nan() || mp.is_nan() {
        Strategy::Tp
    } else {
        Strategy::Mp
    };
    RuleCosts {
        weight_bytes,
        activation_bytes,
        cards,
        ddr_bytes_per_s: ddr,
        ic_bytes_per_s: ic,
        tp_seconds: tp,
        mp_seconds: mp,
        choice,
    }
}

/// The rule for `tile` on `cards` cards of `board`: ddr is the DDR peak (bus width x
/// transfer rate), ic the link's payload rate per direction after coding and framing.
pub fn rule_for_tile(tile: &Tile, cards: u64, board: &Board) -> RuleCosts {
    rule(
        tile.weight_bytes(),
        tile.activation_bytes(),
        cards,
        board.memory.peak_bytes_per_s(),
        board.intercard.goodput_bytes_per_s(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_board;

    #[test]
    fn tinyllama_decode_tile_on_four_cards_picks_mp() {
        let board = load_board("innerjib7ea", &[]).unwrap().board;
        let tile = Tile {
            m: 1,
            n: 5632,
            k: 2048,
            bytes_per_element: 2,
        };
        let r = rule_for_tile(&tile, 4, &board);
        // The board: DDR 64 bit x 300 MT/s = 2.4 GB/s; link 4 x 1.25 Gbps x 8/10 / 8 =
        // 500 MB/s coded, x 512/520 after framing.
        let ddr = 8.0 * 300e6;
        let ic = 500e6 * 512.0 / 520.0;
        assert_eq!(r.ddr_bytes_per_s, ddr);
        assert!((r.ic_bytes_per_s - ic).abs() < 1e-3);
        assert_eq!((r.weight_bytes, r.activation_bytes), (4096, 11264));
        // TP = 4096 / (4 x 2.4e9) + 11264 / 492.3e6 = 0.427 us + 22.88 us = 23.31 us
        // MP = 4096 / 2.4e9 + 11264 / (4 x 492.3e6) = 1.707 us + 5.72 us = 7.43 us
        let tp = 4096.0 / (4.0 * ddr) + 11264.0 / ic;
        let mp = 4096.0 / ddr + 11264.0 / (4.0 * ic);
        assert!((r.tp_seconds / tp - 1.0).abs() < 1e-12);
        assert!((r.mp_seconds / mp - 1.0).abs() < 1e-12);
        assert!(
            (r.tp_seconds - 23.306e-6).abs() < 0.01e-6,
            "{}",
            r.tp_seconds
        );
        assert!(
            (r.mp_seconds - 7.427e-6).abs() < 0.01e-6,
            "{}",
            r.mp_seconds
        );
        assert_eq!(r.choice, Strategy::Mp);
    }

    #[test]
    fn ties_and_one_card_pick_tp_and_weight_heavy_tiles_pick_tp() {
        // N = 1: both equal, TP.
        assert_eq!(rule(1000, 1000, 1, 1e9, 1e8).choice, Strategy::Tp);
        // An exact tie on N = 2: W/ddr = A/ic makes TP = MP.
        let r = rule(2000, 1000, 2, 2e9, 1e9);
        assert_eq!(r.tp_seconds, r.mp_seconds);
        assert_eq!(r.choice, Strategy::Tp);
        // Weight-heavy: sharding the weight read wins.
        assert_eq!(rule(1 << 24, 64, 4, 2.4e9, 4.9e8).choice, Strategy::Tp);
        // A crippled link makes the activation the cost to shard.
        assert_eq!(rule(1 << 20, 64, 4, 1e9, 1e3).choice, Strategy::Mp);
        // No bandwidth: infinite costs, no panic, TP.
        assert_eq!(rule(1, 1, 4, 0.0, 0.0).choice, Strategy::Tp);
    }
}
