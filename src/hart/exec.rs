//! What each instruction does: integer, M, A, Zicsr, Zifencei, Zicond, F, D, Zfh, ecall/ebreak.

use super::softfloat::{self as sf, Format};
use super::state::{Decoded, Halt, Hart};
use super::Trap;
use crate::isa::{AmoOp, CsrOp, FpFmt, Inst, IntType};

/// Bare-metal `ecall` numbers (the Linux ones, so test programs behave the same under
/// qemu-riscv64): `write` and `exit`/`exit_group`.
pub const SYS_WRITE: u64 = 64;
/// `exit`.
pub const SYS_EXIT: u64 = 93;
/// `exit_group`.
pub const SYS_EXIT_GROUP: u64 = 94;

fn format(f: FpFmt) -> Format {
    match f {
        FpFmt::H => sf::F16,
        FpFmt::S => sf::F32,
        FpFmt::D => sf::F64,
    }
}

impl Hart {
    /// Reads FP register `r` as format `fmt`, unboxing (an improperly boxed narrow value
    /// reads as the canonical NaN).
    #[inline]
    pub fn read_fp(&self, fmt: FpFmt, r: u8) -> u64 {
        let v = self.f[r as usize];
        match fmt {
            FpFmt::D => v,
            FpFmt::S => {
                if v >> 32 == 0xffff_ffff {
                    v & 0xffff_ffff
                } else {
                    sf::F32.canonical_nan()
                }
            }
            FpFmt::H => {
                if v >> 16 == 0xffff_ffff_ffff {
                    v & 0xffff
                } else {
                    sf::F16.canonical_nan()
                }
            }
        }
    }

    /// Writes FP register `r` with a value of format `fmt`, NaN-boxing narrow values.
    #[inline]
    pub fn write_fp(&mut self, fmt: FpFmt, r: u8, v: u64) {
        self.f[r as usize] = match fmt {
            FpFmt::D => v,
            FpFmt::S => v | 0xffff_ffff_0000_0000,
            FpFmt::H => v | 0xffff_ffff_ffff_0000,
        };
    }

    #[inline]
    fn rm(&self, rm: u8) -> Result<u8, Trap> {
        let r = if rm == 7 { self.frm } else { rm };
        if r > 4 {
            Err(Trap::illegal(format!(
                "dynamic rounding mode with invalid frm={r}"
            )))
        } else {
            Ok(r)
        }
    }

