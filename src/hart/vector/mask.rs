//! Mask-register instructions: mask logic (vmand ... vmxnor), vcpop, vfirst, the
//! set-before/including/only-first scans, viota and vid.

use super::elem::{by_sew, Elem};
use super::VectorUnit;
use crate::hart::{HartContext, Trap};
use crate::isa::vector::{VInst, VOp};

pub(super) fn exec(
    vu: &mut VectorUnit,
    inst: &VInst,
    ctx: &mut impl HartContext,
) -> Result<(), Trap> {
    use VOp::*;
    match inst.op {
        Vmandn | Vmand | Vmor | Vmxor | Vmorn | Vmnand | Vmnor | Vmxnor => {
            let f: fn(u8, u8) -> u8 = match inst.op {
                Vmandn => |a, b| a & !b,
                Vmand => |a, b| a & b,
                Vmor => |a, b| a | b,
                Vmxor => |a, b| a ^ b,
                Vmorn => |a, b| a | !b,
                Vmnand => |a, b| !(a & b),
                Vmnor => |a, b| !(a | b),
                _ => |a, b| !(a ^ b),
            };
            // vd.mask[i] = f(vs2.mask[i], vs1.mask[i]); whole bytes inside the body, then the
            // partial bytes at either end bit by bit (tail undisturbed).
            let body = vu.body();
            let (d, s2, s1) = (vu.off(inst.vd), vu.off(inst.vs2), vu.off(inst.vs1));
            let mut i = body.start;
            while i < body.end {
                if i.is_multiple_of(8) && i + 8 <= body.end {
                    let k = i / 8;
                    vu.regs[d + k] = f(vu.regs[s2 + k], vu.regs[s1 + k]);
                    i += 8;
                } else {
                    let a = vu.mask_bit(inst.vs2, i) as u8;
                    let b = vu.mask_bit(inst.vs1, i) as u8;
                    vu.set_mask_bit(inst.vd, i, f(a, b) & 1 != 0);
                    i += 1;
                }
            }
        }
        Vcpop | Vfirst => {
            let mut count = 0u64;
            let mut first = u64::MAX; // -1
            for i in vu.body() {
                if vu.active(inst.vm, i) && vu.mask_bit(inst.vs2, i) {
                    if first == u64::MAX {
                        first = i as u64;
                    }
                    count += 1;
                }
            }
            ctx.set_x(inst.vd, if inst.op == Vcpop { count } else { first });
        }
        Vmsbf | Vmsif | Vmsof => {
            let mut seen = false;
            for i in vu.body() {
                if !vu.active(inst.vm, i) {
                    continue;
                }
                let bit = vu.mask_bit(inst.vs2, i);
                let out = match inst.op {
                    Vmsbf => !seen && !bit,
                    Vmsif => !seen,
                    _ => !seen && bit,
                };
                seen |= bit;
                vu.set_mask_bit(inst.vd, i, out);
            }
        }
        Viota | Vid => {
            let iota = inst.op == Viota;
            by_sew!(vu.sew(), T => {
                let d = vu.off(inst.vd);
                let mut acc = 0u64;
                for i in vu.body() {
                    if !vu.active(inst.vm, i) {
                        continue;
                    }
                    let v = if iota { acc } else { i as u64 };
                    T::wr(&mut vu.regs, d + i * T::BYTES, v);
                    if iota && vu.mask_bit(inst.vs2, i) {
                        acc += 1;
                    }
                }
            })
        }
        _ => unreachable!("not a mask op"),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::testctx::*;
    use super::super::*;

    #[test]
    fn mask_logic_scans_and_counts() {
        let mut vu = VectorUnit::new(128);
        let mut cx = test_ctx();
        setvl(&mut vu, &mut cx, 12, "e8, m1");
        put(&mut vu, 2, 16, &[0b0000_1010_0110_1000]);
        put(&mut vu, 3, 16, &[0b0000_1100_1010_1010]);
        put(&mut vu, 1, 16, &[0xffff]);
        run(&mut vu, &mut cx, "vmand.mm v1, v2, v3").unwrap();
        // Only the 12 body bits change; bits 12..15 keep their ones.
        assert_eq!(get(&vu, 1, 16, 1), vec![0xf000 | 0b1000_0010_1000]);
        run(&mut vu, &mut cx, "vmnot.m v4, v2").unwrap();
        assert_eq!(get(&vu, 4, 16, 1)[0] & 0xfff, !0b1010_0110_1000u64 & 0xfff);
        run(&mut vu, &mut cx, "vcpop.m a0, v2").unwrap();
        assert_eq!(cx.x[10], 5);
        run(&mut vu, &mut cx, "vfirst.m a0, v2").unwrap();
        assert_eq!(cx.x[10], 3);
        put(&mut vu, 5, 16, &[0]);
        run(&mut vu, &mut cx, "vfirst.m a0, v5").unwrap();
        assert_eq!(cx.x[10], u64::MAX);
        run(&mut vu, &mut cx, "vmsbf.m v6, v2").unwrap();
        assert_eq!(get(&vu, 6, 16, 1)[0] & 0xfff, 0b111);
        run(&mut vu, &mut cx, "vmsif.m v6, v2").unwrap();
        assert_eq!(get(&vu, 6, 16, 1)[0] & 0xfff, 0b1111);
        run(&mut vu, &mut cx, "vmsof.m v6, v2").unwrap();
        assert_eq!(get(&vu, 6, 16, 1)[0] & 0xfff, 0b1000);
        run(&mut vu, &mut cx, "viota.m v7, v2").unwrap();
        assert_eq!(get(&vu, 7, 8, 12), vec![0, 0, 0, 0, 1, 1, 2, 3, 3, 3, 4, 4]);
        run(&mut vu, &mut cx, "vid.v v8").unwrap();
        assert_eq!(get(&vu, 8, 8, 12), (0..12).collect::<Vec<u64>>());
        // viota's destination must not overlap its source.
        assert!(run(&mut vu, &mut cx, "viota.m v2, v2").is_err());
    }
}
