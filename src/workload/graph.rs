//! The llama forward pass for one step as a list of GGML ops, built from a manifest.
//!
//! A step processes `n_tokens` new tokens after `n_past` cached positions: decode is one
//! token, the prefill of a P-token prompt is P tokens from position 0. The ops follow
//! llama.cpp's `llm_build_llama` without flash attention:
//!
//! ```text
//! x = get_rows(token_embd, tokens)
//! per block l:
//!   xn = rms_norm(x) * attn_norm
//!   q, k, v = wq.xn, wk.xn, wv.xn ; q, k = rope(q), rope(k)
//!   cache_k[n_past..] = f16(k) ; cache_v[.., n_past..] = f16(v)   (V stored transposed)
//!   kq = K.q  (per head, grouped-query: heads/kv_heads queries share one K head)
//!   kq = soft_max(kq * 1/sqrt(head_dim) + causal mask)
//!   kqv = V.kq ; x = x + wo.kqv
//!   xn = rms_norm(x) * ffn_norm
//!   x = x + w_down.(silu(w_gate.xn) * (w_up.xn))
//! logits = output . (rms_norm(x[last]) * output_norm)
//! ```
//!
//! Each node names the GGML op, the kernel it binds to ([`super::kernels`]), its operands as
//! views of named regions (manifest tensors, `cache_k_l*`/`cache_v_l*`, `act.*`), its FLOPs
//! and the bytes it moves. Counting conventions (doc/manifests.md, "FLOPs and bytes"):
//! a multiply-add is 2 FLOPs; rms_norm 3 per element; mul and add 1; rope 3 per rotated
//! element; soft_max 7 per score (scale, mask, max, subtract, exp, sum, normalise); swiglu 4
//! per element (exp, add, divide, multiply); get_rows and cpy 0 (data movement; the type
//! conversion inside them and inside mul_mat's activation conversion is not counted).
//! Bytes moved count each operand once: every input read, the output written, and a matrix
//! product's converted activations written and read once.

use super::dtype::GgmlType;
use super::kernels;
use super::manifest::Manifest;
use super::regions::{
    act, activation_buffers, cache_k_name, cache_v_name, check_kv_type, src1_conversion_bytes,
    RegionKind, StepShape, WorkloadError,
};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// A GGML op.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// Embedding lookup (dequantizing rows).
    GetRows,
    /// RMS normalisation (without the weight).
    RmsNorm,
    /// Element-wise multiply (norm weight, broadcast over rows).
    Mul,
    /// Matrix product `src0 . src1^T`.
    MulMat,
    /// Rotary position embedding.
    Rope,
    /// Copy with type conversion (into the KV cache).
    Cpy,
    /// Softmax with scale and causal mask.
    SoftMax,
    /// Element-wise add (residual).
    Add,
    /// `silu(gate) * up`.
    Swiglu,
    /// Fused attention (`softmax(q.K^T * scale + causal mask) . V`, online softmax).
    FlashAttnExt,
    /// F32 activations to a quantized dot type (Q8_0, Q8_K), once for the matrix products
    /// that share them (ggml-cpu converts `src1` inside each `mul_mat`).
    Quantize,
}

impl Op {
    /// Every op, in enum order.
    pub const ALL: [Op; 11] = [
        Op::GetRows,
        Op::RmsNorm,
        Op::Mul,
        Op::MulMat,
        Op::Rope,
        Op::Cpy,
        Op::SoftMax,
        Op::Add,
        Op::Swiglu,
        Op::FlashAttnExt,
        Op::Quantize,
    ];

    /// GGML's name for the op.
    pub fn ggml_name(self) -> &'static str {
        match self {
            Op::GetRows => "get_rows",
            Op::RmsNorm => "rms_norm",
            Op::Mul => "mul",
            Op::MulMat => "mul_mat",
            Op::Rope => "rope",
            Op::Cpy => "cpy",
            Op::SoftMax => "soft_max",
            Op::Add => "add",
            Op::Swiglu => "swiglu",
            Op::FlashAttnExt => "flash_attn_ext",
            Op::Quantize => "quantize",
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.ggml_name())
    }
}

/// FLOPs per element of the element-wise ops (see the module doc).
pub mod flops_per_element {
    /// x^2, accumulate, scale.
    pub const RMS_NORM: u64 = 3;
    /// One multiply.
    pub const MUL: u64 = 1;
    /// One add.
    pub const ADD: u64 = 1;
    /// Two multiplies and an add per rotated element.
    pub const ROPE: u64 = 3;
    /// scale, mask, max, subtract, exp, sum, normalise.
    pub const SOFT_MAX: u64 = 7;
    /// exp, add, divide (silu), multiply (by up).
    pub const SWIGLU: u64 = 4;
}

