//! GGML tensor element types: their numeric ids in GGUF files, their names, and how many
//! bytes a row of them takes.
//!
//! Every GGML type stores elements in blocks: `block_elems` consecutive elements of a row
//! packed into `block_bytes` bytes (1 element for plain types such as F32). A row's length
//! (`ne0`) must be a whole number of blocks. The sizes are those of the `block_*` structs in
//! GGML's `ggml-common.h`; a test checks them against the `gguf` Python package.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

macro_rules! ggml_types {
    ($( $(#[$doc:meta])* $v:ident = $id:literal, $name:literal, $lower:literal, $elems:literal, $bytes:literal; )*) => {
        /// A GGML tensor element type.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[allow(non_camel_case_types)]
        pub enum GgmlType {
            $( $(#[$doc])* $v, )*
        }

        impl GgmlType {
            /// Every type this crate knows, in id order.
            pub const ALL: &'static [GgmlType] = &[$(GgmlType::$v,)*];

            /// The type's id in GGUF tensor tables (`enum ggml_type`).
            pub fn id(self) -> u32 {
                match self { $(GgmlType::$v => $id,)* }
            }

            /// The type with GGUF id `id`, if this crate knows it.
            pub fn from_id(id: u32) -> Option<GgmlType> {
                match id { $($id => Some(GgmlType::$v),)* _ => None }
            }

            /// The upper-case name used in manifests and by gguf-py (`Q4_K`).
            pub fn name(self) -> &'static str {
                match self { $(GgmlType::$v => $name,)* }
            }

            /// GGML's own lower-case type name (`q4_K`), used in kernel names.
            pub fn ggml_name(self) -> &'static str {
                match self { $(GgmlType::$v => $lower,)* }
            }

            /// Elements per block.
            pub fn block_elems(self) -> u64 {
                match self { $(GgmlType::$v => $elems,)* }
            }

            /// Bytes per block.
            pub fn block_bytes(self) -> u64 {
                match self { $(GgmlType::$v => $bytes,)* }
            }
        }
    };
}

ggml_types! {
    /// IEEE binary32.
    F32 = 0, "F32", "f32", 1, 4;
    /// IEEE binary16.
    F16 = 1, "F16", "f16", 1, 2;
    /// 32 four-bit values and one f16 scale.
    Q4_0 = 2, "Q4_0", "q4_0", 32, 18;
    /// 32 four-bit values, f16 scale and minimum.
    Q4_1 = 3, "Q4_1", "q4_1", 32, 20;
    /// 32 five-bit values and one f16 scale.
    Q5_0 = 6, "Q5_0", "q5_0", 32, 22;
    /// 32 five-bit values, f16 scale and minimum.
    Q5_1 = 7, "Q5_1", "q5_1", 32, 24;
    /// 32 signed bytes and one f16 scale.
    Q8_0 = 8, "Q8_0", "q8_0", 32, 34;
    /// 2-bit k-quant super-block.
    Q2_K = 10, "Q2_K", "q2_K", 256, 84;
    /// 3-bit k-quant super-block.
    Q3_K = 11, "Q3_K", "q3_K", 256, 110;
    /// 4-bit k-quant super-block: f16 d and dmin, 12 bytes of 6-bit scales/mins, 128 bytes of nibbles.
    Q4_K = 12, "Q4_K", "q4_K", 256, 144;
    /// 5-bit k-quant super-block.
    Q5_K = 13, "Q5_K", "q5_K", 256, 176;
    /// 6-bit k-quant super-block: 128 + 64 bytes of quants, 16 i8 scales, f16 d.
    Q6_K = 14, "Q6_K", "q6_K", 256, 210;
    /// 8-bit k-quant (activations): f32 d, 256 i8, 16 i16 block sums.
    Q8_K = 15, "Q8_K", "q8_K", 256, 292;
    /// i-quant, 2.06 bits per weight.
    IQ2_XXS = 16, "IQ2_XXS", "iq2_xxs", 256, 66;
    /// i-quant, 2.31 bits per weight.
    IQ2_XS = 17, "IQ2_XS", "iq2_xs", 256, 74;
    /// i-quant, 3.06 bits per weight.
    IQ3_XXS = 18, "IQ3_XXS", "iq3_xxs", 256, 98;
    /// i-quant, 1.56 bits per weight.
    IQ1_S = 19, "IQ1_S", "iq1_s", 256, 50;
    /// non-linear 4-bit, 32-element blocks.
    IQ4_NL = 20, "IQ4_NL", "iq4_nl", 32, 18;
    /// i-quant, 3.44 bits per weight.
    IQ3_S = 21, "IQ3_S", "iq3_s", 256, 110;
    /// i-quant, 2.56 bits per weight.
    IQ2_S = 22, "IQ2_S", "iq2_s", 256, 82;
    /// non-linear 4-bit, 256-element super-blocks.
    IQ4_XS = 23, "IQ4_XS", "iq4_xs", 256, 136;
    /// signed 8-bit integer.
    I8 = 24, "I8", "i8", 1, 1;
    /// signed 16-bit integer.
    I16 = 25, "I16", "i16", 1, 2;
    /// signed 32-bit integer.
    I32 = 26, "I32", "i32", 1, 4;
    /// signed 64-bit integer.
    I64 = 27, "I64", "i64", 1, 8;
    /// IEEE binary64.
    F64 = 28, "F64", "f64", 1, 8;
    /// i-quant, 1.75 bits per weight.
    IQ1_M = 29, "IQ1_M", "iq1_m", 256, 56;
    /// bfloat16.
    BF16 = 30, "BF16", "bf16", 1, 2;
    /// ternary, 1.69 bits per weight.
    TQ1_0 = 34, "TQ1_0", "tq1_0", 256, 54;
    /// ternary, 2.06 bits per weight.
    TQ2_0 = 35, "TQ2_0", "tq2_0", 256, 66;
    /// microscaling FP4, 32-element blocks with an E8M0 scale.
    MXFP4 = 39, "MXFP4", "mxfp4", 32, 17;
}

impl GgmlType {
    /// The type with this upper-case name (`Q4_K`); case-insensitive.
    pub fn from_name(name: &str) -> Option<GgmlType> {
        Self::ALL
            .iter()
            .copied()
            .find(|t| t.name().eq_ignore_ascii_case(name))
    }

    /// Whether this is a block-quantized type (more than one element per block).
    pub fn is_quantized(self) -> bool {
        self.block_elems() > 1
    }

    /// Bytes of one row of `ne0` elements, or `None` when `ne0` is not a whole number of
    /// blocks (GGML cannot store such a row).
    pub fn row_bytes(self, ne0: u64) -> Option<u64> {
        if !ne0.is_multiple_of(self.block_elems()) {
            return None;
        }
        (ne0 / self.block_elems()).checked_mul(self.block_bytes())
    }

    /// Bytes of a tensor with shape `ne` (GGML order, `ne0` first), or an explanation of why
    /// the shape cannot be stored in this type (a row that is not whole blocks, overflow).
    pub fn tensor_bytes(self, ne: &[u64]) -> Result<u64, String> {
        let Some((&ne0, rest)) = ne.split_first() else {
            return Err("a tensor needs at least one dimension".into());
        };
        let row = self.row_bytes(ne0).ok_or_else(|| {
            format!(
                "ne0 = {ne0} is not a multiple of the {} block size {}",
                self.name(),
                self.block_elems()
            )
        })?;
        rest.iter()
            .try_fold(row, |acc, &n| acc.checked_mul(n))
            .ok_or_else(|| format!("shape {ne:?} overflows 64-bit byte counts"))
    }

    /// The type GGML's CPU backend converts the activation (`src1`) of a matrix product
    /// with weights of this type into before the dot products (`vec_dot_type`).
    pub fn vec_dot_type(self) -> GgmlType {
        use GgmlType::*;
        match self {
            Q4_0 | Q4_1 | Q5_0 | Q5_1 | Q8_0 | IQ4_NL | MXFP4 => Q8_0,
            Q2_K | Q3_K | Q4_K | Q5_K | Q6_K | IQ2_XXS | IQ2_XS | IQ3_XXS | IQ1_S | IQ3_S
            | IQ2_S | IQ4_XS | IQ1_M | TQ1_0 | TQ2_0 | Q8_K => Q8_K,
            F16 => F16,
            BF16 => BF16,
            F32 | F64 | I8 | I16 | I32 | I64 => F32,
        }
    }

    /// The list of names, for error messages.
    pub fn known_names() -> String {
        Self::ALL
            .iter()
            .map(|t| t.name())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl fmt::Display for GgmlType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for GgmlType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for GgmlType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        GgmlType::from_name(&s).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown GGML type `{s}` (known: {})",
                GgmlType::known_names()
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_names_round_trip() {
        for &t in GgmlType::ALL {
            assert_eq!(GgmlType::from_id(t.id()), Some(t));
            assert_eq!(GgmlType::from_name(t.name()), Some(t));
            assert_eq!(GgmlType::from_name(t.ggml_name()), Some(t));
        }
        assert_eq!(GgmlType::from_id(4), None, "Q4_2 was removed from GGML");
        assert_eq!(GgmlType::from_id(1000), None);
    }

    #[test]
    fn sizes_match_the_block_structs() {
        // ggml-common.h: sizeof(block_q4_K) = 2*2 + 12 + 128; block_q6_K = 128 + 64 + 16 + 2.
        assert_eq!(GgmlType::Q4_K.block_bytes(), 2 * 2 + 12 + 256 / 2);
        assert_eq!(
            GgmlType::Q6_K.block_bytes(),
            256 / 2 + 256 / 4 + 256 / 16 + 2
        );
        assert_eq!(GgmlType::Q4_0.block_bytes(), 2 + 32 / 2);
        assert_eq!(GgmlType::Q8_0.block_bytes(), 2 + 32);
        assert_eq!(GgmlType::Q8_K.block_bytes(), 4 + 256 + 16 * 2);
        assert_eq!(
            GgmlType::Q4_K.tensor_bytes(&[2048, 2048]),
            Ok(2048 * 8 * 144)
        );
        assert_eq!(GgmlType::F32.tensor_bytes(&[2048]), Ok(8192));
        assert!(GgmlType::Q4_K.tensor_bytes(&[100, 2]).is_err());
        assert!(GgmlType::F32.tensor_bytes(&[u64::MAX, 2]).is_err());
        assert!(GgmlType::F32.tensor_bytes(&[]).is_err());
    }
}
