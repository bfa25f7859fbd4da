//! Floating-point vector instructions at SEW 16 (Zvfh), 32 and 64: arithmetic, fused
//! multiply-add, min/max, sign injection, compares, merges and splats, classification,
//! square root, conversions (same-width, widening, narrowing, including rtz and rod) and the
//! widening arithmetic forms. Every operation honours frm (all five modes) and raises the
//! exact IEEE flags through [`softfloat`](super::softfloat).
//! The 7-bit estimates `vfrsqrt7.v` and `vfrec7.v` use the specification's tables.

use super::elem::{by_sew, by_sew_wide, Elem};
use super::integer::{binop, cmpop, narrow, ternop, widen};
use super::permute::unbox_f;
use super::VectorUnit;
use crate::hart::softfloat::{self as sf, Format, SignInjection};
use crate::hart::{HartContext, Trap};
use crate::isa::vector::{VInst, VOp};

/// Whether `op` is handled here.
pub(super) fn is_float(op: VOp) -> bool {
    use VOp::*;
    matches!(
        op,
        Vfadd
            | Vfsub
            | Vfrsub
            | Vfmul
            | Vfdiv
            | Vfrdiv
            | Vfmin
            | Vfmax
            | Vfsgnj
            | Vfsgnjn
            | Vfsgnjx
            | Vfmacc
            | Vfnmacc
            | Vfmsac
            | Vfnmsac
            | Vfmadd
            | Vfnmadd
            | Vfmsub
            | Vfnmsub
            | Vmfeq
            | Vmfne
            | Vmflt
            | Vmfle
            | Vmfgt
            | Vmfge
            | Vfmerge
            | Vfmv
            | Vfclass
            | Vfsqrt
            | Vfrsqrt7
            | Vfrec7
            | VfcvtXuF
            | VfcvtXF
            | VfcvtFXu
            | VfcvtFX
            | VfcvtRtzXuF
            | VfcvtRtzXF
            | VfwcvtXuF
            | VfwcvtXF
            | VfwcvtFXu
            | VfwcvtFX
            | VfwcvtFF
            | VfwcvtRtzXuF
            | VfwcvtRtzXF
            | VfncvtXuF
            | VfncvtXF
            | VfncvtFXu
            | VfncvtFX
            | VfncvtFF
            | VfncvtRodFF
            | VfncvtRtzXuF
            | VfncvtRtzXF
            | Vfwadd
            | Vfwsub
            | Vfwmul
            | Vfwmacc
            | Vfwnmacc
            | Vfwmsac
            | Vfwnmsac
    )
}

/// The FP format of SEW, refusing SEW=8.
pub(super) fn fmt_of(inst: &VInst, sew: u32) -> Result<Format, Trap> {
    match sew {
        16 => Ok(sf::F16),
        32 => Ok(sf::F32),
        64 => Ok(sf::F64),
        _ => Err(Trap::illegal(format!(
            "`{inst}`: no floating-point format at SEW={sew}"
        ))),
    }
}

fn fmt_bits(bits: u32) -> Format {
    match bits {
        16 => sf::F16,
        32 => sf::F32,
        _ => sf::F64,
    }
}

