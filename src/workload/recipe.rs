//! Which GGML type llama.cpp's quantizer gives each tensor of a llama model, for the two
//! file types shipped as manifests (Q4_K_M and Q4_0), restated from `llama_tensor_get_type`
//! in llama.cpp's `src/llama-quant.cpp` for the case that applies here: a dense llama model
//! (no experts, not the 70B size class, not Falcon), quantized without an importance matrix,
//! without `--pure` and without per-tensor overrides.
//!
//! The rules, in order:
//! 1. Tensors that are not matrices (the RMSNorm weight vectors) are not quantized: they stay
//!    F32, as the converter wrote them.
//! 2. `output.weight` gets Q6_K (any file type whose base type is not Q8_0), or Q8_0 when its
//!    rows are not whole blocks of the base type.
//! 3. `token_embd.weight` keeps the base type (Q4_K for Q4_K_M, Q4_0 for Q4_0).
//! 4. Q4_K_M only: `attn_v.weight` and `ffn_down.weight` of block i get Q6_K when
//!    `use_more_bits(i, n)` holds, with n the number of blocks:
//!    `i < n/8 || i >= 7n/8 || (i - n/8) % 3 == 2` (integer division). For n = 22 that is
//!    blocks 0, 1, 4, 7, 10, 13, 16, 19, 20, 21 (ten of 22).
//! 5. Everything else gets the base type.
//! 6. A tensor whose rows are not whole blocks of the chosen type falls back: Q4_K -> Q5_0,
//!    Q6_K -> Q8_0, then F16 if even that does not fit.
//!
//! The layer index in rule 4 is a counter over attn_v (resp. ffn_down) tensors in the order
//! the loader visits them, which is sorted by block number (`weight_name_comparer`), so it
//! equals the block number.

use super::arch::Architecture;
use super::dtype::GgmlType;
use super::manifest::TensorSpec;
use super::regions::RegionKind;

/// A llama.cpp file type (`llama_ftype`) this module can restate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileType {
    /// `LLAMA_FTYPE_MOSTLY_Q4_0`: base type Q4_0.
    MostlyQ4_0,
    /// `LLAMA_FTYPE_MOSTLY_Q4_K_M`: base type Q4_K, with Q6_K for sensitive tensors.
    MostlyQ4KM,
}

impl FileType {
    /// The type most tensors get.
    pub fn base_type(self) -> GgmlType {
        match self {
            FileType::MostlyQ4_0 => GgmlType::Q4_0,
            FileType::MostlyQ4KM => GgmlType::Q4_K,
        }
    }
}

/// llama.cpp's `use_more_bits(i_layer, n_layers)`.
pub fn use_more_bits(i: u32, n: u32) -> bool {
    // Written with signed arithmetic as in C++: for i < n/8 the first clause already holds.
    let (i, n) = (i as i64, n as i64);
    i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2
}

/// The type llama.cpp chooses for tensor `name` (block `layer`) of shape `shape`.
pub fn tensor_type(
    ft: FileType,
    name: &str,
    layer: Option<u32>,
    shape: &[u64],
    n_layers: u32,
) -> GgmlType {
    if shape.len() < 2 || name.ends_with("_norm.weight") {
        return GgmlType::F32;
    }
    let base = ft.base_type();
    let ne0 = shape[0];
    let chosen = if name == "output.weight" {
        if !ne0.is_multiple_of(base.block_elems()) {
            GgmlType::Q8_0
        } else {
            GgmlType::Q6_K
        }
    } else if name == "token_embd.weight" {
        base
    } else if ft == FileType::MostlyQ4KM
        && (name.ends_with("attn_v.weight") || name.ends_with("ffn_down.weight"))
        && layer.is_some_and(|l| use_more_bits(l, n_layers))
    {
        GgmlType::Q6_K
    } else {
        base
    };
    fallback(chosen, ne0)
}

