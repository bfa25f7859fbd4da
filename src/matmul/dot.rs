//! The unit's arithmetic: dot products bit-exact to GGML's generic reference kernels.
//!
//! Each function follows the order of operations of the matching `*_generic` function in
//! llama.cpp's `ggml/src/ggml-cpu/quants.c` (and `ggml_vec_dot_bf16`'s scalar path in
//! `vec.cpp`), as doc/xpop-matmul.md section "Semantics" specifies:
//!
//! - integer work (quant products, sub-block scales, min sums) is exact, so its order is free;
//! - every floating-point operation is a separately rounded IEEE binary32 (or binary64 for the
//!   BF16 accumulator) operation in round-to-nearest-even, never fused, with subnormals kept;
//! - the float accumulators and the order they are updated in are GGML's: 8 lane sums per
//!   output for the K-quants, one running sum for Q4_0/Q8_0, a binary64 sum for BF16;
//! - a NaN result is written as the canonical NaN `0x7FC00000`.
//!
//! Rust never contracts `a * b + c` into a fused multiply-add, so writing the expressions out
//! gives the unfused order.

use crate::quant::quantize::{bf16_to_f32, f16_to_f32};
use crate::quant::{GgmlType, QK8_0, QK_K};
use rayon::prelude::*;
use thiserror::Error;

/// Why a dot product cannot be formed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DotError {
    /// The weight type has no dot product in the unit.
    #[error(
        "type {0} is not a weight type of the matrix unit (f16, q4_0, q8_0, q4_K, q6_K, bf16)"
    )]
    UnsupportedType(GgmlType),
    /// `k` is not a whole number of blocks.
    #[error("k = {k} is not a multiple of the {ty} block size {block}")]
    PartialBlock {
        /// The weight type.
        ty: GgmlType,
        /// The row length.
        k: u64,
        /// Its block size.
        block: usize,
    },
    /// A row set is shorter than its rows and stride need.
    #[error("{what}: {rows} rows of {row_bytes} bytes at stride {stride} need {need} bytes, {have} given")]
    ShortBuffer {
        /// Which operand.
        what: &'static str,
        /// Rows.
        rows: usize,
        /// Bytes per row.
        row_bytes: usize,
        /// Stride between rows.
        stride: usize,
        /// Bytes needed.
        need: usize,
        /// Bytes given.
        have: usize,
    },
}

/// Rows of one operand in memory: row `r` starts at `bytes[r * stride]`.
#[derive(Clone, Copy, Debug)]
pub struct RowSet<'a> {
    /// The bytes holding the rows.
    pub bytes: &'a [u8],
    /// Number of rows.
    pub rows: usize,
    /// Bytes from the start of one row to the next (at least the row's size).
    pub stride: usize,
}

impl<'a> RowSet<'a> {
    /// Rows packed back to back.
    pub fn packed(bytes: &'a [u8], rows: usize, row_bytes: usize) -> Self {
        RowSet {
            bytes,
            rows,
            stride: row_bytes,
        }
    }

    fn row(&self, r: usize, row_bytes: usize) -> &'a [u8] {
        &self.bytes[r * self.stride..r * self.stride + row_bytes]
    }

    fn check(&self, what: &'static str, row_bytes: usize) -> Result<(), DotError> {
        let need = if self.rows == 0 {
            0
        } else {
            (self.rows - 1) * self.stride + row_bytes
        };
        if self.bytes.len() < need || (self.rows > 1 && self.stride < row_bytes) {
            return Err(DotError::ShortBuffer {
                what,
                rows: self.rows,
                row_bytes,
                stride: self.stride,
                need,
                have: self.bytes.len(),
            });
        }
        Ok(())
    }
}

const CANONICAL_NAN: u32 = 0x7FC0_0000;

fn canonical(x: f32) -> f32 {
    if x.is_nan() {
        f32::from_bits(CANONICAL_NAN)
    } else {
        x
    }
}

