//! The hart's architectural state, its pre-decoded instruction cache, CSRs, memory access
//! (with the per-instruction access log the timing model reads) and the [`HartContext`]
//! implementation extension units execute against.

use super::memory::GuestMemory;
use super::{HartContext, Trap};
use crate::isa::{self, Inst};
use crate::mem::Access;

/// An instruction as held in the decode cache: what it does, its raw bits and its length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decoded {
    /// The instruction.
    pub inst: Inst,
    /// The raw encoding (low 16 bits for a compressed instruction).
    pub raw: u32,
    /// Length in bytes, 2 or 4 (0 marks an empty cache slot).
    pub len: u8,
}

const EMPTY: Decoded = Decoded {
    inst: Inst::FenceI,
    raw: 0,
    len: 0,
};

/// One memory access made by an instruction, for the timing model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemAccess {
    /// First byte.
    pub addr: u64,
    /// Bytes.
    pub len: u32,
    /// Read or write.
    pub access: Access,
}

/// Why execution stopped before the instruction retired normally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Halt {
    /// A trap: illegal instruction, bad access.
    Trap(Trap),
    /// The program asked to exit with this status.
    Exit(i64),
    /// `ebreak`.
    Breakpoint,
}

impl From<Trap> for Halt {
    fn from(t: Trap) -> Self {
        Halt::Trap(t)
    }
}

impl From<super::OutOfBounds> for Halt {
    fn from(e: super::OutOfBounds) -> Self {
        Halt::Trap(Trap::OutOfBounds(e))
    }
}

/// A fetch or decode failure, with what the user needs to find it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchError {
    /// The raw bits fetched (None when the fetch itself failed).
    pub raw: Option<u32>,
    /// The trap.
    pub trap: Trap,
}

/// The pre-decoded instruction cache over the program's text: one slot per halfword.
#[derive(Debug, Clone)]
struct DecodeCache {
    base: u64,
    slots: Vec<Decoded>,
}

/// The vector unit's configuration an instruction ran under (what its timing depends on).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VectorConfig {
    /// `vtype` (bit 63 set: vill).
    pub vtype: u64,
    /// `vl`.
    pub vl: u64,
    /// VLEN in bytes.
    pub vlenb: u64,
}

/// What the hart hands the timing model for one executed instruction: everything the timing
/// depends on, so the timing model never reads the hart itself.
#[derive(Debug, Clone, Copy)]
pub struct Retired<'a> {
    /// The PC after the instruction (the successor's, or a branch or jump target).
    pub next_pc: u64,
    /// Its memory accesses (empty unless the access log is on).
    pub accesses: &'a [MemAccess],
    /// Base of the MMIO device window (device registers are not timed by the memory model).
    pub mmio_base: u64,
    /// The vector configuration after it, for a vector instruction on a hart with a vector
    /// unit.
    pub vector: Option<VectorConfig>,
    /// The matrix unit's work, when it was an Xpop instruction that completed.
    pub xpop: Option<&'a crate::matmul::XpopWork>,
}

/// One RV64 hart.
#[derive(Debug, Clone)]
pub struct Hart {
    /// Integer registers (x0 is kept at zero).
    pub(in crate::hart) x: [u64; 32],
    /// FP registers, raw 64 bits (narrower values NaN-boxed).
    pub(in crate::hart) f: [u64; 32],
    /// The program counter.
    pub(in crate::hart) pc: u64,
    /// Accrued FP exception flags (NV DZ OF UF NX).
    pub(in crate::hart) fflags: u8,
    /// Dynamic rounding mode.
    pub(in crate::hart) frm: u8,
    /// Instructions retired.
    pub(in crate::hart) instret: u64,
    /// The cycle counter as the driver (timing model, or instret in functional mode) sets it.
    pub(in crate::hart) cycle: u64,
    /// This hart's id (`mhartid`).
    pub(in crate::hart) hart_id: u64,
    /// `mstatus`, kept as written: FP and vector state are always on (FS/VS are not
    /// checked), so bare-metal start-up code that sets FS/VS works unchanged.
    pub(in crate::hart) mstatus: u64,
    /// Guest memory ([`Hart::mem`], [`Hart::mem_mut`]).
    pub(in crate::hart) mem: GuestMemory,
    /// The vector unit (see [`Hart::attach_vector`]); without one, vector instructions and
    /// CSRs are illegal.
    pub(in crate::hart) vector: Option<crate::hart::vector::VectorUnit>,
    /// The Xpop_matmul unit, when the card has one (see [`Hart::attach_matmul`]).
    pub(in crate::hart) matmul: Option<crate::matmul::MatmulUnit>,
    reservation: Option<u64>,
    log_enabled: bool,
    log: Vec<MemAccess>,
    cache: DecodeCache,
}

