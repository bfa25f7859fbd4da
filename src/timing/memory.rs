//! The core's memory timing until the DDR3 model is wired in: requests are routed by
//! address to a scratchpad port, the MMIO page, or a DDR port, each a
//! [`FixedLatency`](crate::mem::fixed::FixedLatency) sized from the board.

use crate::config::Board;
use crate::mem::fixed::FixedLatency;
use crate::mem::{MemoryModel, Request};
use crate::program::MemoryMap;
use crate::stats::Stats;
use crate::units::Time;

/// Routes requests to the scratchpad, the MMIO page or DDR.
#[derive(Debug, Clone)]
pub struct RoutedMemory<D: MemoryModel> {
    map: MemoryMap,
    ddr: D,
    scratchpad: FixedLatency,
    mmio: FixedLatency,
}

impl<D: MemoryModel> RoutedMemory<D> {
    /// `ddr` behind the map's DDR range; scratchpad and MMIO from the board.
    pub fn new(board: &Board, ddr: D) -> Self {
        let period = board.clock.period();
        Self {
            map: MemoryMap::from_board(board),
            ddr,
            // One access per cycle of up to 8 bytes, after the board's scratchpad latency.
            scratchpad: FixedLatency::new(period * board.scratchpad.latency.count(), period, 8),
            mmio: FixedLatency::new(period, period, 8),
        }
    }
}

/// A fixed-latency stand-in for DDR: the PHY's read latency, and the bus's peak rate
/// (bus width per transfer at the data rate).
pub fn fixed_ddr(board: &Board) -> FixedLatency {
    let period = board.clock.period();
    let transfer = Time::from_secs(1.0 / board.memory.data_rate.per_sec());
    FixedLatency::new(
        period * board.memory.phy.read_latency.count(),
        transfer,
        board.memory.bus_width.bytes() as u32,
    )
}

impl<D: MemoryModel> MemoryModel for RoutedMemory<D> {
    #[inline]
    fn access(&mut self, req: Request) -> Time {
        let m = &self.map;
        if req.addr.wrapping_sub(m.scratchpad_base) < m.scratchpad_size {
            self.scratchpad.access(req)
        } else if req.addr.wrapping_sub(m.mmio_base) < crate::hart::memory::MMIO_SIZE {
            self.mmio.access(req)
        } else {
            self.ddr.access(req)
        }
    }

    fn stats(&self) -> Stats {
        let mut s = Stats::new();
        s.merge_under("ddr", &self.ddr.stats());
        s.merge_under("scratchpad", &self.scratchpad.stats());
        s.merge_under("mmio", &self.mmio.stats());
        s
    }
}