    /// Executes one decoded instruction at `self.pc` and advances the PC.
    #[inline(always)]
    pub fn execute(&mut self, d: &Decoded) -> Result<(), Halt> {
        use Inst::*;
        let pc = self.pc;
        let next = pc.wrapping_add(d.len as u64);
        let x = |s: &Hart, r: u8| s.x[r as usize];
        macro_rules! addr {
            ($rs1:expr, $imm:expr) => {
                x(self, $rs1).wrapping_add($imm as i64 as u64)
            };
        }
        macro_rules! branch {
            ($cond:expr, $off:expr) => {{
                self.pc = if $cond {
                    pc.wrapping_add($off as i64 as u64)
                } else {
                    next
                };
                return Ok(());
            }};
        }
        match d.inst {
            Lui { rd, imm } => self.set_x(rd, imm as i64 as u64),
            Auipc { rd, imm } => self.set_x(rd, pc.wrapping_add(imm as i64 as u64)),
            Jal { rd, off } => {
                self.set_x(rd, next);
                self.pc = pc.wrapping_add(off as i64 as u64);
                return Ok(());
            }
            Jalr { rd, rs1, imm } => {
                let t = addr!(rs1, imm) & !1;
                self.set_x(rd, next);
                self.pc = t;
                return Ok(());
            }
            Beq { rs1, rs2, off } => branch!(x(self, rs1) == x(self, rs2), off),
            Bne { rs1, rs2, off } => branch!(x(self, rs1) != x(self, rs2), off),
            Blt { rs1, rs2, off } => branch!((x(self, rs1) as i64) < (x(self, rs2) as i64), off),
            Bge { rs1, rs2, off } => {
                branch!((x(self, rs1) as i64) >= (x(self, rs2) as i64), off)
            }
            Bltu { rs1, rs2, off } => branch!(x(self, rs1) < x(self, rs2), off),
            Bgeu { rs1, rs2, off } => branch!(x(self, rs1) >= x(self, rs2), off),
            Lb { rd, rs1, imm } => {
                let v = self.load_uint(addr!(rs1, imm), 1)? as u8 as i8 as i64 as u64;
                self.set_x(rd, v)
            }
            Lh { rd, rs1, imm } => {
                let v = self.load_uint(addr!(rs1, imm), 2)? as u16 as i16 as i64 as u64;
                self.set_x(rd, v)
            }
            Lw { rd, rs1, imm } => {
                let v = self.load_uint(addr!(rs1, imm), 4)? as u32 as i32 as i64 as u64;
                self.set_x(rd, v)
            }
            Ld { rd, rs1, imm } => {
                let v = self.load_uint(addr!(rs1, imm), 8)?;
                self.set_x(rd, v)
            }
            Lbu { rd, rs1, imm } => {
                let v = self.load_uint(addr!(rs1, imm), 1)?;
                self.set_x(rd, v)
            }
            Lhu { rd, rs1, imm } => {
                let v = self.load_uint(addr!(rs1, imm), 2)?;
                self.set_x(rd, v)
            }
            Lwu { rd, rs1, imm } => {
                let v = self.load_uint(addr!(rs1, imm), 4)?;
                self.set_x(rd, v)
            }
            Sb { rs1, rs2, imm } => self.store_uint(addr!(rs1, imm), 1, x(self, rs2))?,
            Sh { rs1, rs2, imm } => self.store_uint(addr!(rs1, imm), 2, x(self, rs2))?,
            Sw { rs1, rs2, imm } => self.store_uint(addr!(rs1, imm), 4, x(self, rs2))?,
            Sd { rs1, rs2, imm } => self.store_uint(addr!(rs1, imm), 8, x(self, rs2))?,
            Addi { rd, rs1, imm } => self.set_x(rd, addr!(rs1, imm)),
            Slti { rd, rs1, imm } => self.set_x(rd, ((x(self, rs1) as i64) < imm as i64) as u64),
            Sltiu { rd, rs1, imm } => self.set_x(rd, (x(self, rs1) < imm as i64 as u64) as u64),
            Xori { rd, rs1, imm } => self.set_x(rd, x(self, rs1) ^ imm as i64 as u64),
            Ori { rd, rs1, imm } => self.set_x(rd, x(self, rs1) | imm as i64 as u64),
            Andi { rd, rs1, imm } => self.set_x(rd, x(self, rs1) & imm as i64 as u64),
            Slli { rd, rs1, sh } => self.set_x(rd, x(self, rs1) << sh),
            Srli { rd, rs1, sh } => self.set_x(rd, x(self, rs1) >> sh),
            Srai { rd, rs1, sh } => self.set_x(rd, ((x(self, rs1) as i64) >> sh) as u64),
            Addiw { rd, rs1, imm } => self.set_x(rd, sext32(addr!(rs1, imm))),
            Slliw { rd, rs1, sh } => self.set_x(rd, sext32(x(self, rs1) << sh)),
            Srliw { rd, rs1, sh } => self.set_x(rd, sext32((x(self, rs1) as u32 >> sh) as u64)),
            Sraiw { rd, rs1, sh } => self.set_x(rd, ((x(self, rs1) as i32) >> sh) as i64 as u64),
            Add { rd, rs1, rs2 } => self.set_x(rd, x(self, rs1).wrapping_add(x(self, rs2))),
            Sub { rd, rs1, rs2 } => self.set_x(rd, x(self, rs1).wrapping_sub(x(self, rs2))),
            Sll { rd, rs1, rs2 } => self.set_x(rd, x(self, rs1) << (x(self, rs2) & 63)),
            Slt { rd, rs1, rs2 } => {
                self.set_x(rd, ((x(self, rs1) as i64) < (x(self, rs2) as i64)) as u64)
            }
            Sltu { rd, rs1, rs2 } => self.set_x(rd, (x(self, rs1) < x(self, rs2)) as u64),
            Xor { rd, rs1, rs2 } => self.set_x(rd, x(self, rs1) ^ x(self, rs2)),
            Srl { rd, rs1, rs2 } => self.set_x(rd, x(self, rs1) >> (x(self, rs2) & 63)),
            Sra { rd, rs1, rs2 } => {
                self.set_x(rd, ((x(self, rs1) as i64) >> (x(self, rs2) & 63)) as u64)
            }
            Or { rd, rs1, rs2 } => self.set_x(rd, x(self, rs1) | x(self, rs2)),
            And { rd, rs1, rs2 } => self.set_x(rd, x(self, rs1) & x(self, rs2)),
            Addw { rd, rs1, rs2 } => {
                self.set_x(rd, sext32(x(self, rs1).wrapping_add(x(self, rs2))))
            }
            Subw { rd, rs1, rs2 } => {
                self.set_x(rd, sext32(x(self, rs1).wrapping_sub(x(self, rs2))))
            }
            Sllw { rd, rs1, rs2 } => self.set_x(rd, sext32(x(self, rs1) << (x(self, rs2) & 31))),
            Srlw { rd, rs1, rs2 } => self.set_x(
                rd,
                sext32(((x(self, rs1) as u32) >> (x(self, rs2) & 31)) as u64),
            ),
            Sraw { rd, rs1, rs2 } => self.set_x(
                rd,
                ((x(self, rs1) as i32) >> (x(self, rs2) & 31)) as i64 as u64,
            ),
            Mul { rd, rs1, rs2 } => self.set_x(rd, x(self, rs1).wrapping_mul(x(self, rs2))),
            Mulh { rd, rs1, rs2 } => {
                let p = (x(self, rs1) as i64 as i128) * (x(self, rs2) as i64 as i128);
                self.set_x(rd, (p >> 64) as u64)
            }
            Mulhsu { rd, rs1, rs2 } => {
                let p = (x(self, rs1) as i64 as i128).wrapping_mul(x(self, rs2) as i128);
                self.set_x(rd, (p >> 64) as u64)
            }
            Mulhu { rd, rs1, rs2 } => {
                let p = (x(self, rs1) as u128) * (x(self, rs2) as u128);
                self.set_x(rd, (p >> 64) as u64)
            }
            Div { rd, rs1, rs2 } => {
                let (a, b) = (x(self, rs1) as i64, x(self, rs2) as i64);
                let v = if b == 0 { -1 } else { a.wrapping_div(b) };
                self.set_x(rd, v as u64)
            }
            Divu { rd, rs1, rs2 } => {
                let (a, b) = (x(self, rs1), x(self, rs2));
                self.set_x(rd, a.checked_div(b).unwrap_or(u64::MAX))
            }
            Rem { rd, rs1, rs2 } => {
                let (a, b) = (x(self, rs1) as i64, x(self, rs2) as i64);
                let v = if b == 0 { a } else { a.wrapping_rem(b) };
                self.set_x(rd, v as u64)
            }
            Remu { rd, rs1, rs2 } => {
                let (a, b) = (x(self, rs1), x(self, rs2));
                self.set_x(rd, if b == 0 { a } else { a % b })
            }
            Mulw { rd, rs1, rs2 } => {
                self.set_x(rd, sext32(x(self, rs1).wrapping_mul(x(self, rs2))))
            }
            Divw { rd, rs1, rs2 } => {
                let (a, b) = (x(self, rs1) as i32, x(self, rs2) as i32);
                let v = if b == 0 { -1 } else { a.wrapping_div(b) };
                self.set_x(rd, v as i64 as u64)
            }
            Divuw { rd, rs1, rs2 } => {
                let (a, b) = (x(self, rs1) as u32, x(self, rs2) as u32);
                let v = a.checked_div(b).unwrap_or(u32::MAX);
                self.set_x(rd, v as i32 as i64 as u64)
            }
            Remw { rd, rs1, rs2 } => {
                let (a, b) = (x(self, rs1) as i32, x(self, rs2) as i32);
                let v = if b == 0 { a } else { a.wrapping_rem(b) };
                self.set_x(rd, v as i64 as u64)
            }
            Remuw { rd, rs1, rs2 } => {
                let (a, b) = (x(self, rs1) as u32, x(self, rs2) as u32);
                let v = if b == 0 { a } else { a % b };
                self.set_x(rd, v as i32 as i64 as u64)
            }
            CzeroEqz { rd, rs1, rs2 } => {
                self.set_x(rd, if x(self, rs2) == 0 { 0 } else { x(self, rs1) })
            }
            CzeroNez { rd, rs1, rs2 } => {
                self.set_x(rd, if x(self, rs2) != 0 { 0 } else { x(self, rs1) })
            }
            Fence { .. } => {}
            FenceI => self.flush_decode_cache(),
            Ecall => self.ecall()?,
            Ebreak => return Err(Halt::Breakpoint),
            Csr { op, rd, rs1, csr } => self.csr_op(op, rd, rs1, csr)?,
            Lr { d: dw, rd, rs1, .. } => {
                let a = x(self, rs1);
                let size = if dw { 8 } else { 4 };
                check_aligned(a, size)?;
                let v = self.load_uint(a, size)?;
                self.reserve(a);
                self.set_x(rd, if dw { v } else { sext32(v) })
            }
            Sc {
                d: dw,
                rd,
                rs1,
                rs2,
                ..
            } => {
                let a = x(self, rs1);
                let size = if dw { 8 } else { 4 };
                check_aligned(a, size)?;
                if self.take_reservation() == Some(a) {
                    self.store_uint(a, size, x(self, rs2))?;
                    self.set_x(rd, 0)
                } else {
                    self.set_x(rd, 1)
                }
            }
            Amo {
                op,
                d: dw,
                rd,
                rs1,
                rs2,
                ..
            } => {
                let a = x(self, rs1);
                let size = if dw { 8 } else { 4 };
                check_aligned(a, size)?;
                let old = self.load_uint(a, size)?;
                let old = if dw { old } else { sext32(old) };
                let src = x(self, rs2);
                let (o, s) = if dw { (old, src) } else { (old, sext32(src)) };
                let new = match op {
                    AmoOp::Swap => s,
                    AmoOp::Add => o.wrapping_add(s),
                    AmoOp::Xor => o ^ s,
                    AmoOp::And => o & s,
                    AmoOp::Or => o | s,
                    AmoOp::Min => (o as i64).min(s as i64) as u64,
                    AmoOp::Max => (o as i64).max(s as i64) as u64,
                    AmoOp::Minu => {
                        if dw {
                            o.min(s)
                        } else {
                            (o as u32).min(s as u32) as u64
                        }
                    }
                    AmoOp::Maxu => {
                        if dw {
                            o.max(s)
                        } else {
                            (o as u32).max(s as u32) as u64
                        }
                    }
                };
                self.store_uint(a, size, new)?;
                self.set_x(rd, old)
            }
            Fl { fmt, rd, rs1, imm } => {
                let size = fp_size(fmt);
                let v = self.load_uint(addr!(rs1, imm), size)?;
                self.write_fp(fmt, rd, v)
            }
            Fs { fmt, rs1, rs2, imm } => {
                let size = fp_size(fmt);
                self.store_uint(addr!(rs1, imm), size, self.f[rs2 as usize])?
            }
            Vector(v) => {
                let Some(mut unit) = self.vector.take() else {
                    return Err(Halt::Trap(Trap::illegal(format!(
                        "`{v}`: this hart has no vector unit"
                    ))));
                };
                let r = unit.execute(&v, self);
                self.vector = Some(unit);
                r?
            }
            Xpop(x) => {
                let Some(mut unit) = self.matmul.take() else {
                    return Err(Halt::Trap(Trap::illegal(format!(
                        "`{x}`: this card has no Xpop_matmul unit"
                    ))));
                };
                let r = unit.execute(&x, self);
                self.matmul = Some(unit);
                r?
            }
            _ => self.execute_fp(&d.inst)?,
        }
        self.pc = next;
        Ok(())
    }

