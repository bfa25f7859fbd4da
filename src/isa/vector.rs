//! Decode and disassembly of the V extension (RVV 1.0).
//!
//! [`decode`] turns one 32-bit word of major opcode OP-V (0x57), LOAD-FP (0x07) or STORE-FP
//! (0x27, vector widths only) into a compact [`VInst`] (8 bytes, `Copy`). Its `Display` prints
//! the instruction the way `llvm-objdump-19 -d --mattr=+v` does (aliases such as `vnot.v`,
//! `vmmv.m`, `vl1r.v` included, immediates in hex), so traces and error messages read like the
//! toolchain's listings. [`VInst::class`] and [`VInst::vregs`] describe the instruction for the
//! timing model: its functional-unit class and the register groups it reads and writes.

use std::fmt;

macro_rules! vops {
    ($($(#[$doc:meta])* $v:ident = $n:literal),* $(,)?) => {
        /// The operation of a vector instruction, independent of its operand form.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(u8)]
        #[allow(missing_docs)]
        pub enum VOp { $($(#[$doc])* $v),* }
        impl VOp {
            /// The mnemonic without its operand-form suffix (e.g. `vadd`, `vfcvt.x.f`).
            pub fn name(self) -> &'static str {
                match self { $(VOp::$v => $n),* }
            }
        }
    };
}

vops! {
    Vsetvli = "vsetvli", Vsetivli = "vsetivli", Vsetvl = "vsetvl",
    // Memory. The element width and field count live in `VInst::aux`.
    Vle = "vle", Vlse = "vlse", Vluxei = "vluxei", Vloxei = "vloxei", Vleff = "vleff",
    Vlr = "vlr", Vlm = "vlm.v",
    Vse = "vse", Vsse = "vsse", Vsuxei = "vsuxei", Vsoxei = "vsoxei", Vsr = "vsr", Vsm = "vsm.v",
    // OPI
    Vadd = "vadd", Vsub = "vsub", Vrsub = "vrsub", Vminu = "vminu", Vmin = "vmin",
    Vmaxu = "vmaxu", Vmax = "vmax", Vand = "vand", Vor = "vor", Vxor = "vxor",
    Vrgather = "vrgather", Vrgatherei16 = "vrgatherei16", Vslideup = "vslideup",
    Vslidedown = "vslidedown", Vadc = "vadc", Vmadc = "vmadc", Vsbc = "vsbc", Vmsbc = "vmsbc",
    Vmerge = "vmerge", Vmv = "vmv", Vmseq = "vmseq", Vmsne = "vmsne", Vmsltu = "vmsltu",
    Vmslt = "vmslt", Vmsleu = "vmsleu", Vmsle = "vmsle", Vmsgtu = "vmsgtu", Vmsgt = "vmsgt",
    Vsaddu = "vsaddu", Vsadd = "vsadd", Vssubu = "vssubu", Vssub = "vssub", Vsll = "vsll",
    Vsmul = "vsmul", VmvNr = "vmvNr", Vsrl = "vsrl", Vsra = "vsra", Vssrl = "vssrl",
    Vssra = "vssra", Vnsrl = "vnsrl", Vnsra = "vnsra", Vnclipu = "vnclipu", Vnclip = "vnclip",
    Vwredsumu = "vwredsumu", Vwredsum = "vwredsum",
    // OPM
    Vredsum = "vredsum", Vredand = "vredand", Vredor = "vredor", Vredxor = "vredxor",
    Vredminu = "vredminu", Vredmin = "vredmin", Vredmaxu = "vredmaxu", Vredmax = "vredmax",
    Vaaddu = "vaaddu", Vaadd = "vaadd", Vasubu = "vasubu", Vasub = "vasub",
    Vslide1up = "vslide1up", Vslide1down = "vslide1down", VmvXS = "vmv.x.s", Vcpop = "vcpop.m",
    Vfirst = "vfirst.m", VmvSX = "vmv.s.x", Vzext8 = "vzext.vf8", Vsext8 = "vsext.vf8",
    Vzext4 = "vzext.vf4", Vsext4 = "vsext.vf4", Vzext2 = "vzext.vf2", Vsext2 = "vsext.vf2",
    Vmsbf = "vmsbf.m", Vmsof = "vmsof.m", Vmsif = "vmsif.m", Viota = "viota.m", Vid = "vid.v",
    Vcompress = "vcompress", Vmandn = "vmandn", Vmand = "vmand", Vmor = "vmor",
    Vmxor = "vmxor", Vmorn = "vmorn", Vmnand = "vmnand", Vmnor = "vmnor", Vmxnor = "vmxnor",
    Vdivu = "vdivu", Vdiv = "vdiv", Vremu = "vremu", Vrem = "vrem", Vmulhu = "vmulhu",
    Vmul = "vmul", Vmulhsu = "vmulhsu", Vmulh = "vmulh", Vmadd = "vmadd", Vnmsub = "vnmsub",
    Vmacc = "vmacc", Vnmsac = "vnmsac", Vwaddu = "vwaddu", Vwadd = "vwadd", Vwsubu = "vwsubu",
    Vwsub = "vwsub", Vwmulu = "vwmulu", Vwmulsu = "vwmulsu", Vwmul = "vwmul",
    Vwmaccu = "vwmaccu", Vwmacc = "vwmacc", Vwmaccus = "vwmaccus", Vwmaccsu = "vwmaccsu",
    // OPF
    Vfadd = "vfadd", Vfredusum = "vfredusum", Vfsub = "vfsub", Vfredosum = "vfredosum",
    Vfmin = "vfmin", Vfredmin = "vfredmin", Vfmax = "vfmax", Vfredmax = "vfredmax",
    Vfsgnj = "vfsgnj", Vfsgnjn = "vfsgnjn", Vfsgnjx = "vfsgnjx", Vfslide1up = "vfslide1up",
    Vfslide1down = "vfslide1down", VfmvFS = "vfmv.f.s", VfmvSF = "vfmv.s.f",
    VfcvtXuF = "vfcvt.xu.f.v", VfcvtXF = "vfcvt.x.f.v", VfcvtFXu = "vfcvt.f.xu.v",
    VfcvtFX = "vfcvt.f.x.v", VfcvtRtzXuF = "vfcvt.rtz.xu.f.v", VfcvtRtzXF = "vfcvt.rtz.x.f.v",
    VfwcvtXuF = "vfwcvt.xu.f.v", VfwcvtXF = "vfwcvt.x.f.v", VfwcvtFXu = "vfwcvt.f.xu.v",
    VfwcvtFX = "vfwcvt.f.x.v", VfwcvtFF = "vfwcvt.f.f.v", VfwcvtRtzXuF = "vfwcvt.rtz.xu.f.v",
    VfwcvtRtzXF = "vfwcvt.rtz.x.f.v",
    VfncvtXuF = "vfncvt.xu.f.w", VfncvtXF = "vfncvt.x.f.w", VfncvtFXu = "vfncvt.f.xu.w",
    VfncvtFX = "vfncvt.f.x.w", VfncvtFF = "vfncvt.f.f.w", VfncvtRodFF = "vfncvt.rod.f.f.w",
    VfncvtRtzXuF = "vfncvt.rtz.xu.f.w", VfncvtRtzXF = "vfncvt.rtz.x.f.w",
    Vfsqrt = "vfsqrt.v", Vfrsqrt7 = "vfrsqrt7.v", Vfrec7 = "vfrec7.v", Vfclass = "vfclass.v",
    Vfmerge = "vfmerge", Vfmv = "vfmv", Vmfeq = "vmfeq", Vmfle = "vmfle", Vmflt = "vmflt",
    Vmfne = "vmfne", Vmfgt = "vmfgt", Vmfge = "vmfge", Vfdiv = "vfdiv", Vfrdiv = "vfrdiv",
    Vfmul = "vfmul", Vfrsub = "vfrsub", Vfmadd = "vfmadd", Vfnmadd = "vfnmadd",
    Vfmsub = "vfmsub", Vfnmsub = "vfnmsub", Vfmacc = "vfmacc", Vfnmacc = "vfnmacc",
    Vfmsac = "vfmsac", Vfnmsac = "vfnmsac", Vfwadd = "vfwadd", Vfwredusum = "vfwredusum",
    Vfwsub = "vfwsub", Vfwredosum = "vfwredosum", Vfwmul = "vfwmul", Vfwmacc = "vfwmacc",
    Vfwnmacc = "vfwnmacc", Vfwmsac = "vfwmsac", Vfwnmsac = "vfwnmsac",
}

/// The operand form: where the second source comes from and the mnemonic suffix it gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Form {
    /// `.vv`: vector-vector.
    VV,
    /// `.vx`: vector-scalar (x register).
    VX,
    /// `.vi`: vector-immediate (5-bit, in `vs1`).
    VI,
    /// `.vf`: vector-scalar (f register).
    VF,
    /// `.wv`: wide vs2, vector vs1.
    WV,
    /// `.wx`: wide vs2, x register.
    WX,
    /// `.wi`: wide vs2, immediate.
    WI,
    /// `.wf`: wide vs2, f register.
    WF,
    /// `.vvm`: vector-vector with v0 as carry or selector.
    VVM,
    /// `.vxm`
    VXM,
    /// `.vim`
    VIM,
    /// `.vfm`
    VFM,
    /// `.mm`: mask-mask.
    MM,
    /// `.vs`: reduction (scalar in element 0 of vs1).
    VS,
    /// `.vm`: vcompress.
    VM,
    /// `.v.v`: vmv.v.v.
    VdV,
    /// `.v.x`
    VdX,
    /// `.v.i`
    VdI,
    /// `.v.f`
    VdF,
    /// No suffix (the name is complete, or a memory/config instruction).
    None,
}

impl Form {
    fn suffix(self) -> &'static str {
        match self {
            Form::VV => ".vv",
            Form::VX => ".vx",
            Form::VI => ".vi",
            Form::VF => ".vf",
            Form::WV => ".wv",
            Form::WX => ".wx",
            Form::WI => ".wi",
            Form::WF => ".wf",
            Form::VVM => ".vvm",
            Form::VXM => ".vxm",
            Form::VIM => ".vim",
            Form::VFM => ".vfm",
            Form::MM => ".mm",
            Form::VS => ".vs",
            Form::VM => ".vm",
            Form::VdV => ".v.v",
            Form::VdX => ".v.x",
            Form::VdI => ".v.i",
            Form::VdF => ".v.f",
            Form::None => "",
        }
    }

    /// The second source is an x register.
    pub fn is_x(self) -> bool {
        matches!(self, Form::VX | Form::WX | Form::VXM | Form::VdX)
    }
    /// The second source is an f register.
    pub fn is_f(self) -> bool {
        matches!(self, Form::VF | Form::WF | Form::VFM | Form::VdF)
    }
    /// The second source is the 5-bit immediate.
    pub fn is_i(self) -> bool {
        matches!(self, Form::VI | Form::WI | Form::VIM | Form::VdI)
    }
    /// vs2 is a wide (2*SEW) operand.
    pub fn is_wide_vs2(self) -> bool {
        matches!(self, Form::WV | Form::WX | Form::WI | Form::WF)
    }
}

/// One decoded vector instruction (8 bytes).
///
/// Field use by instruction kind: `vd` is vd / rd / fd / vs3 (stores); `vs1` is vs1 / rs1 /
/// fs1 / the raw 5-bit immediate; `vs2` is vs2 / rs2 (strides, vsetvl) / the vector index
/// register. `vm` is true when the instruction is unmasked. `aux` holds vtypei for
/// vsetvli/vsetivli, and for memory instructions the element width in bits (low 8 bits as
/// log2: 3..=6) and the field count `nf` (bits 8..11, 1..=8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VInst {
    /// The operation.
    pub op: VOp,
    /// The operand form.
    pub form: Form,
    /// vd / rd / fd / vs3.
    pub vd: u8,
    /// vs1 / rs1 / fs1 / raw 5-bit immediate.
    pub vs1: u8,
    /// vs2 / rs2.
    pub vs2: u8,
    /// Unmasked (`vm` bit set).
    pub vm: bool,
    /// vtypei, or memory EEW/nf (see the type docs).
    pub aux: u16,
}

impl VInst {
    /// All fields packed into one `u64` (a unique key for caches).
    pub fn key(&self) -> u64 {
        (self.op as u64)
            | (self.form as u64) << 8
            | (self.vd as u64) << 16
            | (self.vs1 as u64) << 24
            | (self.vs2 as u64) << 32
            | (self.vm as u64) << 40
            | (self.aux as u64) << 48
    }

    /// The 5-bit immediate sign-extended (for `.vi` forms that take a signed immediate).
    pub fn simm5(&self) -> i64 {
        ((self.vs1 as i64) << 59) >> 59
    }
    /// The 5-bit immediate zero-extended.
    pub fn uimm5(&self) -> u64 {
        self.vs1 as u64
    }
    /// For memory instructions: the element (or index) width in bits.
    pub fn mem_eew(&self) -> u32 {
        1 << (self.aux & 0xff)
    }
    /// For memory instructions: the number of fields (segments, or registers for vlNr/vsNr).
    pub fn nf(&self) -> u32 {
        ((self.aux >> 8) & 0xf) as u32
    }
    /// Whether this `.vi` immediate is unsigned (shifts, slides, gathers, clips).
    pub fn imm_is_unsigned(&self) -> bool {
        use VOp::*;
        matches!(
            self.op,
            Vsll | Vsrl
                | Vsra
                | Vssrl
                | Vssra
                | Vnsrl
                | Vnsra
                | Vnclipu
                | Vnclip
                | Vrgather
                | Vslideup
                | Vslidedown
        )
    }
}

const XREG: [&str; 32] = [
    "zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0", "a1", "a2", "a3", "a4",
    "a5", "a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4",
    "t5", "t6",
];
const FREG: [&str; 32] = [
    "ft0", "ft1", "ft2", "ft3", "ft4", "ft5", "ft6", "ft7", "fs0", "fs1", "fa0", "fa1", "fa2",
    "fa3", "fa4", "fa5", "fa6", "fa7", "fs2", "fs3", "fs4", "fs5", "fs6", "fs7", "fs8", "fs9",
    "fs10", "fs11", "ft8", "ft9", "ft10", "ft11",
];

/// ABI name of integer register `r`.
pub fn xreg_name(r: u8) -> &'static str {
    XREG[(r & 31) as usize]
}
/// ABI name of FP register `r`.
pub fn freg_name(r: u8) -> &'static str {
    FREG[(r & 31) as usize]
}