pub(super) fn exec(
    vu: &mut VectorUnit,
    inst: &VInst,
    ctx: &mut impl HartContext,
) -> Result<(), Trap> {
    use VOp::*;
    let sew = vu.sew();
    let mut fl = 0u8;
    // The scalar operand, unboxed to SEW.
    let fsc = if inst.form.is_f() {
        Some(unbox_f(ctx.f_bits(inst.vs1), sew.max(16)))
    } else {
        None
    };
    match inst.op {
        Vfadd | Vfsub | Vfrsub | Vfmul | Vfdiv | Vfrdiv | Vfmin | Vfmax | Vfsgnj | Vfsgnjn
        | Vfsgnjx => {
            let f = fmt_of(inst, sew)?;
            let rm = vu.frm(ctx)?;
            let fl = &mut fl;
            by_sew!(sew, T => match inst.op {
                Vfadd => binop::<T>(vu, inst, fsc, |a, b| sf::add(f, a, b, rm, fl)),
                Vfsub => binop::<T>(vu, inst, fsc, |a, b| sf::sub(f, a, b, rm, fl)),
                Vfrsub => binop::<T>(vu, inst, fsc, |a, b| sf::sub(f, b, a, rm, fl)),
                Vfmul => binop::<T>(vu, inst, fsc, |a, b| sf::mul(f, a, b, rm, fl)),
                Vfdiv => binop::<T>(vu, inst, fsc, |a, b| sf::div(f, a, b, rm, fl)),
                Vfrdiv => binop::<T>(vu, inst, fsc, |a, b| sf::div(f, b, a, rm, fl)),
                Vfmin => binop::<T>(vu, inst, fsc, |a, b| sf::min_max(f, a, b, false, fl)),
                Vfmax => binop::<T>(vu, inst, fsc, |a, b| sf::min_max(f, a, b, true, fl)),
                Vfsgnj => binop::<T>(vu, inst, fsc, |a, b| sf::sign_inject(f, a, b, SignInjection::Copy)),
                Vfsgnjn => binop::<T>(vu, inst, fsc, |a, b| sf::sign_inject(f, a, b, SignInjection::Negate)),
                _ => binop::<T>(vu, inst, fsc, |a, b| sf::sign_inject(f, a, b, SignInjection::Xor)),
            })
        }
        Vfmacc | Vfnmacc | Vfmsac | Vfnmsac | Vfmadd | Vfnmadd | Vfmsub | Vfnmsub => {
            let f = fmt_of(inst, sew)?;
            let rm = vu.frm(ctx)?;
            let fl = &mut fl;
            // a = vs2, b = vs1 or f[rs1], d = vd.
            by_sew!(sew, T => match inst.op {
                Vfmacc => ternop::<T>(vu, inst, fsc, |a, b, d| sf::fma(f, b, a, d, false, false, rm, fl)),
                Vfnmacc => ternop::<T>(vu, inst, fsc, |a, b, d| sf::fma(f, b, a, d, true, true, rm, fl)),
                Vfmsac => ternop::<T>(vu, inst, fsc, |a, b, d| sf::fma(f, b, a, d, false, true, rm, fl)),
                Vfnmsac => ternop::<T>(vu, inst, fsc, |a, b, d| sf::fma(f, b, a, d, true, false, rm, fl)),
                Vfmadd => ternop::<T>(vu, inst, fsc, |a, b, d| sf::fma(f, b, d, a, false, false, rm, fl)),
                Vfnmadd => ternop::<T>(vu, inst, fsc, |a, b, d| sf::fma(f, b, d, a, true, true, rm, fl)),
                Vfmsub => ternop::<T>(vu, inst, fsc, |a, b, d| sf::fma(f, b, d, a, false, true, rm, fl)),
                _ => ternop::<T>(vu, inst, fsc, |a, b, d| sf::fma(f, b, d, a, true, false, rm, fl)),
            })
        }
        Vmfeq | Vmfne | Vmflt | Vmfle | Vmfgt | Vmfge => {
            let f = fmt_of(inst, sew)?;
            let fl = &mut fl;
            by_sew!(sew, T => match inst.op {
                Vmfeq => cmpop::<T>(vu, inst, fsc, |a, b| sf::eq(f, a, b, fl)),
                Vmfne => cmpop::<T>(vu, inst, fsc, |a, b| !sf::eq(f, a, b, fl)),
                Vmflt => cmpop::<T>(vu, inst, fsc, |a, b| sf::lt(f, a, b, fl)),
                Vmfle => cmpop::<T>(vu, inst, fsc, |a, b| sf::le(f, a, b, fl)),
                Vmfgt => cmpop::<T>(vu, inst, fsc, |a, b| sf::lt(f, b, a, fl)),
                _ => cmpop::<T>(vu, inst, fsc, |a, b| sf::le(f, b, a, fl)),
            })
        }
        Vfmerge | Vfmv => {
            fmt_of(inst, sew)?;
            let x = fsc.unwrap_or(0);
            let merge = inst.op == Vfmerge;
            by_sew!(sew, T => {
                let (d, s2) = (vu.off(inst.vd), vu.off(inst.vs2));
                for i in vu.body() {
                    let v = if merge && !vu.mask_bit(0, i) {
                        T::rd(&vu.regs, s2 + i * T::BYTES)
                    } else {
                        x
                    };
                    T::wr(&mut vu.regs, d + i * T::BYTES, v);
                }
            })
        }
        Vfclass | Vfsqrt => {
            let f = fmt_of(inst, sew)?;
            let rm = if inst.op == Vfsqrt { vu.frm(ctx)? } else { 0 };
            let fl = &mut fl;
            by_sew!(sew, T => {
                if inst.op == Vfclass {
                    binop::<T>(vu, inst, Some(0), |a, _| sf::classify(f, a))
                } else {
                    binop::<T>(vu, inst, Some(0), |a, _| sf::sqrt(f, a, rm, fl))
                }
            })
        }
        Vfrsqrt7 | Vfrec7 => {
            let f = fmt_of(inst, sew)?;
            let rm = vu.frm(ctx)?;
            let fl = &mut fl;
            by_sew!(sew, T => {
                if inst.op == Vfrsqrt7 {
                    binop::<T>(vu, inst, Some(0), |a, _| rsqrt7(f, a, fl))
                } else {
                    binop::<T>(vu, inst, Some(0), |a, _| rec7(f, a, rm, fl))
                }
            })
        }
        VfcvtXuF | VfcvtXF | VfcvtRtzXuF | VfcvtRtzXF | VfcvtFXu | VfcvtFX => {
            let f = fmt_of(inst, sew)?;
            let rtz = matches!(inst.op, VfcvtRtzXuF | VfcvtRtzXF);
            let rm = if rtz { sf::RTZ } else { vu.frm(ctx)? };
            let signed = matches!(inst.op, VfcvtXF | VfcvtRtzXF | VfcvtFX);
            let to_int = !matches!(inst.op, VfcvtFXu | VfcvtFX);
            let fl = &mut fl;
            by_sew!(sew, T => {
                if to_int {
                    binop::<T>(vu, inst, Some(0), |a, _| sf::to_int(f, a, T::BITS, signed, rm, fl) as u64)
                } else {
                    binop::<T>(vu, inst, Some(0), |a, _| {
                        let v = if signed { T::sx(a) as u64 } else { a };
                        sf::from_int(f, v, signed, rm, fl)
                    })
                }
            })
        }
        VfwcvtXuF | VfwcvtXF | VfwcvtRtzXuF | VfwcvtRtzXF | VfwcvtFXu | VfwcvtFX | VfwcvtFF => {
            let from_float = !matches!(inst.op, VfwcvtFXu | VfwcvtFX);
            if sew == 64 || (from_float && sew == 8) {
                return Err(Trap::illegal(format!("`{inst}` at SEW={sew}")));
            }
            let rtz = matches!(inst.op, VfwcvtRtzXuF | VfwcvtRtzXF);
            let rm = if rtz { sf::RTZ } else { vu.frm(ctx)? };
            let signed = matches!(inst.op, VfwcvtXF | VfwcvtRtzXF | VfwcvtFX);
            let fl = &mut fl;
            by_sew_wide!(sew, T, W => {
                let (nf, wf) = (fmt_bits(T::BITS), fmt_bits(W::BITS));
                match inst.op {
                    VfwcvtFF => widen::<T, W>(vu, inst, Some(0), false, false, |a, _, _| {
                        sf::convert(wf, nf, a, rm, fl)
                    }),
                    VfwcvtFXu | VfwcvtFX => widen::<T, W>(vu, inst, Some(0), false, false, |a, _, _| {
                        let v = if signed { T::sx(a) as u64 } else { a };
                        sf::from_int(wf, v, signed, rm, fl)
                    }),
                    _ => widen::<T, W>(vu, inst, Some(0), false, false, |a, _, _| {
                        sf::to_int(nf, a, W::BITS, signed, rm, fl) as u64
                    }),
                }
            })
        }
        VfncvtXuF | VfncvtXF | VfncvtRtzXuF | VfncvtRtzXF | VfncvtFXu | VfncvtFX | VfncvtFF
        | VfncvtRodFF => {
            let to_float = matches!(inst.op, VfncvtFXu | VfncvtFX | VfncvtFF | VfncvtRodFF);
            if sew == 64 || (to_float && sew == 8) {
                return Err(Trap::illegal(format!("`{inst}` at SEW={sew}")));
            }
            let rm = match inst.op {
                VfncvtRtzXuF | VfncvtRtzXF => sf::RTZ,
                VfncvtRodFF => sf::ROD,
                _ => vu.frm(ctx)?,
            };
            let signed = matches!(inst.op, VfncvtXF | VfncvtRtzXF | VfncvtFX);
            let fl = &mut fl;
            by_sew_wide!(sew, T, W => {
                let (nf, wf) = (fmt_bits(T::BITS), fmt_bits(W::BITS));
                match inst.op {
                    VfncvtFF | VfncvtRodFF => narrow::<T, W>(vu, inst, Some(0), |a, _| {
                        sf::convert(nf, wf, a, rm, fl)
                    }),
                    VfncvtFXu | VfncvtFX => narrow::<T, W>(vu, inst, Some(0), |a, _| {
                        let v = if signed { W::sx(a) as u64 } else { a };
                        sf::from_int(nf, v, signed, rm, fl)
                    }),
                    _ => narrow::<T, W>(vu, inst, Some(0), |a, _| {
                        sf::to_int(wf, a, T::BITS, signed, rm, fl) as u64
                    }),
                }
            })
        }
        Vfwadd | Vfwsub | Vfwmul | Vfwmacc | Vfwnmacc | Vfwmsac | Vfwnmsac => {
            if sew != 16 && sew != 32 {
                return Err(Trap::illegal(format!("`{inst}` at SEW={sew}")));
            }
            let rm = vu.frm(ctx)?;
            let wide_vs2 = inst.form.is_wide_vs2();
            let fl = &mut fl;
            by_sew_wide!(sew, T, W => {
                let (nf, wf) = (fmt_bits(T::BITS), fmt_bits(W::BITS));
                let mut fl2 = 0u8;
                let acc = matches!(inst.op, Vfwmacc | Vfwnmacc | Vfwmsac | Vfwnmsac);
                widen::<T, W>(vu, inst, fsc, wide_vs2, acc, |a, b, d| {
                    let wa = if wide_vs2 { a } else { sf::convert(wf, nf, a, rm, &mut fl2) };
                    let wb = sf::convert(wf, nf, b, rm, &mut fl2);
                    match inst.op {
                        Vfwadd => sf::add(wf, wa, wb, rm, fl),
                        Vfwsub => sf::sub(wf, wa, wb, rm, fl),
                        Vfwmul => sf::mul(wf, wa, wb, rm, fl),
                        // vd = +(vs1 * vs2) + vd
                        Vfwmacc => sf::fma(wf, wb, wa, d, false, false, rm, fl),
                        Vfwnmacc => sf::fma(wf, wb, wa, d, true, true, rm, fl),
                        Vfwmsac => sf::fma(wf, wb, wa, d, false, true, rm, fl),
                        _ => sf::fma(wf, wb, wa, d, true, false, rm, fl),
                    }
                });
                *fl |= fl2;
            })
        }
        _ => unreachable!("not an FP op"),
    }
    ctx.raise_fflags(fl);
    Ok(())
}

