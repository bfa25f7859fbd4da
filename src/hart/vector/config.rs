//! vsetvli / vsetivli / vsetvl: vtype legality, VLMAX and the AVL rules.

use super::{VectorUnit, VILL};
use crate::hart::HartContext;
use crate::isa::vector::{VInst, VOp};

/// ELEN: the widest element this unit supports.
const ELEN: u32 = 64;

/// Decodes a vtype value into (SEW bits, LMUL eighths), or None if it is reserved or
/// unsupported (vill).
pub(crate) fn parse_vtype(vtype: u64) -> Option<(u32, u32)> {
    let vlmul = vtype & 7;
    let vsew = (vtype >> 3) & 7;
    // Bits above vma (bit 7) up to XLEN-1 are reserved (vill itself included).
    if vtype >> 8 != 0 || vsew > 3 || vlmul == 4 {
        return None;
    }
    let sew = 8u32 << vsew;
    let lmul8 = [8u32, 16, 32, 64, 0, 1, 2, 4][vlmul as usize];
    // Fractional LMUL must leave room for one SEW element of an ELEN-wide register slice:
    // SEW <= LMUL * ELEN.
    if sew * 8 > lmul8 * ELEN {
        return None;
    }
    Some((sew, lmul8))
}

pub(super) fn exec(vu: &mut VectorUnit, inst: &VInst, ctx: &mut impl HartContext) {
    let (rd, rs1) = (inst.vd, inst.vs1);
    let new_vtype = match inst.op {
        VOp::Vsetvl => ctx.x(inst.vs2),
        _ => inst.aux as u64,
    };
    let old_vl = vu.vl;
    match parse_vtype(new_vtype) {
        None => {
            vu.vtype = VILL;
            vu.vl = 0;
            vu.sew = 8;
            vu.lmul8 = 8;
        }
        Some((sew, lmul8)) => {
            vu.vtype = new_vtype;
            vu.sew = sew;
            vu.lmul8 = lmul8;
            let vlmax = vu.vlmax();
            let avl = match inst.op {
                VOp::Vsetivli => rs1 as u64,
                _ if rs1 != 0 => ctx.x(rs1),
                _ if rd != 0 => u64::MAX,
                // rd = rs1 = x0: keep vl (as QEMU and Spike do, clamped to the new VLMAX).
                _ => old_vl,
            };
            vu.vl = avl.min(vlmax);
        }
    }
    vu.vstart = 0;
    ctx.set_x(rd, vu.vl);
}

#[cfg(test)]
mod tests {
    use super::super::testctx::*;
    use super::super::*;

    #[test]
    fn vlmax_and_avl_rules() {
        for vlen in [128u32, 256, 512] {
            let mut vu = VectorUnit::new(vlen);
            let mut cx = test_ctx();
            let vlmax = |sew: u64, lmul8: u64| vlen as u64 * lmul8 / 8 / sew;
            assert_eq!(setvl(&mut vu, &mut cx, 1000, "e8, m1"), vlmax(8, 8));
            assert_eq!(setvl(&mut vu, &mut cx, 1000, "e32, m8"), vlmax(32, 64));
            assert_eq!(setvl(&mut vu, &mut cx, 1000, "e16, mf2"), vlmax(16, 4));
            assert_eq!(setvl(&mut vu, &mut cx, 3, "e64, m2"), 3);
            // rs1 = x0, rd != x0: vl = VLMAX.
            run(&mut vu, &mut cx, "vsetvli a2, zero, e8, m4, ta, ma").unwrap();
            assert_eq!(cx.x[12], vlmax(8, 32));
            // rd = rs1 = x0: keep vl when the ratio is unchanged.
            setvl(&mut vu, &mut cx, 5, "e8, m1");
            run(&mut vu, &mut cx, "vsetvli zero, zero, e32, m4, ta, ma").unwrap();
            assert_eq!(vu.vl(), 5);
            assert_eq!(vu.vtype(), 0x40 | 0x80 | (2 << 3) | 2);
            // vsetivli
            run(&mut vu, &mut cx, "vsetivli a3, 31, e8, mf8, tu, mu").unwrap();
            assert_eq!(cx.x[13], 31.min(vlmax(8, 1)));
        }
    }

    #[test]
    fn reserved_vtype_sets_vill() {
        let mut vu = VectorUnit::new(128);
        let mut cx = test_ctx();
        setvl(&mut vu, &mut cx, 4, "e8, m1");
        // SEW=64 with LMUL=1/2 is not supported (SEW > LMUL*ELEN).
        cx.x[11] = 4;
        cx.x[12] = (3 << 3) | 7;
        run(&mut vu, &mut cx, "vsetvl a0, a1, a2").unwrap();
        assert_eq!(vu.vtype(), VILL);
        assert_eq!(vu.vl(), 0);
        assert_eq!(cx.x[10], 0);
        for bad in [4u64, 0x100, 5 << 3] {
            cx.x[12] = bad;
            run(&mut vu, &mut cx, "vsetvl a0, a1, a2").unwrap();
            assert_eq!(vu.vtype(), VILL, "vtype {bad:#x}");
        }
    }
}
