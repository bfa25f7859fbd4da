//! Vector loads and stores: unit-stride (with segments and fault-only-first), strided,
//! indexed (ordered and unordered), whole-register and mask accesses.
//!
//! Unit-stride accesses make one `load`/`store` call per contiguous run of active elements
//! (one call for an unmasked access), so the hart's access log sees them as bursts.

use super::elem::Elem;
use super::VectorUnit;
use crate::hart::{HartContext, Trap};
use crate::isa::vector::{VInst, VOp};

/// Reads index element `i` (EEW `eew` bits, zero-extended) from group `v`.
fn index(vu: &VectorUnit, v: u8, eew: u32, i: usize) -> u64 {
    let o = vu.off(v);
    match eew {
        8 => u8::rd(&vu.regs, o + i),
        16 => u16::rd(&vu.regs, o + 2 * i),
        32 => u32::rd(&vu.regs, o + 4 * i),
        _ => u64::rd(&vu.regs, o + 8 * i),
    }
}

/// The next run of consecutive active elements starting at or after `i` and before `end`:
/// (first, count). Unmasked accesses are one run.
#[inline]
fn next_run(vu: &VectorUnit, vm: bool, mut i: usize, end: usize) -> Option<(usize, usize)> {
    if vm {
        return (i < end).then_some((i, end - i));
    }
    while i < end && !vu.mask_bit(0, i) {
        i += 1;
    }
    if i >= end {
        return None;
    }
    let s = i;
    while i < end && vu.mask_bit(0, i) {
        i += 1;
    }
    Some((s, i - s))
}

pub(super) fn exec(
    vu: &mut VectorUnit,
    inst: &VInst,
    ctx: &mut impl HartContext,
) -> Result<(), Trap> {
    use VOp::*;
    let base = ctx.x(inst.vs1);
    let eew = inst.mem_eew();
    let eb = eew as usize / 8;
    let nf = inst.nf().max(1) as usize;
    match inst.op {
        Vlm | Vsm => {
            // EEW=8, evl = ceil(vl/8), always unmasked.
            let evl = (vu.vl as usize).div_ceil(8);
            let start = vu.vstart as usize;
            if start < evl {
                let o = vu.off(inst.vd);
                let a = base.wrapping_add(start as u64);
                if inst.op == Vlm {
                    ctx.load(a, &mut vu.regs[o + start..o + evl])?;
                } else {
                    ctx.store(a, &vu.regs[o + start..o + evl])?;
                }
            }
            Ok(())
        }
        Vle | Vse | Vleff if nf == 1 => {
            let store = inst.op == Vse;
            let body = vu.body();
            let o = vu.off(inst.vd);
            if inst.op == Vleff {
                return fault_only_first(vu, inst, ctx, base, eb);
            }
            let mut next = body.start;
            while let Some((s, n)) = next_run(vu, inst.vm, next, body.end) {
                next = s + n;
                let a = base.wrapping_add((s * eb) as u64);
                let r = o + s * eb..o + (s + n) * eb;
                if store {
                    ctx.store(a, &vu.regs[r])?;
                } else {
                    ctx.load(a, &mut vu.regs[r])?;
                }
            }
            Ok(())
        }
        Vle | Vse | Vleff => {
            // Unit-stride segments: element i's fields are contiguous in memory.
            let store = inst.op == Vse;
            let emul_regs = (vu.lmul8() * eew / vu.sew() / 8).max(1) as usize;
            let seg = nf * eb;
            let body = vu.body();
            let mut next = body.start;
            while let Some((s, n)) = next_run(vu, inst.vm, next, body.end) {
                next = s + n;
                let mut buf = vec![0u8; n * seg];
                let a = base.wrapping_add((s * seg) as u64);
                if !store {
                    ctx.load(a, &mut buf)?;
                }
                for k in 0..n {
                    for f in 0..nf {
                        let r = vu.off(inst.vd + (f * emul_regs) as u8) + (s + k) * eb;
                        let m = k * seg + f * eb;
                        if store {
                            buf[m..m + eb].copy_from_slice(&vu.regs[r..r + eb]);
                        } else {
                            vu.regs[r..r + eb].copy_from_slice(&buf[m..m + eb]);
                        }
                    }
                }
                if store {
                    ctx.store(a, &buf)?;
                }
            }
            Ok(())
        }
        Vlse | Vsse => {
            let stride = ctx.x(inst.vs2);
            let store = inst.op == Vsse;
            let emul_regs = (vu.lmul8() * eew / vu.sew() / 8).max(1) as usize;
            if nf == 1 && stride == eb as u64 {
                // Same as unit-stride: keep the accesses as one burst per run.
                let o = vu.off(inst.vd);
                let body = vu.body();
                let mut next = body.start;
                while let Some((s, n)) = next_run(vu, inst.vm, next, body.end) {
                    next = s + n;
                    let a = base.wrapping_add((s * eb) as u64);
                    let r = o + s * eb..o + (s + n) * eb;
                    if store {
                        ctx.store(a, &vu.regs[r])?;
                    } else {
                        ctx.load(a, &mut vu.regs[r])?;
                    }
                }
                return Ok(());
            }
            for i in vu.body() {
                if !vu.active(inst.vm, i) {
                    continue;
                }
                let ea = base.wrapping_add((i as u64).wrapping_mul(stride));
                seg_access(vu, ctx, inst.vd, emul_regs, nf, eb, i, ea, store)?;
            }
            Ok(())
        }
        Vluxei | Vloxei | Vsuxei | Vsoxei => {
            // Data EEW = SEW, EMUL = LMUL; index EEW from the instruction.
            let store = matches!(inst.op, Vsuxei | Vsoxei);
            let sew_b = vu.sew() as usize / 8;
            let emul_regs = (vu.lmul8() / 8).max(1) as usize;
            for i in vu.body() {
                if !vu.active(inst.vm, i) {
                    continue;
                }
                let off = index(vu, inst.vs2, eew, i);
                let ea = base.wrapping_add(off);
                seg_access(vu, ctx, inst.vd, emul_regs, nf, sew_b, i, ea, store)?;
            }
            Ok(())
        }
        _ => unreachable!("not a memory op"),
    }
}

