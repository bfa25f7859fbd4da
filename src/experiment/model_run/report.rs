//! What a model run measured: one report for any number of cards, with the whole system's
//! figures, each card's, and the inter-card traffic when there is more than one.

use super::node::NodeTiming;
use super::options::Split;
use crate::config::Topology;
use crate::mem::regime::Plan;
use crate::stats::Stats;
use crate::workload::graph::{self, Shard};
use crate::workload::GgmlType;
use serde::Serialize;
use std::collections::BTreeMap;

/// Everything a run measured.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// Board name.
    pub board: String,
    /// Manifest name.
    pub manifest: String,
    /// Where the weight bytes came from.
    pub weights: WeightsReport,
    /// The regime in force: card 0's, or each distinct one in card order joined by `+`.
    pub regime: String,
    /// Why (card 0's; every card's is in `per_card`).
    pub regime_reason: String,
    /// Card 0's plan (every card's footprint is in `per_card`).
    pub plan: Plan,
    /// KV cache capacity in positions.
    pub context: u64,
    /// The model's trained context, when `context` is beyond it (`context_overflow`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trained_context: Option<u64>,
    /// Prompt tokens.
    pub prompt: u64,
    /// Decode tokens.
    pub tokens: u64,
    /// Cards the model ran on.
    pub cards: usize,
    /// How the model was split over them (absent on one card).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parallel: Option<Split>,
    /// Their wiring (absent on one card).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topology: Option<Topology>,
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
    /// Decode kernel time per op kind, per token, summed over the cards (card-seconds: on N
    /// tensor-parallel cards working at once this exceeds the step time).
    pub by_op: BTreeMap<String, OpSplit>,
    /// Prefill kernel time per op kind (the whole prefill step, summed over the cards;
    /// absent without a prefill).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub prefill_by_op: BTreeMap<String, OpSplit>,
    /// Every kernel of the last step's first layer and of no layer (embedding, final norm,
    /// output), each with its bound; with several cards, each node from the first card that
    /// ran it.
    pub kernels: Vec<NodeTiming>,
    /// Busy seconds per resource over the decode steps, per token, summed over the cards.
    pub by_resource: BTreeMap<String, f64>,
    /// Each card's share.
    pub per_card: Vec<CardSummary>,
    /// The inter-card link over the decode steps (several cards only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<LinkUse>,
    /// The AllReduces over the decode steps (tensor parallel on several cards).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub collective: Option<CollectiveUse>,
    /// Stage-to-stage transfers over the decode steps (pipeline parallel on several cards).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forward: Option<ForwardUse>,
    /// Host wall time of the whole run.
    pub host_seconds: f64,
    /// Host seconds per emulated token (prefill tokens + decode tokens).
    pub host_seconds_per_token: f64,
    /// Counters: each card's kernels under `card<i>.` (with its regime and host link under
    /// `card<i>.regime.` and `card<i>.host_link.`), the regimes and host links summed over
    /// the cards at the root, and with several cards the kernels' sum under `total.` and the
    /// inter-card channels under `link.`.
    pub stats: Stats,
    /// Prompt and generated token ids.
    pub tokens_out: TokensReport,
    /// Every computed logits row, when asked for (`TokenIds::keep_logits`); written to a
    /// file by the caller, not serialized.
    #[serde(skip)]
    pub logits: Vec<LogitsRow>,
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

/// Totals of one step.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StepTotals {
    /// Emulated seconds from the step's start to its end on the last card.
    pub seconds: f64,
    /// Seconds the cards waited for their host links (summed over the cards).
    pub host_link_stall_seconds: f64,
    /// Closed-form bound of the step (combined over the cards as [`Bound`] is).
    pub bound_seconds: f64,
    /// Kernels run (or reused), all cards.
    pub kernels: u64,
    /// Kernels whose timing was reused from an identical invocation.
    pub reused: u64,
    /// FLOPs, all cards.
    pub flops: u64,
}

/// The weights a run used.
#[derive(Debug, Clone, Serialize)]
pub struct WeightsReport {
    /// `synthetic (seed N)` or the GGUF file's path.
    pub source: String,
    /// Bytes of weights placed in card memory, all cards (replicated tensors count once per
    /// card that holds them).
    pub bytes: u64,
    /// For a GGUF source: SHA-256 of the weight bytes, tensor by tensor in manifest order
    /// (the file's tensor data in that order hashes the same). On one card they are read
    /// back from card memory; on several, the whole tensors as read from the file, before
    /// they are cut per card.
    pub sha256: Option<String>,
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
    /// Milliseconds per token. Per card, the larger of its nodes' summed rooflines and the
    /// host-link bytes it must stream per token at the link rate; over the cards, the
    /// slowest card's with tensor parallel (they work at once) and the stages' summed
    /// rooflines with pipeline parallel (they work in turn), never below the slowest card's
    /// streaming. Inter-card transfers are left out, so it is a lower bound.
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

/// One card of a run.
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
    /// Query heads, KV heads and FFN width of its shard (tensor parallel).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard: Option<Shard>,
    /// First and one-past-last block (pipeline parallel).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layers: Option<(u32, u32)>,
    /// Kernels per decode token.
    pub kernels_per_token: f64,
    /// Kernel time per decode token, ms.
    pub busy_ms_per_token: f64,
    /// Host-link stalls per decode token, ms.
    pub host_link_stall_ms_per_token: f64,
    /// Decode time minus kernel and host-link time: waiting for the link or other cards.
    pub wait_ms_per_token: f64,
    /// This card's closed-form bound per decode token, ms.
    pub bound_ms_per_token: f64,
    /// Its decode kernel time per op kind, per token.
    pub by_op: BTreeMap<String, OpSplit>,
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

/// The AllReduces (tensor parallel) over the decode steps.
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

/// Stage-to-stage activation transfers (pipeline parallel) over the decode steps.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ForwardUse {
    /// Transfers per token (activations forward and the token id back).
    pub transfers_per_token: f64,
    /// Payload bytes per token.
    pub bytes_per_token: f64,
    /// Time from send to arrival, summed, ms per token.
    pub ms_per_token: f64,
}
