//! A llama model run across N cards: tensor parallel (TP) or pipeline parallel (PP), every
//! card running its own kernels through the same machinery as the single-card run
//! ([`super::llm`]), with the cards' data moving over the modelled inter-card links.
//!
//! **TP** (Megatron-style): in every block, the Q, K, V, gate and up projections are split
//! by output columns (card r holds heads `[r H/N, (r+1) H/N)` and a near-equal FFN slice
//! of whole 256-element units: TinyLlama's 22 units go 5, 6, 5, 6 on 4 cards); the
//! attention output and down projections are split by input rows to match, so each card
//! produces a partial sum of the full-width projection, and an AllReduce over the ring (the
//! collective engine, reductions by the `k_eltwise` kernel on the cards) completes it before
//! the residual add. With fewer KV heads than cards, each KV head is replicated on the cards
//! whose query heads use it. The norms, residual adds and the token embedding are replicated;
//! the output head is split by vocabulary rows (each card computes its slice of the logits;
//! gathering N partial argmaxes for sampling is not modelled). Cards run in parallel on host
//! threads between the AllReduces.
//!
//! **PP**: the blocks are split into N contiguous stages (card 0 also embeds, the last card
//! also runs the output head). A step's activations (`act.x`, hidden x tokens of f32) are
//! copied stage to stage over the link; a decode token passes through the stages in
//! sequence, and the sampled token id goes back from the last card to card 0 before the
//! next step starts (no micro-batching: one sequence, so PP buys capacity, not speed).
//!
//! Each card's regions are only what it holds (its weight shards or layers, its KV heads or
//! layers, the activation buffers), and that footprint chooses the card's own memory regime.

use super::card::{kernel_dir, Card};
use super::cards::run_add;
use super::collective::{self, Buffers, CardOps, Collective, ReduceJob};
use super::llm::{
    argmax, check_prompt, node_bound_seconds, operands, program_for, run_shape, Bound, Placement,
    RunOptions, DEFAULT_MANIFEST,
};
use super::parallel::{rule, rule_for_tile, RuleCosts, Strategy, Tile};
use super::topology::Fabric;
use crate::config::{Board, Topology};
use crate::link::intercard::LinkParams;
use crate::mem::regime::{self, Plan, RegimeParams, RegimeState, RegionId};
use crate::units::{Frequency, Time};
use crate::workload::abi::TENSOR_BASE;
use crate::workload::graph::{self, Graph, Node, Shard};
use crate::workload::regions::{act, RegionParams, StepShape};
use crate::workload::weights::{synthetic, Rng, PIECE_BYTES};
use crate::workload::{bind, load_manifest, Manifest, RegionKind, RegionSpec};
use anyhow::{bail, Context, Result};
use serde::Serialize;
use std::collections::BTreeSet;
use std::path::PathBuf;

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

/// The split of a parallel run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    /// Tensor parallel.
    Tp,
    /// Pipeline parallel.
    Pp,
}

/// What to run.
#[derive(Debug, Clone)]
pub struct ParallelOptions {
    /// The model run's options (manifest, context, prompt, tokens, regime, ...).
    pub run: RunOptions,
    /// Cards.
    pub cards: usize,
    /// Wiring.
    pub topology: Topology,
    /// Host threads for the cards (TP).
    pub threads: usize,
    /// AllReduce pipelining segment in bytes.
    pub segment: u64,
}

/// One card of a parallel run.
#[derive(Debug, Clone, Serialize)]
pub struct CardSummary {
    /// Index.
    pub card: usize,
    /// Its memory regime.
    pub regime: String,
    /// Why.
    pub regime_reason: String,
    /// Weight bytes it holds.
    pub weight_bytes: u64,
    /// KV cache bytes it holds.
    pub kv_bytes: u64,
    /// Activation bytes.
    pub activation_bytes: u64,
    /// Query heads, KV heads and FFN width of its shard (TP).
    pub shard: Option<Shard>,
    /// First and one-past-last block (PP).
    pub layers: Option<(u32, u32)>,
    /// Kernels per decode token.
    pub kernels_per_token: f64,
    /// Kernel time per decode token, ms.
    pub busy_ms_per_token: f64,
    /// Host-link stalls per decode token, ms.
    pub host_link_stall_ms_per_token: f64,
    /// Decode time minus kernel and host-link time: waiting for the link or other cards.
    pub wait_ms_per_token: f64,
}

/// The inter-card link over the decode steps.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LinkUse {
    /// Payload bytes per decode token, all channels.
    pub payload_bytes_per_token: f64,
    /// Wire bytes (with framing) per decode token.
    pub wire_bytes_per_token: f64,
    /// Busy / decode time of the busiest channel.
    pub max_utilisation: f64,
    /// Mean over channels that carried data.
    pub mean_utilisation: f64,
}

