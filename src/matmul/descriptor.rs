//! The 64-byte matmul descriptor that `xpop.mm` reads from memory, and its validation.
//!
//! ```text
//! offset size field  meaning
//! 0x00   8    a      address of weight row 0 (type `ctrl.type`)
//! 0x08   8    b      address of activation row 0 (the type's vec_dot type)
//! 0x10   8    c      address of output row 0 (f32)
//! 0x18   8    lda    bytes from one weight row to the next
//! 0x20   8    ldb    bytes from one activation row to the next
//! 0x28   8    ldc    bytes from one output row to the next
//! 0x30   4    m      activation rows = output rows
//! 0x34   4    n      weight rows = outputs per output row
//! 0x38   4    k      elements per weight / activation row
//! 0x3c   4    ctrl   bits 7:0 weight type (GGML id), bit 8 A transposed (F16 and BF16
//!                     only), bits 31:9 reserved (zero)
//! ```
//!
//! `C[i][j] = dot(A row j, B row i)`, i < m, j < n (doc/xpop-matmul.md). With A transposed,
//! element `e` of A row `j` is at `a + e * lda + 2 * j`: memory holds `k` rows of `n`
//! elements (a V cache block, whose rows are keys, used as the weights of `P . V`).

use crate::quant::GgmlType;
use std::fmt;

/// Size of one descriptor in memory.
pub const DESCRIPTOR_BYTES: u64 = 64;
/// Alignment a descriptor needs.
pub const DESCRIPTOR_ALIGN: u64 = 8;

/// `ctrl` bit 8: A is stored transposed (16-bit float types only).
pub const CTRL_A_TRANSPOSED: u64 = 1 << 8;

/// The weight types `xpop.mm` accepts, in GGML id order.
pub const WEIGHT_TYPES: [GgmlType; 6] = [
    GgmlType::F16,
    GgmlType::Q4_0,
    GgmlType::Q8_0,
    GgmlType::Q4_K,
    GgmlType::Q6_K,
    GgmlType::BF16,
];

/// One matrix product, as a descriptor describes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MatmulJob {
    /// Weight type (A); B is its `vec_dot_type`.
    pub ty: GgmlType,
    /// Address of weight row 0.
    pub a: u64,
    /// Address of activation row 0.
    pub b: u64,
    /// Address of output row 0.
    pub c: u64,
    /// Weight row stride in bytes.
    pub lda: u64,
    /// Activation row stride in bytes.
    pub ldb: u64,
    /// Output row stride in bytes.
    pub ldc: u64,
    /// Activation (and output) rows.
    pub m: u64,
    /// Weight rows (outputs per output row).
    pub n: u64,
    /// Elements per row.
    pub k: u64,
    /// A is stored transposed: element `e` of row `j` at `a + e * lda + 2 * j` (F16, BF16).
    pub a_transposed: bool,
}

/// The activation (B) type the unit pairs with weight type `ty`: GGML's `vec_dot_type`,
/// and F16 for F16 (GGML's F16 dot product converts its second operand to F16).
pub fn activation_type(ty: GgmlType) -> Option<GgmlType> {
    match ty {
        GgmlType::F16 => Some(GgmlType::F16),
        t => t.vec_dot_type(),
    }
}

/// Why a descriptor is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DescriptorError {
    /// A field holds a value the unit does not accept.
    Invalid(String),
    /// An operand address or stride breaks the alignment its type needs; `addr` is the first
    /// misaligned address the unit would access.
    Misaligned {
        /// The operand (`a`, `b`, `c`).
        operand: &'static str,
        /// The first misaligned address.
        addr: u64,
        /// The alignment required.
        align: u64,
    },
}

impl fmt::Display for DescriptorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DescriptorError::Invalid(s) => f.write_str(s),
            DescriptorError::Misaligned {
                operand,
                addr,
                align,
            } => write!(
                f,
                "operand {operand} accesses {addr:#x}, which is not {align}-byte aligned"
            ),
        }
    }
}

fn u64_at(b: &[u8; 64], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

fn u32_at(b: &[u8; 64], at: usize) -> u64 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes")) as u64
}

impl MatmulJob {
    /// The activation type (B).
    pub fn b_type(&self) -> GgmlType {
        activation_type(self.ty).expect("a job's type is a weight type")
    }

    /// Bytes of one weight row.
    pub fn a_row_bytes(&self) -> u64 {
        self.ty.row_bytes(self.k).expect("k is whole blocks")
    }

    /// Bytes of one activation row.
    pub fn b_row_bytes(&self) -> u64 {
        self.b_type().row_bytes(self.k).expect("k is whole blocks")
    }

