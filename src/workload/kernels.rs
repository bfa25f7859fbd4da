//! The kernel ABI names: which compiled program each graph node binds to.
//!
//! A kernel name is the GGML op and the element types that decide which code runs, in GGML's
//! lower-case type names: `mul_mat_q4_K` multiplies Q4_K weights by F32 activations
//! (converting the activations to Q8_K first), `get_rows_q4_0` dequantizes Q4_0 rows,
//! `cpy_f32_f16` converts F32 to F16. Each name binds to a kernel program of
//! `programs/kernels/` (`k_mul_mat.elf`, ...) and an opcode of its descriptor ABI
//! (`programs/kernels/ggml_abi.h`, `enum sail_opcode`); the element types travel in the
//! descriptor's tensors. doc/manifests.md lists the same table.

use super::abi::OpCode;
use super::dtype::GgmlType;
use GgmlType::{BF16, F16, F32, Q4_0, Q4_K, Q6_K, Q8_0, Q8_K};

/// What a kernel does, its operands and scalar parameters, for documentation and binding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KernelAbi {
    /// Name pattern (`mul_mat_<w>`); `<w>` is the weight type, `<t>` the table type,
    /// `<kv>` the KV cache type.
    pub pattern: &'static str,
    /// The GGML op it implements.
    pub ggml_op: &'static str,
    /// The kernel program (`programs/kernels/elf/<program>.elf`).
    pub program: &'static str,
    /// The descriptor opcode (`enum sail_opcode` in `programs/kernels/ggml_abi.h`).
    pub opcode: OpCode,
    /// Source operands, in order.
    pub srcs: &'static [&'static str],
    /// Destination.
    pub dst: &'static str,
    /// Scalar parameters.
    pub params: &'static str,
    /// The element types the program implements for the pattern's `<...>` placeholder
    /// (empty when the pattern has none).
    pub types: &'static [GgmlType],
}

/// Every kernel pattern the llama graph uses.
pub const KERNELS: &[KernelAbi] = &[
    KernelAbi {
        pattern: "get_rows_<t>",
        ggml_op: "GET_ROWS",
        program: "k_get_rows",
        opcode: OpCode::GetRows,
        srcs: &["table <t> [ne0, rows]", "row ids I32 [n]"],
        dst: "F32 [ne0, n]",
        params: "-",
        types: &[F32, F16, BF16, Q4_0, Q8_0, Q4_K, Q6_K],
    },
    KernelAbi {
        pattern: "rms_norm_f32",
        ggml_op: "RMS_NORM",
        program: "k_rms_norm",
        opcode: OpCode::RmsNorm,
        srcs: &["x F32 [ne0, n]"],
        dst: "F32 [ne0, n]: x / sqrt(mean(x^2) + eps)",
        params: "eps",
        types: &[],
    },
    KernelAbi {
        pattern: "mul_f32",
        ggml_op: "MUL",
        program: "k_eltwise",
        opcode: OpCode::Mul,
        srcs: &["a F32 [ne0, n]", "b F32 [ne0] (broadcast over rows)"],
        dst: "F32 [ne0, n]",
        params: "-",
        types: &[],
    },
    KernelAbi {
        pattern: "add_f32",
        ggml_op: "ADD",
        program: "k_eltwise",
        opcode: OpCode::Add,
        srcs: &["a F32 [ne0, n]", "b F32 [ne0, n]"],
        dst: "F32 [ne0, n]",
        params: "-",
        types: &[],
    },
    KernelAbi {
        pattern: "mul_mat_<w>",
        ggml_op: "MUL_MAT",
        program: "k_mul_mat",
        opcode: OpCode::MulMat,
        srcs: &[
            "src0 <w> [k, m, b2] (weights or KV cache; b2 broadcast to src1's ne2)",
            "src1 F32 [k, n, ne2]",
        ],
        dst: "F32 [m, n, ne2]: dst = src0 . src1^T per batch",
        params: "scratch: src1 converted to vec_dot_type(<w>)",
        types: &[F32, F16, BF16, Q4_0, Q8_0, Q4_K, Q6_K],
    },
    KernelAbi {
        pattern: "rope_f32",
        ggml_op: "ROPE",
        program: "k_rope",
        opcode: OpCode::Rope,
        srcs: &["x F32 [head_dim, heads, n]", "positions I32 [n]"],
        dst: "F32, same shape (in place)",
        params: "dims, mode 0 (adjacent pairs), freq_base, freq_scale 1",
        types: &[],
    },
    KernelAbi {
        pattern: "cpy_f32_<kv>",
        ggml_op: "CPY",
        program: "k_cpy",
        opcode: OpCode::Cpy,
        srcs: &["x F32 [kv_dim, n]"],
        dst: "<kv> cache view at positions n_past..n_past+n (V transposed: stride = context)",
        params: "n_past, transposed",
        types: &[F32, F16, BF16, Q8_0],
    },
    KernelAbi {
        pattern: "soft_max_f32",
        ggml_op: "SOFT_MAX",
        program: "k_soft_max",
        opcode: OpCode::SoftMax,
        srcs: &["scores F32 [kv_len, n, heads]"],
        dst: "F32, same shape (in place)",
        params: "scale = 1/sqrt(head_dim); causal mask: token i sees positions <= n_past + i",
        types: &[],
    },
    KernelAbi {
        pattern: "swiglu_f32",
        ggml_op: "GLU (SWIGLU)",
        program: "k_eltwise",
        opcode: OpCode::Swiglu,
        srcs: &["gate F32 [ffn, n]", "up F32 [ffn, n]"],
        dst: "F32 [ffn, n]: silu(gate) * up (written over gate)",
        params: "-",
        types: &[],
    },
    KernelAbi {
        pattern: "quantize_<q>",
        ggml_op: "MUL_MAT's src1 conversion (QUANTIZE)",
        program: "k_quantize",
        opcode: OpCode::Quantize,
        srcs: &["x F32 [k, n]"],
        dst: "<q> [k, n]",
        params: "-",
        types: &[Q8_0, Q8_K],
    },
    KernelAbi {
        pattern: "flash_attn_ext_<kv>",
        ggml_op: "FLASH_ATTN_EXT (ATTENTION)",
        program: "k_attention",
        opcode: OpCode::Attention,
        srcs: &[
            "q F32 [head_dim, n, heads]",
            "K <kv> cache [head_dim, kv_len, kv_heads]",
            "V <kv> cache [head_dim, kv_len, kv_heads] (rows are positions)",
        ],
        dst: "F32 [head_dim, heads, n]",
        params: "scale = 1/sqrt(head_dim); causal: token i sees positions <= n_past + i",
        types: &[F16, BF16, Q8_0],
    },
];

