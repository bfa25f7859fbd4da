//! Permutes: scalar moves (vmv.x.s, vmv.s.x, vfmv.f.s, vfmv.s.f), slides, gathers, compress
//! and whole-register moves.

use super::elem::{by_sew, Elem};
use super::VectorUnit;
use crate::hart::{HartContext, Trap};
use crate::isa::vector::{VInst, VOp};

/// NaN-boxes an FP value of `sew` bits for an f register, or unboxes one (narrower values
/// that are not properly boxed read as the canonical NaN).
pub(super) fn unbox_f(bits: u64, sew: u32) -> u64 {
    match sew {
        64 => bits,
        32 => {
            if bits >> 32 == 0xffff_ffff {
                bits & 0xffff_ffff
            } else {
                0x7fc0_0000
            }
        }
        _ => {
            if bits >> 16 == 0xffff_ffff_ffff {
                bits & 0xffff
            } else {
                0x7e00
            }
        }
    }
}

/// NaN-boxes a `sew`-bit FP value.
pub(super) fn box_f(bits: u64, sew: u32) -> u64 {
    match sew {
        64 => bits,
        32 => bits | 0xffff_ffff_0000_0000,
        _ => bits | 0xffff_ffff_ffff_0000,
    }
}

pub(super) fn exec(
    vu: &mut VectorUnit,
    inst: &VInst,
    ctx: &mut impl HartContext,
) -> Result<(), Trap> {
    use VOp::*;
    let sew = vu.sew();
    let vl = vu.vl as usize;
    let vlmax = vu.vlmax() as usize;
    match inst.op {
        VmvXS => {
            let v = by_sew!(sew, T => T::sx(T::rd(&vu.regs, vu.off(inst.vs2))) as u64);
            ctx.set_x(inst.vd, v);
        }
        VfmvFS => {
            if sew == 8 {
                return Err(Trap::illegal(format!("`{inst}` at SEW=8")));
            }
            let v = by_sew!(sew, T => T::rd(&vu.regs, vu.off(inst.vs2)));
            ctx.set_f_bits(inst.vd, box_f(v, sew));
        }
        VmvSX | VfmvSF => {
            let v = if inst.op == VmvSX {
                ctx.x(inst.vs1)
            } else {
                if sew == 8 {
                    return Err(Trap::illegal(format!("`{inst}` at SEW=8")));
                }
                unbox_f(ctx.f_bits(inst.vs1), sew)
            };
            if vu.vstart < vu.vl {
                let o = vu.off(inst.vd);
                by_sew!(sew, T => T::wr(&mut vu.regs, o, v));
            }
        }
        Vslideup | Vslidedown | Vslide1up | Vslide1down | Vfslide1up | Vfslide1down => {
            let is_f = matches!(inst.op, Vfslide1up | Vfslide1down);
            if is_f && sew == 8 {
                return Err(Trap::illegal(format!("`{inst}` at SEW=8")));
            }
            let (off, scalar) = match inst.op {
                Vslideup | Vslidedown => (
                    if inst.form.is_x() {
                        ctx.x(inst.vs1)
                    } else {
                        inst.uimm5()
                    },
                    0,
                ),
                Vfslide1up | Vfslide1down => (1, unbox_f(ctx.f_bits(inst.vs1), sew)),
                _ => (1, ctx.x(inst.vs1)),
            };
            let up = matches!(inst.op, Vslideup | Vslide1up | Vfslide1up);
            let one = !matches!(inst.op, Vslideup | Vslidedown);
            by_sew!(sew, T => {
                let (d, s2) = (vu.off(inst.vd), vu.off(inst.vs2));
                let b = T::BYTES;
                if up {
                    // vd[i] = vs2[i - off] for i >= max(vstart, off); vd and vs2 never
                    // overlap, so any order works.
                    let start = (vu.vstart as usize).max(off.min(usize::MAX as u64) as usize);
                    for i in start..vl {
                        if vu.active(inst.vm, i) {
                            let v = T::rd(&vu.regs, s2 + (i - off as usize) * b);
                            T::wr(&mut vu.regs, d + i * b, v);
                        }
                    }
                    if one && vu.vstart == 0 && vl > 0 && vu.active(inst.vm, 0) {
                        T::wr(&mut vu.regs, d, scalar);
                    }
                } else {
                    // vd[i] = vs2[i + off] if i + off < VLMAX else 0; increasing order reads
                    // each source before any overlapping destination write.
                    let src_lim = if one { vl } else { vlmax };
                    for i in vu.body() {
                        if !vu.active(inst.vm, i) {
                            continue;
                        }
                        let j = (i as u64).checked_add(off);
                        let v = match j {
                            Some(j) if (j as usize) < src_lim && j < vlmax as u64 => {
                                T::rd(&vu.regs, s2 + j as usize * b)
                            }
                            _ if one && i + 1 == vl => scalar,
                            _ => 0,
                        };
                        T::wr(&mut vu.regs, d + i * b, v);
                    }
                }
            })
        }
        Vrgather | Vrgatherei16 => {
            let sc = if inst.form.is_x() {
                Some(ctx.x(inst.vs1))
            } else if inst.form.is_i() {
                Some(inst.uimm5())
            } else {
                None
            };
            let ei16 = inst.op == Vrgatherei16;
            by_sew!(sew, T => {
                let (d, s2, s1) = (vu.off(inst.vd), vu.off(inst.vs2), vu.off(inst.vs1));
                let b = T::BYTES;
                for i in vu.body() {
                    if !vu.active(inst.vm, i) {
                        continue;
                    }
                    let idx = match sc {
                        Some(x) => x,
                        None if ei16 => u16::rd(&vu.regs, s1 + 2 * i),
                        None => T::rd(&vu.regs, s1 + i * b),
                    };
                    let v = if idx < vlmax as u64 {
                        T::rd(&vu.regs, s2 + idx as usize * b)
                    } else {
                        0
                    };
                    T::wr(&mut vu.regs, d + i * b, v);
                }
            })
        }
        Vcompress => {
            by_sew!(sew, T => {
                let (d, s2) = (vu.off(inst.vd), vu.off(inst.vs2));
                let b = T::BYTES;
                let mut k = 0;
                for i in 0..vl {
                    if vu.mask_bit(inst.vs1, i) {
                        let v = T::rd(&vu.regs, s2 + i * b);
                        T::wr(&mut vu.regs, d + k * b, v);
                        k += 1;
                    }
                }
            })
        }
        _ => unreachable!("not a permute op"),
    }
    Ok(())
}

