//! Fixed-point arithmetic: saturating add/sub (setting vxsat), averaging add/sub, vsmul,
//! scaling shifts and the narrowing clips, rounding by vxrm.

use super::elem::{by_sew, by_sew_wide, Elem};
use super::integer::{binop, narrow, scalar_src};
use super::VectorUnit;
use crate::hart::{HartContext, Trap};
use crate::isa::vector::{VInst, VOp};

/// The rounding increment for shifting `v` right by `d` bits under vxrm `rm`
/// (0 rnu, 1 rne, 2 rdn, 3 rod). Works on the two's-complement bits, so it serves signed
/// values too.
#[inline(always)]
pub(crate) fn round_inc(v: u128, d: u32, rm: u8) -> u128 {
    if d == 0 {
        return 0;
    }
    let bit = |k: u32| (v >> k) & 1;
    let below = |k: u32| {
        if k == 0 {
            0
        } else {
            (v & ((1u128 << k) - 1) != 0) as u128
        }
    };
    match rm {
        0 => bit(d - 1),
        1 => bit(d - 1) & (below(d - 1) | bit(d)),
        2 => 0,
        _ => (bit(d) ^ 1) & below(d),
    }
}

/// `v >> d` rounded by vxrm, unsigned.
#[inline(always)]
pub(crate) fn roundoff_u(v: u128, d: u32, rm: u8) -> u128 {
    (if d >= 128 { 0 } else { v >> d }) + round_inc(v, d, rm)
}

/// `v >> d` rounded by vxrm, signed.
#[inline(always)]
pub(crate) fn roundoff_s(v: i128, d: u32, rm: u8) -> i128 {
    (v >> d.min(127)) + round_inc(v as u128, d, rm) as i128
}