    /// Multiply-accumulates the job performs: m x n x k.
    pub fn macs(&self) -> u64 {
        self.m * self.n * self.k
    }

    /// Parses and validates a descriptor.
    pub fn parse(bytes: &[u8; 64]) -> Result<MatmulJob, DescriptorError> {
        let ctrl = u32_at(bytes, 0x3c);
        let invalid = |s: String| Err(DescriptorError::Invalid(s));
        if ctrl >> 9 != 0 {
            return invalid(format!(
                "ctrl = {ctrl:#x}: bits 31:9 are reserved and must be zero"
            ));
        }
        let id = (ctrl & 0xff) as u32;
        let ty = match GgmlType::from_id(id) {
            Some(t) if WEIGHT_TYPES.contains(&t) => t,
            _ => {
                let known: Vec<String> = WEIGHT_TYPES
                    .iter()
                    .map(|t| format!("{} ({})", t.id(), t))
                    .collect();
                return invalid(format!(
                    "weight type id {id} is not supported (supported: {})",
                    known.join(", ")
                ));
            }
        };
        let job = MatmulJob {
            ty,
            a: u64_at(bytes, 0x00),
            b: u64_at(bytes, 0x08),
            c: u64_at(bytes, 0x10),
            lda: u64_at(bytes, 0x18),
            ldb: u64_at(bytes, 0x20),
            ldc: u64_at(bytes, 0x28),
            m: u32_at(bytes, 0x30),
            n: u32_at(bytes, 0x34),
            k: u32_at(bytes, 0x38),
            a_transposed: ctrl & CTRL_A_TRANSPOSED != 0,
        };
        job.validate()?;
        Ok(job)
    }

    /// Checks a job's fields: k, strides, alignment, address-space overflow.
    pub fn validate(&self) -> Result<(), DescriptorError> {
        let invalid = |s: String| Err(DescriptorError::Invalid(s));
        if !WEIGHT_TYPES.contains(&self.ty) {
            return invalid(format!("weight type {} is not supported", self.ty));
        }
        if self.k == 0 {
            return invalid("k = 0: rows must hold at least one block".to_string());
        }
        let block = self.ty.block_elems() as u64;
        if !self.k.is_multiple_of(block) {
            return invalid(format!(
                "k = {} is not a multiple of the {} block size {block}",
                self.k, self.ty
            ));
        }
        if self.a_transposed && block != 1 {
            return invalid(format!(
                "ctrl bit 8 (A transposed) is only for the 16-bit float types, not {}",
                self.ty
            ));
        }
        let bt = self.b_type();
        // A as stored: n rows of k elements, or k rows of n elements when transposed.
        let (a_rows, a_row) = self.a_layout();
        let operands = [
            ("a", self.a, self.lda, a_rows, a_row, self.ty.alignment()),
            (
                "b",
                self.b,
                self.ldb,
                self.m,
                self.b_row_bytes(),
                bt.alignment(),
            ),
            ("c", self.c, self.ldc, self.m, 4 * self.n, 4),
        ];
        for (name, base, stride, rows, row_bytes, align) in operands {
            if rows == 0 || row_bytes == 0 {
                continue;
            }
            if rows > 1 && stride < row_bytes {
                return invalid(format!(
                    "ld{name} = {stride} is smaller than a row of {name} ({row_bytes} bytes)"
                ));
            }
            if base % align != 0 {
                return Err(DescriptorError::Misaligned {
                    operand: name,
                    addr: base,
                    align,
                });
            }
            if rows > 1 && stride % align != 0 {
                return Err(DescriptorError::Misaligned {
                    operand: name,
                    addr: base.wrapping_add(stride),
                    align,
                });
            }
            let end = (rows - 1)
                .checked_mul(stride)
                .and_then(|o| o.checked_add(row_bytes))
                .and_then(|o| o.checked_add(base));
            if end.is_none() {
                return invalid(format!(
                    "operand {name} ({rows} rows at {base:#x}, stride {stride}) runs past the end of the address space"
                ));
            }
        }
        Ok(())
    }

    /// A's rows as stored and the bytes of each: `(n, a_row_bytes)`, or `(k, 2n)` when
    /// A is transposed.
    pub fn a_layout(&self) -> (u64, u64) {
        if self.a_transposed {
            (self.k, 2 * self.n)
        } else {
            (self.n, self.a_row_bytes())
        }
    }