fn hex_imm(v: i64) -> String {
    if v < 0 {
        format!("-{:#x}", v.unsigned_abs())
    } else {
        format!("{:#x}", v)
    }
}

/// Formats a vtype immediate as llvm does: `e32, m2, ta, ma`, or hex when reserved.
pub fn vtype_text(vtypei: u64) -> String {
    let vlmul = vtypei & 7;
    let vsew = (vtypei >> 3) & 7;
    if vtypei >> 8 != 0 || vsew > 3 || vlmul == 4 {
        return format!("{:#x}", vtypei);
    }
    let lmul = ["m1", "m2", "m4", "m8", "", "mf8", "mf4", "mf2"][vlmul as usize];
    let ta = if vtypei & 0x40 != 0 { "ta" } else { "tu" };
    let ma = if vtypei & 0x80 != 0 { "ma" } else { "mu" };
    format!("e{}, {}, {}, {}", 8 << vsew, lmul, ta, ma)
}

impl fmt::Display for VInst {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use VOp::*;
        let mask = if self.vm { "" } else { ", v0.t" };
        let (vd, vs1, vs2) = (self.vd, self.vs1, self.vs2);
        let src1 = || -> String {
            if self.form.is_x() {
                xreg_name(vs1).to_string()
            } else if self.form.is_f() {
                freg_name(vs1).to_string()
            } else if self.form.is_i() {
                if self.imm_is_unsigned() {
                    hex_imm(self.uimm5() as i64)
                } else {
                    hex_imm(self.simm5())
                }
            } else {
                format!("v{vs1}")
            }
        };
        let mn = format!("{}{}", self.op.name(), self.form.suffix());
        match self.op {
            Vsetvli => write!(
                f,
                "vsetvli\t{}, {}, {}",
                xreg_name(vd),
                xreg_name(vs1),
                vtype_text(self.aux as u64)
            ),
            Vsetivli => write!(
                f,
                "vsetivli\t{}, {}, {}",
                xreg_name(vd),
                hex_imm(vs1 as i64),
                vtype_text(self.aux as u64)
            ),
            Vsetvl => write!(
                f,
                "vsetvl\t{}, {}, {}",
                xreg_name(vd),
                xreg_name(vs1),
                xreg_name(vs2)
            ),
            Vle | Vlse | Vluxei | Vloxei | Vleff | Vse | Vsse | Vsuxei | Vsoxei => {
                let eew = self.mem_eew();
                let nf = self.nf();
                let (l_or_s, rest) = self.op.name().split_at(2);
                let seg = if nf > 1 {
                    format!("seg{nf}")
                } else {
                    String::new()
                };
                let (kind, ei) = match rest {
                    "e" => ("", "e"),
                    "se" => ("s", "e"),
                    "uxei" => ("ux", "ei"),
                    "oxei" => ("ox", "ei"),
                    _ => ("", "e"), // "eff"
                };
                let ff = if self.op == Vleff { "ff" } else { "" };
                write!(
                    f,
                    "{l_or_s}{kind}{seg}{ei}{eew}{ff}.v\tv{vd}, ({})",
                    xreg_name(vs1)
                )?;
                match self.op {
                    Vlse | Vsse => write!(f, ", {}", xreg_name(vs2))?,
                    Vluxei | Vloxei | Vsuxei | Vsoxei => write!(f, ", v{vs2}")?,
                    _ => {}
                }
                write!(f, "{mask}")
            }
            Vlr => {
                let nf = self.nf();
                let eew = self.mem_eew();
                if eew == 8 {
                    write!(f, "vl{nf}r.v\tv{vd}, ({})", xreg_name(vs1))
                } else {
                    write!(f, "vl{nf}re{eew}.v\tv{vd}, ({})", xreg_name(vs1))
                }
            }
            Vsr => write!(f, "vs{}r.v\tv{vd}, ({})", self.nf(), xreg_name(vs1)),
            Vlm | Vsm => write!(f, "{}\tv{vd}, ({})", self.op.name(), xreg_name(vs1)),
            // Aliases llvm-objdump prints.
            Vxor if self.form == Form::VI && self.simm5() == -1 => {
                write!(f, "vnot.v\tv{vd}, v{vs2}{mask}")
            }
            Vrsub if self.form == Form::VX && vs1 == 0 => {
                write!(f, "vneg.v\tv{vd}, v{vs2}{mask}")
            }
            Vfsgnjn if self.form == Form::VV && vs1 == vs2 => {
                write!(f, "vfneg.v\tv{vd}, v{vs2}{mask}")
            }
            Vfsgnjx if self.form == Form::VV && vs1 == vs2 => {
                write!(f, "vfabs.v\tv{vd}, v{vs2}{mask}")
            }
            Vwadd if self.form == Form::VX && vs1 == 0 => {
                write!(f, "vwcvt.x.x.v\tv{vd}, v{vs2}{mask}")
            }
            Vwaddu if self.form == Form::VX && vs1 == 0 => {
                write!(f, "vwcvtu.x.x.v\tv{vd}, v{vs2}{mask}")
            }
            Vnsrl if self.form == Form::WX && vs1 == 0 => {
                write!(f, "vncvt.x.x.w\tv{vd}, v{vs2}{mask}")
            }
            Vmand if vs1 == vs2 => write!(f, "vmmv.m\tv{vd}, v{vs2}"),
            Vmnand if vs1 == vs2 => write!(f, "vmnot.m\tv{vd}, v{vs2}"),
            Vmxor if vs1 == vs2 && vd == vs1 => write!(f, "vmclr.m\tv{vd}"),
            Vmxnor if vs1 == vs2 && vd == vs1 => write!(f, "vmset.m\tv{vd}"),
            Vmacc | Vnmsac | Vmadd | Vnmsub | Vwmaccu | Vwmacc | Vwmaccus | Vwmaccsu | Vfmacc
            | Vfnmacc | Vfmsac | Vfnmsac | Vfmadd | Vfnmadd | Vfmsub | Vfnmsub | Vfwmacc
            | Vfwnmacc | Vfwmsac | Vfwnmsac => {
                write!(f, "{mn}\tv{vd}, {}, v{vs2}{mask}", src1())
            }
            Vadc | Vsbc | Vmerge | Vfmerge => write!(f, "{mn}\tv{vd}, v{vs2}, {}, v0", src1()),
            Vmadc | Vmsbc => {
                if self.vm {
                    write!(f, "{mn}\tv{vd}, v{vs2}, {}", src1())
                } else {
                    write!(f, "{mn}\tv{vd}, v{vs2}, {}, v0", src1())
                }
            }
            Vmv | Vfmv => write!(f, "{mn}\tv{vd}, {}", src1()),
            VmvNr => write!(f, "vmv{}r.v\tv{vd}, v{vs2}", self.vs1 + 1),
            VmvXS => write!(f, "vmv.x.s\t{}, v{vs2}", xreg_name(vd)),
            Vcpop | Vfirst => write!(f, "{mn}\t{}, v{vs2}{mask}", xreg_name(vd)),
            VmvSX => write!(f, "vmv.s.x\tv{vd}, {}", xreg_name(vs1)),
            VfmvFS => write!(f, "vfmv.f.s\t{}, v{vs2}", freg_name(vd)),
            VfmvSF => write!(f, "vfmv.s.f\tv{vd}, {}", freg_name(vs1)),
            Vid => write!(f, "vid.v\tv{vd}{mask}"),
            Vzext8 | Vsext8 | Vzext4 | Vsext4 | Vzext2 | Vsext2 | Vmsbf | Vmsof | Vmsif | Viota
            | VfcvtXuF | VfcvtXF | VfcvtFXu | VfcvtFX | VfcvtRtzXuF | VfcvtRtzXF | VfwcvtXuF
            | VfwcvtXF | VfwcvtFXu | VfwcvtFX | VfwcvtFF | VfwcvtRtzXuF | VfwcvtRtzXF
            | VfncvtXuF | VfncvtXF | VfncvtFXu | VfncvtFX | VfncvtFF | VfncvtRodFF
            | VfncvtRtzXuF | VfncvtRtzXF | Vfsqrt | Vfrsqrt7 | Vfrec7 | Vfclass => {
                write!(f, "{mn}\tv{vd}, v{vs2}{mask}")
            }
            _ => write!(f, "{mn}\tv{vd}, v{vs2}, {}{mask}", src1()),
        }
    }
}

