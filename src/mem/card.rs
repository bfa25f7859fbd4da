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
/// A look-ahead ([`MemoryModel::access_ahead`]) reaches DDR with only its DDR requests: the
/// scratchpad's requests never enter the DDR controller's queue, so they are left out (in
/// order, the rest unchanged). The scratchpad itself has no queue and ignores a look-ahead.
///
/// Stats mount as `ddr.*` and `scratchpad.*`.
#[derive(Debug, Clone)]
pub struct CardMemory<S: CommandSink = NoTrace> {
    scratchpad_base: u64,
    scratchpad_end: u64,
    scratchpad: FixedLatency,
    ddr: Ddr3<S>,
    /// The DDR requests of a look-ahead that mixes both regions (reused between calls).
    ddr_ahead: Vec<Request>,
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
            ddr_ahead: Vec::new(),
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

    fn access_ahead(&mut self, req: Request, ahead: &[Request]) -> Time {
        if self.is_scratchpad(req.addr) {
            return self.scratchpad.access(req);
        }
        if !ahead.iter().any(|r| self.is_scratchpad(r.addr)) {
            return self.ddr.access_ahead(req, ahead);
        }
        let (base, end) = (self.scratchpad_base, self.scratchpad_end);
        self.ddr_ahead.clear();
        self.ddr_ahead
            .extend(ahead.iter().filter(|r| r.addr < base || r.addr >= end));
        self.ddr.access_ahead(req, &self.ddr_ahead)
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
    use crate::mem::ddr3::check::check;
    use crate::mem::ddr3::{CommandKind, CommandTrace};
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

    /// A conflict in bank 0 followed by three hits to the open row (as in the DDR trace test
    /// `a_conflict_waits_for_queued_row_hits_up_to_the_cap`), with scratchpad requests mixed
    /// into the look-ahead. Returns the DDR command trace as (kind, row) pairs.
    fn conflict_then_hits(
        b: &crate::config::Board,
        through_card: bool,
        look_ahead: bool,
    ) -> Vec<(CommandKind, u64)> {
        let ddr = Ddr3::with_sink(
            &b.memory,
            b.clock,
            Ddr3Options::default(),
            CommandTrace::default(),
        )
        .unwrap();
        let mut card = CardMemory::with_ddr(b, ddr.clone()).unwrap();
        let mut bare = ddr;
        let base = b.memory.base;
        let row = b.memory.row_size.bytes() * b.memory.banks as u64;
        let req = |addr: u64, bytes: u32| Request {
            addr,
            bytes,
            access: Access::Read,
            issue: Time::ZERO,
        };
        // 2 KiB of scratchpad: 32 bursts, twice the DDR queue, if it were counted there.
        let sp = req(b.scratchpad.base, 2048);
        let hit = |c: u64| req(base + 64 * c, 64);
        let seq = [
            req(base, 64),
            req(base + row, 64),
            sp,
            hit(1),
            hit(2),
            sp,
            hit(3),
        ];
        for i in 0..seq.len() {
            let ahead = if look_ahead { &seq[i + 1..] } else { &[][..] };
            if through_card {
                card.access_ahead(seq[i], ahead);
            } else if !card.is_scratchpad(seq[i].addr) {
                let ddr_only: Vec<Request> = ahead
                    .iter()
                    .filter(|r| !card.is_scratchpad(r.addr))
                    .copied()
                    .collect();
                bare.access_ahead(seq[i], &ddr_only);
            }
        }
        let m = if through_card { card.ddr() } else { &bare };
        let trace = m.sink().in_clock_order();
        check(m.timing(), m.banks(), &trace, true).unwrap();
        trace.iter().map(|c| (c.kind, c.row)).collect()
    }

    #[test]
    fn look_ahead_reaches_ddr_without_scratchpad_requests() {
        use CommandKind::*;
        // The look-ahead steers FR-FCFS's row-hit hold (the boards serve in order).
        let b = load_board(
            "innerjib7ea",
            &["memory.controller.scheduler=fr-fcfs".into()],
        )
        .unwrap()
        .board;
        let through_card = conflict_then_hits(&b, true, true);
        // The look-ahead reached DDR: the conflict's precharge waits for the three queued
        // hits (row_hit_cap 4). Had the scratchpad requests leaked into it, their 32 bursts
        // would fill the queue before the hits and the precharge would go at once.
        assert_eq!(
            through_card,
            [
                (Activate, 0),
                (Read, 0),
                (Read, 0),
                (Read, 0),
                (Read, 0),
                (Precharge, 0),
                (Activate, 1),
                (Read, 1)
            ]
        );
        // Exactly what DDR does with the DDR requests alone.
        assert_eq!(through_card, conflict_then_hits(&b, false, true));
        // Without a look-ahead the conflict precharges first.
        let none = conflict_then_hits(&b, true, false);
        assert_eq!(
            &none[..4],
            [(Activate, 0), (Read, 0), (Precharge, 0), (Activate, 1)]
        );
    }
}
