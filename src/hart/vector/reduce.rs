//! Reductions: vd[0] = op(vs1[0], active vs2[i] for i < vl). Integer (single-width and
//! widening sums) and floating point (ordered and unordered sums, both computed in strict
//! element order; max/min; widening sums).

use super::elem::{by_sew, by_sew_wide, Elem};
use super::float::fmt_of;
use super::VectorUnit;
use crate::hart::softfloat as sf;
use crate::hart::{HartContext, Trap};
use crate::isa::vector::{VInst, VOp};

/// Folds the active elements of vs2 (SEW `T`) into an accumulator that starts as element 0
/// of vs1 (width `A`), writing the result to element 0 of vd. Nothing is written when vl = 0.
#[inline(always)]
fn fold<T: Elem, A: Elem>(vu: &mut VectorUnit, inst: &VInst, mut f: impl FnMut(u64, u64) -> u64) {
    if vu.vl == 0 {
        return;
    }
    let s2 = vu.off(inst.vs2);
    let mut acc = A::rd(&vu.regs, vu.off(inst.vs1));
    for i in vu.body() {
        if vu.active(inst.vm, i) {
            acc = f(acc, T::rd(&vu.regs, s2 + i * T::BYTES));
        }
    }
    let d = vu.off(inst.vd);
    A::wr(&mut vu.regs, d, acc);
}

