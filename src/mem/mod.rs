//! Card memory timing: how long accesses take ([`MemoryModel`] implementations). The bytes
//! themselves live in the hart's guest memory ([`crate::hart::GuestMemory`]), apart from
//! their timing.
//!
//! A request is at burst granularity: an address, a byte count, read or write, and the time
//! it is issued. The model answers with the time the data is back (read) or accepted (write).
//! Models are used through generics (static dispatch) on the hot path.

pub mod card;
pub mod ddr3;
pub mod fixed;
pub mod microbench;
pub mod regime;

pub use card::CardMemory;

use crate::stats::Stats;
use crate::units::Time;

/// Read or write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Access {
    /// Data flows from memory to the requester.
    Read,
    /// Data flows from the requester to memory.
    Write,
}

/// One memory request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request {
    /// Physical address of the first byte.
    pub addr: u64,
    /// Number of bytes (a model splits this into bursts).
    pub bytes: u32,
    /// Read or write.
    pub access: Access,
    /// When the request is issued to the model.
    pub issue: Time,
}

/// A timing model of a memory: it answers when each request completes.
///
/// Requests must be presented in non-decreasing `issue` order per requester; a model may
/// keep internal queues and bank state between calls.
pub trait MemoryModel {
    /// Accepts a request and returns its completion time (never earlier than `req.issue`).
    fn access(&mut self, req: Request) -> Time;
    /// [`access`](Self::access) from a requester that already knows the requests it issues
    /// next (`ahead`, in order, with their issue times: a closed-loop requester whose next
    /// issues wait only on completions it has seen, or the other requests of one instruction
    /// or one DMA load, issued together). A controller model may let those of them that
    /// reach its queue before it commits a command change that command's order, as a real
    /// queue would (FR-FCFS serving row hits before a precharge). Without an override, or
    /// with `ahead` empty, it is `access`.
    fn access_ahead(&mut self, req: Request, ahead: &[Request]) -> Time {
        let _ = ahead;
        self.access(req)
    }
    /// The model's counters, with paths relative to the model (`bank3.row_hits`).
    fn stats(&self) -> Stats;
    /// Completes whatever the model still holds after its last request (posted writes in a
    /// controller's write buffer) and returns when that work is done; `Time::ZERO` when a
    /// model holds nothing.
    fn flush(&mut self) -> Time {
        Time::ZERO
    }
}