    fn execute_fp(&mut self, inst: &Inst) -> Result<(), Trap> {
        use Inst::*;
        let mut fl = 0u8;
        match *inst {
            Fadd {
                fmt,
                rd,
                rs1,
                rs2,
                rm,
            } => {
                let rm = self.rm(rm)?;
                let v = sf::add(
                    format(fmt),
                    self.read_fp(fmt, rs1),
                    self.read_fp(fmt, rs2),
                    rm,
                    &mut fl,
                );
                self.write_fp(fmt, rd, v)
            }
            Fsub {
                fmt,
                rd,
                rs1,
                rs2,
                rm,
            } => {
                let rm = self.rm(rm)?;
                let v = sf::sub(
                    format(fmt),
                    self.read_fp(fmt, rs1),
                    self.read_fp(fmt, rs2),
                    rm,
                    &mut fl,
                );
                self.write_fp(fmt, rd, v)
            }
            Fmul {
                fmt,
                rd,
                rs1,
                rs2,
                rm,
            } => {
                let rm = self.rm(rm)?;
                let v = sf::mul(
                    format(fmt),
                    self.read_fp(fmt, rs1),
                    self.read_fp(fmt, rs2),
                    rm,
                    &mut fl,
                );
                self.write_fp(fmt, rd, v)
            }
            Fdiv {
                fmt,
                rd,
                rs1,
                rs2,
                rm,
            } => {
                let rm = self.rm(rm)?;
                let v = sf::div(
                    format(fmt),
                    self.read_fp(fmt, rs1),
                    self.read_fp(fmt, rs2),
                    rm,
                    &mut fl,
                );
                self.write_fp(fmt, rd, v)
            }
            Fsqrt { fmt, rd, rs1, rm } => {
                let rm = self.rm(rm)?;
                let v = sf::sqrt(format(fmt), self.read_fp(fmt, rs1), rm, &mut fl);
                self.write_fp(fmt, rd, v)
            }
            Fsgnj { fmt, rd, rs1, rs2 }
            | Fsgnjn { fmt, rd, rs1, rs2 }
            | Fsgnjx { fmt, rd, rs1, rs2 } => {
                let (a, b) = (self.read_fp(fmt, rs1), self.read_fp(fmt, rs2));
                let kind = match inst {
                    Fsgnj { .. } => sf::SignInjection::Copy,
                    Fsgnjn { .. } => sf::SignInjection::Negate,
                    _ => sf::SignInjection::Xor,
                };
                self.write_fp(fmt, rd, sf::sign_inject(format(fmt), a, b, kind))
            }
            Fmin { fmt, rd, rs1, rs2 } | Fmax { fmt, rd, rs1, rs2 } => {
                let v = sf::min_max(
                    format(fmt),
                    self.read_fp(fmt, rs1),
                    self.read_fp(fmt, rs2),
                    matches!(inst, Fmax { .. }),
                    &mut fl,
                );
                self.write_fp(fmt, rd, v)
            }
            Feq { fmt, rd, rs1, rs2 } | Flt { fmt, rd, rs1, rs2 } | Fle { fmt, rd, rs1, rs2 } => {
                let (a, b) = (self.read_fp(fmt, rs1), self.read_fp(fmt, rs2));
                let f = format(fmt);
                let r = match inst {
                    Feq { .. } => sf::eq(f, a, b, &mut fl),
                    Flt { .. } => sf::lt(f, a, b, &mut fl),
                    _ => sf::le(f, a, b, &mut fl),
                };
                self.set_x(rd, r as u64)
            }
            Fclass { fmt, rd, rs1 } => {
                let v = sf::classify(format(fmt), self.read_fp(fmt, rs1));
                self.set_x(rd, v)
            }
            FmvXF { fmt, rd, rs1 } => {
                let v = self.f[rs1 as usize];
                let v = match fmt {
                    FpFmt::D => v,
                    FpFmt::S => v as u32 as i32 as i64 as u64,
                    FpFmt::H => v as u16 as i16 as i64 as u64,
                };
                self.set_x(rd, v)
            }
            FmvFX { fmt, rd, rs1 } => {
                let v = self.x[rs1 as usize];
                let v = match fmt {
                    FpFmt::D => v,
                    FpFmt::S => v & 0xffff_ffff,
                    FpFmt::H => v & 0xffff,
                };
                self.write_fp(fmt, rd, v)
            }
            FcvtToInt {
                fmt,
                it,
                rd,
                rs1,
                rm,
            } => {
                let rm = self.rm(rm)?;
                let (bits, signed) = int_type(it);
                let v = sf::to_int(
                    format(fmt),
                    self.read_fp(fmt, rs1),
                    bits,
                    signed,
                    rm,
                    &mut fl,
                );
                let v = if bits == 32 {
                    v as u32 as i32 as i64 as u64
                } else {
                    v as u64
                };
                self.set_x(rd, v)
            }
            FcvtFromInt {
                fmt,
                it,
                rd,
                rs1,
                rm,
            } => {
                let rm = self.rm(rm)?;
                let (bits, signed) = int_type(it);
                let a = self.x[rs1 as usize];
                let a = match (bits, signed) {
                    (32, true) => a as i32 as i64 as u64,
                    (32, false) => a as u32 as u64,
                    _ => a,
                };
                let v = sf::from_int(format(fmt), a, signed, rm, &mut fl);
                self.write_fp(fmt, rd, v)
            }
            FcvtFF {
                to,
                from,
                rd,
                rs1,
                rm,
            } => {
                let rm = self.rm(rm)?;
                let v = sf::convert(
                    format(to),
                    format(from),
                    self.read_fp(from, rs1),
                    rm,
                    &mut fl,
                );
                self.write_fp(to, rd, v)
            }
            Fmadd {
                fmt,
                rd,
                rs1,
                rs2,
                rs3,
                rm,
            }
            | Fmsub {
                fmt,
                rd,
                rs1,
                rs2,
                rs3,
                rm,
            }
            | Fnmsub {
                fmt,
                rd,
                rs1,
                rs2,
                rs3,
                rm,
            }
            | Fnmadd {
                fmt,
                rd,
                rs1,
                rs2,
                rs3,
                rm,
            } => {
                let rm = self.rm(rm)?;
                // fmsub: a*b-c; fnmsub: -(a*b)+c; fnmadd: -(a*b)-c.
                let (np, na) = match inst {
                    Fmadd { .. } => (false, false),
                    Fmsub { .. } => (false, true),
                    Fnmsub { .. } => (true, false),
                    _ => (true, true),
                };
                let v = sf::fma(
                    format(fmt),
                    self.read_fp(fmt, rs1),
                    self.read_fp(fmt, rs2),
                    self.read_fp(fmt, rs3),
                    np,
                    na,
                    rm,
                    &mut fl,
                );
                self.write_fp(fmt, rd, v)
            }
            other => {
                return Err(Trap::illegal(format!(
                    "instruction `{other}` is decoded but not executable by the scalar hart"
                )))
            }
        }
        self.fflags |= fl;
        Ok(())
    }

