//! Reference quantizers for the activation formats and the float conversions GGML uses.
//!
//! Each function reproduces GGML's reference C (`ggml/src/ggml-quants.c`, `ggml-impl.h`)
//! operation for operation in binary32, so the bytes are identical to what llama.cpp's
//! `quantize_row_*_ref` writes for finite inputs. The oracle test `tests/suite/external/matmul_oracle.rs`
//! checks them against an independent Python implementation and the `gguf` package.

use super::{GgmlType, QK8_0, QK_K};
use thiserror::Error;

/// A row that cannot be quantized.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{ty}: a row of {len} elements is not a whole number of {block}-element blocks")]
pub struct QuantError {
    /// The target type.
    pub ty: GgmlType,
    /// The row length given.
    pub len: usize,
    /// The block size required.
    pub block: usize,
}

/// IEEE binary16 bits to binary32 (exact).
pub fn f16_to_f32(bits: u16) -> f32 {
    half::f16::from_bits(bits).to_f32()
}

/// Binary32 to binary16 bits as `ggml_compute_fp32_to_fp16` does: round to nearest even,
/// overflow to infinity, and every NaN to 0x7E00.
pub fn f32_to_f16(x: f32) -> u16 {
    if x.is_nan() {
        0x7E00
    } else {
        half::f16::from_f32(x).to_bits()
    }
}

/// bfloat16 bits to binary32 (exact: the bits become the top half).
pub fn bf16_to_f32(bits: u16) -> f32 {
    f32::from_bits((bits as u32) << 16)
}

/// Binary32 to bfloat16 bits as `ggml_compute_fp32_to_bf16` does: NaNs are made quiet
/// (bit 6 of the result set), everything else rounds to nearest even on the dropped half.
pub fn f32_to_bf16(x: f32) -> u16 {
    let u = x.to_bits();
    if (u & 0x7fff_ffff) > 0x7f80_0000 {
        return ((u >> 16) | 64) as u16;
    }
    ((u as u64 + (0x7fff + ((u as u64 >> 16) & 1))) >> 16) as u16
}

fn check(ty: GgmlType, x: &[f32]) -> Result<usize, QuantError> {
    let block = ty.block_elems();
    if !x.len().is_multiple_of(block) {
        return Err(QuantError {
            ty,
            len: x.len(),
            block,
        });
    }
    Ok(x.len() / block)
}

/// Quantizes a row to Q8_0 as `quantize_row_q8_0_ref` does: per block of 32,
/// `d = amax / 127`, quants `roundf(x * (1/d))` (half away from zero), `d` stored as f16.
pub fn quantize_q8_0(x: &[f32]) -> Result<Vec<u8>, QuantError> {
    let nb = check(GgmlType::Q8_0, x)?;
    let mut out = Vec::with_capacity(nb * GgmlType::Q8_0.block_bytes());
    for blk in x.chunks_exact(QK8_0) {
        // GGML: amax = MAX(amax, fabsf(v)) with MAX(a, b) = a > b ? a : b.
        let mut amax = 0.0f32;
        for &v in blk {
            let a = v.abs();
            amax = if amax > a { amax } else { a };
        }
        let d = amax / 127.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        out.extend_from_slice(&f32_to_f16(d).to_le_bytes());
        for &v in blk {
            out.push(((v * id).round() as i8) as u8);
        }
    }
    Ok(out)
}

/// Quantizes a row to Q8_K as `quantize_row_q8_K_ref` does: per block of 256, the value of
/// largest magnitude `max` sets `iscale = -127 / max`; quants are
/// `min(127, round_half_even(iscale * x))`, `d = 1 / iscale` (f32), and `bsums[g]` is the
/// sum of quants 16g..16g+15. An all-zero block gets `d = 0`, zero quants and zero sums
/// (GGML leaves the sums of such a block unwritten; zero is what they sum to).
pub fn quantize_q8_k(x: &[f32]) -> Result<Vec<u8>, QuantError> {
    let nb = check(GgmlType::Q8_K, x)?;
    let mut out = Vec::with_capacity(nb * GgmlType::Q8_K.block_bytes());
    for blk in x.chunks_exact(QK_K) {
        let mut max = 0.0f32;
        let mut amax = 0.0f32;
        for &v in blk {
            let a = v.abs();
            if a > amax {
                amax = a;
                max = v;
            }
        }
        let mut qs = [0i8; QK_K];
        let mut d = 0.0f32;
        if amax != 0.0 {
            let iscale = -127.0f32 / max;
            for (q, &v) in qs.iter_mut().zip(blk) {
                // nearest_int(): adding 1.5 * 2^23 rounds to nearest even for |v| < 2^22.
                let r = (iscale * v).round_ties_even() as i32;
                *q = r.min(127) as i8;
            }
            d = 1.0 / iscale;
        }
        out.extend_from_slice(&d.to_le_bytes());
        out.extend(qs.iter().map(|&q| q as u8));
        for g in qs.chunks_exact(16) {
            let s: i32 = g.iter().map(|&q| q as i32).sum();
            out.extend_from_slice(&(s as i16).to_le_bytes());
        }
    }
    Ok(out)
}

