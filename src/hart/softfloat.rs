//! IEEE 754 arithmetic for binary16/32/64 in software, with every RISC-V rounding mode and
//! the exception flags exactly as the RISC-V spec asks: tininess detected after rounding,
//! canonical NaNs, `fma(inf, 0, qNaN)` invalid, saturating float-to-integer conversions.
//!
//! Each operation computes the exact result as an integer significand times a power of two
//! (with a sticky bit for whatever lies far below the rounding point) and rounds once in
//! [`round_pack`]. Values travel as raw bits in a `u64` (low 16/32/64 bits).
//!
//! This is the one soft-float library of the emulator: the scalar F/D/Zfh instructions and
//! the vector unit both use it. binary32 add, multiply, divide, min/max and the conversion
//! to a 32-bit integer take a host fast path under round-to-nearest-even when the result
//! is a normal number; tests check that the fast paths equal the software ones.

/// Invalid operation.
pub const NV: u8 = 16;
/// Divide by zero.
pub const DZ: u8 = 8;
/// Overflow.
pub const OF: u8 = 4;
/// Underflow.
pub const UF: u8 = 2;
/// Inexact.
pub const NX: u8 = 1;

/// Round to nearest, ties to even.
pub const RNE: u8 = 0;
/// Round towards zero.
pub const RTZ: u8 = 1;
/// Round down (towards -inf).
pub const RDN: u8 = 2;
/// Round up (towards +inf).
pub const RUP: u8 = 3;
/// Round to nearest, ties to max magnitude.
pub const RMM: u8 = 4;
/// Round to odd (jamming): truncate, then set the last bit if anything was lost. Not a
/// `frm` value; only `vfncvt.rod.f.f.w` uses it.
pub const ROD: u8 = 8;

/// A binary interchange format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Format {
    /// Exponent field width.
    pub exp_bits: u32,
    /// Fraction field width (precision minus one).
    pub frac_bits: u32,
}

/// binary16.
pub const F16: Format = Format {
    exp_bits: 5,
    frac_bits: 10,
};
/// binary32.
pub const F32: Format = Format {
    exp_bits: 8,
    frac_bits: 23,
};
/// binary64.
pub const F64: Format = Format {
    exp_bits: 11,
    frac_bits: 52,
};

impl Format {
    fn bias(self) -> i32 {
        (1 << (self.exp_bits - 1)) - 1
    }
    fn exp_max_field(self) -> u64 {
        (1 << self.exp_bits) - 1
    }
    fn sign_bit(self) -> u64 {
        1 << (self.exp_bits + self.frac_bits)
    }
    fn frac_mask(self) -> u64 {
        (1 << self.frac_bits) - 1
    }
    /// The canonical quiet NaN.
    pub fn canonical_nan(self) -> u64 {
        (self.exp_max_field() << self.frac_bits) | (1 << (self.frac_bits - 1))
    }
    fn inf(self, sign: bool) -> u64 {
        (if sign { self.sign_bit() } else { 0 }) | (self.exp_max_field() << self.frac_bits)
    }
    fn zero(self, sign: bool) -> u64 {
        if sign {
            self.sign_bit()
        } else {
            0
        }
    }
    fn max_finite(self, sign: bool) -> u64 {
        self.zero(sign) | (((self.exp_max_field() - 1) << self.frac_bits) | self.frac_mask())
    }
    /// True when `v` is a NaN.
    pub fn is_nan(self, v: u64) -> bool {
        (v >> self.frac_bits) & self.exp_max_field() == self.exp_max_field()
            && v & self.frac_mask() != 0
    }
    /// True when `v` is a signalling NaN.
    pub fn is_snan(self, v: u64) -> bool {
        self.is_nan(v) && v & (1 << (self.frac_bits - 1)) == 0
    }
    /// The sign bit of `v`.
    pub fn sign(self, v: u64) -> bool {
        v & self.sign_bit() != 0
    }
    /// Width in bits.
    pub fn width(self) -> u32 {
        1 + self.exp_bits + self.frac_bits
    }
}

/// An unpacked operand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Val {
    Nan,
    Inf(bool),
    Zero(bool),
    /// (-1)^sign * sig * 2^exp, sig != 0.
    Fin(bool, i32, u64),
}

fn unpack(f: Format, v: u64) -> Val {
    let sign = f.sign(v);
    let e = ((v >> f.frac_bits) & f.exp_max_field()) as i32;
    let frac = v & f.frac_mask();
    if e as u64 == f.exp_max_field() {
        if frac != 0 {
            Val::Nan
        } else {
            Val::Inf(sign)
        }
    } else if e == 0 {
        if frac == 0 {
            Val::Zero(sign)
        } else {
            Val::Fin(sign, 1 - f.bias() - f.frac_bits as i32, frac)
        }
    } else {
        Val::Fin(
            sign,
            e - f.bias() - f.frac_bits as i32,
            frac | (1 << f.frac_bits),
        )
    }
}

fn bit_len(v: u128) -> i32 {
    128 - v.leading_zeros() as i32
}

/// Shifts right by `s`, returning (quotient, half bit, sticky below half).
fn shr_round(sig: u128, s: u32) -> (u128, bool, bool) {
    match s {
        0 => (sig, false, false),
        1..=127 => (
            sig >> s,
            (sig >> (s - 1)) & 1 != 0,
            sig & ((1u128 << (s - 1)) - 1) != 0,
        ),
        128 => (0, sig >> 127 != 0, sig & (u128::MAX >> 1) != 0),
        _ => (0, false, sig != 0),
    }
}

/// Shifts right by `s`, ORing everything shifted out into the lowest bit.
fn shr_jam(sig: u128, s: u32) -> u128 {
    if s == 0 {
        sig
    } else if s >= 128 {
        (sig != 0) as u128
    } else {
        (sig >> s) | ((sig & ((1u128 << s) - 1) != 0) as u128)
    }
}

fn round_inc(rm: u8, sign: bool, lsb: bool, half: bool, sticky: bool) -> bool {
    match rm {
        RNE => half && (sticky || lsb),
        RTZ => false,
        RDN => sign && (half || sticky),
        RUP => !sign && (half || sticky),
        ROD => false,
        _ => half, // RMM
    }
}