pub(super) fn exec(
    vu: &mut VectorUnit,
    inst: &VInst,
    ctx: &mut impl HartContext,
) -> Result<(), Trap> {
    use VOp::*;
    let sc = scalar_src(inst, ctx);
    let rm = vu.vxrm;
    let sew = vu.sew();
    let mut sat = false;
    match inst.op {
        Vnclipu | Vnclip => {
            let signed = inst.op == Vnclip;
            by_sew_wide!(sew, T, W => {
                let sh = W::BITS - 1;
                let (min, max) = (T::sx(1 << (T::BITS - 1)), (T::MASK >> 1) as i64);
                narrow::<T, W>(vu, inst, sc, |a, b| {
                    let d = (b as u32) & sh;
                    if signed {
                        let r = roundoff_s(W::sx(a) as i128, d, rm);
                        if r > max as i128 {
                            sat = true;
                            max as u64
                        } else if r < min as i128 {
                            sat = true;
                            min as u64
                        } else {
                            r as u64
                        }
                    } else {
                        let r = roundoff_u(a as u128, d, rm);
                        if r > T::MASK as u128 {
                            sat = true;
                            T::MASK
                        } else {
                            r as u64
                        }
                    }
                })
            })
        }
        _ => {
            by_sew!(sew, T => {
                let bits = T::BITS;
                let umax = T::MASK;
                let smax = (T::MASK >> 1) as i128;
                let smin = -smax - 1;
                let sat_cell = std::cell::Cell::new(false);
                let clip_s = |r: i128| -> u64 {
                    if r > smax {
                        sat_cell.set(true);
                        smax as u64
                    } else if r < smin {
                        sat_cell.set(true);
                        smin as u64
                    } else {
                        r as u64
                    }
                };
                match inst.op {
                    Vsaddu => binop::<T>(vu, inst, sc, |a, b| {
                        let r = a as u128 + b as u128;
                        if r > umax as u128 {
                            sat_cell.set(true);
                            umax
                        } else {
                            r as u64
                        }
                    }),
                    Vssubu => binop::<T>(vu, inst, sc, |a, b| {
                        if a < b {
                            sat_cell.set(true);
                            0
                        } else {
                            a - b
                        }
                    }),
                    Vsadd => binop::<T>(vu, inst, sc, |a, b| {
                        clip_s(T::sx(a) as i128 + T::sx(b) as i128)
                    }),
                    Vssub => binop::<T>(vu, inst, sc, |a, b| {
                        clip_s(T::sx(a) as i128 - T::sx(b) as i128)
                    }),
                    Vaaddu => binop::<T>(vu, inst, sc, |a, b| {
                        roundoff_u(a as u128 + b as u128, 1, rm) as u64
                    }),
                    Vasubu => binop::<T>(vu, inst, sc, |a, b| {
                        roundoff_s(a as i128 - b as i128, 1, rm) as u64
                    }),
                    Vaadd => binop::<T>(vu, inst, sc, |a, b| {
                        roundoff_s(T::sx(a) as i128 + T::sx(b) as i128, 1, rm) as u64
                    }),
                    Vasub => binop::<T>(vu, inst, sc, |a, b| {
                        roundoff_s(T::sx(a) as i128 - T::sx(b) as i128, 1, rm) as u64
                    }),
                    Vsmul => binop::<T>(vu, inst, sc, |a, b| {
                        let p = T::sx(a) as i128 * T::sx(b) as i128;
                        clip_s(roundoff_s(p, bits - 1, rm))
                    }),
                    Vssrl => binop::<T>(vu, inst, sc, |a, b| {
                        roundoff_u(a as u128, (b as u32) & (bits - 1), rm) as u64
                    }),
                    _ => binop::<T>(vu, inst, sc, |a, b| {
                        roundoff_s(T::sx(a) as i128, (b as u32) & (bits - 1), rm) as u64
                    }),
                }
                sat |= sat_cell.get();
            })
        }
    }
    if sat {
        vu.vxsat = true;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::testctx::*;
    use super::super::*;
    use super::*;

    #[test]
    fn rounding_increments() {
        // 0b1011 >> 2 = 0b10 remainder 0b11: rnu +1, rne +1, rdn 0, rod +1 (lsb 0, rem != 0).
        assert_eq!(roundoff_u(0b1011, 2, 0), 3);
        assert_eq!(roundoff_u(0b1011, 2, 1), 3);
        assert_eq!(roundoff_u(0b1011, 2, 2), 2);
        assert_eq!(roundoff_u(0b1011, 2, 3), 3);
        // Ties: 0b1010 >> 2 = 2.5 -> rnu 3, rne 2; 0b1110 >> 2 = 3.5 -> rne 4, rod 3.
        assert_eq!(roundoff_u(0b1010, 2, 0), 3);
        assert_eq!(roundoff_u(0b1010, 2, 1), 2);
        assert_eq!(roundoff_u(0b1110, 2, 1), 4);
        assert_eq!(roundoff_u(0b1110, 2, 3), 3);
        assert_eq!(roundoff_s(-5, 1, 0), -2); // -2.5 -> -2 (round half up)
        assert_eq!(roundoff_s(-5, 1, 1), -2); // -2.5 -> -2 (even)
        assert_eq!(roundoff_s(-7, 1, 1), -4); // -3.5 -> -4 (even)
    }

    #[test]
    fn saturating_and_clips_set_vxsat() {
        let mut vu = VectorUnit::new(128);
        let mut cx = test_ctx();
        setvl(&mut vu, &mut cx, 4, "e8, m1");
        put(&mut vu, 2, 8, &[250, 100, 0x80, 0x7f]);
        put(&mut vu, 3, 8, &[10, 100, 0xff, 1]);
        run(&mut vu, &mut cx, "vsaddu.vv v1, v2, v3").unwrap();
        assert_eq!(get(&vu, 1, 8, 4), vec![255, 200, 255, 128]);
        assert_eq!(vu.csr_read(csr::VXSAT), Some(1));
        vu.csr_write(csr::VXSAT, 0);
        run(&mut vu, &mut cx, "vsadd.vv v1, v2, v3").unwrap();
        // 250=-6 + 10 = 4; 100+100 -> 127 sat; -128 + -1 -> -128 sat; 127+1 -> 127 sat
        assert_eq!(get(&vu, 1, 8, 4), vec![4, 127, 0x80, 127]);
        assert_eq!(vu.csr_read(csr::VXSAT), Some(1));
        vu.csr_write(csr::VXSAT, 0);
        run(&mut vu, &mut cx, "vaaddu.vv v1, v2, v3").unwrap(); // rnu
        assert_eq!(get(&vu, 1, 8, 4), vec![130, 100, 192, 64]);
        assert_eq!(vu.csr_read(csr::VXSAT), Some(0));
        // vsmul: 0x80 * 0x80 (-1.0 * -1.0) saturates to 0x7f.
        put(&mut vu, 4, 8, &[0x80, 0x40, 0xc0, 0x20]);
        run(&mut vu, &mut cx, "vsmul.vv v1, v4, v4").unwrap();
        assert_eq!(get(&vu, 1, 8, 4), vec![0x7f, 0x20, 0x20, 0x08]);
        assert_eq!(vu.csr_read(csr::VXSAT), Some(1));
        // vnclip.wi with shift 0 (the quantize_row_q8_K pattern) saturates i16 -> i8.
        vu.csr_write(csr::VXSAT, 0);
        setvl(&mut vu, &mut cx, 4, "e8, mf2");
        put(
            &mut vu,
            6,
            16,
            &[300, (-300i64 as u64) & 0xffff, 5, (-7i64 as u64) & 0xffff],
        );
        run(&mut vu, &mut cx, "vnclip.wi v5, v6, 0").unwrap();
        assert_eq!(get(&vu, 5, 8, 4), vec![127, 0x80, 5, 0xf9]);
        assert_eq!(vu.csr_read(csr::VXSAT), Some(1));
        // vnclipu with rounding: 0x0107 >> 4 = 16.4375 -> 16 (rne)
        vu.csr_write(csr::VXRM, 1);
        put(&mut vu, 6, 16, &[0x0107, 0x0118, 0xffff, 0]);
        run(&mut vu, &mut cx, "vnclipu.wi v5, v6, 4").unwrap();
        assert_eq!(get(&vu, 5, 8, 4), vec![16, 18, 255, 0]);
        // vssra with rdn
        vu.csr_write(csr::VXRM, 2);
        setvl(&mut vu, &mut cx, 2, "e32, m1");
        put(&mut vu, 7, 32, &[(-5i64 as u64) & 0xffff_ffff, 5]);
        run(&mut vu, &mut cx, "vssra.vi v8, v7, 1").unwrap();
        assert_eq!(get(&vu, 8, 32, 2), vec![(-3i64 as u64) & 0xffff_ffff, 2]);
    }
}
