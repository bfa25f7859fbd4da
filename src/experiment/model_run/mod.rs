//! The main job: a llama model's prefill and decode steps run through the real kernel
//! programs on N emulated cards (one by default), with each card's memory regime deciding
//! what crosses its host link and the inter-card links carrying what the split needs.
//!
//! For each step the graph (`workload::graph`) is walked in order on every card. Each
//! node's operands are first `touch`ed in the card's regime state, which answers when their
//! bytes are in DDR (instantly when resident; after a host-link fetch for a swapped KV page
//! or a streamed weight, with prefetch overlapping earlier compute). The node's kernel then
//! runs on the card's hart from the later of that time and the end of the card's previous
//! kernel; its cycles, at the board clock, advance the card's time. Nothing is estimated:
//! the time is the sum of the kernels' emulated cycles, the host-link stalls the regimes
//! impose and the inter-card transfers.
//!
//! **One card** is the case N = 1 of both splits below: no transfer, nothing to wait for.
//!
//! **Tensor parallel** (Megatron-style): in every block, the Q, K, V, gate and up
//! projections are split by output rows (card r holds heads `[r H/N, (r+1) H/N)` and a
//! near-equal FFN slice of whole 256-element units: TinyLlama's 22 units go 5, 6, 5, 6 on 4
//! cards); the attention output and down projections are split by input columns to match, so
//! each card produces a partial sum of the full-width projection, and an AllReduce over the
//! ring (the collective engine, reductions by the `k_eltwise` kernel on the cards) completes
//! it before the residual add. With fewer KV heads than cards, each KV head is replicated on
//! the cards whose query heads use it. The norms, residual adds and the token embedding are
//! replicated; the output head is split by vocabulary rows, and the logits row is the cards'
//! slices in card order (gathering them for sampling is not timed). Cards run in parallel
//! on host threads between the AllReduces.
//!
//! **Pipeline parallel**: the blocks are split into N contiguous stages (card 0 also embeds,
//! the last card also runs the output head). A step's activations (`act.x`, hidden x tokens
//! of f32) are copied stage to stage over the link; a token passes through the stages in
//! sequence, and the sampled token id goes back from the last card to card 0 before the next
//! step starts (no micro-batching: one sequence, so PP buys capacity, not speed).
//!
//! Each card's regions are only what it holds (its weight shards or blocks, its KV heads or
//! blocks, the activation buffers), and that footprint chooses the card's own regime.
//! Placement: every region gets a fixed address at or above the kernel ABI's tensor base.
//! When a card's footprint exceeds DDR (kv-swap, weight-stream), the bytes still need a home
//! for the functional run, so the card's backing store is as large as the footprint; which
//! bytes are in DDR at a time, and what that costs, is the regime's model.

mod auto;
mod card_run;
mod layout;
mod node;
mod options;
mod report;

pub use auto::{run_auto, AutoReport};
pub use node::NodeTiming;
pub use options::{Cards, Progress, ProgressSink, RunOptions, Split, TokenIds, DEFAULT_MANIFEST};
pub use report::{
    Bound, CardSummary, CollectiveUse, DecodeSummary, ForwardUse, LinkUse, LogitsRow, OpSplit,
    RunReport, StepTotals, TokensReport, WeightsReport,
};

use self::card_run::{CardRun, CollectiveCards, StepKind};
use self::layout::{
    card_parts, check_prompt, load_weights, manifest_of, run_shape, split_units, write_synthetic,
    Model, Placement, WeightSource, ALLREDUCE_RECV,
};
use self::node::{attention_units, counter, run_node};
use crate::config::Board;
use crate::link::intercard::LinkParams;
use crate::mem::regime::Regime;
use crate::stats::{Stats, Unit};
use crate::system::card::kernel_dir;
use crate::system::collective::{self, Buffers, Collective};
use crate::system::fanout::on_threads;
use crate::system::topology::Fabric;
use crate::units::Time;
use crate::workload::gguf::decode_pieces;
use crate::workload::graph::{self, Graph, Node, Shard};
use crate::workload::regions::{act, StepShape};
use crate::workload::weights::{Rng, PIECE_BYTES};
use crate::workload::{Manifest, RegionKind};
use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;

/// The index of the largest value, ties to the lowest index (NaN never wins).
pub fn argmax(v: &[f32]) -> u32 {
    let mut best = 0usize;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] || (v[best].is_nan() && !x.is_nan()) {
            best = i;
        }
    }
    best as u32
}

