//! The main job: a llama model's prefill and decode steps run through the real kernel
//! programs on one emulated card, with the memory regime deciding what crosses the host link.
//!
//! For each step the graph (`workload::graph`) is walked in order. Each node's operands are
//! first `touch`ed in the regime's runtime state, which answers when their bytes are in DDR
//! (instantly when resident; after a host-link fetch for a swapped KV page or a streamed
//! weight, with prefetch overlapping earlier compute). The node's kernel then runs on the
//! card's hart from the later of that time and the end of the previous kernel; its cycles,
//! at the board clock, advance the card's time. Nothing is estimated: the time is the sum of
//! the kernels' emulated cycles and the host-link stalls the regime imposes.
//!
//! Placement: every region (weights, KV cache, activations) gets a fixed address at or above
//! the kernel ABI's tensor base. When the footprint exceeds DDR (kv-swap, weight-stream), the
//! bytes still need a home for the functional run, so the card's backing store is as large as
//! the footprint; which bytes are in DDR at a time, and what that costs, is the regime's
//! model, and the DDR timing model sees each address folded into its rows and banks.

use crate::config::Board;
use crate::mem::regime::{self, MemoryModelChoice, Plan, RegimeParams, RegimeState, RegionId};
use crate::stats::Stats;
use crate::stats::Unit;
use crate::system::card::{kernel_dir, Card, KernelRun};
use crate::units::Time;
use crate::workload::abi::TENSOR_BASE;
use crate::workload::gguf::decode_pieces;
use crate::workload::graph::{self, Graph, Node, Op, Operand};
use crate::workload::import::manifest_from_gguf;
use crate::workload::kernels::abi_of;
use crate::workload::regions::{act, RegionParams};
use crate::workload::weights::{synthetic, GgufWeights, Rng, PIECE_BYTES};
use crate::workload::{bind, load_manifest, GgmlType, Manifest, RegionKind, RegionSpec};
use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// What to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Manifest name or path; `None` takes the manifest of the `weights` file (or, without
    /// one, the default TinyLlama Q4_K_M manifest).
    pub manifest: Option<String>,
    /// A GGUF file whose real weights the run uses instead of synthetic ones.
    pub weights: Option<PathBuf>,
    /// KV cache capacity in positions.
    pub context: u64,
    /// Prompt length (prefill tokens).
    pub prompt: u64,
    /// Decode steps after the prefill.
    pub tokens: u64,
    /// Memory regime choice.
    pub memory_model: MemoryModelChoice,
    /// Run every kernel (no reuse of identical invocations).
    pub exact: bool,
    /// Seed of the synthetic weights and token ids.
    pub seed: u64,
    /// Quantized matrix products on the Xpop_matmul unit (else the RVV kernels).
    pub matrix_unit: bool,
    /// Fused (`flash_attn_ext`) or split (`mul_mat`, `soft_max`, `mul_mat`) attention.
    pub attention: graph::Attention,
    /// Element type of the KV cache (F16, BF16 or Q8_0; llama.cpp's `-ctk/-ctv`).
    pub kv_type: GgmlType,
    /// Start decoding at this position on a KV cache filled with synthetic values, without
    /// emulating a prefill (`--past N`); `prompt` is then unused.
    pub past: Option<u64>,
    /// Cycle limit per kernel.
    pub max_kernel_cycles: u64,
    /// Draw a progress bar.
    pub progress: bool,
    /// Token ids the run feeds instead of seeded random ones.
    pub ids: TokenIds,
}

/// Token ids given to a run. Without them, the prompt is seeded random ids and each decode
/// step feeds the previous step's argmax (greedy decoding).
#[derive(Debug, Clone, Default)]
pub struct TokenIds {
    /// The prompt's ids (their count must equal `RunOptions::prompt`).
    pub prompt: Option<Vec<u32>>,
    /// The ids fed at the decode steps instead of the argmax (teacher forcing); at least
    /// `RunOptions::tokens` of them.
    pub forced: Option<Vec<u32>>,
    /// Keep every computed logits row in the report ([`RunReport::logits`]).
    pub keep_logits: bool,
    /// The prefill computes the logits of every prompt position (llama.cpp's `logits_all`),
    /// not only the last one's.
    pub logits_all: bool,
}

/// One row of logits: the output of one position.
#[derive(Debug, Clone, Serialize)]
pub struct LogitsRow {
    /// Position in the sequence (0 = the first prompt token).
    pub position: u64,
    /// The token id fed at that position.
    pub token: u32,
    /// n_vocab f32 logits.
    #[serde(skip)]
    pub values: Vec<f32>,
}

/// The tokens a run read and produced.
#[derive(Debug, Clone, Serialize)]
pub struct TokensReport {
    /// Whether the ids mean anything: false with synthetic weights.
    pub meaningful: bool,
    /// The prompt's ids.
    pub prompt_ids: Vec<u32>,
    /// The argmax of every computed row (the prefill's last position, then each decode
    /// step): the greedy continuation.
    pub generated_ids: Vec<u32>,
    /// The ids fed at the decode steps (the argmax, or the forced ids).
    pub fed_ids: Vec<u32>,
    /// The generated ids as text, when the weights file has a vocabulary.
    pub generated_text: Option<String>,
    /// The prompt as text, likewise.
    pub prompt_text: Option<String>,
}

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

/// The manifest a run without `--manifest` or `--weights` uses.
pub const DEFAULT_MANIFEST: &str = "tinyllama-1.1b-q4_k_m";

