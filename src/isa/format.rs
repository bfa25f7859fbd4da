//! Operand formats of the scalar instruction table ([`super::table`]).
//!
//! A format is a struct of operand fields with three jobs: pull the fields out of a 32-bit
//! word (refusing reserved values with the decoder's message), print them after a mnemonic
//! the way llvm-objdump-19 does, and say which registers the instruction reads and writes.
//! A table row names its format; the row's `Inst` variant has exactly the format's fields.

use super::disasm::{
    aqrl, br, csr_text, f3op, f4op, fence_set, ff, freg, mem, ri, rm_suffix, rr, target, xreg,
};
use super::{AmoOp, CsrOp, FpFmt, IntType};
use std::fmt::Write as _;

type R = std::fmt::Result;

/// A register an instruction reads or writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reg {
    /// No register.
    None,
    /// Integer register (x0 included: the reader decides what x0 means).
    X(u8),
    /// FP register.
    F(u8),
}

/// The registers of one instruction: the one written and up to three read, in operand
/// order (rs1, rs2, rs3; base before data for stores).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Regs {
    /// Written.
    pub dst: Reg,
    /// Read.
    pub src: [Reg; 3],
}

const fn regs(dst: Reg, a: Reg, b: Reg, c: Reg) -> Regs {
    Regs {
        dst,
        src: [a, b, c],
    }
}
use Reg::{None as NO, F, X};

/// An operand format: decode, print, registers.
pub trait Format: Sized {
    /// The fields of word `r` (whose opcode/funct bits already matched a row).
    fn decode(r: u32) -> Result<Self, String>;
    /// Writes `mnemonic operands`.
    fn write(&self, w: &mut String, m: &str, pc: Option<u64>) -> R;
    /// Registers written and read.
    fn regs(&self) -> Regs;
}

#[inline]
fn rd(r: u32) -> u8 {
    ((r >> 7) & 31) as u8
}
#[inline]
fn rs1(r: u32) -> u8 {
    ((r >> 15) & 31) as u8
}
#[inline]
fn rs2(r: u32) -> u8 {
    ((r >> 20) & 31) as u8
}
#[inline]
fn funct3(r: u32) -> u32 {
    (r >> 12) & 7
}
fn imm_i(r: u32) -> i32 {
    (r as i32) >> 20
}
fn imm_s(r: u32) -> i32 {
    (((r as i32) >> 25) << 5) | ((r >> 7) & 31) as i32
}
fn imm_b(r: u32) -> i32 {
    let v = (((r >> 31) & 1) << 12)
        | (((r >> 7) & 1) << 11)
        | (((r >> 25) & 0x3f) << 5)
        | (((r >> 8) & 0xf) << 1);
    ((v << 19) as i32) >> 19
}
fn imm_j(r: u32) -> i32 {
    let v = (((r >> 31) & 1) << 20)
        | (((r >> 12) & 0xff) << 12)
        | (((r >> 20) & 1) << 11)
        | (((r >> 21) & 0x3ff) << 1);
    ((v << 11) as i32) >> 11
}

/// The message for a word no row (or no field value) of its major opcode accepts.
pub(super) fn unknown(r: u32) -> String {
    format!("unknown encoding in major opcode {:#04x}", r & 0x7f)
}

/// The message for an OP-FP word no row accepts.
pub(super) fn unknown_op_fp(r: u32) -> String {
    format!(
        "unknown OP-FP encoding (funct5 {:#x}, funct3 {})",
        r >> 27,
        funct3(r)
    )
}

/// The FP format of bits 26:25 (OP-FP, the fused multiply-adds), or of a conversion's rs2.
pub(super) fn fp_fmt(bits: u32) -> Result<FpFmt, String> {
    match bits {
        0 => Ok(FpFmt::S),
        1 => Ok(FpFmt::D),
        2 => Ok(FpFmt::H),
        _ => Err("quad-precision (Q) FP is not supported".into()),
    }
}

fn check_rm(rm: u32) -> Result<u8, String> {
    if rm == 5 || rm == 6 {
        Err(format!("reserved rounding mode {rm}"))
    } else {
        Ok(rm as u8)
    }
}