/// Vector-unit lane operations per element that the vector ops need at least: one per
/// element per vector instruction of the cheapest sequence on an RVV unit, with the f32 exp
/// counted as the polynomial it needs (doc/kernels.md argues each count). Divided by the
/// unit's lanes, they give the op's vector-issue bound, beside its FLOP and byte bounds.
pub mod vector_ops_per_element {
    /// e^x in f32: range reduction (x * log2 e, round to an integer, back to float, two
    /// multiply-subtracts of a two-part ln 2) 5; a degree-7 polynomial by Horner 7 (a Taylor
    /// polynomial on |r| <= ln2 / 2 needs degree 7 for f32 accuracy; a minimax one degree 6,
    /// one less); scaling by 2^n (exponent add, shift into place, multiply) 3.
    pub const EXP: u64 = 15;
    /// 1 / x: a reciprocal estimate and two Newton steps of two multiply-adds each.
    pub const RECIPROCAL: u64 = 5;
    /// A vector load or store of an element: the unit's memory path is its lanes (a beat
    /// moves lanes x 32 bits, as an arithmetic beat does), so the element-wise ops below count
    /// one per operand element loaded and one per result element stored.
    pub const LOAD_STORE: u64 = 1;
    /// Two loads, the add, the store.
    pub const ADD: u64 = 2 * LOAD_STORE + 1 + LOAD_STORE;
    /// Two loads, the multiply, the store.
    pub const MUL: u64 = 2 * LOAD_STORE + 1 + LOAD_STORE;
    /// The load, the square, its accumulation into GGML's f64 sum (two 32-bit lanes per
    /// 64-bit element: 2), the second pass's load (a row of 2048 f32 does not fit the
    /// registers), the scale by 1/rms, the store.
    pub const RMS_NORM: u64 = LOAD_STORE + 1 + 2 + LOAD_STORE + 1 + LOAD_STORE;
    /// Per rotated element: the load, two multiplies and an add or subtract, the store.
    pub const ROPE: u64 = LOAD_STORE + 3 + LOAD_STORE;
    /// Per token and rotated pair: the rope's cos and sin, which every rope node computes
    /// for its own tokens (ggml_rope_cache_init does so per node too; the kernels keep no
    /// state between launches). In double, so that rounded to f32 they are libm's correctly
    /// rounded cosf/sinf; an op on 64-bit elements takes two 32-bit lanes. The angle
    /// (f32 multiply 1, widening 2), the reduction by pi/2 (round: multiply, add and subtract
    /// a shifter, 6; three multiply-subtracts of a three-part pi/2, 6), z = r^2 2, the
    /// minimax polynomials (sin: degree 13, 6 coefficients and the multiply-add into r, 7;
    /// cos: degree 14, 7 coefficients and the add of 1, 8; both on z's powers z^2..z^7 shared,
    /// 6 multiplies: 21 operations, 42), the quadrant (the integer k's low bit to a mask 2,
    /// two merges 2, the two signs by a shift and a sign-injection each and an add, 5: 9
    /// operations, 18), the rounding to f32 (two narrowing conversions, 4). doc/kernels.md
    /// argues the count.
    pub const ROPE_TABLE: u64 = 3 + 6 + 6 + 2 + 42 + 18 + 4;
    /// Per element of a row that get_rows gathers from a quantized table: the dequantization
    /// (Q4_0: the nibble, minus 8, widening, conversion, scale: 5; Q8_0: widening,
    /// conversion, scale: 3; Q4_K: the nibble, widening, conversion, scale, minus the
    /// minimum: 5; Q6_K: the low nibble, the two high bits (shift, mask), their or, widening,
    /// conversion, scale: 7; F16/BF16: widening 2; F32: a copy, none).
    /// Plus the f32 store of every element (the quantized bytes' loads are a fraction of an
    /// element each, not counted).
    pub fn get_rows(t: crate::workload::dtype::GgmlType) -> u64 {
        use crate::workload::dtype::GgmlType as G;
        LOAD_STORE
            + match t {
                G::Q4_0 | G::Q4_K => 5,
                G::Q8_0 => 3,
                G::Q6_K => 7,
                G::F16 | G::BF16 => 2,
                _ => LOAD_STORE,
            }
    }
    /// Scale with the mask (one multiply-add), max, subtract, exp, sum, normalise.
    pub const SOFT_MAX: u64 = 5 + EXP;
    /// silu(g) * u = g * 1 / (1 + e^-g) * u: the two loads, exp, add, reciprocal, two
    /// multiplies, the store.
    pub const SWIGLU: u64 = 2 * LOAD_STORE + EXP + 1 + RECIPROCAL + 2 + LOAD_STORE;
    /// One step of an online softmax per (query, key) pair: scale, running max, subtract,
    /// exp, sum, and the rescale of the running sum.
    pub const ONLINE_SOFT_MAX: u64 = 5 + EXP;
    /// Quantizing an activation: the load, |x| and the block maximum, the scale multiply,
    /// the round-to-integer conversion and two narrowing steps to int8 (the int8 store is a
    /// quarter of an f32 one, not counted).
    pub const QUANTIZE: u64 = LOAD_STORE + 6;
    /// cpy of an f32 into the KV cache: the load, the conversion (one narrowing conversion
    /// on an RVV unit with Zvfhmin; doc/kernels.md derives this core's figure without it),
    /// the store.
    pub const CPY: u64 = LOAD_STORE + 1 + LOAD_STORE;
}

/// The vector lane operations of a node of `op` with `flops` FLOPs (element-wise ops: the
/// element count times [`vector_ops_per_element`]; a matrix product on the vector unit: one
/// multiply-add per MAC). Attention sets its own.
fn vector_ops_of(op: Op, flops: u64) -> u64 {
    use flops_per_element as f;
    use vector_ops_per_element as v;
    match op {
        Op::Add => flops / f::ADD * v::ADD,
        Op::Mul => flops / f::MUL * v::MUL,
        Op::RmsNorm => flops / f::RMS_NORM * v::RMS_NORM,
        Op::Rope => flops / f::ROPE * v::ROPE,
        Op::SoftMax => flops / f::SOFT_MAX * v::SOFT_MAX,
        Op::Swiglu => flops / f::SWIGLU * v::SWIGLU,
        Op::MulMat => flops / 2,
        _ => 0,
    }
}

/// A view of a region that an op reads or writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Operand {
    /// Region name (manifest tensor, `cache_k_l3`, `act.x`).
    pub region: String,
    /// Region kind.
    pub kind: RegionKind,
    /// Element type of the view.
    pub dtype: GgmlType,
    /// Logical shape of the view, `ne0` first.
    pub ne: [u64; 4],
    /// Byte strides of the view per dimension, as `ggml_tensor::nb` (for block types
    /// `nb[0]` is the block size and dimension 0 counts elements).
    pub nb: [u64; 4],
    /// Byte offset of the view's first element in the region.
    pub offset: u64,
    /// Bytes from `offset` to the end of the view's last element (strided views span more
    /// than they touch).
    pub extent: u64,
    /// Bytes the op touches.
    pub bytes: u64,
}

/// The strides of a contiguous tensor of `dtype` with shape `ne`.
pub fn contiguous_nb(dtype: GgmlType, ne: [u64; 4]) -> [u64; 4] {
    let row = dtype.row_bytes(ne[0]).unwrap_or(0);
    [dtype.block_bytes(), row, row * ne[1], row * ne[1] * ne[2]]
}

