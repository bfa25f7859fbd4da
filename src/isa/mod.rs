//! Instruction decode: RV64IMAFDC + Zicsr + Zifencei + Zfh, 32- and 16-bit encodings, into
//! the compact [`Inst`] enum, plus llvm-objdump-style disassembly ([`disasm`]).
//!
//! Compressed (RVC) encodings expand to the same [`Inst`] as their 32-bit equivalents; the
//! encoding length travels beside the instruction (see [`decode`]). Decoding happens once per
//! PC: the hart keeps a pre-decoded cache, so nothing here is on the per-instruction path.

mod compressed;
pub mod disasm;
pub mod vector;
pub mod xpop;

pub use compressed::decode16;
use xpop::XInst;

/// An FP format (the `fmt` field of OP-FP: 00 = S, 01 = D, 10 = H).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FpFmt {
    /// binary32 (F).
    S,
    /// binary64 (D).
    D,
    /// binary16 (Zfh).
    H,
}

impl FpFmt {
    /// The suffix used in mnemonics (`s`, `d`, `h`).
    pub fn suffix(self) -> &'static str {
        match self {
            FpFmt::S => "s",
            FpFmt::D => "d",
            FpFmt::H => "h",
        }
    }
}

/// The integer side of an FP<->integer conversion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IntType {
    /// Signed 32-bit (`w`).
    W,
    /// Unsigned 32-bit (`wu`).
    Wu,
    /// Signed 64-bit (`l`).
    L,
    /// Unsigned 64-bit (`lu`).
    Lu,
}

impl IntType {
    fn suffix(self) -> &'static str {
        match self {
            IntType::W => "w",
            IntType::Wu => "wu",
            IntType::L => "l",
            IntType::Lu => "lu",
        }
    }
}

/// Zicsr operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CsrOp {
    /// csrrw: write rs1.
    Rw,
    /// csrrs: set bits of rs1.
    Rs,
    /// csrrc: clear bits of rs1.
    Rc,
    /// csrrwi: write the 5-bit immediate.
    Rwi,
    /// csrrsi.
    Rsi,
    /// csrrci.
    Rci,
}

/// A-extension read-modify-write operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AmoOp {
    /// amoswap.
    Swap,
    /// amoadd.
    Add,
    /// amoxor.
    Xor,
    /// amoand.
    And,
    /// amoor.
    Or,
    /// amomin (signed).
    Min,
    /// amomax (signed).
    Max,
    /// amominu.
    Minu,
    /// amomaxu.
    Maxu,
}