/// The AllReduces (TP) over the decode steps.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CollectiveUse {
    /// AllReduces per decode token.
    pub allreduces_per_token: f64,
    /// Sum of their buffer sizes per token (S per AllReduce).
    pub bytes_per_token: f64,
    /// Time from the last card entering to the last card leaving (the communication on the
    /// critical path), summed, ms per token.
    pub ms_per_token: f64,
    /// Time from the first card entering to the last card entering (cards waiting for the
    /// slowest shard: load imbalance), summed, ms per token.
    pub imbalance_ms_per_token: f64,
    /// Reduce kernels per token (all cards).
    pub reduce_kernels_per_token: f64,
    /// Reduce kernel time per token (all cards), ms.
    pub reduce_ms_per_token: f64,
}

/// Stage-to-stage activation transfers (PP) over the decode steps.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ForwardUse {
    /// Transfers per token (activations forward and the token id back).
    pub transfers_per_token: f64,
    /// Payload bytes per token.
    pub bytes_per_token: f64,
    /// Time from send to arrival, summed, ms per token.
    pub ms_per_token: f64,
}

/// Everything a parallel run measured.
#[derive(Debug, Clone, Serialize)]
pub struct ParallelReport {
    /// Board name.
    pub board: String,
    /// Manifest name.
    pub manifest: String,
    /// The split.
    pub parallel: Split,
    /// Cards.
    pub cards: usize,
    /// Wiring.
    pub topology: Topology,
    /// Context, prompt and decode tokens.
    pub context: u64,
    /// Prompt tokens.
    pub prompt: u64,
    /// Decode tokens.
    pub tokens: u64,
    /// Element type of the KV cache.
    pub kv_type: crate::workload::GgmlType,
    /// Time to first token (the prefill), ms.
    pub ttft_ms: f64,
    /// Mean decode time per token, ms.
    pub ms_per_token: f64,
    /// Tokens per second.
    pub tokens_per_s: f64,
    /// Closed-form bound of a decode token: the kernels' per-node rooflines, summed per
    /// card; the slowest card's sum with tensor parallel (the cards work at once), all
    /// cards' with pipeline parallel (the stages work in turn). Link transfers are not in
    /// it, so it is a lower bound.
    pub bound: Bound,
    /// Each decode step, ms.
    pub decode_steps_ms: Vec<f64>,
    /// Per card.
    pub per_card: Vec<CardSummary>,
    /// The link.
    pub link: LinkUse,
    /// AllReduces (TP).
    pub collective: CollectiveUse,
    /// Activation forwarding (PP).
    pub forward: ForwardUse,
    /// Host wall time.
    pub host_seconds: f64,
}

/// `--parallel auto`: the rule's estimates, both emulated runs, and whether they agree.
#[derive(Debug, Clone, Serialize)]
pub struct AutoReport {
    /// The decode tile the rule is evaluated on (the FFN up projection of one token).
    pub rule_tile: Tile,
    /// The rule on that tile (W = m k bpe, A = m n bpe, as the scheduler takes them).
    pub rule: RuleCosts,
    /// The rule on the whole decode step: W = the model's weight bytes, A = the bytes TP
    /// all-reduces per token.
    pub rule_whole_step: RuleCosts,
    /// The emulated TP run.
    pub tp: ParallelReport,
    /// The emulated PP run.
    pub pp: ParallelReport,
    /// The faster emulated split per decode token (TP on a tie).
    pub emulated_choice: Strategy,
    /// Whether the rule on the tile picks the emulated winner.
    pub agree: bool,
    /// One sentence on where they differ.
    pub verdict: String,
}

/// Splits `total` into `parts` near-equal runs of whole `unit`s: (first, length).
fn split_units(total: u64, unit: u64, parts: usize) -> Result<Vec<(u64, u64)>> {
    let p = parts as u64;
    if unit == 0 || !total.is_multiple_of(unit) || total / unit < p {
        bail!("cannot split {total} into {parts} parts of whole {unit}-element units");
    }
    let units = total / unit;
    Ok((0..p)
        .map(|i| {
            let lo = units * i / p;
            let hi = units * (i + 1) / p;
            (lo * unit, (hi - lo) * unit)
        })
        .collect())
}

/// A step's token ids as little-endian i32: `n` seeded random ids for the prompt (no
/// `previous`), else the previous step's argmax.
fn step_ids(rng: &mut Rng, n: u64, vocab: u64, previous: Option<u32>) -> Vec<u8> {
    match previous {
        Some(id) => (0..n).flat_map(|_| (id as i32).to_le_bytes()).collect(),
        None => (0..n)
            .flat_map(|_| ((rng.next_u64() % vocab) as i32).to_le_bytes())
            .collect(),
    }
}