/// Scalar parameters of a node.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Params {
    /// None.
    None,
    /// RMSNorm epsilon.
    RmsNorm {
        /// Epsilon.
        eps: f64,
    },
    /// Matrix product: the type the activations are converted to.
    MulMat {
        /// `vec_dot_type` of src0.
        vec_dot_type: GgmlType,
    },
    /// Rotary embedding of positions `n_past..n_past+n_tokens`.
    Rope {
        /// First position.
        n_past: u64,
        /// Rotated dimensions per head.
        dims: u32,
        /// Frequency base.
        freq_base: f64,
        /// GGML rope mode (0: rotate adjacent pairs, as llama).
        mode: u32,
    },
    /// Store into the KV cache.
    Cpy {
        /// First position written.
        n_past: u64,
        /// Whether the destination is the transposed V cache.
        transposed: bool,
    },
    /// Fused attention of the step's queries over the cached and new keys.
    Attention {
        /// Scale applied to q.k: 1/sqrt(head_dim).
        scale: f64,
        /// Positions before the first new token; token i sees positions `<= n_past + i`.
        n_past: u64,
    },
    /// Softmax of attention scores.
    SoftMax {
        /// Scale applied before the mask: 1/sqrt(head_dim).
        scale: f64,
        /// Positions before the first new token; token i sees positions `<= n_past + i`.
        n_past: u64,
        /// Causal mask applied.
        causal: bool,
    },
}

/// One op of the step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Node {
    /// Name (`blk.3.attn_q`, `inp_embd`, `output`).
    pub name: String,
    /// GGML op.
    pub op: Op,
    /// Kernel ABI name it binds to.
    pub kernel: String,
    /// Block, for per-layer ops.
    pub layer: Option<u32>,
    /// Operands read, in kernel argument order.
    pub inputs: Vec<Operand>,
    /// Operand written.
    pub output: Operand,
    /// Scratch written and read (a matrix product's converted activations).
    pub scratch: Option<Operand>,
    /// Scalar parameters.
    pub params: Params,
    /// Floating-point operations.
    pub flops: u64,
    /// Vector-unit lane operations it needs at least ([`vector_ops_per_element`]).
    pub vector_ops: u64,
    /// Of the work, the multiply-accumulates a matrix unit can take: a matrix product's
    /// MACs, attention's q.k and p.v products (the rest, its softmax, stays on the vector
    /// unit); 0 for the other ops.
    pub matrix_macs: u64,
    /// Bytes read plus bytes written.
    pub bytes_moved: u64,
}

/// One step of the model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Graph {
    /// Tokens processed.
    pub n_tokens: u64,
    /// Positions already cached.
    pub n_past: u64,
    /// Capacity of the KV cache in positions (the row stride of the transposed V cache).
    pub context: u64,
    /// KV cache element type.
    pub kv_type: GgmlType,
    /// How attention is computed (and so how the V cache is laid out).
    pub attention: Attention,
    /// The ops, in execution order.
    pub nodes: Vec<Node>,
}

/// Totals for one op kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct OpTotals {
    /// Nodes.
    pub count: u64,
    /// FLOPs.
    pub flops: u64,
    /// Bytes moved.
    pub bytes_moved: u64,
}

impl Graph {
    /// Total FLOPs.
    pub fn flops(&self) -> u64 {
        self.nodes.iter().map(|n| n.flops).sum()
    }

    /// Total bytes moved.
    pub fn bytes_moved(&self) -> u64 {
        self.nodes.iter().map(|n| n.bytes_moved).sum()
    }

    /// Number of nodes with op `op`.
    pub fn count(&self, op: Op) -> usize {
        self.nodes.iter().filter(|n| n.op == op).count()
    }

    /// Matrix products whose first operand is a weight.
    pub fn weight_matmuls(&self) -> impl Iterator<Item = &Node> {
        self.nodes
            .iter()
            .filter(|n| n.op == Op::MulMat && n.inputs[0].kind == RegionKind::Weight)
    }

    /// Count, FLOPs and bytes by op, in op order.
    pub fn by_op(&self) -> BTreeMap<Op, OpTotals> {
        let mut m = BTreeMap::new();
        for n in &self.nodes {
            let e: &mut OpTotals = m.entry(n.op).or_default();
            e.count += 1;
            e.flops += n.flops;
            e.bytes_moved += n.bytes_moved;
        }
        m
    }

    /// Count, FLOPs and bytes by kernel name, in name order.
    pub fn by_kernel(&self) -> BTreeMap<String, OpTotals> {
        let mut m = BTreeMap::new();
        for n in &self.nodes {
            let e: &mut OpTotals = m.entry(n.kernel.clone()).or_default();
            e.count += 1;
            e.flops += n.flops;
            e.bytes_moved += n.bytes_moved;
        }
        m
    }
}

/// How a step computes attention.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Attention {
    /// One `flash_attn_ext` node per block (llama.cpp with flash attention): an online
    /// softmax that reads each KV head's K and V once for all query heads of its group. The
    /// V cache is stored like K, one row of `kv_dim` values per position.
    #[default]
    Fused,
    /// `mul_mat` (K.q), `soft_max`, `mul_mat` (V.p), as llama.cpp runs without flash
    /// attention. The V cache is stored transposed: one row of `context` positions per
    /// dimension.
    Split,
}

impl Attention {
    /// Both, in enum order.
    pub const ALL: [Attention; 2] = [Attention::Fused, Attention::Split];

    /// The option value (`fused`, `split`).
    pub fn name(self) -> &'static str {
        match self {
            Attention::Fused => "fused",
            Attention::Split => "split",
        }
    }

    /// Parses an option value.
    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.name() == s)
    }

    /// Whether the V cache holds one row per dimension (`context` positions long).
    pub fn v_transposed(self) -> bool {
        self == Attention::Split
    }
}