/// `misa`: RV64 with I, M, A, F, D, C (V is added once the vector unit is integrated).
pub const MISA: u64 = (2 << 62) | (1 << 0) | (1 << 2) | (1 << 3) | (1 << 5) | (1 << 8) | (1 << 12);

impl Hart {
    /// A hart over `mem`, starting at `pc`, with the decode cache covering
    /// `[text_base, text_end)`.
    pub fn new(mem: GuestMemory, pc: u64, text_base: u64, text_end: u64) -> Self {
        let slots = (text_end.saturating_sub(text_base) / 2) as usize;
        Self {
            x: [0; 32],
            f: [0; 32],
            pc,
            fflags: 0,
            frm: 0,
            instret: 0,
            cycle: 0,
            hart_id: 0,
            mstatus: 0,
            mem,
            matmul: None,
            vector: None,
            reservation: None,
            log_enabled: false,
            log: Vec::with_capacity(16),
            cache: DecodeCache {
                base: text_base,
                slots: vec![EMPTY; slots],
            },
        }
    }

    /// The integer registers (x0 reads as zero).
    pub fn xregs(&self) -> &[u64; 32] {
        &self.x
    }

    /// The FP registers, raw 64 bits.
    pub fn fregs(&self) -> &[u64; 32] {
        &self.f
    }

    /// The program counter: the next instruction to execute.
    #[inline]
    pub fn pc(&self) -> u64 {
        self.pc
    }

    /// Moves the program counter (the run loop steps past an exit call with it).
    #[inline]
    pub fn set_pc(&mut self, pc: u64) {
        self.pc = pc;
    }

    /// Instructions retired.
    #[inline]
    pub fn instret(&self) -> u64 {
        self.instret
    }

    /// Counts one retired instruction (the run loop, after `execute` completed it).
    #[inline]
    pub fn count_retired(&mut self) {
        self.instret += 1;
    }

    /// Sets the cycle counter the `cycle` CSR reads (the timing model's cycle, or instret in
    /// functional mode).
    #[inline]
    pub fn set_cycle(&mut self, cycle: u64) {
        self.cycle = cycle;
    }

    /// Guest memory.
    #[inline]
    pub fn mem(&self) -> &GuestMemory {
        &self.mem
    }

    /// Guest memory, to load programs and operands or read results.
    #[inline]
    pub fn mem_mut(&mut self) -> &mut GuestMemory {
        &mut self.mem
    }

    /// The guest memory back, when the hart is done.
    pub fn into_mem(self) -> GuestMemory {
        self.mem
    }

    /// The vector unit, if attached.
    pub fn vector(&self) -> Option<&crate::hart::vector::VectorUnit> {
        self.vector.as_ref()
    }

    /// The Xpop_matmul unit, if attached (the run loop sets its cycle budget).
    pub fn matmul_mut(&mut self) -> Option<&mut crate::matmul::MatmulUnit> {
        self.matmul.as_mut()
    }

    /// Gives the hart a vector unit (RVV 1.0 at the unit's VLEN).
    pub fn attach_vector(&mut self, unit: crate::hart::vector::VectorUnit) {
        self.vector = Some(unit);
    }

    /// Gives the hart an Xpop_matmul unit; without one, Xpop instructions are illegal.
    pub fn attach_matmul(&mut self, unit: crate::matmul::MatmulUnit) {
        self.matmul = Some(unit);
    }

