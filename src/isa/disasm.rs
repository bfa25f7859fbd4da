//! Disassembly in the style of llvm-objdump-19: ABI register names, hexadecimal immediates,
//! the common aliases (`li`, `mv`, `ret`, `j`, `beqz`, `csrr`, `frflags`, `fmv.s`, ...).

use super::{CsrOp, FpFmt, Inst};
use std::fmt::Write as _;

/// ABI name of integer register `r`.
pub fn xreg(r: u8) -> &'static str {
    const N: [&str; 32] = [
        "zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0", "a1", "a2", "a3", "a4",
        "a5", "a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4",
        "t5", "t6",
    ];
    N[(r & 31) as usize]
}

/// ABI name of FP register `r`.
pub fn freg(r: u8) -> &'static str {
    const N: [&str; 32] = [
        "ft0", "ft1", "ft2", "ft3", "ft4", "ft5", "ft6", "ft7", "fs0", "fs1", "fa0", "fa1", "fa2",
        "fa3", "fa4", "fa5", "fa6", "fa7", "fs2", "fs3", "fs4", "fs5", "fs6", "fs7", "fs8", "fs9",
        "fs10", "fs11", "ft8", "ft9", "ft10", "ft11",
    ];
    N[(r & 31) as usize]
}

/// Name of a CSR, or its number in hex.
pub fn csr_name(csr: u16) -> String {
    let n = match csr {
        0x001 => "fflags",
        0x002 => "frm",
        0x003 => "fcsr",
        0x008 => "vstart",
        0x009 => "vxsat",
        0x00a => "vxrm",
        0x00f => "vcsr",
        0xc00 => "cycle",
        0xc01 => "time",
        0xc02 => "instret",
        0xc20 => "vl",
        0xc21 => "vtype",
        0xc22 => "vlenb",
        0xf14 => "mhartid",
        0x301 => "misa",
        0x300 => "mstatus",
        _ => return format!("{csr:#x}"),
    };
    n.to_string()
}

pub(super) fn hex(v: i64) -> String {
    if v < 0 {
        format!("-{:#x}", v.unsigned_abs())
    } else {
        format!("{v:#x}")
    }
}

pub(super) fn target(pc: Option<u64>, off: i32) -> String {
    match pc {
        Some(pc) => format!("{:#x}", pc.wrapping_add(off as i64 as u64)),
        None => hex(off as i64),
    }
}

fn rm_name(rm: u8) -> &'static str {
    match rm {
        0 => "rne",
        1 => "rtz",
        2 => "rdn",
        3 => "rup",
        4 => "rmm",
        _ => "dyn",
    }
}

/// `, rm` suffix: omitted when the rounding mode is the default (dynamic, or `rne` for the
/// conversions that are always exact), as llvm-objdump does.
pub(super) fn rm_suffix(rm: u8, exact: bool) -> String {
    let default = if exact { 0 } else { 7 };
    if rm == default {
        String::new()
    } else {
        format!(", {}", rm_name(rm))
    }
}

pub(super) fn aqrl(a: u8) -> &'static str {
    match a {
        0 => "",
        1 => ".rl",
        2 => ".aq",
        _ => ".aqrl",
    }
}

pub(super) fn fence_set(bits: u8) -> String {
    let mut s = String::new();
    for (b, c) in [(8, 'i'), (4, 'o'), (2, 'r'), (1, 'w')] {
        if bits & b != 0 {
            s.push(c);
        }
    }
    s
}

/// Disassembles `inst`; with `pc`, branch and jump targets are printed as absolute addresses.
pub fn disasm(inst: &Inst, pc: Option<u64>) -> String {
    let mut s = String::new();
    let w = &mut s;
    match inst {
        Inst::Xpop(x) => {
            let _ = write!(w, "{x}");
        }
        // The vector unit's Display separates mnemonic and operands with a tab, as
        // llvm-objdump does; traces use one space throughout.
        Inst::Vector(v) => {
            let _ = write!(w, "{}", v.to_string().replacen('\t', " ", 1));
        }
        _ => {
            if alias(w, inst, pc).is_none() {
                inst.write_scalar(w, pc);
            }
        }
    }
    s
}