/// One decoded instruction. Register fields are register numbers (0..=31); immediates are
/// sign-extended values (branch/jump offsets in bytes, `lui`/`auipc` already shifted left by
/// 12); `rm` is the 3-bit rounding-mode field (7 = dynamic, use `frm`).
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inst {
    Lui {
        rd: u8,
        imm: i32,
    },
    Auipc {
        rd: u8,
        imm: i32,
    },
    Jal {
        rd: u8,
        off: i32,
    },
    Jalr {
        rd: u8,
        rs1: u8,
        imm: i32,
    },
    Beq {
        rs1: u8,
        rs2: u8,
        off: i32,
    },
    Bne {
        rs1: u8,
        rs2: u8,
        off: i32,
    },
    Blt {
        rs1: u8,
        rs2: u8,
        off: i32,
    },
    Bge {
        rs1: u8,
        rs2: u8,
        off: i32,
    },
    Bltu {
        rs1: u8,
        rs2: u8,
        off: i32,
    },
    Bgeu {
        rs1: u8,
        rs2: u8,
        off: i32,
    },
    Lb {
        rd: u8,
        rs1: u8,
        imm: i32,
    },
    Lh {
        rd: u8,
        rs1: u8,
        imm: i32,
    },
    Lw {
        rd: u8,
        rs1: u8,
        imm: i32,
    },
    Ld {
        rd: u8,
        rs1: u8,
        imm: i32,
    },
    Lbu {
        rd: u8,
        rs1: u8,
        imm: i32,
    },
    Lhu {
        rd: u8,
        rs1: u8,
        imm: i32,
    },
    Lwu {
        rd: u8,
        rs1: u8,
        imm: i32,
    },
    Sb {
        rs1: u8,
        rs2: u8,
        imm: i32,
    },
    Sh {
        rs1: u8,
        rs2: u8,
        imm: i32,
    },
    Sw {
        rs1: u8,
        rs2: u8,
        imm: i32,
    },
    Sd {
        rs1: u8,
        rs2: u8,
        imm: i32,
    },
    Addi {
        rd: u8,
        rs1: u8,
        imm: i32,
    },
    Slti {
        rd: u8,
        rs1: u8,
        imm: i32,
    },
    Sltiu {
        rd: u8,
        rs1: u8,
        imm: i32,
    },
    Xori {
        rd: u8,
        rs1: u8,
        imm: i32,
    },
    Ori {
        rd: u8,
        rs1: u8,
        imm: i32,
    },
    Andi {
        rd: u8,
        rs1: u8,
        imm: i32,
    },
    Slli {
        rd: u8,
        rs1: u8,
        sh: u8,
    },
    Srli {
        rd: u8,
        rs1: u8,
        sh: u8,
    },
    Srai {
        rd: u8,
        rs1: u8,
        sh: u8,
    },
    Addiw {
        rd: u8,
        rs1: u8,
        imm: i32,
    },
    Slliw {
        rd: u8,
        rs1: u8,
        sh: u8,
    },
    Srliw {
        rd: u8,
        rs1: u8,
        sh: u8,
    },
    Sraiw {
        rd: u8,
        rs1: u8,
        sh: u8,
    },
    Add {
        rd: u8,
        rs1: u8,
        rs2: u8,
    },
    Sub {
        rd: u8,
        rs1: u8,
        rs2: u8,
    },
    Sll {
        rd: u8,
        rs1: u8,
        rs2: u8,
    },
    Slt {
        rd: u8,
        rs1: u8,
        rs2: u8,
    },
    Sltu {
        rd: u8,
        rs1: u8,
        rs2: u8,
    },
    Xor {
        rd: u8,
        rs1: u8,
        rs2: u8,
    },
    Srl {
        rd: u8,
        rs1: u8,
        rs2: u8,
    },
    Sra {
        rd: u8,
        rs1: u8,
        rs2: u8,
    },
    Or {
        rd: u8,
        rs1: u8,
        rs2: u8,
    },
    And {
        rd: u8,
        rs1: u8,
        rs2: u8,
    },
    Addw {
        rd: u8,
        rs1: u8,
        rs2: u8,
    },
    Subw {
        rd: u8,
        rs1: u8,
        rs2: u8,
    },
    Sllw {
        rd: u8,
        rs1: u8,
        rs2: u8,
    },
    Srlw {
        rd: u8,
        rs1: u8,
        rs2: u8,
    },
    Sraw {
        rd: u8,
        rs1: u8,
        rs2: u8,
    },
    Mul {
        rd: u8,
        rs1: u8,
        rs2: u8,
    },
    Mulh {
        rd: u8,
        rs1: u8,
        rs2: u8,
    },
    Mulhsu {
        rd: u8,
        rs1: u8,
        rs2: u8,
    },
    Mulhu {
        rd: u8,
        rs1: u8,
        rs2: u8,
    },
    Div {
        rd: u8,
        rs1: u8,
        rs2: u8,
    },
    Divu {
        rd: u8,
        rs1: u8,
        rs2: u8,
    },
    Rem {
        rd: u8,
        rs1: u8,
        rs2: u8,
    },
    Remu {
        rd: u8,
        rs1: u8,
        rs2: u8,
    },
    Mulw {
        rd: u8,
        rs1: u8,
        rs2: u8,
    },
    Divw {
        rd: u8,
        rs1: u8,
        rs2: u8,
    },
    Divuw {
        rd: u8,
        rs1: u8,
        rs2: u8,
    },
    Remw {
        rd: u8,
        rs1: u8,
        rs2: u8,
    },
    Remuw {
        rd: u8,
        rs1: u8,
        rs2: u8,
    },
    Fence {
        pred: u8,
        succ: u8,
    },
    FenceI,
    Ecall,
    Ebreak,
    Csr {
        op: CsrOp,
        rd: u8,
        rs1: u8,
        csr: u16,
    },
    Lr {
        d: bool,
        rd: u8,
        rs1: u8,
        aqrl: u8,
    },
    Sc {
        d: bool,
        rd: u8,
        rs1: u8,
        rs2: u8,
        aqrl: u8,
    },
    Amo {
        op: AmoOp,
        d: bool,
        rd: u8,
        rs1: u8,
        rs2: u8,
        aqrl: u8,
    },
    Fl {
        fmt: FpFmt,
        rd: u8,
        rs1: u8,
        imm: i32,
    },
    Fs {
        fmt: FpFmt,
        rs1: u8,
        rs2: u8,
        imm: i32,
    },
    Fadd {
        fmt: FpFmt,
        rd: u8,
        rs1: u8,
        rs2: u8,
        rm: u8,
    },
    Fsub {
        fmt: FpFmt,
        rd: u8,
        rs1: u8,
        rs2: u8,
        rm: u8,
    },
    Fmul {
        fmt: FpFmt,
        rd: u8,
        rs1: u8,
        rs2: u8,
        rm: u8,
    },
    Fdiv {
        fmt: FpFmt,
        rd: u8,
        rs1: u8,
        rs2: u8,
        rm: u8,
    },
    Fsqrt {
        fmt: FpFmt,
        rd: u8,
        rs1: u8,
        rm: u8,
    },
    Fsgnj {
        fmt: FpFmt,
        rd: u8,
        rs1: u8,
        rs2: u8,
    },
    Fsgnjn {
        fmt: FpFmt,
        rd: u8,
        rs1: u8,
        rs2: u8,
    },
    Fsgnjx {
        fmt: FpFmt,
        rd: u8,
        rs1: u8,
        rs2: u8,
    },
    Fmin {
        fmt: FpFmt,
        rd: u8,
        rs1: u8,
        rs2: u8,
    },
    Fmax {
        fmt: FpFmt,
        rd: u8,
        rs1: u8,
        rs2: u8,
    },
    Feq {
        fmt: FpFmt,
        rd: u8,
        rs1: u8,
        rs2: u8,
    },
    Flt {
        fmt: FpFmt,
        rd: u8,
        rs1: u8,
        rs2: u8,
    },
    Fle {
        fmt: FpFmt,
        rd: u8,
        rs1: u8,
        rs2: u8,
    },
    Fclass {
        fmt: FpFmt,
        rd: u8,
        rs1: u8,
    },
    /// fmv.x.w / fmv.x.d / fmv.x.h: FP bits to an integer register.
    FmvXF {
        fmt: FpFmt,
        rd: u8,
        rs1: u8,
    },
    /// fmv.w.x / fmv.d.x / fmv.h.x: integer bits to an FP register.
    FmvFX {
        fmt: FpFmt,
        rd: u8,
        rs1: u8,
    },
    /// fcvt.{w,wu,l,lu}.{s,d,h}.
    FcvtToInt {
        fmt: FpFmt,
        it: IntType,
        rd: u8,
        rs1: u8,
        rm: u8,
    },
    /// fcvt.{s,d,h}.{w,wu,l,lu}.
    FcvtFromInt {
        fmt: FpFmt,
        it: IntType,
        rd: u8,
        rs1: u8,
        rm: u8,
    },
    /// fcvt.<to>.<from> between FP formats.
    FcvtFF {
        to: FpFmt,
        from: FpFmt,
        rd: u8,
        rs1: u8,
        rm: u8,
    },
    Fmadd {
        fmt: FpFmt,
        rd: u8,
        rs1: u8,
        rs2: u8,
        rs3: u8,
        rm: u8,
    },
    Fmsub {
        fmt: FpFmt,
        rd: u8,
        rs1: u8,
        rs2: u8,
        rs3: u8,
        rm: u8,
    },
    Fnmsub {
        fmt: FpFmt,
        rd: u8,
        rs1: u8,
        rs2: u8,
        rs3: u8,
        rm: u8,
    },
    Fnmadd {
        fmt: FpFmt,
        rd: u8,
        rs1: u8,
        rs2: u8,
        rs3: u8,
        rm: u8,
    },
    /// An Xpop_matmul instruction (custom-0), executed by the matrix unit.
    Xpop(XInst),
    /// A vector (RVV 1.0) instruction, executed by the vector unit.
    Vector(vector::VInst),
}