/// Functional-unit class of a vector instruction, for the timing model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VClass {
    /// vsetvli / vsetivli / vsetvl.
    Config,
    /// Vector loads.
    Load,
    /// Vector stores.
    Store,
    /// Integer add/logic/shift/compare/min/max/merge and fixed-point add/shift/clip.
    Alu,
    /// Integer multiply and multiply-add, vsmul.
    Mul,
    /// Integer divide and remainder.
    Div,
    /// FP add/mul/fma/min/max/sign-injection/compare/convert.
    Fp,
    /// FP divide and square root.
    FDiv,
    /// Reductions (integer and FP).
    Reduction,
    /// Slides, gathers, compress, scalar moves.
    Permute,
    /// Mask-register logic and mask-producing scans (vcpop, vfirst, vmsbf, viota, vid).
    Mask,
    /// Whole-register moves and vmv.v.* / vfmv.v.f splats.
    Move,
}

/// How a vector operand's register group is sized relative to LMUL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// Not a vector-register operand.
    No,
    /// EMUL = LMUL (EEW = SEW).
    Single,
    /// EMUL = 2*LMUL (EEW = 2*SEW).
    Wide,
    /// A mask: one register.
    Mask,
    /// One register (a scalar in element 0: reductions' vs1 and vd, vmv.s.x).
    One,
    /// EMUL = LMUL / n (vzext/vsext sources).
    Frac(u8),
    /// A fixed number of whole registers (vmvNr, vlNr/vsNr).
    Regs(u8),
    /// EMUL = LMUL * eew / SEW, times `nf` fields (loads, stores, indices): computed from aux.
    Mem,
    /// Index operand of an indexed access: EMUL = LMUL * eew / SEW (one field).
    Index,
    /// Data of an indexed access: EMUL = LMUL times `nf` fields.
    IndexedData,
    /// The EEW=16 index operand of vrgatherei16: EMUL = LMUL * 16 / SEW.
    Ei16,
}