/// Rule 6: the fallback when rows are not whole blocks.
fn fallback(t: GgmlType, ne0: u64) -> GgmlType {
    if ne0.is_multiple_of(t.block_elems()) {
        return t;
    }
    let f = match t {
        GgmlType::Q4_K => GgmlType::Q5_0,
        GgmlType::Q6_K => GgmlType::Q8_0,
        GgmlType::Q5_K => GgmlType::Q5_1,
        other => other,
    };
    if ne0.is_multiple_of(f.block_elems()) {
        f
    } else {
        GgmlType::F16
    }
}

/// The weight table llama.cpp's quantizer would write for a llama model with architecture
/// `a` and file type `ft`, in file order (no offsets).
pub fn llama_weights(a: &Architecture, ft: FileType) -> Vec<TensorSpec> {
    a.expected_weights()
        .into_iter()
        .map(|e| {
            let dtype = tensor_type(ft, &e.name, e.layer, &e.shape, a.layers);
            TensorSpec {
                bytes: dtype
                    .tensor_bytes(&e.shape)
                    .expect("fallback types always fit the row length"),
                name: e.name,
                kind: RegionKind::Weight,
                dtype,
                shape: e.shape,
                layer: e.layer,
                offset: None,
            }
        })
        .collect()
}

/// Layers whose `attn_v` and `ffn_down` get Q6_K under Q4_K_M.
pub fn q4_k_m_q6_layers(n_layers: u32) -> Vec<u32> {
    (0..n_layers)
        .filter(|&i| use_more_bits(i, n_layers))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn use_more_bits_for_22_layers() {
        assert_eq!(
            q4_k_m_q6_layers(22),
            vec![0, 1, 4, 7, 10, 13, 16, 19, 20, 21]
        );
        // 32 layers (llama-7B): i < 4, i >= 28, (i - 4) % 3 == 2.
        assert_eq!(
            q4_k_m_q6_layers(32),
            vec![0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30, 31]
        );
    }

    #[test]
    fn types_follow_the_rules() {
        let ft = FileType::MostlyQ4KM;
        assert_eq!(
            tensor_type(ft, "blk.0.attn_norm.weight", Some(0), &[2048], 22),
            GgmlType::F32
        );
        assert_eq!(
            tensor_type(ft, "output.weight", None, &[2048, 32000], 22),
            GgmlType::Q6_K
        );
        assert_eq!(
            tensor_type(ft, "token_embd.weight", None, &[2048, 32000], 22),
            GgmlType::Q4_K
        );
        assert_eq!(
            tensor_type(ft, "blk.4.attn_v.weight", Some(4), &[2048, 256], 22),
            GgmlType::Q6_K
        );
        assert_eq!(
            tensor_type(ft, "blk.5.attn_v.weight", Some(5), &[2048, 256], 22),
            GgmlType::Q4_K
        );
        assert_eq!(
            tensor_type(ft, "blk.5.attn_k.weight", Some(5), &[2048, 256], 22),
            GgmlType::Q4_K
        );
        assert_eq!(
            tensor_type(ft, "blk.21.ffn_down.weight", Some(21), &[5632, 2048], 22),
            GgmlType::Q6_K
        );
        let q40 = FileType::MostlyQ4_0;
        assert_eq!(
            tensor_type(q40, "output.weight", None, &[2048, 32000], 22),
            GgmlType::Q6_K
        );
        assert_eq!(
            tensor_type(q40, "blk.0.ffn_down.weight", Some(0), &[5632, 2048], 22),
            GgmlType::Q4_0
        );
        // A row of 2080 is not whole Q4_K blocks: fallback to Q5_0 (2080 = 65 x 32).
        assert_eq!(
            tensor_type(ft, "blk.5.attn_q.weight", Some(5), &[2080, 2080], 22),
            GgmlType::Q5_0
        );
        assert_eq!(
            tensor_type(ft, "blk.0.attn_v.weight", Some(0), &[2080, 2080], 22),
            GgmlType::Q8_0
        );
        assert_eq!(
            tensor_type(ft, "blk.5.attn_q.weight", Some(5), &[100, 100], 22),
            GgmlType::F16
        );
    }
}