/// The steps of a run: a prefill of the prompt then one decode per token, or with `past`
/// only the decode steps, from that position.
fn step_shapes(opts: &RunOptions) -> Vec<StepShape> {
    let (prefill, first) = match opts.past {
        Some(past) => (None, past),
        None => (
            Some(StepShape {
                n_tokens: opts.prompt,
                n_past: 0,
            }),
            opts.prompt,
        ),
    };
    prefill
        .into_iter()
        .chain((0..opts.tokens).map(|t| StepShape {
            n_tokens: 1,
            n_past: first + t,
        }))
        .collect()
}

/// A run's cards with the model placed in their memories.
struct Setup {
    cards: Vec<CardRun>,
    /// The whole model.
    model: Manifest,
    /// The seeded generator after the weights (token ids and KV values come next).
    rng: Rng,
    weights: WeightsReport,
    /// The weights file's vocabulary (`tokenizer.ggml.tokens`), if any.
    vocab: Option<Vec<String>>,
    /// The model's trained context.
    trained_context: u64,
}

/// Builds the cards, places their parts of the model and writes the weights `wanted` by
/// name.
fn setup(board: &Board, opts: &RunOptions, wanted: &dyn Fn(&str) -> bool) -> Result<Setup> {
    check_prompt(opts)?;
    let Model {
        manifest: m,
        gguf,
        trained_context,
    } = manifest_of(opts)?;
    let rp = run_shape(&m, opts)?;
    let whole = crate::workload::regions(&m, &rp).map_err(|e| anyhow::anyhow!("{}", e.0))?;
    let n = opts.cards.count;
    let mut cards = Vec::with_capacity(n);
    for (i, part) in card_parts(&m, &rp, &whole, opts)?.into_iter().enumerate() {
        let c = CardRun::new(board, i, part, trained_context, opts);
        cards.push(if n > 1 {
            c.with_context(|| format!("card {i} of {n}"))?
        } else {
            c?
        });
    }
    let cuts: Vec<_> = cards.iter().map(|c| c.part.cuts.clone()).collect();
    let mut rng = Rng::new(opts.seed);
    let all_wanted = whole
        .iter()
        .all(|r| r.kind != RegionKind::Weight || wanted(&r.name));
    let source = WeightSource {
        model: &m,
        regions: &whole,
        gguf: gguf.as_ref(),
    };
    let source_hash = load_weights(
        &source,
        &mut rng,
        &cuts,
        wanted,
        gguf.is_some() && all_wanted && n > 1,
        &mut |c, name, off, bytes| {
            let a = cards[c].addr(name)?;
            cards[c].card.write(a + off, bytes)
        },
    )?;
    let sha256 = match (&gguf, n) {
        (Some(_), 1) if all_wanted => Some(read_back_weights(&mut cards[0], &m)?),
        _ => source_hash,
    };
    let weights = WeightsReport {
        source: match &opts.weights {
            Some(p) => p.display().to_string(),
            None => format!("synthetic (seed {})", opts.seed),
        },
        bytes: cards
            .iter()
            .flat_map(|c| &c.part.regions)
            .filter(|r| r.kind == RegionKind::Weight)
            .map(|r| r.bytes)
            .sum(),
        sha256,
    };
    let vocab = gguf.as_ref().and_then(|g| g.header().vocabulary());
    Ok(Setup {
        cards,
        model: m,
        rng,
        weights,
        vocab,
        trained_context,
    })
}

