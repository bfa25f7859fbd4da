//! The scalar instruction table: one row per instruction, from which the [`Inst`] enum, the
//! 32-bit decoder, the disassembler's generic text and the timing class are generated.
//!
//! A row reads
//!
//! ```text
//! Variant { fields } = "mnemonic", Format, MATCH / MASK, Class;
//! ```
//!
//! A word `r` is this instruction when `r & MASK == MATCH` (MASK always covers the major
//! opcode); earlier rows win, so a row with a narrower MASK (e.g. `ecall`) goes before a
//! wider one of the same opcode (`csr*`). `Format` (see [`super::format`]) pulls the fields
//! out of the word, refusing reserved values, prints them, and says which registers they
//! are; the variant's fields are exactly the format's. `Class` is the [`SClass`] the timing
//! model costs the instruction by. Adding an instruction is one row here plus its
//! semantics in `hart::exec` (and an alias in [`super::disasm`] if llvm-objdump prints one).
//!
//! Compressed encodings are not rows: [`super::decode16`] expands them to the variants.

use super::format::*;
use super::vector::VInst;
use super::xpop::XInst;
use super::{AmoOp, CsrOp, FpFmt, IntType};

/// Timing class of a scalar instruction, which `timing` maps to its latencies (the scalar
/// counterpart of [`super::vector::VClass`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SClass {
    /// Integer ALU, lui/auipc, CSR access, fences, ecall.
    IntAlu,
    /// Integer multiply.
    IntMul,
    /// Integer divide/remainder.
    IntDiv,
    /// Integer or FP load, LR, AMO.
    Load,
    /// Integer or FP store, SC.
    Store,
    /// Conditional branch.
    Branch,
    /// jal / jalr.
    Jump,
    /// FP add/sub/compare/min/max/sign-injection.
    FpAdd,
    /// FP multiply.
    FpMul,
    /// FP fused multiply-add.
    FpFma,
    /// FP divide.
    FpDiv,
    /// FP square root.
    FpSqrt,
    /// FP conversions, moves and classify.
    FpCvt,
}

/// The type of a variant field, by name (`op` is a [`CsrOp`] except in `Amo`).
macro_rules! field_ty {
    (Amo, op) => {
        AmoOp
    };
    ($v:ident, op) => {
        CsrOp
    };
    ($v:ident, fmt) => {
        FpFmt
    };
    ($v:ident, to) => {
        FpFmt
    };
    ($v:ident, from) => {
        FpFmt
    };
    ($v:ident, it) => {
        IntType
    };
    ($v:ident, d) => {
        bool
    };
    ($v:ident, csr) => {
        u16
    };
    ($v:ident, imm) => {
        i32
    };
    ($v:ident, off) => {
        i32
    };
    ($v:ident, $f:ident) => {
        u8
    };
}

/// One row, as the decoder uses it.
pub(super) struct Row {
    /// The fixed bits.
    pub mat: u32,
    /// Which bits are fixed.
    pub mask: u32,
    /// Builds the instruction (its format's field checks may still refuse the word).
    pub decode: fn(u32) -> Result<Inst, String>,
}