fn g_path(opts: &RunOptions) -> String {
    opts.weights
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}

/// Time and work of one op kind over the decode steps.
#[derive(Debug, Clone, Default, Serialize)]
pub struct OpSplit {
    /// Kernel invocations.
    pub count: u64,
    /// Emulated seconds (kernel time, excluding host-link stalls).
    pub seconds: f64,
    /// Closed-form bound: per node max(FLOPs at peak, bytes at the DDR peak), summed.
    pub bound_seconds: f64,
    /// FLOPs.
    pub flops: u64,
    /// Bytes the nodes read and write.
    pub bytes: u64,
}

/// One kernel invocation against its closed-form bound.
#[derive(Debug, Clone, Serialize)]
pub struct NodeTiming {
    /// Graph node (`blk.0.ffn_up`).
    pub node: String,
    /// GGML op.
    pub op: String,
    /// Kernel program (file name).
    pub program: String,
    /// The unit that ran the node's arithmetic, per product for attention (`vector`,
    /// `matrix int8`, `matrix f16: q.K, p.V`, `matrix int8: q.K; vector: p.V`, ...).
    pub unit: String,
    /// Core cycles.
    pub cycles: u64,
    /// Instructions retired.
    pub instructions: u64,
    /// Emulated seconds.
    pub seconds: f64,
    /// max(FLOPs at the peak, tensor bytes at the DDR peak).
    pub bound_seconds: f64,
    /// seconds / bound_seconds.
    pub ratio: f64,
    /// FLOPs.
    pub flops: u64,
    /// Bytes of the tensors the node reads and writes.
    pub tensor_bytes: u64,
    /// Bytes the DDR model read and wrote.
    pub ddr_bytes: u64,
    /// Vector unit busy cycles / cycles.
    pub vector_utilisation: f64,
    /// Matrix unit busy cycles / cycles.
    pub matrix_busy_fraction: f64,
    /// Matrix unit: cycles its MAC array would need at peak / its busy cycles.
    pub matrix_utilisation: f64,
    /// The core's stall cycles by cause (`raw.load`, `structural.vector`, ...), non-zero
    /// causes only; `cycles = instructions + sum(stalls)`.
    pub stalls: std::collections::BTreeMap<String, u64>,
}

/// Runs one node's kernel on `card` and times it against its bound.
fn run_node(
    card: &mut Card,
    board: &Board,
    opts: &RunOptions,
    m: &Manifest,
    placement: &Placement,
    node: &Node,
) -> Result<(KernelRun, NodeTiming)> {
    let desc = bind::descriptor(node, m.architecture.max_context, &|r| placement.addr(r))
        .map_err(|e| anyhow::anyhow!("{}", e.0))?;
    let program = program_for(node, opts.matrix_unit)?;
    let kr = card.run(&program, &desc)?;
    let seconds = board.clock.cycles_to_time(kr.cycles).secs();
    let bound_seconds = node_bound_seconds(board, node, opts.matrix_unit);
    let per_cycle = |c: f64| {
        if kr.cycles > 0 {
            c / kr.cycles as f64
        } else {
            0.0
        }
    };
    let (mm_ideal, mm_busy) = (
        counter(&kr.stats, "matmul.ideal_cycles")?,
        counter(&kr.stats, "matmul.busy_cycles")?,
    );
    let timing = NodeTiming {
        node: node.name.clone(),
        op: node.op.ggml_name().to_string(),
        program: program
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default(),
        unit: unit_of(board, node, opts.matrix_unit).label(),
        cycles: kr.cycles,
        instructions: kr.instructions,
        seconds,
        bound_seconds,
        ratio: if bound_seconds > 0.0 {
            seconds / bound_seconds
        } else {
            0.0
        },
        flops: node.flops,
        tensor_bytes: node.bytes_moved,
        ddr_bytes: (counter(&kr.stats, "mem.ddr.bytes_read")?
            + counter(&kr.stats, "mem.ddr.bytes_written")?) as u64,
        vector_utilisation: per_cycle(counter(&kr.stats, "vpu.busy_cycles")?),
        matrix_busy_fraction: per_cycle(mm_busy),
        matrix_utilisation: if mm_busy > 0.0 {
            mm_ideal / mm_busy
        } else {
            0.0
        },
        stalls: kr
            .stats
            .iter()
            .filter_map(|(path, c)| {
                let cause = path.strip_prefix("stalls.")?;
                (cause != "total" && c.value > 0.0).then(|| (cause.to_string(), c.value as u64))
            })
            .collect(),
    };
    Ok((kr, timing))
}

/// Times the kernels of one decode step at position `opts.prompt` (the tokens already in
/// the KV cache) whose node names start with `prefix`, without running the steps before it.
/// The kernels' timing does not depend on the values they read (doc/run.md), so each
/// figure is the one a full run gives that node at that position; get_rows gathers the row
/// of a seeded random token.
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
    let (m, _) = manifest_of(opts)?;
    let g = graph::decode_with(&m, opts.prompt, opts.context, opts.kv_type, opts.attention)
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
    let Prepared {
        m,
        placement,
        mut card,
        mut rng,
        ..
    } = prepare(board, opts, &|name| read.contains(name))?;
    if let Some(a) = placement.addr(act::TOKENS) {
        let id = (rng.next_u64() % m.architecture.vocab_size) as i32;
        card.write(a, &id.to_le_bytes())?;
    }
    if let Some(a) = placement.addr(act::POS) {
        card.write(a, &(opts.prompt as i32).to_le_bytes())?;
    }
    nodes
        .into_iter()
        .map(|n| {
            run_node(&mut card, board, opts, &m, &placement, n)
                .map(|(_, t)| t)
                .with_context(|| format!("node `{}` ({})", n.name, n.kernel))
        })
        .collect()
}

