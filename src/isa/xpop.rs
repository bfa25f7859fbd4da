//! Xpop_matmul instruction encodings: decode, encode and disassembly.
//!
//! Version 1 of the extension (doc/xpop-matmul.md, section "Encodings") uses two R-type
//! encodings in the custom-0 major opcode (0x0b); every other custom-0 encoding and the whole
//! custom-1 opcode (0x2b) are reserved and decode to an error.
//!
//! ```text
//!  31     25 24  20 19  15 14 12 11   7 6      0
//! | funct7  |  rs2 |  rs1 | f3  |  rd  | 0001011 |
//! | 0000000 |  rs2 |  rs1 | 000 | 00000| 0001011 |  xpop.mm   rs1, rs2
//! |   sel   | 00000| 00000| 001 |  rd  | 0001011 |  xpop.info rd, sel
//! ```
//!
//! Both are emitted by `.insn r CUSTOM_0, f3, funct7, rd, rs1, rs2` (programs/xpop.h).

use std::fmt;

/// The custom-0 major opcode.
pub const OPCODE_CUSTOM_0: u32 = 0x0b;
/// The custom-1 major opcode (reserved by Xpop_matmul v1).
pub const OPCODE_CUSTOM_1: u32 = 0x2b;

/// What `xpop.info` reports, chosen by the instruction's funct7 field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum InfoSel {
    /// 0: the extension version (1).
    Version,
    /// 1: a bit mask of the weight types `xpop.mm` accepts, bit = GGML type id.
    Types,
    /// 2: int8 multiply-accumulates per cycle.
    Int8Macs,
    /// 3: BF16 multiply-accumulates per cycle.
    Bf16Macs,
    /// 4: descriptors completed since reset.
    Jobs,
    /// 5: F16 multiply-accumulates per cycle.
    F16Macs,
}

impl InfoSel {
    /// The funct7 value.
    pub fn code(self) -> u8 {
        match self {
            InfoSel::Version => 0,
            InfoSel::Types => 1,
            InfoSel::Int8Macs => 2,
            InfoSel::Bf16Macs => 3,
            InfoSel::Jobs => 4,
            InfoSel::F16Macs => 5,
        }
    }

    /// The selector with funct7 value `code`.
    pub fn from_code(code: u32) -> Option<InfoSel> {
        Some(match code {
            0 => InfoSel::Version,
            1 => InfoSel::Types,
            2 => InfoSel::Int8Macs,
            3 => InfoSel::Bf16Macs,
            4 => InfoSel::Jobs,
            5 => InfoSel::F16Macs,
            _ => return None,
        })
    }
}

/// One decoded Xpop_matmul instruction (3 bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum XInst {
    /// `xpop.mm rs1, rs2`: run `x[rs2]` matmul descriptors stored from address `x[rs1]`.
    Mm {
        /// Register holding the address of the first 64-byte descriptor.
        rs1: u8,
        /// Register holding the number of descriptors.
        rs2: u8,
    },
    /// `xpop.info rd, sel`: write a property of the unit to `rd`.
    Info {
        /// Destination register.
        rd: u8,
        /// What to report.
        sel: InfoSel,
    },
}

fn field(raw: u32, lo: u32, bits: u32) -> u32 {
    (raw >> lo) & ((1 << bits) - 1)
}

/// Decodes a 32-bit word in the custom-0 or custom-1 opcode space. `Err` carries the reason
/// an encoding is not an Xpop_matmul instruction; the hart turns it into an
/// illegal-instruction trap with the PC and the raw bits.
pub fn decode(raw: u32) -> Result<XInst, String> {
    let opcode = raw & 0x7f;
    match opcode {
        OPCODE_CUSTOM_0 => {}
        OPCODE_CUSTOM_1 => {
            return Err("custom-1 (0x2b) is reserved by Xpop_matmul v1".to_string());
        }
        _ => {
            return Err(format!(
                "major opcode {opcode:#04x} is not custom-0 (0x0b) or custom-1 (0x2b)"
            ));
        }
    }
    let rd = field(raw, 7, 5) as u8;
    let funct3 = field(raw, 12, 3);
    let rs1 = field(raw, 15, 5) as u8;
    let rs2 = field(raw, 20, 5) as u8;
    let funct7 = field(raw, 25, 7);
    match funct3 {
        0 => {
            if funct7 != 0 {
                return Err(format!(
                    "xpop.mm: funct7 = {funct7:#x} is reserved (must be 0)"
                ));
            }
            if rd != 0 {
                return Err(format!(
                    "xpop.mm: rd = {} is reserved (must be zero)",
                    reg_name(rd)
                ));
            }
            Ok(XInst::Mm { rs1, rs2 })
        }
        1 => {
            if rs1 != 0 || rs2 != 0 {
                return Err("xpop.info: rs1 and rs2 are reserved (must be zero)".to_string());
            }
            let sel = InfoSel::from_code(funct7).ok_or_else(|| {
                format!("xpop.info: selector {funct7} is reserved (0..=5 are defined)")
            })?;
            Ok(XInst::Info { rd, sel })
        }
        f => Err(format!(
            "custom-0 funct3 = {f} is reserved by Xpop_matmul v1"
        )),
    }
}

