//! Integer arithmetic: add/sub/logic/shift/min/max, multiply, divide, multiply-add,
//! compares into masks, merges and splats, add-with-carry, widening and narrowing forms,
//! zero/sign extension.

use super::elem::{by_sew, by_sew_wide, Elem};
use super::VectorUnit;
use crate::hart::{HartContext, Trap};
use crate::isa::vector::{VInst, VOp};

/// The scalar second operand of a `.vx`/`.vi` form (not yet truncated to SEW), or None for
/// `.vv`.
pub(super) fn scalar_src(inst: &VInst, ctx: &impl HartContext) -> Option<u64> {
    if inst.form.is_x() {
        Some(ctx.x(inst.vs1))
    } else if inst.form.is_i() {
        Some(if inst.imm_is_unsigned() {
            inst.uimm5()
        } else {
            inst.simm5() as u64
        })
    } else {
        None
    }
}

/// vd[i] = f(vs2[i], src1[i]) over active body elements.
#[inline(always)]
pub(super) fn binop<T: Elem>(
    vu: &mut VectorUnit,
    inst: &VInst,
    sc: Option<u64>,
    mut f: impl FnMut(u64, u64) -> u64,
) {
    let (d, s2, s1) = (vu.off(inst.vd), vu.off(inst.vs2), vu.off(inst.vs1));
    let b = T::BYTES;
    if inst.vm {
        // Unmasked: copy the sources aside, then one pass over disjoint slices.
        let body = vu.body();
        if body.is_empty() {
            return;
        }
        let (lo, n) = (body.start * b, body.len() * b);
        let VectorUnit { regs, scratch, .. } = vu;
        let (sa, sb) = scratch.split_at_mut(8 * n.div_ceil(8).max(1));
        sa[..n].copy_from_slice(&regs[s2 + lo..s2 + lo + n]);
        match sc {
            Some(x) => {
                let x = x & T::MASK;
                for (o, a) in regs[d + lo..d + lo + n]
                    .chunks_exact_mut(T::BYTES)
                    .zip(sa[..n].chunks_exact(T::BYTES))
                {
                    T::wr(o, 0, f(T::rd(a, 0), x));
                }
            }
            None => {
                sb[..n].copy_from_slice(&regs[s1 + lo..s1 + lo + n]);
                for ((o, a), y) in regs[d + lo..d + lo + n]
                    .chunks_exact_mut(T::BYTES)
                    .zip(sa[..n].chunks_exact(T::BYTES))
                    .zip(sb[..n].chunks_exact(T::BYTES))
                {
                    T::wr(o, 0, f(T::rd(a, 0), T::rd(y, 0)));
                }
            }
        }
        return;
    }
    match sc {
        Some(x) => {
            let x = x & T::MASK;
            for i in vu.body() {
                if vu.active(inst.vm, i) {
                    let a = T::rd(&vu.regs, s2 + i * b);
                    T::wr(&mut vu.regs, d + i * b, f(a, x));
                }
            }
        }
        None => {
            for i in vu.body() {
                if vu.active(inst.vm, i) {
                    let a = T::rd(&vu.regs, s2 + i * b);
                    let y = T::rd(&vu.regs, s1 + i * b);
                    T::wr(&mut vu.regs, d + i * b, f(a, y));
                }
            }
        }
    }
}

/// vd[i] = f(vs2[i], src1[i], vd[i]) over active body elements (multiply-add forms).
#[inline(always)]
pub(super) fn ternop<T: Elem>(
    vu: &mut VectorUnit,
    inst: &VInst,
    sc: Option<u64>,
    mut f: impl FnMut(u64, u64, u64) -> u64,
) {
    let (d, s2, s1) = (vu.off(inst.vd), vu.off(inst.vs2), vu.off(inst.vs1));
    let b = T::BYTES;
    for i in vu.body() {
        if vu.active(inst.vm, i) {
            let a = T::rd(&vu.regs, s2 + i * b);
            let y = sc.map_or_else(|| T::rd(&vu.regs, s1 + i * b), |x| x & T::MASK);
            let acc = T::rd(&vu.regs, d + i * b);
            T::wr(&mut vu.regs, d + i * b, f(a, y, acc));
        }
    }
}

