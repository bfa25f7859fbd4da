//! GGML's tensor element types and block formats, and the reference quantizers the matrix
//! unit's activations need.
//!
//! The byte layouts are GGML's (`ggml-common.h`): little-endian, packed, one `static_assert`
//! per block size. [`GgmlType`] carries GGML's own type ids, so a kernel can pass
//! `tensor->type` straight into an Xpop_matmul descriptor. [`quantize`] holds the reference
//! quantizers for the activation formats (Q8_0, Q8_K) and the float conversions (F16, BF16)
//! written to reproduce `quantize_row_q8_0_ref` / `quantize_row_q8_K_ref` bit for bit.

pub mod quantize;

use std::fmt;
use std::str::FromStr;

/// Elements in a K-quant super-block (GGML's `QK_K`).
pub const QK_K: usize = 256;
/// Elements in a Q4_0 / Q8_0 block (GGML's `QK4_0`, `QK8_0`).
pub const QK8_0: usize = 32;

/// A GGML tensor element type, numbered as GGML numbers them (`enum ggml_type`).
#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GgmlType {
    /// IEEE binary32.
    F32,
    /// IEEE binary16.
    F16,
    /// 32 elements: f16 scale, 16 bytes of 4-bit quants (offset 8).
    Q4_0,
    /// 32 elements: f16 scale, 32 signed bytes.
    Q8_0,
    /// 256 elements: f16 d and dmin, 12 bytes of packed 6-bit scales and mins, 128 bytes of nibbles.
    Q4_K,
    /// 256 elements: 128 bytes low nibbles, 64 bytes high 2-bit pairs, 16 signed scales, f16 d.
    Q6_K,
    /// 256 elements: f32 d, 256 signed bytes, 16 i16 group sums (activation type only).
    Q8_K,
    /// bfloat16: the top half of an IEEE binary32.
    BF16,
}

impl GgmlType {
    /// Every type this module knows, in id order.
    pub const ALL: [GgmlType; 8] = [
        GgmlType::F32,
        GgmlType::F16,
        GgmlType::Q4_0,
        GgmlType::Q8_0,
        GgmlType::Q4_K,
        GgmlType::Q6_K,
        GgmlType::Q8_K,
        GgmlType::BF16,
    ];

    /// GGML's numeric id (`GGML_TYPE_Q4_K` = 12, ...).
    pub fn id(self) -> u32 {
        match self {
            GgmlType::F32 => 0,
            GgmlType::F16 => 1,
            GgmlType::Q4_0 => 2,
            GgmlType::Q8_0 => 8,
            GgmlType::Q4_K => 12,
            GgmlType::Q6_K => 14,
            GgmlType::Q8_K => 15,
            GgmlType::BF16 => 30,
        }
    }

    /// The type with GGML id `id`, if this module knows it.
    pub fn from_id(id: u32) -> Option<GgmlType> {
        Self::ALL.into_iter().find(|t| t.id() == id)
    }

    /// GGML's name for the type (`q4_K`, `bf16`).
    pub fn name(self) -> &'static str {
        match self {
            GgmlType::F32 => "f32",
            GgmlType::F16 => "f16",
            GgmlType::Q4_0 => "q4_0",
            GgmlType::Q8_0 => "q8_0",
            GgmlType::Q4_K => "q4_K",
            GgmlType::Q6_K => "q6_K",
            GgmlType::Q8_K => "q8_K",
            GgmlType::BF16 => "bf16",
        }
    }

    /// Elements per block (1 for the plain float types).
    pub fn block_elems(self) -> usize {
        match self {
            GgmlType::F32 | GgmlType::F16 | GgmlType::BF16 => 1,
            GgmlType::Q4_0 | GgmlType::Q8_0 => QK8_0,
            GgmlType::Q4_K | GgmlType::Q6_K | GgmlType::Q8_K => QK_K,
        }
    }

    /// Bytes per block.
    pub fn block_bytes(self) -> usize {
        match self {
            GgmlType::F32 => 4,
            GgmlType::F16 | GgmlType::BF16 => 2,
            GgmlType::Q4_0 => 18,
            GgmlType::Q8_0 => 34,
            GgmlType::Q4_K => 144,
            GgmlType::Q6_K => 210,
            GgmlType::Q8_K => 292,
        }
    }

    /// The alignment, in bytes, that the block's widest field needs (f32 d of Q8_K: 4;
    /// f16 fields: 2).
    pub fn alignment(self) -> u64 {
        match self {
            GgmlType::F32 | GgmlType::Q8_K => 4,
            _ => 2,
        }
    }

    /// Bytes of a row of `k` elements, or `None` when `k` is not a whole number of blocks.
    pub fn row_bytes(self, k: u64) -> Option<u64> {
        let be = self.block_elems() as u64;
        if !k.is_multiple_of(be) {
            return None;
        }
        (k / be).checked_mul(self.block_bytes() as u64)
    }

    /// The activation type GGML's CPU backend pairs with this weight type in its dot product
    /// (`vec_dot_type`): Q8_0 for Q4_0 and Q8_0, Q8_K for the K-quants, BF16 for BF16.
    /// `None` for types the matrix unit does not take as weights.
    pub fn vec_dot_type(self) -> Option<GgmlType> {
        match self {
            GgmlType::Q4_0 | GgmlType::Q8_0 => Some(GgmlType::Q8_0),
            GgmlType::Q4_K | GgmlType::Q6_K => Some(GgmlType::Q8_K),
            GgmlType::BF16 => Some(GgmlType::BF16),
            _ => None,
        }
    }
}

impl fmt::Display for GgmlType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for GgmlType {
    type Err = String;
    /// Parses GGML's name, case-insensitively (`q4_K`, `Q4_K`, `bf16`).
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|t| t.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|t| t.name()).collect();
                format!("unknown GGML type `{s}` (known: {})", names.join(", "))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_names_and_sizes_match_ggml() {
        // ggml.h: GGML_TYPE_Q4_0 = 2, Q8_0 = 8, Q4_K = 12, Q6_K = 14, Q8_K = 15, BF16 = 30.
        for (t, id, bytes, elems) in [
            (GgmlType::Q4_0, 2, 18, 32),
            (GgmlType::Q8_0, 8, 34, 32),
            (GgmlType::Q4_K, 12, 144, 256),
            (GgmlType::Q6_K, 14, 210, 256),
            (GgmlType::Q8_K, 15, 292, 256),
            (GgmlType::BF16, 30, 2, 1),
        ] {
            assert_eq!(t.id(), id);
            assert_eq!(GgmlType::from_id(id), Some(t));
            assert_eq!(t.block_bytes(), bytes);
            assert_eq!(t.block_elems(), elems);
            assert_eq!(t.name().parse::<GgmlType>(), Ok(t));
        }
        assert_eq!(GgmlType::from_id(3), None);
        assert!("q5_K".parse::<GgmlType>().is_err());
    }

    #[test]
    fn row_bytes_needs_whole_blocks() {
        assert_eq!(GgmlType::Q4_K.row_bytes(2048), Some(8 * 144));
        assert_eq!(GgmlType::Q4_K.row_bytes(2000), None);
        assert_eq!(GgmlType::Q4_0.row_bytes(64), Some(36));
        assert_eq!(GgmlType::BF16.row_bytes(3), Some(6));
    }
}