/// SHA-256 of the weights as one card holds them, read back from its memory tensor by
/// tensor in manifest order.
fn read_back_weights(card: &mut CardRun, m: &Manifest) -> Result<String> {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    let mut buf = vec![0u8; PIECE_BYTES as usize];
    for t in m.tensors.iter().filter(|t| t.kind == RegionKind::Weight) {
        let addr = card.addr(&t.name)?;
        let mut off = 0;
        while off < t.bytes {
            let n = PIECE_BYTES.min(t.bytes - off) as usize;
            card.card.read(addr + off, &mut buf[..n])?;
            h.update(&buf[..n]);
            off += n as u64;
        }
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Fills every KV-cache region of every card with synthetic values (seeded, of the cache's
/// type), standing for a prompt whose prefill is not emulated (`past`). Whole regions are
/// written, so the layout does not matter: the positions from `past` on are overwritten by
/// the decode steps before they are read.
fn fill_kv_cache(cards: &mut [CardRun], opts: &RunOptions, rng: &mut Rng) -> Result<()> {
    for c in cards {
        let kv: Vec<_> = c
            .part
            .regions
            .iter()
            .filter(|r| r.kind == RegionKind::Kv)
            .map(|r| (r.name.clone(), r.bytes))
            .collect();
        for (name, bytes) in kv {
            let addr = c.addr(&name)?;
            write_synthetic(opts.kv_type, bytes, rng, &mut |off, b| {
                c.card.write(addr + off, b)
            })?;
        }
    }
    Ok(())
}

/// Each card's graph of step `s`: tensor-parallel cards build their shards' graphs; a
/// pipeline stage keeps its nodes of the whole model's graph.
fn card_graphs(
    cards: &[CardRun],
    m: &Manifest,
    s: StepShape,
    opts: &RunOptions,
    all_outputs: bool,
) -> Result<Vec<Graph>> {
    let build = |m: &Manifest, shard: Shard| {
        graph::build_step(
            m,
            s,
            opts.context,
            opts.kv_type,
            shard,
            opts.attention,
            all_outputs,
        )
        .map_err(|e| anyhow::anyhow!("{}", e.0))
    };
    if cards.iter().any(|c| c.part.shard.is_some()) {
        return cards
            .iter()
            .map(|c| build(&c.part.manifest, c.part.graph_shard()))
            .collect();
    }
    let g = build(m, Shard::whole(m))?;
    Ok(cards
        .iter()
        .map(|c| Graph {
            nodes: g.nodes.iter().filter(|n| c.part.runs(n)).cloned().collect(),
            ..g.clone()
        })
        .collect())
}

/// Link counters summed over channels: (channel, payload, wire, busy ns).
/// A channel's missing counter is an error naming it, never a silent 0.
fn link_snapshot(f: &Fabric) -> Result<Vec<(String, f64, f64, f64)>> {
    let s = f.stats(Time(1));
    let mut out = Vec::new();
    for (path, c) in s.iter() {
        if let Some(ch) = path.strip_suffix(".tx_bytes") {
            out.push((
                ch.to_string(),
                c.value,
                counter(&s, &format!("{ch}.wire_bytes"))?,
                counter(&s, &format!("{ch}.busy_ns"))?,
            ));
        }
    }
    Ok(out)
}

/// The link's use between the snapshot `before` and now, over `elapsed`, per token.
fn link_use(
    before: &[(String, f64, f64, f64)],
    after: &Fabric,
    elapsed: Time,
    tokens: f64,
) -> Result<LinkUse> {
    let after = link_snapshot(after)?;
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
    Ok(u)
}

/// Where a step's nodes are cut on tensor-parallel cards: after each row-split projection,
/// whose partial sums the AllReduce completes.
fn sync_cuts(g: &Graph) -> Vec<usize> {
    g.nodes
        .iter()
        .enumerate()
        .filter(|(_, nd)| {
            nd.layer.is_some()
                && (nd.name.ends_with(".attn_output") || nd.name.ends_with(".ffn_down"))
        })
        .map(|(i, _)| i + 1)
        .collect()
}

/// What every card of a run shares: the board, the options, the model's width.
struct Ctx<'a> {
    board: &'a Board,
    opts: &'a RunOptions,
    hidden: u64,
}

/// The decode steps' AllReduces as they run.
#[derive(Default)]
struct Allreduces {
    totals: CollectiveUse,
    reduce_kernels: u64,
    reduce_busy: Time,
}

/// Runs one tensor-parallel step on every card from `start`: the cards' node lists in
/// segments between AllReduces, each segment on host threads. Adds the decode step's
/// AllReduces to `coll`.
fn tp_step(
    cards: &mut [CardRun],
    graphs: &[Graph],
    fabric: &mut Fabric,
    ctx: &Ctx,
    step: StepKind,
    coll: &mut Allreduces,
) -> Result<()> {
    let Ctx {
        board,
        opts,
        hidden,
    } = *ctx;
    let n = cards.len();
    if n == 1 {
        return cards[0].run_nodes(&graphs[0].nodes, board, opts, step);
    }
    let cuts: Vec<Vec<usize>> = graphs.iter().map(sync_cuts).collect();
    let segments = cuts[0].len() + 1;
    if cuts.iter().any(|c| c.len() + 1 != segments) {
        bail!("the cards' graphs have different synchronisation points");
    }
    let bytes = hidden * graphs[0].n_tokens * 4;
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
        on_threads(cards, &work, opts.cards.threads, |c, w| {
            let i = c.index;
            c.run_nodes(w, board, opts, step)
                .with_context(|| format!("card {i} of {n}"))
        })?;
        if seg + 1 == segments {
            break;
        }
        let buffers: Vec<Buffers> = cards
            .iter()
            .map(|c| {
                Ok(Buffers {
                    data: c.addr(act::PROJ)?,
                    recv: c.addr(ALLREDUCE_RECV)?,
                })
            })
            .collect::<Result<_>>()?;
        let start: Vec<Time> = cards.iter().map(|c| c.now).collect();
        let mut ops = CollectiveCards {
            cards,
            program: kernel_dir().join("k_eltwise.elf"),
            clock: board.clock,
            kernels: 0,
            busy: Time::ZERO,
        };
        let t = collective::run_from(
            Collective::Allreduce,
            fabric,
            &mut ops,
            &buffers,
            bytes,
            opts.cards.segment,
            &start,
        )
        .with_context(|| format!("step {}: AllReduce after segment {seg}", step.index))?;
        let (k, b) = (ops.kernels, ops.busy);
        for (c, &d) in cards.iter_mut().zip(&t.card_done) {
            c.now = d;
        }
        if step.decode {
            let first_in = start.iter().copied().min().unwrap_or_default();
            let last_in = start.iter().copied().max().unwrap_or_default();
            let out = t.card_done.iter().copied().max().unwrap_or_default();
            coll.totals.allreduces_per_token += 1.0;
            coll.totals.bytes_per_token += bytes as f64;
            coll.totals.ms_per_token += (out - last_in).secs() * 1e3;
            coll.totals.imbalance_ms_per_token += (last_in - first_in).secs() * 1e3;
            coll.reduce_kernels += k;
            coll.reduce_busy += b;
        }
    }
    Ok(())
}

/// Runs one pipeline step: each stage from when its input arrived, then the residual stream
/// forwarded to the next stage, and the token id back from the last to card 0.
fn pp_step(
    cards: &mut [CardRun],
    graphs: &[Graph],
    fabric: &mut Fabric,
    ctx: &Ctx,
    step: StepKind,
    fwd: &mut ForwardUse,
) -> Result<()> {
    let n = cards.len();
    for r in 0..n {
        cards[r]
            .run_nodes(&graphs[r].nodes, ctx.board, ctx.opts, step)
            .with_context(|| format!("card {r} of {n}"))?;
        if n == 1 {
            break;
        }
        let last = r + 1 == n;
        let (to, bytes) = if last {
            (0, 4)
        } else {
            (r + 1, ctx.hidden * graphs[r].n_tokens * 4)
        };
        if !last {
            let mut buf = vec![0u8; bytes as usize];
            let x = cards[r].addr(act::X)?;
            cards[r].card.read(x, &mut buf)?;
            let dst = cards[to].addr(act::X)?;
            cards[to].card.write(dst, &buf)?;
        }
        let sent = cards[r].now;
        let ch = fabric
            .channel(r, to)
            .with_context(|| format!("no cable from card {r} to card {to}"))?;
        let at = ch.send(bytes, sent);
        cards[to].now = cards[to].now.max(at);
        if step.decode {
            fwd.transfers_per_token += 1.0;
            fwd.bytes_per_token += bytes as f64;
            fwd.ms_per_token += (at - sent).secs() * 1e3;
        }
    }
    Ok(())
}

/// Runs the model on `opts.cards` cards of `board`.
pub fn run(board: &Board, opts: &RunOptions) -> Result<RunReport> {
    let started = std::time::Instant::now();
    let Setup {
        mut cards,
        model: m,
        mut rng,
        weights,
        vocab,
        trained_context,
    } = setup(board, opts, &|_| true)?;
    let n = cards.len();
    let split = opts.cards.split;
    let a = m.architecture.clone();
    let vocab_size = a.vocab_size;
    let check_ids = |ids: &[u32], what: &str| -> Result<()> {
        if let Some(&bad) = ids.iter().find(|&&i| u64::from(i) >= vocab_size) {
            bail!("{what}: token id {bad} is outside the vocabulary of {vocab_size}");
        }
        Ok(())
    };
    if let Some(p) = &opts.ids.prompt {
        check_ids(p, "prompt ids")?;
        if p.len() as u64 != opts.prompt {
            bail!(
                "{} prompt ids for a prompt of {} tokens",
                p.len(),
                opts.prompt
            );
        }
    }
    if let Some(f) = &opts.ids.forced {
        check_ids(f, "forced ids")?;
        if (f.len() as u64) < opts.tokens {
            bail!("{} forced ids for {} decode tokens", f.len(), opts.tokens);
        }
    }
    if opts.past.is_some() {
        fill_kv_cache(&mut cards, opts, &mut rng)?;
    }
    let has_prefill = opts.past.is_none();
    let shapes = step_shapes(opts);
    let graphs: Vec<Vec<Graph>> = shapes
        .iter()
        .enumerate()
        .map(|(si, &s)| {
            let all_outputs = si == 0 && has_prefill && opts.ids.logits_all;
            card_graphs(&cards, &m, s, opts, all_outputs)
        })
        .collect::<Result<_>>()?;
    for (c, g) in cards.iter_mut().zip(&graphs[0]) {
        c.set_weight_order(&g.nodes)?;
    }
    // The logits row: each tensor-parallel card's vocabulary slice in card order, else the
    // last card's whole row.
    let vocab_parts: Vec<(usize, u64)> = if n > 1 && split == Split::Tp {
        split_units(vocab_size, 1, n)?
            .into_iter()
            .enumerate()
            .map(|(c, (_, len))| (c, len))
            .collect()
    } else {
        vec![(n - 1, vocab_size)]
    };

    let progress = opts.progress.as_ref().map(|p| &p.0);
    if let Some(p) = progress {
        p.start(graphs.iter().flatten().map(|g| g.nodes.len() as u64).sum());
    }
    let mut fabric = Fabric::new(n, board.topology, LinkParams::from_config(&board.intercard));
    let ctx = Ctx {
        board,
        opts,
        hidden: a.hidden_size,
    };
    let mut coll = Allreduces::default();
    let mut fwd = ForwardUse::default();
    let mut link_before = Vec::new();
    let mut decode_start = None;
    let mut end = Time::ZERO;
    let mut steps = Vec::new();
    let mut prompt_ids = Vec::new();
    let mut fed_ids = Vec::new();
    let mut generated_ids = Vec::new();
    let mut logits_rows = Vec::new();
    let last_step = shapes.len() - 1;
    for (si, (s, gs)) in shapes.iter().zip(&graphs).enumerate() {
        let is_decode = si > 0 || !has_prefill;
        if let Some(p) = progress {
            p.step(&if is_decode {
                format!("decode token {si}")
            } else {
                "prefill".into()
            });
        }
        // Inputs of the step: token ids and positions, the same on every card.
        let ids: Vec<u32> = if !is_decode {
            match &opts.ids.prompt {
                Some(p) => p.clone(),
                None => (0..s.n_tokens)
                    .map(|_| (rng.next_u64() % vocab_size) as u32)
                    .collect(),
            }
        } else {
            let t = if has_prefill { si - 1 } else { si };
            let id = match (&opts.ids.forced, generated_ids.last()) {
                (Some(f), _) => f[t],
                (None, Some(&last)) => last,
                // The first step after `past`: no earlier row to take the argmax of.
                (None, None) => (rng.next_u64() % vocab_size) as u32,
            };
            vec![id]
        };
        if !is_decode {
            prompt_ids = ids.clone();
        } else {
            fed_ids.push(ids[0]);
        }
        for c in cards.iter_mut() {
            c.write_inputs(&ids, s.n_past)?;
            c.step = StepTotals::default();
        }
        // Every card enters the step when the token is known: when the last card finished
        // the previous one (tensor parallel), or when card 0 has the token id back.
        let step_start = match split {
            Split::Tp => cards.iter().map(|c| c.now).max().unwrap_or_default(),
            Split::Pp => end.max(cards[0].now),
        };
        if is_decode && decode_start.is_none() {
            link_before = link_snapshot(&fabric)?;
            decode_start = Some(step_start);
        }
        let step = StepKind {
            index: si,
            decode: is_decode,
            last: si == last_step,
        };
        match split {
            Split::Tp => {
                for c in cards.iter_mut() {
                    c.now = step_start;
                }
                tp_step(&mut cards, gs, &mut fabric, &ctx, step, &mut coll)?
            }
            Split::Pp => {
                cards[0].now = step_start;
                pp_step(&mut cards, gs, &mut fabric, &ctx, step, &mut fwd)?
            }
        }
        end = match split {
            Split::Tp => cards.iter().map(|c| c.now).max().unwrap_or_default(),
            Split::Pp => cards[0].now.max(cards[n - 1].now),
        };
        let bounds = cards.iter().map(|c| c.step.bound_seconds);
        let st = StepTotals {
            seconds: (end - step_start).secs(),
            host_link_stall_seconds: cards.iter().map(|c| c.step.host_link_stall_seconds).sum(),
            bound_seconds: match split {
                Split::Tp => bounds.fold(0.0, f64::max),
                Split::Pp => bounds.sum(),
            },
            kernels: cards.iter().map(|c| c.step.kernels).sum(),
            reused: cards.iter().map(|c| c.step.reused).sum(),
            flops: cards.iter().map(|c| c.step.flops).sum(),
        };
        if is_decode {
            for c in cards.iter_mut() {
                c.decode_bound_seconds += c.step.bound_seconds;
            }
        }
        steps.push(st);
        // The step's output rows: its last position's, or with `logits_all` in the prefill
        // every position's, in position order; the last row gives the next token.
        let rows = if !is_decode && opts.ids.logits_all {
            s.n_tokens
        } else {
            1
        };
        for r in 0..rows {
            let mut values = Vec::with_capacity(vocab_size as usize);
            for &(c, len) in &vocab_parts {
                values.extend(cards[c].logits(r, len)?);
            }
            if r + 1 == rows {
                generated_ids.push(argmax(&values));
            }
            if opts.ids.keep_logits {
                let at = s.n_tokens - rows + r;
                logits_rows.push(LogitsRow {
                    position: s.n_past + at,
                    token: ids[at as usize],
                    values,
                });
            }
        }
    }
    if let Some(p) = progress {
        p.finish();
    }

    let prefill = has_prefill.then(|| steps.remove(0));
    let n_dec = steps.len().max(1) as f64;
    let ms_per_token = if steps.is_empty() {
        0.0
    } else {
        steps.iter().map(|s| s.seconds).sum::<f64>() / n_dec * 1e3
    };
    let tokens = opts.tokens.max(1) as f64;
    let clock = board.clock;
    let mut by_op: BTreeMap<String, OpSplit> = BTreeMap::new();
    let mut prefill_by_op: BTreeMap<String, OpSplit> = BTreeMap::new();
    let mut by_resource: BTreeMap<String, f64> = BTreeMap::new();
    let mut per_card = Vec::with_capacity(n);
    let mut stats = Stats::new();
    let mut regime_stats = Stats::new();
    let (mut roofline_sum, mut roofline_max, mut link_max) = (0.0f64, 0.0f64, 0.0f64);
    let mut kernels: Vec<NodeTiming> = Vec::new();
    for c in cards.iter_mut() {
        let i = c.index;
        for v in c.by_op.values_mut() {
            v.count = (v.count as f64 / n_dec).round() as u64;
            v.seconds /= n_dec;
            v.bound_seconds /= n_dec;
            v.flops = (v.flops as f64 / n_dec).round() as u64;
            v.bytes = (v.bytes as f64 / n_dec).round() as u64;
        }
        for (split_all, split_card) in [
            (&mut by_op, &c.by_op),
            (&mut prefill_by_op, &c.prefill_by_op),
        ] {
            for (op, v) in split_card {
                let e = split_all.entry(op.clone()).or_default();
                e.count += v.count;
                e.seconds += v.seconds;
                e.bound_seconds += v.bound_seconds;
                e.flops += v.flops;
                e.bytes += v.bytes;
            }
        }
        let cyc = |cy: f64| clock.cycles_to_time(cy as u64).secs() / n_dec;
        let resources = [
            (
                "matrix_unit",
                cyc(counter(&c.decode_stats, "matmul.busy_cycles")?),
            ),
            (
                "vector_unit",
                cyc(counter(&c.decode_stats, "vpu.busy_cycles")?),
            ),
            (
                "ddr",
                counter(&c.decode_stats, "mem.ddr.data_bus_busy_time")? * 1e-9 / n_dec,
            ),
        ];
        for (k, v) in resources {
            *by_resource.entry(k.to_string()).or_default() += v;
        }
        // The card's bound: its nodes' rooflines, or streaming its weights over its host
        // link when it must.
        let roofline_ms = c.decode_bound_seconds / n_dec * 1e3;
        let link_ms = match c.plan.regime {
            Regime::WeightStream => {
                c.plan.footprint.weights as f64 / c.state.link().sustained_bytes_per_s() * 1e3
            }
            _ => 0.0,
        };
        roofline_sum += roofline_ms;
        roofline_max = roofline_max.max(roofline_ms.max(link_ms));
        link_max = link_max.max(link_ms);
        for t in c.kernels.drain(..) {
            if !kernels.iter().any(|k| k.node == t.node) {
                kernels.push(t);
            }
        }
        // Counters: the card's kernels, its regime and host link.
        for tree in [&mut c.stats, &mut c.decode_stats] {
            let (ideal, busy) = (
                counter(tree, "matmul.ideal_cycles")?,
                counter(tree, "matmul.busy_cycles")?,
            );
            tree.set(
                "matmul.utilisation",
                if busy > 0.0 { ideal / busy } else { 0.0 },
                crate::stats::RATIO,
            );
        }
        let prefix = format!("card{i}");
        stats.merge_under(&prefix, &c.stats);
        let mut rs = c.state.stats();
        rs.set(
            "host_link.bytes_in",
            c.state.link_bytes().0 as f64,
            Unit::Bytes,
        );
        regime_stats.merge_under(&prefix, &rs);
        let f = &c.plan.footprint;
        let busy = c.decode_busy.secs() * 1e3 / tokens;
        let stall = c.decode_stall.secs() * 1e3 / tokens;
        per_card.push(CardSummary {
            card: i,
            regime: c.plan.regime.name().to_string(),
            regime_reason: c.plan.reason.clone(),
            weight_bytes: f.weights,
            kv_bytes: f.kv,
            activation_bytes: f.activations,
            shard: c.part.shard,
            layers: c.part.stage.map(|s| s.layers),
            kernels_per_token: c.decode_kernels as f64 / tokens,
            busy_ms_per_token: busy,
            host_link_stall_ms_per_token: stall,
            wait_ms_per_token: (ms_per_token - busy - stall).max(0.0),
            bound_ms_per_token: roofline_ms.max(link_ms),
            by_op: c.by_op.clone(),
        });
    }
    by_resource.insert(
        "host_link_stall".to_string(),
        steps.iter().map(|s| s.host_link_stall_seconds).sum::<f64>() / n_dec,
    );
    let bound_ms = match split {
        Split::Tp => roofline_max,
        Split::Pp => roofline_sum.max(link_max),
    };
    if n > 1 {
        let mut total = stats.total_over("card");
        let (ideal, busy) = (
            counter(&total, "total.matmul.ideal_cycles")?,
            counter(&total, "total.matmul.busy_cycles")?,
        );
        total.set(
            "total.matmul.utilisation",
            if busy > 0.0 { ideal / busy } else { 0.0 },
            crate::stats::RATIO,
        );
        stats.merge_under("", &total);
        stats.merge_under("", &fabric.stats(end));
    }
    // The regimes and host links: per card, and summed over the cards at the root.
    stats.merge_under("", &regime_stats);
    for (path, c) in regime_stats.total_over("card").iter() {
        stats.add(path.trim_start_matches("total."), c.value, c.unit);
    }
    let (link, collective, forward) = if n > 1 {
        let elapsed = end - decode_start.unwrap_or(end);
        let link = if opts.tokens > 0 {
            link_use(&link_before, &fabric, elapsed, tokens)?
        } else {
            LinkUse::default()
        };
        match split {
            Split::Tp => {
                let mut c = coll.totals;
                for v in [
                    &mut c.allreduces_per_token,
                    &mut c.bytes_per_token,
                    &mut c.ms_per_token,
                    &mut c.imbalance_ms_per_token,
                ] {
                    *v /= tokens;
                }
                c.reduce_kernels_per_token = coll.reduce_kernels as f64 / tokens;
                c.reduce_ms_per_token = coll.reduce_busy.secs() * 1e3 / tokens;
                (Some(link), Some(c), None)
            }
            Split::Pp => {
                for v in [
                    &mut fwd.transfers_per_token,
                    &mut fwd.bytes_per_token,
                    &mut fwd.ms_per_token,
                ] {
                    *v /= tokens;
                }
                (Some(link), None, Some(fwd))
            }
        }
    } else {
        (None, None, None)
    };
    let mut regimes: Vec<&str> = Vec::new();
    for c in &per_card {
        if !regimes.contains(&c.regime.as_str()) {
            regimes.push(&c.regime);
        }
    }
    let regime = regimes.join("+");
    let host_seconds = started.elapsed().as_secs_f64();
    Ok(RunReport {
        board: board.name.clone(),
        manifest: m.name.clone(),
        weights,
        regime,
        regime_reason: cards[0].plan.reason.clone(),
        plan: cards[0].plan.clone(),
        context: opts.context,
        trained_context: (opts.context > trained_context).then_some(trained_context),
        prompt: opts.prompt,
        tokens: opts.tokens,
        cards: n,
        parallel: (n > 1).then_some(split),
        topology: (n > 1).then_some(board.topology),
        matrix_unit: opts.matrix_unit,
        kv_type: opts.kv_type,
        attention: opts.attention,
        attention_units: graphs
            .last()
            .map(|g| attention_units(board, &g[0].nodes, opts.matrix_unit))
            .unwrap_or_default(),
        past: opts.past,
        ttft_ms: prefill.as_ref().map(|p| p.seconds * 1e3),
        prefill,
        decode: DecodeSummary {
            ms_per_token,
            tokens_per_s: if ms_per_token > 0.0 {
                1e3 / ms_per_token
            } else {
                0.0
            },
            steps,
        },
        bound: Bound::new(ms_per_token, bound_ms),
        by_op,
        prefill_by_op,
        kernels,
        by_resource,
        per_card,
        link,
        collective,
        forward,
        host_seconds,
        host_seconds_per_token: host_seconds
            / (if has_prefill { opts.prompt } else { 0 } + opts.tokens).max(1) as f64,
        stats,
        tokens_out: TokensReport {
            // Real weights, and a KV cache the run computed itself.
            meaningful: opts.weights.is_some() && has_prefill,
            prompt_text: vocab.as_ref().map(|v| decode_pieces(v, &prompt_ids)),
            generated_text: vocab.as_ref().map(|v| decode_pieces(v, &generated_ids)),
            prompt_ids,
            generated_ids,
            fed_ids,
        },
        logits: logits_rows,
    })
}

/// Times the kernels of one decode step at position `opts.prompt` (the tokens already in
/// the KV cache) whose node names start with `prefix`, on one card, without running the
/// steps before it. The kernels' timing does not depend on the values they read
/// (doc/run.md), so each figure is the one a full run gives that node at that position;
/// get_rows gathers the row of a seeded random token.
pub fn time_decode_nodes(
    board: &Board,
    opts: &RunOptions,
    prefix: &str,
) -> Result<Vec<NodeTiming>> {
    if opts.prompt >= opts.context {
        bail!(
            "position {} is outside the context of {}",
            opts.prompt,
            opts.context
        );
    }
    let model = manifest_of(opts)?;
    let m = &model.manifest;
    let g = graph::decode_with(m, opts.prompt, opts.context, opts.kv_type, opts.attention)
        .map_err(|e| anyhow::anyhow!("{}", e.0))?;
    let nodes: Vec<&Node> = g
        .nodes
        .iter()
        .filter(|n| n.name.starts_with(prefix))
        .collect();
    if nodes.is_empty() {
        let names: Vec<&str> = g.nodes.iter().take(24).map(|n| n.name.as_str()).collect();
        bail!(
            "no node of the decode graph starts with `{prefix}` (nodes: {} ...)",
            names.join(", ")
        );
    }
    let read: std::collections::BTreeSet<&str> = nodes
        .iter()
        .flat_map(|n| n.inputs.iter().map(|o| o.region.as_str()))
        .collect();
    let one = RunOptions {
        cards: Cards::ONE,
        ..opts.clone()
    };
    let Setup {
        mut cards,
        model: m,
        mut rng,
        ..
    } = setup(board, &one, &|name| read.contains(name))?;
    let c = &mut cards[0];
    if let Some(a) = c.placement.addr(act::TOKENS) {
        let id = (rng.next_u64() % m.architecture.vocab_size) as i32;
        c.card.write(a, &id.to_le_bytes())?;
    }
    if let Some(a) = c.placement.addr(act::POS) {
        c.card.write(a, &(opts.prompt as i32).to_le_bytes())?;
    }
    let max_context = model.trained_context;
    let placement: &Placement = &c.placement;
    nodes
        .into_iter()
        .map(|n| {
            run_node(
                &mut c.card,
                board,
                opts.matrix_unit,
                max_context,
                &|r| placement.addr(r),
                n,
            )
            .map(|(_, t)| t)
            .with_context(|| format!("node `{}` ({})", n.name, n.kernel))
        })
        .collect()
}
