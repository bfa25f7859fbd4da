//! What a model run is asked to do: the model, the step shapes, the KV cache, the units, and
//! how many cards share the model and how.

use crate::config::Topology;
use crate::mem::regime::MemoryModelChoice;
use crate::workload::graph;
use crate::workload::GgmlType;
use serde::Serialize;
use std::path::PathBuf;
use std::sync::Arc;

/// The manifest a run without a manifest or a weights file uses.
pub const DEFAULT_MANIFEST: &str = "tinyllama-1.1b-q4_k_m";

/// How far past its trained context a run may take a model (`context_overflow`).
pub const MAX_CONTEXT_OVERFLOW: u64 = 8;

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
    /// Allow `context` beyond the model's trained context (its `max_context`), as llama.cpp
    /// does with a warning: the timing is the card's at that length, the values past the
    /// trained length are what the model computes there. At most
    /// [`MAX_CONTEXT_OVERFLOW`] times the trained context.
    pub context_overflow: bool,
    /// Prompt length (prefill tokens).
    pub prompt: u64,
    /// Decode steps after the prefill.
    pub tokens: u64,
    /// Memory regime choice (each card plans its own from what it holds).
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
    /// emulating a prefill; `prompt` is then unused.
    pub past: Option<u64>,
    /// Cycle limit per kernel.
    pub max_kernel_cycles: u64,
    /// Where to report progress (nothing when `None`).
    pub progress: Option<ProgressSink>,
    /// Token ids the run feeds instead of seeded random ones.
    pub ids: TokenIds,
    /// The cards the model is spread over (one by default).
    pub cards: Cards,
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
    /// Keep every computed logits row in the report (`RunReport::logits`).
    pub keep_logits: bool,
    /// The prefill computes the logits of every prompt position (llama.cpp's `logits_all`),
    /// not only the last one's.
    pub logits_all: bool,
}

/// How a model is split over several cards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    /// Tensor parallel: every block's heads and FFN split over the cards.
    Tp,
    /// Pipeline parallel: contiguous runs of blocks, one per card.
    Pp,
}

impl Split {
    /// The report's words for it.
    pub fn describe(self) -> &'static str {
        match self {
            Split::Tp => "tensor parallel",
            Split::Pp => "pipeline parallel",
        }
    }
}

/// The cards of a run. One card is the case `count = 1`, where the split does not matter.
#[derive(Debug, Clone, Copy)]
pub struct Cards {
    /// How many.
    pub count: usize,
    /// How the model is split over them.
    pub split: Split,
    /// How they are wired.
    pub topology: Topology,
    /// Host threads running the cards between synchronisation points (emulated times do not
    /// depend on it).
    pub threads: usize,
    /// AllReduce pipelining segment in bytes (tensor parallel).
    pub segment: u64,
}

impl Cards {
    /// One card.
    pub const ONE: Cards = Cards {
        count: 1,
        split: Split::Tp,
        topology: Topology::Ring,
        threads: 1,
        segment: 32 << 10,
    };
}

impl Default for Cards {
    fn default() -> Self {
        Cards::ONE
    }
}

/// Receives a run's progress. The library draws nothing; a front end may draw a bar.
pub trait Progress: Send + Sync {
    /// The run will execute `kernels` kernel invocations over all cards.
    fn start(&self, kernels: u64);
    /// A step begins (`prefill`, `decode token 3`).
    fn step(&self, label: &str);
    /// One kernel invocation finished.
    fn kernel_done(&self);
    /// The run is over.
    fn finish(&self);
}

/// A shared [`Progress`] receiver.
#[derive(Clone)]
pub struct ProgressSink(pub Arc<dyn Progress>);

impl std::fmt::Debug for ProgressSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProgressSink")
    }
}