impl fmt::Display for Attention {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The decode step of one token at position `n_past` (so `n_past + 1` positions attended),
/// with a KV cache of `context` positions of `kv_type`, fused attention.
pub fn decode(
    m: &Manifest,
    n_past: u64,
    context: u64,
    kv_type: GgmlType,
) -> Result<Graph, WorkloadError> {
    decode_with(m, n_past, context, kv_type, Attention::default())
}

/// [`decode`] with the given attention.
pub fn decode_with(
    m: &Manifest,
    n_past: u64,
    context: u64,
    kv_type: GgmlType,
    attention: Attention,
) -> Result<Graph, WorkloadError> {
    let s = StepShape {
        n_tokens: 1,
        n_past,
    };
    build_shard_with(m, s, context, kv_type, Shard::whole(m), attention)
}

/// The prefill of a `prompt`-token prompt from position 0, fused attention.
pub fn prefill(
    m: &Manifest,
    prompt: u64,
    context: u64,
    kv_type: GgmlType,
) -> Result<Graph, WorkloadError> {
    prefill_with(m, prompt, context, kv_type, Attention::default())
}

/// [`prefill`] with the given attention.
pub fn prefill_with(
    m: &Manifest,
    prompt: u64,
    context: u64,
    kv_type: GgmlType,
    attention: Attention,
) -> Result<Graph, WorkloadError> {
    let s = StepShape {
        n_tokens: prompt,
        n_past: 0,
    };
    build_shard_with(m, s, context, kv_type, Shard::whole(m), attention)
}

/// The attention heads and FFN width one card computes when a block is split over cards
/// (tensor parallel); the whole model's for a single card. The residual stream stays
/// `hidden_size` wide. The manifest the graph is built from must hold the matching weight
/// shards: Q `[hidden, heads x head_dim]`, K and V `[hidden, kv_heads x head_dim]`, the
/// output projection `[heads x head_dim, hidden]`, gate and up `[hidden, ffn]`, down
/// `[ffn, hidden]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Shard {
    /// Query heads.
    pub heads: u64,
    /// Key/value heads (a divisor of `heads`).
    pub kv_heads: u64,
    /// FFN inner width.
    pub ffn: u64,
}

impl Shard {
    /// The whole model.
    pub fn whole(m: &Manifest) -> Self {
        let a = &m.architecture;
        Shard {
            heads: u64::from(a.heads),
            kv_heads: u64::from(a.kv_heads),
            ffn: a.ffn_size,
        }
    }
}

/// Builds the step `s` with a KV cache of `context` positions, fused attention.
pub fn build(
    m: &Manifest,
    s: StepShape,
    context: u64,
    kv_type: GgmlType,
) -> Result<Graph, WorkloadError> {
    build_shard(m, s, context, kv_type, Shard::whole(m))
}

/// Builds the step `s` for one card's `shard` of every block (see [`Shard`]), fused
/// attention.
pub fn build_shard(
    m: &Manifest,
    s: StepShape,
    context: u64,
    kv_type: GgmlType,
    shard: Shard,
) -> Result<Graph, WorkloadError> {
    build_shard_with(m, s, context, kv_type, shard, Attention::default())
}

/// Builds the step `s` for one card's `shard` of every block, with the given attention.
pub fn build_shard_with(
    m: &Manifest,
    s: StepShape,
    context: u64,
    kv_type: GgmlType,
    shard: Shard,
    attention: Attention,
) -> Result<Graph, WorkloadError> {
    build_step(m, s, context, kv_type, shard, attention, false)
}

/// The prefill of a `prompt`-token prompt from position 0 whose output head computes the
/// logits of every prompt position (llama.cpp's `logits_all`) into `act.logits`
/// `[vocab, prompt]`, in position order.
pub fn prefill_all_logits(
    m: &Manifest,
    prompt: u64,
    context: u64,
    kv_type: GgmlType,
    attention: Attention,
) -> Result<Graph, WorkloadError> {
    let s = StepShape {
        n_tokens: prompt,
        n_past: 0,
    };
    build_step(m, s, context, kv_type, Shard::whole(m), attention, true)
}

/// Checks step `s` against the model and builds it for one card's `shard` (the whole model:
/// [`Shard::whole`]), with the given attention; `all_outputs`: the output head computes
/// every token's logits (llama.cpp's `logits_all`), not only the last one's.
pub fn build_step(
    m: &Manifest,
    s: StepShape,
    context: u64,
    kv_type: GgmlType,
    shard: Shard,
    attention: Attention,
    all_outputs: bool,
) -> Result<Graph, WorkloadError> {
    let a = &m.architecture;
    if shard.heads == 0
        || shard.kv_heads == 0
        || shard.ffn == 0
        || !shard.heads.is_multiple_of(shard.kv_heads)
    {
        return Err(WorkloadError(format!(
            "shard of {} heads, {} KV heads, FFN {}: need at least one of each, heads a multiple of KV heads",
            shard.heads, shard.kv_heads, shard.ffn
        )));
    }
    check_kv_type(kv_type)?;
    if kv_type.is_quantized() && attention.v_transposed() {
        return Err(WorkloadError(format!(
            "a {kv_type} KV cache needs fused attention: split attention stores V transposed, one \
             value at a time, which a block-quantized type cannot hold (llama.cpp likewise needs \
             flash attention for a quantized V cache)"
        )));
    }
    if s.n_tokens == 0 {
        return Err(WorkloadError("a step needs at least one token".into()));
    }
    if context == 0 || context > a.max_context {
        return Err(WorkloadError(format!(
            "context {context} is outside 1..={} (the model's max_context)",
            a.max_context
        )));
    }
    if s.kv_len() > context {
        return Err(WorkloadError(format!(
            "the step attends to {} positions ({} cached + {} new) but the KV cache holds {context}",
            s.kv_len(),
            s.n_past,
            s.n_tokens
        )));
    }
    let mut b = Builder::new(m, s, context, kv_type, shard, attention, all_outputs)?;
    b.embed()?;
    for l in 0..a.layers {
        b.block(l)?;
    }
    b.head()?;
    // Every node must bind to a program that implements its element types; say which
    // tensor brings a type none implements, before anything runs.
    for n in &b.nodes {
        if super::kernels::abi_of(&n.kernel).is_none() {
            let tensor = n
                .inputs
                .iter()
                .find(|o| o.kind == RegionKind::Weight)
                .map(|o| format!("tensor `{}` ({}): ", o.region, o.dtype))
                .unwrap_or_default();
            return Err(WorkloadError(format!(
                "{tensor}node `{}` needs kernel `{}`, but {}",
                n.name,
                n.kernel,
                super::kernels::unimplemented_reason(&n.kernel)
            )));
        }
    }
    Ok(Graph {
        n_tokens: s.n_tokens,
        n_past: s.n_past,
        context,
        kv_type,
        attention,
        nodes: b.nodes,
    })
}