/// A copy of `m` whose tensors are card `r`'s TP shards, with the card's shard dimensions.
fn tp_manifest(m: &Manifest, r: usize, n: usize) -> Result<(Manifest, Shard)> {
    let a = &m.architecture;
    let (heads, kvh) = (u64::from(a.heads), u64::from(a.kv_heads));
    let nn = n as u64;
    if !heads.is_multiple_of(nn) {
        bail!("tensor parallel over {n} cards needs the {heads} attention heads to divide evenly");
    }
    let hq = heads / nn;
    let kv_local = if kvh >= nn {
        if !kvh.is_multiple_of(nn) {
            bail!("tensor parallel over {n} cards needs the {kvh} KV heads to divide evenly");
        }
        kvh / nn
    } else {
        if !nn.is_multiple_of(kvh) {
            bail!(
                "tensor parallel over {n} cards: {kvh} KV heads can be replicated only when they divide the card count"
            );
        }
        1
    };
    if !hq.is_multiple_of(kv_local) {
        bail!("tensor parallel over {n} cards: {hq} query heads per card do not group onto {kv_local} KV heads");
    }
    let hd = a.head_dim();
    let ffn = split_units(a.ffn_size, 256, n)
        .with_context(|| format!("tensor parallel over {n} cards: FFN {}", a.ffn_size))?[r]
        .1;
    let vocab = split_units(a.vocab_size, 1, n)?[r].1;
    let shard = Shard {
        heads: hq,
        kv_heads: kv_local,
        ffn,
    };
    let mut out = m.clone();
    for t in &mut out.tensors {
        let base = t.name.rsplit_once('.').map_or("", |x| x.0);
        let kind = base.rsplit('.').next().unwrap_or("");
        let shape = match (t.layer.is_some(), kind) {
            (true, "attn_q") => vec![t.shape[0], hq * hd],
            (true, "attn_k") | (true, "attn_v") => vec![t.shape[0], kv_local * hd],
            (true, "attn_output") => vec![hq * hd, t.shape[1]],
            (true, "ffn_gate") | (true, "ffn_up") => vec![t.shape[0], ffn],
            (true, "ffn_down") => vec![ffn, t.shape[1]],
            (false, "output") => vec![t.shape[0], vocab],
            _ => continue,
        };
        t.bytes = t.dtype.tensor_bytes(&shape).map_err(|e| {
            anyhow::anyhow!(
                "tensor parallel over {n} cards: the shard {shape:?} of `{}` ({}) is not whole blocks: {e}",
                t.name,
                t.dtype
            )
        })?;
        t.shape = shape;
    }
    Ok((out, shard))
}

/// Card r's blocks under PP: near-equal contiguous runs.
fn pp_layers(layers: u32, n: usize) -> Result<Vec<(u32, u32)>> {
    Ok(split_units(u64::from(layers), 1, n)
        .with_context(|| format!("pipeline parallel: {layers} blocks over {n} cards"))?
        .into_iter()
        .map(|(lo, len)| (lo as u32, (lo + len) as u32))
        .collect())
}

/// One card's state through the run.
struct Runner {
    card: Card,
    manifest: Manifest,
    placement: Placement,
    plan: Plan,
    state: RegimeState,
    rng: Rng,
    now: Time,
    shard: Option<Shard>,
    layers: Option<(u32, u32)>,
    /// Decode-step counters.
    kernels: u64,
    busy: Time,
    stall: Time,
    /// Closed-form bound of this card's decode kernels, seconds (summed per node).
    bound_seconds: f64,
}

impl Runner {
    fn new(
        board: &Board,
        m: Manifest,
        regions: Vec<RegionSpec>,
        opts: &RunOptions,
    ) -> Result<Self> {
        let reserved = TENSOR_BASE - board.memory.base;
        let params = RegimeParams::from_board(board).with_reserved(reserved);
        let plan = regime::plan(opts.memory_model, &regions, &params)?;
        let state = RegimeState::new(&plan, &regions, &board.host_link)?;
        let placement = Placement::new(&regions);
        let mut card = Card::new(
            board,
            placement.end - board.memory.base,
            false,
            !opts.exact,
            opts.max_kernel_cycles,
        );
        let mut rng = Rng::new(opts.seed);
        for r in regions.iter().filter(|r| r.kind == RegionKind::Weight) {
            let t = m
                .tensor(&r.name)
                .with_context(|| format!("weight region `{}` is not a manifest tensor", r.name))?;
            let addr = placement.addr(&r.name).expect("placed above");
            let block = t.dtype.block_bytes();
            let piece = PIECE_BYTES / block * block;
            let mut off = 0;
            while off < r.bytes {
                let n = piece.min(r.bytes - off);
                card.write(addr + off, &synthetic(t.dtype, n as usize, &mut rng))?;
                off += n;
            }
        }
        Ok(Self {
            card,
            manifest: m,
            placement,
            plan,
            state,
            rng,
            now: Time::ZERO,
            shard: None,
            layers: None,
            kernels: 0,
            busy: Time::ZERO,
            stall: Time::ZERO,
            bound_seconds: 0.0,
        })
    }

