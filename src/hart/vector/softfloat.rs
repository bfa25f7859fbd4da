//! IEEE 754 binary16/32/64 arithmetic in software, as RISC-V defines it: all five rounding
//! modes (plus round-to-odd for `vfncvt.rod`), exact exception flags with tininess detected
//! after rounding, and the canonical quiet NaN for every NaN result.
//!
//! Values travel as raw bits in a `u64`. Each operation computes the exact result (or the
//! exact result's leading bits plus a sticky bit) as an integer significand and a binary
//! exponent, then [`round_pack`] rounds it once into the destination format.

/// A binary floating-point format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fmt {
    /// Exponent field width.
    pub exp_bits: u32,
    /// Fraction field width (precision - 1).
    pub man_bits: u32,
}

/// binary16.
pub const H: Fmt = Fmt {
    exp_bits: 5,
    man_bits: 10,
};
/// binary32.
pub const S: Fmt = Fmt {
    exp_bits: 8,
    man_bits: 23,
};
/// binary64.
pub const D: Fmt = Fmt {
    exp_bits: 11,
    man_bits: 52,
};

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
/// Round to odd (jamming), used by `vfncvt.rod.f.f.w` only.
pub const ROD: u8 = 8;

impl Fmt {
    fn bias(self) -> i32 {
        (1 << (self.exp_bits - 1)) - 1
    }
    fn exp_max(self) -> u64 {
        (1 << self.exp_bits) - 1
    }
    fn man_mask(self) -> u64 {
        (1 << self.man_bits) - 1
    }
    fn sign_shift(self) -> u32 {
        self.exp_bits + self.man_bits
    }
    /// Width in bits.
    pub fn bits(self) -> u32 {
        self.exp_bits + self.man_bits + 1
    }
    /// The canonical quiet NaN.
    pub fn canonical_nan(self) -> u64 {
        (self.exp_max() << self.man_bits) | (1 << (self.man_bits - 1))
    }
    fn inf(self, sign: bool) -> u64 {
        ((sign as u64) << self.sign_shift()) | (self.exp_max() << self.man_bits)
    }
    fn zero(self, sign: bool) -> u64 {
        (sign as u64) << self.sign_shift()
    }
    fn max_finite(self, sign: bool) -> u64 {
        self.inf(sign) - 1
    }
    fn sign(self, a: u64) -> bool {
        (a >> self.sign_shift()) & 1 != 0
    }
    /// Whether `a` is a NaN.
    pub fn is_nan(self, a: u64) -> bool {
        (a >> self.man_bits) & self.exp_max() == self.exp_max() && a & self.man_mask() != 0
    }
    /// Whether `a` is a signaling NaN.
    pub fn is_snan(self, a: u64) -> bool {
        self.is_nan(a) && (a >> (self.man_bits - 1)) & 1 == 0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Val {
    Zero,
    /// value = sig * 2^exp
    Fin {
        exp: i32,
        sig: u64,
    },
    Inf,
    NaN,
}

fn unpack(f: Fmt, a: u64) -> (bool, Val) {
    let sign = f.sign(a);
    let e = (a >> f.man_bits) & f.exp_max();
    let man = a & f.man_mask();
    let m = f.man_bits as i32;
    let v = if e == f.exp_max() {
        if man == 0 {
            Val::Inf
        } else {
            Val::NaN
        }
    } else if e == 0 {
        if man == 0 {
            Val::Zero
        } else {
            Val::Fin {
                exp: 1 - f.bias() - m,
                sig: man,
            }
        }
    } else {
        Val::Fin {
            exp: e as i32 - f.bias() - m,
            sig: man | (1 << f.man_bits),
        }
    };
    (sign, v)
}

/// Drops the low `shift` (> 0) bits of `sig`, rounding by `rm`; returns (kept, inexact).
fn round_bits(sig: u128, shift: u32, sign: bool, rm: u8) -> (u128, bool) {
    let (kept, round_bit, sticky) = if shift > 128 {
        (0, false, sig != 0)
    } else if shift == 128 {
        (0, sig >> 127 != 0, sig & (u128::MAX >> 1) != 0)
    } else {
        (
            sig >> shift,
            (sig >> (shift - 1)) & 1 != 0,
            sig & ((1u128 << (shift - 1)) - 1) != 0,
        )
    };
    let inexact = round_bit || sticky;
    let inc = match rm {
        RNE => round_bit && (sticky || kept & 1 == 1),
        RTZ | ROD => false,
        RDN => sign && inexact,
        RUP => !sign && inexact,
        _ => round_bit, // RMM
    };
    let mut k = kept + inc as u128;
    if rm == ROD && inexact {
        k |= 1;
    }
    (k, inexact)
}

/// Rounds `(-1)^sign * sig * 2^exp` (sig may carry a sticky bit in its lsb, provided it
/// lies at least two bits below the rounding position) into format `f`.
pub(crate) fn round_pack(f: Fmt, sign: bool, exp: i32, sig: u128, rm: u8, fl: &mut u8) -> u64 {
    if sig == 0 {
        return f.zero(sign);
    }
    let m = f.man_bits as i32;
    let emin = 1 - f.bias();
    let msb = 127 - sig.leading_zeros() as i32;
    let e_top = exp + msb;
    let mut lsb = (e_top - m).max(emin - m);
    let shift = lsb - exp;
    let (mut kept, inexact) = if shift <= 0 {
        (sig << (-shift) as u32, false)
    } else {
        round_bits(sig, shift as u32, sign, rm)
    };
    if kept >> (m + 1) != 0 {
        kept >>= 1;
        lsb += 1;
    }
    if inexact && e_top < emin {
        // Tiny after rounding: the result rounded to full precision with an unbounded
        // exponent is still below 2^emin.
        let tiny = if e_top == emin - 1 {
            let su = (e_top - m) - exp;
            let ku = if su <= 0 {
                sig << (-su) as u32
            } else {
                round_bits(sig, su as u32, sign, rm).0
            };
            ku >> (m + 1) == 0
        } else {
            true
        };
        if tiny {
            *fl |= UF;
        }
    }
    if inexact {
        *fl |= NX;
    }
    let be = if kept >> m != 0 {
        lsb + m + f.bias()
    } else {
        0
    };
    if be >= f.exp_max() as i32 {
        *fl |= OF | NX;
        let to_inf = match rm {
            RNE | RMM => true,
            RDN => sign,
            RUP => !sign,
            _ => false,
        };
        return if to_inf {
            f.inf(sign)
        } else {
            f.max_finite(sign)
        };
    }
    f.zero(sign) | ((be as u64) << f.man_bits) | (kept as u64 & f.man_mask())
}

/// Exact sum of two finite nonzero terms `(-1)^s * m * 2^e` (m < 2^107), aligned with a sticky
/// bit when the exponents are far apart. Returns (sign, exp, sig); sig = 0 for an exact zero.
fn add_terms(sa: bool, ea: i32, ma: u128, sb: bool, eb: i32, mb: u128) -> (bool, i32, u128) {
    let (sh, eh, mh, sl, el, ml) = if ea >= eb {
        (sa, ea, ma, sb, eb, mb)
    } else {
        (sb, eb, mb, sa, ea, ma)
    };
    let d = (eh - el) as u32;
    let headroom = 125 - (128 - mh.leading_zeros());
    let shl = d.min(headroom);
    let rest = d - shl;
    let hi = mh << shl;
    let lo = if rest == 0 {
        ml
    } else if rest >= 128 {
        (ml != 0) as u128
    } else {
        (ml >> rest) | ((ml & ((1u128 << rest) - 1) != 0) as u128)
    };
    let e = eh - shl as i32;
    if sh == sl {
        (sh, e, hi + lo)
    } else if hi >= lo {
        (sh, e, hi - lo)
    } else {
        (sl, e, lo - hi)
    }
}

fn nan_result(f: Fmt, fl: &mut u8, inputs: &[u64]) -> u64 {
    if inputs.iter().any(|&x| f.is_snan(x)) {
        *fl |= NV;
    }
    f.canonical_nan()
}

fn invalid(f: Fmt, fl: &mut u8) -> u64 {
    *fl |= NV;
    f.canonical_nan()
}

/// a + b, always in software.
pub fn add_soft(f: Fmt, a: u64, b: u64, rm: u8, fl: &mut u8) -> u64 {
    let (sa, va) = unpack(f, a);
    let (sb, vb) = unpack(f, b);
    match (va, vb) {
        (Val::NaN, _) | (_, Val::NaN) => nan_result(f, fl, &[a, b]),
        (Val::Inf, Val::Inf) if sa != sb => invalid(f, fl),
        (Val::Inf, _) => a,
        (_, Val::Inf) => b,
        (Val::Zero, Val::Zero) => f.zero(if sa == sb { sa } else { rm == RDN }),
        (Val::Zero, _) => b,
        (_, Val::Zero) => a,
        (Val::Fin { exp: ea, sig: ma }, Val::Fin { exp: eb, sig: mb }) => {
            let (s, e, m) = add_terms(sa, ea, ma as u128, sb, eb, mb as u128);
            if m == 0 {
                f.zero(rm == RDN)
            } else {
                round_pack(f, s, e, m, rm, fl)
            }
        }
    }
}

// ---- Fast paths: binary32 under RNE through the host's binary64 arithmetic. ----
//
// A binary32 product is exact in binary64, and for +, - and / rounding first to binary64 and
// then to binary32 gives the correctly rounded binary32 result (53 >= 2*24 + 2), so the host
// computes the value. The flags need the exact result's relation to the rounded one; the
// fast path only answers when the result is a finite normal number (no overflow, no
// underflow question) and otherwise falls back to the software path.

/// Smallest normal binary32 as f64.
const F32_MIN_NORMAL: f64 = 1.1754943508222875e-38;
/// Largest finite binary32 as f64.
const F32_MAX: f64 = 3.4028234663852886e38;

#[inline(always)]
fn f32_fast_ok(r: f64) -> bool {
    let m = r.abs();
    (F32_MIN_NORMAL..=F32_MAX).contains(&m)
}

#[inline(always)]
fn f32_operand_ok(x: u64) -> bool {
    // Finite and nonzero (NaN, infinity and zero take the software path).
    let e = (x >> 23) & 0xff;
    e != 0xff && x & 0x7fff_ffff != 0
}

/// a + b.
#[inline]
pub fn add(f: Fmt, a: u64, b: u64, rm: u8, fl: &mut u8) -> u64 {
    if f == S && rm == RNE && f32_operand_ok(a) && f32_operand_ok(b) {
        let (x, y) = (
            f32::from_bits(a as u32) as f64,
            f32::from_bits(b as u32) as f64,
        );
        let s64 = x + y;
        let r = s64 as f32;
        if f32_fast_ok(s64) && f32_fast_ok(r as f64) {
            // TwoSum: the binary64 rounding error of s64.
            let bb = s64 - x;
            let err = (x - (s64 - bb)) + (y - bb);
            if err != 0.0 || r as f64 != s64 {
                *fl |= NX;
            }
            return r.to_bits() as u64;
        }
    }
    add_soft(f, a, b, rm, fl)
}

/// a * b.
#[inline]
pub fn mul(f: Fmt, a: u64, b: u64, rm: u8, fl: &mut u8) -> u64 {
    if f == S && rm == RNE && f32_operand_ok(a) && f32_operand_ok(b) {
        let p = f32::from_bits(a as u32) as f64 * f32::from_bits(b as u32) as f64;
        let r = p as f32;
        if f32_fast_ok(p) && f32_fast_ok(r as f64) {
            if r as f64 != p {
                *fl |= NX;
            }
            return r.to_bits() as u64;
        }
    }
    mul_soft(f, a, b, rm, fl)
}

/// a / b.
#[inline]
pub fn div(f: Fmt, a: u64, b: u64, rm: u8, fl: &mut u8) -> u64 {
    if f == S && rm == RNE && f32_operand_ok(a) && f32_operand_ok(b) {
        let (x, y) = (
            f32::from_bits(a as u32) as f64,
            f32::from_bits(b as u32) as f64,
        );
        let q = x / y;
        let r = q as f32;
        if f32_fast_ok(q) && f32_fast_ok(r as f64) {
            // The quotient is exact iff r * y == x (both products exact in binary64).
            if r as f64 * y != x {
                *fl |= NX;
            }
            return r.to_bits() as u64;
        }
    }
    div_soft(f, a, b, rm, fl)
}

/// a - b.
pub fn sub(f: Fmt, a: u64, b: u64, rm: u8, fl: &mut u8) -> u64 {
    let nb = if f.is_nan(b) {
        b
    } else {
        b ^ (1 << f.sign_shift())
    };
    add(f, a, nb, rm, fl)
}

/// a * b, always in software.
pub fn mul_soft(f: Fmt, a: u64, b: u64, rm: u8, fl: &mut u8) -> u64 {
    let (sa, va) = unpack(f, a);
    let (sb, vb) = unpack(f, b);
    let s = sa != sb;
    match (va, vb) {
        (Val::NaN, _) | (_, Val::NaN) => nan_result(f, fl, &[a, b]),
        (Val::Inf, Val::Zero) | (Val::Zero, Val::Inf) => invalid(f, fl),
        (Val::Inf, _) | (_, Val::Inf) => f.inf(s),
        (Val::Zero, _) | (_, Val::Zero) => f.zero(s),
        (Val::Fin { exp: ea, sig: ma }, Val::Fin { exp: eb, sig: mb }) => {
            round_pack(f, s, ea + eb, ma as u128 * mb as u128, rm, fl)
        }
    }
}

/// a * b + c with a single rounding.
pub fn fma(f: Fmt, a: u64, b: u64, c: u64, rm: u8, fl: &mut u8) -> u64 {
    let (sa, va) = unpack(f, a);
    let (sb, vb) = unpack(f, b);
    let (sc, vc) = unpack(f, c);
    let sp = sa != sb;
    if matches!(va, Val::NaN) || matches!(vb, Val::NaN) {
        return nan_result(f, fl, &[a, b, c]);
    }
    let prod_inf = matches!(va, Val::Inf) || matches!(vb, Val::Inf);
    let prod_zero = matches!(va, Val::Zero) || matches!(vb, Val::Zero);
    if prod_inf && prod_zero {
        // inf * 0 is invalid even when c is a quiet NaN.
        if f.is_snan(c) {
            *fl |= NV;
        }
        return invalid(f, fl);
    }
    if matches!(vc, Val::NaN) {
        return nan_result(f, fl, &[c]);
    }
    if prod_inf {
        if matches!(vc, Val::Inf) && sc != sp {
            return invalid(f, fl);
        }
        return f.inf(sp);
    }
    if matches!(vc, Val::Inf) {
        return c;
    }
    if prod_zero {
        return if matches!(vc, Val::Zero) {
            f.zero(if sp == sc { sp } else { rm == RDN })
        } else {
            c
        };
    }
    let (ea, ma, eb, mb) = match (va, vb) {
        (Val::Fin { exp: ea, sig: ma }, Val::Fin { exp: eb, sig: mb }) => (ea, ma, eb, mb),
        _ => unreachable!(),
    };
    let (ep, mp) = (ea + eb, ma as u128 * mb as u128);
    match vc {
        Val::Zero => round_pack(f, sp, ep, mp, rm, fl),
        Val::Fin { exp: ec, sig: mc } => {
            let (s, e, m) = add_terms(sp, ep, mp, sc, ec, mc as u128);
            if m == 0 {
                f.zero(rm == RDN)
            } else {
                round_pack(f, s, e, m, rm, fl)
            }
        }
        _ => unreachable!(),
    }
}

/// a / b, always in software.
pub fn div_soft(f: Fmt, a: u64, b: u64, rm: u8, fl: &mut u8) -> u64 {
    let (sa, va) = unpack(f, a);
    let (sb, vb) = unpack(f, b);
    let s = sa != sb;
    match (va, vb) {
        (Val::NaN, _) | (_, Val::NaN) => nan_result(f, fl, &[a, b]),
        (Val::Inf, Val::Inf) | (Val::Zero, Val::Zero) => invalid(f, fl),
        (Val::Inf, _) => f.inf(s),
        (_, Val::Inf) => f.zero(s),
        (Val::Zero, _) => f.zero(s),
        (_, Val::Zero) => {
            *fl |= DZ;
            f.inf(s)
        }
        (Val::Fin { exp: ea, sig: ma }, Val::Fin { exp: eb, sig: mb }) => {
            let za = ma.leading_zeros();
            let zb = mb.leading_zeros();
            let na = (ma << za) as u128;
            let nb = (mb << zb) as u128;
            let num = na << 64;
            let q = num / nb;
            let r = num % nb;
            let e = (ea - za as i32) - (eb - zb as i32) - 64;
            round_pack(f, s, e, q | (r != 0) as u128, rm, fl)
        }
    }
}

fn isqrt(n: u128) -> u128 {
    if n == 0 {
        return 0;
    }
    let mut r = (n as f64).sqrt() as u128;
    for _ in 0..3 {
        if r == 0 {
            r = 1;
        }
        r = (r + n / r) / 2;
    }
    while r * r > n {
        r -= 1;
    }
    while (r + 1) * (r + 1) <= n {
        r += 1;
    }
    r
}

/// sqrt(a).
pub fn sqrt(f: Fmt, a: u64, rm: u8, fl: &mut u8) -> u64 {
    let (s, v) = unpack(f, a);
    match v {
        Val::NaN => nan_result(f, fl, &[a]),
        Val::Zero => a,
        _ if s => invalid(f, fl),
        Val::Inf => a,
        Val::Fin { exp, sig } => {
            let (mut e, mut m) = (exp, sig as u128);
            if e & 1 != 0 {
                m <<= 1;
                e -= 1;
            }
            let bl = 128 - m.leading_zeros() as i32;
            let k = (126 - bl) / 2;
            let n = m << (2 * k);
            let r = isqrt(n);
            let sticky = (r * r != n) as u128;
            round_pack(f, false, (e - 2 * k) / 2, r | sticky, rm, fl)
        }
    }
}

/// Orders two non-NaN values: a < b (with -0 < +0 when `zero_signed`).
fn less(f: Fmt, a: u64, b: u64, zero_signed: bool) -> bool {
    let (sa, sb) = (f.sign(a), f.sign(b));
    let mag = (1u64 << f.sign_shift()) - 1;
    let (ma, mb) = (a & mag, b & mag);
    if ma == 0 && mb == 0 {
        return zero_signed && sa && !sb;
    }
    match (sa, sb) {
        (true, false) => true,
        (false, true) => false,
        (false, false) => ma < mb,
        (true, true) => ma > mb,
    }
}

/// IEEE 754-2019 minimumNumber (RISC-V fmin): a NaN operand yields the other.
pub fn min(f: Fmt, a: u64, b: u64, fl: &mut u8) -> u64 {
    minmax(f, a, b, fl, true)
}

/// IEEE 754-2019 maximumNumber (RISC-V fmax).
pub fn max(f: Fmt, a: u64, b: u64, fl: &mut u8) -> u64 {
    minmax(f, a, b, fl, false)
}

#[inline]
fn minmax(f: Fmt, a: u64, b: u64, fl: &mut u8, is_min: bool) -> u64 {
    if f == S {
        let (x, y) = (f32::from_bits(a as u32), f32::from_bits(b as u32));
        if !x.is_nan() && !y.is_nan() {
            // Ordered values: -0 < +0 is the only case host comparison gets wrong.
            let pick_a = if x == y {
                (is_min && x.is_sign_negative()) || (!is_min && x.is_sign_positive())
            } else {
                (x < y) == is_min
            };
            return if pick_a { a } else { b };
        }
    }
    if f.is_snan(a) || f.is_snan(b) {
        *fl |= NV;
    }
    match (f.is_nan(a), f.is_nan(b)) {
        (true, true) => f.canonical_nan(),
        (true, false) => b,
        (false, true) => a,
        _ => {
            if less(f, a, b, true) == is_min {
                a
            } else {
                b
            }
        }
    }
}

/// minimumNumber/maximumNumber without the binary32 fast path.
#[cfg(test)]
fn minmax_soft(f: Fmt, a: u64, b: u64, fl: &mut u8, is_min: bool) -> u64 {
    if f.is_snan(a) || f.is_snan(b) {
        *fl |= NV;
    }
    match (f.is_nan(a), f.is_nan(b)) {
        (true, true) => f.canonical_nan(),
        (true, false) => b,
        (false, true) => a,
        _ => {
            if less(f, a, b, true) == is_min {
                a
            } else {
                b
            }
        }
    }
}

/// a == b (quiet: only signaling NaNs raise NV).
pub fn eq(f: Fmt, a: u64, b: u64, fl: &mut u8) -> bool {
    if f.is_nan(a) || f.is_nan(b) {
        if f.is_snan(a) || f.is_snan(b) {
            *fl |= NV;
        }
        return false;
    }
    let mag = (1u64 << f.sign_shift()) - 1;
    a == b || (a & mag == 0 && b & mag == 0)
}

/// a < b (signaling: any NaN raises NV).
pub fn lt(f: Fmt, a: u64, b: u64, fl: &mut u8) -> bool {
    if f.is_nan(a) || f.is_nan(b) {
        *fl |= NV;
        return false;
    }
    less(f, a, b, false)
}

/// a <= b (signaling).
pub fn le(f: Fmt, a: u64, b: u64, fl: &mut u8) -> bool {
    if f.is_nan(a) || f.is_nan(b) {
        *fl |= NV;
        return false;
    }
    !less(f, b, a, false)
}

/// The 10-bit fclass mask.
pub fn classify(f: Fmt, a: u64) -> u64 {
    let (s, v) = unpack(f, a);
    let bit = match v {
        Val::Inf => {
            if s {
                0
            } else {
                7
            }
        }
        Val::Zero => {
            if s {
                3
            } else {
                4
            }
        }
        Val::Fin { sig, .. } => {
            let normal = sig >> f.man_bits != 0;
            match (s, normal) {
                (true, true) => 1,
                (true, false) => 2,
                (false, false) => 5,
                (false, true) => 6,
            }
        }
        Val::NaN => {
            if f.is_snan(a) {
                8
            } else {
                9
            }
        }
    };
    1 << bit
}

/// Converts to a `width`-bit integer (signed or unsigned), saturating with NV on NaN or
/// out-of-range values. Returns the result's bits (sign-extended to 64 for signed).
pub fn to_int(f: Fmt, a: u64, rm: u8, signed: bool, width: u32, fl: &mut u8) -> u64 {
    if f == S && width == 32 {
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
                *fl |= NX;
            }
            return if signed {
                r as i32 as i64 as u64
            } else {
                r as u32 as u64
            };
        }
    }
    let (s, v) = unpack(f, a);
    let umax: u128 = (1u128 << width) - 1;
    let smax: u128 = (1u128 << (width - 1)) - 1;
    let sat = |neg: bool| -> u64 {
        match (signed, neg) {
            (true, true) => (-(1i128 << (width - 1))) as u64,
            (true, false) => smax as u64,
            (false, true) => 0,
            (false, false) => umax as u64,
        }
    };
    let (mag, inexact) = match v {
        Val::NaN => {
            *fl |= NV;
            return sat(false);
        }
        Val::Inf => {
            *fl |= NV;
            return sat(s);
        }
        Val::Zero => return 0,
        Val::Fin { exp, sig } => {
            if exp >= 0 {
                if exp > 64 {
                    *fl |= NV;
                    return sat(s);
                }
                ((sig as u128) << exp, false)
            } else {
                round_bits(sig as u128, (-exp) as u32, s, rm)
            }
        }
    };
    let limit = match (signed, s) {
        (true, true) => smax + 1,
        (true, false) => smax,
        (false, true) => 0,
        (false, false) => umax,
    };
    if mag > limit {
        *fl |= NV;
        return sat(s);
    }
    if inexact {
        *fl |= NX;
    }
    if s {
        (mag as u64).wrapping_neg()
    } else {
        mag as u64
    }
}