/// Encodes an instruction (the inverse of [`decode`]).
pub fn encode(inst: XInst) -> u32 {
    match inst {
        XInst::Mm { rs1, rs2 } => ((rs2 as u32) << 20) | ((rs1 as u32) << 15) | OPCODE_CUSTOM_0,
        XInst::Info { rd, sel } => {
            ((sel.code() as u32) << 25) | (1 << 12) | ((rd as u32) << 7) | OPCODE_CUSTOM_0
        }
    }
}

const ABI_NAMES: [&str; 32] = [
    "zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0", "a1", "a2", "a3", "a4",
    "a5", "a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4",
    "t5", "t6",
];

fn reg_name(r: u8) -> &'static str {
    ABI_NAMES[(r & 31) as usize]
}

impl fmt::Display for XInst {
    /// Disassembly with ABI register names, as llvm-objdump prints base instructions.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            XInst::Mm { rs1, rs2 } => write!(f, "xpop.mm {}, {}", reg_name(rs1), reg_name(rs2)),
            XInst::Info { rd, sel } => write!(f, "xpop.info {}, {}", reg_name(rd), sel.code()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_match_the_assembler() {
        // `.insn r CUSTOM_0, 0, 0, x0, a0, a1` assembles to 0x00b5000b (clang-19 and GNU as).
        assert_eq!(decode(0x00b5_000b), Ok(XInst::Mm { rs1: 10, rs2: 11 }));
        // `.insn r CUSTOM_0, 1, 2, a0, x0, x0` assembles to 0x0400150b.
        assert_eq!(
            decode(0x0400_150b),
            Ok(XInst::Info {
                rd: 10,
                sel: InfoSel::Int8Macs
            })
        );
    }

    #[test]
    fn encode_inverts_decode() {
        for rs1 in 0..32 {
            for rs2 in [0u8, 5, 31] {
                let i = XInst::Mm { rs1, rs2 };
                assert_eq!(decode(encode(i)), Ok(i));
            }
        }
        for code in 0..6 {
            let i = XInst::Info {
                rd: 17,
                sel: InfoSel::from_code(code).unwrap(),
            };
            assert_eq!(decode(encode(i)), Ok(i));
        }
    }

    #[test]
    fn reserved_encodings_are_refused_with_a_reason() {
        // rd != 0 on xpop.mm: `.insn r CUSTOM_0, 0, 0, a0, a1, a2` = 0x00c5850b (TOOLCHAIN.md).
        assert!(decode(0x00c5_850b).unwrap_err().contains("rd = a0"));
        // `.insn r 0x0b, 1, 0x5, ...` uses funct3 1 / funct7 5: selector 5, with rs1/rs2 set.
        assert!(decode(0x0a73_128b).unwrap_err().contains("rs1 and rs2"));
        // funct7 6: selector 6 is reserved.
        assert!(decode(0x0c00_128b).unwrap_err().contains("selector 6"));
        assert!(decode(0x0000_500b).unwrap_err().contains("funct3 = 5"));
        assert!(decode(0x07b5_a52b).unwrap_err().contains("custom-1"));
        assert!(decode(0x0000_0013).unwrap_err().contains("0x13"));
        assert!(decode(0x0200_000b).unwrap_err().contains("funct7"));
    }

    proptest::proptest! {
        /// Every word either decodes to an instruction whose encoding is exactly that word
        /// (no reserved bit is silently ignored) or is refused; nothing panics.
        #[test]
        fn accepted_words_are_canonical(raw in proptest::prelude::any::<u32>()) {
            let raw = (raw & !0x7f) | OPCODE_CUSTOM_0;
            if let Ok(i) = decode(raw) {
                proptest::prop_assert_eq!(encode(i), raw);
            }
        }
    }

    #[test]
    fn disassembly() {
        assert_eq!(XInst::Mm { rs1: 10, rs2: 11 }.to_string(), "xpop.mm a0, a1");
        assert_eq!(
            XInst::Info {
                rd: 5,
                sel: InfoSel::Jobs
            }
            .to_string(),
            "xpop.info t0, 4"
        );
        assert!(std::mem::size_of::<XInst>() <= 12);
    }
}
