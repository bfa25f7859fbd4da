//! The vector unit: RVV 1.0 semantics on a register file of 32 x VLEN bits.
//!
//! [`VectorUnit`] holds v0-v31 and the vector CSRs (vl, vtype, vstart, vxrm, vxsat) and
//! executes decoded [`VInst`]s against a [`HartContext`] (scalar registers, FP control state,
//! guest memory). It knows nothing about time.
//!
//! Organisation, one concept per file: `config` (vsetvl family, vtype rules), `memory`
//! (loads and stores), `integer` (integer arithmetic, compares, merges, widening and
//! narrowing), `fixed` (fixed-point: saturating, averaging, scaling, clipping), `float` (FP
//! arithmetic, compares, conversions) on top of the hart's one soft-float library
//! ([`crate::hart::softfloat`]), `reduce` (reductions), `permute` (scalar moves, slides,
//! gathers, compress, whole-register moves), `mask` (mask logic and scans).
//!
//! Policies. Tail-agnostic and mask-agnostic elements are left undisturbed (the spec allows
//! either undisturbed or all ones; QEMU 7.2 also leaves them undisturbed by default), so the
//! agnostic and undisturbed policies behave identically here. Every instruction processes
//! elements `vstart..vl` and then clears vstart; if vstart >= vl nothing is written.
//! Illegal encodings that depend on vtype (misaligned register groups, forbidden overlaps,
//! EMUL or EEW out of range, vill set, vstart != 0 where the spec requires 0) raise
//! [`Trap::IllegalInstruction`] with the reason.

mod config;
mod elem;
mod fixed;
mod float;
mod integer;
mod mask;
mod memory;
mod permute;
mod reduce;
#[cfg(test)]
pub(crate) mod testctx;

use crate::hart::{HartContext, Trap};
use crate::isa::vector::{Group, Shape, VInst, VOp};

/// CSR numbers of the vector state.
pub mod csr {
    /// vstart
    pub const VSTART: u16 = 0x008;
    /// vxsat
    pub const VXSAT: u16 = 0x009;
    /// vxrm
    pub const VXRM: u16 = 0x00A;
    /// vcsr (vxrm << 1 | vxsat)
    pub const VCSR: u16 = 0x00F;
    /// vl (read-only)
    pub const VL: u16 = 0xC20;
    /// vtype (read-only)
    pub const VTYPE: u16 = 0xC21;
    /// vlenb (read-only)
    pub const VLENB: u16 = 0xC22;
}

/// The vill bit of vtype (bit XLEN-1).
pub const VILL: u64 = 1 << 63;

/// The vector register file and vector CSRs of one hart.
#[derive(Debug, Clone)]
pub struct VectorUnit {
    vlenb: usize,
    regs: Vec<u8>,
    vl: u64,
    vtype: u64,
    vstart: u64,
    vxrm: u8,
    vxsat: bool,
    /// SEW in bits from vtype (8 when vill is set; never used then).
    sew: u32,
    /// LMUL in eighths (1 = mf8 .. 64 = m8).
    lmul8: u32,
    /// Instructions already found legal under a vtype (with vstart = 0): a direct-mapped
    /// cache of (instruction key, vtype) so the per-instruction checks run once per
    /// (instruction, vtype) pair rather than on every execution.
    legal_cache: Box<[(u64, u64); LEGAL_CACHE]>,
    /// Scratch copies of source groups (2 groups of up to 8 registers), so element loops can
    /// iterate over disjoint slices.
    scratch: Vec<u8>,
}

/// Entries in the legality cache (a power of two).
const LEGAL_CACHE: usize = 1024;