/// Rounds (-1)^sign * sig * 2^exp (sig != 0, exact or with a sticky low bit well below the
/// rounding point) to format `f` with rounding mode `rm`, raising OF/UF/NX into `flags`.
pub fn round_pack(f: Format, sign: bool, exp: i32, sig: u128, rm: u8, flags: &mut u8) -> u64 {
    debug_assert!(sig != 0);
    let p = f.frac_bits as i32 + 1;
    let emin = 1 - f.bias();
    let top = bit_len(sig) - 1 + exp; // value in [2^top, 2^(top+1))
    let q = if top >= emin {
        top - (p - 1)
    } else {
        emin - (p - 1)
    };
    let shift = q - exp;
    let (mut m, half, sticky) = if shift <= 0 {
        (sig << (-shift) as u32, false, false)
    } else {
        shr_round(sig, shift as u32)
    };
    let inexact = half || sticky;
    if round_inc(rm, sign, m & 1 != 0, half, sticky) {
        m += 1;
    }
    if rm == ROD && inexact {
        m |= 1;
    }
    let mut q = q;
    if m >> p != 0 {
        m >>= 1;
        q += 1;
    }
    if inexact {
        *flags |= NX;
        if top < emin {
            // Tininess after rounding: tiny unless rounding to p bits with an unbounded
            // exponent reaches 2^emin.
            let s2 = (top - (p - 1)) - exp;
            let (m2, h2, st2) = if s2 <= 0 {
                (sig << (-s2) as u32, false, false)
            } else {
                shr_round(sig, s2 as u32)
            };
            let m2 = m2 + round_inc(rm, sign, m2 & 1 != 0, h2, st2) as u128;
            let reaches_normal = top + 1 == emin && m2 >> p != 0;
            if !reaches_normal {
                *flags |= UF;
            }
        }
    }
    if m == 0 {
        return f.zero(sign);
    }
    let biased = if m >> (p - 1) != 0 {
        (q + (p - 1) + f.bias()) as i64
    } else {
        0
    };
    if biased >= f.exp_max_field() as i64 {
        *flags |= OF | NX;
        return match rm {
            RNE | RMM => f.inf(sign),
            RTZ | ROD => f.max_finite(sign),
            RDN => {
                if sign {
                    f.inf(true)
                } else {
                    f.max_finite(false)
                }
            }
            _ => {
                if sign {
                    f.max_finite(true)
                } else {
                    f.inf(false)
                }
            }
        };
    }
    f.zero(sign) | ((biased as u64) << f.frac_bits) | (m as u64 & f.frac_mask())
}

/// NaN result for a NaN operand: canonical NaN, NV if any operand is signalling.
fn nan_result(f: Format, ops: &[u64], flags: &mut u8) -> u64 {
    if ops.iter().any(|&v| f.is_snan(v)) {
        *flags |= NV;
    }
    f.canonical_nan()
}

/// Exact sum of two finite nonzero terms, then rounded.
fn add_terms(
    f: Format,
    (sa, ea, ma): (bool, i32, u128),
    (sb, eb, mb): (bool, i32, u128),
    rm: u8,
    flags: &mut u8,
) -> u64 {
    // X is the term with the higher top bit.
    let (x, y) = if bit_len(ma) + ea >= bit_len(mb) + eb {
        ((sa, ea, ma), (sb, eb, mb))
    } else {
        ((sb, eb, mb), (sa, ea, ma))
    };
    let (sx, ex, mx) = x;
    let (sy, ey, my) = y;
    // Common exponent: the lower of the two, but keep X within 126 bits (Y, whose top bit
    // is not above X's, then fits too; if it must shift right, its bits below become sticky).
    let e = ex.min(ey).max(ex - (126 - bit_len(mx)));
    let xs = mx << (ex - e) as u32;
    let ys = if ey >= e {
        my << (ey - e) as u32
    } else {
        shr_jam(my, (e - ey) as u32)
    };
    let (sign, mag) = if sx == sy {
        (sx, xs + ys)
    } else if xs >= ys {
        (sx, xs - ys)
    } else {
        (sy, ys - xs)
    };
    if mag == 0 {
        return f.zero(rm == RDN);
    }
    round_pack(f, sign, e, mag, rm, flags)
}

// ---- Fast paths: binary32 under RNE through the host's binary64 arithmetic. ----
//
// A binary32 product is exact in binary64, and for + and / rounding first to binary64 and
// then to binary32 gives the correctly rounded binary32 result (53 >= 2*24 + 2), so the host
// computes the value. The flags need the exact result's relation to the rounded one; a fast
// path answers only when the result is a finite normal number (no overflow or underflow
// question) and otherwise falls back to the software path.

/// Smallest normal binary32 as f64.
const F32_MIN_NORMAL: f64 = 1.1754943508222875e-38;
/// Largest finite binary32 as f64.
const F32_MAX: f64 = 3.4028234663852886e38;

#[inline(always)]
fn f32_fast_ok(r: f64) -> bool {
    (F32_MIN_NORMAL..=F32_MAX).contains(&r.abs())
}

/// Whether binary32 `a` and `b` (finite, nonzero) may take a fast path under `rm`.
#[inline(always)]
fn f32_fast_operands(f: Format, a: u64, b: u64, rm: u8) -> Option<(f64, f64)> {
    let ok = |x: u64| (x >> 23) & 0xff != 0xff && x & 0x7fff_ffff != 0;
    (f == F32 && rm == RNE && ok(a) && ok(b)).then(|| {
        (
            f32::from_bits(a as u32) as f64,
            f32::from_bits(b as u32) as f64,
        )
    })
}

/// a + b.
#[inline]
pub fn add(f: Format, a: u64, b: u64, rm: u8, flags: &mut u8) -> u64 {
    if let Some((x, y)) = f32_fast_operands(f, a, b, rm) {
        let s64 = x + y;
        let r = s64 as f32;
        if f32_fast_ok(s64) && f32_fast_ok(r as f64) {
            // TwoSum: the binary64 rounding error of s64.
            let bb = s64 - x;
            let err = (x - (s64 - bb)) + (y - bb);
            if err != 0.0 || r as f64 != s64 {
                *flags |= NX;
            }
            return r.to_bits() as u64;
        }
    }
    add_soft(f, a, b, rm, flags)
}

/// a + b, always in software.
fn add_soft(f: Format, a: u64, b: u64, rm: u8, flags: &mut u8) -> u64 {
    match (unpack(f, a), unpack(f, b)) {
        (Val::Nan, _) | (_, Val::Nan) => nan_result(f, &[a, b], flags),
        (Val::Inf(x), Val::Inf(y)) => {
            if x != y {
                *flags |= NV;
                f.canonical_nan()
            } else {
                f.inf(x)
            }
        }
        (Val::Inf(x), _) | (_, Val::Inf(x)) => f.inf(x),
        (Val::Zero(x), Val::Zero(y)) => f.zero(if x == y { x } else { rm == RDN }),
        (Val::Zero(_), _) => b,
        (_, Val::Zero(_)) => a,
        (Val::Fin(sa, ea, ma), Val::Fin(sb, eb, mb)) => {
            add_terms(f, (sa, ea, ma as u128), (sb, eb, mb as u128), rm, flags)
        }
    }
}

