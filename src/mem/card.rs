//! One card's memory system as the core and the engines see it: requests routed by address
//! to the on-chip scratchpad or to DDR.

use super::ddr3::{CommandSink, Ddr3, Ddr3Error, Ddr3Options, NoTrace};
use super::fixed::FixedLatency;
use super::{MemoryModel, Request};
use crate::config::Board;
use crate::stats::Stats;
use crate::units::Time;

/// The scratchpad (a [`FixedLatency`] port) and DDR (the [`Ddr3`] model), chosen by the
/// request's first address: a request starting inside `scratchpad.base .. + size` goes to the
/// scratchpad, every other request to DDR. (Whether the whole request lies inside one region
/// is the backing store's check, which runs before timing.)
///
/// The scratchpad moves `scratchpad.port_width` bytes per core cycle; a request's last beat
/// has its data `scratchpad.latency` cycles after that beat starts (a 1-cycle scratchpad
/// answers a one-beat request one cycle after issue).
///
/// Stats mount as `ddr.*` and `scratchpad.*`.
#[derive(Debug, Clone)]
pub struct CardMemory<S: CommandSink = NoTrace> {
    scratchpad_base: u64,
    scratchpad_end: u64,
    scratchpad: FixedLatency,
    ddr: Ddr3<S>,
}

impl CardMemory<NoTrace> {
    /// The memory system of `board`'s card.
    pub fn new(board: &Board) -> Result<Self, Ddr3Error> {
        Self::with_ddr(board, Ddr3::from_board(board)?)
    }

    /// As [`new`](Self::new) with DDR options (refresh off for experiments).
    pub fn with_options(board: &Board, options: Ddr3Options) -> Result<Self, Ddr3Error> {
        Self::with_ddr(
            board,
            Ddr3::with_sink(&board.memory, board.clock, options, NoTrace)?,
        )
    }
}

impl<S: CommandSink> CardMemory<S> {
    /// The memory system of `board`'s card around a DDR model built by the caller (a traced
    /// one, for instance).
    pub fn with_ddr(board: &Board, ddr: Ddr3<S>) -> Result<Self, Ddr3Error> {
        let sp = &board.scratchpad;
        let cycle = board.clock.period();
        let latency = cycle * sp.latency.count().saturating_sub(1);
        let port = u32::try_from(sp.port_width.bytes())
            .ok()
            .filter(|&w| w > 0)
            .ok_or_else(|| Ddr3Error::Config {
                key: "scratchpad.port_width".into(),
                message: format!("{} is not a usable port width", sp.port_width),
            })?;
        Ok(Self {
            scratchpad_base: sp.base,
            scratchpad_end: sp.base + sp.size.bytes(),
            scratchpad: FixedLatency::new(latency, cycle, port),
            ddr,
        })
    }

    /// The DDR model.
    pub fn ddr(&self) -> &Ddr3<S> {
        &self.ddr
    }

    /// True when `addr` is routed to the scratchpad.
    #[inline]
    pub fn is_scratchpad(&self, addr: u64) -> bool {
        addr >= self.scratchpad_base && addr < self.scratchpad_end
    }
}

impl<S: CommandSink> MemoryModel for CardMemory<S> {
    #[inline]
    fn access(&mut self, req: Request) -> Time {
        if self.is_scratchpad(req.addr) {
            self.scratchpad.access(req)
        } else {
            self.ddr.access(req)
        }
    }

    fn flush(&mut self) -> Time {
        self.ddr.flush()
    }

    fn stats(&self) -> Stats {
        let mut s = Stats::new();
        s.merge_under("ddr", &self.ddr.stats());
        s.merge_under("scratchpad", &self.scratchpad.stats());
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_board;
    use crate::mem::Access;

    #[test]
    fn routes_by_address_and_mounts_stats() {
        let b = load_board("innerjib7ea", &[]).unwrap().board;
        let mut m = CardMemory::new(&b).unwrap();
        let cycle = b.clock.period();
        let sp = m.access(Request {
            addr: b.scratchpad.base + 64,
            bytes: 64,
            access: Access::Read,
            issue: Time::ZERO,
        });
        // 64 bytes over a 32-byte port: two beats; the last beat's data one cycle after it starts.
        assert_eq!(sp, cycle * 2);
        // A DDR read opens its row and waits for the PHY: later than the scratchpad.
        let ddr = m.access(Request {
            addr: b.memory.base,
            bytes: 64,
            access: Access::Read,
            issue: Time::ZERO,
        });
        assert!(ddr > sp);
        let s = m.stats();
        assert_eq!(s.get("scratchpad.reads"), Some(1.0));
        assert_eq!(s.get("ddr.reads"), Some(1.0));
        assert_eq!(s.get("ddr.writes"), Some(0.0));
        assert!(m.is_scratchpad(b.scratchpad.base + b.scratchpad.size.bytes() - 1));
        assert!(!m.is_scratchpad(b.scratchpad.base + b.scratchpad.size.bytes()));
    }
}