impl VectorUnit {
    /// A unit with VLEN = `vlen_bits` (a power of two from 64 to 65536; the board uses 128,
    /// 256 or 512). All registers zero, vl = 0, vtype = vill.
    pub fn new(vlen_bits: u32) -> VectorUnit {
        assert!(
            vlen_bits.is_power_of_two() && (64..=65536).contains(&vlen_bits),
            "VLEN must be a power of two in 64..=65536, got {vlen_bits}"
        );
        let vlenb = vlen_bits as usize / 8;
        VectorUnit {
            vlenb,
            regs: vec![0; 32 * vlenb],
            vl: 0,
            vtype: VILL,
            vstart: 0,
            vxrm: 0,
            vxsat: false,
            sew: 8,
            lmul8: 8,
            legal_cache: Box::new([(u64::MAX, u64::MAX); LEGAL_CACHE]),
            scratch: vec![0; 16 * vlenb],
        }
    }

    /// VLEN in bytes.
    pub fn vlenb(&self) -> usize {
        self.vlenb
    }
    /// The vl CSR.
    pub fn vl(&self) -> u64 {
        self.vl
    }
    /// The vtype CSR.
    pub fn vtype(&self) -> u64 {
        self.vtype
    }
    /// The vstart CSR.
    pub fn vstart(&self) -> u64 {
        self.vstart
    }
    /// All 32 registers' bytes, v0 first, each register little-endian (for signatures).
    pub fn vreg_bytes(&self) -> &[u8] {
        &self.regs
    }
    /// Mutable register bytes (for loaders and tests).
    pub fn vreg_bytes_mut(&mut self) -> &mut [u8] {
        &mut self.regs
    }
    /// Register `v`'s bytes.
    pub fn vreg(&self, v: u8) -> &[u8] {
        let o = v as usize * self.vlenb;
        &self.regs[o..o + self.vlenb]
    }

    /// Reads a vector CSR; None for CSRs this unit does not own.
    pub fn csr_read(&self, csr: u16) -> Option<u64> {
        Some(match csr {
            csr::VSTART => self.vstart,
            csr::VXSAT => self.vxsat as u64,
            csr::VXRM => self.vxrm as u64,
            csr::VCSR => ((self.vxrm as u64) << 1) | self.vxsat as u64,
            csr::VL => self.vl,
            csr::VTYPE => self.vtype,
            csr::VLENB => self.vlenb as u64,
            _ => return None,
        })
    }

    /// Writes a vector CSR; false for CSRs this unit does not own or that are read-only
    /// (vl, vtype, vlenb: the hart raises an illegal-instruction trap for those).
    pub fn csr_write(&mut self, csr: u16, v: u64) -> bool {
        match csr {
            // vstart holds log2(VLEN) bits (enough for any element index at SEW=8, LMUL=8).
            csr::VSTART => self.vstart = v & (self.vlenb as u64 * 8 - 1),
            csr::VXSAT => self.vxsat = v & 1 != 0,
            csr::VXRM => self.vxrm = (v & 3) as u8,
            csr::VCSR => {
                self.vxsat = v & 1 != 0;
                self.vxrm = ((v >> 1) & 3) as u8;
            }
            _ => return false,
        }
        true
    }

    /// VLMAX for the current vtype (0 when vill is set).
    pub fn vlmax(&self) -> u64 {
        if self.vill() {
            0
        } else {
            (self.vlenb as u64 * self.lmul8 as u64) / self.sew as u64
        }
    }

    fn vill(&self) -> bool {
        self.vtype & VILL != 0
    }

