//! The memory regions a model needs on the card: its weights (from the manifest), the KV
//! cache (derived for a context length) and the activation buffers (derived for a prompt
//! length and context), as the small list the memory regimes take.

use super::dtype::GgmlType;
use super::manifest::Manifest;
use std::fmt;

/// The region list is the memory regimes' input type: one definition, in the memory layer.
pub use crate::mem::regime::{RegionKind, RegionSpec};

/// An error in the step or region parameters (context, prompt length, KV type).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkloadError(pub String);

impl fmt::Display for WorkloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for WorkloadError {}

/// Names of the activation buffers. One set serves every layer (they are reused, as
/// llama.cpp's graph allocator does).
pub mod act {
    /// Token ids of the step (I32, one per token).
    pub const TOKENS: &str = "act.tokens";
    /// Positions of the step's tokens, `n_past..n_past + n` (I32, one per token; RoPE input).
    pub const POS: &str = "act.pos";
    /// Residual stream (F32, hidden x tokens).
    pub const X: &str = "act.x";
    /// Normalised residual, input of the projections (F32, hidden x tokens).
    pub const XN: &str = "act.xn";
    /// Queries (F32, hidden x tokens).
    pub const Q: &str = "act.q";
    /// New keys (F32, kv_dim x tokens).
    pub const K: &str = "act.k";
    /// New values (F32, kv_dim x tokens).
    pub const V: &str = "act.v";
    /// Attention scores and probabilities (F32, kv_len x tokens x heads).
    pub const KQ: &str = "act.kq";
    /// Attention output, heads merged (F32, hidden x tokens).
    pub const KQV: &str = "act.kqv";
    /// Output of the attention and FFN down projections before the residual add.
    pub const PROJ: &str = "act.proj";
    /// FFN gate projection, then SwiGLU result (F32, ffn x tokens).
    pub const GATE: &str = "act.gate";
    /// FFN up projection (F32, ffn x tokens).
    pub const UP: &str = "act.up";
    /// A matrix product's activation operand converted to the weight's `vec_dot_type`
    /// (Q8_0, Q8_K, F16): raw bytes.
    pub const SRC1_Q: &str = "act.src1_q";
    /// Logits of the last token (F32, vocab).
    pub const LOGITS: &str = "act.logits";
}

/// The K cache region of block `l`.
pub fn cache_k_name(l: u32) -> String {
    format!("cache_k_l{l}")
}

/// The V cache region of block `l`.
pub fn cache_v_name(l: u32) -> String {
    format!("cache_v_l{l}")
}

/// The shape of one step: `n_tokens` new tokens after `n_past` cached positions.
/// Decode is `n_tokens = 1`; a prefill of P tokens is `n_tokens = P, n_past = 0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepShape {
    /// Tokens processed in this step.
    pub n_tokens: u64,
    /// Positions already in the KV cache.
    pub n_past: u64,
}

impl StepShape {
    /// Positions attended to: cached plus new.
    pub fn kv_len(self) -> u64 {
        // Saturating: a position near u64::MAX must fail the context check, not wrap past it.
        self.n_past.saturating_add(self.n_tokens)
    }
}

/// One activation buffer of a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Buffer {
    /// Region name (one of [`act`]).
    pub name: &'static str,
    /// Element type.
    pub dtype: GgmlType,
    /// Shape, `ne0` first (for [`act::SRC1_Q`]: bytes as I8 elements).
    pub ne: [u64; 4],
    /// Size in bytes.
    pub bytes: u64,
}

/// Bytes of the converted activation operand of a matrix product whose `src0` has type
/// `src0_type` and rows of `k` elements, for `rows` activation rows (0 when no conversion
/// is needed, i.e. the `vec_dot_type` is F32).
pub fn src1_conversion_bytes(src0_type: GgmlType, k: u64, rows: u64) -> u64 {
    let vdt = src0_type.vec_dot_type();
    if vdt == GgmlType::F32 {
        return 0;
    }
    // GGML pads nothing: a row that is not whole blocks cannot be converted; such shapes are
    // refused earlier (weight rows are whole blocks of their own type, which are at least as
    // large as the vec_dot_type's blocks for every type used here).
    vdt.row_bytes(k).unwrap_or(k * 4) * rows
}

