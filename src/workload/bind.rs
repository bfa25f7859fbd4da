//! Binding a graph node to its kernel program: the descriptor (`abi::OpDesc`) the program
//! reads, once each region has an address in card memory.
//!
//! Placement (which address each region gets) belongs to the memory layer; this module only
//! needs a function from region name to base address. Operand views keep their strides, so
//! the strided views of attention (q per head, K rows, transposed V) reach the kernel as
//! `ggml_tensor` views would.

use super::abi::{OpCode, OpDesc, TensorDesc};
use super::graph::{Node, Op, Operand, Params};
use super::kernels::abi_of;
use super::regions::WorkloadError;

/// The descriptor opcode of a graph op.
pub fn opcode(op: Op) -> OpCode {
    match op {
        Op::GetRows => OpCode::GetRows,
        Op::RmsNorm => OpCode::RmsNorm,
        Op::Mul => OpCode::Mul,
        Op::MulMat => OpCode::MulMat,
        Op::Rope => OpCode::Rope,
        Op::Cpy => OpCode::Cpy,
        Op::SoftMax => OpCode::SoftMax,
        Op::Add => OpCode::Add,
        Op::Swiglu => OpCode::Swiglu,
        Op::FlashAttnExt => OpCode::Attention,
        Op::Quantize => OpCode::Quantize,
    }
}

/// Parameter slots of the descriptor (`SAIL_P_*` in `programs/kernels/ggml_abi.h`).
pub mod slot {
    /// RMS_NORM epsilon (f32).
    pub const RMS_EPS: usize = 0;
    /// SOFT_MAX scale (f32).
    pub const SOFTMAX_SCALE: usize = 0;
    /// SOFT_MAX ALiBi max bias (f32, 0).
    pub const SOFTMAX_MAX_BIAS: usize = 1;
    /// SOFT_MAX causal flag (i32).
    pub const SOFTMAX_CAUSAL: usize = 2;
    /// SOFT_MAX cached positions (i32).
    pub const SOFTMAX_N_PAST: usize = 3;
    /// ATTENTION scale (f32).
    pub const ATTN_SCALE: usize = 0;
    /// ATTENTION ALiBi max bias (f32, 0).
    pub const ATTN_MAX_BIAS: usize = 1;
    /// ATTENTION causal flag (i32).
    pub const ATTN_CAUSAL: usize = 2;
    /// ATTENTION cached positions (i32).
    pub const ATTN_N_PAST: usize = 3;
    /// ROPE rotated dimensions (i32).
    pub const ROPE_N_DIMS: usize = 1;
    /// ROPE mode (i32, 0 normal).
    pub const ROPE_MODE: usize = 2;
    /// ROPE original context (i32).
    pub const ROPE_N_CTX_ORIG: usize = 4;
    /// ROPE frequency base (f32).
    pub const ROPE_FREQ_BASE: usize = 5;
    /// ROPE frequency scale (f32).
    pub const ROPE_FREQ_SCALE: usize = 6;
    /// ROPE YaRN extrapolation factor (f32, 0).
    pub const ROPE_EXT_FACTOR: usize = 7;
    /// ROPE attention factor (f32).
    pub const ROPE_ATTN_FACTOR: usize = 8;
}

fn tensor(o: &Operand, base: u64) -> TensorDesc {
    TensorDesc {
        type_id: o.dtype.id(),
        ne: o.ne.map(|x| x as i64),
        nb: o.nb,
        data: base + o.offset,
    }
}

/// The descriptor of `node`, with each region at the address `place` gives it.
/// `max_context` is the model's trained context (RoPE's `n_ctx_orig`).
pub fn descriptor(
    node: &Node,
    max_context: u64,
    place: &dyn Fn(&str) -> Option<u64>,
) -> Result<OpDesc, WorkloadError> {
    if abi_of(&node.kernel).is_none() {
        return Err(WorkloadError(format!(
            "node `{}`: kernel `{}` is not in the ABI table",
            node.name, node.kernel
        )));
    }
    let addr = |o: &Operand| {
        place(&o.region).ok_or_else(|| {
            WorkloadError(format!(
                "node `{}`: region `{}` has no address",
                node.name, o.region
            ))
        })
    };
    let mut src = Vec::with_capacity(node.inputs.len());
    for o in &node.inputs {
        src.push(tensor(o, addr(o)?));
    }
    if src.len() > 4 {
        return Err(WorkloadError(format!(
            "node `{}` has {} sources; the descriptor holds 4",
            node.name,
            src.len()
        )));
    }
    let work = match &node.scratch {
        Some(s) => (addr(s)? + s.offset, s.bytes),
        None => (0, 0),
    };
    let mut d = OpDesc {
        op: opcode(node.op),
        work,
        params: [0; 16],
        dst: tensor(&node.output, addr(&node.output)?),
        src,
    };
    match node.params {
        Params::RmsNorm { eps } => d.set_f32(slot::RMS_EPS, eps as f32),
        Params::SoftMax {
            scale,
            n_past,
            causal,
        } => {
            d.set_f32(slot::SOFTMAX_SCALE, scale as f32);
            d.set_f32(slot::SOFTMAX_MAX_BIAS, 0.0);
            d.params[slot::SOFTMAX_CAUSAL] = i32::from(causal);
            d.params[slot::SOFTMAX_N_PAST] = i32_param(&node.name, "n_past", n_past)?;
        }
        Params::Attention { scale, n_past } => {
            d.set_f32(slot::ATTN_SCALE, scale as f32);
            d.set_f32(slot::ATTN_MAX_BIAS, 0.0);
            d.params[slot::ATTN_CAUSAL] = 1;
            d.params[slot::ATTN_N_PAST] = i32_param(&node.name, "n_past", n_past)?;
        }
        Params::Rope {
            dims,
            freq_base,
            mode,
            ..
        } => {
            d.params[slot::ROPE_N_DIMS] = i32_param(&node.name, "dims", u64::from(dims))?;
            d.params[slot::ROPE_MODE] = i32_param(&node.name, "mode", u64::from(mode))?;
            d.params[slot::ROPE_N_CTX_ORIG] = i32_param(&node.name, "n_ctx_orig", max_context)?;
            d.set_f32(slot::ROPE_FREQ_BASE, freq_base as f32);
            d.set_f32(slot::ROPE_FREQ_SCALE, 1.0);
            d.set_f32(slot::ROPE_EXT_FACTOR, 0.0);
            d.set_f32(slot::ROPE_ATTN_FACTOR, 1.0);
        }
        Params::None | Params::MulMat { .. } | Params::Cpy { .. } => {}
    }
    Ok(d)
}

fn i32_param(node: &str, what: &str, v: u64) -> Result<i32, WorkloadError> {
    i32::try_from(v).map_err(|_| {
        WorkloadError(format!(
            "node `{node}`: {what} = {v} does not fit the descriptor's i32"
        ))
    })
}