/// a - b.
pub fn sub(f: Format, a: u64, b: u64, rm: u8, flags: &mut u8) -> u64 {
    let nb = if f.is_nan(b) { b } else { b ^ f.sign_bit() };
    add(f, a, nb, rm, flags)
}

/// a * b.
#[inline]
pub fn mul(f: Format, a: u64, b: u64, rm: u8, flags: &mut u8) -> u64 {
    if let Some((x, y)) = f32_fast_operands(f, a, b, rm) {
        let p = x * y;
        let r = p as f32;
        if f32_fast_ok(p) && f32_fast_ok(r as f64) {
            if r as f64 != p {
                *flags |= NX;
            }
            return r.to_bits() as u64;
        }
    }
    mul_soft(f, a, b, rm, flags)
}

/// a * b, always in software.
fn mul_soft(f: Format, a: u64, b: u64, rm: u8, flags: &mut u8) -> u64 {
    match (unpack(f, a), unpack(f, b)) {
        (Val::Nan, _) | (_, Val::Nan) => nan_result(f, &[a, b], flags),
        (Val::Inf(_), Val::Zero(_)) | (Val::Zero(_), Val::Inf(_)) => {
            *flags |= NV;
            f.canonical_nan()
        }
        (Val::Inf(x), Val::Inf(y))
        | (Val::Inf(x), Val::Fin(y, ..))
        | (Val::Fin(x, ..), Val::Inf(y)) => f.inf(x != y),
        (Val::Zero(x), Val::Zero(y))
        | (Val::Zero(x), Val::Fin(y, ..))
        | (Val::Fin(x, ..), Val::Zero(y)) => f.zero(x != y),
        (Val::Fin(sa, ea, ma), Val::Fin(sb, eb, mb)) => {
            round_pack(f, sa != sb, ea + eb, ma as u128 * mb as u128, rm, flags)
        }
    }
}

/// The binary32 fused multiply-add on the host's binary64 arithmetic, when the operands are
/// finite and nonzero, the rounding is to nearest even and the result is a normal number;
/// `None` leaves the case to the software path.
///
/// The product of two binary32 values is exact in binary64 (48 bits), so the only
/// inexact step is the sum `s = p + z`; TwoSum gives its error `err` exactly. Rounding `s`
/// to binary32 then rounds the exact `p + z` correctly unless `s` is itself halfway between
/// two binary32 values (every such midpoint is a binary64 number, so the exact sum, within
/// half a binary64 ulp of `s`, cannot cross one otherwise): there, the exact sum lies on
/// `err`'s side of the midpoint, and the result is the neighbour on that side.
#[inline(always)]
fn fma_f32_fast(
    a: u64,
    b: u64,
    c: u64,
    negate_product: bool,
    negate_addend: bool,
    flags: &mut u8,
) -> Option<u64> {
    let ok = |x: u64| (x >> 23) & 0xff != 0xff && x & 0x7fff_ffff != 0;
    if !(ok(a) && ok(b) && ok(c)) {
        return None;
    }
    let x = |v: u64| f32::from_bits(v as u32) as f64;
    let p = if negate_product { -x(a) } else { x(a) } * x(b);
    let z = if negate_addend { -x(c) } else { x(c) };
    let s = p + z;
    if !f32_fast_ok(s) {
        return None;
    }
    let bb = s - p;
    let err = (p - (s - bb)) + (z - bb);
    /// The 29 binary64 fraction bits below binary32's 23.
    const LOW: u64 = (1 << 29) - 1;
    let bits = s.to_bits();
    let r = if err != 0.0 && bits & LOW == 1 << 28 {
        let toward_zero = f64::from_bits(bits & !LOW) as f32;
        if (err > 0.0) == (s > 0.0) {
            f32::from_bits(toward_zero.to_bits() + 1)
        } else {
            toward_zero
        }
    } else {
        s as f32
    };
    if !f32_fast_ok(r as f64) {
        return None;
    }
    if err != 0.0 || r as f64 != s {
        *flags |= NX;
    }
    Some(r.to_bits() as u64)
}

#[allow(clippy::too_many_arguments)]
/// a * b + c with one rounding. `negate_product` and `negate_addend` give fmsub/fnmadd/fnmsub.
#[inline]
pub fn fma(
    f: Format,
    a: u64,
    b: u64,
    c: u64,
    negate_product: bool,
    negate_addend: bool,
    rm: u8,
    flags: &mut u8,
) -> u64 {
    if f == F32 && rm == RNE {
        if let Some(r) = fma_f32_fast(a, b, c, negate_product, negate_addend, flags) {
            return r;
        }
    }
    fma_soft(f, a, b, c, negate_product, negate_addend, rm, flags)
}

#[allow(clippy::too_many_arguments)]
/// a * b + c, always in software.
fn fma_soft(
    f: Format,
    a: u64,
    b: u64,
    c: u64,
    negate_product: bool,
    negate_addend: bool,
    rm: u8,
    flags: &mut u8,
) -> u64 {
    let (ua, ub, uc) = (unpack(f, a), unpack(f, b), unpack(f, c));
    let inf_times_zero = matches!(
        (ua, ub),
        (Val::Inf(_), Val::Zero(_)) | (Val::Zero(_), Val::Inf(_))
    );
    if inf_times_zero {
        if f.is_snan(c) {
            *flags |= NV;
        }
        *flags |= NV;
        return f.canonical_nan();
    }
    if matches!(ua, Val::Nan) || matches!(ub, Val::Nan) || matches!(uc, Val::Nan) {
        return nan_result(f, &[a, b, c], flags);
    }
    let sign_of = |v: Val| match v {
        Val::Inf(s) | Val::Zero(s) | Val::Fin(s, ..) => s,
        Val::Nan => false,
    };
    let ps = (sign_of(ua) != sign_of(ub)) != negate_product;
    let cs = sign_of(uc) != negate_addend;
    let p_inf = matches!(ua, Val::Inf(_)) || matches!(ub, Val::Inf(_));
    let p_zero = matches!(ua, Val::Zero(_)) || matches!(ub, Val::Zero(_));
    if p_inf {
        if let Val::Inf(_) = uc {
            if cs != ps {
                *flags |= NV;
                return f.canonical_nan();
            }
        }
        return f.inf(ps);
    }
    if let Val::Inf(_) = uc {
        return f.inf(cs);
    }
    match (p_zero, uc) {
        (true, Val::Zero(_)) => f.zero(if ps == cs { ps } else { rm == RDN }),
        (true, Val::Fin(..)) => {
            if cs {
                c | f.sign_bit()
            } else {
                c & !f.sign_bit()
            }
        }
        (true, _) => unreachable!("NaN and infinite addends handled above"),
        (false, cv) => {
            let (Val::Fin(_, ea, ma), Val::Fin(_, eb, mb)) = (ua, ub) else {
                unreachable!("finite product operands")
            };
            let prod = (ps, ea + eb, ma as u128 * mb as u128);
            match cv {
                Val::Zero(_) => round_pack(f, ps, prod.1, prod.2, rm, flags),
                Val::Fin(_, ec, mc) => add_terms(f, prod, (cs, ec, mc as u128), rm, flags),
                _ => unreachable!("addend classes handled above"),
            }
        }
    }
}