/// The aliases llvm-objdump prints instead of the table's text (`li`, `mv`, `ret`, `beqz`,
/// `fmv.s`, ...); None when `inst` has none.
fn alias(w: &mut String, inst: &Inst, pc: Option<u64>) -> Option<R> {
    use Inst::*;
    let x = xreg;
    let f = freg;
    Some(match *inst {
        Jal { rd: 0, off } => write!(w, "j {}", target(pc, off)),
        Jal { rd: 1, off } => write!(w, "jal {}", target(pc, off)),
        Jalr {
            rd: 0,
            rs1: 1,
            imm: 0,
        } => write!(w, "ret"),
        Jalr { rd: 0, rs1, imm: 0 } => write!(w, "jr {}", x(rs1)),
        Jalr { rd: 1, rs1, imm: 0 } => write!(w, "jalr {}", x(rs1)),
        Beq { rs1, rs2: 0, off } => write!(w, "beqz {}, {}", x(rs1), target(pc, off)),
        Bne { rs1, rs2: 0, off } => write!(w, "bnez {}, {}", x(rs1), target(pc, off)),
        Blt { rs1, rs2: 0, off } => write!(w, "bltz {}, {}", x(rs1), target(pc, off)),
        Bge { rs1, rs2: 0, off } => write!(w, "bgez {}, {}", x(rs1), target(pc, off)),
        Blt { rs1: 0, rs2, off } => write!(w, "bgtz {}, {}", x(rs2), target(pc, off)),
        Bge { rs1: 0, rs2, off } => write!(w, "blez {}, {}", x(rs2), target(pc, off)),
        Addi {
            rd: 0,
            rs1: 0,
            imm: 0,
        } => write!(w, "nop"),
        Addi { rd, rs1: 0, imm } => write!(w, "li {}, {}", x(rd), hex(imm as i64)),
        Addi { rd, rs1, imm: 0 } => write!(w, "mv {}, {}", x(rd), x(rs1)),
        Addiw { rd, rs1, imm: 0 } => write!(w, "sext.w {}, {}", x(rd), x(rs1)),
        Sltiu { rd, rs1, imm: 1 } => write!(w, "seqz {}, {}", x(rd), x(rs1)),
        Xori { rd, rs1, imm: -1 } => write!(w, "not {}, {}", x(rd), x(rs1)),
        Add { rd, rs1: 0, rs2 } => write!(w, "mv {}, {}", x(rd), x(rs2)),
        Sub { rd, rs1: 0, rs2 } => write!(w, "neg {}, {}", x(rd), x(rs2)),
        Subw { rd, rs1: 0, rs2 } => write!(w, "negw {}, {}", x(rd), x(rs2)),
        Sltu { rd, rs1: 0, rs2 } => write!(w, "snez {}, {}", x(rd), x(rs2)),
        Slt { rd, rs1, rs2: 0 } => write!(w, "sltz {}, {}", x(rd), x(rs1)),
        Slt { rd, rs1: 0, rs2 } => write!(w, "sgtz {}, {}", x(rd), x(rs2)),
        Fence {
            pred: 0xf,
            succ: 0xf,
        } => write!(w, "fence"),
        Fsgnj { fmt, rd, rs1, rs2 } if rs1 == rs2 => {
            write!(w, "fmv.{} {}, {}", fmt.suffix(), f(rd), f(rs1))
        }
        Fsgnjn { fmt, rd, rs1, rs2 } if rs1 == rs2 => {
            write!(w, "fneg.{} {}, {}", fmt.suffix(), f(rd), f(rs1))
        }
        Fsgnjx { fmt, rd, rs1, rs2 } if rs1 == rs2 => {
            write!(w, "fabs.{} {}, {}", fmt.suffix(), f(rd), f(rs1))
        }
        _ => return None,
    })
}

type R = std::fmt::Result;