/// vfrsqrt7 table (RVV 1.0 spec), indexed by {exponent lsb, 6 significand msbs}.
const RSQRT7: [u8; 128] = [
    52, 51, 50, 48, 47, 46, 44, 43, 42, 41, 40, 39, 38, 36, 35, 34, 33, 32, 31, 30, 30, 29, 28, 27,
    26, 25, 24, 23, 23, 22, 21, 20, 19, 19, 18, 17, 16, 16, 15, 14, 14, 13, 12, 12, 11, 10, 10, 9,
    9, 8, 7, 7, 6, 6, 5, 4, 4, 3, 3, 2, 2, 1, 1, 0, 127, 125, 123, 121, 119, 118, 116, 114, 113,
    111, 109, 108, 106, 105, 103, 102, 100, 99, 97, 96, 95, 93, 92, 91, 90, 88, 87, 86, 85, 84, 83,
    82, 80, 79, 78, 77, 76, 75, 74, 73, 72, 71, 70, 70, 69, 68, 67, 66, 65, 64, 63, 63, 62, 61, 60,
    59, 59, 58, 57, 56, 56, 55, 54, 53,
];
/// vfrec7 table (RVV 1.0 spec), indexed by the 7 significand msbs.
const REC7: [u8; 128] = [
    127, 125, 123, 121, 119, 117, 116, 114, 112, 110, 109, 107, 105, 104, 102, 100, 99, 97, 96, 94,
    93, 91, 90, 88, 87, 85, 84, 83, 81, 80, 79, 77, 76, 75, 74, 72, 71, 70, 69, 68, 66, 65, 64, 63,
    62, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49, 48, 47, 46, 45, 44, 43, 42, 41, 40, 40,
    39, 38, 37, 36, 35, 35, 34, 33, 32, 31, 31, 30, 29, 28, 28, 27, 26, 25, 25, 24, 23, 23, 22, 21,
    21, 20, 19, 19, 18, 17, 17, 16, 15, 15, 14, 14, 13, 12, 12, 11, 11, 10, 9, 9, 8, 8, 7, 7, 6, 5,
    5, 4, 4, 3, 3, 2, 2, 1, 1, 0,
];