/// Mask destination: vd.mask[i] = f(vs2[i], src1[i]) over active body elements.
#[inline(always)]
pub(super) fn cmpop<T: Elem>(
    vu: &mut VectorUnit,
    inst: &VInst,
    sc: Option<u64>,
    mut f: impl FnMut(u64, u64) -> bool,
) {
    let (s2, s1) = (vu.off(inst.vs2), vu.off(inst.vs1));
    let b = T::BYTES;
    for i in vu.body() {
        if vu.active(inst.vm, i) {
            let a = T::rd(&vu.regs, s2 + i * b);
            let y = sc.map_or_else(|| T::rd(&vu.regs, s1 + i * b), |x| x & T::MASK);
            let r = f(a, y);
            vu.set_mask_bit(inst.vd, i, r);
        }
    }
}

/// Widening: vd (2*SEW) = f(vs2, src1) where vs2 is narrow, or wide for `.w*` forms. The
/// closure gets the raw (zero-extended) values.
#[inline(always)]
pub(super) fn widen<T: Elem, W: Elem>(
    vu: &mut VectorUnit,
    inst: &VInst,
    sc: Option<u64>,
    wide_vs2: bool,
    acc: bool,
    mut f: impl FnMut(u64, u64, u64) -> u64,
) {
    let (d, s2, s1) = (vu.off(inst.vd), vu.off(inst.vs2), vu.off(inst.vs1));
    if inst.vm {
        // Unmasked: copy the sources aside (they may overlap the destination's top half),
        // then one pass over disjoint slices.
        let body = vu.body();
        if body.is_empty() {
            return;
        }
        let ab = if wide_vs2 { W::BYTES } else { T::BYTES };
        let (na, nb, nd) = (
            body.len() * ab,
            body.len() * T::BYTES,
            body.len() * W::BYTES,
        );
        let VectorUnit { regs, scratch, .. } = vu;
        let (sa, sb) = scratch.split_at_mut(8 * na.div_ceil(8));
        sa[..na].copy_from_slice(&regs[s2 + body.start * ab..][..na]);
        let y = match sc {
            Some(x) => x & T::MASK,
            None => {
                sb[..nb].copy_from_slice(&regs[s1 + body.start * T::BYTES..][..nb]);
                0
            }
        };
        let dst = &mut regs[d + body.start * W::BYTES..][..nd];
        for (k, (o, a)) in dst
            .chunks_exact_mut(W::BYTES)
            .zip(sa[..na].chunks_exact(ab))
            .enumerate()
        {
            let a = if wide_vs2 { W::rd(a, 0) } else { T::rd(a, 0) };
            let b = if sc.is_some() {
                y
            } else {
                T::rd(&sb[k * T::BYTES..], 0)
            };
            let old = if acc { W::rd(o, 0) } else { 0 };
            W::wr(o, 0, f(a, b, old));
        }
        return;
    }
    for i in vu.body() {
        if vu.active(inst.vm, i) {
            let a = if wide_vs2 {
                W::rd(&vu.regs, s2 + i * W::BYTES)
            } else {
                T::rd(&vu.regs, s2 + i * T::BYTES)
            };
            let y = sc.map_or_else(|| T::rd(&vu.regs, s1 + i * T::BYTES), |x| x & T::MASK);
            let old = if acc {
                W::rd(&vu.regs, d + i * W::BYTES)
            } else {
                0
            };
            W::wr(&mut vu.regs, d + i * W::BYTES, f(a, y, old));
        }
    }
}