pub(super) fn br(w: &mut String, m: &str, rs1: u8, rs2: u8, pc: Option<u64>, off: i32) -> R {
    write!(w, "{m} {}, {}, {}", xreg(rs1), xreg(rs2), target(pc, off))
}
pub(super) fn mem(w: &mut String, m: &str, r: &str, base: u8, imm: i32) -> R {
    write!(w, "{m} {r}, {}({})", hex(imm as i64), xreg(base))
}
pub(super) fn ri(w: &mut String, m: &str, rd: u8, rs1: u8, imm: i64) -> R {
    write!(w, "{m} {}, {}, {}", xreg(rd), xreg(rs1), hex(imm))
}
pub(super) fn rr(w: &mut String, m: &str, rd: u8, rs1: u8, rs2: u8) -> R {
    write!(w, "{m} {}, {}, {}", xreg(rd), xreg(rs1), xreg(rs2))
}
pub(super) fn ff(w: &mut String, m: &str, fmt: FpFmt, rd: &str, rs1: u8, rs2: u8) -> R {
    write!(w, "{m}.{} {rd}, {}, {}", fmt.suffix(), freg(rs1), freg(rs2))
}
pub(super) fn f3op(w: &mut String, m: &str, fmt: FpFmt, rd: u8, rs1: u8, rs2: u8, rm: u8) -> R {
    write!(
        w,
        "{m}.{} {}, {}, {}{}",
        fmt.suffix(),
        freg(rd),
        freg(rs1),
        freg(rs2),
        rm_suffix(rm, false)
    )
}
pub(super) fn f4op(w: &mut String, m: &str, fmt: FpFmt, r: [u8; 4], rm: u8) -> R {
    write!(
        w,
        "{m}.{} {}, {}, {}, {}{}",
        fmt.suffix(),
        freg(r[0]),
        freg(r[1]),
        freg(r[2]),
        freg(r[3]),
        rm_suffix(rm, false)
    )
}

pub(super) fn csr_text(w: &mut String, op: CsrOp, rd: u8, rs1: u8, csr: u16) -> R {
    let x = xreg;
    // FP CSR aliases.
    let fp_alias = match csr {
        0x001 => Some("flags"),
        0x002 => Some("rm"),
        0x003 => Some("csr"),
        _ => None,
    };
    if let Some(a) = fp_alias {
        match op {
            CsrOp::Rs if rs1 == 0 => return write!(w, "fr{a} {}", x(rd)),
            CsrOp::Rw if rd == 0 => return write!(w, "fs{a} {}", x(rs1)),
            CsrOp::Rw => return write!(w, "fs{a} {}, {}", x(rd), x(rs1)),
            CsrOp::Rwi if csr != 3 && rd == 0 => return write!(w, "fs{a}i {rs1:#x}"),
            CsrOp::Rwi if csr != 3 => return write!(w, "fs{a}i {}, {rs1:#x}", x(rd)),
            _ => {}
        }
    }
    let name = csr_name(csr);
    match op {
        CsrOp::Rs if rs1 == 0 => match csr {
            0xc00 => write!(w, "rdcycle {}", x(rd)),
            0xc01 => write!(w, "rdtime {}", x(rd)),
            0xc02 => write!(w, "rdinstret {}", x(rd)),
            _ => write!(w, "csrr {}, {name}", x(rd)),
        },
        CsrOp::Rw if rd == 0 => write!(w, "csrw {name}, {}", x(rs1)),
        CsrOp::Rs if rd == 0 => write!(w, "csrs {name}, {}", x(rs1)),
        CsrOp::Rc if rd == 0 => write!(w, "csrc {name}, {}", x(rs1)),
        CsrOp::Rwi if rd == 0 => write!(w, "csrwi {name}, {rs1:#x}"),
        CsrOp::Rsi if rd == 0 => write!(w, "csrsi {name}, {rs1:#x}"),
        CsrOp::Rci if rd == 0 => write!(w, "csrci {name}, {rs1:#x}"),
        CsrOp::Rw => write!(w, "csrrw {}, {name}, {}", x(rd), x(rs1)),
        CsrOp::Rs => write!(w, "csrrs {}, {name}, {}", x(rd), x(rs1)),
        CsrOp::Rc => write!(w, "csrrc {}, {name}, {}", x(rd), x(rs1)),
        CsrOp::Rwi => write!(w, "csrrwi {}, {name}, {rs1:#x}", x(rd)),
        CsrOp::Rsi => write!(w, "csrrsi {}, {name}, {rs1:#x}", x(rd)),
        CsrOp::Rci => write!(w, "csrrci {}, {name}, {rs1:#x}", x(rd)),
    }
}

impl std::fmt::Display for Inst {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&disasm(self, None))
    }
}