/// Totals of one step.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StepTotals {
    /// Emulated seconds from the step's first kernel start to its last kernel end.
    pub seconds: f64,
    /// Seconds the card waited for the host link.
    pub host_link_stall_seconds: f64,
    /// Closed-form bound of the step.
    pub bound_seconds: f64,
    /// Kernels run (or reused).
    pub kernels: u64,
    /// Kernels whose timing was reused from an identical invocation.
    pub reused: u64,
    /// FLOPs.
    pub flops: u64,
}

/// Everything a run measured.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// Board name.
    pub board: String,
    /// Manifest name.
    pub manifest: String,
    /// Where the weight bytes came from.
    pub weights: WeightsReport,
    /// The regime in force.
    pub regime: String,
    /// Why.
    pub regime_reason: String,
    /// The plan's numbers.
    pub plan: Plan,
    /// Context, prompt and decode tokens.
    pub context: u64,
    /// Prompt tokens.
    pub prompt: u64,
    /// Decode tokens.
    pub tokens: u64,
    /// Whether quantized matrix products ran on the Xpop_matmul unit.
    pub matrix_unit: bool,
    /// Element type of the KV cache.
    pub kv_type: GgmlType,
    /// Fused or split attention.
    pub attention: graph::Attention,
    /// The units that ran attention's products in the decode steps (`matrix f16: q.K, p.V`,
    /// `matrix int8: q.K; vector: p.V`, `vector: q.K, p.V`, ...).
    pub attention_units: String,
    /// Decoding started at this position on a synthetic KV cache, without a prefill.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub past: Option<u64>,
    /// Prefill step (absent with `past`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefill: Option<StepTotals>,
    /// Time to first token: the prefill, in milliseconds (absent with `past`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttft_ms: Option<f64>,
    /// Decode steps (mean over steps).
    pub decode: DecodeSummary,
    /// The closed-form bound per decode token.
    pub bound: Bound,
    /// Decode time per op kind, per token.
    pub by_op: BTreeMap<String, OpSplit>,
    /// Prefill time per op kind (the whole prefill step; absent without a prefill).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub prefill_by_op: BTreeMap<String, OpSplit>,
    /// Every kernel of the last step's first layer and of no layer (embedding, final norm,
    /// output), each with its bound.
    pub kernels: Vec<NodeTiming>,
    /// Busy seconds per resource over the decode steps, per token.
    pub by_resource: BTreeMap<String, f64>,
    /// Host wall time of the whole run.
    pub host_seconds: f64,
    /// Host seconds per emulated token (prefill tokens + decode tokens).
    pub host_seconds_per_token: f64,
    /// Counters of the card (summed over kernels) and of the regime.
    pub stats: Stats,
    /// Prompt and generated token ids.
    pub tokens_out: TokensReport,
    /// Every computed logits row, when asked for (`TokenIds::keep_logits`); written to a
    /// file by the caller, not serialized.
    #[serde(skip)]
    pub logits: Vec<LogitsRow>,
}

/// The weights a run used.
#[derive(Debug, Clone, Serialize)]
pub struct WeightsReport {
    /// `synthetic (seed N)` or the GGUF file's path.
    pub source: String,
    /// Bytes of weights placed in card memory.
    pub bytes: u64,
    /// For a GGUF source: SHA-256 of the weight bytes read back from card memory, tensor by
    /// tensor in manifest order (the file's tensor data in that order hashes the same).
    pub sha256: Option<String>,
}

/// What the weights are, read back from card memory for a GGUF source.
fn weights_report(
    card: &mut Card,
    m: &Manifest,
    regions: &[RegionSpec],
    placement: &Placement,
    opts: &RunOptions,
    from_gguf: bool,
) -> Result<WeightsReport> {
    use sha2::{Digest, Sha256};
    let weights: Vec<&RegionSpec> = regions
        .iter()
        .filter(|r| r.kind == RegionKind::Weight)
        .collect();
    let bytes = weights.iter().map(|r| r.bytes).sum();
    let sha256 = if from_gguf {
        let mut h = Sha256::new();
        let mut buf = vec![0u8; PIECE_BYTES as usize];
        for t in m.tensors.iter().filter(|t| t.kind == RegionKind::Weight) {
            let addr = placement.addr(&t.name).expect("every weight is placed");
            let mut off = 0;
            while off < t.bytes {
                let n = PIECE_BYTES.min(t.bytes - off) as usize;
                card.read(addr + off, &mut buf[..n])?;
                h.update(&buf[..n]);
                off += n as u64;
            }
        }
        Some(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
    } else {
        None
    };
    Ok(WeightsReport {
        source: match &opts.weights {
            Some(p) => p.display().to_string(),
            None => format!("synthetic (seed {})", opts.seed),
        },
        bytes,
        sha256,
    })
}

/// Decode summary.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DecodeSummary {
    /// Mean emulated milliseconds per decode token.
    pub ms_per_token: f64,
    /// Tokens per second.
    pub tokens_per_s: f64,
    /// Each decode step.
    pub steps: Vec<StepTotals>,
}