    /// The retire record of `d`, the instruction just executed, for the timing model: the
    /// vector configuration for a vector instruction, the matrix unit's work for an Xpop one.
    #[inline]
    pub fn retired(&self, d: &Decoded) -> Retired<'_> {
        Retired {
            next_pc: self.pc,
            accesses: &self.log,
            mmio_base: self.mem.mmio_base(),
            vector: match d.inst {
                crate::isa::Inst::Vector(_) => self.vector.as_ref().map(|u| VectorConfig {
                    vtype: u.vtype(),
                    vl: u.vl(),
                    vlenb: u.vlenb() as u64,
                }),
                _ => None,
            },
            xpop: match d.inst {
                crate::isa::Inst::Xpop(_) => self.matmul.as_ref().and_then(|m| m.last_work()),
                _ => None,
            },
        }
    }

    /// Records each instruction's memory accesses (for the timing model) when `on`.
    pub fn set_access_log(&mut self, on: bool) {
        self.log_enabled = on;
    }

    /// The accesses of the last instruction (empty when logging is off).
    #[inline]
    pub fn accesses(&self) -> &[MemAccess] {
        &self.log
    }

    /// Clears the access log (the driver calls this before each instruction).
    #[inline]
    pub fn clear_accesses(&mut self) {
        self.log.clear();
    }

    /// Writes integer register `r` (x0 stays zero).
    #[inline(always)]
    pub fn set_x(&mut self, r: u8, v: u64) {
        self.x[r as usize] = v;
        self.x[0] = 0;
    }

    /// Fetches and decodes the instruction at `pc`, through the decode cache.
    #[inline]
    pub fn fetch(&mut self, pc: u64) -> Result<Decoded, FetchError> {
        let idx = (pc.wrapping_sub(self.cache.base) >> 1) as usize;
        if pc & 1 == 0 {
            if let Some(d) = self.cache.slots.get(idx) {
                if d.len != 0 {
                    return Ok(*d);
                }
            }
        }
        let d = self.fetch_slow(pc)?;
        if let Some(slot) = self.cache.slots.get_mut(idx) {
            *slot = d;
        }
        Ok(d)
    }

    fn fetch_slow(&self, pc: u64) -> Result<Decoded, FetchError> {
        if pc & 1 != 0 {
            return Err(FetchError {
                raw: None,
                trap: Trap::Misaligned { addr: pc, len: 2 },
            });
        }
        let lo = self.mem.read_uint(pc, 2).map_err(|e| FetchError {
            raw: None,
            trap: Trap::OutOfBounds(e),
        })? as u32;
        let raw = if lo & 3 == 3 {
            let hi = self.mem.read_uint(pc + 2, 2).map_err(|e| FetchError {
                raw: Some(lo),
                trap: Trap::OutOfBounds(e),
            })? as u32;
            lo | (hi << 16)
        } else {
            lo
        };
        match isa::decode(raw) {
            Ok((inst, len)) => Ok(Decoded { inst, raw, len }),
            Err(reason) => Err(FetchError {
                raw: Some(raw),
                trap: Trap::illegal(reason),
            }),
        }
    }

    /// Drops every pre-decoded instruction (fence.i).
    pub fn flush_decode_cache(&mut self) {
        self.cache.slots.fill(EMPTY);
    }

    #[inline]
    fn invalidate_text(&mut self, addr: u64, len: u64) {
        let base = self.cache.base;
        let end = base + 2 * self.cache.slots.len() as u64;
        if addr < end && addr + len > base {
            // An instruction starting up to 2 bytes before the store may overlap it.
            let lo = (addr.saturating_sub(2).max(base) - base) / 2;
            let hi = ((addr + len).min(end) - base).div_ceil(2);
            for s in &mut self.cache.slots[lo as usize..hi as usize] {
                *s = EMPTY;
            }
        }
    }

    /// Loads `size` bytes (1, 2, 4, 8) little-endian, zero-extended.
    #[inline(always)]
    pub fn load_uint(&mut self, addr: u64, size: usize) -> Result<u64, Trap> {
        if self.log_enabled {
            self.log.push(MemAccess {
                addr,
                len: size as u32,
                access: Access::Read,
            });
        }
        Ok(self.mem.read_uint(addr, size)?)
    }

    /// Stores the low `size` bytes of `v`.
    #[inline(always)]
    pub fn store_uint(&mut self, addr: u64, size: usize, v: u64) -> Result<(), Trap> {
        if self.log_enabled {
            self.log.push(MemAccess {
                addr,
                len: size as u32,
                access: Access::Write,
            });
        }
        self.mem.write_uint(addr, size, v)?;
        self.invalidate_text(addr, size as u64);
        Ok(())
    }

    /// Sets the LR reservation.
    pub(super) fn reserve(&mut self, addr: u64) {
        self.reservation = Some(addr);
    }

    /// Takes the LR reservation (an SC consumes it whether it succeeds or not).
    pub(super) fn take_reservation(&mut self) -> Option<u64> {
        self.reservation.take()
    }

    /// `fcsr`.
    pub fn fcsr(&self) -> u64 {
        ((self.frm as u64) << 5) | self.fflags as u64
    }

    /// Reads a CSR; None when the CSR does not exist.
    pub fn csr_read(&self, csr: u16) -> Option<u64> {
        Some(match csr {
            0x001 => self.fflags as u64,
            0x002 => self.frm as u64,
            0x003 => self.fcsr(),
            0xc00 | 0xc01 | 0xb00 => self.cycle,
            0xc02 | 0xb02 => self.instret,
            0xf14 => self.hart_id,
            0x300 => self.mstatus,
            0x301 => MISA | if self.vector.is_some() { 1 << 21 } else { 0 },
            _ => return self.vector.as_ref().and_then(|v| v.csr_read(csr)),
        })
    }

    /// Writes a CSR; Err when it does not exist or is read-only.
    pub fn csr_write(&mut self, csr: u16, v: u64) -> Result<(), Trap> {
        let v_ = v;
        match csr {
            0x001 => self.fflags = (v & 0x1f) as u8,
            0x002 => self.frm = (v & 7) as u8,
            0x003 => {
                self.fflags = (v & 0x1f) as u8;
                self.frm = ((v >> 5) & 7) as u8;
            }
            0x301 => {} // misa is WARL: writes are ignored.
            0x300 => self.mstatus = v,
            _ if self.vector.as_mut().is_some_and(|v| v.csr_write(csr, v_)) => {}
            _ => {
                let what = if self.csr_read(csr).is_some() {
                    "write to read-only CSR"
                } else {
                    "unknown CSR"
                };
                return Err(Trap::illegal(format!(
                    "{what} {}",
                    isa::disasm::csr_name(csr)
                )));
            }
        }
        Ok(())
    }
}

impl HartContext for Hart {
    fn x(&self, r: u8) -> u64 {
        self.x[(r & 31) as usize]
    }
    fn set_x(&mut self, r: u8, v: u64) {
        Hart::set_x(self, r & 31, v)
    }
    fn f_bits(&self, r: u8) -> u64 {
        self.f[(r & 31) as usize]
    }
    fn set_f_bits(&mut self, r: u8, v: u64) {
        self.f[(r & 31) as usize] = v;
    }
    fn frm(&self) -> u8 {
        self.frm
    }
    fn raise_fflags(&mut self, flags: u8) {
        self.fflags |= flags & 0x1f;
    }
    fn load(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), Trap> {
        if self.log_enabled {
            self.log.push(MemAccess {
                addr,
                len: buf.len() as u32,
                access: Access::Read,
            });
        }
        Ok(self.mem.read(addr, buf)?)
    }
    fn store(&mut self, addr: u64, data: &[u8]) -> Result<(), Trap> {
        if self.log_enabled {
            self.log.push(MemAccess {
                addr,
                len: data.len() as u32,
                access: Access::Write,
            });
        }
        self.mem.write(addr, data)?;
        self.invalidate_text(addr, data.len() as u64);
        Ok(())
    }
}