    /// Streams weights in the order the prefill first reads them.
    fn set_weight_order(&mut self, prefill: &Graph) -> Result<()> {
        let mut order = Vec::new();
        let mut seen = BTreeSet::new();
        for n in &prefill.nodes {
            for o in &n.inputs {
                if o.kind == RegionKind::Weight && seen.insert(o.region.clone()) {
                    let id: RegionId = self.placement.ids[&o.region].0;
                    order.push(id);
                }
            }
        }
        self.state.set_weight_order(&order)?;
        Ok(())
    }

    /// Writes the step's token ids and positions.
    /// The first `vocab` f32 values of this card's logits buffer (the last position's row of
    /// its output shard).
    fn logits(&mut self, vocab: u64) -> Result<Vec<f32>> {
        let a = self
            .placement
            .addr(act::LOGITS)
            .context("the model has no logits buffer")?;
        let mut row = vec![0u8; (vocab * 4) as usize];
        self.card.read(a, &mut row)?;
        Ok(row
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    }

    fn step_inputs(&mut self, g: &Graph, ids: &[u8]) -> Result<()> {
        if let Some(a) = self.placement.addr(act::TOKENS) {
            self.card.write(a, ids)?;
        }
        if let Some(a) = self.placement.addr(act::POS) {
            let pos: Vec<u8> = (0..g.n_tokens)
                .flat_map(|i| ((g.n_past + i) as i32).to_le_bytes())
                .collect();
            self.card.write(a, &pos)?;
        }
        Ok(())
    }

    /// Runs `nodes` in order from `self.now`.
    fn run_nodes(
        &mut self,
        nodes: &[Node],
        board: &Board,
        opts: &RunOptions,
        decode: bool,
    ) -> Result<()> {
        let clock = board.clock;
        for node in nodes {
            let mut ready = self.now;
            for (o, write) in operands(node) {
                let &(id, _, bytes) = self.placement.ids.get(&o.region).with_context(|| {
                    format!(
                        "node `{}` uses region `{}`, which has no place on this card",
                        node.name, o.region
                    )
                })?;
                let len = o.extent.min(bytes.saturating_sub(o.offset));
                let t = self.state.touch(id, o.offset, len, write, self.now)?;
                ready = ready.max(t);
            }
            let placement = &self.placement;
            let desc = bind::descriptor(node, self.manifest.architecture.max_context, &|r| {
                placement.addr(r)
            })
            .map_err(|e| anyhow::anyhow!("{}", e.0))?;
            let program: PathBuf = program_for(node, opts.matrix_unit)?;
            let kr = self
                .card
                .run(&program, &desc)
                .with_context(|| format!("node `{}` ({})", node.name, node.kernel))?;
            let dur = clock.cycles_to_time(kr.cycles);
            if decode {
                self.kernels += 1;
                self.busy += dur;
                self.stall += ready - self.now;
                self.bound_seconds += node_bound_seconds(board, node, opts.matrix_unit);
            }
            self.now = ready + dur;
        }
        Ok(())
    }
}

/// The cards as the collective engine sees them during a run.
struct RunnerOps<'a> {
    runners: &'a mut [Runner],
    program: PathBuf,
    clock: Frequency,
    kernels: u64,
    busy: Time,
}

impl CardOps for RunnerOps<'_> {
    fn read(&mut self, card: usize, addr: u64, buf: &mut [u8]) -> Result<()> {
        self.runners[card].card.read(addr, buf)
    }
    fn write(&mut self, card: usize, addr: u64, data: &[u8]) -> Result<()> {
        self.runners[card].card.write(addr, data)
    }
    fn reduce_f32(&mut self, card: usize, dst: u64, src: u64, bytes: u64) -> Result<Time> {
        let job = ReduceJob {
            card,
            dst,
            src,
            bytes,
        };
        let (dur, cycles) = run_add(
            &mut self.runners[card].card,
            &self.program,
            self.clock,
            &job,
        )?;
        if cycles > 0 {
            self.kernels += 1;
            self.busy += dur;
        }
        Ok(dur)
    }
}