    /// Executes one vector instruction.
    pub fn execute(&mut self, inst: &VInst, ctx: &mut impl HartContext) -> Result<(), Trap> {
        use VOp::*;
        let r = match inst.op {
            Vsetvli | Vsetivli | Vsetvl => {
                config::exec(self, inst, ctx);
                return Ok(());
            }
            Vlr | Vsr => memory::exec_whole(self, inst, ctx),
            VmvNr => permute::whole_move(self, inst),
            _ => {
                self.check_legal_cached(inst)?;
                match inst.op {
                    Vle | Vlse | Vluxei | Vloxei | Vleff | Vlm | Vse | Vsse | Vsuxei | Vsoxei
                    | Vsm => memory::exec(self, inst, ctx),
                    Vsaddu | Vsadd | Vssubu | Vssub | Vaaddu | Vaadd | Vasubu | Vasub | Vsmul
                    | Vssrl | Vssra | Vnclipu | Vnclip => fixed::exec(self, inst, ctx),
                    Vredsum | Vredand | Vredor | Vredxor | Vredminu | Vredmin | Vredmaxu
                    | Vredmax | Vwredsumu | Vwredsum | Vfredusum | Vfredosum | Vfredmin
                    | Vfredmax | Vfwredusum | Vfwredosum => reduce::exec(self, inst, ctx),
                    Vrgather | Vrgatherei16 | Vslideup | Vslidedown | Vslide1up | Vslide1down
                    | Vfslide1up | Vfslide1down | Vcompress | VmvXS | VmvSX | VfmvFS | VfmvSF => {
                        permute::exec(self, inst, ctx)
                    }
                    Vmandn | Vmand | Vmor | Vmxor | Vmorn | Vmnand | Vmnor | Vmxnor | Vcpop
                    | Vfirst | Vmsbf | Vmsof | Vmsif | Viota | Vid => mask::exec(self, inst, ctx),
                    op if float::is_float(op) => float::exec(self, inst, ctx),
                    _ => integer::exec(self, inst, ctx),
                }
            }
        };
        if r.is_ok() {
            self.vstart = 0;
        }
        r
    }

    // ---- helpers shared by the semantic modules ----

    /// Byte offset of register `v`.
    #[inline]
    pub(crate) fn off(&self, v: u8) -> usize {
        v as usize * self.vlenb
    }

    /// Bit `i` of mask register `v`.
    #[inline]
    pub(crate) fn mask_bit(&self, v: u8, i: usize) -> bool {
        (self.regs[v as usize * self.vlenb + (i >> 3)] >> (i & 7)) & 1 != 0
    }

    /// Sets bit `i` of mask register `v`.
    #[inline]
    pub(crate) fn set_mask_bit(&mut self, v: u8, i: usize, b: bool) {
        let byte = &mut self.regs[v as usize * self.vlenb + (i >> 3)];
        let m = 1u8 << (i & 7);
        if b {
            *byte |= m;
        } else {
            *byte &= !m;
        }
    }

    /// Whether element `i` is active under the instruction's mask.
    #[inline]
    pub(crate) fn active(&self, vm: bool, i: usize) -> bool {
        vm || self.mask_bit(0, i)
    }

    /// The element range to process: vstart..vl.
    #[inline]
    pub(crate) fn body(&self) -> std::ops::Range<usize> {
        self.vstart as usize..self.vl as usize
    }

    /// SEW in bits.
    #[inline]
    pub(crate) fn sew(&self) -> u32 {
        self.sew
    }

    /// LMUL in eighths.
    #[inline]
    pub(crate) fn lmul8(&self) -> u32 {
        self.lmul8
    }

    /// The rounding mode for FP instructions: frm, refusing the reserved values.
    pub(crate) fn frm(&self, ctx: &impl HartContext) -> Result<u8, Trap> {
        let rm = ctx.frm();
        if rm > 4 {
            Err(Trap::illegal(format!(
                "frm holds reserved rounding mode {rm}"
            )))
        } else {
            Ok(rm)
        }
    }

    /// [`Self::check_legal`] through the cache (only legal results with vstart = 0 are cached).
    #[inline]
    fn check_legal_cached(&mut self, inst: &VInst) -> Result<(), Trap> {
        let key = inst.key();
        let slot = (key ^ (key >> 17) ^ (key >> 40) ^ self.vtype.rotate_left(7)) as usize
            & (LEGAL_CACHE - 1);
        if self.vstart == 0 && self.legal_cache[slot] == (key, self.vtype) {
            return Ok(());
        }
        self.check_legal(inst)?;
        if self.vstart == 0 {
            self.legal_cache[slot] = (key, self.vtype);
        }
        Ok(())
    }

