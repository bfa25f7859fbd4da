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

pub use crate::isa::context::{HartContext, OutOfBounds, Trap};