fn le_u16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn le_f32(b: &[u8], at: usize) -> f32 {
    f32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// The unpacked K-quant arrays are in *paired* order: within each group of 16 elements,
/// elements `l` and `l + 8` (which GGML's generic kernel adds into the same lane `l`) are
/// stored side by side, at `2l` and `2l + 1` (see [`pair_group`]). Each lane's integer sum is
/// then a sum of adjacent pairs of 16-bit products, the shape of the host's multiply-add
/// instructions (x86 `pmaddwd`, Arm `smlal`), which [`lane_sums`] runs.
///
/// A K-quant weight block unpacked: each quant times its 16-element group's scale (exact in
/// 16 bits: Q4_K's are at most 15 x 63, Q6_K's at most 32 x 128 in magnitude) in paired
/// order, the Q4_K mins per 32-element sub-block, and the f16 super-scales widened to f32.
#[derive(Clone)]
struct KBlock {
    sq: [i16; QK_K],
    min: [i32; 8],
    d: f32,
    dmin: f32,
}

impl KBlock {
    const ZERO: KBlock = KBlock {
        sq: [0; QK_K],
        min: [0; 8],
        d: 0.0,
        dmin: 0.0,
    };
}

/// A Q8_K activation block, its quants widened to 16 bits in paired order.
#[derive(Clone)]
struct Q8KBlock {
    qs: [i16; QK_K],
    bsums: [i16; 16],
    d: f32,
}

impl Q8KBlock {
    const ZERO: Q8KBlock = Q8KBlock {
        qs: [0; QK_K],
        bsums: [0; 16],
        d: 0.0,
    };
}

/// A 32-element block (Q4_0 with the offset of 8 removed, or Q8_0) and its f16 scale widened.
#[derive(Clone, Copy)]
struct Block32 {
    q: [i8; QK8_0],
    d: f32,
}

/// The 6-bit scale and min of sub-block `j` (0..8) from Q4_K's 12 packed bytes
/// (GGML's `get_scale_min_k4`).
fn q4k_scale_min(s: &[u8], j: usize) -> (i32, i32) {
    if j < 4 {
        ((s[j] & 63) as i32, (s[j + 4] & 63) as i32)
    } else {
        (
            ((s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4)) as i32,
            ((s[j + 4] >> 4) | ((s[j] >> 6) << 4)) as i32,
        )
    }
}

/// Writes one 16-element group in paired order, each quant times the group's scale:
/// `dst[2l] = s q[l]`, `dst[2l + 1] = s q[l + 8]` (a plain interleave).
fn pair_group(dst: &mut [i16], q: &[i16; 16], s: i16) {
    for (l, pair) in dst.chunks_exact_mut(2).take(8).enumerate() {
        pair[0] = q[l] * s;
        pair[1] = q[l + 8] * s;
    }
}

fn decode_q4_k(b: &[u8], blk: &mut KBlock) {
    let scales = &b[4..16];
    blk.d = f16_to_f32(le_u16(b, 0));
    blk.dmin = f16_to_f32(le_u16(b, 2));
    // Chunk c of 64 elements reads qs[32c..32c+32]: its low nibbles are sub-block 2c (groups
    // 4c and 4c + 1), its high nibbles sub-block 2c + 1 (groups 4c + 2 and 4c + 3).
    let (groups, _) = blk.sq.as_chunks_mut::<16>();
    let (bytes, _) = b[16..144].as_chunks::<16>();
    for (c, pair) in bytes.chunks_exact(2).enumerate() {
        let (lo_scale, _) = q4k_scale_min(scales, 2 * c);
        let (hi_scale, _) = q4k_scale_min(scales, 2 * c + 1);
        for (k, half) in pair.iter().enumerate() {
            let lo: [i16; 16] = std::array::from_fn(|l| (half[l] & 0xF) as i16);
            let hi: [i16; 16] = std::array::from_fn(|l| (half[l] >> 4) as i16);
            pair_group(&mut groups[4 * c + k], &lo, lo_scale as i16);
            pair_group(&mut groups[4 * c + 2 + k], &hi, hi_scale as i16);
        }
    }
    for (j, m) in blk.min.iter_mut().enumerate() {
        *m = q4k_scale_min(scales, j).1;
    }
}

fn decode_q6_k(b: &[u8], blk: &mut KBlock) {
    let ql = &b[0..128];
    let qh = &b[128..192];
    let sc = &b[192..208];
    blk.min = [0; 8];
    blk.d = f16_to_f32(le_u16(b, 208));
    blk.dmin = 0.0;
    let mut q = [0i16; QK_K];
    for h in 0..2 {
        let (ql, qh, q) = (&ql[64 * h..], &qh[32 * h..], &mut q[128 * h..]);
        for l in 0..32 {
            let hb = qh[l];
            q[l] = ((ql[l] & 0xF) | ((hb & 3) << 4)) as i16 - 32;
            q[l + 32] = ((ql[l + 32] & 0xF) | (((hb >> 2) & 3) << 4)) as i16 - 32;
            q[l + 64] = ((ql[l] >> 4) | (((hb >> 4) & 3) << 4)) as i16 - 32;
            q[l + 96] = ((ql[l + 32] >> 4) | (((hb >> 6) & 3) << 4)) as i16 - 32;
        }
    }
    let (groups, _) = q.as_chunks::<16>();
    for ((dst, q), &s) in blk.sq.chunks_exact_mut(16).zip(groups).zip(sc) {
        pair_group(dst, q, s as i8 as i16);
    }
}

fn decode_q8_k(b: &[u8], blk: &mut Q8KBlock) {
    blk.d = le_f32(b, 0);
    let mut q = [0i16; QK_K];
    for (q, &byte) in q.iter_mut().zip(&b[4..260]) {
        *q = byte as i8 as i16;
    }
    let (groups, _) = q.as_chunks::<16>();
    for (dst, q) in blk.qs.chunks_exact_mut(16).zip(groups) {
        pair_group(dst, q, 1);
    }
    for (g, s) in blk.bsums.iter_mut().enumerate() {
        *s = le_u16(b, 260 + 2 * g) as i16;
    }
}

fn decode_q4_0(b: &[u8]) -> Block32 {
    let mut blk = Block32 {
        q: [0; QK8_0],
        d: f16_to_f32(le_u16(b, 0)),
    };
    for j in 0..16 {
        blk.q[j] = (b[2 + j] & 0xF) as i8 - 8;
        blk.q[j + 16] = (b[2 + j] >> 4) as i8 - 8;
    }
    blk
}

fn decode_q8_0(b: &[u8]) -> Block32 {
    let mut blk = Block32 {
        q: [0; QK8_0],
        d: f16_to_f32(le_u16(b, 0)),
    };
    for (q, &byte) in blk.q.iter_mut().zip(&b[2..34]) {
        *q = byte as i8;
    }
    blk
}

/// GGML's eight integer lane sums of one K-quant block: lane `l` adds the scaled products of
/// elements `l` and `l + 8` of every 16-element group. Integer sums are exact (at most
/// 32 x 128 x 128 x 32 in magnitude), so their order is free; the pairs are adjacent in
/// paired order.
#[cfg(target_arch = "x86_64")]
fn lane_sums(sq: &[i16; QK_K], qs: &[i16; QK_K]) -> [i32; 8] {
    use std::arch::x86_64::{__m128i, _mm_add_epi32, _mm_madd_epi16, _mm_setzero_si128};
    // SSE2, part of every x86-64: `pmaddwd` multiplies eight 16-bit pairs and adds each
    // adjacent pair of products into one of four 32-bit lanes.
    let v = |s: &[i16]| -> __m128i { bytemuck::pod_read_unaligned(bytemuck::cast_slice(s)) };
    // SAFETY: the intrinsics only need SSE2, which every x86-64 processor has (it is in the
    // target's baseline features); they touch no memory.
    let (lo, hi) = unsafe {
        let (mut lo, mut hi) = (_mm_setzero_si128(), _mm_setzero_si128());
        for (a, b) in sq.chunks_exact(16).zip(qs.chunks_exact(16)) {
            lo = _mm_add_epi32(lo, _mm_madd_epi16(v(&a[..8]), v(&b[..8])));
            hi = _mm_add_epi32(hi, _mm_madd_epi16(v(&a[8..]), v(&b[8..])));
        }
        (lo, hi)
    };
    let (lo, hi): ([i32; 4], [i32; 4]) = (bytemuck::cast(lo), bytemuck::cast(hi));
    [lo[0], lo[1], lo[2], lo[3], hi[0], hi[1], hi[2], hi[3]]
}

/// The same sums written out: what [`lane_sums`] computes, used on hosts other than x86-64
/// and checked against the x86-64 version by the tests.
#[cfg_attr(all(target_arch = "x86_64", not(test)), allow(dead_code))]
fn lane_sums_scalar(sq: &[i16; QK_K], qs: &[i16; QK_K]) -> [i32; 8] {
    let mut isum = [0i32; 8];
    for (a, b) in sq.chunks_exact(16).zip(qs.chunks_exact(16)) {
        for (l, acc) in isum.iter_mut().enumerate() {
            let (i, j) = (2 * l, 2 * l + 1);
            *acc += a[i] as i32 * b[i] as i32 + a[j] as i32 * b[j] as i32;
        }
    }
    isum
}

#[cfg(not(target_arch = "x86_64"))]
fn lane_sums(sq: &[i16; QK_K], qs: &[i16; QK_K]) -> [i32; 8] {
    lane_sums_scalar(sq, qs)
}

/// `ggml_vec_dot_q4_K_q8_K_generic` (with `mins`) and `ggml_vec_dot_q6_K_q8_K_generic`.
fn dot_k(x: &[KBlock], y: &[Q8KBlock], mins: bool) -> f32 {
    let mut lanes = [0.0f32; 8];
    let mut sumf = 0.0f32;
    for (x, y) in x.iter().zip(y) {
        let isum = lane_sums(&x.sq, &y.qs);
        let d = x.d * y.d;
        for (lane, &i) in lanes.iter_mut().zip(&isum) {
            *lane += d * i as f32;
        }
        if mins {
            let mut msum = 0i32;
            for g in 0..16 {
                msum += y.bsums[g] as i32 * x.min[g / 2];
            }
            let dmin = x.dmin * y.d;
            sumf -= dmin * msum as f32;
        }
    }
    for lane in lanes {
        sumf += lane;
    }
    canonical(sumf)
}

fn isum32(x: &Block32, y: &Block32) -> i32 {
    x.q.iter()
        .zip(&y.q)
        .map(|(&a, &b)| a as i32 * b as i32)
        .sum()
}

/// `ggml_vec_dot_q4_0_q8_0_generic`: `sumf += sumi * dx * dy`, left to right.
fn dot_q4_0(x: &[Block32], y: &[Block32]) -> f32 {
    let mut sumf = 0.0f32;
    for (x, y) in x.iter().zip(y) {
        sumf += isum32(x, y) as f32 * x.d * y.d;
    }
    canonical(sumf)
}

/// `ggml_vec_dot_q8_0_q8_0_generic`: `sumf += sumi * (dx * dy)`.
fn dot_q8_0(x: &[Block32], y: &[Block32]) -> f32 {
    let mut sumf = 0.0f32;
    for (x, y) in x.iter().zip(y) {
        sumf += isum32(x, y) as f32 * (x.d * y.d);
    }
    canonical(sumf)
}

/// `ggml_vec_dot_bf16`'s and `ggml_vec_dot_f16`'s scalar paths: binary32 products (exact
/// for two 16-bit floats) summed in binary64, in order.
fn dot_float16(x: &[f32], y: &[f32]) -> f32 {
    let mut sum = 0.0f64;
    for (&a, &b) in x.iter().zip(y) {
        sum += (a * b) as f64;
    }
    canonical(sum as f32)
}

/// One operand's rows unpacked once, so each row is decoded a single time however many
/// dot products use it.
enum Decoded {
    K(Vec<KBlock>),
    Q8K(Vec<Q8KBlock>),
    B32(Vec<Block32>),
    Float(Vec<f32>),
}

impl Decoded {
    /// `n` K-quant weight blocks to decode into, reusing this buffer's allocation when it
    /// already holds them (a worker decodes row after row into the same buffer).
    fn k_blocks(&mut self, n: usize) -> &mut [KBlock] {
        if !matches!(self, Decoded::K(_)) {
            *self = Decoded::K(Vec::new());
        }
        match self {
            Decoded::K(v) => {
                v.resize(n, KBlock::ZERO);
                v
            }
            _ => &mut [],
        }
    }

    /// `n` Q8_K activation blocks to decode into, as [`Self::k_blocks`].
    fn q8k_blocks(&mut self, n: usize) -> &mut [Q8KBlock] {
        if !matches!(self, Decoded::Q8K(_)) {
            *self = Decoded::Q8K(Vec::new());
        }
        match self {
            Decoded::Q8K(v) => {
                v.resize(n, Q8KBlock::ZERO);
                v
            }
            _ => &mut [],
        }
    }
}

/// Unpacks one row of `ty` into `out`.
fn decode_row(ty: GgmlType, row: &[u8], out: &mut Decoded) {
    let bb = ty.block_bytes();
    let blocks = row.chunks_exact(bb);
    let n = blocks.len();
    match ty {
        GgmlType::Q4_K => {
            for (blk, b) in out.k_blocks(n).iter_mut().zip(blocks) {
                decode_q4_k(b, blk);
            }
        }
        GgmlType::Q6_K => {
            for (blk, b) in out.k_blocks(n).iter_mut().zip(blocks) {
                decode_q6_k(b, blk);
            }
        }
        GgmlType::Q8_K => {
            for (blk, b) in out.q8k_blocks(n).iter_mut().zip(blocks) {
                decode_q8_k(b, blk);
            }
        }
        GgmlType::Q4_0 => *out = Decoded::B32(blocks.map(decode_q4_0).collect()),
        GgmlType::Q8_0 => *out = Decoded::B32(blocks.map(decode_q8_0).collect()),
        GgmlType::BF16 => {
            *out = Decoded::Float(blocks.map(|b| bf16_to_f32(le_u16(b, 0))).collect())
        }
        GgmlType::F16 => *out = Decoded::Float(blocks.map(|b| f16_to_f32(le_u16(b, 0))).collect()),
        GgmlType::F32 => unreachable!("checked by the caller"),
    }
}

fn decoded(ty: GgmlType, row: &[u8]) -> Decoded {
    let mut out = Decoded::Float(Vec::new());
    decode_row(ty, row, &mut out);
    out
}

fn dot_decoded(ty: GgmlType, a: &Decoded, b: &Decoded) -> f32 {
    match (a, b) {
        (Decoded::K(x), Decoded::Q8K(y)) => dot_k(x, y, ty == GgmlType::Q4_K),
        (Decoded::B32(x), Decoded::B32(y)) if ty == GgmlType::Q4_0 => dot_q4_0(x, y),
        (Decoded::B32(x), Decoded::B32(y)) => dot_q8_0(x, y),
        (Decoded::Float(x), Decoded::Float(y)) => dot_float16(x, y),
        _ => unreachable!("operand types are paired by vec_dot_type"),
    }
}

fn activation_type(ty: GgmlType) -> Result<GgmlType, DotError> {
    super::descriptor::activation_type(ty).ok_or(DotError::UnsupportedType(ty))
}

fn row_bytes(ty: GgmlType, k: u64) -> Result<usize, DotError> {
    ty.row_bytes(k)
        .map(|b| b as usize)
        .ok_or(DotError::PartialBlock {
            ty,
            k,
            block: ty.block_elems(),
        })
}

/// The dot product of one weight row (type `ty`) with one activation row (its
/// `vec_dot_type`), both `k` elements: what GGML's `ggml_vec_dot_<ty>_<vec_dot_type>` returns.
pub fn dot(ty: GgmlType, k: u64, a_row: &[u8], b_row: &[u8]) -> Result<f32, DotError> {
    let bt = activation_type(ty)?;
    let (ra, rb) = (row_bytes(ty, k)?, row_bytes(bt, k)?);
    RowSet::packed(a_row, 1, ra).check("a", ra)?;
    RowSet::packed(b_row, 1, rb).check("b", rb)?;
    let a = decoded(ty, &a_row[..ra]);
    let b = decoded(bt, &b_row[..rb]);
    Ok(dot_decoded(ty, &a, &b))
}

/// The matrix product the unit computes: `C[i][j] = dot(A row j, B row i)` for `i < B.rows`
/// and `j < A.rows`, returned row-major (`B.rows` rows of `A.rows` values). This is GGML's
/// `mul_mat` layout: `dst` row `i` holds the outputs for activation row (token) `i`.
///
/// Rows are computed in parallel; each output is one sequential dot product, so the result
/// does not depend on the number of threads.
pub fn matmul(ty: GgmlType, k: u64, a: RowSet, b: RowSet) -> Result<Vec<f32>, DotError> {
    let bt = activation_type(ty)?;
    let (ra, rb) = (row_bytes(ty, k)?, row_bytes(bt, k)?);
    a.check("a", ra)?;
    b.check("b", rb)?;
    let (m, n) = (b.rows, a.rows);
    let bs: Vec<Decoded> = (0..m)
        .into_par_iter()
        .map(|i| decoded(bt, b.row(i, rb)))
        .collect();
    // One column of C per weight row: decode the row once (into the worker's buffer), dot
    // it with every activation row. Columns are stored one after another, then transposed.
    let mut columns = vec![0.0f32; m * n];
    if m > 0 {
        columns
            .par_chunks_mut(m)
            .enumerate()
            .with_min_len(16)
            .for_each_init(
                || Decoded::Float(Vec::new()),
                |aj, (j, col)| {
                    decode_row(ty, a.row(j, ra), aj);
                    for (out, bi) in col.iter_mut().zip(&bs) {
                        *out = dot_decoded(ty, aj, bi);
                    }
                },
            );
    }
    if m <= 1 {
        return Ok(columns);
    }
    let mut c = vec![0.0f32; m * n];
    for (j, col) in columns.chunks_exact(m).enumerate() {
        for (i, &v) in col.iter().enumerate() {
            c[i * n + j] = v;
        }
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quant::quantize::{f32_to_bf16, f32_to_f16};

    fn q8k_block(d: f32, qs: &[i8; 256]) -> Vec<u8> {
        let mut b = d.to_le_bytes().to_vec();
        b.extend(qs.iter().map(|&q| q as u8));
        for g in qs.chunks(16) {
            let s: i32 = g.iter().map(|&q| q as i32).sum();
            b.extend((s as i16).to_le_bytes());
        }
        b
    }

    /// A Q4_K block with the given d, dmin, 8 scales, 8 mins (6-bit) and 256 nibbles.
    fn q4k_block(d: f32, dmin: f32, sc: [u8; 8], mn: [u8; 8], q: &[u8; 256]) -> Vec<u8> {
        let mut s = [0u8; 12];
        for j in 0..4 {
            s[j] = (sc[j] & 63) | ((sc[j + 4] >> 4) << 6);
            s[j + 4] = (mn[j] & 63) | ((mn[j + 4] >> 4) << 6);
            s[j + 8] = (sc[j + 4] & 0xF) | ((mn[j + 4] & 0xF) << 4);
        }
        let mut b = f32_to_f16(d).to_le_bytes().to_vec();
        b.extend(f32_to_f16(dmin).to_le_bytes());
        b.extend(s);
        for c in 0..4 {
            for l in 0..32 {
                b.push(q[64 * c + l] | (q[64 * c + 32 + l] << 4));
            }
        }
        assert_eq!(b.len(), 144);
        b
    }

    #[test]
    fn q4k_scale_packing_round_trips_through_get_scale_min() {
        let sc = [1, 63, 17, 40, 33, 62, 5, 48];
        let mn = [0, 12, 63, 7, 50, 16, 31, 63];
        // Every nibble 1, so each unpacked product is its sub-block's scale.
        let mut blk = KBlock::ZERO;
        decode_q4_k(&q4k_block(1.0, 1.0, sc, mn, &[1; 256]), &mut blk);
        for j in 0..8 {
            for e in 32 * j..32 * j + 32 {
                assert_eq!(blk.sq[paired(e)], sc[j] as i16);
            }
            assert_eq!(blk.min[j], mn[j] as i32);
        }
    }

    /// Where element `e` of a K-quant block sits in paired order.
    const fn paired(e: usize) -> usize {
        let (g, r) = (e / 16, e % 16);
        16 * g + 2 * (r % 8) + r / 8
    }

    #[test]
    fn lane_sums_equal_the_scalar_sums_at_the_extremes() {
        // The largest magnitudes the blocks can hold: Q6_K's -32 x -128 scaled quants against
        // -128 activations, and random values.
        let mut s = 0x9E37_79B9_7F4A_7C15u64;
        for case in 0..50 {
            let mut sq = [0i16; QK_K];
            let mut qs = [0i16; QK_K];
            for (a, b) in sq.iter_mut().zip(qs.iter_mut()) {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                *a = if case == 0 {
                    4096
                } else {
                    (s % 8193) as i16 - 4096
                };
                *b = if case == 0 {
                    -128
                } else {
                    (s >> 20) as u8 as i8 as i16
                };
            }
            assert_eq!(
                lane_sums(&sq, &qs),
                lane_sums_scalar(&sq, &qs),
                "case {case}"
            );
        }
    }

    #[test]
    fn paired_order_is_a_permutation_of_each_group() {
        let mut seen = [false; QK_K];
        for e in 0..QK_K {
            let p = paired(e);
            assert_eq!(p / 16, e / 16, "element {e} leaves its group");
            assert!(!seen[p]);
            seen[p] = true;
        }
    }

    /// GGML's generic K-quant dot product written out in element order, as quants.c has it
    /// (the scaled products of lane `l` are elements `l + 8j`), straight from the packed bytes.
    fn generic_k(ty: GgmlType, w: &[u8], a: &[u8]) -> f32 {
        let (q, scale, min, d, dmin): (Vec<i32>, Vec<i32>, Vec<i32>, f32, f32) = match ty {
            GgmlType::Q4_K => {
                let mut q = vec![0; 256];
                for c in 0..4 {
                    for l in 0..32 {
                        q[64 * c + l] = (w[16 + 32 * c + l] & 0xF) as i32;
                        q[64 * c + 32 + l] = (w[16 + 32 * c + l] >> 4) as i32;
                    }
                }
                let sm: Vec<(i32, i32)> = (0..8).map(|j| q4k_scale_min(&w[4..16], j)).collect();
                let scale = (0..16).map(|g| sm[g / 2].0).collect();
                let min = (0..8).map(|j| sm[j].1).collect();
                let d = f16_to_f32(le_u16(w, 0));
                (q, scale, min, d, f16_to_f32(le_u16(w, 2)))
            }
            _ => {
                let mut q = vec![0; 256];
                for h in 0..2 {
                    for l in 0..32 {
                        let (ql0, ql1) = (w[64 * h + l], w[64 * h + l + 32]);
                        let hb = w[128 + 32 * h + l];
                        let base = 128 * h;
                        q[base + l] = ((ql0 & 0xF) | ((hb & 3) << 4)) as i32 - 32;
                        q[base + l + 32] = ((ql1 & 0xF) | (((hb >> 2) & 3) << 4)) as i32 - 32;
                        q[base + l + 64] = ((ql0 >> 4) | (((hb >> 4) & 3) << 4)) as i32 - 32;
                        q[base + l + 96] = ((ql1 >> 4) | (((hb >> 6) & 3) << 4)) as i32 - 32;
                    }
                }
                let scale = (0..16).map(|g| w[192 + g] as i8 as i32).collect();
                (q, scale, vec![0; 8], f16_to_f32(le_u16(w, 208)), 0.0)
            }
        };
        let ya: Vec<i32> = a[4..260].iter().map(|&b| b as i8 as i32).collect();
        let yd = le_f32(a, 0);
        let mut isum = [0i32; 8];
        for (e, (&qe, &ye)) in q.iter().zip(&ya).enumerate() {
            isum[e % 8] += scale[e / 16] * qe * ye;
        }
        let mut sumf = 0.0f32;
        let mut lanes = [0.0f32; 8];
        for (lane, &i) in lanes.iter_mut().zip(&isum) {
            *lane += (d * yd) * i as f32;
        }
        if ty == GgmlType::Q4_K {
            let msum: i32 = (0..16)
                .map(|g| le_u16(a, 260 + 2 * g) as i16 as i32 * min[g / 2])
                .sum();
            sumf -= (dmin * yd) * msum as f32;
        }
        for lane in lanes {
            sumf += lane;
        }
        sumf
    }

    #[test]
    fn k_quant_dots_equal_ggml_element_order_on_random_blocks() {
        let mut s = 0x2545_F491_4F6C_DD1Du64;
        let mut byte = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s as u8
        };
        for case in 0..200 {
            let ty = if case % 2 == 0 {
                GgmlType::Q4_K
            } else {
                GgmlType::Q6_K
            };
            let mut w: Vec<u8> = (0..ty.block_bytes()).map(|_| byte()).collect();
            // Finite, modest f16 scales (exponent below the maximum).
            let scales: &[usize] = if ty == GgmlType::Q4_K {
                &[0, 2]
            } else {
                &[208]
            };
            for &at in scales {
                w[at + 1] &= 0x3b;
            }
            let mut y = [0i8; 256];
            for v in y.iter_mut() {
                *v = byte() as i8;
            }
            let a = q8k_block(0.0078125 * (1 + case % 7) as f32, &y);
            let got = dot(ty, 256, &w, &a).unwrap();
            let want = generic_k(ty, &w, &a);
            assert_eq!(got.to_bits(), want.to_bits(), "case {case} {ty}");
        }
    }

    #[test]
    fn q4k_hand_case() {
        // Weights: element e has nibble (e % 16); sub-block s has scale s + 1, min 2s.
        // Activations: qs[e] = 1 for e < 128, -1 after, d = 0.5.  d = 0.25, dmin = 0.125.
        let mut q = [0u8; 256];
        for (e, v) in q.iter_mut().enumerate() {
            *v = (e % 16) as u8;
        }
        let sc = [1, 2, 3, 4, 5, 6, 7, 8];
        let mn = [0, 2, 4, 6, 8, 10, 12, 14];
        let a = q4k_block(0.25, 0.125, sc, mn, &q);
        let mut y = [0i8; 256];
        for (e, v) in y.iter_mut().enumerate() {
            *v = if e < 128 { 1 } else { -1 };
        }
        let b = q8k_block(0.5, &y);
        // Each 32-element sub-block sums nibbles 0..15 twice: 240. Sub-blocks 0-3 have
        // sign +1, 4-7 sign -1: sum_s scale_s * 240 * sign = 240 * (1+2+3+4 - 5-6-7-8) = -3840.
        // Each lane gets 1/8 of every sub-block's sum (lane l sees nibbles l and l+8 twice per
        // sub-block: 2*(l + l + 8) = 4l + 16, and sum_l (4l+16) = 240).
        // Lane l integer: (4l + 16) * (10 - 26) = -16 * (4l + 16).
        // Mins: bsums are +16 for groups 0..7 and -16 for 8..15; sum_g bsum_g * min[g/2]
        //   = 16 * 2 * (0+2+4+6) - 16 * 2 * (8+10+12+14) = 384 - 1408 = -1024.
        let d = 0.25f32 * 0.5;
        let dmin = 0.125f32 * 0.5;
        let mut sumf = 0.0f32 - dmin * -1024.0;
        let mut lanes = [0.0f32; 8];
        for (l, lane) in lanes.iter_mut().enumerate() {
            *lane = d * (-16.0 * (4.0 * l as f32 + 16.0));
        }
        for lane in lanes {
            sumf += lane;
        }
        // By hand: lanes sum to -16 * 240 * 0.125 = -480; minus (-1024 * 0.0625) = +64.
        assert_eq!(sumf, -416.0);
        assert_eq!(dot(GgmlType::Q4_K, 256, &a, &b).unwrap(), -416.0);
    }

    #[test]
    fn q6k_hand_case() {
        // All 6-bit quants 33 (value +1), scales alternate 2, -1; activations all 3, d = 1.
        let mut b = vec![0u8; 210];
        // q = 33 = 0b10_0001: low nibble 1, high bits 2.
        b[..128].fill(0x11);
        b[128..192].fill(0b1010_1010);
        for (g, s) in b[192..208].iter_mut().enumerate() {
            *s = if g % 2 == 0 { 2 } else { (-1i8) as u8 };
        }
        b[208..210].copy_from_slice(&f32_to_f16(0.5).to_le_bytes());
        let y = q8k_block(1.0, &[3; 256]);
        // Per 16-group: 16 * 1 * 3 * scale = 48 * scale; 8 groups of +2, 8 of -1: 48 * 8 = 384.
        // Times d = 0.5: 192.
        assert_eq!(dot(GgmlType::Q6_K, 256, &b, &y).unwrap(), 192.0);
    }

    #[test]
    fn q4_0_and_q8_0_hand_cases() {
        // Q4_0: nibbles 9 (value +1) everywhere, d = 2; Q8_0 activations all 5, d = 0.25.
        let mut a = f32_to_f16(2.0).to_le_bytes().to_vec();
        a.extend([0x99u8; 16]);
        let mut y = f32_to_f16(0.25).to_le_bytes().to_vec();
        y.extend([5u8; 32]);
        // sumi = 32 * 5 = 160; 160 * 2 * 0.25 = 80.
        assert_eq!(dot(GgmlType::Q4_0, 32, &a, &y).unwrap(), 80.0);
        // Q8_0 x Q8_0 with the same activations as weights: 32 * 25 * 0.0625 = 50.
        assert_eq!(dot(GgmlType::Q8_0, 32, &y, &y).unwrap(), 50.0);
    }

    #[test]
    fn q4_0_rounds_left_to_right_but_q8_0_scales_first() {
        // sumi = 7 * 127 * 31 + 7 * (-127) = 26670 has 14 significant bits, so sumi * dx is
        // inexact and the two association orders round differently (found by search, checked
        // here by hand): dx = 2047/1024, dy = 2045/1024, both exact in f16.
        let (dx, dy) = (2047.0f32 / 1024.0, 2045.0f32 / 1024.0);
        let left = (26670.0f32 * dx) * dy;
        let right = 26670.0f32 * (dx * dy);
        assert_eq!(left.to_bits(), 1_204_810_715);
        assert_eq!(right.to_bits(), 1_204_810_716);
        let mut y = f32_to_f16(dy).to_le_bytes().to_vec();
        y.extend([127u8; 31]);
        y.push((-127i8) as u8);
        let mut q4 = f32_to_f16(dx).to_le_bytes().to_vec();
        q4.extend([0xFFu8; 16]); // every nibble 15: value 7
        assert_eq!(dot(GgmlType::Q4_0, 32, &q4, &y).unwrap(), left);
        let mut q8 = f32_to_f16(dx).to_le_bytes().to_vec();
        q8.extend([7u8; 32]);
        assert_eq!(dot(GgmlType::Q8_0, 32, &q8, &y).unwrap(), right);
    }

    #[test]
    fn bf16_accumulates_in_binary64() {
        // 1 + 2^-24 + 2^-24 ... : in f32 each tiny term is lost; in f64 they add up.
        let tiny = 2f32.powi(-24);
        let a: Vec<f32> = vec![1.0, tiny, tiny, tiny, tiny];
        let ones = vec![1.0f32; 5];
        let pack = |v: &[f32]| -> Vec<u8> {
            v.iter()
                .flat_map(|&x| f32_to_bf16(x).to_le_bytes())
                .collect()
        };
        let got = dot(GgmlType::BF16, 5, &pack(&a), &pack(&ones)).unwrap();
        // 1 + 4 * 2^-24 = 1 + 2^-22 is exact in f32; an f32 accumulator would give 1.0.
        assert_eq!(got, 1.0 + 2f32.powi(-22));
    }

    #[test]
    fn nan_results_are_canonical() {
        let pack = |v: &[u32]| -> Vec<u8> {
            v.iter()
                .flat_map(|&x| ((x >> 16) as u16).to_le_bytes())
                .collect()
        };
        let inf = f32::INFINITY.to_bits();
        let got = dot(
            GgmlType::BF16,
            2,
            &pack(&[inf, 0xFF80_0000]),
            &pack(&[1.0f32.to_bits(), 1.0f32.to_bits()]),
        )
        .unwrap();
        assert_eq!(got.to_bits(), CANONICAL_NAN);
    }

    #[test]
    fn matmul_layout_is_token_major() {
        // A: 3 rows of Q8_0 with values r+1; B: 2 rows with values 1 and 2, all d = 1.
        let row = |v: i8| {
            let mut b = f32_to_f16(1.0).to_le_bytes().to_vec();
            b.extend([v as u8; 32]);
            b
        };
        let a: Vec<u8> = (0..3).flat_map(|r| row(r + 1)).collect();
        let b: Vec<u8> = [1, 2].into_iter().flat_map(row).collect();
        let c = matmul(
            GgmlType::Q8_0,
            32,
            RowSet::packed(&a, 3, 34),
            RowSet::packed(&b, 2, 34),
        )
        .unwrap();
        assert_eq!(c, vec![32.0, 64.0, 96.0, 64.0, 128.0, 192.0]);
    }

    #[test]
    fn errors_name_the_problem() {
        assert_eq!(
            dot(GgmlType::Q4_K, 100, &[], &[]),
            Err(DotError::PartialBlock {
                ty: GgmlType::Q4_K,
                k: 100,
                block: 256
            })
        );
        assert_eq!(
            dot(GgmlType::F32, 2, &[0; 8], &[0; 8]),
            Err(DotError::UnsupportedType(GgmlType::F32))
        );
        // F16 x F16: 1.5 * 2 + (-0.25) * 4 = 2, summed in binary64.
        let h = |v: &[f32]| -> Vec<u8> {
            v.iter()
                .flat_map(|&x| half::f16::from_f32(x).to_bits().to_le_bytes())
                .collect()
        };
        assert_eq!(
            dot(GgmlType::F16, 2, &h(&[1.5, -0.25]), &h(&[2.0, 4.0])),
            Ok(2.0)
        );
        assert!(matches!(
            dot(GgmlType::Q8_0, 32, &[0; 33], &[0; 34]),
            Err(DotError::ShortBuffer { .. })
        ));
    }
}