/// The operand shape of an instruction: group kinds of vd, vs2 and vs1 and whether vd is also
/// read (multiply-add, slides into undisturbed destination, merges).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// Destination group kind.
    pub vd: Group,
    /// vs2 group kind.
    pub vs2: Group,
    /// vs1 group kind (No for scalar/immediate forms).
    pub vs1: Group,
    /// vd's old value is a source (accumulators, stores' vs3).
    pub vd_read: bool,
    /// The destination is written (false for stores).
    pub vd_written: bool,
}

/// Vector register groups an instruction reads and writes: (first register, count).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VRegUse {
    /// The group written.
    pub dst: Option<(u8, u8)>,
    /// Groups read (vs2, vs1, and vd when it is also a source).
    pub src: [Option<(u8, u8)>; 3],
    /// v0 is read as a mask or carry.
    pub reads_v0: bool,
}

/// Register count (>= 1) of a group of EMUL = `emul8 / 8` registers.
fn regs_of(emul8: u32) -> u8 {
    (emul8 / 8).max(1) as u8
}

impl VInst {
    /// Functional-unit class.
    pub fn class(&self) -> VClass {
        use VOp::*;
        match self.op {
            Vsetvli | Vsetivli | Vsetvl => VClass::Config,
            Vle | Vlse | Vluxei | Vloxei | Vleff | Vlr | Vlm => VClass::Load,
            Vse | Vsse | Vsuxei | Vsoxei | Vsr | Vsm => VClass::Store,
            Vmul | Vmulh | Vmulhu | Vmulhsu | Vmacc | Vnmsac | Vmadd | Vnmsub | Vwmul | Vwmulu
            | Vwmulsu | Vwmacc | Vwmaccu | Vwmaccsu | Vwmaccus | Vsmul => VClass::Mul,
            Vdiv | Vdivu | Vrem | Vremu => VClass::Div,
            Vfdiv | Vfrdiv | Vfsqrt => VClass::FDiv,
            Vredsum | Vredand | Vredor | Vredxor | Vredminu | Vredmin | Vredmaxu | Vredmax
            | Vwredsumu | Vwredsum | Vfredusum | Vfredosum | Vfredmin | Vfredmax | Vfwredusum
            | Vfwredosum => VClass::Reduction,
            Vrgather | Vrgatherei16 | Vslideup | Vslidedown | Vslide1up | Vslide1down
            | Vfslide1up | Vfslide1down | Vcompress | VmvXS | VmvSX | VfmvFS | VfmvSF => {
                VClass::Permute
            }
            Vmandn | Vmand | Vmor | Vmxor | Vmorn | Vmnand | Vmnor | Vmxnor | Vcpop | Vfirst
            | Vmsbf | Vmsof | Vmsif | Viota | Vid => VClass::Mask,
            VmvNr | Vmv | Vfmv => VClass::Move,
            Vfadd | Vfsub | Vfrsub | Vfmin | Vfmax | Vfsgnj | Vfsgnjn | Vfsgnjx | Vfmul
            | Vfmacc | Vfnmacc | Vfmsac | Vfnmsac | Vfmadd | Vfnmadd | Vfmsub | Vfnmsub
            | Vfwadd | Vfwsub | Vfwmul | Vfwmacc | Vfwnmacc | Vfwmsac | Vfwnmsac | Vmfeq
            | Vmfle | Vmflt | Vmfne | Vmfgt | Vmfge | Vfmerge | Vfclass | Vfrsqrt7 | Vfrec7
            | VfcvtXuF | VfcvtXF | VfcvtFXu | VfcvtFX | VfcvtRtzXuF | VfcvtRtzXF | VfwcvtXuF
            | VfwcvtXF | VfwcvtFXu | VfwcvtFX | VfwcvtFF | VfwcvtRtzXuF | VfwcvtRtzXF
            | VfncvtXuF | VfncvtXF | VfncvtFXu | VfncvtFX | VfncvtFF | VfncvtRodFF
            | VfncvtRtzXuF | VfncvtRtzXF => VClass::Fp,
            _ => VClass::Alu,
        }
    }