    /// The 64 bytes of this job's descriptor (the inverse of [`MatmulJob::parse`]).
    pub fn encode(&self) -> [u8; 64] {
        let mut d = [0u8; 64];
        for (at, v) in [
            (0x00, self.a),
            (0x08, self.b),
            (0x10, self.c),
            (0x18, self.lda),
            (0x20, self.ldb),
            (0x28, self.ldc),
        ] {
            d[at..at + 8].copy_from_slice(&v.to_le_bytes());
        }
        for (at, v) in [
            (0x30, self.m),
            (0x34, self.n),
            (0x38, self.k),
            (
                0x3c,
                self.ty.id() as u64
                    | if self.a_transposed {
                        CTRL_A_TRANSPOSED
                    } else {
                        0
                    },
            ),
        ] {
            d[at..at + 4].copy_from_slice(&(v as u32).to_le_bytes());
        }
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job() -> MatmulJob {
        MatmulJob {
            ty: GgmlType::Q4_K,
            a: 0x8000_0000,
            b: 0x8010_0000,
            c: 0x8020_0000,
            lda: 1152,
            ldb: 2336,
            ldc: 4 * 5632,
            m: 1,
            n: 5632,
            k: 2048,
            a_transposed: false,
        }
    }

    #[test]
    fn round_trip() {
        let j = job();
        assert_eq!(MatmulJob::parse(&j.encode()), Ok(j));
        assert_eq!(j.a_row_bytes(), 1152);
        assert_eq!(j.b_row_bytes(), 2336);
        assert_eq!(j.macs(), 5632 * 2048);
    }

    #[test]
    fn refusals() {
        let mut d = job().encode();
        d[0x3c] = 3; // Q4_1
        assert!(
            matches!(MatmulJob::parse(&d), Err(DescriptorError::Invalid(s)) if s.contains("type id 3"))
        );
        let mut d = job().encode();
        d[0x3d] = 2;
        assert!(
            matches!(MatmulJob::parse(&d), Err(DescriptorError::Invalid(s)) if s.contains("reserved"))
        );
        let bad_k = MatmulJob { k: 2000, ..job() };
        assert!(
            matches!(bad_k.validate(), Err(DescriptorError::Invalid(s)) if s.contains("multiple"))
        );
        let zero_k = MatmulJob { k: 0, ..job() };
        assert!(zero_k.validate().is_err());
        let short_lda = MatmulJob { lda: 1000, ..job() };
        assert!(
            matches!(short_lda.validate(), Err(DescriptorError::Invalid(s)) if s.contains("lda"))
        );
        let odd_b = MatmulJob {
            b: 0x8010_0002,
            ..job()
        };
        assert_eq!(
            odd_b.validate(),
            Err(DescriptorError::Misaligned {
                operand: "b",
                addr: 0x8010_0002,
                align: 4
            })
        );
        let odd_lda = MatmulJob { lda: 1153, ..job() };
        assert!(matches!(
            odd_lda.validate(),
            Err(DescriptorError::Misaligned { operand: "a", addr, .. }) if addr == 0x8000_0000 + 1153
        ));
        let wrap = MatmulJob {
            c: u64::MAX - 15,
            ..job()
        };
        assert!(
            matches!(wrap.validate(), Err(DescriptorError::Invalid(s)) if s.contains("address space"))
        );
        // A single row needs no stride.
        let one = MatmulJob {
            n: 1,
            lda: 0,
            ..job()
        };
        assert_eq!(one.validate(), Ok(()));
        // Transposition is for the 16-bit float types only.
        let mut d = job().encode();
        d[0x3d] = 1;
        assert!(
            matches!(MatmulJob::parse(&d), Err(DescriptorError::Invalid(s)) if s.contains("transposed"))
        );
    }

    #[test]
    fn transposed_f16_round_trip_and_layout() {
        // P . V: 8 heads (m) x 64 outputs (n, head size) over 128 keys (k); V rows of 4 KV
        // heads x 64 elements, so a key's row of this head starts 512 bytes after the last.
        let j = MatmulJob {
            ty: GgmlType::F16,
            a: 0x8000_0000,
            b: 0x2000_0000,
            c: 0x2001_0000,
            lda: 512,
            ldb: 256,
            ldc: 256,
            m: 8,
            n: 64,
            k: 128,
            a_transposed: true,
        };
        assert_eq!(MatmulJob::parse(&j.encode()), Ok(j));
        assert_eq!(j.a_layout(), (128, 128));
        assert_eq!(j.b_row_bytes(), 256);
        // A row of A as stored is n elements: a stride below 2n is refused.
        let short = MatmulJob { lda: 100, ..j };
        assert!(matches!(short.validate(), Err(DescriptorError::Invalid(s)) if s.contains("lda")));
    }
}