/// a / b.
#[inline]
pub fn div(f: Format, a: u64, b: u64, rm: u8, flags: &mut u8) -> u64 {
    if let Some((x, y)) = f32_fast_operands(f, a, b, rm) {
        let q = x / y;
        let r = q as f32;
        if f32_fast_ok(q) && f32_fast_ok(r as f64) {
            // The quotient is exact iff r * y == x (both products exact in binary64).
            if r as f64 * y != x {
                *flags |= NX;
            }
            return r.to_bits() as u64;
        }
    }
    div_soft(f, a, b, rm, flags)
}

/// a / b, always in software.
fn div_soft(f: Format, a: u64, b: u64, rm: u8, flags: &mut u8) -> u64 {
    match (unpack(f, a), unpack(f, b)) {
        (Val::Nan, _) | (_, Val::Nan) => nan_result(f, &[a, b], flags),
        (Val::Inf(_), Val::Inf(_)) | (Val::Zero(_), Val::Zero(_)) => {
            *flags |= NV;
            f.canonical_nan()
        }
        (Val::Inf(x), Val::Zero(y)) | (Val::Inf(x), Val::Fin(y, ..)) => f.inf(x != y),
        (Val::Zero(x), Val::Inf(y))
        | (Val::Zero(x), Val::Fin(y, ..))
        | (Val::Fin(x, ..), Val::Inf(y)) => f.zero(x != y),
        (Val::Fin(x, ..), Val::Zero(y)) => {
            *flags |= DZ;
            f.inf(x != y)
        }
        (Val::Fin(sa, ea, ma), Val::Fin(sb, eb, mb)) => {
            let sh = 126 - bit_len(ma as u128);
            let num = (ma as u128) << sh;
            let q = num / mb as u128;
            let r = num % mb as u128;
            round_pack(f, sa != sb, ea - sh - eb, q | (r != 0) as u128, rm, flags)
        }
    }
}

fn isqrt(n: u128) -> (u128, bool) {
    // Digit-by-digit square root; returns (floor(sqrt(n)), remainder != 0).
    let mut rem = n;
    let mut root: u128 = 0;
    let mut bit: u128 = 1 << 126;
    while bit > n {
        bit >>= 2;
    }
    while bit != 0 {
        if rem >= root + bit {
            rem -= root + bit;
            root = (root >> 1) + bit;
        } else {
            root >>= 1;
        }
        bit >>= 2;
    }
    (root, rem != 0)
}

/// sqrt(a).
pub fn sqrt(f: Format, a: u64, rm: u8, flags: &mut u8) -> u64 {
    match unpack(f, a) {
        Val::Nan => nan_result(f, &[a], flags),
        Val::Zero(_) => a,
        Val::Inf(false) => a,
        Val::Inf(true) | Val::Fin(true, ..) => {
            *flags |= NV;
            f.canonical_nan()
        }
        Val::Fin(false, e, m) => {
            let mut sh = 124 - bit_len(m as u128);
            if (e - sh) % 2 != 0 {
                sh += 1;
            }
            let (r, inexact) = isqrt((m as u128) << sh);
            round_pack(f, false, (e - sh) / 2, r | inexact as u128, rm, flags)
        }
    }
}

/// Converts between formats (widening is exact; narrowing rounds).
pub fn convert(to: Format, from: Format, a: u64, rm: u8, flags: &mut u8) -> u64 {
    match unpack(from, a) {
        Val::Nan => {
            nan_result(from, &[a], flags);
            to.canonical_nan()
        }
        Val::Inf(s) => to.inf(s),
        Val::Zero(s) => to.zero(s),
        Val::Fin(s, e, m) => round_pack(to, s, e, m as u128, rm, flags),
    }
}

/// Converts a signed (`signed`) or unsigned 64-bit integer to format `f`.
pub fn from_int(f: Format, v: u64, signed: bool, rm: u8, flags: &mut u8) -> u64 {
    let neg = signed && (v as i64) < 0;
    let mag = if neg { (v as i64).unsigned_abs() } else { v };
    if mag == 0 {
        return 0;
    }
    round_pack(f, neg, 0, mag as u128, rm, flags)
}

/// Converts to an integer of `bits` (32 or 64) bits, signed or not, saturating with NV.
/// The result is the integer's value as an i128 (the caller sign-extends 32-bit results).
pub fn to_int(f: Format, a: u64, bits: u32, signed: bool, rm: u8, flags: &mut u8) -> i128 {
    if f == F32 && bits == 32 {
        // Fast path: the host rounds binary32 to an integral binary32 exactly in every mode.
        let x = f32::from_bits(a as u32);
        let r = match rm {
            RNE => x.round_ties_even(),
            RTZ => x.trunc(),
            RDN => x.floor(),
            RUP => x.ceil(),
            _ => x.round(),
        };
        let (lo, hi) = if signed {
            (-2147483648.0f32, 2147483520.0f32) // largest binary32 below 2^31
        } else {
            (0.0, 4294967040.0) // largest binary32 below 2^32
        };
        if r >= lo && r <= hi {
            if r != x {
                *flags |= NX;
            }
            return r as i64 as i128;
        }
    }
    to_int_soft(f, a, bits, signed, rm, flags)
}