/// Narrowing: vd (SEW) = f(vs2 (2*SEW), src1 (SEW)).
#[inline(always)]
pub(super) fn narrow<T: Elem, W: Elem>(
    vu: &mut VectorUnit,
    inst: &VInst,
    sc: Option<u64>,
    mut f: impl FnMut(u64, u64) -> u64,
) {
    let (d, s2, s1) = (vu.off(inst.vd), vu.off(inst.vs2), vu.off(inst.vs1));
    for i in vu.body() {
        if vu.active(inst.vm, i) {
            let a = W::rd(&vu.regs, s2 + i * W::BYTES);
            let y = sc.map_or_else(|| T::rd(&vu.regs, s1 + i * T::BYTES), |x| x & T::MASK);
            let r = f(a, y);
            T::wr(&mut vu.regs, d + i * T::BYTES, r);
        }
    }
}

fn ext<D: Elem, S: Elem>(vu: &mut VectorUnit, inst: &VInst, signed: bool) {
    let (d, s2) = (vu.off(inst.vd), vu.off(inst.vs2));
    for i in vu.body() {
        if vu.active(inst.vm, i) {
            let v = S::rd(&vu.regs, s2 + i * S::BYTES);
            let v = if signed { S::sx(v) as u64 } else { v };
            D::wr(&mut vu.regs, d + i * D::BYTES, v);
        }
    }
}

fn div_u(a: u64, b: u64, mask: u64) -> u64 {
    a.checked_div(b).unwrap_or(mask)
}
fn rem_u(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        a % b
    }
}
fn div_s(a: i64, b: i64, bits: u32) -> u64 {
    let min = if bits == 64 {
        i64::MIN
    } else {
        -(1i64 << (bits - 1))
    };
    if b == 0 {
        u64::MAX
    } else if a == min && b == -1 {
        a as u64
    } else {
        (a / b) as u64
    }
}
fn rem_s(a: i64, b: i64, bits: u32) -> u64 {
    let min = if bits == 64 {
        i64::MIN
    } else {
        -(1i64 << (bits - 1))
    };
    if b == 0 {
        a as u64
    } else if a == min && b == -1 {
        0
    } else {
        (a % b) as u64
    }
}

