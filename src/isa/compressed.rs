//! RV64C: 16-bit encodings, expanded into the equivalent 32-bit [`Inst`].

use super::{FpFmt, Inst};

#[inline]
fn bit(i: u32, n: u32) -> u32 {
    (i >> n) & 1
}
#[inline]
fn bits(i: u32, hi: u32, lo: u32) -> u32 {
    (i >> lo) & ((1 << (hi - lo + 1)) - 1)
}
fn sext(v: u32, width: u32) -> i32 {
    ((v << (32 - width)) as i32) >> (32 - width)
}
/// Register x8..x15 from a 3-bit field.
fn creg(v: u32) -> u8 {
    (8 + v) as u8
}

/// Decodes a 16-bit (RVC) encoding into the instruction it expands to.
pub fn decode16(h: u16) -> Result<Inst, String> {
    use Inst::*;
    let i = h as u32;
    let f3 = bits(i, 15, 13);
    let rd_full = bits(i, 11, 7) as u8;
    let rs2_full = bits(i, 6, 2) as u8;
    let rdp = creg(bits(i, 4, 2)); // rd' / rs2' in bits 4:2
    let rs1p = creg(bits(i, 9, 7)); // rs1' / rd' in bits 9:7
    let imm6 = sext((bit(i, 12) << 5) | bits(i, 6, 2), 6);
    let reserved = || Err(format!("reserved compressed encoding {h:#06x}"));
    // Offsets of the register-based loads/stores.
    let off_w = (bits(i, 12, 10) << 3) | (bit(i, 6) << 2) | (bit(i, 5) << 6);
    let off_d = (bits(i, 12, 10) << 3) | (bits(i, 6, 5) << 6);
    Ok(match (i & 3, f3) {
        (0, 0) => {
            let imm = (bits(i, 12, 11) << 4)
                | (bits(i, 10, 7) << 6)
                | (bit(i, 6) << 2)
                | (bit(i, 5) << 3);
            if imm == 0 {
                return Err(if i == 0 {
                    "all-zero halfword (c.unimp): illegal instruction".to_string()
                } else {
                    format!("reserved c.addi4spn with zero immediate {h:#06x}")
                });
            }
            Addi {
                rd: rdp,
                rs1: 2,
                imm: imm as i32,
            }
        }
        (0, 1) => Fl {
            fmt: FpFmt::D,
            rd: rdp,
            rs1: rs1p,
            imm: off_d as i32,
        },
        (0, 2) => Lw {
            rd: rdp,
            rs1: rs1p,
            imm: off_w as i32,
        },
        (0, 3) => Ld {
            rd: rdp,
            rs1: rs1p,
            imm: off_d as i32,
        },
        (0, 5) => Fs {
            fmt: FpFmt::D,
            rs1: rs1p,
            rs2: rdp,
            imm: off_d as i32,
        },
        (0, 6) => Sw {
            rs1: rs1p,
            rs2: rdp,
            imm: off_w as i32,
        },
        (0, 7) => Sd {
            rs1: rs1p,
            rs2: rdp,
            imm: off_d as i32,
        },
        (0, _) => return reserved(),
        (1, 0) => Addi {
            rd: rd_full,
            rs1: rd_full,
            imm: imm6,
        },
        (1, 1) => {
            if rd_full == 0 {
                return reserved();
            }
            Addiw {
                rd: rd_full,
                rs1: rd_full,
                imm: imm6,
            }
        }
        (1, 2) => Addi {
            rd: rd_full,
            rs1: 0,
            imm: imm6,
        },
        (1, 3) if rd_full == 2 => {
            let v = (bit(i, 12) << 9)
                | (bit(i, 6) << 4)
                | (bit(i, 5) << 6)
                | (bits(i, 4, 3) << 7)
                | (bit(i, 2) << 5);
            if v == 0 {
                return reserved();
            }
            Addi {
                rd: 2,
                rs1: 2,
                imm: sext(v, 10),
            }
        }
        (1, 3) => {
            if imm6 == 0 {
                return reserved();
            }
            Lui {
                rd: rd_full,
                imm: imm6 << 12,
            }
        }
        (1, 4) => {
            let rd = rs1p;
            let sh = ((bit(i, 12) << 5) | bits(i, 6, 2)) as u8;
            match bits(i, 11, 10) {
                0 => Srli { rd, rs1: rd, sh },
                1 => Srai { rd, rs1: rd, sh },
                2 => Andi {
                    rd,
                    rs1: rd,
                    imm: imm6,
                },
                _ => {
                    let rs2 = rdp;
                    match (bit(i, 12), bits(i, 6, 5)) {
                        (0, 0) => Sub { rd, rs1: rd, rs2 },
                        (0, 1) => Xor { rd, rs1: rd, rs2 },
                        (0, 2) => Or { rd, rs1: rd, rs2 },
                        (0, 3) => And { rd, rs1: rd, rs2 },
                        (1, 0) => Subw { rd, rs1: rd, rs2 },
                        (1, 1) => Addw { rd, rs1: rd, rs2 },
                        _ => return reserved(),
                    }
                }
            }
        }
        (1, 5) => Jal {
            rd: 0,
            off: cj_offset(i),
        },
        (1, 6) | (1, 7) => {
            let v = (bit(i, 12) << 8)
                | (bits(i, 11, 10) << 3)
                | (bits(i, 6, 5) << 6)
                | (bits(i, 4, 3) << 1)
                | (bit(i, 2) << 5);
            let off = sext(v, 9);
            if f3 == 6 {
                Beq {
                    rs1: rs1p,
                    rs2: 0,
                    off,
                }
            } else {
                Bne {
                    rs1: rs1p,
                    rs2: 0,
                    off,
                }
            }
        }
        (2, 0) => Slli {
            rd: rd_full,
            rs1: rd_full,
            sh: ((bit(i, 12) << 5) | bits(i, 6, 2)) as u8,
        },
        (2, 1) => Fl {
            fmt: FpFmt::D,
            rd: rd_full,
            rs1: 2,
            imm: ((bit(i, 12) << 5) | (bits(i, 6, 5) << 3) | (bits(i, 4, 2) << 6)) as i32,
        },
        (2, 2) => {
            if rd_full == 0 {
                return reserved();
            }
            Lw {
                rd: rd_full,
                rs1: 2,
                imm: ((bit(i, 12) << 5) | (bits(i, 6, 4) << 2) | (bits(i, 3, 2) << 6)) as i32,
            }
        }
        (2, 3) => {
            if rd_full == 0 {
                return reserved();
            }
            Ld {
                rd: rd_full,
                rs1: 2,
                imm: ((bit(i, 12) << 5) | (bits(i, 6, 5) << 3) | (bits(i, 4, 2) << 6)) as i32,
            }
        }
        (2, 4) => match (bit(i, 12), rd_full, rs2_full) {
            (0, 0, 0) => return reserved(),
            (0, rs1, 0) => Jalr { rd: 0, rs1, imm: 0 },
            (0, rd, rs2) => Add { rd, rs1: 0, rs2 },
            (1, 0, 0) => Ebreak,
            (1, rs1, 0) => Jalr { rd: 1, rs1, imm: 0 },
            (_, rd, rs2) => Add { rd, rs1: rd, rs2 },
        },
        (2, 5) => Fs {
            fmt: FpFmt::D,
            rs1: 2,
            rs2: rs2_full,
            imm: ((bits(i, 12, 10) << 3) | (bits(i, 9, 7) << 6)) as i32,
        },
        (2, 6) => Sw {
            rs1: 2,
            rs2: rs2_full,
            imm: ((bits(i, 12, 9) << 2) | (bits(i, 8, 7) << 6)) as i32,
        },
        (2, 7) => Sd {
            rs1: 2,
            rs2: rs2_full,
            imm: ((bits(i, 12, 10) << 3) | (bits(i, 9, 7) << 6)) as i32,
        },
        _ => return reserved(),
    })
}