/// One element (all `nf` fields) of a strided or indexed access at address `ea`.
#[allow(clippy::too_many_arguments)]
fn seg_access(
    vu: &mut VectorUnit,
    ctx: &mut impl HartContext,
    vd: u8,
    emul_regs: usize,
    nf: usize,
    eb: usize,
    i: usize,
    ea: u64,
    store: bool,
) -> Result<(), Trap> {
    for f in 0..nf {
        let r = vu.off(vd + (f * emul_regs) as u8) + i * eb;
        let a = ea.wrapping_add((f * eb) as u64);
        if store {
            ctx.store(a, &vu.regs[r..r + eb])?;
        } else {
            ctx.load(a, &mut vu.regs[r..r + eb])?;
        }
    }
    Ok(())
}

/// vleNff: element 0 traps as usual; a fault at a later element trims vl to that element.
fn fault_only_first(
    vu: &mut VectorUnit,
    inst: &VInst,
    ctx: &mut impl HartContext,
    base: u64,
    eb: usize,
) -> Result<(), Trap> {
    let o = vu.off(inst.vd);
    let body = vu.body();
    for i in body {
        if !vu.active(inst.vm, i) {
            continue;
        }
        let a = base.wrapping_add((i * eb) as u64);
        let mut tmp = [0u8; 8];
        match ctx.load(a, &mut tmp[..eb]) {
            Ok(()) => vu.regs[o + i * eb..o + (i + 1) * eb].copy_from_slice(&tmp[..eb]),
            Err(e) if i == 0 => return Err(e),
            Err(_) => {
                vu.vl = i as u64;
                break;
            }
        }
    }
    Ok(())
}