/// Closed-form bound of a decode token.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Bound {
    /// Milliseconds per token: the larger of the summed per-node rooflines and the host-link
    /// bytes per token at the link rate.
    pub ms_per_token: f64,
    /// Tokens per second at the bound.
    pub tokens_per_s: f64,
    /// Emulated / bound.
    pub ratio: f64,
}

impl Bound {
    /// The bound of `bound_ms` per token beside an emulated `ms_per_token` (0 figures when
    /// the bound is 0).
    pub fn new(ms_per_token: f64, bound_ms: f64) -> Bound {
        let positive = bound_ms > 0.0;
        Bound {
            ms_per_token: bound_ms,
            tokens_per_s: if positive { 1e3 / bound_ms } else { 0.0 },
            ratio: if positive {
                ms_per_token / bound_ms
            } else {
                0.0
            },
        }
    }
}

/// Regions with their ids and addresses.
pub(crate) struct Placement {
    pub(crate) ids: BTreeMap<String, (RegionId, u64, u64)>,
    pub(crate) end: u64,
}

impl Placement {
    pub(crate) fn new(regions: &[RegionSpec]) -> Self {
        let mut ids = BTreeMap::new();
        let mut at = TENSOR_BASE;
        for (i, r) in regions.iter().enumerate() {
            ids.insert(r.name.clone(), (RegionId(i as u32), at, r.bytes));
            at = (at + r.bytes).next_multiple_of(4096);
        }
        Self { ids, end: at }
    }

    pub(crate) fn addr(&self, name: &str) -> Option<u64> {
        self.ids.get(name).map(|p| p.1)
    }
}

/// A node's closed-form bound: the largest of its FLOPs at the peak of the unit that runs
/// it, its vector lane operations at the vector unit's issue rate (ops that run on the
/// vector unit), and its bytes at the DDR peak.
pub(crate) fn node_bound_seconds(board: &Board, node: &Node, matrix_unit: bool) -> f64 {
    let clock = board.clock.hz();
    let lanes = board.core.vector_lanes.max(1) as f64 * clock;
    let bytes = node.bytes_moved as f64 / board.memory.peak_bytes_per_s();
    match unit_of(board, node, matrix_unit) {
        ComputeUnit::MatrixProduct { macs_per_cycle, .. } => {
            let peak = macs_per_cycle.max(1) as f64 * clock;
            (node.matrix_macs as f64 / peak).max(bytes)
        }
        // Each product at the peak of the unit that runs it (q.K and p.V are half of the
        // MACs each; on the vector unit one f32 multiply-add per lane per cycle), then the
        // softmax's lane operations: v1's blocking xpop.mm keeps the core from overlapping
        // the unit's work with its own (doc/kernels.md).
        ComputeUnit::MatrixAttention { qk, pv } => {
            let product = (node.matrix_macs / 2) as f64;
            let time = |rate: Option<u32>| match rate {
                Some(r) => product / (r.max(1) as f64 * clock),
                None => product / lanes,
            };
            let softmax = node.vector_ops.saturating_sub(node.matrix_macs) as f64 / lanes;
            (time(Some(qk.macs_per_cycle(board)))
                + time(pv.map(|t| t.macs_per_cycle(board)))
                + softmax)
                .max(bytes)
        }
        ComputeUnit::Vector => {
            // One f32 fused multiply-add per 32-bit lane per cycle.
            let flops = node.flops as f64 / (2.0 * lanes);
            flops.max(node.vector_ops as f64 / lanes).max(bytes)
        }
    }
}

/// The matrix unit's datapaths (doc/xpop-matmul.md section 7): the int8 MAC array of the
/// quantized types, and the BF16 and F16 products with their binary64 accumulators.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum MatrixPath {
    Int8,
    Bf16,
    F16,
}

impl MatrixPath {
    fn macs_per_cycle(self, board: &Board) -> u32 {
        match self {
            MatrixPath::Int8 => board.matmul.int8_macs_per_cycle,
            MatrixPath::Bf16 => board.matmul.bf16_macs_per_cycle,
            MatrixPath::F16 => board.matmul.f16_macs_per_cycle,
        }
    }

    fn name(self) -> &'static str {
        match self {
            MatrixPath::Int8 => "int8",
            MatrixPath::Bf16 => "bf16",
            MatrixPath::F16 => "f16",
        }
    }
}

/// Where a node's arithmetic runs.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum ComputeUnit {
    /// A matrix product on Xpop_matmul (quantized or BF16 weights) at this MAC rate.
    MatrixProduct {
        /// The unit's datapath for the weight type.
        path: MatrixPath,
        /// The unit's MACs per cycle for the weight type.
        macs_per_cycle: u32,
    },
    /// Fused attention on k_attention_xpop: q.K on the matrix unit, p.V on it too (`pv`
    /// names the path) or on the vector unit (`None`: a Q8_0 cache), the softmax on the
    /// vector unit.
    MatrixAttention {
        qk: MatrixPath,
        pv: Option<MatrixPath>,
    },
    /// Everything on the vector unit.
    Vector,
}