/// Runs each card's nodes from its own time, on up to `threads` host threads. Cards are
/// independent between synchronisation points, so the result does not depend on `threads`.
fn run_all(
    runners: &mut [Runner],
    work: &[&[Node]],
    board: &Board,
    opts: &RunOptions,
    decode: bool,
    threads: usize,
) -> Result<()> {
    let n = runners.len();
    let threads = threads.clamp(1, n.max(1));
    if threads == 1 {
        for (r, w) in runners.iter_mut().zip(work) {
            r.run_nodes(w, board, opts, decode)?;
        }
        return Ok(());
    }
    let per = n.div_ceil(threads);
    let results: Vec<Result<()>> = std::thread::scope(|s| {
        let handles: Vec<_> = runners
            .chunks_mut(per)
            .zip(work.chunks(per))
            .map(|(rs, ws)| {
                s.spawn(move || {
                    for (r, w) in rs.iter_mut().zip(ws) {
                        r.run_nodes(w, board, opts, decode)?;
                    }
                    Ok(())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a card thread panicked")))
            })
            .collect()
    });
    // Joined in card order: the first error reported is the lowest card's.
    results.into_iter().collect()
}

/// Link counters summed over channels: (payload, wire, busy ns per channel).
fn link_snapshot(f: &Fabric) -> Vec<(String, f64, f64, f64)> {
    let s = f.stats(Time(1));
    let mut out = Vec::new();
    for (path, c) in s.iter() {
        if let Some(ch) = path.strip_suffix(".tx_bytes") {
            out.push((
                ch.to_string(),
                c.value,
                s.get(&format!("{ch}.wire_bytes")).unwrap_or(0.0),
                s.get(&format!("{ch}.busy_ns")).unwrap_or(0.0),
            ));
        }
    }
    out
}

fn link_use(
    before: &[(String, f64, f64, f64)],
    after: &Fabric,
    elapsed: Time,
    tokens: f64,
) -> LinkUse {
    let after = link_snapshot(after);
    let mut u = LinkUse::default();
    let (mut used, mut sum) = (0, 0.0);
    for (name, p, w, b) in &after {
        let (p0, w0, b0) = before
            .iter()
            .find(|x| &x.0 == name)
            .map_or((0.0, 0.0, 0.0), |x| (x.1, x.2, x.3));
        let (dp, dw, db) = (p - p0, w - w0, b - b0);
        u.payload_bytes_per_token += dp / tokens;
        u.wire_bytes_per_token += dw / tokens;
        if dp > 0.0 && elapsed.fs() > 0 {
            let util = db * 1e-9 / elapsed.secs();
            used += 1;
            sum += util;
            u.max_utilisation = u.max_utilisation.max(util);
        }
    }
    if used > 0 {
        u.mean_utilisation = sum / used as f64;
    }
    u
}

fn manifest_name(opts: &RunOptions) -> &str {
    opts.manifest.as_deref().unwrap_or(DEFAULT_MANIFEST)
}

/// Loads and checks the manifest and the run's shape.
fn prepare(opts: &RunOptions) -> Result<(Manifest, RegionParams)> {
    check_prompt(opts)?;
    if opts.weights.is_some() {
        bail!("--weights (a GGUF's real weights) is not supported by parallel runs yet: they use synthetic weights");
    }
    let m = load_manifest(manifest_name(opts))?;
    let rp = run_shape(&m, opts)?;
    Ok((m, rp))
}

fn steps(opts: &RunOptions) -> Vec<StepShape> {
    std::iter::once(StepShape {
        n_tokens: opts.prompt,
        n_past: 0,
    })
    .chain((0..opts.tokens).map(|t| StepShape {
        n_tokens: 1,
        n_past: opts.prompt + t,
    }))
    .collect()
}

/// The name of the receive area TP adds for its AllReduces.
const RECV: &str = "act.allreduce_recv";

/// Runs the model tensor parallel over `p.cards` cards.
pub fn run_tp(board: &Board, p: &ParallelOptions) -> Result<ParallelReport> {
    let started = std::time::Instant::now();
    let opts = &p.run;
    let n = p.cards;
    if n == 0 {
        bail!("--cards must be at least 1");
    }
    let (m, rp) = prepare(opts)?;
    let a = m.architecture.clone();
    let kv = opts.kv_type;
    let hd = a.head_dim();
    let mut runners = Vec::with_capacity(n);
    for r in 0..n {
        let (mr, shard) = tp_manifest(&m, r, n)?;
        let mut regions =
            crate::workload::regions(&mr, &rp).map_err(|e| anyhow::anyhow!("{}", e.0))?;
        let kv_bytes = kv
            .tensor_bytes(&[shard.kv_heads * hd, opts.context])
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        for reg in regions.iter_mut().filter(|x| x.kind == RegionKind::Kv) {
            reg.bytes = kv_bytes;
        }
        if n > 1 {
            regions.push(RegionSpec {
                name: RECV.into(),
                kind: RegionKind::Activation,
                bytes: a.hidden_size * opts.prompt.max(1) * 4,
                layer: None,
            });
        }
        let mut runner =
            Runner::new(board, mr, regions, opts).with_context(|| format!("card {r} of {n}"))?;
        runner.shard = Some(shard);
        runners.push(runner);
    }
    let mut fabric = Fabric::new(n, p.topology, LinkParams::from_config(&board.intercard));
    let clock = board.clock;
    let mut coll = CollectiveUse::default();
    let mut reduce_kernels = 0u64;
    let mut reduce_busy = Time::ZERO;
    let mut step_ms = Vec::new();
    let mut ttft = 0.0;
    let mut link_before = Vec::new();
    let mut decode_start = Time::ZERO;
    let vocab_split = split_units(a.vocab_size, 1, n)?;
    let mut next_id = None;
    for (si, s) in steps(opts).into_iter().enumerate() {
        let decode = si > 0;
        if si == 1 {
            link_before = link_snapshot(&fabric);
            decode_start = runners.iter().map(|r| r.now).max().unwrap_or_default();
        }
        let graphs: Vec<Graph> = runners
            .iter()
            .map(|r| {
                graph::build_shard(&r.manifest, s, opts.context, kv, r.shard.expect("tp"))
                    .map_err(|e| anyhow::anyhow!("{}", e.0))
            })
            .collect::<Result<_>>()?;
        if si == 0 {
            for (r, g) in runners.iter_mut().zip(&graphs) {
                r.set_weight_order(g)?;
            }
        }
        // Token ids, the same on every card: the prompt from card 0's generator, then each
        // decode step feeds the previous step's argmax over the whole vocabulary (greedy, as
        // the single-card run).
        let ids = step_ids(&mut runners[0].rng, s.n_tokens, a.vocab_size, next_id);
        for (r, g) in runners.iter_mut().zip(&graphs) {
            r.step_inputs(g, &ids)?;
        }
        // Every card enters the step at the same time (the token is known to all).
        let step_start = runners.iter().map(|r| r.now).max().unwrap_or_default();
        for r in runners.iter_mut() {
            r.now = step_start;
        }
        // Cut the node lists after each row-split projection: the synchronisation points.
        let cuts: Vec<Vec<usize>> = graphs
            .iter()
            .map(|g| {
                g.nodes
                    .iter()
                    .enumerate()
                    .filter(|(_, nd)| {
                        nd.layer.is_some()
                            && (nd.name.ends_with(".attn_output") || nd.name.ends_with(".ffn_down"))
                    })
                    .map(|(i, _)| i + 1)
                    .collect()
            })
            .collect();
        let segments = cuts[0].len() + 1;
        if cuts.iter().any(|c| c.len() + 1 != segments) {
            bail!("the cards' graphs have different synchronisation points");
        }
        let bytes = a.hidden_size * s.n_tokens * 4;
        for seg in 0..segments {
            let work: Vec<&[Node]> = graphs
                .iter()
                .zip(&cuts)
                .map(|(g, c)| {
                    let lo = if seg == 0 { 0 } else { c[seg - 1] };
                    let hi = if seg < c.len() { c[seg] } else { g.nodes.len() };
                    &g.nodes[lo..hi]
                })
                .collect();
            run_all(&mut runners, &work, board, opts, decode, p.threads)
                .with_context(|| format!("step {si}"))?;
            if seg < segments - 1 && n > 1 {
                let buffers: Vec<Buffers> = runners
                    .iter()
                    .map(|r| Buffers {
                        data: r.placement.addr(act::PROJ).expect("act.proj is placed"),
                        recv: r.placement.addr(RECV).expect("receive area is placed"),
                    })
                    .collect();
                let start: Vec<Time> = runners.iter().map(|r| r.now).collect();
                let mut ops = RunnerOps {
                    runners: &mut runners,
                    program: kernel_dir().join("k_eltwise.elf"),
                    clock,
                    kernels: 0,
                    busy: Time::ZERO,
                };
                let t = collective::run_from(
                    Collective::Allreduce,
                    &mut fabric,
                    &mut ops,
                    &buffers,
                    bytes,
                    p.segment,
                    &start,
                )
                .with_context(|| format!("step {si}: AllReduce after segment {seg}"))?;
                let (k, b) = (ops.kernels, ops.busy);
                for (r, &d) in runners.iter_mut().zip(&t.card_done) {
                    r.now = d;
                }
                if decode {
                    let first_in = start.iter().copied().min().unwrap_or_default();
                    let last_in = start.iter().copied().max().unwrap_or_default();
                    let out = t.card_done.iter().copied().max().unwrap_or_default();
                    coll.allreduces_per_token += 1.0;
                    coll.bytes_per_token += bytes as f64;
                    coll.ms_per_token += (out - last_in).secs() * 1e3;
                    coll.imbalance_ms_per_token += (last_in - first_in).secs() * 1e3;
                    reduce_kernels += k;
                    reduce_busy += b;
                }
            }
        }
        // Each card holds its slice of the vocabulary, in card order.
        let mut row = Vec::with_capacity(a.vocab_size as usize);
        for (r, &(_, len)) in runners.iter_mut().zip(&vocab_split) {
            row.extend(r.logits(len)?);
        }
        next_id = Some(argmax(&row));
        let end = runners.iter().map(|r| r.now).max().unwrap_or_default();
        let ms = (end - step_start).secs() * 1e3;
        if decode {
            step_ms.push(ms);
        } else {
            ttft = ms;
        }
    }
    let end = runners.iter().map(|r| r.now).max().unwrap_or_default();
    let tokens = (opts.tokens.max(1)) as f64;
    coll.allreduces_per_token /= tokens;
    coll.bytes_per_token /= tokens;
    coll.ms_per_token /= tokens;
    coll.imbalance_ms_per_token /= tokens;
    coll.reduce_kernels_per_token = reduce_kernels as f64 / tokens;
    coll.reduce_ms_per_token = reduce_busy.secs() * 1e3 / tokens;
    let link = if opts.tokens > 0 {
        link_use(&link_before, &fabric, end - decode_start, tokens)
    } else {
        LinkUse::default()
    };
    Ok(report(
        board,
        &m,
        Split::Tp,
        p,
        &runners,
        ttft,
        step_ms,
        link,
        coll,
        ForwardUse::default(),
        started,
    ))
}

/// Runs the model pipeline parallel over `p.cards` cards.
pub fn run_pp(board: &Board, p: &ParallelOptions) -> Result<ParallelReport> {
    let started = std::time::Instant::now();
    let opts = &p.run;
    let n = p.cards;
    if n == 0 {
        bail!("--cards must be at least 1");
    }
    let (m, rp) = prepare(opts)?;
    let a = m.architecture.clone();
    let kv = opts.kv_type;
    let stages = pp_layers(a.layers, n)?;
    let all = crate::workload::regions(&m, &rp).map_err(|e| anyhow::anyhow!("{}", e.0))?;
    let head_weight = if m.tensor("output.weight").is_some() {
        "output.weight"
    } else {
        "token_embd.weight"
    };
    let mut runners = Vec::with_capacity(n);
    for (r, &(l0, l1)) in stages.iter().enumerate() {
        let (first, last) = (r == 0, r + 1 == n);
        let keep = |reg: &RegionSpec| match (reg.kind, reg.layer) {
            (RegionKind::Activation, _) => true,
            (_, Some(l)) => l >= l0 && l < l1,
            (_, None) => {
                (first && reg.name == "token_embd.weight")
                    || (last && (reg.name == "output_norm.weight" || reg.name == head_weight))
            }
        };
        let regions: Vec<RegionSpec> = all.iter().filter(|x| keep(x)).cloned().collect();
        let mut runner = Runner::new(board, m.clone(), regions, opts)
            .with_context(|| format!("card {r} of {n}"))?;
        runner.layers = Some((l0, l1));
        runners.push(runner);
    }
    let mut fabric = Fabric::new(n, p.topology, LinkParams::from_config(&board.intercard));
    let mut fwd = ForwardUse::default();
    let mut step_ms = Vec::new();
    let mut ttft = 0.0;
    let mut link_before = Vec::new();
    let mut decode_start = Time::ZERO;
    let mut step_start = Time::ZERO;
    let mut next_id = None;
    for (si, s) in steps(opts).into_iter().enumerate() {
        let decode = si > 0;
        if si == 1 {
            link_before = link_snapshot(&fabric);
            decode_start = step_start;
        }
        let g = graph::build(&m, s, opts.context, kv).map_err(|e| anyhow::anyhow!("{}", e.0))?;
        let ids = step_ids(&mut runners[0].rng, s.n_tokens, a.vocab_size, next_id);
        runners[0].now = runners[0].now.max(step_start);
        for r in 0..n {
            let (l0, l1) = stages[r];
            let (first, last) = (r == 0, r + 1 == n);
            let nodes: Vec<Node> = g
                .nodes
                .iter()
                .filter(|nd| match nd.layer {
                    Some(l) => l >= l0 && l < l1,
                    None if nd.name == "inp_embd" => first,
                    None => last,
                })
                .cloned()
                .collect();
            let runner = &mut runners[r];
            if si == 0 {
                let sub = Graph {
                    nodes: nodes.clone(),
                    ..g.clone()
                };
                runner.set_weight_order(&sub)?;
            }
            runner.step_inputs(&g, &ids)?;
            runner
                .run_nodes(&nodes, board, opts, decode)
                .with_context(|| format!("step {si}, card {r}"))?;
            // Forward the residual stream to the next stage, or the token id back to card 0.
            let (to, bytes) = if last {
                (0, 4)
            } else {
                (r + 1, a.hidden_size * s.n_tokens * 4)
            };
            if n > 1 {
                let x = runners[r].placement.addr(act::X).expect("act.x is placed");
                let mut buf = vec![0u8; bytes as usize];
                if !last {
                    runners[r].card.read(x, &mut buf)?;
                    let dst = runners[to].placement.addr(act::X).expect("act.x is placed");
                    runners[to].card.write(dst, &buf)?;
                }
                let sent = runners[r].now;
                let ch = fabric
                    .channel(r, to)
                    .with_context(|| format!("no cable from card {r} to card {to}"))?;
                let at = ch.send(bytes, sent);
                runners[to].now = runners[to].now.max(at);
                if decode {
                    fwd.transfers_per_token += 1.0;
                    fwd.bytes_per_token += bytes as f64;
                    fwd.ms_per_token += (at - sent).secs() * 1e3;
                }
            }
        }
        // The last stage holds the whole vocabulary's logits: its argmax is the next token.
        next_id = Some(argmax(&runners[n - 1].logits(a.vocab_size)?));
        // The step ends when the token id is back on card 0 (or the last card is done).
        let end = if n > 1 {
            runners[0].now
        } else {
            runners[n - 1].now
        };
        let ms = (end - step_start).secs() * 1e3;
        if decode {
            step_ms.push(ms);
        } else {
            ttft = ms;
        }
        step_start = end;
    }
    let tokens = (opts.tokens.max(1)) as f64;
    fwd.transfers_per_token /= tokens;
    fwd.bytes_per_token /= tokens;
    fwd.ms_per_token /= tokens;
    let link = if opts.tokens > 0 {
        link_use(&link_before, &fabric, step_start - decode_start, tokens)
    } else {
        LinkUse::default()
    };
    Ok(report(
        board,
        &m,
        Split::Pp,
        p,
        &runners,
        ttft,
        step_ms,
        link,
        CollectiveUse::default(),
        fwd,
        started,
    ))
}

#[allow(clippy::too_many_arguments)]
fn report(
    board: &Board,
    m: &Manifest,
    split: Split,
    p: &ParallelOptions,
    runners: &[Runner],
    ttft_ms: f64,
    decode_steps_ms: Vec<f64>,
    link: LinkUse,
    collective: CollectiveUse,
    forward: ForwardUse,
    started: std::time::Instant,
) -> ParallelReport {
    let tokens = p.run.tokens.max(1) as f64;
    let ms_per_token = if decode_steps_ms.is_empty() {
        0.0
    } else {
        decode_steps_ms.iter().sum::<f64>() / decode_steps_ms.len() as f64
    };
    let per_card = runners
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let f = &r.plan.footprint;
            let busy = r.busy.secs() * 1e3 / tokens;
            let stall = r.stall.secs() * 1e3 / tokens;
            CardSummary {
                card: i,
                regime: r.plan.regime.name().to_string(),
                regime_reason: r.plan.reason.clone(),
                weight_bytes: f.weights,
                kv_bytes: f.kv,
                activation_bytes: f.activations,
                shard: r.shard,
                layers: r.layers,
                kernels_per_token: r.kernels as f64 / tokens,
                busy_ms_per_token: busy,
                host_link_stall_ms_per_token: stall,
                wait_ms_per_token: (ms_per_token - busy - stall).max(0.0),
            }
        })
        .collect();
    ParallelReport {
        board: board.name.clone(),
        manifest: m.name.clone(),
        parallel: split,
        cards: p.cards,
        topology: p.topology,
        context: p.run.context,
        prompt: p.run.prompt,
        kv_type: p.run.kv_type,
        tokens: p.run.tokens,
        ttft_ms,
        ms_per_token,
        tokens_per_s: if ms_per_token > 0.0 {
            1e3 / ms_per_token
        } else {
            0.0
        },
        bound: {
            let per_card = runners.iter().map(|r| r.bound_seconds);
            let secs = match split {
                Split::Tp => per_card.fold(0.0, f64::max),
                Split::Pp => per_card.sum(),
            };
            Bound::new(ms_per_token, secs * 1e3 / tokens)
        },
        decode_steps_ms,
        per_card,
        link,
        collective,
        forward,
        host_seconds: started.elapsed().as_secs_f64(),
    }
}