fn cj_offset(i: u32) -> i32 {
    let v = (bit(i, 12) << 11)
        | (bit(i, 11) << 4)
        | (bits(i, 10, 9) << 8)
        | (bit(i, 8) << 10)
        | (bit(i, 7) << 6)
        | (bit(i, 6) << 7)
        | (bits(i, 5, 3) << 1)
        | (bit(i, 2) << 5);
    sext(v, 12)
}

#[cfg(test)]
mod tests {
    use super::super::disasm::disasm;
    use super::*;

    #[test]
    fn expands_like_llvm_objdump() {
        // Halfwords and llvm-objdump-19's text for them.
        let cases: &[(u16, &str)] = &[
            (0x952a, "add a0, a0, a0"),
            (0x157d, "addi a0, a0, -0x1"),
            (0x650c, "ld a1, 0x8(a0)"),
            (0xe50c, "sd a1, 0x8(a0)"),
            (0x4509, "li a0, 0x2"),
            (0x8082, "ret"),
            (0x050e, "slli a0, a0, 0x3"),
            (0x2501, "sext.w a0, a0"),
            (0x4512, "lw a0, 0x4(sp)"),
            (0x9502, "jalr a0"),
            (0x0505, "addi a0, a0, 0x1"),
        ];
        for &(h, text) in cases {
            let i = decode16(h).unwrap_or_else(|e| panic!("{h:#06x}: {e}"));
            assert_eq!(disasm(&i, None), text, "{h:#06x}");
        }
    }
}