/// `get_rows_<t>`.
pub fn get_rows(t: GgmlType) -> String {
    format!("get_rows_{}", t.ggml_name())
}

/// `mul_mat_<w>`.
pub fn mul_mat(w: GgmlType) -> String {
    format!("mul_mat_{}", w.ggml_name())
}

/// `flash_attn_ext_<kv>`.
pub fn flash_attn_ext(kv: GgmlType) -> String {
    format!("flash_attn_ext_{}", kv.ggml_name())
}

/// `quantize_<q>`.
pub fn quantize(q: GgmlType) -> String {
    format!("quantize_{}", q.ggml_name())
}

/// `cpy_f32_<kv>`.
pub fn cpy_f32(to: GgmlType) -> String {
    format!("cpy_f32_{}", to.ggml_name())
}

/// Element-wise and normalisation kernels on F32 data.
pub const RMS_NORM: &str = "rms_norm_f32";
/// Row-broadcast multiply.
pub const MUL: &str = "mul_f32";
/// Element-wise add.
pub const ADD: &str = "add_f32";
/// Rotary embedding.
pub const ROPE: &str = "rope_f32";
/// Scaled, causally masked softmax.
pub const SOFT_MAX: &str = "soft_max_f32";
/// SwiGLU.
pub const SWIGLU: &str = "swiglu_f32";

/// The ABI entry a concrete kernel name belongs to.
pub fn abi_of(kernel: &str) -> Option<&'static KernelAbi> {
    KERNELS.iter().find(|k| match k.pattern.split_once('<') {
        Some((prefix, _)) => kernel
            .strip_prefix(prefix)
            .and_then(GgmlType::from_name)
            .is_some_and(|t| k.types.contains(&t)),
        None => k.pattern == kernel,
    })
}

/// Why no program implements `kernel`: the pattern it matches and the types that pattern's
/// program implements, or that no pattern matches.
pub fn unimplemented_reason(kernel: &str) -> String {
    let pattern = KERNELS.iter().find(|k| {
        k.pattern
            .split_once('<')
            .is_some_and(|(prefix, _)| kernel.starts_with(prefix))
    });
    match pattern {
        Some(k) => {
            let names: Vec<&str> = k.types.iter().map(|t| t.ggml_name()).collect();
            format!(
                "{} implements `{}` for {} only",
                k.program,
                k.pattern,
                names.join(", ")
            )
        }
        None => "no kernel program implements it".to_string(),
    }
}