/// FP format of an FP load/store's width field (1 = H, 2 = S, 3 = D).
fn width_fmt(r: u32) -> Result<FpFmt, String> {
    match funct3(r) {
        1 => Ok(FpFmt::H),
        2 => Ok(FpFmt::S),
        3 => Ok(FpFmt::D),
        _ => Err(unknown(r)),
    }
}

/// `w` or `d` of an A-extension width field (2 or 3).
fn amo_width(r: u32) -> Result<bool, String> {
    match funct3(r) {
        2 => Ok(false),
        3 => Ok(true),
        _ => Err(unknown(r)),
    }
}

fn wd(d: bool) -> &'static str {
    if d {
        "d"
    } else {
        "w"
    }
}

/// Name of an FP format in `fmv.x.*` / `fmv.*.x` / `fl*` / `fs*` (`w` for S).
fn width_name(fmt: FpFmt) -> &'static str {
    match fmt {
        FpFmt::S => "w",
        f => f.suffix(),
    }
}

fn fp_rd(r: u32) -> Result<FpFmt, String> {
    fp_fmt((r >> 25) & 3)
}

/// Declares a format struct with public `u8`-or-other fields.
macro_rules! format_struct {
    ($(#[$doc:meta])* $n:ident { $($f:ident: $t:ty),* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[allow(missing_docs)]
        pub struct $n { $(pub $f: $t),* }
    };
}

format_struct!(
    /// No operands (`ecall`, `fence.i`).
    N {}
);
impl Format for N {
    fn decode(_: u32) -> Result<Self, String> {
        Ok(N {})
    }
    fn write(&self, w: &mut String, m: &str, _: Option<u64>) -> R {
        w.write_str(m)
    }
    fn regs(&self) -> Regs {
        regs(NO, NO, NO, NO)
    }
}

format_struct!(
    /// U-type: `rd, imm[31:12]` (imm kept shifted).
    U { rd: u8, imm: i32 }
);
impl Format for U {
    fn decode(r: u32) -> Result<Self, String> {
        Ok(U {
            rd: rd(r),
            imm: (r & 0xffff_f000) as i32,
        })
    }
    fn write(&self, w: &mut String, m: &str, _: Option<u64>) -> R {
        write!(w, "{m} {}, {:#x}", xreg(self.rd), (self.imm as u32) >> 12)
    }
    fn regs(&self) -> Regs {
        regs(X(self.rd), NO, NO, NO)
    }
}

format_struct!(
    /// J-type: `rd, target`.
    J { rd: u8, off: i32 }
);
impl Format for J {
    fn decode(r: u32) -> Result<Self, String> {
        Ok(J {
            rd: rd(r),
            off: imm_j(r),
        })
    }
    fn write(&self, w: &mut String, m: &str, pc: Option<u64>) -> R {
        write!(w, "{m} {}, {}", xreg(self.rd), target(pc, self.off))
    }
    fn regs(&self) -> Regs {
        regs(X(self.rd), NO, NO, NO)
    }
}

format_struct!(
    /// B-type: `rs1, rs2, target`.
    B { rs1: u8, rs2: u8, off: i32 }
);
impl Format for B {
    fn decode(r: u32) -> Result<Self, String> {
        Ok(B {
            rs1: rs1(r),
            rs2: rs2(r),
            off: imm_b(r),
        })
    }
    fn write(&self, w: &mut String, m: &str, pc: Option<u64>) -> R {
        br(w, m, self.rs1, self.rs2, pc, self.off)
    }
    fn regs(&self) -> Regs {
        regs(NO, X(self.rs1), X(self.rs2), NO)
    }
}

format_struct!(
    /// I-type, register-immediate arithmetic: `rd, rs1, imm`.
    I { rd: u8, rs1: u8, imm: i32 }
);
impl Format for I {
    fn decode(r: u32) -> Result<Self, String> {
        Ok(I {
            rd: rd(r),
            rs1: rs1(r),
            imm: imm_i(r),
        })
    }
    fn write(&self, w: &mut String, m: &str, _: Option<u64>) -> R {
        ri(w, m, self.rd, self.rs1, self.imm as i64)
    }
    fn regs(&self) -> Regs {
        regs(X(self.rd), X(self.rs1), NO, NO)
    }
}

format_struct!(
    /// I-type, memory syntax (integer loads, `jalr`): `rd, imm(rs1)`.
    L { rd: u8, rs1: u8, imm: i32 }
);
impl Format for L {
    fn decode(r: u32) -> Result<Self, String> {
        Ok(L {
            rd: rd(r),
            rs1: rs1(r),
            imm: imm_i(r),
        })
    }
    fn write(&self, w: &mut String, m: &str, _: Option<u64>) -> R {
        mem(w, m, xreg(self.rd), self.rs1, self.imm)
    }
    fn regs(&self) -> Regs {
        regs(X(self.rd), X(self.rs1), NO, NO)
    }
}

format_struct!(
    /// S-type (integer stores): `rs2, imm(rs1)`.
    S { rs1: u8, rs2: u8, imm: i32 }
);
impl Format for S {
    fn decode(r: u32) -> Result<Self, String> {
        Ok(S {
            rs1: rs1(r),
            rs2: rs2(r),
            imm: imm_s(r),
        })
    }
    fn write(&self, w: &mut String, m: &str, _: Option<u64>) -> R {
        mem(w, m, xreg(self.rs2), self.rs1, self.imm)
    }
    fn regs(&self) -> Regs {
        regs(NO, X(self.rs1), X(self.rs2), NO)
    }
}

format_struct!(
    /// Shift by a 6-bit immediate (RV64 `slli`/`srli`/`srai`): `rd, rs1, sh`.
    Sh6 { rd: u8, rs1: u8, sh: u8 }
);
impl Format for Sh6 {
    fn decode(r: u32) -> Result<Self, String> {
        Ok(Sh6 {
            rd: rd(r),
            rs1: rs1(r),
            sh: ((r >> 20) & 63) as u8,
        })
    }
    fn write(&self, w: &mut String, m: &str, _: Option<u64>) -> R {
        ri(w, m, self.rd, self.rs1, self.sh as i64)
    }
    fn regs(&self) -> Regs {
        regs(X(self.rd), X(self.rs1), NO, NO)
    }
}

format_struct!(
    /// Shift by a 5-bit immediate (`slliw`/`srliw`/`sraiw`): `rd, rs1, sh`.
    Sh5 { rd: u8, rs1: u8, sh: u8 }
);
impl Format for Sh5 {
    fn decode(r: u32) -> Result<Self, String> {
        Ok(Sh5 {
            rd: rd(r),
            rs1: rs1(r),
            sh: ((r >> 20) & 31) as u8,
        })
    }
    fn write(&self, w: &mut String, m: &str, _: Option<u64>) -> R {
        ri(w, m, self.rd, self.rs1, self.sh as i64)
    }
    fn regs(&self) -> Regs {
        regs(X(self.rd), X(self.rs1), NO, NO)
    }
}

format_struct!(
    /// R-type, integer: `rd, rs1, rs2`.
    Rr { rd: u8, rs1: u8, rs2: u8 }
);
impl Format for Rr {
    fn decode(r: u32) -> Result<Self, String> {
        Ok(Rr {
            rd: rd(r),
            rs1: rs1(r),
            rs2: rs2(r),
        })
    }
    fn write(&self, w: &mut String, m: &str, _: Option<u64>) -> R {
        rr(w, m, self.rd, self.rs1, self.rs2)
    }
    fn regs(&self) -> Regs {
        regs(X(self.rd), X(self.rs1), X(self.rs2), NO)
    }
}

format_struct!(
    /// `fence pred, succ`.
    Fen { pred: u8, succ: u8 }
);
impl Format for Fen {
    fn decode(r: u32) -> Result<Self, String> {
        Ok(Fen {
            pred: ((r >> 24) & 15) as u8,
            succ: ((r >> 20) & 15) as u8,
        })
    }
    fn write(&self, w: &mut String, m: &str, _: Option<u64>) -> R {
        write!(w, "{m} {}, {}", fence_set(self.pred), fence_set(self.succ))
    }
    fn regs(&self) -> Regs {
        regs(NO, NO, NO, NO)
    }
}

format_struct!(
    /// Zicsr: the operation from funct3, `rd`, `rs1` (or uimm5), the CSR number.
    Cs { op: CsrOp, rd: u8, rs1: u8, csr: u16 }
);
impl Format for Cs {
    fn decode(r: u32) -> Result<Self, String> {
        let op = match funct3(r) {
            0 => {
                return Err(
                    "privileged SYSTEM instruction (mret/wfi/sfence...) not supported".into(),
                )
            }
            1 => CsrOp::Rw,
            2 => CsrOp::Rs,
            3 => CsrOp::Rc,
            5 => CsrOp::Rwi,
            6 => CsrOp::Rsi,
            7 => CsrOp::Rci,
            _ => return Err(unknown(r)),
        };
        Ok(Cs {
            op,
            rd: rd(r),
            rs1: rs1(r),
            csr: (r >> 20) as u16,
        })
    }
    /// The mnemonic comes from the operation (and the aliases llvm-objdump prints).
    fn write(&self, w: &mut String, _: &str, _: Option<u64>) -> R {
        csr_text(w, self.op, self.rd, self.rs1, self.csr)
    }
    fn regs(&self) -> Regs {
        let src = match self.op {
            CsrOp::Rw | CsrOp::Rs | CsrOp::Rc => X(self.rs1),
            _ => NO,
        };
        regs(X(self.rd), src, NO, NO)
    }
}

format_struct!(
    /// `lr.{w,d}{.aq,.rl} rd, (rs1)`.
    Lrf { d: bool, rd: u8, rs1: u8, aqrl: u8 }
);
impl Format for Lrf {
    fn decode(r: u32) -> Result<Self, String> {
        Ok(Lrf {
            d: amo_width(r)?,
            rd: rd(r),
            rs1: rs1(r),
            aqrl: ((r >> 25) & 3) as u8,
        })
    }
    fn write(&self, w: &mut String, m: &str, _: Option<u64>) -> R {
        let (a, b) = (xreg(self.rd), xreg(self.rs1));
        write!(w, "{m}.{}{} {a}, ({b})", wd(self.d), aqrl(self.aqrl))
    }
    fn regs(&self) -> Regs {
        regs(X(self.rd), X(self.rs1), NO, NO)
    }
}

format_struct!(
    /// `sc.{w,d}{.aq,.rl} rd, rs2, (rs1)`.
    Scf { d: bool, rd: u8, rs1: u8, rs2: u8, aqrl: u8 }
);
impl Format for Scf {
    fn decode(r: u32) -> Result<Self, String> {
        Ok(Scf {
            d: amo_width(r)?,
            rd: rd(r),
            rs1: rs1(r),
            rs2: rs2(r),
            aqrl: ((r >> 25) & 3) as u8,
        })
    }
    fn write(&self, w: &mut String, m: &str, _: Option<u64>) -> R {
        let (a, b, c) = (xreg(self.rd), xreg(self.rs2), xreg(self.rs1));
        write!(w, "{m}.{}{} {a}, {b}, ({c})", wd(self.d), aqrl(self.aqrl))
    }
    fn regs(&self) -> Regs {
        regs(X(self.rd), X(self.rs1), X(self.rs2), NO)
    }
}

format_struct!(
    /// AMOs: the operation from funct5, `amo<op>.{w,d}{.aq,.rl} rd, rs2, (rs1)`.
    Am { op: AmoOp, d: bool, rd: u8, rs1: u8, rs2: u8, aqrl: u8 }
);
impl Format for Am {
    fn decode(r: u32) -> Result<Self, String> {
        let d = amo_width(r)?;
        let op = match r >> 27 {
            0x01 => AmoOp::Swap,
            0x00 => AmoOp::Add,
            0x04 => AmoOp::Xor,
            0x0c => AmoOp::And,
            0x08 => AmoOp::Or,
            0x10 => AmoOp::Min,
            0x14 => AmoOp::Max,
            0x18 => AmoOp::Minu,
            0x1c => AmoOp::Maxu,
            _ => return Err(unknown(r)),
        };
        Ok(Am {
            op,
            d,
            rd: rd(r),
            rs1: rs1(r),
            rs2: rs2(r),
            aqrl: ((r >> 25) & 3) as u8,
        })
    }
    fn write(&self, w: &mut String, m: &str, _: Option<u64>) -> R {
        let n = match self.op {
            AmoOp::Swap => "swap",
            AmoOp::Add => "add",
            AmoOp::Xor => "xor",
            AmoOp::And => "and",
            AmoOp::Or => "or",
            AmoOp::Min => "min",
            AmoOp::Max => "max",
            AmoOp::Minu => "minu",
            AmoOp::Maxu => "maxu",
        };
        let (a, b, c) = (xreg(self.rd), xreg(self.rs2), xreg(self.rs1));
        write!(
            w,
            "{m}{n}.{}{} {a}, {b}, ({c})",
            wd(self.d),
            aqrl(self.aqrl)
        )
    }
    fn regs(&self) -> Regs {
        regs(X(self.rd), X(self.rs1), X(self.rs2), NO)
    }
}

format_struct!(
    /// FP load, format from the width field: `fl{h,w,d} frd, imm(rs1)`.
    FLd { fmt: FpFmt, rd: u8, rs1: u8, imm: i32 }
);
impl Format for FLd {
    fn decode(r: u32) -> Result<Self, String> {
        Ok(FLd {
            fmt: width_fmt(r)?,
            rd: rd(r),
            rs1: rs1(r),
            imm: imm_i(r),
        })
    }
    fn write(&self, w: &mut String, m: &str, _: Option<u64>) -> R {
        let m = format!("{m}{}", width_name(self.fmt));
        mem(w, &m, freg(self.rd), self.rs1, self.imm)
    }
    fn regs(&self) -> Regs {
        regs(F(self.rd), X(self.rs1), NO, NO)
    }
}

format_struct!(
    /// FP store, format from the width field: `fs{h,w,d} frs2, imm(rs1)`.
    FSt { fmt: FpFmt, rs1: u8, rs2: u8, imm: i32 }
);
impl Format for FSt {
    fn decode(r: u32) -> Result<Self, String> {
        Ok(FSt {
            fmt: width_fmt(r)?,
            rs1: rs1(r),
            rs2: rs2(r),
            imm: imm_s(r),
        })
    }
    fn write(&self, w: &mut String, m: &str, _: Option<u64>) -> R {
        let m = format!("{m}{}", width_name(self.fmt));
        mem(w, &m, freg(self.rs2), self.rs1, self.imm)
    }
    fn regs(&self) -> Regs {
        regs(NO, X(self.rs1), F(self.rs2), NO)
    }
}

format_struct!(
    /// OP-FP, two sources and a rounding mode: `op.fmt frd, frs1, frs2[, rm]`.
    F3 { fmt: FpFmt, rd: u8, rs1: u8, rs2: u8, rm: u8 }
);
impl Format for F3 {
    fn decode(r: u32) -> Result<Self, String> {
        Ok(F3 {
            fmt: fp_rd(r)?,
            rd: rd(r),
            rs1: rs1(r),
            rs2: rs2(r),
            rm: check_rm(funct3(r))?,
        })
    }
    fn write(&self, w: &mut String, m: &str, _: Option<u64>) -> R {
        f3op(w, m, self.fmt, self.rd, self.rs1, self.rs2, self.rm)
    }
    fn regs(&self) -> Regs {
        regs(F(self.rd), F(self.rs1), F(self.rs2), NO)
    }
}

format_struct!(
    /// OP-FP, one source and a rounding mode (`fsqrt`): `op.fmt frd, frs1[, rm]`.
    F1 { fmt: FpFmt, rd: u8, rs1: u8, rm: u8 }
);
impl Format for F1 {
    fn decode(r: u32) -> Result<Self, String> {
        Ok(F1 {
            fmt: fp_rd(r)?,
            rd: rd(r),
            rs1: rs1(r),
            rm: check_rm(funct3(r))?,
        })
    }
    fn write(&self, w: &mut String, m: &str, _: Option<u64>) -> R {
        let (a, b) = (freg(self.rd), freg(self.rs1));
        let rm = rm_suffix(self.rm, false);
        write!(w, "{m}.{} {a}, {b}{rm}", self.fmt.suffix())
    }
    fn regs(&self) -> Regs {
        regs(F(self.rd), F(self.rs1), NO, NO)
    }
}

format_struct!(
    /// OP-FP, two sources, no rounding (sign injection, min/max): `op.fmt frd, frs1, frs2`.
    F2 { fmt: FpFmt, rd: u8, rs1: u8, rs2: u8 }
);
impl Format for F2 {
    fn decode(r: u32) -> Result<Self, String> {
        Ok(F2 {
            fmt: fp_rd(r)?,
            rd: rd(r),
            rs1: rs1(r),
            rs2: rs2(r),
        })
    }
    fn write(&self, w: &mut String, m: &str, _: Option<u64>) -> R {
        ff(w, m, self.fmt, freg(self.rd), self.rs1, self.rs2)
    }
    fn regs(&self) -> Regs {
        regs(F(self.rd), F(self.rs1), F(self.rs2), NO)
    }
}

format_struct!(
    /// FP compare into an integer register: `op.fmt rd, frs1, frs2`.
    FCmp { fmt: FpFmt, rd: u8, rs1: u8, rs2: u8 }
);
impl Format for FCmp {
    fn decode(r: u32) -> Result<Self, String> {
        Ok(FCmp {
            fmt: fp_rd(r)?,
            rd: rd(r),
            rs1: rs1(r),
            rs2: rs2(r),
        })
    }
    fn write(&self, w: &mut String, m: &str, _: Option<u64>) -> R {
        ff(w, m, self.fmt, xreg(self.rd), self.rs1, self.rs2)
    }
    fn regs(&self) -> Regs {
        regs(X(self.rd), F(self.rs1), F(self.rs2), NO)
    }
}

format_struct!(
    /// FP source to an integer register (`fclass`): `op.fmt rd, frs1`.
    XF { fmt: FpFmt, rd: u8, rs1: u8 }
);
impl Format for XF {
    fn decode(r: u32) -> Result<Self, String> {
        Ok(XF {
            fmt: fp_rd(r)?,
            rd: rd(r),
            rs1: rs1(r),
        })
    }
    fn write(&self, w: &mut String, m: &str, _: Option<u64>) -> R {
        let (a, b) = (xreg(self.rd), freg(self.rs1));
        write!(w, "{m}.{} {a}, {b}", self.fmt.suffix())
    }
    fn regs(&self) -> Regs {
        regs(X(self.rd), F(self.rs1), NO, NO)
    }
}

format_struct!(
    /// FP bits to an integer register: `fmv.x.{w,d,h} rd, frs1`.
    MvXF { fmt: FpFmt, rd: u8, rs1: u8 }
);
impl Format for MvXF {
    fn decode(r: u32) -> Result<Self, String> {
        Ok(MvXF {
            fmt: fp_rd(r)?,
            rd: rd(r),
            rs1: rs1(r),
        })
    }
    fn write(&self, w: &mut String, m: &str, _: Option<u64>) -> R {
        let (a, b) = (xreg(self.rd), freg(self.rs1));
        write!(w, "{m}.x.{} {a}, {b}", width_name(self.fmt))
    }
    fn regs(&self) -> Regs {
        regs(X(self.rd), F(self.rs1), NO, NO)
    }
}

format_struct!(
    /// Integer bits to an FP register: `fmv.{w,d,h}.x frd, rs1`.
    MvFX { fmt: FpFmt, rd: u8, rs1: u8 }
);
impl Format for MvFX {
    fn decode(r: u32) -> Result<Self, String> {
        Ok(MvFX {
            fmt: fp_rd(r)?,
            rd: rd(r),
            rs1: rs1(r),
        })
    }
    fn write(&self, w: &mut String, m: &str, _: Option<u64>) -> R {
        let (a, b) = (freg(self.rd), xreg(self.rs1));
        write!(w, "{m}.{}.x {a}, {b}", width_name(self.fmt))
    }
    fn regs(&self) -> Regs {
        regs(F(self.rd), X(self.rs1), NO, NO)
    }
}

fn int_type(r: u32) -> Result<IntType, String> {
    match rs2(r) {
        0 => Ok(IntType::W),
        1 => Ok(IntType::Wu),
        2 => Ok(IntType::L),
        3 => Ok(IntType::Lu),
        _ => Err(unknown_op_fp(r)),
    }
}

format_struct!(
    /// FP to integer: `fcvt.{w,wu,l,lu}.fmt rd, frs1[, rm]`.
    FToI { fmt: FpFmt, it: IntType, rd: u8, rs1: u8, rm: u8 }
);
impl Format for FToI {
    fn decode(r: u32) -> Result<Self, String> {
        Ok(FToI {
            fmt: fp_rd(r)?,
            it: int_type(r)?,
            rd: rd(r),
            rs1: rs1(r),
            rm: check_rm(funct3(r))?,
        })
    }
    fn write(&self, w: &mut String, m: &str, _: Option<u64>) -> R {
        let (a, b) = (xreg(self.rd), freg(self.rs1));
        let rm = rm_suffix(self.rm, false);
        write!(
            w,
            "{m}.{}.{} {a}, {b}{rm}",
            self.it.suffix(),
            self.fmt.suffix()
        )
    }
    fn regs(&self) -> Regs {
        regs(X(self.rd), F(self.rs1), NO, NO)
    }
}

format_struct!(
    /// Integer to FP: `fcvt.fmt.{w,wu,l,lu} frd, rs1[, rm]`.
    IToF { fmt: FpFmt, it: IntType, rd: u8, rs1: u8, rm: u8 }
);
impl Format for IToF {
    fn decode(r: u32) -> Result<Self, String> {
        Ok(IToF {
            fmt: fp_rd(r)?,
            it: int_type(r)?,
            rd: rd(r),
            rs1: rs1(r),
            rm: check_rm(funct3(r))?,
        })
    }
    fn write(&self, w: &mut String, m: &str, _: Option<u64>) -> R {
        let exact = self.fmt == FpFmt::D && matches!(self.it, IntType::W | IntType::Wu);
        let (a, b) = (freg(self.rd), xreg(self.rs1));
        let rm = rm_suffix(self.rm, exact);
        write!(
            w,
            "{m}.{}.{} {a}, {b}{rm}",
            self.fmt.suffix(),
            self.it.suffix()
        )
    }
    fn regs(&self) -> Regs {
        regs(F(self.rd), X(self.rs1), NO, NO)
    }
}

format_struct!(
    /// Between FP formats: `fcvt.to.from frd, frs1[, rm]` (`from` in the rs2 field).
    FToF { to: FpFmt, from: FpFmt, rd: u8, rs1: u8, rm: u8 }
);
impl Format for FToF {
    fn decode(r: u32) -> Result<Self, String> {
        let to = fp_rd(r)?;
        let from = fp_fmt(rs2(r) as u32)?;
        if from == to {
            return Err(unknown_op_fp(r));
        }
        Ok(FToF {
            to,
            from,
            rd: rd(r),
            rs1: rs1(r),
            rm: check_rm(funct3(r))?,
        })
    }
    fn write(&self, w: &mut String, m: &str, _: Option<u64>) -> R {
        let exact = matches!(
            (self.to, self.from),
            (FpFmt::D, FpFmt::S) | (FpFmt::D, FpFmt::H) | (FpFmt::S, FpFmt::H)
        );
        let (a, b) = (freg(self.rd), freg(self.rs1));
        let rm = rm_suffix(self.rm, exact);
        write!(
            w,
            "{m}.{}.{} {a}, {b}{rm}",
            self.to.suffix(),
            self.from.suffix()
        )
    }
    fn regs(&self) -> Regs {
        regs(F(self.rd), F(self.rs1), NO, NO)
    }
}

format_struct!(
    /// R4-type fused multiply-add: `op.fmt frd, frs1, frs2, frs3[, rm]`.
    F4 { fmt: FpFmt, rd: u8, rs1: u8, rs2: u8, rs3: u8, rm: u8 }
);
impl Format for F4 {
    fn decode(r: u32) -> Result<Self, String> {
        Ok(F4 {
            fmt: fp_rd(r)?,
            rd: rd(r),
            rs1: rs1(r),
            rs2: rs2(r),
            rs3: ((r >> 27) & 31) as u8,
            rm: check_rm(funct3(r))?,
        })
    }
    fn write(&self, w: &mut String, m: &str, _: Option<u64>) -> R {
        let r = [self.rd, self.rs1, self.rs2, self.rs3];
        f4op(w, m, self.fmt, r, self.rm)
    }
    fn regs(&self) -> Regs {
        regs(F(self.rd), F(self.rs1), F(self.rs2), F(self.rs3))
    }
}