/// Unpacks a finite nonzero value into (sign, biased exponent, fraction) with subnormals
/// normalized (the exponent may go to zero or below).
fn normalize(f: Format, a: u64) -> (bool, i64, u64) {
    let m = f.frac_bits;
    let sign = (a >> (f.width() - 1)) & 1 != 0;
    let mut e = ((a >> m) & ((1 << f.exp_bits) - 1)) as i64;
    let mut frac = a & ((1 << m) - 1);
    if e == 0 {
        while (frac >> (m - 1)) & 1 == 0 {
            e -= 1;
            frac <<= 1;
        }
        frac = (frac << 1) & ((1 << m) - 1);
    }
    (sign, e, frac)
}

fn bias(f: Format) -> i64 {
    (1 << (f.exp_bits - 1)) - 1
}

/// vfrsqrt7: 7-bit estimate of 1/sqrt(a).
fn rsqrt7(f: Format, a: u64, fl: &mut u8) -> u64 {
    let m = f.frac_bits;
    let inf = ((1u64 << f.exp_bits) - 1) << m;
    let sbit = 1u64 << (f.width() - 1);
    match sf::classify(f, a) {
        0x001 | 0x002 | 0x004 => {
            *fl |= sf::NV;
            f.canonical_nan()
        }
        0x008 => {
            *fl |= sf::DZ;
            sbit | inf
        }
        0x010 => {
            *fl |= sf::DZ;
            inf
        }
        0x080 => 0,
        0x100 => {
            *fl |= sf::NV;
            f.canonical_nan()
        }
        0x200 => f.canonical_nan(),
        _ => {
            let (_, e, frac) = normalize(f, a);
            let idx = (((e & 1) as u64) << 6) | (frac >> (m - 6));
            let out_e = (3 * bias(f) - 1 - e) / 2;
            ((out_e as u64) << m) | ((RSQRT7[idx as usize] as u64) << (m - 7))
        }
    }
}

