//! The hart: what instructions do to architectural state. It knows nothing about time.
//!
//! Extension units (the vector unit, the Xpop_matmul unit) execute against a
//! [`HartContext`]: the scalar registers, the FP control state and the guest memory, without
//! reaching into the hart's internals.

pub mod bare_context;
mod exec;
pub mod memory;
pub mod softfloat;
mod state;

pub use exec::{SYS_EXIT, SYS_EXIT_GROUP, SYS_WRITE};
pub use memory::GuestMemory;
pub use state::{Decoded, FetchError, Halt, Hart, MemAccess, Retired, VectorConfig, MISA};
pub mod vector;

pub use memory::OutOfBounds;
use thiserror::Error;

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