/// Converts an integer (already sign- or zero-extended to 64 bits) to format `f`.
pub fn from_int(f: Fmt, v: u64, signed: bool, rm: u8, fl: &mut u8) -> u64 {
    let neg = signed && (v as i64) < 0;
    let mag = if neg { (v as i64).unsigned_abs() } else { v };
    if mag == 0 {
        return f.zero(false);
    }
    round_pack(f, neg, 0, mag as u128, rm, fl)
}

/// Converts between formats (widening is exact; narrowing rounds by `rm`, which may be
/// [`ROD`]).
pub fn convert(from: Fmt, to: Fmt, a: u64, rm: u8, fl: &mut u8) -> u64 {
    let (s, v) = unpack(from, a);
    match v {
        Val::NaN => {
            if from.is_snan(a) {
                *fl |= NV;
            }
            to.canonical_nan()
        }
        Val::Inf => to.inf(s),
        Val::Zero => to.zero(s),
        Val::Fin { exp, sig } => round_pack(to, s, exp, sig as u128, rm, fl),
    }
}

/// Flips the sign bit (no NaN check, as fsgnjn does).
pub fn sign_inject(f: Fmt, a: u64, b: u64, kind: u8) -> u64 {
    let sbit = 1u64 << f.sign_shift();
    let sb = match kind {
        0 => b & sbit,
        1 => !b & sbit,
        _ => (a ^ b) & sbit,
    };
    (a & !sbit) | sb
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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
    fn canon_or(x: u64) -> u64 {
        x
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

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]
        /// The binary32 fast paths give the software path's result and flags.
        #[test]
        fn f32_fast_paths_equal_software(a in any_f32(), b in any_f32()) {
            let (a, b) = (f32b(a), f32b(b));
            for (fast, soft) in [
                (add as fn(Fmt, u64, u64, u8, &mut u8) -> u64, add_soft as fn(Fmt, u64, u64, u8, &mut u8) -> u64),
                (mul, mul_soft),
                (div, div_soft),
            ] {
                let (mut f1, mut f2) = (0, 0);
                prop_assert_eq!(fast(S, a, b, RNE, &mut f1), soft(S, a, b, RNE, &mut f2));
                prop_assert_eq!(f1, f2);
            }
        }

        #[test]
        fn rne_f32_matches_host(a in any_f32(), b in any_f32(), c in any_f32()) {
            let mut fl = 0;
            prop_assert_eq!(add(S, f32b(a), f32b(b), RNE, &mut fl), canon32(a + b));
            prop_assert_eq!(sub(S, f32b(a), f32b(b), RNE, &mut fl), canon32(a - b));
            prop_assert_eq!(mul(S, f32b(a), f32b(b), RNE, &mut fl), canon32(a * b));
            prop_assert_eq!(div(S, f32b(a), f32b(b), RNE, &mut fl), canon32(a / b));
            prop_assert_eq!(sqrt(S, f32b(a), RNE, &mut fl), canon32(a.sqrt()));
            prop_assert_eq!(fma(S, f32b(a), f32b(b), f32b(c), RNE, &mut fl), canon32(a.mul_add(b, c)));
            prop_assert_eq!(convert(S, D, f32b(a), RNE, &mut fl), canon64(a as f64));
        }

        #[test]
        fn rne_f64_matches_host(a in any_f64(), b in any_f64(), c in any_f64()) {
            let mut fl = 0;
            prop_assert_eq!(add(D, a.to_bits(), b.to_bits(), RNE, &mut fl), canon64(a + b));
            prop_assert_eq!(mul(D, a.to_bits(), b.to_bits(), RNE, &mut fl), canon64(a * b));
            prop_assert_eq!(div(D, a.to_bits(), b.to_bits(), RNE, &mut fl), canon64(a / b));
            prop_assert_eq!(sqrt(D, a.to_bits(), RNE, &mut fl), canon64(a.sqrt()));
            prop_assert_eq!(fma(D, a.to_bits(), b.to_bits(), c.to_bits(), RNE, &mut fl), canon64(a.mul_add(b, c)));
            prop_assert_eq!(convert(D, S, a.to_bits(), RNE, &mut fl), canon32(a as f32) );
        }

        /// Directed roundings bracket the exact result: RDN <= RNE <= RUP, RTZ is one of the
        /// directed ones, and an inexact f32 product (exact in f64) lies strictly between.
        #[test]
        fn directed_rounding_brackets_exact(a in -1.0e30f32..1.0e30, b in -1.0e8f32..1.0e8) {
            let mut fl = 0;
            let exact = a as f64 * b as f64;
            let dn = f32::from_bits(mul(S, f32b(a), f32b(b), RDN, &mut fl) as u32) as f64;
            let up = f32::from_bits(mul(S, f32b(a), f32b(b), RUP, &mut fl) as u32) as f64;
            let tz = f32::from_bits(mul(S, f32b(a), f32b(b), RTZ, &mut fl) as u32) as f64;
            prop_assert!(dn <= exact && exact <= up);
            let want_tz = if exact < 0.0 { up } else { dn };
            prop_assert!(tz == want_tz);
            let mut fl2 = 0;
            mul(S, f32b(a), f32b(b), RNE, &mut fl2);
            prop_assert_eq!(fl2 & NX != 0, dn != up);
        }

        /// The binary32 -> 32-bit integer fast path equals the general algorithm.
        #[test]
        fn f32_to_int_fast_path_equals_general(a in any_f32(), rm in 0u8..5, signed in any::<bool>()) {
            let (mut f1, mut f2) = (0, 0);
            let fast = to_int(S, f32b(a), rm, signed, 32, &mut f1);
            // Converting through binary64 (exact widening) takes the general path.
            let slow = to_int(D, (a as f64).to_bits(), rm, signed, 32, &mut f2);
            prop_assert_eq!(fast, slow);
            prop_assert_eq!(f1, f2);
            let (mut f1, mut f2) = (0, 0);
            prop_assert_eq!(min(S, f32b(a), f32b(-a), &mut f1), canon_or(minmax_soft(S, f32b(a), f32b(-a), &mut f2, true)));
            prop_assert_eq!(f1, f2);
        }

        #[test]
        fn int_conversions_match_host(a in any_f64(), i in any::<i64>()) {
            let mut fl = 0;
            // RTZ f64 -> i64 saturating (Rust `as` saturates too, NaN -> 0 where RISC-V gives max).
            let got = to_int(D, a.to_bits(), RTZ, true, 64, &mut fl) as i64;
            if a.is_nan() { prop_assert_eq!(got, i64::MAX); } else { prop_assert_eq!(got, a as i64); }
            let mut fl = 0;
            prop_assert_eq!(from_int(D, i as u64, true, RNE, &mut fl), (i as f64).to_bits());
            prop_assert_eq!(from_int(S, i as u64, true, RNE, &mut fl), f32b(i as f32));
        }
    }

    #[test]
    fn flags_and_special_cases() {
        let mut fl = 0;
        // 1/0: DZ
        assert_eq!(div(S, f32b(1.0), 0, RNE, &mut fl), f32b(f32::INFINITY));
        assert_eq!(fl, DZ);
        // inf - inf: NV
        fl = 0;
        add(
            S,
            f32b(f32::INFINITY),
            f32b(f32::NEG_INFINITY),
            RNE,
            &mut fl,
        );
        assert_eq!(fl, NV);
        // overflow
        fl = 0;
        assert_eq!(
            mul(S, f32b(f32::MAX), f32b(2.0), RNE, &mut fl),
            f32b(f32::INFINITY)
        );
        assert_eq!(fl, OF | NX);
        fl = 0;
        assert_eq!(
            mul(S, f32b(f32::MAX), f32b(2.0), RTZ, &mut fl),
            f32b(f32::MAX)
        );
        // underflow: tiny and inexact
        fl = 0;
        let t = mul(S, f32b(1.0e-30), f32b(1.0e-10), RNE, &mut fl);
        assert_eq!(t, f32b(1.0e-40));
        assert_eq!(fl, UF | NX);
        // exact subnormal result: no flags
        fl = 0;
        assert_eq!(
            mul(S, f32b(f32::MIN_POSITIVE), f32b(0.5), RNE, &mut fl),
            f32b(f32::MIN_POSITIVE / 2.0)
        );
        assert_eq!(fl, 0);
        // Tininess after rounding: (MIN_POSITIVE - half ulp of subnormal) rounds up to
        // MIN_POSITIVE at full precision too -> inexact but not tiny.
        fl = 0;
        let just_below = f64::from(f32::MIN_POSITIVE) * (1.0 - 2f64.powi(-25));
        let r = convert(D, S, just_below.to_bits(), RNE, &mut fl);
        assert_eq!(r, f32b(f32::MIN_POSITIVE));
        assert_eq!(fl, NX);
        // sNaN raises NV, result is canonical
        fl = 0;
        assert_eq!(add(S, 0x7f80_0001, f32b(1.0), RNE, &mut fl), 0x7fc0_0000);
        assert_eq!(fl, NV);
        // -0 + -0 = -0, x - x = +0 (RNE) / -0 (RDN)
        fl = 0;
        assert_eq!(add(S, f32b(-0.0), f32b(-0.0), RNE, &mut fl), f32b(-0.0));
        assert_eq!(sub(S, f32b(3.0), f32b(3.0), RNE, &mut fl), f32b(0.0));
        assert_eq!(sub(S, f32b(3.0), f32b(3.0), RDN, &mut fl), f32b(-0.0));
        // min/max: -0 < +0, NaN ignored, sNaN flags
        assert_eq!(min(S, f32b(0.0), f32b(-0.0), &mut fl), f32b(-0.0));
        fl = 0;
        assert_eq!(max(S, 0x7f80_0001, f32b(2.0), &mut fl), f32b(2.0));
        assert_eq!(fl, NV);
        // conversions: RNE ties, saturation, unsigned negatives
        fl = 0;
        assert_eq!(to_int(S, f32b(2.5), RNE, true, 32, &mut fl), 2);
        assert_eq!(to_int(S, f32b(-2.5), RMM, true, 32, &mut fl) as i64, -3);
        assert_eq!(to_int(S, f32b(-2.5), RUP, true, 32, &mut fl) as i64, -2);
        assert_eq!(fl, NX);
        fl = 0;
        assert_eq!(
            to_int(S, f32b(3.0e9), RNE, true, 32, &mut fl),
            i32::MAX as u64
        );
        assert_eq!(fl, NV);
        fl = 0;
        assert_eq!(to_int(S, f32b(-0.25), RTZ, false, 32, &mut fl), 0);
        assert_eq!(fl, NX);
        fl = 0;
        assert_eq!(to_int(S, f32b(-1.0), RTZ, false, 32, &mut fl), 0);
        assert_eq!(fl, NV);
        // round to odd: 1 + 2^-30 in f64 -> f32 keeps sticky in the lsb
        fl = 0;
        let x = 1.0f64 + 2f64.powi(-30);
        assert_eq!(convert(D, S, x.to_bits(), ROD, &mut fl), f32b(1.0) | 1);
        // f16 via the half crate
        fl = 0;
        let h = convert(S, H, f32b(65520.0), RNE, &mut fl);
        assert_eq!(h, 0x7c00);
        assert_eq!(fl, OF | NX);
        assert_eq!(
            convert(S, H, f32b(1.0 / 3.0), RNE, &mut fl),
            half::f16::from_f32(1.0 / 3.0).to_bits() as u64
        );
        assert_eq!(classify(S, f32b(-0.0)), 1 << 3);
        assert_eq!(classify(S, 0x7f80_0001), 1 << 8);
    }

    #[test]
    fn f16_matches_half_crate() {
        // Every f16 -> f32 widening, and products of a grid rounded back (f32 products of
        // f16 values are exact, so rounding them to f16 is the correctly rounded f16 mul).
        let mut fl = 0;
        for h in 0..=0xffffu32 {
            let x = half::f16::from_bits(h as u16);
            let w = convert(H, S, h as u64, RNE, &mut fl);
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
                    mul(H, a as u64, b as u64, RNE, &mut fl),
                    want,
                    "{a:#x}*{b:#x}"
                );
            }
        }
    }
}