/// [`to_int`], always in software.
fn to_int_soft(f: Format, a: u64, bits: u32, signed: bool, rm: u8, flags: &mut u8) -> i128 {
    let (lo, hi): (i128, i128) = if signed {
        (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
    } else {
        (0, (1i128 << bits) - 1)
    };
    let (sign, e, m) = match unpack(f, a) {
        Val::Nan => {
            *flags |= NV;
            return hi;
        }
        Val::Inf(s) => {
            *flags |= NV;
            return if s { lo } else { hi };
        }
        Val::Zero(_) => return 0,
        Val::Fin(s, e, m) => (s, e, m),
    };
    let (mag, inexact) = if e >= 0 {
        if e > 70 {
            *flags |= NV;
            return if sign { lo } else { hi };
        }
        ((m as u128) << e, false)
    } else {
        let (q, half, sticky) = shr_round(m as u128, (-e) as u32);
        let q = q + round_inc(rm, sign, q & 1 != 0, half, sticky) as u128;
        (q, half || sticky)
    };
    let v: i128 = if sign { -(mag as i128) } else { mag as i128 };
    if v < lo || v > hi {
        *flags |= NV;
        return if sign { lo } else { hi };
    }
    if inexact {
        *flags |= NX;
    }
    v
}

/// Comparison result of a and b: None when unordered.
fn compare(f: Format, a: u64, b: u64) -> Option<std::cmp::Ordering> {
    use std::cmp::Ordering::*;
    let key = |v: Val| -> (i32, i128) {
        match v {
            Val::Zero(_) => (0, 0),
            Val::Inf(s) => (if s { -1 } else { 1 }, 0),
            Val::Fin(s, e, m) => {
                // Map to a totally ordered magnitude: exponent of top bit, then significand.
                let top = bit_len(m as u128) + e;
                let norm = (m as i128) << (64 - bit_len(m as u128));
                let k = ((top as i128 + 4096) << 66) | norm;
                (0, if s { -k } else { k })
            }
            Val::Nan => (0, 0),
        }
    };
    let (ua, ub) = (unpack(f, a), unpack(f, b));
    if matches!(ua, Val::Nan) || matches!(ub, Val::Nan) {
        return None;
    }
    let (ka, kb) = (key(ua), key(ub));
    Some(match ka.0.cmp(&kb.0) {
        Equal => ka.1.cmp(&kb.1),
        o => o,
    })
}

/// feq: quiet comparison (NV only for signalling NaNs).
pub fn eq(f: Format, a: u64, b: u64, flags: &mut u8) -> bool {
    if f.is_snan(a) || f.is_snan(b) {
        *flags |= NV;
    }
    compare(f, a, b) == Some(std::cmp::Ordering::Equal)
}

/// flt: signalling comparison (NV for any NaN).
pub fn lt(f: Format, a: u64, b: u64, flags: &mut u8) -> bool {
    match compare(f, a, b) {
        None => {
            *flags |= NV;
            false
        }
        Some(o) => o == std::cmp::Ordering::Less,
    }
}

/// fle: signalling comparison (NV for any NaN).
pub fn le(f: Format, a: u64, b: u64, flags: &mut u8) -> bool {
    match compare(f, a, b) {
        None => {
            *flags |= NV;
            false
        }
        Some(o) => o != std::cmp::Ordering::Greater,
    }
}

/// fmin (`max` false) / fmax (`max` true), IEEE 754-2019 minimumNumber/maximumNumber with
/// -0 < +0.
#[inline]
pub fn min_max(f: Format, a: u64, b: u64, max: bool, flags: &mut u8) -> u64 {
    if f == F32 {
        let (x, y) = (f32::from_bits(a as u32), f32::from_bits(b as u32));
        if !x.is_nan() && !y.is_nan() {
            // Ordered values: -0 < +0 is the only case host comparison gets wrong.
            let pick_a = if x == y {
                x.is_sign_negative() != max
            } else {
                (x < y) != max
            };
            return if pick_a { a } else { b };
        }
    }
    min_max_soft(f, a, b, max, flags)
}

/// [`min_max`], always in software.
fn min_max_soft(f: Format, a: u64, b: u64, max: bool, flags: &mut u8) -> u64 {
    if f.is_snan(a) || f.is_snan(b) {
        *flags |= NV;
    }
    match (f.is_nan(a), f.is_nan(b)) {
        (true, true) => return f.canonical_nan(),
        (true, false) => return b,
        (false, true) => return a,
        _ => {}
    }
    let o = compare(f, a, b).expect("ordered operands");
    let a_first = match o {
        std::cmp::Ordering::Less => !max,
        std::cmp::Ordering::Greater => max,
        // Equal: only +0/-0 differ; min prefers the negative one.
        std::cmp::Ordering::Equal => f.sign(a) != max,
    };
    if a_first {
        a
    } else {
        b
    }
}

/// Which sign `fsgnj`-style instructions give the result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInjection {
    /// `fsgnj`: the sign of b.
    Copy,
    /// `fsgnjn`: the opposite of b's sign.
    Negate,
    /// `fsgnjx`: the xor of both signs.
    Xor,
}

/// a with its sign replaced as `kind` says (no NaN check, as the instructions do).
pub fn sign_inject(f: Format, a: u64, b: u64, kind: SignInjection) -> u64 {
    let sb = f.sign_bit();
    let s = match kind {
        SignInjection::Copy => b & sb,
        SignInjection::Negate => !b & sb,
        SignInjection::Xor => (a ^ b) & sb,
    };
    (a & !sb) | s
}