/// vlNr / vsNr: whole registers, independent of vtype and vl.
pub(super) fn exec_whole(
    vu: &mut VectorUnit,
    inst: &VInst,
    ctx: &mut impl HartContext,
) -> Result<(), Trap> {
    let nf = inst.nf() as usize;
    let eb = inst.mem_eew() as usize / 8;
    let total = nf * vu.vlenb;
    let start = vu.vstart as usize * eb;
    if start < total {
        let o = vu.off(inst.vd);
        let a = ctx.x(inst.vs1).wrapping_add(start as u64);
        if inst.op == VOp::Vlr {
            ctx.load(a, &mut vu.regs[o + start..o + total])?;
        } else {
            ctx.store(a, &vu.regs[o + start..o + total])?;
        }
    }
    vu.vstart = 0;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::testctx::*;
    use super::super::*;

    #[test]
    fn unit_stride_is_one_access_per_run() {
        let mut vu = VectorUnit::new(128);
        let mut cx = test_ctx();
        let fill: Vec<u8> = (0..4096).map(|k| k as u8).collect();
        cx.put_bytes(MEM_BASE, &fill);
        setvl(&mut vu, &mut cx, 8, "e32, m2");
        cx.x[10] = MEM_BASE + 16;
        run(&mut vu, &mut cx, "vle32.v v2, (a0)").unwrap();
        assert_eq!(cx.loads(), vec![(MEM_BASE + 16, 32)]);
        assert_eq!(get(&vu, 2, 32, 2), vec![0x13121110, 0x17161514]);
        // Masked: runs {0,1}, {4..7}
        put(&mut vu, 0, 8, &[0b1111_0011]);
        cx.accesses.clear();
        cx.x[11] = MEM_BASE + 256;
        run(&mut vu, &mut cx, "vse32.v v2, (a1), v0.t").unwrap();
        assert!(cx.loads().is_empty());
        assert_eq!(
            cx.stores(),
            vec![(MEM_BASE + 256, 8), (MEM_BASE + 256 + 16, 16)]
        );
        assert_eq!(cx.bytes(MEM_BASE + 256, 8), cx.bytes(MEM_BASE + 16, 8));
        assert_eq!(
            cx.bytes(MEM_BASE + 264, 8),
            [8, 9, 10, 11, 12, 13, 14, 15] // untouched
        );
    }

    #[test]
    fn strided_indexed_segment_whole_mask() {
        let mut vu = VectorUnit::new(128);
        let mut cx = test_ctx();
        let fill: Vec<u8> = (0..4096).map(|k| (k * 7) as u8).collect();
        cx.put_bytes(MEM_BASE, &fill);
        setvl(&mut vu, &mut cx, 4, "e16, m1");
        cx.x[10] = MEM_BASE;
        cx.x[11] = 6;
        run(&mut vu, &mut cx, "vlse16.v v1, (a0), a1").unwrap();
        let mem = cx.bytes(MEM_BASE, 4096);
        let m16 = |a: usize| mem[a] as u64 | (mem[a + 1] as u64) << 8;
        assert_eq!(get(&vu, 1, 16, 4), vec![m16(0), m16(6), m16(12), m16(18)]);
        // Indexed: byte offsets from v2 (EEW 8).
        put(&mut vu, 2, 8, &[10, 0, 30, 2]);
        run(&mut vu, &mut cx, "vluxei8.v v3, (a0), v2").unwrap();
        assert_eq!(get(&vu, 3, 16, 4), vec![m16(10), m16(0), m16(30), m16(2)]);
        // Segments: vlseg2e16 de-interleaves.
        run(&mut vu, &mut cx, "vlseg2e16.v v4, (a0)").unwrap();
        assert_eq!(get(&vu, 4, 16, 4), vec![m16(0), m16(4), m16(8), m16(12)]);
        assert_eq!(get(&vu, 5, 16, 4), vec![m16(2), m16(6), m16(10), m16(14)]);
        // Whole registers ignore vl.
        run(&mut vu, &mut cx, "vl2re16.v v6, (a0)").unwrap();
        assert_eq!(vu.vreg(6), &mem[0..16]);
        assert_eq!(vu.vreg(7), &mem[16..32]);
        cx.x[12] = MEM_BASE + 1024;
        run(&mut vu, &mut cx, "vs2r.v v6, (a2)").unwrap();
        assert_eq!(cx.bytes(MEM_BASE + 1024, 32), mem[0..32]);
        // Mask load: ceil(vl/8) bytes.
        setvl(&mut vu, &mut cx, 9, "e8, m1");
        cx.accesses.clear();
        run(&mut vu, &mut cx, "vlm.v v8, (a0)").unwrap();
        assert_eq!(
            cx.accesses,
            vec![Access {
                addr: MEM_BASE,
                len: 2,
                store: false
            }]
        );
        // EMUL out of range: e64 data at e8 m1 -> EMUL 8 ok, at m2 -> 16 illegal.
        setvl(&mut vu, &mut cx, 4, "e8, m2");
        assert!(run(&mut vu, &mut cx, "vle64.v v8, (a0)").is_err());
    }

    #[test]
    fn fault_only_first_trims_vl() {
        let mut vu = VectorUnit::new(128);
        let mut cx = test_ctx();
        setvl(&mut vu, &mut cx, 16, "e8, m1");
        cx.x[10] = MEM_BASE + 4096 - 5;
        run(&mut vu, &mut cx, "vle8ff.v v1, (a0)").unwrap();
        assert_eq!(vu.vl(), 5);
        cx.x[10] = MEM_BASE + 4096;
        assert!(run(&mut vu, &mut cx, "vle8ff.v v1, (a0)").is_err());
    }
}