/// The activation buffers one step needs, sized for that step.
///
/// `outputs` is how many token rows the step's output head computes: 1 (the last token, as
/// llama.cpp when generating) or the step's every token (`logits_all`).
pub fn activation_buffers(
    m: &Manifest,
    kv_type: GgmlType,
    s: StepShape,
    outputs: u64,
) -> Vec<Buffer> {
    let a = &m.architecture;
    let (h, kv, f, t) = (a.hidden_size, a.kv_dim(), a.ffn_size, s.n_tokens);
    let heads = u64::from(a.heads);
    let buf = |name, dtype: GgmlType, ne: [u64; 4]| Buffer {
        name,
        dtype,
        ne,
        bytes: dtype.tensor_bytes(&ne).unwrap_or(0),
    };
    // The largest converted activation of any matrix product in the step.
    let mut src1_q = 0u64;
    for l in 0..a.layers {
        for w in [
            "attn_q",
            "attn_k",
            "attn_v",
            "attn_output",
            "ffn_gate",
            "ffn_up",
            "ffn_down",
        ] {
            if let Some(ts) = m.tensor(&format!("blk.{l}.{w}.weight")) {
                src1_q = src1_q.max(src1_conversion_bytes(ts.dtype, ts.shape[0], t));
            }
        }
    }
    let out = m
        .tensor("output.weight")
        .or_else(|| m.tensor("token_embd.weight"));
    if let Some(ts) = out {
        src1_q = src1_q.max(src1_conversion_bytes(ts.dtype, ts.shape[0], outputs));
    }
    src1_q = src1_q.max(src1_conversion_bytes(kv_type, a.head_dim(), t * heads));
    src1_q = src1_q.max(src1_conversion_bytes(kv_type, s.kv_len(), t * heads));
    vec![
        buf(act::TOKENS, GgmlType::I32, [t, 1, 1, 1]),
        buf(act::POS, GgmlType::I32, [t, 1, 1, 1]),
        buf(act::X, GgmlType::F32, [h, t, 1, 1]),
        buf(act::XN, GgmlType::F32, [h, t, 1, 1]),
        buf(act::Q, GgmlType::F32, [h, t, 1, 1]),
        buf(act::K, GgmlType::F32, [kv, t, 1, 1]),
        buf(act::V, GgmlType::F32, [kv, t, 1, 1]),
        buf(act::KQ, GgmlType::F32, [s.kv_len(), t, heads, 1]),
        buf(act::KQV, GgmlType::F32, [h, t, 1, 1]),
        buf(act::PROJ, GgmlType::F32, [h, t, 1, 1]),
        buf(act::GATE, GgmlType::F32, [f, t, 1, 1]),
        buf(act::UP, GgmlType::F32, [f, t, 1, 1]),
        buf(act::SRC1_Q, GgmlType::I8, [src1_q.max(1), 1, 1, 1]),
        buf(act::LOGITS, GgmlType::F32, [a.vocab_size, outputs, 1, 1]),
    ]
}

/// Parameters of the derived regions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegionParams {
    /// Context length the KV cache holds (positions).
    pub context: u64,
    /// Prompt length of the prefill step (the activation buffers are sized for the larger
    /// of that prefill and a decode step at full context).
    pub prompt: u64,
    /// Element type of the KV cache (F16 as llama.cpp's default; F32 or BF16 also allowed).
    pub kv_type: GgmlType,
    /// Whether the prefill computes the logits of every prompt position (llama.cpp's
    /// `logits_all`), not only the last one's.
    pub logits_all: bool,
}

impl RegionParams {
    /// F16 KV cache for `context` positions and a prompt of `prompt` tokens.
    pub fn new(context: u64, prompt: u64) -> Self {
        RegionParams {
            context,
            prompt,
            kv_type: GgmlType::F16,
            logits_all: false,
        }
    }