/// `--parallel auto`: the rule on the decode tile and on the whole step, and both runs.
pub fn run_auto(board: &Board, p: &ParallelOptions) -> Result<AutoReport> {
    let m = load_manifest(manifest_name(&p.run))?;
    let a = &m.architecture;
    let tile = Tile {
        m: 1,
        n: a.ffn_size,
        k: a.hidden_size,
        bytes_per_element: 2,
    };
    let n = p.cards as u64;
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
    let tp = run_tp(board, p)?;
    let pp = run_pp(board, p)?;
    let emulated_choice = if tp.ms_per_token <= pp.ms_per_token {
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
        "emulated: TP {:.2} ms/token, PP {:.2} ms/token, so {} is faster; the rule on the decode tile (m=1 n={} k={} bpe 2) picks {} (TP {:.2} us vs MP {:.2} us){}; on the whole step (W = {} weight bytes, A = {} AllReduce bytes per token) it picks {} (TP {:.3} ms vs MP {:.3} ms)",
        tp.ms_per_token,
        pp.ms_per_token,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_cover_everything_once_in_whole_units() {
        for n in 1..=8 {
            let s = split_units(5632, 256, n).unwrap();
            assert_eq!(s.iter().map(|x| x.1).sum::<u64>(), 5632);
            assert!(s.iter().all(|x| x.1 % 256 == 0 && x.1 > 0));
            for w in s.windows(2) {
                assert_eq!(w[0].0 + w[0].1, w[1].0);
            }
            let layers = pp_layers(22, n).unwrap();
            assert_eq!(layers[0].0, 0);
            assert_eq!(layers[n - 1].1, 22);
            for w in layers.windows(2) {
                assert_eq!(w[0].1, w[1].0);
            }
        }
        assert!(split_units(5632, 256, 23).is_err());
    }
}