    /// The operand shape (group kinds of vd, vs2, vs1).
    pub fn shape(&self) -> Shape {
        use Group::*;
        use VOp::*;
        let vs1_vec = |g: Group| {
            if matches!(
                self.form,
                Form::VV | Form::WV | Form::VVM | Form::MM | Form::VdV
            ) {
                g
            } else {
                No
            }
        };
        let vs2_main = if self.form.is_wide_vs2() {
            Wide
        } else {
            Single
        };
        let s = |vd, vs2, vs1, vd_read| Shape {
            vd,
            vs2,
            vs1,
            vd_read,
            vd_written: true,
        };
        match self.op {
            Vsetvli | Vsetivli | Vsetvl => s(No, No, No, false),
            Vle | Vlse | Vleff => s(Mem, No, No, false),
            Vluxei | Vloxei => s(IndexedData, Index, No, false),
            Vlr => s(Regs(self.nf() as u8), No, No, false),
            Vlm => s(Mask, No, No, false),
            Vse | Vsse | Vsr | Vsm | Vsuxei | Vsoxei => {
                let vd = match self.op {
                    Vsr => Regs(self.nf() as u8),
                    Vsm => Mask,
                    Vsuxei | Vsoxei => IndexedData,
                    _ => Mem,
                };
                let vs2 = if matches!(self.op, Vsuxei | Vsoxei) {
                    Index
                } else {
                    No
                };
                Shape {
                    vd,
                    vs2,
                    vs1: No,
                    vd_read: true,
                    vd_written: false,
                }
            }
            Vmadc | Vmsbc | Vmseq | Vmsne | Vmsltu | Vmslt | Vmsleu | Vmsle | Vmsgtu | Vmsgt
            | Vmfeq | Vmfle | Vmflt | Vmfne | Vmfgt | Vmfge => {
                s(Mask, Single, vs1_vec(Single), false)
            }
            Vmandn | Vmand | Vmor | Vmxor | Vmorn | Vmnand | Vmnor | Vmxnor => {
                s(Mask, Mask, Mask, false)
            }
            Vmsbf | Vmsof | Vmsif => s(Mask, Mask, No, false),
            Viota => s(Single, Mask, No, false),
            Vid => s(Single, No, No, false),
            Vcpop | Vfirst => s(No, Mask, No, false),
            VmvXS | VfmvFS => s(No, One, No, false),
            VmvSX | VfmvSF => s(One, No, No, false),
            Vmv | Vfmv => s(Single, No, vs1_vec(Single), false),
            VmvNr => s(Regs(self.vs1 + 1), Regs(self.vs1 + 1), No, false),
            Vzext2 | Vsext2 => s(Single, Frac(2), No, false),
            Vzext4 | Vsext4 => s(Single, Frac(4), No, false),
            Vzext8 | Vsext8 => s(Single, Frac(8), No, false),
            Vredsum | Vredand | Vredor | Vredxor | Vredminu | Vredmin | Vredmaxu | Vredmax
            | Vfredusum | Vfredosum | Vfredmin | Vfredmax => s(One, Single, One, false),
            Vwredsumu | Vwredsum | Vfwredusum | Vfwredosum => s(One, Single, One, false),
            Vmacc | Vnmsac | Vmadd | Vnmsub | Vfmacc | Vfnmacc | Vfmsac | Vfnmsac | Vfmadd
            | Vfnmadd | Vfmsub | Vfnmsub => s(Single, Single, vs1_vec(Single), true),
            Vwmaccu | Vwmacc | Vwmaccus | Vwmaccsu | Vfwmacc | Vfwnmacc | Vfwmsac | Vfwnmsac => {
                s(Wide, Single, vs1_vec(Single), true)
            }
            Vwaddu | Vwadd | Vwsubu | Vwsub | Vwmulu | Vwmulsu | Vwmul | Vfwadd | Vfwsub
            | Vfwmul => s(Wide, vs2_main, vs1_vec(Single), false),
            Vnsrl | Vnsra | Vnclipu | Vnclip => s(Single, Wide, vs1_vec(Single), false),
            VfwcvtXuF | VfwcvtXF | VfwcvtFXu | VfwcvtFX | VfwcvtFF | VfwcvtRtzXuF | VfwcvtRtzXF => {
                s(Wide, Single, No, false)
            }
            VfncvtXuF | VfncvtXF | VfncvtFXu | VfncvtFX | VfncvtFF | VfncvtRodFF | VfncvtRtzXuF
            | VfncvtRtzXF => s(Single, Wide, No, false),
            Vslideup | Vslidedown | Vslide1up | Vslide1down | Vfslide1up | Vfslide1down => {
                s(Single, Single, No, matches!(self.op, Vslideup))
            }
            Vrgatherei16 => s(Single, Single, Ei16, false),
            Vcompress => s(Single, Single, Mask, false),
            _ => s(Single, Single, vs1_vec(Single), false),
        }
    }

    /// EMUL in eighths for a group kind, given vtype's SEW (bits) and LMUL (eighths).
    /// Returns None for `Group::No`.
    pub fn group_emul8(&self, g: Group, sew: u32, lmul8: u32) -> Option<u32> {
        Some(match g {
            Group::No => return None,
            Group::Single => lmul8,
            Group::Wide => lmul8 * 2,
            Group::Mask | Group::One => 8,
            Group::Frac(n) => lmul8 / n as u32,
            Group::Regs(n) => n as u32 * 8,
            Group::Mem => lmul8 * self.mem_eew() / sew,
            Group::Index => lmul8 * self.mem_eew() / sew,
            Group::IndexedData => lmul8,
            Group::Ei16 => lmul8 * 16 / sew,
        })
    }

    /// Register groups read and written under `vtype` (the vtype CSR value). Segment
    /// accesses count all their fields. With a reserved vtype, LMUL 1 and SEW 8 are assumed.
    pub fn vregs(&self, vtype: u64) -> VRegUse {
        let vlmul = vtype & 7;
        let vsew = (vtype >> 3) & 7;
        let (sew, lmul8) = if vtype >> 63 != 0 || vsew > 3 || vlmul == 4 {
            (8, 8)
        } else {
            (8u32 << vsew, [8u32, 16, 32, 64, 8, 1, 2, 4][vlmul as usize])
        };
        let sh = self.shape();
        let group = |reg: u8, g: Group| -> Option<(u8, u8)> {
            let emul8 = self.group_emul8(g, sew, lmul8)?;
            let mut n = regs_of(emul8);
            if matches!(g, Group::Mem | Group::IndexedData) {
                n = n.saturating_mul(self.nf().max(1) as u8);
            }
            Some((reg, n.min(32 - reg.min(31))))
        };
        let mut u = VRegUse {
            reads_v0: !self.vm
                || matches!(self.form, Form::VVM | Form::VXM | Form::VIM | Form::VFM),
            ..VRegUse::default()
        };
        let dstg = group(self.vd, sh.vd);
        if sh.vd_written {
            u.dst = dstg;
        }
        for (k, g) in [group(self.vs2, sh.vs2), group(self.vs1, sh.vs1)]
            .into_iter()
            .chain(std::iter::once(if sh.vd_read { dstg } else { None }))
            .flatten()
            .enumerate()
        {
            u.src[k] = Some(g);
        }
        u
    }
}

