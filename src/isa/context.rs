//! What an instruction's semantics may see and change of the hart that executes it: the
//! [`HartContext`] interface the extension units (the vector unit, the Xpop_matmul unit)
//! execute against, and the architectural faults ([`Trap`]) they report. It sits below both
//! the hart and the units, so a unit depends on this contract and not on the hart.

use thiserror::Error;

/// An access outside every region of the memory map.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("access of {len} bytes at {addr:#x} is outside the memory map ({map})")]
pub struct OutOfBounds {
    /// The first byte's address.
    pub addr: u64,
    /// The access length.
    pub len: u64,
    /// The map, for the message.
    pub map: String,
}

/// Why an instruction could not complete. Each variant carries what the user needs to find
/// the fault: the PC and raw encoding are added by the hart when it reports the trap.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Trap {
    /// The encoding is not an instruction this core implements, or is reserved.
    #[error("illegal instruction: {reason}")]
    IllegalInstruction {
        /// What is wrong (e.g. "reserved vtype", "unsupported opcode").
        reason: String,
    },
    /// A guest access fell outside the card's memory map.
    #[error("{0}")]
    OutOfBounds(#[from] OutOfBounds),
    /// A misaligned access the core does not support.
    #[error("misaligned {len}-byte access at {addr:#x}")]
    Misaligned {
        /// The address.
        addr: u64,
        /// The access size.
        len: u64,
    },
}

impl Trap {
    /// An illegal-instruction trap with a reason.
    pub fn illegal(reason: impl Into<String>) -> Trap {
        Trap::IllegalInstruction {
            reason: reason.into(),
        }
    }
}

/// What an extension unit may see and change of the hart that issues its instructions.
///
/// Loads and stores made through the context are recorded by the hart, so the timing model
/// can stream them through the memory model after the instruction executes.
pub trait HartContext {
    /// Integer register `r` (x0 reads 0).
    fn x(&self, r: u8) -> u64;
    /// Writes integer register `r` (writes to x0 are ignored).
    fn set_x(&mut self, r: u8, v: u64);
    /// Raw 64 bits of FP register `r` (narrower values are NaN-boxed).
    fn f_bits(&self, r: u8) -> u64;
    /// Writes the raw 64 bits of FP register `r`.
    fn set_f_bits(&mut self, r: u8, v: u64);
    /// The dynamic rounding mode (`frm`, 0..=4).
    fn frm(&self) -> u8;
    /// ORs `flags` (NV=16, DZ=8, OF=4, UF=2, NX=1) into `fflags`.
    fn raise_fflags(&mut self, flags: u8);
    /// Reads guest memory.
    fn load(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), Trap>;
    /// Writes guest memory.
    fn store(&mut self, addr: u64, data: &[u8]) -> Result<(), Trap>;
}