impl ComputeUnit {
    /// The report's name of the unit, per product for attention.
    fn label(self) -> String {
        match self {
            ComputeUnit::MatrixProduct { path, .. } => format!("matrix {}", path.name()),
            ComputeUnit::MatrixAttention { qk, pv: Some(pv) } if pv == qk => {
                format!("matrix {}: q.K, p.V", qk.name())
            }
            ComputeUnit::MatrixAttention { qk, pv: Some(pv) } => {
                format!("matrix {}: q.K; matrix {}: p.V", qk.name(), pv.name())
            }
            ComputeUnit::MatrixAttention { qk, pv: None } => {
                format!("matrix {}: q.K; vector: p.V", qk.name())
            }
            ComputeUnit::Vector => "vector".to_string(),
        }
    }
}

fn unit_of(board: &Board, node: &Node, matrix_unit: bool) -> ComputeUnit {
    let fitted = matrix_unit && board.matmul.enabled;
    let first = node.inputs.first();
    match node.op {
        Op::MulMat if fitted && first.is_some_and(|w| product_on_matrix_unit(w.dtype)) => {
            let path = if first.is_some_and(|w| w.dtype == GgmlType::BF16) {
                MatrixPath::Bf16
            } else {
                MatrixPath::Int8
            };
            ComputeUnit::MatrixProduct {
                path,
                macs_per_cycle: path.macs_per_cycle(board),
            }
        }
        Op::FlashAttnExt if fitted => match attention_on_matrix_unit(node) {
            Some((qk, pv)) => ComputeUnit::MatrixAttention { qk, pv },
            None => ComputeUnit::Vector,
        },
        _ => ComputeUnit::Vector,
    }
}

/// The units that ran attention's products among `nodes` (one step's graph): the fused
/// node's, or the split path's `kq` and `kqv` products.
pub(crate) fn attention_units(board: &Board, nodes: &[Node], matrix_unit: bool) -> String {
    if let Some(n) = nodes.iter().find(|n| n.op == Op::FlashAttnExt) {
        return unit_of(board, n, matrix_unit).label();
    }
    let of = |suffix: &str| {
        nodes
            .iter()
            .find(|n| n.op == Op::MulMat && n.name.ends_with(suffix))
            .map(|n| unit_of(board, n, matrix_unit).label())
    };
    match (of(".kq"), of(".kqv")) {
        (Some(qk), Some(pv)) if qk == pv => format!("{qk}: q.K, p.V"),
        (Some(qk), Some(pv)) => format!("{qk}: q.K; {pv}: p.V"),
        _ => String::new(),
    }
}

/// The weight types whose products k_mul_mat_xpop hands to the matrix unit.
fn product_on_matrix_unit(t: GgmlType) -> bool {
    matches!(
        t,
        GgmlType::Q4_0 | GgmlType::Q8_0 | GgmlType::Q4_K | GgmlType::Q6_K | GgmlType::BF16
    )
}

/// Fused attention runs k_attention_xpop when K and V are of one cache type it serves with
/// V's rows contiguous: the unit paths of (q.K, p.V). F16 and BF16 run both products on
/// the unit (V as a transposed A); Q8_0 runs q.K on the int8 path and p.V on the vector
/// unit (its blocks run along V's rows, across the keys p.V sums over; doc/kernels.md).
fn attention_on_matrix_unit(node: &Node) -> Option<(MatrixPath, Option<MatrixPath>)> {
    let [_, k, v, ..] = node.inputs.as_slice() else {
        return None;
    };
    if k.dtype != v.dtype || v.nb[0] != v.dtype.block_bytes() {
        return None;
    }
    match k.dtype {
        GgmlType::F16 => Some((MatrixPath::F16, Some(MatrixPath::F16))),
        GgmlType::BF16 => Some((MatrixPath::Bf16, Some(MatrixPath::Bf16))),
        GgmlType::Q8_0 => Some((MatrixPath::Int8, None)),
        _ => None,
    }
}

pub(crate) fn program_for(node: &Node, matrix_unit: bool) -> Result<PathBuf> {
    let abi = abi_of(&node.kernel).with_context(|| {
        format!(
            "node `{}`: kernel `{}` has no program",
            node.name, node.kernel
        )
    })?;
    let xpop_type = node
        .inputs
        .first()
        .is_some_and(|w| product_on_matrix_unit(w.dtype));
    let name = if node.op == Op::MulMat && matrix_unit && xpop_type {
        "k_mul_mat_xpop"
    } else if node.op == Op::FlashAttnExt && matrix_unit && attention_on_matrix_unit(node).is_some()
    {
        "k_attention_xpop"
    } else {
        abi.program
    };
    Ok(kernel_dir().join(format!("{name}.elf")))
}

pub(crate) fn operands(node: &Node) -> impl Iterator<Item = (&Operand, bool)> {
    node.inputs
        .iter()
        .map(|o| (o, false))
        .chain(node.scratch.iter().map(|o| (o, true)))
        .chain(std::iter::once((&node.output, true)))
}

/// The counter at `path` in `stats`; an absent counter is an error naming it.
fn counter(stats: &Stats, path: &str) -> Result<f64> {
    Ok(stats.value(path)?)
}

/// A card with a model placed in its memory.
struct Prepared {
    m: Manifest,
    regions: Vec<RegionSpec>,
    plan: Plan,
    placement: Placement,
    card: Card,
    rng: Rng,
    weights: WeightsReport,
    /// The weights file's vocabulary (`tokenizer.ggml.tokens`), if any.
    vocab: Option<Vec<String>>,
}

/// A run needs at least one prompt token.
pub(crate) fn check_prompt(opts: &RunOptions) -> Result<()> {
    if opts.prompt == 0 {
        bail!("--prompt must be at least 1 token");
    }
    Ok(())
}