struct Builder<'m> {
    m: &'m Manifest,
    shard: Shard,
    s: StepShape,
    context: u64,
    kv_type: GgmlType,
    /// Bytes of one head's `head_dim` values in the cache (whole blocks of `kv_type`).
    kv_head_bytes: u64,
    attention: Attention,
    /// The output head computes every token's logits, not only the last one's.
    all_outputs: bool,
    acts: BTreeMap<&'static str, super::regions::Buffer>,
    nodes: Vec<Node>,
}

impl<'m> Builder<'m> {
    fn new(
        m: &'m Manifest,
        s: StepShape,
        context: u64,
        kv_type: GgmlType,
        shard: Shard,
        attention: Attention,
        all_outputs: bool,
    ) -> Result<Self, WorkloadError> {
        let outputs = if all_outputs { s.n_tokens } else { 1 };
        let hd = m.architecture.head_dim();
        let kv_head_bytes = kv_type.row_bytes(hd).ok_or_else(|| {
            WorkloadError(format!(
                "KV cache type {kv_type}: head_dim {hd} is not a multiple of its block of {} values",
                kv_type.block_elems()
            ))
        })?;
        let acts = activation_buffers(m, kv_type, s, outputs)
            .into_iter()
            .map(|b| (b.name, b))
            .collect();
        Ok(Builder {
            m,
            shard,
            s,
            context,
            kv_type,
            kv_head_bytes,
            attention,
            all_outputs,
            acts,
            nodes: Vec::new(),
        })
    }

    /// The whole activation buffer `name` viewed as F32 (or its own type) of shape `ne`.
    fn act(&self, name: &'static str, ne: [u64; 4]) -> Operand {
        self.act_at(name, ne, 0)
    }

    /// A contiguous view of activation buffer `name` starting `offset` bytes in.
    fn act_at(&self, name: &'static str, ne: [u64; 4], offset: u64) -> Operand {
        let dtype = self.acts[name].dtype;
        let bytes = dtype.tensor_bytes(&ne).unwrap_or(0);
        Operand {
            region: name.to_string(),
            kind: RegionKind::Activation,
            dtype,
            ne,
            nb: contiguous_nb(dtype, ne),
            offset,
            extent: bytes,
            bytes,
        }
    }