    /// Checks everything about an instruction that depends on vtype and vstart.
    fn check_legal(&self, inst: &VInst) -> Result<(), Trap> {
        use VOp::*;
        if self.vill() {
            return Err(Trap::illegal(format!(
                "`{inst}` executed with vtype.vill set"
            )));
        }
        let sh: Shape = inst.shape();
        let (sew, lmul8) = (self.sew, self.lmul8);
        let bad = |why: String| Err(Trap::illegal(format!("`{inst}`: {why}")));
        // EEW limits.
        let widening = matches!(sh.vd, Group::Wide) || matches!(sh.vs2, Group::Wide);
        if widening && sew == 64 {
            return bad("widening/narrowing at SEW=64 (EEW 128 is reserved)".into());
        }
        if matches!(inst.op, Vwredsum | Vwredsumu | Vfwredusum | Vfwredosum) && sew == 64 {
            return bad("widening reduction at SEW=64".into());
        }
        if let Group::Frac(n) = sh.vs2 {
            if sew / (n as u32) < 8 || lmul8 < n as u32 {
                return bad(format!(
                    "source EEW {} / EMUL {}/8 out of range",
                    sew / n as u32,
                    lmul8 as f64 / n as f64
                ));
            }
        }
        // Group sizes and alignment.
        let mut groups: [(u8, u32, Group); 3] = [(0, 0, Group::No); 3];
        for (k, (reg, g)) in [(inst.vd, sh.vd), (inst.vs2, sh.vs2), (inst.vs1, sh.vs1)]
            .into_iter()
            .enumerate()
        {
            let Some(emul8) = inst.group_emul8(g, sew, lmul8) else {
                continue;
            };
            if !(1..=64).contains(&emul8) {
                return bad(format!("EMUL {}/8 out of range", emul8));
            }
            let nf = if matches!(g, Group::Mem | Group::IndexedData) {
                inst.nf().max(1)
            } else {
                1
            };
            let regs = (emul8 / 8).max(1);
            if regs * nf > 8 && nf > 1 {
                return bad(format!(
                    "segment group of {nf} fields x {regs} registers > 8"
                ));
            }
            if !(reg as u32).is_multiple_of(regs) {
                return bad(format!(
                    "v{reg} is not aligned to a group of {regs} registers"
                ));
            }
            if reg as u32 + regs * nf > 32 {
                return bad(format!("register group v{reg} runs past v31"));
            }
            groups[k] = (reg, regs, g);
        }
        // A masked instruction's destination group must not include v0 unless it is a mask
        // or a scalar result.
        if !inst.vm
            && sh.vd_written
            && inst.vd == 0
            && matches!(
                sh.vd,
                Group::Single | Group::Wide | Group::Mem | Group::IndexedData
            )
        {
            return bad("masked destination group overlaps the mask register v0".into());
        }
        if matches!(inst.op, Vadc | Vsbc | Vmerge | Vfmerge) && inst.vd == 0 {
            return bad("destination v0 overlaps the carry/selector mask".into());
        }
        // Source/destination overlap rules.
        let (d, dn, dg) = groups[0];
        if sh.vd_written && dn > 0 {
            let dst_eew = match dg {
                Group::Wide => 2 * sew,
                Group::Mask => 1,
                Group::Mem => inst.mem_eew(),
                _ => sew,
            };
            for &(s, sn, sg) in &groups[1..] {
                if sn == 0 || s + sn as u8 <= d || d + dn as u8 <= s {
                    continue;
                }
                let no_overlap_op = matches!(
                    inst.op,
                    Vslideup
                        | Vslide1up
                        | Vfslide1up
                        | Vrgather
                        | Vrgatherei16
                        | Vcompress
                        | Viota
                        | Vmsbf
                        | Vmsif
                        | Vmsof
                );
                if no_overlap_op {
                    return bad("destination overlaps a source group".into());
                }
                let src_eew = match sg {
                    Group::Wide => 2 * sew,
                    Group::Mask => 1,
                    Group::Frac(n) => sew / n as u32,
                    Group::Index => inst.mem_eew(),
                    Group::Ei16 => 16,
                    Group::One => continue,
                    Group::Regs(_) => continue,
                    _ => sew,
                };
                if matches!(dg, Group::One) {
                    continue;
                }
                let src_emul8 = inst.group_emul8(sg, sew, lmul8).unwrap_or(8);
                let ok = if dst_eew == src_eew {
                    true
                } else if dst_eew < src_eew {
                    // Only the lowest-numbered part of the source may be overwritten.
                    d == s
                } else {
                    // Only the highest-numbered part of the destination, and only when the
                    // source EMUL is at least 1.
                    src_emul8 >= 8 && s + sn as u8 == d + dn as u8
                };
                if !ok {
                    return bad(format!(
                        "destination group v{d} (EEW {dst_eew}) overlaps source group v{s} (EEW {src_eew})"
                    ));
                }
            }
        }
        // Instructions that require vstart = 0.
        if self.vstart != 0
            && matches!(
                inst.op,
                Vredsum
                    | Vredand
                    | Vredor
                    | Vredxor
                    | Vredminu
                    | Vredmin
                    | Vredmaxu
                    | Vredmax
                    | Vwredsumu
                    | Vwredsum
                    | Vfredusum
                    | Vfredosum
                    | Vfredmin
                    | Vfredmax
                    | Vfwredusum
                    | Vfwredosum
                    | Vcompress
                    | Vcpop
                    | Vfirst
                    | Vmsbf
                    | Vmsif
                    | Vmsof
                    | Viota
            )
        {
            return bad(format!("vstart = {} must be 0", self.vstart));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::testctx::*;
    use super::*;

    #[test]
    fn csrs_read_and_write() {
        let mut vu = VectorUnit::new(256);
        assert_eq!(vu.csr_read(csr::VLENB), Some(32));
        assert_eq!(vu.csr_read(csr::VTYPE), Some(VILL));
        assert!(vu.csr_write(csr::VCSR, 0b101));
        assert_eq!(vu.csr_read(csr::VXRM), Some(2));
        assert_eq!(vu.csr_read(csr::VXSAT), Some(1));
        assert!(!vu.csr_write(csr::VL, 3));
        assert_eq!(vu.csr_read(0x300), None);
    }

    #[test]
    fn vill_makes_vector_ops_illegal() {
        let mut vu = VectorUnit::new(128);
        let mut cx = test_ctx();
        let e = run(&mut vu, &mut cx, "vadd.vv v1, v2, v3");
        assert!(matches!(e, Err(Trap::IllegalInstruction { .. })));
        // Whole-register moves do not depend on vtype.
        assert!(run(&mut vu, &mut cx, "vmv1r.v v1, v2").is_ok());
    }

    #[test]
    fn misaligned_group_and_v0_overlap_are_illegal() {
        let mut vu = VectorUnit::new(128);
        let mut cx = test_ctx();
        setvl(&mut vu, &mut cx, 8, "e32, m2");
        assert!(run(&mut vu, &mut cx, "vadd.vv v1, v2, v4").is_err());
        assert!(run(&mut vu, &mut cx, "vadd.vv v0, v2, v4, v0.t").is_err());
        assert!(run(&mut vu, &mut cx, "vadd.vv v2, v2, v4, v0.t").is_ok());
        // Widening: destination may overlap only the top half, from an LMUL>=1 source.
        setvl(&mut vu, &mut cx, 4, "e16, m1");
        assert!(run(&mut vu, &mut cx, "vwadd.vv v2, v3, v8").is_ok());
        assert!(run(&mut vu, &mut cx, "vwadd.vv v2, v2, v8").is_err());
        assert!(run(&mut vu, &mut cx, "vwadd.vv v2, v8, v8").is_ok());
        setvl(&mut vu, &mut cx, 4, "e64, m1");
        assert!(run(&mut vu, &mut cx, "vwadd.vv v2, v4, v8").is_err());
    }

    #[test]
    fn vstart_skips_leading_elements_and_is_cleared() {
        let mut vu = VectorUnit::new(128);
        let mut cx = test_ctx();
        setvl(&mut vu, &mut cx, 4, "e32, m1");
        put(&mut vu, 1, 32, &[9, 9, 9, 9]);
        put(&mut vu, 2, 32, &[1, 2, 3, 4]);
        vu.csr_write(csr::VSTART, 2);
        run(&mut vu, &mut cx, "vadd.vv v1, v2, v2").unwrap();
        assert_eq!(get(&vu, 1, 32, 4), vec![9, 9, 6, 8]);
        assert_eq!(vu.vstart(), 0);
        // vstart >= vl: nothing is written.
        vu.csr_write(csr::VSTART, 5);
        run(&mut vu, &mut cx, "vmv.v.i v1, 0").unwrap();
        assert_eq!(get(&vu, 1, 32, 4), vec![9, 9, 6, 8]);
        // Reductions require vstart = 0.
        vu.csr_write(csr::VSTART, 1);
        assert!(run(&mut vu, &mut cx, "vredsum.vs v3, v2, v2").is_err());
    }

    #[test]
    fn half_precision_vector_fp_and_rtz_conversions() {
        let mut vu = VectorUnit::new(128);
        let mut cx = test_ctx();
        setvl(&mut vu, &mut cx, 4, "e16, m1");
        let h = |x: f32| half::f16::from_f32(x).to_bits() as u64;
        put(&mut vu, 2, 16, &[h(1.5), h(-2.25), h(65504.0), h(0.1)]);
        put(&mut vu, 3, 16, &[h(0.25), h(1.0), h(65504.0), h(0.2)]);
        run(&mut vu, &mut cx, "vfadd.vv v1, v2, v3").unwrap();
        let sum =
            |a: f32, b: f32| h(half::f16::from_f32(a).to_f32() + half::f16::from_f32(b).to_f32());
        assert_eq!(
            get(&vu, 1, 16, 4),
            vec![h(1.75), h(-1.25), 0x7c00, sum(0.1, 0.2)]
        );
        assert_eq!(cx.fflags, 4 | 1); // overflow + inexact
                                      // f16 -> i32 with rtz, f32 -> i16 with rtz
        run(&mut vu, &mut cx, "vfwcvt.rtz.x.f.v v4, v2").unwrap();
        assert_eq!(
            get(&vu, 4, 32, 4),
            vec![1, (-2i64 as u64) & 0xffff_ffff, 65504, 0]
        );
        setvl(&mut vu, &mut cx, 4, "e16, mf2");
        put(
            &mut vu,
            6,
            32,
            &[
                (-7.9f32).to_bits() as u64,
                3.99f32.to_bits() as u64,
                1e9f32.to_bits() as u64,
                0,
            ],
        );
        cx.fflags = 0;
        run(&mut vu, &mut cx, "vfncvt.rtz.x.f.w v5, v6").unwrap();
        assert_eq!(get(&vu, 5, 16, 3), vec![0xfff9, 3, 0x7fff]);
        assert_eq!(cx.fflags, 16 | 1);
        setvl(&mut vu, &mut cx, 2, "e64, m1");
        put(&mut vu, 7, 64, &[(-1.5f64).to_bits(), 1.0e20f64.to_bits()]);
        cx.fflags = 0;
        run(&mut vu, &mut cx, "vfcvt.rtz.xu.f.v v8, v7").unwrap();
        assert_eq!(get(&vu, 8, 64, 2), vec![0, 1.0e20 as u64]);
        assert_eq!(cx.fflags, 16);
    }

    #[test]
    fn segment_store_interleaves() {
        let mut vu = VectorUnit::new(128);
        let mut cx = test_ctx();
        setvl(&mut vu, &mut cx, 3, "e16, m1");
        put(&mut vu, 4, 16, &[1, 2, 3]);
        put(&mut vu, 5, 16, &[10, 20, 30]);
        cx.x[10] = MEM_BASE;
        run(&mut vu, &mut cx, "vsseg2e16.v v4, (a0)").unwrap();
        assert_eq!(
            cx.bytes(MEM_BASE, 12),
            [1, 0, 10, 0, 2, 0, 20, 0, 3, 0, 30, 0]
        );
        assert_eq!(cx.accesses.len(), 1);
    }
}