pub(super) fn exec(
    vu: &mut VectorUnit,
    inst: &VInst,
    ctx: &mut impl HartContext,
) -> Result<(), Trap> {
    use VOp::*;
    let sc = scalar_src(inst, ctx);
    let sew = vu.sew();
    match inst.op {
        Vadd | Vsub | Vrsub | Vand | Vor | Vxor | Vminu | Vmin | Vmaxu | Vmax | Vsll | Vsrl
        | Vsra | Vmul | Vmulh | Vmulhu | Vmulhsu | Vdivu | Vdiv | Vremu | Vrem => {
            by_sew!(sew, T => {
                let sh = T::BITS as u64 - 1;
                let bits = T::BITS;
                match inst.op {
                    Vadd => binop::<T>(vu, inst, sc, |a, b| a.wrapping_add(b)),
                    Vsub => binop::<T>(vu, inst, sc, |a, b| a.wrapping_sub(b)),
                    Vrsub => binop::<T>(vu, inst, sc, |a, b| b.wrapping_sub(a)),
                    Vand => binop::<T>(vu, inst, sc, |a, b| a & b),
                    Vor => binop::<T>(vu, inst, sc, |a, b| a | b),
                    Vxor => binop::<T>(vu, inst, sc, |a, b| a ^ b),
                    Vminu => binop::<T>(vu, inst, sc, |a, b| a.min(b)),
                    Vmaxu => binop::<T>(vu, inst, sc, |a, b| a.max(b)),
                    Vmin => binop::<T>(vu, inst, sc, |a, b| T::sx(a).min(T::sx(b)) as u64),
                    Vmax => binop::<T>(vu, inst, sc, |a, b| T::sx(a).max(T::sx(b)) as u64),
                    Vsll => binop::<T>(vu, inst, sc, |a, b| a << (b & sh)),
                    Vsrl => binop::<T>(vu, inst, sc, |a, b| a >> (b & sh)),
                    Vsra => binop::<T>(vu, inst, sc, |a, b| (T::sx(a) >> (b & sh)) as u64),
                    Vmul => binop::<T>(vu, inst, sc, |a, b| a.wrapping_mul(b)),
                    Vmulhu => binop::<T>(vu, inst, sc, |a, b| {
                        ((a as u128 * b as u128) >> bits) as u64
                    }),
                    Vmulh => binop::<T>(vu, inst, sc, |a, b| {
                        ((T::sx(a) as i128 * T::sx(b) as i128) >> bits) as u64
                    }),
                    Vmulhsu => binop::<T>(vu, inst, sc, |a, b| {
                        ((T::sx(a) as i128 * b as i128) >> bits) as u64
                    }),
                    Vdivu => binop::<T>(vu, inst, sc, |a, b| div_u(a, b, T::MASK)),
                    Vremu => binop::<T>(vu, inst, sc, rem_u),
                    Vdiv => binop::<T>(vu, inst, sc, |a, b| div_s(T::sx(a), T::sx(b), bits)),
                    _ => binop::<T>(vu, inst, sc, |a, b| rem_s(T::sx(a), T::sx(b), bits)),
                }
            })
        }
        Vmacc | Vnmsac | Vmadd | Vnmsub => by_sew!(sew, T => match inst.op {
            // vd = vs1*vs2 + vd
            Vmacc => ternop::<T>(vu, inst, sc, |a, b, d| b.wrapping_mul(a).wrapping_add(d)),
            // vd = -(vs1*vs2) + vd
            Vnmsac => ternop::<T>(vu, inst, sc, |a, b, d| d.wrapping_sub(b.wrapping_mul(a))),
            // vd = vs1*vd + vs2
            Vmadd => ternop::<T>(vu, inst, sc, |a, b, d| b.wrapping_mul(d).wrapping_add(a)),
            // vd = -(vs1*vd) + vs2
            _ => ternop::<T>(vu, inst, sc, |a, b, d| a.wrapping_sub(b.wrapping_mul(d))),
        }),
        Vmseq | Vmsne | Vmsltu | Vmslt | Vmsleu | Vmsle | Vmsgtu | Vmsgt => {
            by_sew!(sew, T => match inst.op {
                Vmseq => cmpop::<T>(vu, inst, sc, |a, b| a == b),
                Vmsne => cmpop::<T>(vu, inst, sc, |a, b| a != b),
                Vmsltu => cmpop::<T>(vu, inst, sc, |a, b| a < b),
                Vmslt => cmpop::<T>(vu, inst, sc, |a, b| T::sx(a) < T::sx(b)),
                Vmsleu => cmpop::<T>(vu, inst, sc, |a, b| a <= b),
                Vmsle => cmpop::<T>(vu, inst, sc, |a, b| T::sx(a) <= T::sx(b)),
                Vmsgtu => cmpop::<T>(vu, inst, sc, |a, b| a > b),
                _ => cmpop::<T>(vu, inst, sc, |a, b| T::sx(a) > T::sx(b)),
            })
        }
        Vmerge | Vmv => {
            let merge = inst.op == Vmerge;
            by_sew!(sew, T => {
                let (d, s2, s1) = (vu.off(inst.vd), vu.off(inst.vs2), vu.off(inst.vs1));
                let b = T::BYTES;
                for i in vu.body() {
                    let v = if merge && !vu.mask_bit(0, i) {
                        T::rd(&vu.regs, s2 + i * b)
                    } else {
                        sc.unwrap_or_else(|| T::rd(&vu.regs, s1 + i * b))
                    };
                    T::wr(&mut vu.regs, d + i * b, v);
                }
            })
        }
        Vadc | Vsbc | Vmadc | Vmsbc => {
            let use_carry = !inst.vm;
            by_sew!(sew, T => {
                let (d, s2, s1) = (vu.off(inst.vd), vu.off(inst.vs2), vu.off(inst.vs1));
                let b = T::BYTES;
                for i in vu.body() {
                    let a = T::rd(&vu.regs, s2 + i * b) as u128;
                    let y = sc.map_or_else(|| T::rd(&vu.regs, s1 + i * b), |x| x & T::MASK) as u128;
                    let c = (use_carry && vu.mask_bit(0, i)) as u128;
                    let sub = matches!(inst.op, Vsbc | Vmsbc);
                    let r = if sub { a.wrapping_sub(y).wrapping_sub(c) } else { a + y + c };
                    match inst.op {
                        Vadc | Vsbc => T::wr(&mut vu.regs, d + i * b, r as u64),
                        _ => {
                            let out = if sub { a < y + c } else { r >> T::BITS != 0 };
                            vu.set_mask_bit(inst.vd, i, out);
                        }
                    }
                }
            })
        }
        Vwaddu | Vwadd | Vwsubu | Vwsub | Vwmulu | Vwmulsu | Vwmul | Vwmaccu | Vwmacc
        | Vwmaccsu | Vwmaccus => {
            let w = inst.form.is_wide_vs2();
            by_sew_wide!(sew, T, W => {
                // Extend the wide operand (already wide: keep its own sign).
                let ws = |a: u64| if w { W::sx(a) } else { T::sx(a) };
                let wu = |a: u64| a;
                match inst.op {
                    Vwaddu => widen::<T, W>(vu, inst, sc, w, false, |a, b, _| wu(a).wrapping_add(b)),
                    Vwsubu => widen::<T, W>(vu, inst, sc, w, false, |a, b, _| wu(a).wrapping_sub(b)),
                    Vwadd => widen::<T, W>(vu, inst, sc, w, false, |a, b, _| {
                        ws(a).wrapping_add(T::sx(b)) as u64
                    }),
                    Vwsub => widen::<T, W>(vu, inst, sc, w, false, |a, b, _| {
                        ws(a).wrapping_sub(T::sx(b)) as u64
                    }),
                    Vwmulu => widen::<T, W>(vu, inst, sc, false, false, |a, b, _| a.wrapping_mul(b)),
                    Vwmul => widen::<T, W>(vu, inst, sc, false, false, |a, b, _| {
                        T::sx(a).wrapping_mul(T::sx(b)) as u64
                    }),
                    // vs2 signed, vs1 unsigned.
                    Vwmulsu => widen::<T, W>(vu, inst, sc, false, false, |a, b, _| {
                        T::sx(a).wrapping_mul(b as i64) as u64
                    }),
                    Vwmaccu => widen::<T, W>(vu, inst, sc, false, true, |a, b, d| {
                        a.wrapping_mul(b).wrapping_add(d)
                    }),
                    Vwmacc => widen::<T, W>(vu, inst, sc, false, true, |a, b, d| {
                        (T::sx(a).wrapping_mul(T::sx(b)) as u64).wrapping_add(d)
                    }),
                    // signed(vs1) * unsigned(vs2)
                    Vwmaccsu => widen::<T, W>(vu, inst, sc, false, true, |a, b, d| {
                        (T::sx(b).wrapping_mul(a as i64) as u64).wrapping_add(d)
                    }),
                    // unsigned(rs1) * signed(vs2)
                    _ => widen::<T, W>(vu, inst, sc, false, true, |a, b, d| {
                        (T::sx(a).wrapping_mul(b as i64) as u64).wrapping_add(d)
                    }),
                }
            })
        }
        Vnsrl | Vnsra => {
            let arith = inst.op == Vnsra;
            by_sew_wide!(sew, T, W => {
                let sh = W::BITS as u64 - 1;
                if arith {
                    narrow::<T, W>(vu, inst, sc, |a, b| (W::sx(a) >> (b & sh)) as u64)
                } else {
                    narrow::<T, W>(vu, inst, sc, |a, b| a >> (b & sh))
                }
            })
        }
        Vzext2 | Vsext2 | Vzext4 | Vsext4 | Vzext8 | Vsext8 => {
            let signed = matches!(inst.op, Vsext2 | Vsext4 | Vsext8);
            let n = match inst.op {
                Vzext2 | Vsext2 => 2,
                Vzext4 | Vsext4 => 4,
                _ => 8,
            };
            match (sew, n) {
                (16, 2) => ext::<u16, u8>(vu, inst, signed),
                (32, 2) => ext::<u32, u16>(vu, inst, signed),
                (64, 2) => ext::<u64, u32>(vu, inst, signed),
                (32, 4) => ext::<u32, u8>(vu, inst, signed),
                (64, 4) => ext::<u64, u16>(vu, inst, signed),
                (64, 8) => ext::<u64, u8>(vu, inst, signed),
                _ => return Err(Trap::illegal(format!("`{inst}` at SEW={sew}"))),
            }
        }
        _ => {
            return Err(Trap::illegal(format!(
                "`{inst}` is not implemented by the vector unit"
            )))
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::testctx::*;
    use super::super::*;
    use proptest::prelude::*;

    fn unit(vlen: u32) -> (VectorUnit, BareContext) {
        (VectorUnit::new(vlen), test_ctx())
    }

    #[test]
    fn add_sub_logic_at_each_sew() {
        let (mut vu, mut cx) = unit(128);
        for sew in [8u32, 16, 32, 64] {
            let n = 128 / sew as usize;
            setvl(&mut vu, &mut cx, n as u64, &format!("e{sew}, m1"));
            let mask = if sew == 64 { u64::MAX } else { (1 << sew) - 1 };
            let a: Vec<u64> = (0..n as u64)
                .map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15) & mask)
                .collect();
            let b: Vec<u64> = (0..n as u64)
                .map(|i| (i * 0x5851_f42d + 7) & mask)
                .collect();
            put(&mut vu, 2, sew, &a);
            put(&mut vu, 3, sew, &b);
            run(&mut vu, &mut cx, "vadd.vv v1, v2, v3").unwrap();
            let want: Vec<u64> = a
                .iter()
                .zip(&b)
                .map(|(x, y)| x.wrapping_add(*y) & mask)
                .collect();
            assert_eq!(get(&vu, 1, sew, n), want);
            cx.x[10] = 5;
            run(&mut vu, &mut cx, "vrsub.vx v1, v2, a0").unwrap();
            let want: Vec<u64> = a.iter().map(|x| 5u64.wrapping_sub(*x) & mask).collect();
            assert_eq!(get(&vu, 1, sew, n), want);
            run(&mut vu, &mut cx, "vand.vi v1, v2, -8").unwrap();
            let want: Vec<u64> = a.iter().map(|x| x & !7 & mask).collect();
            assert_eq!(get(&vu, 1, sew, n), want);
        }
    }

    #[test]
    fn masked_elements_and_tail_are_undisturbed() {
        let (mut vu, mut cx) = unit(128);
        setvl(&mut vu, &mut cx, 5, "e32, m1");
        put(&mut vu, 0, 8, &[0b10101]);
        put(&mut vu, 1, 32, &[100, 101, 102, 103]);
        put(&mut vu, 2, 32, &[1, 2, 3, 4]);
        put(&mut vu, 3, 32, &[10, 20, 30, 40]);
        // vl=4 (VLMAX at VLEN=128, e32), mask 0b10101 -> elements 0, 2 active.
        run(&mut vu, &mut cx, "vadd.vv v1, v2, v3, v0.t").unwrap();
        assert_eq!(get(&vu, 1, 32, 4), vec![11, 101, 33, 103]);
        setvl(&mut vu, &mut cx, 2, "e32, m1");
        run(&mut vu, &mut cx, "vadd.vv v1, v2, v3").unwrap();
        assert_eq!(get(&vu, 1, 32, 4), vec![11, 22, 33, 103]);
    }

    #[test]
    fn shifts_mul_div() {
        let (mut vu, mut cx) = unit(128);
        setvl(&mut vu, &mut cx, 4, "e16, m1");
        put(&mut vu, 2, 16, &[0x8001, 7, 0xffff, 100]);
        put(&mut vu, 3, 16, &[17, 2, 0, 0xfffd]);
        run(&mut vu, &mut cx, "vsra.vi v1, v2, 1").unwrap();
        assert_eq!(get(&vu, 1, 16, 4), vec![0xc000, 3, 0xffff, 50]);
        run(&mut vu, &mut cx, "vsll.vv v1, v2, v3").unwrap(); // shift by 17&15=1, 2, 0, 13
        assert_eq!(get(&vu, 1, 16, 4), vec![0x0002, 28, 0xffff, 0x8000]);
        run(&mut vu, &mut cx, "vdiv.vv v1, v2, v3").unwrap();
        // -32767/17 = -1927; 7/2 = 3; x/0 = -1; 100 / -3 = -33
        assert_eq!(
            get(&vu, 1, 16, 4),
            vec![
                (-1927i64 as u64) & 0xffff,
                3,
                0xffff,
                (-33i64 as u64) & 0xffff
            ]
        );
        run(&mut vu, &mut cx, "vremu.vv v1, v2, v3").unwrap();
        assert_eq!(get(&vu, 1, 16, 4), vec![0x8001 % 17, 1, 0xffff, 100]);
        run(&mut vu, &mut cx, "vmulh.vv v1, v2, v3").unwrap();
        assert_eq!(
            get(&vu, 1, 16, 4)[0],
            ((-32767i64 * 17) >> 16) as u64 & 0xffff
        );
        run(&mut vu, &mut cx, "vmulhu.vv v1, v2, v3").unwrap();
        assert_eq!(get(&vu, 1, 16, 4)[3], (100 * 0xfffd) >> 16);
    }

    #[test]
    fn widening_and_macc() {
        let (mut vu, mut cx) = unit(128);
        setvl(&mut vu, &mut cx, 16, "e8, m1");
        let a: Vec<u64> = (0..16).map(|i| (i * 37 + 200) & 0xff).collect();
        let b: Vec<u64> = (0..16).map(|i| (i * 91 + 3) & 0xff).collect();
        put(&mut vu, 8, 8, &a);
        put(&mut vu, 9, 8, &b);
        put(&mut vu, 2, 16, &[1; 16]);
        put(&mut vu, 3, 16, &[1; 8]);
        run(&mut vu, &mut cx, "vwmacc.vv v2, v8, v9").unwrap();
        let s8 = |x: u64| x as u8 as i8 as i64;
        let want: Vec<u64> = (0..16)
            .map(|i| ((1 + s8(a[i]) * s8(b[i])) as u64) & 0xffff)
            .collect();
        assert_eq!(get(&vu, 2, 16, 16), want);
        run(&mut vu, &mut cx, "vwmulu.vv v4, v8, v9").unwrap();
        let want: Vec<u64> = (0..16).map(|i| a[i] * b[i]).collect();
        assert_eq!(get(&vu, 4, 16, 16), want);
        // .wv: wide vs2
        run(&mut vu, &mut cx, "vwsub.wv v6, v4, v9").unwrap();
        let want: Vec<u64> = (0..16)
            .map(|i| ((a[i] * b[i]) as i64 - s8(b[i])) as u64 & 0xffff)
            .collect();
        assert_eq!(get(&vu, 6, 16, 16), want);
        // narrowing shift back
        run(&mut vu, &mut cx, "vnsrl.wi v10, v4, 8").unwrap();
        let want: Vec<u64> = (0..16).map(|i| (a[i] * b[i]) >> 8).collect();
        assert_eq!(get(&vu, 10, 8, 16), want);
        // vmacc: vd = vs1*vs2 + vd ; vmadd: vd = vs1*vd + vs2
        setvl(&mut vu, &mut cx, 4, "e32, m1");
        put(&mut vu, 1, 32, &[1, 2, 3, 4]);
        put(&mut vu, 2, 32, &[10, 20, 30, 40]);
        put(&mut vu, 3, 32, &[5, 5, 5, 5]);
        run(&mut vu, &mut cx, "vmacc.vv v3, v1, v2").unwrap();
        assert_eq!(get(&vu, 3, 32, 4), vec![15, 45, 95, 165]);
        run(&mut vu, &mut cx, "vmadd.vv v3, v1, v2").unwrap();
        assert_eq!(get(&vu, 3, 32, 4), vec![25, 110, 315, 700]);
        cx.x[10] = 2;
        run(&mut vu, &mut cx, "vnmsub.vx v3, a0, v2").unwrap();
        assert_eq!(
            get(&vu, 3, 32, 4),
            vec![
                (10 - 50i64) as u64 & 0xffff_ffff,
                (20 - 220i64) as u64 & 0xffff_ffff,
                (30 - 630i64) as u64 & 0xffff_ffff,
                (40 - 1400i64) as u64 & 0xffff_ffff
            ]
        );
    }

    #[test]
    fn compares_merge_carry_ext() {
        let (mut vu, mut cx) = unit(256);
        setvl(&mut vu, &mut cx, 8, "e32, m1");
        put(&mut vu, 2, 32, &[0, 1, 2, 3, 0xffff_ffff, 5, 6, 7]);
        cx.x[10] = 3;
        run(&mut vu, &mut cx, "vmslt.vx v1, v2, a0").unwrap();
        assert_eq!(get(&vu, 1, 8, 1), vec![0b0001_0111]);
        run(&mut vu, &mut cx, "vmsgtu.vi v0, v2, 4").unwrap();
        assert_eq!(get(&vu, 0, 8, 1), vec![0b1111_0000]);
        run(&mut vu, &mut cx, "vmerge.vim v3, v2, -1, v0").unwrap();
        assert_eq!(
            get(&vu, 3, 32, 8),
            vec![
                0,
                1,
                2,
                3,
                0xffff_ffff,
                0xffff_ffff,
                0xffff_ffff,
                0xffff_ffff
            ]
        );
        run(&mut vu, &mut cx, "vmadc.vim v4, v2, 1, v0").unwrap();
        assert_eq!(get(&vu, 4, 8, 1), vec![0b0001_0000]);
        run(&mut vu, &mut cx, "vadc.vvm v5, v2, v2, v0").unwrap();
        assert_eq!(get(&vu, 5, 32, 8)[5], 11);
        setvl(&mut vu, &mut cx, 8, "e64, m2");
        put(&mut vu, 6, 16, &[0xfffe, 3, 0x8000, 0, 0, 0, 0, 0]);
        run(&mut vu, &mut cx, "vsext.vf4 v8, v6").unwrap();
        assert_eq!(
            get(&vu, 8, 64, 3),
            vec![(-2i64) as u64, 3, (-32768i64) as u64]
        );
        run(&mut vu, &mut cx, "vzext.vf4 v8, v6").unwrap();
        assert_eq!(get(&vu, 8, 64, 3), vec![0xfffe, 3, 0x8000]);
        // vf8 at SEW=32 is illegal (source EEW 4).
        setvl(&mut vu, &mut cx, 8, "e32, m1");
        assert!(run(&mut vu, &mut cx, "vzext.vf8 v8, v6").is_err());
    }

    proptest! {
        #[test]
        fn tail_undisturbed_never_changes_tail(vl in 0u64..=16, seed in any::<u64>(), vm in any::<bool>()) {
            let (mut vu, mut cx) = unit(128);
            for (k, b) in vu.vreg_bytes_mut().iter_mut().enumerate() {
                *b = (seed.wrapping_mul(k as u64 + 1) >> 13) as u8;
            }
            setvl(&mut vu, &mut cx, vl, "e8, m1");
            let before = vu.vreg(1).to_vec();
            let text = if vm { "vadd.vv v1, v2, v3" } else { "vadd.vv v1, v2, v3, v0.t" };
            run(&mut vu, &mut cx, text).unwrap();
            prop_assert_eq!(&vu.vreg(1)[vl as usize..], &before[vl as usize..]);
        }
    }
}