    fn csr_op(&mut self, op: CsrOp, rd: u8, rs1: u8, csr: u16) -> Result<(), Trap> {
        let src = match op {
            CsrOp::Rw | CsrOp::Rs | CsrOp::Rc => self.x[rs1 as usize],
            _ => rs1 as u64,
        };
        let writes = match op {
            CsrOp::Rw | CsrOp::Rwi => true,
            _ => rs1 != 0,
        };
        let reads = !matches!(op, CsrOp::Rw | CsrOp::Rwi) || rd != 0;
        let old = match self.csr_read(csr) {
            Some(v) => v,
            None if !reads => 0,
            None => {
                return Err(Trap::illegal(format!(
                    "unknown CSR {}",
                    crate::isa::disasm::csr_name(csr)
                )))
            }
        };
        if writes {
            let new = match op {
                CsrOp::Rw | CsrOp::Rwi => src,
                CsrOp::Rs | CsrOp::Rsi => old | src,
                CsrOp::Rc | CsrOp::Rci => old & !src,
            };
            self.csr_write(csr, new)?;
        }
        self.set_x(rd, old);
        Ok(())
    }

    fn ecall(&mut self) -> Result<(), Halt> {
        let a7 = self.x[17];
        match a7 {
            // Linux keeps the low 8 bits of the status (qemu-riscv64 exits 0 for exit(256)).
            SYS_EXIT | SYS_EXIT_GROUP => Err(Halt::Exit((self.x[10] & 0xff) as i64)),
            SYS_WRITE => {
                let (fd, buf, len) = (self.x[10], self.x[11], self.x[12]);
                if fd != 1 && fd != 2 {
                    return Err(Halt::Trap(Trap::illegal(format!(
                        "ecall write to unsupported file descriptor {fd} (only 1 and 2)"
                    ))));
                }
                // The whole buffer is written, as Linux would; the console's limit is checked
                // before any host memory is taken for it.
                let room = super::memory::MAX_CONSOLE_BYTES - self.mem.console.len();
                if len > room as u64 {
                    return Err(Halt::Trap(Trap::illegal(format!(
                        "ecall write of {len} bytes: console output would exceed its {} MiB \
                         limit (MAX_CONSOLE_BYTES; {} bytes written so far)",
                        super::memory::MAX_CONSOLE_BYTES >> 20,
                        self.mem.console.len()
                    ))));
                }
                let mut bytes = vec![0u8; len as usize];
                super::HartContext::load(self, buf, &mut bytes)?;
                self.mem
                    .console_write(&bytes)
                    .map_err(|m| Halt::Trap(Trap::illegal(m)))?;
                self.set_x(10, len);
                Ok(())
            }
            n => Err(Halt::Trap(Trap::illegal(format!(
                "unsupported ecall number a7={n} (supported: 64 write, 93 exit, 94 exit_group)"
            )))),
        }
    }
}

