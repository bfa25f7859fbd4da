//! Typed element access to the register file bytes (little-endian, as RVV lays them out).
//!
//! Each semantic loop is instantiated per SEW through [`by_sew!`], so the element width is a
//! compile-time constant inside the loop; values travel as `u64` (zero-extended) and are
//! truncated on write.

/// An element type of 8, 16, 32 or 64 bits.
pub(crate) trait Elem: Copy + 'static {
    /// Width in bytes.
    const BYTES: usize;
    /// Width in bits.
    const BITS: u32;
    /// Reads the element at byte offset `off`, zero-extended.
    fn rd(b: &[u8], off: usize) -> u64;
    /// Writes the low `BITS` bits of `v` at byte offset `off`.
    fn wr(b: &mut [u8], off: usize, v: u64);
    /// All-ones mask of the width.
    const MASK: u64 = if Self::BITS == 64 {
        u64::MAX
    } else {
        (1u64 << Self::BITS) - 1
    };
    /// Sign-extends the low `BITS` bits of `v`.
    #[inline(always)]
    fn sx(v: u64) -> i64 {
        ((v << (64 - Self::BITS)) as i64) >> (64 - Self::BITS)
    }
}

macro_rules! impl_elem {
    ($t:ty, $n:expr) => {
        impl Elem for $t {
            const BYTES: usize = $n;
            const BITS: u32 = $n * 8;
            #[inline(always)]
            fn rd(b: &[u8], off: usize) -> u64 {
                <$t>::from_le_bytes(b[off..off + $n].try_into().unwrap()) as u64
            }
            #[inline(always)]
            fn wr(b: &mut [u8], off: usize, v: u64) {
                b[off..off + $n].copy_from_slice(&(v as $t).to_le_bytes());
            }
        }
    };
}
impl_elem!(u8, 1);
impl_elem!(u16, 2);
impl_elem!(u32, 4);
impl_elem!(u64, 8);

/// Runs `$e` with `$T` bound to the unsigned element type of width `$sew` bits.
macro_rules! by_sew {
    ($sew:expr, $T:ident => $e:expr) => {
        match $sew {
            8 => {
                type $T = u8;
                $e
            }
            16 => {
                type $T = u16;
                $e
            }
            32 => {
                type $T = u32;
                $e
            }
            _ => {
                type $T = u64;
                $e
            }
        }
    };
}
pub(crate) use by_sew;

/// Runs `$e` with `$T` the element type of `$sew` bits and `$W` the one twice as wide
/// (`$sew` is 8, 16 or 32).
macro_rules! by_sew_wide {
    ($sew:expr, $T:ident, $W:ident => $e:expr) => {
        match $sew {
            8 => {
                type $T = u8;
                type $W = u16;
                $e
            }
            16 => {
                type $T = u16;
                type $W = u32;
                $e
            }
            _ => {
                type $T = u32;
                type $W = u64;
                $e
            }
        }
    };
}
pub(crate) use by_sew_wide;