/// vmv<nr>r.v: copies whole registers (independent of vtype; vstart counts SEW elements of
/// the current vtype, or bytes when vill is set).
pub(super) fn whole_move(vu: &mut VectorUnit, inst: &VInst) -> Result<(), Trap> {
    let n = inst.vs1 as usize + 1;
    let total = n * vu.vlenb;
    let eb = if vu.vill() { 1 } else { vu.sew() as usize / 8 };
    let start = vu.vstart as usize * eb;
    if start < total && inst.vd != inst.vs2 {
        let (d, s) = (vu.off(inst.vd), vu.off(inst.vs2));
        vu.regs.copy_within(s + start..s + total, d + start);
    }
    vu.vstart = 0;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::testctx::*;
    use super::super::*;

    #[test]
    fn scalar_moves() {
        let mut vu = VectorUnit::new(128);
        let mut cx = test_ctx();
        setvl(&mut vu, &mut cx, 4, "e16, m1");
        put(&mut vu, 2, 16, &[0x8001, 5]);
        run(&mut vu, &mut cx, "vmv.x.s a0, v2").unwrap();
        assert_eq!(cx.x[10], 0xffff_ffff_ffff_8001);
        cx.x[11] = 0x1234_5678;
        run(&mut vu, &mut cx, "vmv.s.x v3, a1").unwrap();
        assert_eq!(get(&vu, 3, 16, 2), vec![0x5678, 0]);
        setvl(&mut vu, &mut cx, 4, "e32, m1");
        cx.f[10] = 0xffff_ffff_3f80_0000;
        run(&mut vu, &mut cx, "vfmv.s.f v4, fa0").unwrap();
        run(&mut vu, &mut cx, "vfmv.f.s fa1, v4").unwrap();
        assert_eq!(cx.f[11], 0xffff_ffff_3f80_0000);
        // An improperly boxed f32 reads as the canonical NaN.
        cx.f[10] = 0x3f80_0000;
        run(&mut vu, &mut cx, "vfmv.s.f v4, fa0").unwrap();
        assert_eq!(get(&vu, 4, 32, 1), vec![0x7fc0_0000]);
    }

    #[test]
    fn slides_gathers_compress() {
        let mut vu = VectorUnit::new(128);
        let mut cx = test_ctx();
        setvl(&mut vu, &mut cx, 8, "e16, m1");
        put(&mut vu, 2, 16, &[10, 11, 12, 13, 14, 15, 16, 17]);
        put(&mut vu, 1, 16, &[90, 91, 92, 93, 94, 95, 96, 97]);
        run(&mut vu, &mut cx, "vslideup.vi v1, v2, 3").unwrap();
        assert_eq!(get(&vu, 1, 16, 8), vec![90, 91, 92, 10, 11, 12, 13, 14]);
        run(&mut vu, &mut cx, "vslidedown.vi v3, v2, 3").unwrap();
        assert_eq!(get(&vu, 3, 16, 8), vec![13, 14, 15, 16, 17, 0, 0, 0]);
        // slidedown past VLMAX reads zeros even when vl < VLMAX; within VLMAX reads source.
        setvl(&mut vu, &mut cx, 4, "e16, m1");
        run(&mut vu, &mut cx, "vslidedown.vi v3, v2, 2").unwrap();
        assert_eq!(get(&vu, 3, 16, 4), vec![12, 13, 14, 15]);
        cx.x[10] = 7;
        run(&mut vu, &mut cx, "vslide1down.vx v3, v2, a0").unwrap();
        assert_eq!(get(&vu, 3, 16, 4), vec![11, 12, 13, 7]);
        run(&mut vu, &mut cx, "vslide1up.vx v3, v2, a0").unwrap();
        assert_eq!(get(&vu, 3, 16, 4), vec![7, 10, 11, 12]);
        setvl(&mut vu, &mut cx, 8, "e16, m1");
        put(&mut vu, 4, 16, &[7, 0, 100, 3, 3, 1, 2, 8]);
        run(&mut vu, &mut cx, "vrgather.vv v5, v2, v4").unwrap();
        assert_eq!(get(&vu, 5, 16, 8), vec![17, 10, 0, 13, 13, 11, 12, 0]);
        run(&mut vu, &mut cx, "vrgather.vi v5, v2, 6").unwrap();
        assert_eq!(get(&vu, 5, 16, 8), vec![16; 8]);
        put(&mut vu, 6, 8, &[0b1010_0110]);
        run(&mut vu, &mut cx, "vcompress.vm v7, v2, v6").unwrap();
        assert_eq!(get(&vu, 7, 16, 4), vec![11, 12, 15, 17]);
        assert!(run(&mut vu, &mut cx, "vslideup.vi v2, v2, 1").is_err());
    }

    #[test]
    fn whole_register_move() {
        let mut vu = VectorUnit::new(256);
        let mut cx = test_ctx();
        put(&mut vu, 8, 64, &[1, 2, 3, 4, 5, 6, 7, 8]);
        run(&mut vu, &mut cx, "vmv2r.v v4, v8").unwrap();
        assert_eq!(get(&vu, 4, 64, 8), vec![1, 2, 3, 4, 5, 6, 7, 8]);
    }
}