#[inline(always)]
fn sext32(v: u64) -> u64 {
    v as u32 as i32 as i64 as u64
}

fn fp_size(f: FpFmt) -> usize {
    match f {
        FpFmt::H => 2,
        FpFmt::S => 4,
        FpFmt::D => 8,
    }
}

fn int_type(it: IntType) -> (u32, bool) {
    match it {
        IntType::W => (32, true),
        IntType::Wu => (32, false),
        IntType::L => (64, true),
        IntType::Lu => (64, false),
    }
}

fn check_aligned(addr: u64, size: usize) -> Result<(), Trap> {
    if !addr.is_multiple_of(size as u64) {
        Err(Trap::Misaligned {
            addr,
            len: size as u64,
        })
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hart::memory::GuestMemory;

    /// Executes the 32-bit word `w` at 0x8000_0000 on a hart whose x registers start as
    /// `x`, returning the hart afterwards.
    fn run_one(w: u32, x: &[(u8, u64)]) -> Hart {
        let mut mem = GuestMemory::new(0x1000_0000);
        mem.add_region("ddr", 0x8000_0000, 1 << 16);
        let mut hart = Hart::new(mem, 0x8000_0000, 0x8000_0000, 0x8000_1000);
        for &(r, v) in x {
            hart.set_x(r, v);
        }
        let (inst, len) = crate::isa::decode(w).unwrap();
        let raw = w;
        hart.execute(&Decoded { inst, raw, len }).unwrap();
        hart
    }

    #[test]
    fn czero_selects_by_the_condition_register() {
        // czero.eqz a0, a1, a2 (0x0ec5d533) / czero.nez a0, a1, a2 (0x0ec5f533):
        // a1 = value, a2 = condition.
        let (eqz, nez) = (0x0ec5_d533, 0x0ec5_f533);
        let v = 0xdead_beef_0123_4567u64;
        for (cond, want_eqz, want_nez) in [(0, 0, v), (1, v, 0), (u64::MAX, v, 0), (1 << 63, v, 0)]
        {
            let h = run_one(eqz, &[(10, 7), (11, v), (12, cond)]);
            assert_eq!(h.x[10], want_eqz, "czero.eqz, condition {cond:#x}");
            assert_eq!(h.pc, 0x8000_0004);
            let h = run_one(nez, &[(10, 7), (11, v), (12, cond)]);
            assert_eq!(h.x[10], want_nez, "czero.nez, condition {cond:#x}");
        }
        // rs1 == rs2: eqz keeps the value (zero or not), nez always gives zero.
        // czero.eqz a0, a1, a1 (0x0eb5d533) / czero.nez a0, a1, a1 (0x0eb5f533).
        assert_eq!(run_one(0x0eb5_d533, &[(11, 5)]).x[10], 5);
        assert_eq!(run_one(0x0eb5_f533, &[(11, 5)]).x[10], 0);
        // rd = x0 stays zero; rs2 = x0 reads zero (czero.nez t0, s1, zero: 0x0e04f2b3).
        assert_eq!(run_one(0x0e00_d033, &[(1, 9), (31, 1)]).x[0], 0);
        assert_eq!(run_one(0x0e04_f2b3, &[(9, 42)]).x[5], 42);
    }
}