/// Length in bytes of the instruction whose low 16 bits are `lo`: 2 for RVC, 4 otherwise.
/// Longer encodings (48-bit and up) are reported as 4 and then refused by [`decode`].
#[inline]
pub fn inst_len(lo: u16) -> u8 {
    if lo & 3 == 3 {
        4
    } else {
        2
    }
}

/// Decodes the instruction at the start of `raw` (little-endian fetch of up to 4 bytes).
/// Returns the instruction and its length in bytes (2 or 4), or why the encoding is
/// illegal or unsupported.
pub fn decode(raw: u32) -> Result<(Inst, u8), String> {
    if raw & 3 != 3 {
        decode16(raw as u16).map(|i| (i, 2))
    } else {
        decode32(raw).map(|i| (i, 4))
    }
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
fn rs3(r: u32) -> u8 {
    ((r >> 27) & 31) as u8
}
#[inline]
fn funct3(r: u32) -> u32 {
    (r >> 12) & 7
}
#[inline]
fn funct7(r: u32) -> u32 {
    r >> 25
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

fn fp_fmt(bits: u32) -> Result<FpFmt, String> {
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

/// Decodes a 32-bit encoding.
pub fn decode32(r: u32) -> Result<Inst, String> {
    use Inst::*;
    let (d, s1, s2) = (rd(r), rs1(r), rs2(r));
    let f3 = funct3(r);
    let f7 = funct7(r);
    let bad = || {
        Err(format!(
            "unknown encoding in major opcode {:#04x}",
            r & 0x7f
        ))
    };
    Ok(match r & 0x7f {
        0x37 => Lui {
            rd: d,
            imm: (r & 0xffff_f000) as i32,
        },
        0x17 => Auipc {
            rd: d,
            imm: (r & 0xffff_f000) as i32,
        },
        0x6f => Jal {
            rd: d,
            off: imm_j(r),
        },
        0x67 if f3 == 0 => Jalr {
            rd: d,
            rs1: s1,
            imm: imm_i(r),
        },
        0x63 => {
            let off = imm_b(r);
            let (rs1, rs2) = (s1, s2);
            match f3 {
                0 => Beq { rs1, rs2, off },
                1 => Bne { rs1, rs2, off },
                4 => Blt { rs1, rs2, off },
                5 => Bge { rs1, rs2, off },
                6 => Bltu { rs1, rs2, off },
                7 => Bgeu { rs1, rs2, off },
                _ => return bad(),
            }
        }
        0x03 => {
            let (rd, rs1, imm) = (d, s1, imm_i(r));
            match f3 {
                0 => Lb { rd, rs1, imm },
                1 => Lh { rd, rs1, imm },
                2 => Lw { rd, rs1, imm },
                3 => Ld { rd, rs1, imm },
                4 => Lbu { rd, rs1, imm },
                5 => Lhu { rd, rs1, imm },
                6 => Lwu { rd, rs1, imm },
                _ => return bad(),
            }
        }
        0x23 => {
            let (rs1, rs2, imm) = (s1, s2, imm_s(r));
            match f3 {
                0 => Sb { rs1, rs2, imm },
                1 => Sh { rs1, rs2, imm },
                2 => Sw { rs1, rs2, imm },
                3 => Sd { rs1, rs2, imm },
                _ => return bad(),
            }
        }
        0x13 => {
            let (rd, rs1, imm) = (d, s1, imm_i(r));
            let sh = ((r >> 20) & 63) as u8;
            let top6 = r >> 26;
            match f3 {
                0 => Addi { rd, rs1, imm },
                2 => Slti { rd, rs1, imm },
                3 => Sltiu { rd, rs1, imm },
                4 => Xori { rd, rs1, imm },
                6 => Ori { rd, rs1, imm },
                7 => Andi { rd, rs1, imm },
                1 if top6 == 0 => Slli { rd, rs1, sh },
                5 if top6 == 0 => Srli { rd, rs1, sh },
                5 if top6 == 0x10 => Srai { rd, rs1, sh },
                _ => return bad(),
            }
        }
        0x1b => {
            let (rd, rs1, imm) = (d, s1, imm_i(r));
            let sh = ((r >> 20) & 31) as u8;
            match (f3, f7) {
                (0, _) => Addiw { rd, rs1, imm },
                (1, 0) => Slliw { rd, rs1, sh },
                (5, 0) => Srliw { rd, rs1, sh },
                (5, 0x20) => Sraiw { rd, rs1, sh },
                _ => return bad(),
            }
        }
        0x33 => {
            let (rd, rs1, rs2) = (d, s1, s2);
            match (f7, f3) {
                (0, 0) => Add { rd, rs1, rs2 },
                (0x20, 0) => Sub { rd, rs1, rs2 },
                (0, 1) => Sll { rd, rs1, rs2 },
                (0, 2) => Slt { rd, rs1, rs2 },
                (0, 3) => Sltu { rd, rs1, rs2 },
                (0, 4) => Xor { rd, rs1, rs2 },
                (0, 5) => Srl { rd, rs1, rs2 },
                (0x20, 5) => Sra { rd, rs1, rs2 },
                (0, 6) => Or { rd, rs1, rs2 },
                (0, 7) => And { rd, rs1, rs2 },
                (1, 0) => Mul { rd, rs1, rs2 },
                (1, 1) => Mulh { rd, rs1, rs2 },
                (1, 2) => Mulhsu { rd, rs1, rs2 },
                (1, 3) => Mulhu { rd, rs1, rs2 },
                (1, 4) => Div { rd, rs1, rs2 },
                (1, 5) => Divu { rd, rs1, rs2 },
                (1, 6) => Rem { rd, rs1, rs2 },
                (1, 7) => Remu { rd, rs1, rs2 },
                _ => return bad(),
            }
        }
        0x3b => {
            let (rd, rs1, rs2) = (d, s1, s2);
            match (f7, f3) {
                (0, 0) => Addw { rd, rs1, rs2 },
                (0x20, 0) => Subw { rd, rs1, rs2 },
                (0, 1) => Sllw { rd, rs1, rs2 },
                (0, 5) => Srlw { rd, rs1, rs2 },
                (0x20, 5) => Sraw { rd, rs1, rs2 },
                (1, 0) => Mulw { rd, rs1, rs2 },
                (1, 4) => Divw { rd, rs1, rs2 },
                (1, 5) => Divuw { rd, rs1, rs2 },
                (1, 6) => Remw { rd, rs1, rs2 },
                (1, 7) => Remuw { rd, rs1, rs2 },
                _ => return bad(),
            }
        }
        0x0f => match f3 {
            0 => Fence {
                pred: ((r >> 24) & 15) as u8,
                succ: ((r >> 20) & 15) as u8,
            },
            1 => FenceI,
            _ => return bad(),
        },
        0x73 => match f3 {
            0 => match r {
                0x0000_0073 => Ecall,
                0x0010_0073 => Ebreak,
                _ => {
                    return Err(
                        "privileged SYSTEM instruction (mret/wfi/sfence...) not supported".into(),
                    )
                }
            },
            4 => return bad(),
            _ => Csr {
                op: match f3 {
                    1 => CsrOp::Rw,
                    2 => CsrOp::Rs,
                    3 => CsrOp::Rc,
                    5 => CsrOp::Rwi,
                    6 => CsrOp::Rsi,
                    _ => CsrOp::Rci,
                },
                rd: d,
                rs1: s1,
                csr: (r >> 20) as u16,
            },
        },
        0x2f => {
            let dw = match f3 {
                2 => false,
                3 => true,
                _ => return bad(),
            };
            let aqrl = ((r >> 25) & 3) as u8;
            let f5 = r >> 27;
            let op = match f5 {
                0x02 if s2 == 0 => {
                    return Ok(Lr {
                        d: dw,
                        rd: d,
                        rs1: s1,
                        aqrl,
                    })
                }
                0x03 => {
                    return Ok(Sc {
                        d: dw,
                        rd: d,
                        rs1: s1,
                        rs2: s2,
                        aqrl,
                    })
                }
                0x01 => AmoOp::Swap,
                0x00 => AmoOp::Add,
                0x04 => AmoOp::Xor,
                0x0c => AmoOp::And,
                0x08 => AmoOp::Or,
                0x10 => AmoOp::Min,
                0x14 => AmoOp::Max,
                0x18 => AmoOp::Minu,
                0x1c => AmoOp::Maxu,
                _ => return bad(),
            };
            Amo {
                op,
                d: dw,
                rd: d,
                rs1: s1,
                rs2: s2,
                aqrl,
            }
        }
        0x07 => {
            let fmt = match f3 {
                1 => FpFmt::H,
                2 => FpFmt::S,
                3 => FpFmt::D,
                0 | 5 | 6 | 7 => return decode_vector(r),
                _ => return bad(),
            };
            Fl {
                fmt,
                rd: d,
                rs1: s1,
                imm: imm_i(r),
            }
        }
        0x27 => {
            let fmt = match f3 {
                1 => FpFmt::H,
                2 => FpFmt::S,
                3 => FpFmt::D,
                0 | 5 | 6 | 7 => return decode_vector(r),
                _ => return bad(),
            };
            Fs {
                fmt,
                rs1: s1,
                rs2: s2,
                imm: imm_s(r),
            }
        }
        0x43 | 0x47 | 0x4b | 0x4f => {
            let fmt = fp_fmt((r >> 25) & 3)?;
            let rm = check_rm(f3)?;
            let (rd, rs1, rs2, rs3) = (d, s1, s2, rs3(r));
            match r & 0x7f {
                0x43 => Fmadd {
                    fmt,
                    rd,
                    rs1,
                    rs2,
                    rs3,
                    rm,
                },
                0x47 => Fmsub {
                    fmt,
                    rd,
                    rs1,
                    rs2,
                    rs3,
                    rm,
                },
                0x4b => Fnmsub {
                    fmt,
                    rd,
                    rs1,
                    rs2,
                    rs3,
                    rm,
                },
                _ => Fnmadd {
                    fmt,
                    rd,
                    rs1,
                    rs2,
                    rs3,
                    rm,
                },
            }
        }
        0x53 => decode_op_fp(r)?,
        0x57 => return decode_vector(r),
        0x0b | 0x2b => return decode_xpop(r),
        _ => return Err(format!("unsupported major opcode {:#04x}", r & 0x7f)),
    })
}

fn decode_vector(r: u32) -> Result<Inst, String> {
    vector::decode(r).map(Inst::Vector)
}

fn decode_xpop(r: u32) -> Result<Inst, String> {
    xpop::decode(r).map(Inst::Xpop)
}

fn decode_op_fp(r: u32) -> Result<Inst, String> {
    use Inst::*;
    let (rd, rs1, rs2) = (rd(r), rs1(r), rs2(r));
    let f3 = funct3(r);
    let fmt = fp_fmt((r >> 25) & 3)?;
    let f5 = r >> 27;
    let bad = || {
        Err(format!(
            "unknown OP-FP encoding (funct5 {f5:#x}, funct3 {f3})"
        ))
    };
    Ok(match f5 {
        0x00 => Fadd {
            fmt,
            rd,
            rs1,
            rs2,
            rm: check_rm(f3)?,
        },
        0x01 => Fsub {
            fmt,
            rd,
            rs1,
            rs2,
            rm: check_rm(f3)?,
        },
        0x02 => Fmul {
            fmt,
            rd,
            rs1,
            rs2,
            rm: check_rm(f3)?,
        },
        0x03 => Fdiv {
            fmt,
            rd,
            rs1,
            rs2,
            rm: check_rm(f3)?,
        },
        0x0b if rs2 == 0 => Fsqrt {
            fmt,
            rd,
            rs1,
            rm: check_rm(f3)?,
        },
        0x04 => match f3 {
            0 => Fsgnj { fmt, rd, rs1, rs2 },
            1 => Fsgnjn { fmt, rd, rs1, rs2 },
            2 => Fsgnjx { fmt, rd, rs1, rs2 },
            _ => return bad(),
        },
        0x05 => match f3 {
            0 => Fmin { fmt, rd, rs1, rs2 },
            1 => Fmax { fmt, rd, rs1, rs2 },
            _ => return bad(),
        },
        0x14 => match f3 {
            2 => Feq { fmt, rd, rs1, rs2 },
            1 => Flt { fmt, rd, rs1, rs2 },
            0 => Fle { fmt, rd, rs1, rs2 },
            _ => return bad(),
        },
        0x08 => {
            let from = fp_fmt(rs2 as u32)?;
            if from == fmt {
                return bad();
            }
            FcvtFF {
                to: fmt,
                from,
                rd,
                rs1,
                rm: check_rm(f3)?,
            }
        }
        0x18 | 0x1a => {
            let it = match rs2 {
                0 => IntType::W,
                1 => IntType::Wu,
                2 => IntType::L,
                3 => IntType::Lu,
                _ => return bad(),
            };
            let rm = check_rm(f3)?;
            if f5 == 0x18 {
                FcvtToInt {
                    fmt,
                    it,
                    rd,
                    rs1,
                    rm,
                }
            } else {
                FcvtFromInt {
                    fmt,
                    it,
                    rd,
                    rs1,
                    rm,
                }
            }
        }
        0x1c if rs2 == 0 && f3 == 0 => FmvXF { fmt, rd, rs1 },
        0x1c if rs2 == 0 && f3 == 1 => Fclass { fmt, rd, rs1 },
        0x1e if rs2 == 0 && f3 == 0 => FmvFX { fmt, rd, rs1 },
        _ => return bad(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inst_is_compact() {
        assert!(
            std::mem::size_of::<Inst>() <= 16,
            "{}",
            std::mem::size_of::<Inst>()
        );
    }

    #[test]
    fn decodes_known_words() {
        // Words and their llvm-objdump-19 text.
        let cases: &[(u32, &str)] = &[
            (0x00a50533, "add a0, a0, a0"),
            (0xfff50513, "addi a0, a0, -0x1"),
            (0x00853583, "ld a1, 0x8(a0)"),
            (0x00b53423, "sd a1, 0x8(a0)"),
            (0x02b50533, "mul a0, a0, a1"),
            (0x100525af, "lr.w a1, (a0)"),
            (0x00b5302f, "amoadd.d zero, a1, (a0)"),
            (0x00b57553, "fadd.s fa0, fa0, fa1"),
            (0x02b50553, "fadd.d fa0, fa0, fa1, rne"),
            (0xc0051553, "fcvt.w.s a0, fa0, rtz"),
            (0x00052507, "flw fa0, 0x0(a0)"),
            (0x00051507, "flh fa0, 0x0(a0)"),
            (0x40150553, "fcvt.s.d fa0, fa0, rne"),
            (0x44057553, "fcvt.h.s fa0, fa0"),
            (0x40250553, "fcvt.s.h fa0, fa0"),
            (0x00b50063, "beq a0, a1, 0x0"),
            (0x0eb6252f, "amoswap.w.aqrl a0, a1, (a2)"),
            (0x00359573, "fscsr a0, a1"),
            (0x22b58553, "fmv.d fa0, fa1"),
            (0x20b59553, "fneg.s fa0, fa1"),
            (0x0015b513, "seqz a0, a1"),
            (0x0310000f, "fence rw, w"),
            (0x68c5f543, "fmadd.s fa0, fa1, fa2, fa3"),
            (0x00000073, "ecall"),
            (0xc0002573, "rdcycle a0"),
            (0x00200513, "li a0, 0x2"),
            (0x00008067, "ret"),
        ];
        for &(w, text) in cases {
            let (i, len) = decode(w).unwrap_or_else(|e| panic!("{w:#010x}: {e}"));
            assert_eq!(len, 4);
            assert_eq!(disasm::disasm(&i, None), text, "{w:#010x}");
        }
    }

    #[test]
    fn refuses_illegal_words() {
        assert!(decode(0xffff_ffff).is_err());
        assert!(decode(0x0000_0000).is_err()); // c.unimp: all-zero halfword
        assert!(decode32(0x0000_007f).is_err());
        assert!(decode32(0x06b57553).is_err()); // fmt = Q
    }
}