fn bits(raw: u32, hi: u32, lo: u32) -> u32 {
    (raw >> lo) & ((1 << (hi - lo + 1)) - 1)
}

/// Decodes one vector instruction word (OP-V, or LOAD-FP/STORE-FP with a vector width).
/// `Err` carries why the word is not a valid RVV 1.0 instruction.
pub fn decode(raw: u32) -> Result<VInst, String> {
    match raw & 0x7f {
        0x57 => decode_opv(raw),
        0x07 | 0x27 => decode_mem(raw),
        op => Err(format!("opcode {op:#x} is not a vector opcode")),
    }
}

fn decode_mem(raw: u32) -> Result<VInst, String> {
    use VOp::*;
    let store = raw & 0x7f == 0x27;
    let width = bits(raw, 14, 12);
    let eew_log2: u16 = match width {
        0 => 3,
        5 => 4,
        6 => 5,
        7 => 6,
        _ => return Err(format!("width {width} is not a vector element width")),
    };
    let vd = bits(raw, 11, 7) as u8;
    let rs1 = bits(raw, 19, 15) as u8;
    let field = bits(raw, 24, 20) as u8;
    let vm = bits(raw, 25, 25) == 1;
    let mop = bits(raw, 27, 26);
    let mew = bits(raw, 28, 28);
    let nf = bits(raw, 31, 29) + 1;
    if mew != 0 {
        return Err("mew=1 (element widths above 64) is reserved".into());
    }
    let (op, vs2) = match mop {
        0 => match field {
            0 => (if store { Vse } else { Vle }, 0),
            0b01000 => {
                if !nf.is_power_of_two() {
                    return Err(format!("whole-register access with nf={nf} is reserved"));
                }
                if !vm {
                    return Err("whole-register access must be unmasked".into());
                }
                if !(vd as u32).is_multiple_of(nf) {
                    return Err(format!("whole-register group v{vd} not aligned to {nf}"));
                }
                if store && eew_log2 != 3 {
                    return Err("whole-register store must use width e8".into());
                }
                (if store { Vsr } else { Vlr }, 0)
            }
            0b01011 => {
                if nf != 1 || eew_log2 != 3 || !vm {
                    return Err("mask load/store needs nf=1, e8, unmasked".into());
                }
                (if store { Vsm } else { Vlm }, 0)
            }
            0b10000 if !store => (Vleff, 0),
            _ => return Err(format!("reserved unit-stride lumop/sumop {field:#07b}")),
        },
        1 => (if store { Vsuxei } else { Vluxei }, field),
        2 => (if store { Vsse } else { Vlse }, field),
        _ => (if store { Vsoxei } else { Vloxei }, field),
    };
    Ok(VInst {
        op,
        form: Form::None,
        vd,
        vs1: rs1,
        vs2,
        vm,
        aux: eew_log2 | ((nf as u16) << 8),
    })
}

