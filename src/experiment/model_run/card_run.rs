//! One card through a model run: its part of the model placed in its memory, its regime's
//! runtime state, its clock, and what its kernels measured.

use super::layout::{CardPart, Placement};
use super::node::{operands, run_node, NodeTiming};
use super::options::RunOptions;
use super::report::{OpSplit, StepTotals};
use crate::config::Board;
use crate::mem::regime::{self, Plan, RegimeParams, RegimeState};
use crate::stats::Stats;
use crate::system::card::Card;
use crate::system::collective::{CardOps, ReduceJob};
use crate::system::reduce::run_add;
use crate::units::{Frequency, Time};
use crate::workload::abi::TENSOR_BASE;
use crate::workload::graph::Node;
use crate::workload::regions::act;
use crate::workload::RegionKind;
use anyhow::{Context, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

/// Which step a card runs nodes of.
#[derive(Debug, Clone, Copy)]
pub(super) struct StepKind {
    /// Its index in the run (names it in errors).
    pub(super) index: usize,
    /// A decode step (else the prefill).
    pub(super) decode: bool,
    /// The run's last step (whose block-0 kernels the report lists).
    pub(super) last: bool,
}

/// One card's state through the run.
pub(super) struct CardRun {
    /// Its index.
    pub(super) index: usize,
    /// The model's trained context (RoPE's `n_ctx_orig`).
    pub(super) trained_context: u64,
    /// What it holds.
    pub(super) part: CardPart,
    pub(super) placement: Placement,
    pub(super) plan: Plan,
    pub(super) state: RegimeState,
    pub(super) card: Card,
    /// The card's emulated time: when its last kernel ended.
    pub(super) now: Time,
    /// The current step's totals on this card.
    pub(super) step: StepTotals,
    /// Decode steps: kernels, kernel time, host-link stalls.
    pub(super) decode_kernels: u64,
    pub(super) decode_busy: Time,
    pub(super) decode_stall: Time,
    /// The decode steps' bounds, summed step by step.
    pub(super) decode_bound_seconds: f64,
    /// Decode kernel time per op (summed over the steps).
    pub(super) by_op: BTreeMap<String, OpSplit>,
    /// Prefill kernel time per op.
    pub(super) prefill_by_op: BTreeMap<String, OpSplit>,
    /// Counters of every kernel the card ran.
    pub(super) stats: Stats,
    /// Counters of its decode kernels.
    pub(super) decode_stats: Stats,
    /// The last step's kernels of block 0 and of no block.
    pub(super) kernels: Vec<NodeTiming>,
}

impl CardRun {
    /// Card `index` of `board` holding `part`: its regime planned from its own footprint,
    /// its regions placed, its memory as large as its footprint.
    pub(super) fn new(
        board: &Board,
        index: usize,
        part: CardPart,
        trained_context: u64,
        opts: &RunOptions,
    ) -> Result<Self> {
        let reserved = TENSOR_BASE - board.memory.base;
        let params = RegimeParams::from_board(board).with_reserved(reserved);
        let plan = regime::plan(opts.memory_model, &part.regions, &params)?;
        let placement = Placement::new(&part.regions);
        let card = Card::new(
            board,
            placement.end - board.memory.base,
            false,
            !opts.exact,
            opts.max_kernel_cycles,
        );
        let state = RegimeState::new(&plan, &part.regions, &board.host_link)?;
        Ok(Self {
            index,
            trained_context,
            part,
            placement,
            plan,
            state,
            card,
            now: Time::ZERO,
            step: StepTotals::default(),
            decode_kernels: 0,
            decode_busy: Time::ZERO,
            decode_stall: Time::ZERO,
            decode_bound_seconds: 0.0,
            by_op: BTreeMap::new(),
            prefill_by_op: BTreeMap::new(),
            stats: Stats::new(),
            decode_stats: Stats::new(),
            kernels: Vec::new(),
        })
    }

    /// The address of region `name` in this card's memory.
    pub(super) fn addr(&self, name: &str) -> Result<u64> {
        self.placement
            .addr(name)
            .with_context(|| format!("card {}: region `{name}` has no place", self.index))
    }

    /// Streams weights in the order `nodes` (the card's first step) first read them.
    pub(super) fn set_weight_order(&mut self, nodes: &[Node]) -> Result<()> {
        let mut order = Vec::new();
        let mut seen = BTreeSet::new();
        for n in nodes {
            for o in &n.inputs {
                if o.kind == RegionKind::Weight && seen.insert(o.region.clone()) {
                    order.push(self.placement.ids[&o.region].0);
                }
            }
        }
        self.state.set_weight_order(&order)?;
        Ok(())
    }

    /// Writes a step's token ids and positions (`n_past ..`).
    pub(super) fn write_inputs(&mut self, ids: &[u32], n_past: u64) -> Result<()> {
        if let Some(a) = self.placement.addr(act::TOKENS) {
            let bytes: Vec<u8> = ids.iter().flat_map(|&i| (i as i32).to_le_bytes()).collect();
            self.card.write(a, &bytes)?;
        }
        if let Some(a) = self.placement.addr(act::POS) {
            let pos: Vec<u8> = (0..ids.len() as u64)
                .flat_map(|i| ((n_past + i) as i32).to_le_bytes())
                .collect();
            self.card.write(a, &pos)?;
        }
        Ok(())
    }

    /// `len` f32 values of row `row` of this card's logits buffer (rows of `len`).
    pub(super) fn logits(&mut self, row: u64, len: u64) -> Result<Vec<f32>> {
        let a = self.addr(act::LOGITS)?;
        let mut bytes = vec![0u8; (len * 4) as usize];
        self.card.read(a + row * len * 4, &mut bytes)?;
        Ok(bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    }

    /// Runs `nodes` in order from the card's time: each node's operands are touched in the
    /// regime (a host-link fetch may delay the kernel), then its kernel runs and advances
    /// the card's time by its cycles.
    pub(super) fn run_nodes(
        &mut self,
        nodes: &[Node],
        board: &Board,
        opts: &RunOptions,
        step: StepKind,
    ) -> Result<()> {
        let StepKind {
            index: step,
            decode,
            last,
        } = step;
        let clock = board.clock;
        let max_context = self.trained_context;
        for node in nodes {
            let mut ready = self.now;
            for (o, write) in operands(node) {
                let &(id, _, bytes) = self.placement.ids.get(&o.region).with_context(|| {
                    format!(
                        "node `{}` uses region `{}`, which has no place",
                        node.name, o.region
                    )
                })?;
                let len = o.extent.min(bytes.saturating_sub(o.offset));
                let t = self.state.touch(id, o.offset, len, write, self.now)?;
                ready = ready.max(t);
            }
            let stall = ready - self.now;
            self.step.host_link_stall_seconds += stall.secs();
            let placement = &self.placement;
            let (kr, timing) = run_node(
                &mut self.card,
                board,
                opts.matrix_unit,
                max_context,
                &|r| placement.addr(r),
                node,
            )
            .with_context(|| format!("step {step}, node `{}` ({})", node.name, node.kernel))?;
            let dur = clock.cycles_to_time(kr.cycles);
            self.now = ready + dur;
            let bound = timing.bound_seconds;
            if last && node.layer.is_none_or(|l| l == 0) {
                self.kernels.push(timing);
            }
            self.step.kernels += 1;
            self.step.reused += kr.reused as u64;
            self.step.flops += node.flops;
            self.step.bound_seconds += bound;
            self.stats.merge_under("", &kr.stats);
            if decode {
                self.decode_stats.merge_under("", &kr.stats);
                self.decode_kernels += 1;
                self.decode_busy += dur;
                self.decode_stall += stall;
            }
            let split = if decode {
                &mut self.by_op
            } else {
                &mut self.prefill_by_op
            };
            let e = split.entry(node.op.ggml_name().to_string()).or_default();
            e.count += 1;
            e.seconds += dur.secs();
            e.bound_seconds += bound;
            e.flops += node.flops;
            e.bytes += node.bytes_moved;
            if let Some(p) = &opts.progress {
                p.0.kernel_done();
            }
        }
        Ok(())
    }
}

/// The cards as the collective engine sees them during a run: their memories, and each
/// reduction run as the `k_eltwise` add on the card that receives it.
pub(super) struct CollectiveCards<'a> {
    pub(super) cards: &'a mut [CardRun],
    pub(super) program: PathBuf,
    pub(super) clock: Frequency,
    /// Reduce kernels run and their time, all cards.
    pub(super) kernels: u64,
    pub(super) busy: Time,
}

impl CardOps for CollectiveCards<'_> {
    fn read(&mut self, card: usize, addr: u64, buf: &mut [u8]) -> Result<()> {
        self.cards[card].card.read(addr, buf)
    }
    fn write(&mut self, card: usize, addr: u64, data: &[u8]) -> Result<()> {
        self.cards[card].card.write(addr, data)
    }
    fn reduce_f32(&mut self, card: usize, dst: u64, src: u64, bytes: u64) -> Result<Time> {
        let job = ReduceJob {
            card,
            dst,
            src,
            bytes,
        };
        let (dur, cycles) = run_add(&mut self.cards[card].card, &self.program, self.clock, &job)?;
        if cycles > 0 {
            self.kernels += 1;
            self.busy += dur;
        }
        Ok(dur)
    }
}
