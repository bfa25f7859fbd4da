//! Instruction decode: RV64IMAFDC + Zicsr + Zifencei + Zfh + Zicond, 32- and 16-bit
//! encodings, into the compact [`Inst`] enum (its scalar part generated from the table in
//! [`table`]), plus llvm-objdump-style disassembly ([`disasm`]).
//!
//! Compressed (RVC) encodings expand to the same [`Inst`] as their 32-bit equivalents; the
//! encoding length travels beside the instruction (see [`decode`]). Decoding happens once per
//! PC: the hart keeps a pre-decoded cache, so nothing here is on the per-instruction path.

mod compressed;
pub mod context;
pub mod disasm;
pub mod format;
pub mod table;
pub mod vector;
pub mod xpop;

pub use compressed::decode16;
pub use table::{Inst, SClass};

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

/// Decodes a 32-bit encoding: vector and Xpop_matmul opcodes go to their units' decoders,
/// everything else through the scalar table ([`table`]).
pub fn decode32(r: u32) -> Result<Inst, String> {
    let op = r & 0x7f;
    match op {
        0x57 => return vector::decode(r).map(Inst::Vector),
        // LOAD-FP / STORE-FP with a vector element width.
        0x07 | 0x27 if matches!((r >> 12) & 7, 0 | 5 | 6 | 7) => {
            return vector::decode(r).map(Inst::Vector)
        }
        0x0b | 0x2b => return xpop::decode(r).map(Inst::Xpop),
        _ => {}
    }
    match table::decode(r) {
        Some(inst) => inst,
        None => Err(match op {
            0x73 if (r >> 12) & 7 == 0 => {
                "privileged SYSTEM instruction (mret/wfi/sfence...) not supported".into()
            }
            0x53 => match format::fp_fmt((r >> 25) & 3) {
                Err(e) => e,
                Ok(_) => format::unknown_op_fp(r),
            },
            0x63 | 0x03 | 0x23 | 0x13 | 0x1b | 0x33 | 0x3b | 0x0f | 0x73 | 0x2f | 0x07 | 0x27 => {
                format::unknown(r)
            }
            _ => format!("unsupported major opcode {op:#04x}"),
        }),
    }
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
            (0x0ec5d533, "czero.eqz a0, a1, a2"),
            (0x0e04f2b3, "czero.nez t0, s1, zero"),
            (0x0ff0d033, "czero.eqz zero, ra, t6"),
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
                                                // funct7 0000111 (Zicond) with a funct3 other than 101 / 111.
        for f3 in [0, 1, 2, 3, 4, 6] {
            let w = 0x0ec5_0533 | f3 << 12;
            assert_eq!(
                decode32(w).unwrap_err(),
                "unknown encoding in major opcode 0x33",
                "{w:#010x}"
            );
        }
    }
}
