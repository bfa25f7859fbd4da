//! Disassembly in the style of llvm-objdump-19: ABI register names, hexadecimal immediates,
//! the common aliases (`li`, `mv`, `ret`, `j`, `beqz`, `csrr`, `frflags`, `fmv.s`, ...).

use super::{AmoOp, CsrOp, FpFmt, Inst};
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

fn hex(v: i64) -> String {
    if v < 0 {
        format!("-{:#x}", v.unsigned_abs())
    } else {
        format!("{v:#x}")
    }
}

fn target(pc: Option<u64>, off: i32) -> String {
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
fn rm_suffix(rm: u8, exact: bool) -> String {
    let default = if exact { 0 } else { 7 };
    if rm == default {
        String::new()
    } else {
        format!(", {}", rm_name(rm))
    }
}

fn aqrl(a: u8) -> &'static str {
    match a {
        0 => "",
        1 => ".rl",
        2 => ".aq",
        _ => ".aqrl",
    }
}

fn fence_set(bits: u8) -> String {
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
    use Inst::*;
    let x = xreg;
    let f = freg;
    let mut s = String::new();
    let w = &mut s;
    let _ = match *inst {
        Lui { rd, imm } => write!(w, "lui {}, {:#x}", x(rd), (imm as u32) >> 12),
        Auipc { rd, imm } => write!(w, "auipc {}, {:#x}", x(rd), (imm as u32) >> 12),
        Jal { rd: 0, off } => write!(w, "j {}", target(pc, off)),
        Jal { rd: 1, off } => write!(w, "jal {}", target(pc, off)),
        Jal { rd, off } => write!(w, "jal {}, {}", x(rd), target(pc, off)),
        Jalr {
            rd: 0,
            rs1: 1,
            imm: 0,
        } => write!(w, "ret"),
        Jalr { rd: 0, rs1, imm: 0 } => write!(w, "jr {}", x(rs1)),
        Jalr { rd: 1, rs1, imm: 0 } => write!(w, "jalr {}", x(rs1)),
        Jalr { rd, rs1, imm } => write!(w, "jalr {}, {}({})", x(rd), hex(imm as i64), x(rs1)),
        Beq { rs1, rs2: 0, off } => write!(w, "beqz {}, {}", x(rs1), target(pc, off)),
        Bne { rs1, rs2: 0, off } => write!(w, "bnez {}, {}", x(rs1), target(pc, off)),
        Blt { rs1, rs2: 0, off } => write!(w, "bltz {}, {}", x(rs1), target(pc, off)),
        Bge { rs1, rs2: 0, off } => write!(w, "bgez {}, {}", x(rs1), target(pc, off)),
        Blt { rs1: 0, rs2, off } => write!(w, "bgtz {}, {}", x(rs2), target(pc, off)),
        Bge { rs1: 0, rs2, off } => write!(w, "blez {}, {}", x(rs2), target(pc, off)),
        Beq { rs1, rs2, off } => br(w, "beq", rs1, rs2, pc, off),
        Bne { rs1, rs2, off } => br(w, "bne", rs1, rs2, pc, off),
        Blt { rs1, rs2, off } => br(w, "blt", rs1, rs2, pc, off),
        Bge { rs1, rs2, off } => br(w, "bge", rs1, rs2, pc, off),
        Bltu { rs1, rs2, off } => br(w, "bltu", rs1, rs2, pc, off),
        Bgeu { rs1, rs2, off } => br(w, "bgeu", rs1, rs2, pc, off),
        Lb { rd, rs1, imm } => mem(w, "lb", x(rd), rs1, imm),
        Lh { rd, rs1, imm } => mem(w, "lh", x(rd), rs1, imm),
        Lw { rd, rs1, imm } => mem(w, "lw", x(rd), rs1, imm),
        Ld { rd, rs1, imm } => mem(w, "ld", x(rd), rs1, imm),
        Lbu { rd, rs1, imm } => mem(w, "lbu", x(rd), rs1, imm),
        Lhu { rd, rs1, imm } => mem(w, "lhu", x(rd), rs1, imm),
        Lwu { rd, rs1, imm } => mem(w, "lwu", x(rd), rs1, imm),
        Sb { rs1, rs2, imm } => mem(w, "sb", x(rs2), rs1, imm),
        Sh { rs1, rs2, imm } => mem(w, "sh", x(rs2), rs1, imm),
        Sw { rs1, rs2, imm } => mem(w, "sw", x(rs2), rs1, imm),
        Sd { rs1, rs2, imm } => mem(w, "sd", x(rs2), rs1, imm),
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
        Addi { rd, rs1, imm } => ri(w, "addi", rd, rs1, imm as i64),
        Slti { rd, rs1, imm } => ri(w, "slti", rd, rs1, imm as i64),
        Sltiu { rd, rs1, imm } => ri(w, "sltiu", rd, rs1, imm as i64),
        Xori { rd, rs1, imm } => ri(w, "xori", rd, rs1, imm as i64),
        Ori { rd, rs1, imm } => ri(w, "ori", rd, rs1, imm as i64),
        Andi { rd, rs1, imm } => ri(w, "andi", rd, rs1, imm as i64),
        Slli { rd, rs1, sh } => ri(w, "slli", rd, rs1, sh as i64),
        Srli { rd, rs1, sh } => ri(w, "srli", rd, rs1, sh as i64),
        Srai { rd, rs1, sh } => ri(w, "srai", rd, rs1, sh as i64),
        Addiw { rd, rs1, imm } => ri(w, "addiw", rd, rs1, imm as i64),
        Slliw { rd, rs1, sh } => ri(w, "slliw", rd, rs1, sh as i64),
        Srliw { rd, rs1, sh } => ri(w, "srliw", rd, rs1, sh as i64),
        Sraiw { rd, rs1, sh } => ri(w, "sraiw", rd, rs1, sh as i64),
        Add { rd, rs1: 0, rs2 } => write!(w, "mv {}, {}", x(rd), x(rs2)),
        Sub { rd, rs1: 0, rs2 } => write!(w, "neg {}, {}", x(rd), x(rs2)),
        Subw { rd, rs1: 0, rs2 } => write!(w, "negw {}, {}", x(rd), x(rs2)),
        Sltu { rd, rs1: 0, rs2 } => write!(w, "snez {}, {}", x(rd), x(rs2)),
        Slt { rd, rs1, rs2: 0 } => write!(w, "sltz {}, {}", x(rd), x(rs1)),
        Slt { rd, rs1: 0, rs2 } => write!(w, "sgtz {}, {}", x(rd), x(rs2)),
        Add { rd, rs1, rs2 } => rr(w, "add", rd, rs1, rs2),
        Sub { rd, rs1, rs2 } => rr(w, "sub", rd, rs1, rs2),
        Sll { rd, rs1, rs2 } => rr(w, "sll", rd, rs1, rs2),
        Slt { rd, rs1, rs2 } => rr(w, "slt", rd, rs1, rs2),
        Sltu { rd, rs1, rs2 } => rr(w, "sltu", rd, rs1, rs2),
        Xor { rd, rs1, rs2 } => rr(w, "xor", rd, rs1, rs2),
        Srl { rd, rs1, rs2 } => rr(w, "srl", rd, rs1, rs2),
        Sra { rd, rs1, rs2 } => rr(w, "sra", rd, rs1, rs2),
        Or { rd, rs1, rs2 } => rr(w, "or", rd, rs1, rs2),
        And { rd, rs1, rs2 } => rr(w, "and", rd, rs1, rs2),
        Addw { rd, rs1, rs2 } => rr(w, "addw", rd, rs1, rs2),
        Subw { rd, rs1, rs2 } => rr(w, "subw", rd, rs1, rs2),
        Sllw { rd, rs1, rs2 } => rr(w, "sllw", rd, rs1, rs2),
        Srlw { rd, rs1, rs2 } => rr(w, "srlw", rd, rs1, rs2),
        Sraw { rd, rs1, rs2 } => rr(w, "sraw", rd, rs1, rs2),
        Mul { rd, rs1, rs2 } => rr(w, "mul", rd, rs1, rs2),
        Mulh { rd, rs1, rs2 } => rr(w, "mulh", rd, rs1, rs2),
        Mulhsu { rd, rs1, rs2 } => rr(w, "mulhsu", rd, rs1, rs2),
        Mulhu { rd, rs1, rs2 } => rr(w, "mulhu", rd, rs1, rs2),
        Div { rd, rs1, rs2 } => rr(w, "div", rd, rs1, rs2),
        Divu { rd, rs1, rs2 } => rr(w, "divu", rd, rs1, rs2),
        Rem { rd, rs1, rs2 } => rr(w, "rem", rd, rs1, rs2),
        Remu { rd, rs1, rs2 } => rr(w, "remu", rd, rs1, rs2),
        Mulw { rd, rs1, rs2 } => rr(w, "mulw", rd, rs1, rs2),
        Divw { rd, rs1, rs2 } => rr(w, "divw", rd, rs1, rs2),
        Divuw { rd, rs1, rs2 } => rr(w, "divuw", rd, rs1, rs2),
        Remw { rd, rs1, rs2 } => rr(w, "remw", rd, rs1, rs2),
        Remuw { rd, rs1, rs2 } => rr(w, "remuw", rd, rs1, rs2),
        Fence {
            pred: 0xf,
            succ: 0xf,
        } => write!(w, "fence"),
        Fence { pred, succ } => write!(w, "fence {}, {}", fence_set(pred), fence_set(succ)),
        FenceI => write!(w, "fence.i"),
        Ecall => write!(w, "ecall"),
        Ebreak => write!(w, "ebreak"),
        Csr { op, rd, rs1, csr } => csr_text(w, op, rd, rs1, csr),
        Lr {
            d,
            rd,
            rs1,
            aqrl: a,
        } => write!(
            w,
            "lr.{}{} {}, ({})",
            if d { "d" } else { "w" },
            aqrl(a),
            x(rd),
            x(rs1)
        ),
        Sc {
            d,
            rd,
            rs1,
            rs2,
            aqrl: a,
        } => write!(
            w,
            "sc.{}{} {}, {}, ({})",
            if d { "d" } else { "w" },
            aqrl(a),
            x(rd),
            x(rs2),
            x(rs1)
        ),
        Amo {
            op,
            d,
            rd,
            rs1,
            rs2,
            aqrl: a,
        } => {
            let n = match op {
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
            write!(
                w,
                "amo{n}.{}{} {}, {}, ({})",
                if d { "d" } else { "w" },
                aqrl(a),
                x(rd),
                x(rs2),
                x(rs1)
            )
        }
        Fl { fmt, rd, rs1, imm } => {
            let m = match fmt {
                FpFmt::H => "flh",
                FpFmt::S => "flw",
                FpFmt::D => "fld",
            };
            mem(w, m, f(rd), rs1, imm)
        }
        Fs { fmt, rs1, rs2, imm } => {
            let m = match fmt {
                FpFmt::H => "fsh",
                FpFmt::S => "fsw",
                FpFmt::D => "fsd",
            };
            mem(w, m, f(rs2), rs1, imm)
        }
        Fadd {
            fmt,
            rd,
            rs1,
            rs2,
            rm,
        } => f3op(w, "fadd", fmt, rd, rs1, rs2, rm),
        Fsub {
            fmt,
            rd,
            rs1,
            rs2,
            rm,
        } => f3op(w, "fsub", fmt, rd, rs1, rs2, rm),
        Fmul {
            fmt,
            rd,
            rs1,
            rs2,
            rm,
        } => f3op(w, "fmul", fmt, rd, rs1, rs2, rm),
        Fdiv {
            fmt,
            rd,
            rs1,
            rs2,
            rm,
        } => f3op(w, "fdiv", fmt, rd, rs1, rs2, rm),
        Fsqrt { fmt, rd, rs1, rm } => write!(
            w,
            "fsqrt.{} {}, {}{}",
            fmt.suffix(),
            f(rd),
            f(rs1),
            rm_suffix(rm, false)
        ),
        Fsgnj { fmt, rd, rs1, rs2 } if rs1 == rs2 => {
            write!(w, "fmv.{} {}, {}", fmt.suffix(), f(rd), f(rs1))
        }
        Fsgnjn { fmt, rd, rs1, rs2 } if rs1 == rs2 => {
            write!(w, "fneg.{} {}, {}", fmt.suffix(), f(rd), f(rs1))
        }
        Fsgnjx { fmt, rd, rs1, rs2 } if rs1 == rs2 => {
            write!(w, "fabs.{} {}, {}", fmt.suffix(), f(rd), f(rs1))
        }
        Fsgnj { fmt, rd, rs1, rs2 } => ff(w, "fsgnj", fmt, f(rd), rs1, rs2),
        Fsgnjn { fmt, rd, rs1, rs2 } => ff(w, "fsgnjn", fmt, f(rd), rs1, rs2),
        Fsgnjx { fmt, rd, rs1, rs2 } => ff(w, "fsgnjx", fmt, f(rd), rs1, rs2),
        Fmin { fmt, rd, rs1, rs2 } => ff(w, "fmin", fmt, f(rd), rs1, rs2),
        Fmax { fmt, rd, rs1, rs2 } => ff(w, "fmax", fmt, f(rd), rs1, rs2),
        Feq { fmt, rd, rs1, rs2 } => ff(w, "feq", fmt, x(rd), rs1, rs2),
        Flt { fmt, rd, rs1, rs2 } => ff(w, "flt", fmt, x(rd), rs1, rs2),
        Fle { fmt, rd, rs1, rs2 } => ff(w, "fle", fmt, x(rd), rs1, rs2),
        Fclass { fmt, rd, rs1 } => write!(w, "fclass.{} {}, {}", fmt.suffix(), x(rd), f(rs1)),
        FmvXF { fmt, rd, rs1 } => {
            let n = if fmt == FpFmt::S { "w" } else { fmt.suffix() };
            write!(w, "fmv.x.{n} {}, {}", x(rd), f(rs1))
        }
        FmvFX { fmt, rd, rs1 } => {
            let n = if fmt == FpFmt::S { "w" } else { fmt.suffix() };
            write!(w, "fmv.{n}.x {}, {}", f(rd), x(rs1))
        }
        FcvtToInt {
            fmt,
            it,
            rd,
            rs1,
            rm,
        } => write!(
            w,
            "fcvt.{}.{} {}, {}{}",
            it.suffix(),
            fmt.suffix(),
            x(rd),
            f(rs1),
            rm_suffix(rm, false)
        ),
        FcvtFromInt {
            fmt,
            it,
            rd,
            rs1,
            rm,
        } => {
            let exact = fmt == FpFmt::D && matches!(it, super::IntType::W | super::IntType::Wu);
            write!(
                w,
                "fcvt.{}.{} {}, {}{}",
                fmt.suffix(),
                it.suffix(),
                f(rd),
                x(rs1),
                rm_suffix(rm, exact)
            )
        }
        FcvtFF {
            to,
            from,
            rd,
            rs1,
            rm,
        } => {
            let exact = matches!(
                (to, from),
                (FpFmt::D, FpFmt::S) | (FpFmt::D, FpFmt::H) | (FpFmt::S, FpFmt::H)
            );
            write!(
                w,
                "fcvt.{}.{} {}, {}{}",
                to.suffix(),
                from.suffix(),
                f(rd),
                f(rs1),
                rm_suffix(rm, exact)
            )
        }
        Fmadd {
            fmt,
            rd,
            rs1,
            rs2,
            rs3,
            rm,
        } => f4op(w, "fmadd", fmt, [rd, rs1, rs2, rs3], rm),
        Fmsub {
            fmt,
            rd,
            rs1,
            rs2,
            rs3,
            rm,
        } => f4op(w, "fmsub", fmt, [rd, rs1, rs2, rs3], rm),
        Fnmsub {
            fmt,
            rd,
            rs1,
            rs2,
            rs3,
            rm,
        } => f4op(w, "fnmsub", fmt, [rd, rs1, rs2, rs3], rm),
        Fnmadd {
            fmt,
            rd,
            rs1,
            rs2,
            rs3,
            rm,
        } => f4op(w, "fnmadd", fmt, [rd, rs1, rs2, rs3], rm),
        Xpop(x) => write!(w, "{x}"),
        // The vector unit's Display separates mnemonic and operands with a tab, as
        // llvm-objdump does; traces use one space throughout.
        Vector(v) => write!(w, "{}", v.to_string().replacen('\t', " ", 1)),
    };
    s
}

type R = std::fmt::Result;

fn br(w: &mut String, m: &str, rs1: u8, rs2: u8, pc: Option<u64>, off: i32) -> R {
    write!(w, "{m} {}, {}, {}", xreg(rs1), xreg(rs2), target(pc, off))
}
fn mem(w: &mut String, m: &str, r: &str, base: u8, imm: i32) -> R {
    write!(w, "{m} {r}, {}({})", hex(imm as i64), xreg(base))
}
fn ri(w: &mut String, m: &str, rd: u8, rs1: u8, imm: i64) -> R {
    write!(w, "{m} {}, {}, {}", xreg(rd), xreg(rs1), hex(imm))
}
fn rr(w: &mut String, m: &str, rd: u8, rs1: u8, rs2: u8) -> R {
    write!(w, "{m} {}, {}, {}", xreg(rd), xreg(rs1), xreg(rs2))
}
fn ff(w: &mut String, m: &str, fmt: FpFmt, rd: &str, rs1: u8, rs2: u8) -> R {
    write!(w, "{m}.{} {rd}, {}, {}", fmt.suffix(), freg(rs1), freg(rs2))
}
fn f3op(w: &mut String, m: &str, fmt: FpFmt, rd: u8, rs1: u8, rs2: u8, rm: u8) -> R {
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
fn f4op(w: &mut String, m: &str, fmt: FpFmt, r: [u8; 4], rm: u8) -> R {
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

fn csr_text(w: &mut String, op: CsrOp, rd: u8, rs1: u8, csr: u16) -> R {
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