/// Converts a row of binary32 to bfloat16 bytes (little-endian) with [`f32_to_bf16`].
pub fn quantize_bf16(x: &[f32]) -> Vec<u8> {
    x.iter()
        .flat_map(|&v| f32_to_bf16(v).to_le_bytes())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f16_conversion_rounds_to_nearest_even() {
        assert_eq!(f32_to_f16(1.0), 0x3C00);
        // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: ties to even (1.0).
        assert_eq!(f32_to_f16(1.0 + 2f32.powi(-11)), 0x3C00);
        // 1 + 3 * 2^-11 is halfway between 1 + 2^-10 and 1 + 2^-9: ties to even (0x3C02).
        assert_eq!(f32_to_f16(1.0 + 3.0 * 2f32.powi(-11)), 0x3C02);
        assert_eq!(f32_to_f16(f32::NAN), 0x7E00);
        assert_eq!(f32_to_f16(1e6), 0x7C00);
        assert_eq!(f16_to_f32(0x3555), 0.333_251_95);
    }

    #[test]
    fn bf16_conversion_rounds_to_nearest_even() {
        assert_eq!(f32_to_bf16(1.0), 0x3F80);
        assert_eq!(bf16_to_f32(0x3F80), 1.0);
        // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties to even (1.0).
        assert_eq!(f32_to_bf16(1.0 + 2f32.powi(-8)), 0x3F80);
        assert_eq!(f32_to_bf16(1.0 + 3.0 * 2f32.powi(-8)), 0x3F82);
        assert_eq!(f32_to_bf16(f32::from_bits(0x7F80_0001)), 0x7FC0);
    }

    #[test]
    fn q8_0_by_hand() {
        // amax 127 -> d = 1, quants are the values rounded half away from zero.
        let mut x = [0.0f32; 32];
        x[0] = 127.0;
        x[1] = -2.5;
        x[2] = 2.5;
        x[3] = 0.49;
        let q = quantize_q8_0(&x).unwrap();
        assert_eq!(q.len(), 34);
        assert_eq!(u16::from_le_bytes([q[0], q[1]]), 0x3C00);
        assert_eq!(q[2] as i8, 127);
        assert_eq!(q[3] as i8, -3);
        assert_eq!(q[4] as i8, 3);
        assert_eq!(q[5] as i8, 0);
        assert!(quantize_q8_0(&x[..31]).is_err());
    }

    #[test]
    fn q8_k_by_hand() {
        // max = -2 (largest magnitude, negative): iscale = 63.5, so -2 -> -127, 1 -> 63.5 -> 64
        // (ties to even), 0.5 -> 31.75 -> 32.
        let mut x = [0.0f32; 256];
        x[0] = -2.0;
        x[1] = 1.0;
        x[17] = 0.5;
        let q = quantize_q8_k(&x).unwrap();
        assert_eq!(q.len(), 292);
        let d = f32::from_le_bytes(q[0..4].try_into().unwrap());
        assert_eq!(d, 1.0 / 63.5);
        assert_eq!(q[4] as i8, -127);
        assert_eq!(q[5] as i8, 64);
        assert_eq!(q[4 + 17] as i8, 32);
        let bsum = |g: usize| i16::from_le_bytes([q[260 + 2 * g], q[261 + 2 * g]]);
        assert_eq!(bsum(0), -63);
        assert_eq!(bsum(1), 32);
        assert_eq!(bsum(2), 0);
        // An all-zero block: zero scale, quants and sums.
        let z = quantize_q8_k(&[0.0; 256]).unwrap();
        assert!(z.iter().all(|&b| b == 0));
    }

    #[test]
    fn q8_k_clamps_positive_overflow_to_127() {
        // max = -1 gives iscale = 127; +1.0 maps to 127 and nothing exceeds it, but a value
        // that rounds above 127 must clamp: with max negative, x = -max maps to +127 exactly.
        let mut x = [0.0f32; 256];
        x[0] = -1.0;
        x[1] = 1.0;
        let q = quantize_q8_k(&x).unwrap();
        assert_eq!(q[4] as i8, -127);
        assert_eq!(q[5] as i8, 127);
    }
}