/// vfrec7: 7-bit estimate of 1/a.
fn rec7(f: Format, a: u64, rm: u8, fl: &mut u8) -> u64 {
    let m = f.frac_bits;
    let inf = ((1u64 << f.exp_bits) - 1) << m;
    let sbit = 1u64 << (f.width() - 1);
    let sign = a & sbit;
    match sf::classify(f, a) {
        0x001 | 0x080 => sign,
        0x008 | 0x010 => {
            *fl |= sf::DZ;
            sign | inf
        }
        0x100 => {
            *fl |= sf::NV;
            f.canonical_nan()
        }
        0x200 => f.canonical_nan(),
        _ => {
            let (neg, e, frac) = normalize(f, a);
            if e < -1 {
                // The reciprocal of a tiny subnormal overflows.
                *fl |= sf::OF | sf::NX;
                let to_max = rm == sf::RTZ || (rm == sf::RDN && !neg) || (rm == sf::RUP && neg);
                return if to_max { sign | (inf - 1) } else { sign | inf };
            }
            let mut out_frac = (REC7[(frac >> (m - 7)) as usize] as u64) << (m - 7);
            let mut out_e = 2 * bias(f) - 1 - e;
            if out_e <= 0 {
                // Subnormal result: shift the implicit one in.
                out_frac = (out_frac >> 1) | (1 << (m - 1));
                if out_e == -1 {
                    out_frac >>= 1;
                }
                out_e = 0;
            }
            sign | ((out_e as u64) << m) | out_frac
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testctx::*;
    use super::super::*;
    use super::{rec7, rsqrt7, sf};

    fn f32s(v: &[f32]) -> Vec<u64> {
        v.iter().map(|x| x.to_bits() as u64).collect()
    }

    #[test]
    fn arithmetic_fma_and_flags() {
        let mut vu = VectorUnit::new(128);
        let mut cx = test_ctx();
        setvl(&mut vu, &mut cx, 4, "e32, m1");
        put(&mut vu, 2, 32, &f32s(&[1.5, -2.0, 3.0, 0.1]));
        put(&mut vu, 3, 32, &f32s(&[2.0, 0.5, 0.0, 0.2]));
        run(&mut vu, &mut cx, "vfmul.vv v1, v2, v3").unwrap();
        assert_eq!(get(&vu, 1, 32, 4), f32s(&[3.0, -1.0, 0.0, 0.1f32 * 0.2]));
        assert_eq!(cx.fflags, 1);
        cx.fflags = 0;
        run(&mut vu, &mut cx, "vfdiv.vv v1, v2, v3").unwrap();
        assert_eq!(get(&vu, 1, 32, 3), f32s(&[0.75, -4.0, f32::INFINITY]));
        assert_eq!(cx.fflags & 8, 8);
        cx.f[10] = 0xffff_ffff_0000_0000 | 10.0f32.to_bits() as u64;
        put(&mut vu, 4, 32, &f32s(&[1.0, 1.0, 1.0, 1.0]));
        run(&mut vu, &mut cx, "vfmacc.vf v4, fa0, v2").unwrap();
        assert_eq!(
            get(&vu, 4, 32, 4),
            f32s(&[16.0, -19.0, 31.0, 10.0f32.mul_add(0.1, 1.0)])
        );
        run(&mut vu, &mut cx, "vfnmsac.vv v4, v2, v3").unwrap(); // vd = -(vs1*vs2) + vd
        assert_eq!(get(&vu, 4, 32, 2), f32s(&[13.0, -18.0]));
        run(&mut vu, &mut cx, "vfabs.v v5, v2").unwrap();
        assert_eq!(get(&vu, 5, 32, 2), f32s(&[1.5, 2.0]));
        run(&mut vu, &mut cx, "vfrsub.vf v5, v2, fa0").unwrap();
        assert_eq!(get(&vu, 5, 32, 2), f32s(&[8.5, 12.0]));
        run(&mut vu, &mut cx, "vmflt.vf v6, v2, fa0").unwrap();
        assert_eq!(get(&vu, 6, 8, 1)[0] & 0xf, 0b1111);
        run(&mut vu, &mut cx, "vmfgt.vf v6, v2, fa0").unwrap();
        assert_eq!(get(&vu, 6, 8, 1)[0] & 0xf, 0);
    }

    #[test]
    fn conversions_honour_frm() {
        let mut vu = VectorUnit::new(128);
        let mut cx = test_ctx();
        setvl(&mut vu, &mut cx, 4, "e32, m1");
        put(&mut vu, 2, 32, &f32s(&[2.5, -2.5, 3.7, -0.5]));
        for (frm, want) in [
            (0u8, [2i64, -2, 4, 0]),
            (1, [2, -2, 3, 0]),
            (2, [2, -3, 3, -1]),
            (3, [3, -2, 4, 0]),
            (4, [3, -3, 4, -1]),
        ] {
            cx.frm = frm;
            run(&mut vu, &mut cx, "vfcvt.x.f.v v1, v2").unwrap();
            let want: Vec<u64> = want.iter().map(|&x| x as u64 & 0xffff_ffff).collect();
            assert_eq!(get(&vu, 1, 32, 4), want, "frm {frm}");
        }
        cx.frm = 0;
        run(&mut vu, &mut cx, "vfcvt.rtz.x.f.v v1, v2").unwrap();
        assert_eq!(get(&vu, 1, 32, 3), vec![2, (-2i64 as u64) & 0xffff_ffff, 3]);
        cx.frm = 7;
        assert!(run(&mut vu, &mut cx, "vfcvt.x.f.v v1, v2").is_err());
        cx.frm = 0;
        // vfncvt.x.f.w: f32 -> i16 saturating
        setvl(&mut vu, &mut cx, 4, "e16, mf2");
        put(&mut vu, 4, 32, &f32s(&[40000.0, -1.5, 7.0, -40000.0]));
        cx.fflags = 0;
        run(&mut vu, &mut cx, "vfncvt.x.f.w v5, v4").unwrap();
        assert_eq!(get(&vu, 5, 16, 4), vec![0x7fff, 0xfffe, 7, 0x8000]);
        assert_eq!(cx.fflags, 16 | 1);
        // vfwcvt.f.f.v: f16 -> f32
        put(&mut vu, 6, 16, &[0x3c00, 0xc000, 0x7c00, 0x0001]);
        run(&mut vu, &mut cx, "vfwcvt.f.f.v v8, v6").unwrap();
        assert_eq!(
            get(&vu, 8, 32, 4),
            f32s(&[1.0, -2.0, f32::INFINITY, 2f32.powi(-24)])
        );
        // f32 -> f16 narrowing with overflow
        setvl(&mut vu, &mut cx, 4, "e16, mf2");
        put(&mut vu, 10, 32, &f32s(&[1.0, 1.0e6, 0.1, -0.0]));
        run(&mut vu, &mut cx, "vfncvt.f.f.w v9, v10").unwrap();
        assert_eq!(
            get(&vu, 9, 16, 4),
            vec![
                0x3c00,
                0x7c00,
                half::f16::from_f32(0.1).to_bits() as u64,
                0x8000
            ]
        );
    }

    #[test]
    fn estimates() {
        let mut fl = 0;
        // 1/1.0 ~ 0.99609375 (table entry 127 with exponent 126).
        assert_eq!(rec7(sf::F32, 0x3f80_0000, 0, &mut fl), 0x3f7f_0000);
        // 1/sqrt(0.5) ~ 1.40625; 1/sqrt(4) ~ 0.498.
        assert_eq!(rsqrt7(sf::F32, 0x3f00_0000, &mut fl), 0x3fb4_0000);
        assert_eq!(rsqrt7(sf::F32, 0x4080_0000, &mut fl), 0x3eff_0000);
        assert_eq!(fl, 0);
        // Specials: rsqrt7(-1) is invalid, rec7(-0) = -inf with DZ, rec7 of a tiny
        // subnormal overflows (to max finite under RTZ).
        assert_eq!(rsqrt7(sf::F32, 0xbf80_0000, &mut fl), 0x7fc0_0000);
        assert_eq!(fl, sf::NV);
        fl = 0;
        assert_eq!(rec7(sf::F32, 0x8000_0000, 0, &mut fl), 0xff80_0000);
        assert_eq!(fl, sf::DZ);
        fl = 0;
        assert_eq!(rec7(sf::F32, 0x0000_0001, sf::RTZ, &mut fl), 0x7f7f_ffff);
        assert_eq!(fl, sf::OF | sf::NX);
    }

    #[test]
    fn widening_fp() {
        let mut vu = VectorUnit::new(128);
        let mut cx = test_ctx();
        setvl(&mut vu, &mut cx, 2, "e32, m1");
        put(&mut vu, 2, 32, &f32s(&[1.0e30, 3.0]));
        put(&mut vu, 3, 32, &f32s(&[1.0e30, 0.1]));
        run(&mut vu, &mut cx, "vfwmul.vv v4, v2, v3").unwrap();
        assert_eq!(
            get(&vu, 4, 64, 2),
            vec![
                (1.0e30f32 as f64 * 1.0e30f32 as f64).to_bits(),
                (3.0 * 0.1f32 as f64).to_bits()
            ]
        );
        run(&mut vu, &mut cx, "vfwadd.wv v6, v4, v2").unwrap();
        assert_eq!(
            get(&vu, 6, 64, 1),
            vec![(1.0e30f32 as f64 * 1.0e30f32 as f64 + 1.0e30f32 as f64).to_bits()]
        );
        // SEW=8 has no FP format.
        setvl(&mut vu, &mut cx, 2, "e8, m1");
        assert!(run(&mut vu, &mut cx, "vfadd.vv v1, v2, v3").is_err());
    }
}