    fn weight(&self, name: &str) -> Result<Operand, WorkloadError> {
        let t = self.m.tensor(name).ok_or_else(|| {
            WorkloadError(format!("manifest `{}` has no tensor `{name}`", self.m.name))
        })?;
        let mut ne = [1u64; 4];
        ne[..t.shape.len()].copy_from_slice(&t.shape);
        Ok(Operand {
            region: t.name.clone(),
            kind: t.kind,
            dtype: t.dtype,
            ne,
            nb: contiguous_nb(t.dtype, ne),
            offset: 0,
            extent: t.bytes,
            bytes: t.bytes,
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        name: String,
        op: Op,
        kernel: String,
        layer: Option<u32>,
        inputs: Vec<Operand>,
        output: Operand,
        params: Params,
        flops: u64,
    ) {
        self.push_with_scratch(name, op, kernel, layer, inputs, output, None, params, flops)
    }

    #[allow(clippy::too_many_arguments)]
    fn push_with_scratch(
        &mut self,
        name: String,
        op: Op,
        kernel: String,
        layer: Option<u32>,
        inputs: Vec<Operand>,
        output: Operand,
        scratch: Option<Operand>,
        params: Params,
        flops: u64,
    ) {
        let bytes_moved = inputs.iter().map(|o| o.bytes).sum::<u64>()
            + output.bytes
            + scratch.as_ref().map_or(0, |s| 2 * s.bytes);
        let vector_ops = if op == Op::Cpy {
            output.ne.iter().product::<u64>() * vector_ops_per_element::CPY
        } else {
            vector_ops_of(op, flops)
        };
        self.nodes.push(Node {
            name,
            op,
            kernel,
            layer,
            inputs,
            output,
            scratch,
            params,
            flops,
            vector_ops,
            matrix_macs: if op == Op::MulMat { flops / 2 } else { 0 },
            bytes_moved,
        });
    }

    fn embed(&mut self) -> Result<(), WorkloadError> {
        let a = &self.m.architecture;
        let t = self.s.n_tokens;
        let mut table = self.weight("token_embd.weight")?;
        let row = table.dtype.row_bytes(a.hidden_size).unwrap_or(0);
        table.bytes = row * t;
        let kernel = kernels::get_rows(table.dtype);
        let dequant = vector_ops_per_element::get_rows(table.dtype) * a.hidden_size * t;
        let tokens = self.act(act::TOKENS, [t, 1, 1, 1]);
        let out = self.act(act::X, [a.hidden_size, t, 1, 1]);
        self.push(
            "inp_embd".into(),
            Op::GetRows,
            kernel,
            None,
            vec![table, tokens],
            out,
            Params::None,
            0,
        );
        if let Some(n) = self.nodes.last_mut() {
            n.vector_ops = dequant;
        }
        Ok(())
    }

    /// rms_norm of `rows` rows of act.x starting at row `first`, then mul by `weight`.
    fn norm(
        &mut self,
        prefix: &str,
        layer: Option<u32>,
        weight: &str,
        first: u64,
        rows: u64,
    ) -> Result<(), WorkloadError> {
        let a = &self.m.architecture;
        let h = a.hidden_size;
        let x = self.act_at(act::X, [h, rows, 1, 1], first * h * 4);
        let xn = self.act(act::XN, [h, rows, 1, 1]);
        self.push(
            prefix.to_string(),
            Op::RmsNorm,
            kernels::RMS_NORM.into(),
            layer,
            vec![x],
            xn.clone(),
            Params::RmsNorm { eps: a.rms_eps },
            flops_per_element::RMS_NORM * h * rows,
        );
        let w = self.weight(weight)?;
        self.push(
            format!("{prefix}_mul"),
            Op::Mul,
            kernels::MUL.into(),
            layer,
            vec![xn.clone(), w],
            xn,
            Params::None,
            flops_per_element::MUL * h * rows,
        );
        Ok(())
    }

    /// The products `out_i = w_i . input` of several weights that read the same F32 input:
    /// when they share a quantized dot type (Q8_0 or Q8_K), one `quantize` node converts the
    /// input once into `act.src1_q` and every product reads that; otherwise each product
    /// converts it itself.
    fn matmuls_on(
        &mut self,
        input: Operand,
        rows: u64,
        layer: Option<u32>,
        products: &[(String, String, &'static str)],
    ) -> Result<(), WorkloadError> {
        let mut types = BTreeSet::new();
        for (_, weight, _) in products {
            types.insert(self.weight(weight)?.dtype.vec_dot_type());
        }
        let k = input.ne[0];
        let shared = match (types.len(), types.first()) {
            (1, Some(&t)) if products.len() > 1 && matches!(t, GgmlType::Q8_0 | GgmlType::Q8_K) => {
                t.row_bytes(k).map(|_| t)
            }
            _ => None,
        };
        let Some(vdt) = shared else {
            for (name, weight, out) in products {
                self.matmul(name.clone(), layer, weight, input.clone(), out, rows)?;
            }
            return Ok(());
        };
        let row = vdt.row_bytes(k).expect("checked above");
        let mut q = self.act(act::SRC1_Q, [row * rows, 1, 1, 1]);
        q.dtype = vdt;
        q.ne = [k, rows, 1, 1];
        q.nb = contiguous_nb(vdt, q.ne);
        let name = format!("{}_quantize", products[0].0);
        let elements = k * rows;
        self.push(
            name,
            Op::Quantize,
            kernels::quantize(vdt),
            layer,
            vec![input],
            q.clone(),
            Params::None,
            0,
        );
        if let Some(n) = self.nodes.last_mut() {
            n.vector_ops = elements * vector_ops_per_element::QUANTIZE;
        }
        for (name, weight, out) in products {
            self.matmul(name.clone(), layer, weight, q.clone(), out, rows)?;
        }
        Ok(())
    }

    /// `out = w . input` for `rows` activation rows.
    fn matmul(
        &mut self,
        name: String,
        layer: Option<u32>,
        weight: &str,
        input: Operand,
        out: &'static str,
        rows: u64,
    ) -> Result<(), WorkloadError> {
        let w = self.weight(weight)?;
        let (k, n) = (w.ne[0], w.ne[1]);
        if input.ne[0] != k {
            return Err(WorkloadError(format!(
                "`{weight}` has rows of {k} but its input has {}",
                input.ne[0]
            )));
        }
        // An input already in the weight's dot type (a `quantize` node's output) is used as
        // it is; an F32 input is converted by the kernel into its scratch.
        let conv = if input.dtype == GgmlType::F32 {
            src1_conversion_bytes(w.dtype, k, rows)
        } else {
            0
        };
        let scratch = (conv > 0).then(|| {
            let mut s = self.act(act::SRC1_Q, [conv, 1, 1, 1]);
            s.dtype = w.dtype.vec_dot_type();
            s.ne = [k, rows, 1, 1];
            s
        });
        let output = self.act(out, [n, rows, 1, 1]);
        let kernel = kernels::mul_mat(w.dtype);
        let vdt = w.dtype.vec_dot_type();
        self.push_with_scratch(
            name,
            Op::MulMat,
            kernel,
            layer,
            vec![w, input],
            output,
            scratch,
            Params::MulMat { vec_dot_type: vdt },
            2 * k * n * rows,
        );
        Ok(())
    }

    fn block(&mut self, l: u32) -> Result<(), WorkloadError> {
        let a = self.m.architecture.clone();
        let sh = self.shard;
        let hd = a.head_dim();
        let (h, f) = (a.hidden_size, sh.ffn);
        let (heads, kvh) = (sh.heads, sh.kv_heads);
        // Width of this card's queries and attention output (the hidden size when whole).
        let qd = heads * hd;
        let t = self.s.n_tokens;
        let p = |w: &str| format!("blk.{l}.{w}");
        let wt = |w: &str| format!("blk.{l}.{w}.weight");
        let ly = Some(l);

        // Attention.
        self.norm(&p("attn_norm"), ly, &wt("attn_norm"), 0, t)?;
        let xn = self.act(act::XN, [h, t, 1, 1]);
        self.matmuls_on(
            xn,
            t,
            ly,
            &[
                (p("attn_q"), wt("attn_q"), act::Q),
                (p("attn_k"), wt("attn_k"), act::K),
                (p("attn_v"), wt("attn_v"), act::V),
            ],
        )?;
        for (name, buf, nh) in [("rope_q", act::Q, heads), ("rope_k", act::K, kvh)] {
            let x = self.act(buf, [hd, nh, t, 1]);
            let pos = self.act(act::POS, [t, 1, 1, 1]);
            self.push(
                p(name),
                Op::Rope,
                kernels::ROPE.into(),
                ly,
                vec![x.clone(), pos],
                x,
                Params::Rope {
                    n_past: self.s.n_past,
                    dims: a.rope.dims,
                    freq_base: a.rope.freq_base,
                    mode: 0,
                },
                flops_per_element::ROPE * u64::from(a.rope.dims) * nh * t,
            );
            if let Some(n) = self.nodes.last_mut() {
                n.vector_ops += vector_ops_per_element::ROPE_TABLE * u64::from(a.rope.dims / 2) * t;
            }
        }
        self.kv_store(l)?;
        match self.attention {
            Attention::Fused => self.attention_fused(l)?,
            Attention::Split => self.attention_split(l)?,
        }
        let merged = self.act(act::KQV, [qd, t, 1, 1]);
        self.matmul(
            p("attn_output"),
            ly,
            &wt("attn_output"),
            merged,
            act::PROJ,
            t,
        )?;
        self.residual(p("attn_residual"), ly)?;

        // Feed-forward.
        self.norm(&p("ffn_norm"), ly, &wt("ffn_norm"), 0, t)?;
        let xn = self.act(act::XN, [h, t, 1, 1]);
        self.matmuls_on(
            xn,
            t,
            ly,
            &[
                (p("ffn_gate"), wt("ffn_gate"), act::GATE),
                (p("ffn_up"), wt("ffn_up"), act::UP),
            ],
        )?;
        let g = self.act(act::GATE, [f, t, 1, 1]);
        let u = self.act(act::UP, [f, t, 1, 1]);
        self.push(
            p("ffn_swiglu"),
            Op::Swiglu,
            kernels::SWIGLU.into(),
            ly,
            vec![g.clone(), u],
            g.clone(),
            Params::None,
            flops_per_element::SWIGLU * f * t,
        );
        self.matmul(p("ffn_down"), ly, &wt("ffn_down"), g, act::PROJ, t)?;
        self.residual(p("ffn_residual"), ly)
    }

    /// A cache row view: `rows` positions of `kv_dim` values from position `first`, in the
    /// K layout (and the V layout of fused attention).
    fn cache_rows(&self, region: String, first: u64, rows: u64) -> Operand {
        let kvd = self.shard.kv_heads * self.m.architecture.head_dim();
        let kvt = self.kv_type;
        let row = self.shard.kv_heads * self.kv_head_bytes;
        Operand {
            region,
            kind: RegionKind::Kv,
            dtype: kvt,
            ne: [kvd, rows, 1, 1],
            nb: [kvt.block_bytes(), row, row * rows, row * rows],
            offset: first * row,
            extent: rows * row,
            bytes: rows * row,
        }
    }

    /// The cached keys or values of every head for positions `0..kv_len`, viewed
    /// `[head_dim, kv_len, kv_heads]` (rows are positions).
    fn cache_heads(&self, region: String) -> Operand {
        let hd = self.m.architecture.head_dim();
        let (kvh, kv_len) = (self.shard.kv_heads, self.s.kv_len());
        let kvt = self.kv_type;
        let head = self.kv_head_bytes;
        let row = kvh * head;
        Operand {
            region,
            kind: RegionKind::Kv,
            dtype: kvt,
            ne: [hd, kv_len, kvh, 1],
            nb: [kvt.block_bytes(), row, head, row * kv_len],
            offset: 0,
            extent: kv_len * row,
            bytes: kv_len * row,
        }
    }

    /// Stores the step's new keys and values into the cache at positions
    /// `n_past..n_past + n_tokens`: K rows are positions; V likewise for fused attention,
    /// transposed (rows are dimensions, `context` positions long) for split attention.
    fn kv_store(&mut self, l: u32) -> Result<(), WorkloadError> {
        let hd = self.m.architecture.head_dim();
        let kvd = self.shard.kv_heads * hd;
        let t = self.s.n_tokens;
        let p = |w: &str| format!("blk.{l}.{w}");
        let ly = Some(l);
        let kvt = self.kv_type;
        let esz = kvt.block_bytes();
        let mut stores = vec![("k_store", act::K, cache_k_name(l))];
        if !self.attention.v_transposed() {
            stores.push(("v_store", act::V, cache_v_name(l)));
        }
        for (name, buf, region) in stores {
            let new = self.act(buf, [kvd, t, 1, 1]);
            let dst = self.cache_rows(region, self.s.n_past, t);
            self.push(
                p(name),
                Op::Cpy,
                kernels::cpy_f32(kvt),
                ly,
                vec![new],
                dst,
                Params::Cpy {
                    n_past: self.s.n_past,
                    transposed: false,
                },
                0,
            );
        }
        if !self.attention.v_transposed() {
            return Ok(());
        }
        // The new values viewed transposed ([t, kv_dim], llama.cpp's ggml_transpose), copied
        // element by element into V's rows.
        let mut v_new = self.act(act::V, [t, kvd, 1, 1]);
        v_new.nb = [kvd * 4, 4, kvd * 4 * t, kvd * 4 * t];
        let v_dst = Operand {
            region: cache_v_name(l),
            kind: RegionKind::Kv,
            dtype: kvt,
            ne: [t, kvd, 1, 1],
            nb: [
                esz,
                self.context * esz,
                kvd * self.context * esz,
                kvd * self.context * esz,
            ],
            offset: self.s.n_past * esz,
            extent: (kvd - 1) * self.context * esz + t * esz,
            bytes: t * kvd * esz,
        };
        self.push(
            p("v_store"),
            Op::Cpy,
            kernels::cpy_f32(kvt),
            ly,
            vec![v_new],
            v_dst,
            Params::Cpy {
                n_past: self.s.n_past,
                transposed: true,
            },
            0,
        );

        Ok(())
    }

    /// `flash_attn_ext`: the step's queries against the cached keys and values, output
    /// with heads merged as `[q_dim, t]` (act.kqv).
    fn attention_fused(&mut self, l: u32) -> Result<(), WorkloadError> {
        let hd = self.m.architecture.head_dim();
        let heads = self.shard.heads;
        let qd = heads * hd;
        let t = self.s.n_tokens;
        let n_past = self.s.n_past;
        // q viewed per head: element (d, token, head) at (token * qd + head * hd + d) * 4.
        let mut q = self.act(act::Q, [hd, t, heads, 1]);
        q.nb = [4, qd * 4, hd * 4, qd * t * 4];
        let k = self.cache_heads(cache_k_name(l));
        let v = self.cache_heads(cache_v_name(l));
        // Output [hd, heads, t]: the heads of one token are contiguous, i.e. act.kqv [qd, t].
        let out = self.act(act::KQV, [hd, heads, t, 1]);
        // Token i attends to positions 0..=n_past + i: each visible (query, key) pair costs
        // a q.k and a p.v product of head_dim multiply-adds and one softmax step.
        let pairs = heads * (t * n_past + t * (t + 1) / 2);
        self.push(
            format!("blk.{l}.attn"),
            Op::FlashAttnExt,
            kernels::flash_attn_ext(self.kv_type),
            Some(l),
            vec![q, k, v],
            out,
            Params::Attention {
                scale: 1.0 / (hd as f64).sqrt(),
                n_past,
            },
            pairs * (4 * hd + flops_per_element::SOFT_MAX),
        );
        // Per pair: the q.k and p.v multiply-adds and one online softmax step.
        if let Some(n) = self.nodes.last_mut() {
            n.vector_ops = pairs * (2 * hd + vector_ops_per_element::ONLINE_SOFT_MAX);
            n.matrix_macs = pairs * 2 * hd;
        }
        Ok(())
    }

    /// K.q, soft_max, V.p (llama.cpp without flash attention), output as act.kqv.
    fn attention_split(&mut self, l: u32) -> Result<(), WorkloadError> {
        let a = self.m.architecture.clone();
        let sh = self.shard;
        let hd = a.head_dim();
        let kvd = sh.kv_heads * hd;
        let (heads, kvh) = (sh.heads, sh.kv_heads);
        let qd = heads * hd;
        let t = self.s.n_tokens;
        let kv_len = self.s.kv_len();
        let p = |w: &str| format!("blk.{l}.{w}");
        let ly = Some(l);
        let kvt = self.kv_type;
        let esz = kvt.block_bytes();
        // Scores: K [hd, kv_len, kv_heads] . q [hd, t, heads] -> [kv_len, t, heads].
        let k_view = self.cache_heads(cache_k_name(l));
        // q viewed per head: element (d, token, head) at (token * qd + head * hd + d) * 4.
        let mut q = self.act(act::Q, [hd, t, heads, 1]);
        q.nb = [4, qd * 4, hd * 4, qd * t * 4];
        let kq = self.act(act::KQ, [kv_len, t, heads, 1]);
        let conv = src1_conversion_bytes(kvt, hd, t * heads);
        let scratch = (conv > 0).then(|| {
            let mut s = self.act(act::SRC1_Q, [conv, 1, 1, 1]);
            s.dtype = kvt.vec_dot_type();
            s.ne = [hd, t, heads, 1];
            s
        });
        self.push_with_scratch(
            p("kq"),
            Op::MulMat,
            kernels::mul_mat(kvt),
            ly,
            vec![k_view, q],
            kq.clone(),
            scratch,
            Params::MulMat {
                vec_dot_type: kvt.vec_dot_type(),
            },
            2 * hd * kv_len * t * heads,
        );
        self.push(
            p("kq_soft_max"),
            Op::SoftMax,
            kernels::SOFT_MAX.into(),
            ly,
            vec![kq.clone()],
            kq.clone(),
            Params::SoftMax {
                scale: 1.0 / (hd as f64).sqrt(),
                n_past: self.s.n_past,
                causal: true,
            },
            flops_per_element::SOFT_MAX * kv_len * t * heads,
        );
        // Weighted values: V^T [kv_len, hd, kv_heads] . kq [kv_len, t, heads] -> [hd, t, heads],
        // written with heads merged as [hidden, t] (llama.cpp's permute + cont).
        let v_view = Operand {
            region: cache_v_name(l),
            kind: RegionKind::Kv,
            dtype: kvt,
            ne: [kv_len, hd, kvh, 1],
            nb: [
                esz,
                self.context * esz,
                hd * self.context * esz,
                kvd * self.context * esz,
            ],
            offset: 0,
            extent: (kvd - 1) * self.context * esz + kv_len * esz,
            bytes: kv_len * kvd * esz,
        };
        let conv = src1_conversion_bytes(kvt, kv_len, t * heads);
        let scratch = (conv > 0).then(|| {
            let mut s = self.act(act::SRC1_Q, [conv, 1, 1, 1]);
            s.dtype = kvt.vec_dot_type();
            s.ne = [kv_len, t, heads, 1];
            s
        });
        // Output [hd, t, heads] written with heads merged: element (d, token, head) at
        // (token * qd + head * hd + d) * 4, i.e. act.kqv is [qd, t] (qd = hidden when whole).
        let mut kqv = self.act(act::KQV, [hd, t, heads, 1]);
        kqv.nb = [4, qd * 4, hd * 4, qd * t * 4];
        self.push_with_scratch(
            p("kqv"),
            Op::MulMat,
            kernels::mul_mat(kvt),
            ly,
            vec![v_view, kq],
            kqv.clone(),
            scratch,
            Params::MulMat {
                vec_dot_type: kvt.vec_dot_type(),
            },
            2 * kv_len * hd * t * heads,
        );
        Ok(())
    }

    fn residual(&mut self, name: String, layer: Option<u32>) -> Result<(), WorkloadError> {
        let h = self.m.architecture.hidden_size;
        let t = self.s.n_tokens;
        let x = self.act(act::X, [h, t, 1, 1]);
        let proj = self.act(act::PROJ, [h, t, 1, 1]);
        self.push(
            name,
            Op::Add,
            kernels::ADD.into(),
            layer,
            vec![x.clone(), proj],
            x,
            Params::None,
            flops_per_element::ADD * h * t,
        );
        Ok(())
    }

    /// Final norm and output projection, for the last token only (llama.cpp computes logits
    /// only for the tokens whose output is wanted: the last one when generating), or for
    /// every token of the step (`logits_all`).
    fn head(&mut self) -> Result<(), WorkloadError> {
        let h = self.m.architecture.hidden_size;
        let (first, rows) = if self.all_outputs {
            (0, self.s.n_tokens)
        } else {
            (self.s.n_tokens - 1, 1)
        };
        self.norm("output_norm", None, "output_norm.weight", first, rows)?;
        let w = if self.m.tensor("output.weight").is_some() {
            "output.weight"
        } else {
            "token_embd.weight"
        };
        let xn = self.act(act::XN, [h, rows, 1, 1]);
        self.matmul("output".into(), None, w, xn, act::LOGITS, rows)
    }
}