pub(super) fn exec(
    vu: &mut VectorUnit,
    inst: &VInst,
    ctx: &mut impl HartContext,
) -> Result<(), Trap> {
    use VOp::*;
    let sew = vu.sew();
    match inst.op {
        Vredsum | Vredand | Vredor | Vredxor | Vredminu | Vredmin | Vredmaxu | Vredmax => {
            by_sew!(sew, T => match inst.op {
                Vredsum => fold::<T, T>(vu, inst, |a, b| a.wrapping_add(b)),
                Vredand => fold::<T, T>(vu, inst, |a, b| a & b),
                Vredor => fold::<T, T>(vu, inst, |a, b| a | b),
                Vredxor => fold::<T, T>(vu, inst, |a, b| a ^ b),
                Vredminu => fold::<T, T>(vu, inst, |a, b| a.min(b)),
                Vredmaxu => fold::<T, T>(vu, inst, |a, b| a.max(b)),
                Vredmin => fold::<T, T>(vu, inst, |a, b| T::sx(a).min(T::sx(b)) as u64),
                _ => fold::<T, T>(vu, inst, |a, b| T::sx(a).max(T::sx(b)) as u64),
            })
        }
        Vwredsumu | Vwredsum => {
            let signed = inst.op == Vwredsum;
            by_sew_wide!(sew, T, W => {
                if signed {
                    fold::<T, W>(vu, inst, |a, b| a.wrapping_add(T::sx(b) as u64))
                } else {
                    fold::<T, W>(vu, inst, |a, b| a.wrapping_add(b))
                }
            })
        }
        Vfredusum | Vfredosum | Vfredmin | Vfredmax => {
            let f = fmt_of(inst, sew)?;
            let rm = vu.frm(ctx)?;
            let mut fl = 0u8;
            by_sew!(sew, T => match inst.op {
                Vfredmin => fold::<T, T>(vu, inst, |a, b| sf::min_max(f, a, b, false, &mut fl)),
                Vfredmax => fold::<T, T>(vu, inst, |a, b| sf::min_max(f, a, b, true, &mut fl)),
                _ => fold::<T, T>(vu, inst, |a, b| sf::add(f, a, b, rm, &mut fl)),
            });
            ctx.raise_fflags(fl);
        }
        Vfwredusum | Vfwredosum => {
            let f = fmt_of(inst, sew)?;
            if sew == 64 {
                return Err(Trap::illegal(format!("`{inst}` at SEW=64")));
            }
            let w = if sew == 16 { sf::F32 } else { sf::F64 };
            let rm = vu.frm(ctx)?;
            let mut fl = 0u8;
            by_sew_wide!(sew, T, W => fold::<T, W>(vu, inst, |a, b| {
                let bw = sf::convert(w, f, b, rm, &mut fl);
                sf::add(w, a, bw, rm, &mut fl)
            }));
            ctx.raise_fflags(fl);
        }
        _ => unreachable!("not a reduction"),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::testctx::*;
    use super::super::*;
    use proptest::prelude::*;

    #[test]
    fn integer_reductions() {
        let mut vu = VectorUnit::new(128);
        let mut cx = test_ctx();
        setvl(&mut vu, &mut cx, 16, "e8, m1");
        let a: Vec<u64> = (0..16).map(|i| (i * 29 + 130) & 0xff).collect();
        put(&mut vu, 2, 8, &a);
        put(&mut vu, 3, 16, &[1000]);
        run(&mut vu, &mut cx, "vwredsum.vs v4, v2, v3").unwrap();
        let s: i64 = 1000 + a.iter().map(|&x| x as u8 as i8 as i64).sum::<i64>();
        assert_eq!(get(&vu, 4, 16, 1), vec![s as u64 & 0xffff]);
        run(&mut vu, &mut cx, "vwredsumu.vs v4, v2, v3").unwrap();
        assert_eq!(get(&vu, 4, 16, 1), vec![1000 + a.iter().sum::<u64>()]);
        put(&mut vu, 3, 8, &[0x7f]);
        run(&mut vu, &mut cx, "vredmax.vs v4, v2, v3").unwrap();
        assert_eq!(get(&vu, 4, 8, 1), vec![0x7f]);
        run(&mut vu, &mut cx, "vredminu.vs v4, v2, v3").unwrap();
        assert_eq!(get(&vu, 4, 8, 1), vec![*a.iter().min().unwrap().min(&0x7f)]);
        // vl = 0 leaves vd alone.
        put(&mut vu, 4, 8, &[0x55]);
        setvl(&mut vu, &mut cx, 0, "e8, m1");
        run(&mut vu, &mut cx, "vredsum.vs v4, v2, v3").unwrap();
        assert_eq!(get(&vu, 4, 8, 1), vec![0x55]);
    }

    #[test]
    fn fp_ordered_sum_is_sequential() {
        let mut vu = VectorUnit::new(128);
        let mut cx = test_ctx();
        setvl(&mut vu, &mut cx, 4, "e32, m1");
        let v = [1.0e8f32, 1.0, -1.0e8, 1.0];
        put(&mut vu, 2, 32, &v.map(|x| x.to_bits() as u64));
        put(&mut vu, 3, 32, &[0.5f32.to_bits() as u64]);
        run(&mut vu, &mut cx, "vfredosum.vs v4, v2, v3").unwrap();
        let want = (((0.5f32 + 1.0e8) + 1.0) + -1.0e8) + 1.0;
        assert_eq!(get(&vu, 4, 32, 1), vec![want.to_bits() as u64]);
        assert_eq!(cx.fflags, 1); // inexact
        run(&mut vu, &mut cx, "vfredmax.vs v4, v2, v3").unwrap();
        assert_eq!(get(&vu, 4, 32, 1), vec![1.0e8f32.to_bits() as u64]);
        // widening ordered sum of f32 into f64 (vs1[0] is an f64)
        put(&mut vu, 3, 64, &[0.5f64.to_bits()]);
        run(&mut vu, &mut cx, "vfwredosum.vs v4, v2, v3").unwrap();
        let want = (((0.5f64 + 1.0e8) + 1.0) + -1.0e8) + 1.0;
        assert_eq!(get(&vu, 4, 64, 1), vec![want.to_bits()]);
    }

    proptest! {
        #[test]
        fn vredsum_equals_scalar_sum(vals in proptest::collection::vec(any::<u32>(), 1..=8), init in any::<u32>(), mask in any::<u8>()) {
            let mut vu = VectorUnit::new(256);
            let mut cx = test_ctx();
            let n = vals.len();
            setvl(&mut vu, &mut cx, n as u64, "e32, m1");
            put(&mut vu, 2, 32, &vals.iter().map(|&x| x as u64).collect::<Vec<_>>());
            put(&mut vu, 3, 32, &[init as u64]);
            put(&mut vu, 0, 8, &[mask as u64]);
            run(&mut vu, &mut cx, "vredsum.vs v4, v2, v3, v0.t").unwrap();
            let want = vals.iter().enumerate().filter(|(i, _)| mask >> i & 1 == 1)
                .fold(init, |a, (_, &x)| a.wrapping_add(x));
            prop_assert_eq!(get(&vu, 4, 32, 1), vec![want as u64]);
        }
    }
}