macro_rules! scalar_insts {
    ($(
        $(#[$doc:meta])*
        $v:ident $({ $($f:ident),* })? = $name:literal, $fmt:ident,
            $mat:literal / $mask:literal, $class:ident;
    )*) => {
        /// One decoded instruction. Register fields are register numbers (0..=31);
        /// immediates are sign-extended values (branch/jump offsets in bytes, `lui`/`auipc`
        /// already shifted left by 12); `rm` is the 3-bit rounding-mode field (7 = dynamic,
        /// use `frm`). The scalar variants are generated from the table rows.
        #[allow(missing_docs)]
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Inst {
            $($(#[$doc])* $v $({ $($f: field_ty!($v, $f)),* })?,)*
            /// An Xpop_matmul instruction (custom-0), executed by the matrix unit.
            Xpop(XInst),
            /// A vector (RVV 1.0) instruction, executed by the vector unit.
            Vector(VInst),
        }

        /// The rows, in priority order.
        pub(super) const ROWS: &[Row] = &[$(
            Row {
                mat: $mat,
                mask: $mask,
                decode: |r| {
                    let $fmt { $($($f),*)? } = <$fmt as Format>::decode(r)?;
                    Ok(Inst::$v $({ $($f),* })?)
                },
            },
        )*];

        impl Inst {
            /// The table's mnemonic (before aliases and format suffixes); vector and Xpop
            /// instructions give their operation's name.
            pub fn mnemonic(&self) -> &'static str {
                match self {
                    $(Inst::$v { .. } => $name,)*
                    Inst::Xpop(_) => "xpop",
                    Inst::Vector(v) => v.op.name(),
                }
            }

            /// The timing class and registers of a scalar instruction (None for vector and
            /// Xpop instructions, which their units describe).
            #[inline]
            pub fn scalar_usage(&self) -> Option<(SClass, Regs)> {
                match *self {
                    $(Inst::$v $({ $($f),* })? =>
                        Some((SClass::$class, $fmt { $($($f),*)? }.regs())),)*
                    Inst::Xpop(_) | Inst::Vector(_) => None,
                }
            }

            /// Writes the table's text (mnemonic and operands, no aliases) of a scalar
            /// instruction; false for vector and Xpop instructions.
            pub(super) fn write_scalar(&self, w: &mut String, pc: Option<u64>) -> bool {
                match *self {
                    $(Inst::$v $({ $($f),* })? => {
                        let _ = $fmt { $($($f),*)? }.write(w, $name, pc);
                        true
                    })*
                    Inst::Xpop(_) | Inst::Vector(_) => false,
                }
            }
        }
    };
}

scalar_insts! {
    // RV64I
    Lui { rd, imm } =           "lui",    U,   0x0000_0037 / 0x0000_007f, IntAlu;
    Auipc { rd, imm } =         "auipc",  U,   0x0000_0017 / 0x0000_007f, IntAlu;
    Jal { rd, off } =           "jal",    J,   0x0000_006f / 0x0000_007f, Jump;
    Jalr { rd, rs1, imm } =     "jalr",   L,   0x0000_0067 / 0x0000_707f, Jump;
    Beq { rs1, rs2, off } =     "beq",    B,   0x0000_0063 / 0x0000_707f, Branch;
    Bne { rs1, rs2, off } =     "bne",    B,   0x0000_1063 / 0x0000_707f, Branch;
    Blt { rs1, rs2, off } =     "blt",    B,   0x0000_4063 / 0x0000_707f, Branch;
    Bge { rs1, rs2, off } =     "bge",    B,   0x0000_5063 / 0x0000_707f, Branch;
    Bltu { rs1, rs2, off } =    "bltu",   B,   0x0000_6063 / 0x0000_707f, Branch;
    Bgeu { rs1, rs2, off } =    "bgeu",   B,   0x0000_7063 / 0x0000_707f, Branch;
    Lb { rd, rs1, imm } =       "lb",     L,   0x0000_0003 / 0x0000_707f, Load;
    Lh { rd, rs1, imm } =       "lh",     L,   0x0000_1003 / 0x0000_707f, Load;
    Lw { rd, rs1, imm } =       "lw",     L,   0x0000_2003 / 0x0000_707f, Load;
    Ld { rd, rs1, imm } =       "ld",     L,   0x0000_3003 / 0x0000_707f, Load;
    Lbu { rd, rs1, imm } =      "lbu",    L,   0x0000_4003 / 0x0000_707f, Load;
    Lhu { rd, rs1, imm } =      "lhu",    L,   0x0000_5003 / 0x0000_707f, Load;
    Lwu { rd, rs1, imm } =      "lwu",    L,   0x0000_6003 / 0x0000_707f, Load;
    Sb { rs1, rs2, imm } =      "sb",     S,   0x0000_0023 / 0x0000_707f, Store;
    Sh { rs1, rs2, imm } =      "sh",     S,   0x0000_1023 / 0x0000_707f, Store;
    Sw { rs1, rs2, imm } =      "sw",     S,   0x0000_2023 / 0x0000_707f, Store;
    Sd { rs1, rs2, imm } =      "sd",     S,   0x0000_3023 / 0x0000_707f, Store;
    Addi { rd, rs1, imm } =     "addi",   I,   0x0000_0013 / 0x0000_707f, IntAlu;
    Slti { rd, rs1, imm } =     "slti",   I,   0x0000_2013 / 0x0000_707f, IntAlu;
    Sltiu { rd, rs1, imm } =    "sltiu",  I,   0x0000_3013 / 0x0000_707f, IntAlu;
    Xori { rd, rs1, imm } =     "xori",   I,   0x0000_4013 / 0x0000_707f, IntAlu;
    Ori { rd, rs1, imm } =      "ori",    I,   0x0000_6013 / 0x0000_707f, IntAlu;
    Andi { rd, rs1, imm } =     "andi",   I,   0x0000_7013 / 0x0000_707f, IntAlu;
    Slli { rd, rs1, sh } =      "slli",   Sh6, 0x0000_1013 / 0xfc00_707f, IntAlu;
    Srli { rd, rs1, sh } =      "srli",   Sh6, 0x0000_5013 / 0xfc00_707f, IntAlu;
    Srai { rd, rs1, sh } =      "srai",   Sh6, 0x4000_5013 / 0xfc00_707f, IntAlu;
    Addiw { rd, rs1, imm } =    "addiw",  I,   0x0000_001b / 0x0000_707f, IntAlu;
    Slliw { rd, rs1, sh } =     "slliw",  Sh5, 0x0000_101b / 0xfe00_707f, IntAlu;
    Srliw { rd, rs1, sh } =     "srliw",  Sh5, 0x0000_501b / 0xfe00_707f, IntAlu;
    Sraiw { rd, rs1, sh } =     "sraiw",  Sh5, 0x4000_501b / 0xfe00_707f, IntAlu;
    Add { rd, rs1, rs2 } =      "add",    Rr,  0x0000_0033 / 0xfe00_707f, IntAlu;
    Sub { rd, rs1, rs2 } =      "sub",    Rr,  0x4000_0033 / 0xfe00_707f, IntAlu;
    Sll { rd, rs1, rs2 } =      "sll",    Rr,  0x0000_1033 / 0xfe00_707f, IntAlu;
    Slt { rd, rs1, rs2 } =      "slt",    Rr,  0x0000_2033 / 0xfe00_707f, IntAlu;
    Sltu { rd, rs1, rs2 } =     "sltu",   Rr,  0x0000_3033 / 0xfe00_707f, IntAlu;
    Xor { rd, rs1, rs2 } =      "xor",    Rr,  0x0000_4033 / 0xfe00_707f, IntAlu;
    Srl { rd, rs1, rs2 } =      "srl",    Rr,  0x0000_5033 / 0xfe00_707f, IntAlu;
    Sra { rd, rs1, rs2 } =      "sra",    Rr,  0x4000_5033 / 0xfe00_707f, IntAlu;
    Or { rd, rs1, rs2 } =       "or",     Rr,  0x0000_6033 / 0xfe00_707f, IntAlu;
    And { rd, rs1, rs2 } =      "and",    Rr,  0x0000_7033 / 0xfe00_707f, IntAlu;
    Addw { rd, rs1, rs2 } =     "addw",   Rr,  0x0000_003b / 0xfe00_707f, IntAlu;
    Subw { rd, rs1, rs2 } =     "subw",   Rr,  0x4000_003b / 0xfe00_707f, IntAlu;
    Sllw { rd, rs1, rs2 } =     "sllw",   Rr,  0x0000_103b / 0xfe00_707f, IntAlu;
    Srlw { rd, rs1, rs2 } =     "srlw",   Rr,  0x0000_503b / 0xfe00_707f, IntAlu;
    Sraw { rd, rs1, rs2 } =     "sraw",   Rr,  0x4000_503b / 0xfe00_707f, IntAlu;
    // M
    Mul { rd, rs1, rs2 } =      "mul",    Rr,  0x0200_0033 / 0xfe00_707f, IntMul;
    Mulh { rd, rs1, rs2 } =     "mulh",   Rr,  0x0200_1033 / 0xfe00_707f, IntMul;
    Mulhsu { rd, rs1, rs2 } =   "mulhsu", Rr,  0x0200_2033 / 0xfe00_707f, IntMul;
    Mulhu { rd, rs1, rs2 } =    "mulhu",  Rr,  0x0200_3033 / 0xfe00_707f, IntMul;
    Div { rd, rs1, rs2 } =      "div",    Rr,  0x0200_4033 / 0xfe00_707f, IntDiv;
    Divu { rd, rs1, rs2 } =     "divu",   Rr,  0x0200_5033 / 0xfe00_707f, IntDiv;
    Rem { rd, rs1, rs2 } =      "rem",    Rr,  0x0200_6033 / 0xfe00_707f, IntDiv;
    Remu { rd, rs1, rs2 } =     "remu",   Rr,  0x0200_7033 / 0xfe00_707f, IntDiv;
    Mulw { rd, rs1, rs2 } =     "mulw",   Rr,  0x0200_003b / 0xfe00_707f, IntMul;
    Divw { rd, rs1, rs2 } =     "divw",   Rr,  0x0200_403b / 0xfe00_707f, IntDiv;
    Divuw { rd, rs1, rs2 } =    "divuw",  Rr,  0x0200_503b / 0xfe00_707f, IntDiv;
    Remw { rd, rs1, rs2 } =     "remw",   Rr,  0x0200_603b / 0xfe00_707f, IntDiv;
    Remuw { rd, rs1, rs2 } =    "remuw",  Rr,  0x0200_703b / 0xfe00_707f, IntDiv;
    // Zicond
    CzeroEqz { rd, rs1, rs2 } = "czero.eqz", Rr, 0x0e00_5033 / 0xfe00_707f, IntAlu;
    CzeroNez { rd, rs1, rs2 } = "czero.nez", Rr, 0x0e00_7033 / 0xfe00_707f, IntAlu;
    // Fences, SYSTEM (ecall/ebreak before the csr row, which takes the rest of the opcode)
    Fence { pred, succ } =      "fence",  Fen, 0x0000_000f / 0x0000_707f, IntAlu;
    FenceI =                    "fence.i", N,  0x0000_100f / 0x0000_707f, IntAlu;
    Ecall =                     "ecall",  N,   0x0000_0073 / 0xffff_ffff, IntAlu;
    Ebreak =                    "ebreak", N,   0x0010_0073 / 0xffff_ffff, IntAlu;
    Csr { op, rd, rs1, csr } =  "csr",    Cs,  0x0000_0073 / 0x0000_007f, IntAlu;
    // A (lr/sc before the amo row, which takes the rest of the opcode)
    Lr { d, rd, rs1, aqrl } =   "lr",     Lrf, 0x1000_002f / 0xf9f0_007f, Load;
    Sc { d, rd, rs1, rs2, aqrl } = "sc",  Scf, 0x1800_002f / 0xf800_007f, Store;
    Amo { op, d, rd, rs1, rs2, aqrl } = "amo", Am, 0x0000_002f / 0x0000_007f, Load;
    // F, D, Zfh (the format from bits 26:25, or from the width of loads and stores)
    Fl { fmt, rd, rs1, imm } =  "fl",     FLd, 0x0000_0007 / 0x0000_007f, Load;
    Fs { fmt, rs1, rs2, imm } = "fs",     FSt, 0x0000_0027 / 0x0000_007f, Store;
    Fadd { fmt, rd, rs1, rs2, rm } = "fadd", F3, 0x0000_0053 / 0xf800_007f, FpAdd;
    Fsub { fmt, rd, rs1, rs2, rm } = "fsub", F3, 0x0800_0053 / 0xf800_007f, FpAdd;
    Fmul { fmt, rd, rs1, rs2, rm } = "fmul", F3, 0x1000_0053 / 0xf800_007f, FpMul;
    Fdiv { fmt, rd, rs1, rs2, rm } = "fdiv", F3, 0x1800_0053 / 0xf800_007f, FpDiv;
    Fsqrt { fmt, rd, rs1, rm } = "fsqrt", F1,  0x5800_0053 / 0xf9f0_007f, FpSqrt;
    Fsgnj { fmt, rd, rs1, rs2 } = "fsgnj", F2, 0x2000_0053 / 0xf800_707f, FpAdd;
    Fsgnjn { fmt, rd, rs1, rs2 } = "fsgnjn", F2, 0x2000_1053 / 0xf800_707f, FpAdd;
    Fsgnjx { fmt, rd, rs1, rs2 } = "fsgnjx", F2, 0x2000_2053 / 0xf800_707f, FpAdd;
    Fmin { fmt, rd, rs1, rs2 } = "fmin",  F2,  0x2800_0053 / 0xf800_707f, FpAdd;
    Fmax { fmt, rd, rs1, rs2 } = "fmax",  F2,  0x2800_1053 / 0xf800_707f, FpAdd;
    Feq { fmt, rd, rs1, rs2 } = "feq",    FCmp, 0xa000_2053 / 0xf800_707f, FpAdd;
    Flt { fmt, rd, rs1, rs2 } = "flt",    FCmp, 0xa000_1053 / 0xf800_707f, FpAdd;
    Fle { fmt, rd, rs1, rs2 } = "fle",    FCmp, 0xa000_0053 / 0xf800_707f, FpAdd;
    Fclass { fmt, rd, rs1 } =   "fclass", XF,  0xe000_1053 / 0xf9f0_707f, FpCvt;
    /// fmv.x.w / fmv.x.d / fmv.x.h: FP bits to an integer register.
    FmvXF { fmt, rd, rs1 } =    "fmv",    MvXF, 0xe000_0053 / 0xf9f0_707f, FpCvt;
    /// fmv.w.x / fmv.d.x / fmv.h.x: integer bits to an FP register.
    FmvFX { fmt, rd, rs1 } =    "fmv",    MvFX, 0xf000_0053 / 0xf9f0_707f, FpCvt;
    /// fcvt.{w,wu,l,lu}.{s,d,h}.
    FcvtToInt { fmt, it, rd, rs1, rm } = "fcvt", FToI, 0xc000_0053 / 0xf800_007f, FpCvt;
    /// fcvt.{s,d,h}.{w,wu,l,lu}.
    FcvtFromInt { fmt, it, rd, rs1, rm } = "fcvt", IToF, 0xd000_0053 / 0xf800_007f, FpCvt;
    /// fcvt.<to>.<from> between FP formats.
    FcvtFF { to, from, rd, rs1, rm } = "fcvt", FToF, 0x4000_0053 / 0xf800_007f, FpCvt;
    Fmadd { fmt, rd, rs1, rs2, rs3, rm } = "fmadd", F4, 0x0000_0043 / 0x0000_007f, FpFma;
    Fmsub { fmt, rd, rs1, rs2, rs3, rm } = "fmsub", F4, 0x0000_0047 / 0x0000_007f, FpFma;
    Fnmsub { fmt, rd, rs1, rs2, rs3, rm } = "fnmsub", F4, 0x0000_004b / 0x0000_007f, FpFma;
    Fnmadd { fmt, rd, rs1, rs2, rs3, rm } = "fnmadd", F4, 0x0000_004f / 0x0000_007f, FpFma;
}

/// Row indices by major opcode, in row order.
fn by_opcode() -> &'static [Vec<u8>; 128] {
    static INDEX: std::sync::OnceLock<[Vec<u8>; 128]> = std::sync::OnceLock::new();
    INDEX.get_or_init(|| {
        let mut index: [Vec<u8>; 128] = std::array::from_fn(|_| Vec::new());
        for (i, row) in ROWS.iter().enumerate() {
            index[(row.mat & 0x7f) as usize].push(i as u8);
        }
        index
    })
}

/// Decodes a word through the table: the first row of its major opcode whose fixed bits
/// match, or None when no row matches.
pub(super) fn decode(r: u32) -> Option<Result<Inst, String>> {
    by_opcode()[(r & 0x7f) as usize]
        .iter()
        .map(|&i| &ROWS[i as usize])
        .find(|row| r & row.mask == row.mat)
        .map(|row| (row.decode)(r))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_well_formed() {
        assert!(ROWS.len() < 256);
        for (i, row) in ROWS.iter().enumerate() {
            assert_eq!(row.mask & 0x7f, 0x7f, "row {i}: mask must cover the opcode");
            assert_eq!(
                row.mat & !row.mask,
                0,
                "row {i}: match bits outside the mask"
            );
            assert_eq!(row.mat & 3, 3, "row {i}: not a 32-bit encoding");
        }
    }

    #[test]
    fn no_row_is_shadowed() {
        // A row is dead if an earlier row of the same opcode matches all its words: the
        // earlier mask is a subset of the later one and they agree on it.
        for (j, b) in ROWS.iter().enumerate() {
            for (i, a) in ROWS[..j].iter().enumerate() {
                let shadowed = a.mask & b.mask == a.mask && b.mat & a.mask == a.mat;
                assert!(!shadowed, "row {j} is shadowed by row {i}");
            }
        }
    }
}