/// The region parameters of the run's context and prompt, checked against the manifest,
/// with the prompt and decode tokens inside the context.
pub(crate) fn run_shape(m: &Manifest, opts: &RunOptions) -> Result<RegionParams> {
    if let Some(past) = opts.past {
        // Activations for one token: the first step is a decode step.
        let mut rp = RegionParams::new(opts.context, 1);
        rp.kv_type = opts.kv_type;
        rp.check(m).map_err(|e| anyhow::anyhow!("{}", e.0))?;
        if past.saturating_add(opts.tokens) > opts.context {
            bail!(
                "--past {past} + --tokens {} exceeds --context {}",
                opts.tokens,
                opts.context
            );
        }
        if opts.tokens == 0 {
            bail!("--past needs at least one decode token (--tokens)");
        }
        return Ok(rp);
    }
    let mut rp = RegionParams::new(opts.context, opts.prompt);
    rp.logits_all = opts.ids.logits_all;
    rp.kv_type = opts.kv_type;
    rp.check(m).map_err(|e| anyhow::anyhow!("{}", e.0))?;
    if opts.prompt.saturating_add(opts.tokens) > opts.context {
        bail!(
            "--prompt {} + --tokens {} exceeds --context {}",
            opts.prompt,
            opts.tokens,
            opts.context
        );
    }
    Ok(rp)
}

/// The run's manifest, and its `--weights` file checked against it.
fn manifest_of(opts: &RunOptions) -> Result<(Manifest, Option<GgufWeights>)> {
    let gguf = match &opts.weights {
        Some(p) => Some(GgufWeights::open(p)?),
        None => None,
    };
    let m: Manifest = match (&opts.manifest, &gguf) {
        (Some(name), _) => load_manifest(name)?,
        (None, Some(g)) => manifest_from_gguf(g.header(), &g_path(opts))?,
        (None, None) => load_manifest(DEFAULT_MANIFEST)?,
    };
    if let Some(g) = &gguf {
        g.check(&m)?;
    }
    Ok((m, gguf))
}

/// Loads the manifest (and checks a `--weights` file against it), plans the regime, places
/// the regions and writes the weights `wanted` by name into a new card's memory.
fn prepare(board: &Board, opts: &RunOptions, wanted: &dyn Fn(&str) -> bool) -> Result<Prepared> {
    check_prompt(opts)?;
    let (m, gguf) = manifest_of(opts)?;
    let rp = run_shape(&m, opts)?;
    let regions = crate::workload::regions(&m, &rp).map_err(|e| anyhow::anyhow!("{}", e.0))?;
    let reserved = TENSOR_BASE - board.memory.base;
    let params = RegimeParams::from_board(board).with_reserved(reserved);
    let plan = regime::plan(opts.memory_model, &regions, &params)?;
    let placement = Placement::new(&regions);

    let mut card = Card::new(
        board,
        placement.end - board.memory.base,
        false,
        !opts.exact,
        opts.max_kernel_cycles,
    );
    let mut rng = Rng::new(opts.seed);
    for r in regions
        .iter()
        .filter(|r| r.kind == RegionKind::Weight && wanted(&r.name))
    {
        let t = m
            .tensor(&r.name)
            .with_context(|| format!("weight region `{}` is not a manifest tensor", r.name))?;
        let addr = placement.addr(&r.name).expect("placed above");
        match &gguf {
            Some(g) => g.read_tensor(t, &mut |off, bytes| card.write(addr + off, bytes))?,
            None => write_synthetic(&mut card, addr, t.dtype, r.bytes, &mut rng)?,
        }
    }

    let all_loaded = regions
        .iter()
        .all(|r| r.kind != RegionKind::Weight || wanted(&r.name));
    let weights = weights_report(
        &mut card,
        &m,
        &regions,
        &placement,
        opts,
        gguf.is_some() && all_loaded,
    )?;

    let vocab = gguf.as_ref().and_then(|g| g.header().vocabulary());
    Ok(Prepared {
        m,
        regions,
        plan,
        placement,
        card,
        rng,
        weights,
        vocab,
    })
}

/// Fills positions `0..past` of every KV-cache region with synthetic values (seeded, of the
/// cache's type), standing for a prompt whose prefill is not emulated (`--past`). Whole cache
/// regions are written, so the layout (V by position or transposed) does not matter: the
/// positions from `past` on are overwritten by the decode steps before they are read.
fn fill_kv_cache(
    card: &mut Card,
    regions: &[RegionSpec],
    placement: &Placement,
    kv: GgmlType,
    past: u64,
    rng: &mut Rng,
) -> Result<()> {
    if past == 0 {
        return Ok(());
    }
    for r in regions.iter().filter(|r| r.kind == RegionKind::Kv) {
        let addr = placement
            .addr(&r.name)
            .with_context(|| format!("KV region `{}` has no place", r.name))?;
        write_synthetic(card, addr, kv, r.bytes, rng)?;
    }
    Ok(())
}

/// Writes `bytes` of seeded synthetic values of type `dtype` at `addr`, in pieces of whole
/// blocks.
fn write_synthetic(
    card: &mut Card,
    addr: u64,
    dtype: GgmlType,
    bytes: u64,
    rng: &mut Rng,
) -> Result<()> {
    let block = dtype.block_bytes();
    let piece = PIECE_BYTES / block * block;
    let mut off = 0;
    while off < bytes {
        let n = piece.min(bytes - off);
        card.write(addr + off, &synthetic(dtype, n as usize, rng))?;
        off += n;
    }
    Ok(())
}