/// fclass: the 10-bit class mask.
pub fn classify(f: Format, a: u64) -> u64 {
    let s = f.sign(a);
    let e = (a >> f.frac_bits) & f.exp_max_field();
    let frac = a & f.frac_mask();
    let bit = if e == f.exp_max_field() {
        if frac == 0 {
            if s {
                0
            } else {
                7
            }
        } else if f.is_snan(a) {
            8
        } else {
            9
        }
    } else if e == 0 {
        match (frac == 0, s) {
            (true, true) => 3,
            (true, false) => 4,
            (false, true) => 2,
            (false, false) => 5,
        }
    } else if s {
        1
    } else {
        6
    };
    1 << bit
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn f64op(op: fn(Format, u64, u64, u8, &mut u8) -> u64, a: f64, b: f64) -> (f64, u8) {
        let mut fl = 0;
        let r = op(F64, a.to_bits(), b.to_bits(), RNE, &mut fl);
        (f64::from_bits(r), fl)
    }

    fn same(x: f64, y: f64) -> bool {
        x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan())
    }

    // Host arithmetic rounds to nearest even: the soft results must agree bit for bit.
    proptest! {
        #[test]
        fn f64_ops_match_host(a in any::<u64>(), b in any::<u64>()) {
            let (a, b) = (f64::from_bits(a), f64::from_bits(b));
            prop_assert!(same(f64op(add, a, b).0, a + b));
            prop_assert!(same(f64op(sub, a, b).0, a - b));
            prop_assert!(same(f64op(mul, a, b).0, a * b));
            prop_assert!(same(f64op(div, a, b).0, a / b));
            let mut fl = 0;
            prop_assert!(same(f64::from_bits(sqrt(F64, a.to_bits(), RNE, &mut fl)), a.sqrt()));
        }

        #[test]
        fn f32_ops_match_host(a in any::<u32>(), b in any::<u32>(), c in any::<u32>()) {
            let (x, y, z) = (f32::from_bits(a), f32::from_bits(b), f32::from_bits(c));
            let g = |op: fn(Format, u64, u64, u8, &mut u8) -> u64| {
                let mut fl = 0;
                f32::from_bits(op(F32, a as u64, b as u64, RNE, &mut fl) as u32)
            };
            let s = |p: f32, q: f32| p.to_bits() == q.to_bits() || (p.is_nan() && q.is_nan());
            prop_assert!(s(g(add), x + y));
            prop_assert!(s(g(mul), x * y));
            prop_assert!(s(g(div), x / y));
            let mut fl = 0;
            let r = fma(F32, a as u64, b as u64, c as u64, false, false, RNE, &mut fl);
            prop_assert!(s(f32::from_bits(r as u32), x.mul_add(y, z)));
            // Narrowing a double rounds like the host's `as`.
            let d = f64::from_bits(((a as u64) << 32) | b as u64);
            let r = convert(F32, F64, d.to_bits(), RNE, &mut fl);
            prop_assert!(s(f32::from_bits(r as u32), d as f32));
        }

        #[test]
        fn f64_fma_matches_host(a in any::<u64>(), b in any::<u64>(), c in any::<u64>()) {
            let (x, y, z) = (f64::from_bits(a), f64::from_bits(b), f64::from_bits(c));
            let mut fl = 0;
            let r = fma(F64, a, b, c, false, false, RNE, &mut fl);
            prop_assert!(same(f64::from_bits(r), x.mul_add(y, z)));
        }

        #[test]
        fn inexact_flag_matches_exactness(a in -1.0e6f64..1.0e6, b in -1.0e6f64..1.0e6) {
            // x + y is exact exactly when (x + y) - x == y and the error term is zero.
            let (s, fl) = f64op(add, a, b);
            let bb = s - a;
            let err = (a - (s - bb)) + (b - bb);
            prop_assert_eq!(fl & NX != 0, err != 0.0);
        }

        #[test]
        fn f16_conversions_match_half(a in any::<u32>()) {
            let x = f32::from_bits(a);
            let mut fl = 0;
            let r = convert(F16, F32, a as u64, RNE, &mut fl) as u16;
            let h = half::f16::from_f32(x);
            prop_assert!(r == h.to_bits() || (x.is_nan() && h.is_nan()));
            let back = convert(F32, F16, r as u64, RNE, &mut fl) as u32;
            prop_assert!(back == half::f16::from_bits(r).to_f32().to_bits() || x.is_nan());
        }
    }

    /// A binary32 with a random sign, an exponent in `-e..e` and `m` random mantissa bits
    /// (few bits make exact products, cancellations and halfway sums common).
    fn f32_with(rng: &mut u64, e: i32, m: u32) -> u64 {
        *rng ^= *rng << 13;
        *rng ^= *rng >> 7;
        *rng ^= *rng << 17;
        let r = *rng;
        let exp = (127 + (r % (2 * e as u64)) as i32 - e) as u64;
        let mant = ((r >> 16) as u32 & ((1 << m) - 1)) << (23 - m);
        ((r >> 63) << 31) | (exp << 23) | mant as u64
    }

    #[test]
    fn f32_fma_fast_path_equals_the_software_path_and_its_flags() {
        let mut rng = 0x9E37_79B9_7F4A_7C15u64;
        let mut fast = 0;
        for i in 0..3_000_000u32 {
            let (e, m) = [(3, 2), (6, 5), (12, 11), (30, 23), (70, 23), (126, 23)][i as usize % 6];
            // Twelve-bit mantissas make products of 25-26 significant bits, often halfway.
            let (e, m) = if i % 4 == 1 { (3, 12) } else { (e, m) };
            let (a, b) = (f32_with(&mut rng, e, m), f32_with(&mut rng, e, m));
            // The addend near the product half the time, so that sums cancel and land on
            // halfway points.
            let c = if i % 4 == 1 {
                // An addend 30-60 binades below the product: a product halfway between two
                // binary32 values (a's and b's low bits make one often) with a tiny sum error.
                let p = (f32::from_bits(a as u32) * f32::from_bits(b as u32)).to_bits();
                let pe = ((p >> 23) & 0xff) as u64;
                let k = 30 + (rng % 31);
                match pe.checked_sub(k) {
                    Some(ce) if ce > 0 => (f32_with(&mut rng, 1, 23) & 0x807f_ffff) | (ce << 23),
                    _ => f32_with(&mut rng, e, m),
                }
            } else if i % 2 == 0 {
                let p = f32::from_bits(a as u32) * f32::from_bits(b as u32);
                let nudge = f32_with(&mut rng, 2, 3) as u32 & 0x807f_ffff;
                (p.to_bits() ^ (nudge & 0x8000_000f)) as u64
            } else {
                f32_with(&mut rng, e, m)
            };
            let (np, na) = (i % 3 == 0, i % 5 == 0);
            let (mut f1, mut f2) = (0, 0);
            let want = fma_soft(F32, a, b, c, np, na, RNE, &mut f1);
            if let Some(got) = fma_f32_fast(a, b, c, np, na, &mut f2) {
                fast += 1;
                assert_eq!(
                    (got, f2),
                    (want, f1),
                    "fma({a:#x}, {b:#x}, {c:#x}, {np}, {na})"
                );
            }
        }
        assert!(fast > 2_000_000, "the fast path took only {fast} cases");
    }

    #[test]
    fn directed_rounding_and_flags() {
        let one = 1.0f64.to_bits();
        let tiny = f64::from_bits(1).to_bits(); // smallest subnormal
        let mut fl = 0;
        // 1 + tiny: RNE and RTZ/RDN give 1, RUP gives next up; NX always.
        assert_eq!(add(F64, one, tiny, RNE, &mut fl), one);
        assert_eq!(add(F64, one, tiny, RUP, &mut fl), one + 1);
        assert_eq!(add(F64, one, tiny, RDN, &mut fl), one);
        assert_eq!(fl, NX);
        // 1 - tiny rounds down to the number below 1 under RDN and RTZ.
        assert_eq!(sub(F64, one, tiny, RTZ, &mut fl), one - 1);
        // Overflow: max * 2.
        let mut fl = 0;
        let r = mul(F64, f64::MAX.to_bits(), 2.0f64.to_bits(), RTZ, &mut fl);
        assert_eq!(r, f64::MAX.to_bits());
        assert_eq!(fl, OF | NX);
        // Underflow: min normal / 3 is tiny and inexact.
        let mut fl = 0;
        div(
            F64,
            f64::MIN_POSITIVE.to_bits(),
            3.0f64.to_bits(),
            RNE,
            &mut fl,
        );
        assert_eq!(fl, UF | NX);
        // Exact subnormal result: no UF.
        let mut fl = 0;
        div(
            F64,
            f64::MIN_POSITIVE.to_bits(),
            2.0f64.to_bits(),
            RNE,
            &mut fl,
        );
        assert_eq!(fl, 0);
        // Divide by zero and invalid.
        let mut fl = 0;
        assert_eq!(div(F32, 0x3f80_0000, 0, RNE, &mut fl), 0x7f80_0000);
        assert_eq!(fl, DZ);
        let mut fl = 0;
        assert_eq!(sqrt(F32, 0xbf80_0000, RNE, &mut fl), 0x7fc0_0000);
        assert_eq!(fl, NV);
        // Conversions saturate.
        let mut fl = 0;
        assert_eq!(
            to_int(F32, 0x7fc0_0000, 32, true, RTZ, &mut fl),
            i32::MAX as i128
        );
        assert_eq!(to_int(F64, (-1.5f64).to_bits(), 64, false, RTZ, &mut fl), 0);
        assert_eq!(fl, NV);
        let mut fl = 0;
        assert_eq!(to_int(F64, (-0.5f64).to_bits(), 64, false, RTZ, &mut fl), 0);
        assert_eq!(fl, NX);
        let mut fl = 0;
        assert_eq!(to_int(F64, 2.5f64.to_bits(), 64, true, RNE, &mut fl), 2);
        assert_eq!(to_int(F64, 2.5f64.to_bits(), 64, true, RMM, &mut fl), 3);
        assert_eq!(to_int(F64, (-2.5f64).to_bits(), 64, true, RDN, &mut fl), -3);
        // fma(inf, 0, qNaN) is invalid.
        let mut fl = 0;
        fma(F32, 0x7f80_0000, 0, 0x7fc0_0000, false, false, RNE, &mut fl);
        assert_eq!(fl, NV);
        // min/max with signed zeros and NaNs.
        let mut fl = 0;
        assert_eq!(min_max(F32, 0, 0x8000_0000, false, &mut fl), 0x8000_0000);
        assert_eq!(
            min_max(F32, 0x7f80_0001, 0x3f80_0000, true, &mut fl),
            0x3f80_0000
        );
        assert_eq!(fl, NV);
    }

    // ---- Tests carried over from the vector unit's former copy of this library. ----

    fn f32b(x: f32) -> u64 {
        x.to_bits() as u64
    }
    fn canon32(x: f32) -> u64 {
        if x.is_nan() {
            0x7fc0_0000
        } else {
            f32b(x)
        }
    }
    fn canon64(x: f64) -> u64 {
        if x.is_nan() {
            0x7ff8_0000_0000_0000
        } else {
            x.to_bits()
        }
    }

    /// Random bit patterns biased towards interesting exponents.
    fn any_f32() -> impl Strategy<Value = f32> {
        prop_oneof![
            any::<u32>().prop_map(f32::from_bits),
            (any::<u32>(), 0u32..3).prop_map(|(m, k)| f32::from_bits(
                (m & 0x807f_ffff) | [0, 1 << 23, 0x7f80_0000][k as usize]
            )),
            (-1.0e3f32..1.0e3),
        ]
    }
    fn any_f64() -> impl Strategy<Value = f64> {
        prop_oneof![
            any::<u64>().prop_map(f64::from_bits),
            (-1.0e3f64..1.0e3),
            (any::<u64>()).prop_map(|m| f64::from_bits(m & 0x800f_ffff_ffff_ffff)),
        ]
    }

    type BinOp = fn(Format, u64, u64, u8, &mut u8) -> u64;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]
        /// The binary32 fast paths give the software path's result and flags.
        #[test]
        fn f32_fast_paths_equal_software(a in any_f32(), b in any_f32(), rm in 0u8..5, signed in any::<bool>()) {
            let (a, b) = (f32b(a), f32b(b));
            for (fast, soft) in [
                (add as BinOp, add_soft as BinOp),
                (mul, mul_soft),
                (div, div_soft),
            ] {
                let (mut f1, mut f2) = (0, 0);
                prop_assert_eq!(fast(F32, a, b, RNE, &mut f1), soft(F32, a, b, RNE, &mut f2));
                prop_assert_eq!(f1, f2);
            }
            for max in [false, true] {
                let (mut f1, mut f2) = (0, 0);
                prop_assert_eq!(min_max(F32, a, b, max, &mut f1), min_max_soft(F32, a, b, max, &mut f2));
                prop_assert_eq!(f1, f2);
            }
            let (mut f1, mut f2) = (0, 0);
            prop_assert_eq!(to_int(F32, a, 32, signed, rm, &mut f1), to_int_soft(F32, a, 32, signed, rm, &mut f2));
            prop_assert_eq!(f1, f2);
        }

        #[test]
        fn rne_f32_matches_host(a in any_f32(), b in any_f32(), c in any_f32()) {
            let mut fl = 0;
            prop_assert_eq!(add(F32, f32b(a), f32b(b), RNE, &mut fl), canon32(a + b));
            prop_assert_eq!(sub(F32, f32b(a), f32b(b), RNE, &mut fl), canon32(a - b));
            prop_assert_eq!(mul(F32, f32b(a), f32b(b), RNE, &mut fl), canon32(a * b));
            prop_assert_eq!(div(F32, f32b(a), f32b(b), RNE, &mut fl), canon32(a / b));
            prop_assert_eq!(sqrt(F32, f32b(a), RNE, &mut fl), canon32(a.sqrt()));
            prop_assert_eq!(fma(F32, f32b(a), f32b(b), f32b(c), false, false, RNE, &mut fl), canon32(a.mul_add(b, c)));
            prop_assert_eq!(convert(F64, F32, f32b(a), RNE, &mut fl), canon64(a as f64));
        }

        /// binary64 under RNE equals the host bit for bit (NaNs canonical).
        #[test]
        fn rne_f64_matches_host(a in any_f64(), b in any_f64(), c in any_f64()) {
            let mut fl = 0;
            prop_assert_eq!(add(F64, a.to_bits(), b.to_bits(), RNE, &mut fl), canon64(a + b));
            prop_assert_eq!(mul(F64, a.to_bits(), b.to_bits(), RNE, &mut fl), canon64(a * b));
            prop_assert_eq!(div(F64, a.to_bits(), b.to_bits(), RNE, &mut fl), canon64(a / b));
            prop_assert_eq!(sqrt(F64, a.to_bits(), RNE, &mut fl), canon64(a.sqrt()));
            prop_assert_eq!(fma(F64, a.to_bits(), b.to_bits(), c.to_bits(), false, false, RNE, &mut fl), canon64(a.mul_add(b, c)));
            prop_assert_eq!(convert(F32, F64, a.to_bits(), RNE, &mut fl), canon32(a as f32));
        }

        /// Directed roundings bracket the exact result: RDN <= RNE <= RUP, RTZ is one of the
        /// directed ones, and an inexact f32 product (exact in f64) lies strictly between.
        #[test]
        fn directed_rounding_brackets_exact(a in -1.0e30f32..1.0e30, b in -1.0e8f32..1.0e8) {
            let mut fl = 0;
            let exact = a as f64 * b as f64;
            let dn = f32::from_bits(mul(F32, f32b(a), f32b(b), RDN, &mut fl) as u32) as f64;
            let up = f32::from_bits(mul(F32, f32b(a), f32b(b), RUP, &mut fl) as u32) as f64;
            let tz = f32::from_bits(mul(F32, f32b(a), f32b(b), RTZ, &mut fl) as u32) as f64;
            prop_assert!(dn <= exact && exact <= up);
            let want_tz = if exact < 0.0 { up } else { dn };
            prop_assert!(tz == want_tz);
            let mut fl2 = 0;
            mul(F32, f32b(a), f32b(b), RNE, &mut fl2);
            prop_assert_eq!(fl2 & NX != 0, dn != up);
        }

        /// Round to odd keeps the truncated value and sets its last bit when inexact.
        #[test]
        fn round_to_odd_jams(a in -3.0e38f64..3.0e38) {
            prop_assume!(a.abs() >= f32::MIN_POSITIVE as f64);
            let (mut f1, mut f2) = (0, 0);
            let tz = convert(F32, F64, a.to_bits(), RTZ, &mut f1);
            let od = convert(F32, F64, a.to_bits(), ROD, &mut f2);
            prop_assert_eq!(f1, f2);
            prop_assert_eq!(od, if f1 & NX != 0 { tz | 1 } else { tz });
        }

        #[test]
        fn int_conversions_match_host(a in any_f64(), i in any::<i64>()) {
            let mut fl = 0;
            // RTZ f64 -> i64 saturating (Rust `as` saturates too, NaN -> 0 where RISC-V gives max).
            let got = to_int(F64, a.to_bits(), 64, true, RTZ, &mut fl) as i64;
            if a.is_nan() { prop_assert_eq!(got, i64::MAX); } else { prop_assert_eq!(got, a as i64); }
            let mut fl = 0;
            prop_assert_eq!(from_int(F64, i as u64, true, RNE, &mut fl), (i as f64).to_bits());
            prop_assert_eq!(from_int(F32, i as u64, true, RNE, &mut fl), f32b(i as f32));
        }
    }

    #[test]
    fn flags_and_special_cases() {
        let mut fl = 0;
        // overflow
        assert_eq!(
            mul(F32, f32b(f32::MAX), f32b(2.0), RNE, &mut fl),
            f32b(f32::INFINITY)
        );
        assert_eq!(fl, OF | NX);
        // underflow: tiny and inexact
        fl = 0;
        let t = mul(F32, f32b(1.0e-30), f32b(1.0e-10), RNE, &mut fl);
        assert_eq!(t, f32b(1.0e-40));
        assert_eq!(fl, UF | NX);
        // Tininess after rounding: (MIN_POSITIVE - half ulp of subnormal) rounds up to
        // MIN_POSITIVE at full precision too -> inexact but not tiny.
        fl = 0;
        let just_below = f64::from(f32::MIN_POSITIVE) * (1.0 - 2f64.powi(-25));
        let r = convert(F32, F64, just_below.to_bits(), RNE, &mut fl);
        assert_eq!(r, f32b(f32::MIN_POSITIVE));
        assert_eq!(fl, NX);
        // -0 + -0 = -0, x - x = +0 (RNE) / -0 (RDN)
        fl = 0;
        assert_eq!(add(F32, f32b(-0.0), f32b(-0.0), RNE, &mut fl), f32b(-0.0));
        assert_eq!(sub(F32, f32b(3.0), f32b(3.0), RNE, &mut fl), f32b(0.0));
        assert_eq!(sub(F32, f32b(3.0), f32b(3.0), RDN, &mut fl), f32b(-0.0));
        // conversions: ties, directed modes
        fl = 0;
        assert_eq!(to_int(F32, f32b(2.5), 32, true, RNE, &mut fl), 2);
        assert_eq!(to_int(F32, f32b(-2.5), 32, true, RMM, &mut fl), -3);
        assert_eq!(to_int(F32, f32b(-2.5), 32, true, RUP, &mut fl), -2);
        assert_eq!(fl, NX);
        fl = 0;
        assert_eq!(
            to_int(F32, f32b(3.0e9), 32, true, RNE, &mut fl),
            i32::MAX as i128
        );
        assert_eq!(fl, NV);
        fl = 0;
        assert_eq!(to_int(F32, f32b(-1.0), 32, false, RTZ, &mut fl), 0);
        assert_eq!(fl, NV);
        // round to odd: 1 + 2^-30 in f64 -> f32 keeps sticky in the lsb; overflow saturates
        fl = 0;
        let x = 1.0f64 + 2f64.powi(-30);
        assert_eq!(convert(F32, F64, x.to_bits(), ROD, &mut fl), f32b(1.0) | 1);
        assert_eq!(
            convert(F32, F64, f64::MAX.to_bits(), ROD, &mut fl),
            f32b(f32::MAX)
        );
        // f16 overflow against the half crate
        fl = 0;
        let h = convert(F16, F32, f32b(65520.0), RNE, &mut fl);
        assert_eq!(h, 0x7c00);
        assert_eq!(fl, OF | NX);
        assert_eq!(classify(F32, f32b(-0.0)), 1 << 3);
        assert_eq!(classify(F32, 0x7f80_0001), 1 << 8);
        assert_eq!(
            sign_inject(F32, f32b(2.0), f32b(-1.0), SignInjection::Copy),
            f32b(-2.0)
        );
        assert_eq!(
            sign_inject(F32, f32b(-2.0), f32b(-1.0), SignInjection::Negate),
            f32b(2.0)
        );
        assert_eq!(
            sign_inject(F32, f32b(-2.0), f32b(-1.0), SignInjection::Xor),
            f32b(2.0)
        );
    }

    #[test]
    fn f16_matches_half_crate() {
        // Every f16 -> f32 widening, and products of a grid rounded back (f32 products of
        // f16 values are exact, so rounding them to f16 is the correctly rounded f16 mul).
        let mut fl = 0;
        for h in 0..=0xffffu32 {
            let x = half::f16::from_bits(h as u16);
            let w = convert(F32, F16, h as u64, RNE, &mut fl);
            let want = if x.is_nan() {
                0x7fc0_0000
            } else {
                f32b(x.to_f32())
            };
            assert_eq!(w, want, "h={h:#x}");
        }
        for a in (0..0x7c00u32).step_by(97) {
            for b in (0..0x7c00u32).step_by(89) {
                let p = half::f16::from_bits(a as u16).to_f32()
                    * half::f16::from_bits(b as u16).to_f32();
                let want = half::f16::from_f32(p).to_bits() as u64;
                assert_eq!(
                    mul(F16, a as u64, b as u64, RNE, &mut fl),
                    want,
                    "{a:#x}*{b:#x}"
                );
            }
        }
    }
}