fn decode_opv(raw: u32) -> Result<VInst, String> {
    use VOp::*;
    let funct3 = bits(raw, 14, 12);
    let vd = bits(raw, 11, 7) as u8;
    let vs1 = bits(raw, 19, 15) as u8;
    let vs2 = bits(raw, 24, 20) as u8;
    let vm = bits(raw, 25, 25) == 1;
    let funct6 = bits(raw, 31, 26);
    let mk = |op: VOp, form: Form| VInst {
        op,
        form,
        vd,
        vs1,
        vs2,
        vm,
        aux: 0,
    };
    let bad = || format!("reserved vector encoding funct6={funct6:#08b} funct3={funct3}");
    if funct3 == 7 {
        if raw >> 31 == 0 {
            return Ok(VInst {
                aux: bits(raw, 30, 20) as u16,
                ..mk(Vsetvli, Form::None)
            });
        }
        if raw >> 30 == 0b11 {
            return Ok(VInst {
                aux: bits(raw, 29, 20) as u16,
                ..mk(Vsetivli, Form::None)
            });
        }
        if bits(raw, 30, 25) == 0 {
            return Ok(mk(Vsetvl, Form::None));
        }
        return Err("reserved vsetvl encoding".into());
    }
    // Instructions whose vm=0 selects a carry/merge form, vm=1 being reserved or another op.
    let need_vm0 = |op: VOp, form: Form| -> Result<VInst, String> {
        if vm {
            Err(format!("{} requires vm=0", op.name()))
        } else {
            Ok(mk(op, form))
        }
    };
    let need_vm1 = |op: VOp, form: Form| -> Result<VInst, String> {
        if vm {
            Ok(mk(op, form))
        } else {
            Err(format!("{}{} must be unmasked", op.name(), form.suffix()))
        }
    };
    match funct3 {
        // OPIVV, OPIVX, OPIVI
        0 | 4 | 3 => {
            let (v, x, i) = (funct3 == 0, funct3 == 4, funct3 == 3);
            let f = if v {
                Form::VV
            } else if x {
                Form::VX
            } else {
                Form::VI
            };
            let w = if v {
                Form::WV
            } else if x {
                Form::WX
            } else {
                Form::WI
            };
            let m = if v {
                Form::VVM
            } else if x {
                Form::VXM
            } else {
                Form::VIM
            };
            let vvx = |op| if i { Err(bad()) } else { Ok(mk(op, f)) };
            let xi = |op| if v { Err(bad()) } else { Ok(mk(op, f)) };
            let all = |op| Ok(mk(op, f));
            match funct6 {
                0b000000 => all(Vadd),
                0b000010 => vvx(Vsub),
                0b000011 => xi(Vrsub),
                0b000100 => vvx(Vminu),
                0b000101 => vvx(Vmin),
                0b000110 => vvx(Vmaxu),
                0b000111 => vvx(Vmax),
                0b001001 => all(Vand),
                0b001010 => all(Vor),
                0b001011 => all(Vxor),
                0b001100 => all(Vrgather),
                0b001110 => {
                    if v {
                        Ok(mk(Vrgatherei16, Form::VV))
                    } else {
                        Ok(mk(Vslideup, f))
                    }
                }
                0b001111 => xi(Vslidedown),
                0b010000 => need_vm0(Vadc, m),
                0b010001 => Ok(mk(Vmadc, if vm { f } else { m })),
                0b010010 if !i => need_vm0(Vsbc, m),
                0b010011 if !i => Ok(mk(Vmsbc, if vm { f } else { m })),
                0b010111 => {
                    if vm {
                        if vs2 != 0 {
                            return Err("vmv.v.* requires vs2=0".into());
                        }
                        let form = if v {
                            Form::VdV
                        } else if x {
                            Form::VdX
                        } else {
                            Form::VdI
                        };
                        Ok(mk(Vmv, form))
                    } else {
                        Ok(mk(Vmerge, m))
                    }
                }
                0b011000 => all(Vmseq),
                0b011001 => all(Vmsne),
                0b011010 => vvx(Vmsltu),
                0b011011 => vvx(Vmslt),
                0b011100 => all(Vmsleu),
                0b011101 => all(Vmsle),
                0b011110 => xi(Vmsgtu),
                0b011111 => xi(Vmsgt),
                0b100000 => all(Vsaddu),
                0b100001 => all(Vsadd),
                0b100010 => vvx(Vssubu),
                0b100011 => vvx(Vssub),
                0b100101 => all(Vsll),
                0b100111 => {
                    if i {
                        if !vm || !matches!(vs1, 0 | 1 | 3 | 7) {
                            return Err("vmv<nr>r.v needs vm=1 and nr in 1,2,4,8".into());
                        }
                        let nr = vs1 + 1;
                        if !vd.is_multiple_of(nr) || !vs2.is_multiple_of(nr) {
                            return Err(format!("vmv{nr}r.v registers must be multiples of {nr}"));
                        }
                        Ok(mk(VmvNr, Form::None))
                    } else {
                        Ok(mk(Vsmul, f))
                    }
                }
                0b101000 => all(Vsrl),
                0b101001 => all(Vsra),
                0b101010 => all(Vssrl),
                0b101011 => all(Vssra),
                0b101100 => Ok(mk(Vnsrl, w)),
                0b101101 => Ok(mk(Vnsra, w)),
                0b101110 => Ok(mk(Vnclipu, w)),
                0b101111 => Ok(mk(Vnclip, w)),
                0b110000 if v => Ok(mk(Vwredsumu, Form::VS)),
                0b110001 if v => Ok(mk(Vwredsum, Form::VS)),
                _ => Err(bad()),
            }
        }
        // OPMVV, OPMVX
        2 | 6 => {
            let v = funct3 == 2;
            let f = if v { Form::VV } else { Form::VX };
            let both = |op| Ok(mk(op, f));
            let vonly = |op, form| if v { Ok(mk(op, form)) } else { Err(bad()) };
            let xonly = |op| if v { Err(bad()) } else { Ok(mk(op, f)) };
            match funct6 {
                0b000000 => vonly(Vredsum, Form::VS),
                0b000001 => vonly(Vredand, Form::VS),
                0b000010 => vonly(Vredor, Form::VS),
                0b000011 => vonly(Vredxor, Form::VS),
                0b000100 => vonly(Vredminu, Form::VS),
                0b000101 => vonly(Vredmin, Form::VS),
                0b000110 => vonly(Vredmaxu, Form::VS),
                0b000111 => vonly(Vredmax, Form::VS),
                0b001000 => both(Vaaddu),
                0b001001 => both(Vaadd),
                0b001010 => both(Vasubu),
                0b001011 => both(Vasub),
                0b001110 => xonly(Vslide1up),
                0b001111 => xonly(Vslide1down),
                0b010000 => {
                    if v {
                        match vs1 {
                            0 => need_vm1(VmvXS, Form::None),
                            0b10000 => Ok(mk(Vcpop, Form::None)),
                            0b10001 => Ok(mk(Vfirst, Form::None)),
                            _ => Err(bad()),
                        }
                    } else if vs2 == 0 {
                        need_vm1(VmvSX, Form::None)
                    } else {
                        Err(bad())
                    }
                }
                0b010010 if v => {
                    let op = match vs1 {
                        0b00010 => Vzext8,
                        0b00011 => Vsext8,
                        0b00100 => Vzext4,
                        0b00101 => Vsext4,
                        0b00110 => Vzext2,
                        0b00111 => Vsext2,
                        _ => return Err(bad()),
                    };
                    Ok(mk(op, Form::None))
                }
                0b010100 if v => {
                    let op = match vs1 {
                        0b00001 => Vmsbf,
                        0b00010 => Vmsof,
                        0b00011 => Vmsif,
                        0b10000 => Viota,
                        0b10001 => {
                            if vs2 != 0 {
                                return Err("vid.v requires vs2=0".into());
                            }
                            Vid
                        }
                        _ => return Err(bad()),
                    };
                    Ok(mk(op, Form::None))
                }
                0b010111 if v => need_vm1(Vcompress, Form::VM),
                0b011000 if v => need_vm1(Vmandn, Form::MM),
                0b011001 if v => need_vm1(Vmand, Form::MM),
                0b011010 if v => need_vm1(Vmor, Form::MM),
                0b011011 if v => need_vm1(Vmxor, Form::MM),
                0b011100 if v => need_vm1(Vmorn, Form::MM),
                0b011101 if v => need_vm1(Vmnand, Form::MM),
                0b011110 if v => need_vm1(Vmnor, Form::MM),
                0b011111 if v => need_vm1(Vmxnor, Form::MM),
                0b100000 => both(Vdivu),
                0b100001 => both(Vdiv),
                0b100010 => both(Vremu),
                0b100011 => both(Vrem),
                0b100100 => both(Vmulhu),
                0b100101 => both(Vmul),
                0b100110 => both(Vmulhsu),
                0b100111 => both(Vmulh),
                0b101001 => both(Vmadd),
                0b101011 => both(Vnmsub),
                0b101101 => both(Vmacc),
                0b101111 => both(Vnmsac),
                0b110000 => both(Vwaddu),
                0b110001 => both(Vwadd),
                0b110010 => both(Vwsubu),
                0b110011 => both(Vwsub),
                0b110100 => Ok(mk(Vwaddu, if v { Form::WV } else { Form::WX })),
                0b110101 => Ok(mk(Vwadd, if v { Form::WV } else { Form::WX })),
                0b110110 => Ok(mk(Vwsubu, if v { Form::WV } else { Form::WX })),
                0b110111 => Ok(mk(Vwsub, if v { Form::WV } else { Form::WX })),
                0b111000 => both(Vwmulu),
                0b111010 => both(Vwmulsu),
                0b111011 => both(Vwmul),
                0b111100 => both(Vwmaccu),
                0b111101 => both(Vwmacc),
                0b111110 => xonly(Vwmaccus),
                0b111111 => both(Vwmaccsu),
                _ => Err(bad()),
            }
        }
        // OPFVV, OPFVF
        1 | 5 => {
            let v = funct3 == 1;
            let f = if v { Form::VV } else { Form::VF };
            let both = |op| Ok(mk(op, f));
            let vonly = |op, form| if v { Ok(mk(op, form)) } else { Err(bad()) };
            let fonly = |op| if v { Err(bad()) } else { Ok(mk(op, f)) };
            match funct6 {
                0b000000 => both(Vfadd),
                0b000001 => vonly(Vfredusum, Form::VS),
                0b000010 => both(Vfsub),
                0b000011 => vonly(Vfredosum, Form::VS),
                0b000100 => both(Vfmin),
                0b000101 => vonly(Vfredmin, Form::VS),
                0b000110 => both(Vfmax),
                0b000111 => vonly(Vfredmax, Form::VS),
                0b001000 => both(Vfsgnj),
                0b001001 => both(Vfsgnjn),
                0b001010 => both(Vfsgnjx),
                0b001110 => fonly(Vfslide1up),
                0b001111 => fonly(Vfslide1down),
                0b010000 => {
                    if v {
                        if vs1 == 0 {
                            need_vm1(VfmvFS, Form::None)
                        } else {
                            Err(bad())
                        }
                    } else if vs2 == 0 {
                        need_vm1(VfmvSF, Form::None)
                    } else {
                        Err(bad())
                    }
                }
                0b010010 if v => {
                    let op = match vs1 {
                        0b00000 => VfcvtXuF,
                        0b00001 => VfcvtXF,
                        0b00010 => VfcvtFXu,
                        0b00011 => VfcvtFX,
                        0b00110 => VfcvtRtzXuF,
                        0b00111 => VfcvtRtzXF,
                        0b01000 => VfwcvtXuF,
                        0b01001 => VfwcvtXF,
                        0b01010 => VfwcvtFXu,
                        0b01011 => VfwcvtFX,
                        0b01100 => VfwcvtFF,
                        0b01110 => VfwcvtRtzXuF,
                        0b01111 => VfwcvtRtzXF,
                        0b10000 => VfncvtXuF,
                        0b10001 => VfncvtXF,
                        0b10010 => VfncvtFXu,
                        0b10011 => VfncvtFX,
                        0b10100 => VfncvtFF,
                        0b10101 => VfncvtRodFF,
                        0b10110 => VfncvtRtzXuF,
                        0b10111 => VfncvtRtzXF,
                        _ => return Err(bad()),
                    };
                    Ok(mk(op, Form::None))
                }
                0b010011 if v => {
                    let op = match vs1 {
                        0b00000 => Vfsqrt,
                        0b00100 => Vfrsqrt7,
                        0b00101 => Vfrec7,
                        0b10000 => Vfclass,
                        _ => return Err(bad()),
                    };
                    Ok(mk(op, Form::None))
                }
                0b010111 if !v => {
                    if vm {
                        if vs2 != 0 {
                            return Err("vfmv.v.f requires vs2=0".into());
                        }
                        Ok(mk(Vfmv, Form::VdF))
                    } else {
                        Ok(mk(Vfmerge, Form::VFM))
                    }
                }
                0b011000 => both(Vmfeq),
                0b011001 => both(Vmfle),
                0b011011 => both(Vmflt),
                0b011100 => both(Vmfne),
                0b011101 => fonly(Vmfgt),
                0b011111 => fonly(Vmfge),
                0b100000 => both(Vfdiv),
                0b100001 => fonly(Vfrdiv),
                0b100100 => both(Vfmul),
                0b100111 => fonly(Vfrsub),
                0b101000 => both(Vfmadd),
                0b101001 => both(Vfnmadd),
                0b101010 => both(Vfmsub),
                0b101011 => both(Vfnmsub),
                0b101100 => both(Vfmacc),
                0b101101 => both(Vfnmacc),
                0b101110 => both(Vfmsac),
                0b101111 => both(Vfnmsac),
                0b110000 => both(Vfwadd),
                0b110001 => vonly(Vfwredusum, Form::VS),
                0b110010 => both(Vfwsub),
                0b110011 => vonly(Vfwredosum, Form::VS),
                0b110100 => Ok(mk(Vfwadd, if v { Form::WV } else { Form::WF })),
                0b110110 => Ok(mk(Vfwsub, if v { Form::WV } else { Form::WF })),
                0b111000 => both(Vfwmul),
                0b111100 => both(Vfwmacc),
                0b111101 => both(Vfwnmacc),
                0b111110 => both(Vfwmsac),
                0b111111 => both(Vfwnmsac),
                _ => Err(bad()),
            }
        }
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dis(raw: u32) -> String {
        decode(raw).map(|i| i.to_string()).unwrap_or_else(|e| e)
    }

    #[test]
    fn vinst_is_small() {
        assert!(std::mem::size_of::<VInst>() <= 8);
    }

    #[test]
    fn known_encodings_disassemble_like_llvm() {
        // Encodings and texts from llvm-mc-19 / llvm-objdump-19.
        let cases: &[(u32, &str)] = &[
            (0x0c05f557, "vsetvli\ta0, a1, e8, m1, ta, ma"),
            (0xcc087557, "vsetivli\ta0, 0x10, e8, m1, ta, ma"),
            (0x80c5f557, "vsetvl\ta0, a1, a2"),
            (0x4005f557, "vsetvli\ta0, a1, 0x400"),
            (0x02050407, "vle8.v\tv8, (a0)"),
            (0x00050407, "vle8.v\tv8, (a0), v0.t"),
            (0x02850407, "vl1r.v\tv8, (a0)"),
            (0xe2856407, "vl8re32.v\tv8, (a0)"),
            (0x0ab55407, "vlse16.v\tv8, (a0), a1"),
            (0x07056407, "vluxei32.v\tv8, (a0), v16"),
            (0x4ab55407, "vlsseg3e16.v\tv8, (a0), a1"),
            (0x03050407, "vle8ff.v\tv8, (a0)"),
            (0x2f0fb457, "vnot.v\tv8, v16"),
            (0x0f004457, "vneg.v\tv8, v16"),
            (0x6e842457, "vmclr.m\tv8"),
            (0xb5856457, "vmacc.vx\tv8, a0, v24, v0.t"),
            (0x5d0c0457, "vmerge.vvm\tv8, v16, v24, v0"),
            (0x5e0eb457, "vmv.v.i\tv8, -0x3"),
            (0x03083457, "vadd.vi\tv8, v16, -0x10"),
            (0x970fb457, "vsll.vi\tv8, v16, 0x1f"),
            (0x42802557, "vmv.x.s\ta0, v8"),
            (0x9f00b457, "vmv2r.v\tv8, v16"),
            (0x4b032457, "vzext.vf2\tv8, v16"),
            (0xd3055457, "vfwadd.wf\tv8, v16, fa0"),
            (0x4b0a9457, "vfncvt.rod.f.f.w\tv8, v16"),
        ];
        for &(raw, text) in cases {
            assert_eq!(dis(raw), text, "raw {raw:#010x}");
        }
    }

    #[test]
    fn reserved_encodings_are_errors() {
        // vadc with vm=1, vmv.v.v with vs2 != 0, mew=1, vmand.mm masked.
        assert!(decode(0x420c0457).is_err());
        assert!(decode(0x5e180457).is_err());
        assert!(decode(0x12050407).is_err());
        assert!(decode(0x64942457).is_err());
    }

    #[test]
    fn vregs_reports_groups() {
        // vwmul.vv v8, v16, v24 at e8 m2: dst v8..v11, sources v16..17, v24..25.
        let i = decode(0xef0c2457).unwrap();
        assert_eq!(i.op, VOp::Vwmul);
        let u = i.vregs(0x01);
        assert_eq!(u.dst, Some((8, 4)));
        assert_eq!(u.src[0], Some((16, 2)));
        assert_eq!(u.src[1], Some((24, 2)));
        assert!(!u.reads_v0);
    }
}