/// Runs the model on one card of `board`.
pub fn run(board: &Board, opts: &RunOptions) -> Result<RunReport> {
    let started = std::time::Instant::now();
    let Prepared {
        m,
        regions,
        plan,
        placement,
        mut card,
        mut rng,
        weights,
        vocab,
    } = prepare(board, opts, &|_| true)?;
    let vocab_size = m.architecture.vocab_size;
    let check_ids = |ids: &[u32], what: &str| -> Result<()> {
        if let Some(&bad) = ids.iter().find(|&&i| u64::from(i) >= vocab_size) {
            bail!("{what}: token id {bad} is outside the vocabulary of {vocab_size}");
        }
        Ok(())
    };
    if let Some(p) = &opts.ids.prompt {
        check_ids(p, "--prompt-ids")?;
        if p.len() as u64 != opts.prompt {
            bail!(
                "{} prompt ids for a prompt of {} tokens",
                p.len(),
                opts.prompt
            );
        }
    }
    if let Some(f) = &opts.ids.forced {
        check_ids(f, "--force-ids")?;
        if (f.len() as u64) < opts.tokens {
            bail!(
                "--force-ids gives {} ids for {} decode tokens",
                f.len(),
                opts.tokens
            );
        }
    }
    let kv = opts.kv_type;
    let mut state = RegimeState::new(&plan, &regions, &board.host_link)?;

    // The steps: a prefill of the prompt then one decode per token, or with `past` only
    // the decode steps, from that position.
    let mut graphs: Vec<Graph> = Vec::new();
    let first_decode_pos = match opts.past {
        Some(past) => {
            fill_kv_cache(&mut card, &regions, &placement, kv, past, &mut rng)?;
            past
        }
        None => {
            let prefill = if opts.ids.logits_all {
                graph::prefill_all_logits(&m, opts.prompt, opts.context, kv, opts.attention)
            } else {
                graph::prefill_with(&m, opts.prompt, opts.context, kv, opts.attention)
            };
            graphs.push(prefill.map_err(|e| anyhow::anyhow!("{}", e.0))?);
            opts.prompt
        }
    };
    let has_prefill = opts.past.is_none();
    for t in 0..opts.tokens {
        graphs.push(
            graph::decode_with(&m, first_decode_pos + t, opts.context, kv, opts.attention)
                .map_err(|e| anyhow::anyhow!("{}", e.0))?,
        );
    }
    // Weights are streamed in the order the steps first read them.
    let mut order = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for n in &graphs[0].nodes {
        for o in &n.inputs {
            if o.kind == RegionKind::Weight && seen.insert(o.region.clone()) {
                order.push(placement.ids[&o.region].0);
            }
        }
    }
    state.set_weight_order(&order)?;

    let total_nodes: u64 = graphs.iter().map(|g| g.nodes.len() as u64).sum();
    let bar = ProgressBar::new(total_nodes);
    if opts.progress {
        bar.set_style(
            ProgressStyle::with_template(
                "{bar:40} {pos}/{len} kernels  {elapsed} (eta {eta})  {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
    } else {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }

    let clock = board.clock;
    let mut now = Time::ZERO;
    let mut card_stats = Stats::new();
    let mut decode_stats = Stats::new();
    let mut steps = Vec::new();
    let mut by_op: BTreeMap<String, OpSplit> = BTreeMap::new();
    let mut prefill_by_op: BTreeMap<String, OpSplit> = BTreeMap::new();
    let tokens_addr = placement.addr(act::TOKENS);
    let pos_addr = placement.addr(act::POS);
    let last_step = graphs.len() - 1;
    let mut kernels = Vec::new();
    let logits_addr = placement
        .addr(act::LOGITS)
        .context("the model has no logits buffer")?;
    let mut prompt_ids = Vec::new();
    let mut fed_ids = Vec::new();
    let mut generated_ids = Vec::new();
    let mut logits_rows = Vec::new();
    let mut row = vec![0u8; (vocab_size * 4) as usize];
    for (si, g) in graphs.iter().enumerate() {
        let is_decode = si > 0 || !has_prefill;
        bar.set_message(if is_decode {
            format!("decode token {si}")
        } else {
            "prefill".into()
        });
        // Inputs of the step: token ids and positions.
        let ids: Vec<u32> = if !is_decode {
            match &opts.ids.prompt {
                Some(p) => p.clone(),
                None => (0..g.n_tokens)
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
        if let Some(a) = tokens_addr {
            let bytes: Vec<u8> = ids.iter().flat_map(|&i| (i as i32).to_le_bytes()).collect();
            card.write(a, &bytes)?;
        }
        if let Some(a) = pos_addr {
            let pos: Vec<u8> = (0..g.n_tokens)
                .flat_map(|i| ((g.n_past + i) as i32).to_le_bytes())
                .collect();
            card.write(a, &pos)?;
        }
        let step_start = now;
        let mut st = StepTotals::default();
        for node in &g.nodes {
            let mut ready = now;
            for (o, write) in operands(node) {
                let &(id, _, bytes) = placement.ids.get(&o.region).with_context(|| {
                    format!(
                        "node `{}` uses region `{}`, which has no place",
                        node.name, o.region
                    )
                })?;
                let len = o.extent.min(bytes.saturating_sub(o.offset));
                let t = state.touch(id, o.offset, len, write, now)?;
                ready = ready.max(t);
            }
            st.host_link_stall_seconds += (ready - now).secs();
            let (kr, timing) = run_node(&mut card, board, opts, &m, &placement, node)
                .with_context(|| format!("step {si}, node `{}` ({})", node.name, node.kernel))?;
            let dur = clock.cycles_to_time(kr.cycles);
            now = ready + dur;
            let bound = timing.bound_seconds;
            if si == last_step && node.layer.is_none_or(|l| l == 0) {
                kernels.push(timing);
            }
            st.kernels += 1;
            st.reused += kr.reused as u64;
            st.flops += node.flops;
            st.bound_seconds += bound;
            card_stats.merge_under("card0", &kr.stats);
            if is_decode {
                decode_stats.merge_under("", &kr.stats);
            }
            {
                let split = if is_decode {
                    &mut by_op
                } else {
                    &mut prefill_by_op
                };
                let e = split.entry(node.op.ggml_name().to_string()).or_default();
                e.count += 1;
                e.seconds += dur.secs();
                e.bound_seconds += bound;
                e.flops += node.flops;
                e.bytes += node.bytes_moved;
            }
            bar.inc(1);
        }
        st.seconds = (now - step_start).secs();
        steps.push(st);
        // The step's output rows: its last position's, or with `logits_all` in the prefill
        // every position's, in position order; the last row gives the next token.
        let rows = if !is_decode && opts.ids.logits_all {
            g.n_tokens
        } else {
            1
        };
        for r in 0..rows {
            card.read(logits_addr + r * vocab_size * 4, &mut row)?;
            let values: Vec<f32> = row
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            if r + 1 == rows {
                generated_ids.push(argmax(&values));
            }
            if opts.ids.keep_logits {
                let at = g.n_tokens - rows + r;
                logits_rows.push(LogitsRow {
                    position: g.n_past + at,
                    token: ids[at as usize],
                    values,
                });
            }
        }
    }
    bar.finish_and_clear();

    let prefill = has_prefill.then(|| steps.remove(0));
    let n_dec = steps.len().max(1) as f64;
    let ms_per_token = if steps.is_empty() {
        0.0
    } else {
        steps.iter().map(|s| s.seconds).sum::<f64>() / n_dec * 1e3
    };
    let host_rate = state.link().sustained_bytes_per_s();
    let regime_stats = state.stats();
    let (link_in, _) = state.link_bytes();
    // Host-link bytes per decode token: what the regime moved after the prefill.
    let roofline_ms = steps.iter().map(|s| s.bound_seconds).sum::<f64>() / n_dec * 1e3;
    let link_ms = match plan.regime {
        regime::Regime::WeightStream => plan.footprint.weights as f64 / host_rate * 1e3,
        _ => 0.0,
    };
    let bound_ms = roofline_ms.max(link_ms);
    for v in by_op.values_mut() {
        v.count = (v.count as f64 / n_dec).round() as u64;
        v.seconds /= n_dec;
        v.bound_seconds /= n_dec;
        v.flops = (v.flops as f64 / n_dec).round() as u64;
        v.bytes = (v.bytes as f64 / n_dec).round() as u64;
    }
    let cyc = |c: f64| clock.cycles_to_time(c as u64).secs() / n_dec;
    let mut by_resource = BTreeMap::new();
    by_resource.insert(
        "matrix_unit".to_string(),
        cyc(counter(&decode_stats, "matmul.busy_cycles")?),
    );
    by_resource.insert(
        "vector_unit".to_string(),
        cyc(counter(&decode_stats, "vpu.busy_cycles")?),
    );
    by_resource.insert(
        "ddr".to_string(),
        counter(&decode_stats, "mem.ddr.data_bus_busy_time")? * 1e-9 / n_dec,
    );
    by_resource.insert(
        "host_link_stall".to_string(),
        steps.iter().map(|s| s.host_link_stall_seconds).sum::<f64>() / n_dec,
    );
    for (tree, prefix) in [(&mut card_stats, "card0."), (&mut decode_stats, "")] {
        let (ideal, busy) = (
            counter(tree, &format!("{prefix}matmul.ideal_cycles"))?,
            counter(tree, &format!("{prefix}matmul.busy_cycles"))?,
        );
        tree.set(
            format!("{prefix}matmul.utilisation"),
            if busy > 0.0 { ideal / busy } else { 0.0 },
            crate::stats::RATIO,
        );
    }
    let mut stats = card_stats;
    stats.merge_under("", &regime_stats);
    stats.set("host_link.bytes_in", link_in as f64, Unit::Bytes);
    let host_seconds = started.elapsed().as_secs_f64();
    Ok(RunReport {
        board: board.name.clone(),
        manifest: m.name.clone(),
        weights,
        regime: plan.regime.name().to_string(),
        regime_reason: plan.reason.clone(),
        context: opts.context,
        prompt: opts.prompt,
        tokens: opts.tokens,
        matrix_unit: opts.matrix_unit,
        kv_type: opts.kv_type,
        attention: opts.attention,
        attention_units: graphs
            .last()
            .map(|g| attention_units(board, &g.nodes, opts.matrix_unit))
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
        host_seconds,
        host_seconds_per_token: host_seconds
            / (if has_prefill { opts.prompt } else { 0 } + opts.tokens).max(1) as f64,
        stats,
        plan,
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