    /// Checks the parameters against the model.
    pub fn check(&self, m: &Manifest) -> Result<(), WorkloadError> {
        let max = m.architecture.max_context;
        if self.context == 0 || self.context > max {
            return Err(WorkloadError(format!(
                "context {} is outside 1..={max} (the model's max_context)",
                self.context
            )));
        }
        if self.prompt == 0 || self.prompt > self.context {
            return Err(WorkloadError(format!(
                "prompt length {} is outside 1..={} (the context)",
                self.prompt, self.context
            )));
        }
        check_kv_type(self.kv_type)
    }
}

/// The KV cache types a run may use: the float types and Q8_0 (llama.cpp's `-ctk/-ctv`).
/// A block type also needs fused attention, since split attention stores V transposed
/// (the graph refuses that pairing).
pub fn check_kv_type(t: GgmlType) -> Result<(), WorkloadError> {
    match t {
        GgmlType::F16 | GgmlType::F32 | GgmlType::BF16 | GgmlType::Q8_0 => Ok(()),
        other => Err(WorkloadError(format!(
            "KV cache type {other} is not supported (use F16, BF16, Q8_0 or F32)"
        ))),
    }
}

/// The KV cache regions: per block, K and V of `kv_dim` values for each of `context`
/// positions, both of `kv_type` (V is stored transposed under split attention, same size).
pub fn kv_regions(m: &Manifest, context: u64, kv_type: GgmlType) -> Vec<RegionSpec> {
    let a = &m.architecture;
    let bytes = kv_type.tensor_bytes(&[a.kv_dim(), context]).unwrap_or(0);
    let mut v = Vec::with_capacity(2 * a.layers as usize);
    for l in 0..a.layers {
        for name in [cache_k_name(l), cache_v_name(l)] {
            v.push(RegionSpec {
                name,
                kind: RegionKind::Kv,
                bytes,
                layer: Some(l),
            });
        }
    }
    v
}

/// The step shapes the activation buffers must serve: the prefill of the prompt and a
/// decode step at the last position of the context.
pub fn sizing_steps(p: &RegionParams) -> [StepShape; 2] {
    [
        StepShape {
            n_tokens: p.prompt,
            n_past: 0,
        },
        StepShape {
            n_tokens: 1,
            n_past: p.context - 1,
        },
    ]
}

/// The activation regions: each buffer sized for the largest step it serves.
pub fn activation_regions(m: &Manifest, p: &RegionParams) -> Vec<RegionSpec> {
    let [a, b] = sizing_steps(p);
    let prefill_outputs = if p.logits_all { p.prompt } else { 1 };
    let (ba, bb) = (
        activation_buffers(m, p.kv_type, a, prefill_outputs),
        activation_buffers(m, p.kv_type, b, 1),
    );
    ba.iter()
        .zip(&bb)
        .map(|(x, y)| RegionSpec {
            name: x.name.to_string(),
            kind: RegionKind::Activation,
            bytes: x.bytes.max(y.bytes),
            layer: None,
        })
        .collect()
}

/// Every region of the model for the given context and prompt: the manifest's tensors in
/// manifest order, then the KV cache by layer, then the activation buffers.
pub fn regions(m: &Manifest, p: &RegionParams) -> Result<Vec<RegionSpec>, WorkloadError> {
    p.check(m)?;
    let mut v: Vec<RegionSpec> = m
        .tensors
        .iter()
        .map(|t| RegionSpec {
            name: t.name.clone(),
            kind: t.kind,
            bytes: t.bytes,
            layer: t.layer,
        })
        .collect();
    v.extend(kv_regions(m, p.context, p.kv_type));
    v.extend(activation_regions(m, p));
    Ok(v)
}

/// Total bytes by kind: (weight, kv, activation).
pub fn totals(regions: &[RegionSpec]) -> (u64, u64, u64) {
    let sum = |k| {
        regions
            .iter()
            .filter(|r| r.kind == k)
            .map(|r| r.bytes)
            .sum()
    };
    (
        sum(RegionKind::Weight),
        sum(RegionKind::Kv),
        sum(RegionKind::Activation),
    )
}
