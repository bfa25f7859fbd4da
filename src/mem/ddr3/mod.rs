//! The DDR3 timing model: banks with open rows, refresh, the tRRD/tFAW activation limits,
//! read/write turnaround, the controller's request queue (in-order or FR-FCFS), the open or
//! closed page policy, and the LiteDRAM ECP5 PHY's fixed latencies.
//!
//! # How a request is timed
//!
//! Time inside the model is counted in DRAM clocks (150 MHz on the Sail boards) and converted
//! exactly to and from [`Time`] femtoseconds at the edges ([`ClockConv`]).
//!
//! 1. **Arrival.** The request reaches the controller at the first system-clock edge at or
//!    after its issue time (and never before the previous request: the controller sees
//!    requests in call order).
//! 2. **Split.** It is cut into bursts (bus width x burst length bytes) by address.
//! 3. **Queue.** Each burst takes one of `queue_depth` entries from the moment it is admitted
//!    until its column command (RD/WR) issues. When the queue is full, the burst waits for the
//!    first entry to free; admission is first come, first served. The requester is never
//!    blocked on earlier completions: a stream of independent requests is pipelined up to
//!    the queue depth. A posted write (board `write_buffer` > 0) waits in the write buffer
//!    instead, and a drained write goes from the buffer straight to its bank's command queue
//!    without a queue entry (under the closed policy at most [`CLOSED_DRAIN_PER_BANK`]
//!    writes each), as DRAMsim3's write buffer feeds its command queues.
//! 4. **Commands.** The burst's commands are placed at the earliest clocks that satisfy every
//!    JEDEC constraint with respect to all commands already committed (the same rules the
//!    checker in [`check`] verifies): a row hit needs only RD/WR; a closed bank needs ACT
//!    first; a bank with another row open needs PRE, ACT. Commands of one bank stay in
//!    arrival order. One command per DRAM clock on the command bus.
//!    - `in-order`: column commands issue strictly in arrival order; ACT/PRE for a later
//!      request may go early to another bank (bank look-ahead, as any controller does).
//!    - `fr-fcfs`: a column command may also take an earlier free slot left between
//!      already committed column commands (a ready request overtakes one still waiting for
//!      its bank), and a row hit to the row a bank is about to close is served before that
//!      precharge when it fits. A conflict presented with a look-ahead
//!      ([`MemoryModel::access_ahead`]) holds its precharge back for the hits to the open
//!      row among the requests that reach the queue before the precharge would go, up to
//!      `row_hit_cap` column commands to the row; those hits then overtake it. A later
//!      request never delays an earlier one: each completion is final when it is returned.
//!    - Page policy `open` leaves rows open; `closed` gives every column command an
//!      auto-precharge (RDA/WRA): the bank closes itself once tRAS and tRTP (write recovery
//!      for a write; with `read_auto_precharge_after_burst`, the burst as well) allow,
//!      without a command on the bus.
//!    - Closed page with `fr-fcfs`, and a look-ahead: the reads among the requests that
//!      follow (up to the first write, and only while no posted write waits) are announced.
//!      Their bursts take queue entries when they arrive, as the presented request's do, and
//!      the bursts are then committed one at a time, each time the queued burst whose bank
//!      can take an ACT first (each bank's in arrival order), until the presented request is
//!      done. This is a controller issuing whichever bank is ready, rather than each request
//!      placed where its own bank allows on arrival and later ones filling the room left
//!      (which lost 10 to 13% of DRAMsim3's random-read bandwidth). It is exact for a
//!      closed-loop requester: no request it has not announced can arrive before the
//!      presented one completes. A request that is not the one announced next drops the
//!      announcements (their commands stay committed).
//! 5. **Refresh.** Every tREFI a refresh falls due. It is committed when the first burst
//!    admitted at or after the due time is scheduled, or whose bank could not take its
//!    next command before the due time: all banks are precharged (PREA) after the last
//!    committed command, REF follows tRP later, and no command may issue until tRFC after
//!    the REF. A closed-page burst admitted before the PREA may still go before it when its
//!    ACT, column command and auto-precharge fit there (its bank is closed again by then).
//! 6. **Completion.** Read data reaches the requester the PHY's read latency after the
//!    system clock in which the RD issued: that latency contains the CAS latency and the
//!    burst's transfer (the ECP5 PHY hands the whole BL8 burst over in one system clock,
//!    doc/memory.md); a write is complete when the PHY has taken its data (write latency
//!    plus the burst). A request completes with its last burst.
//!
//! The model is generic over a [`CommandSink`]; the default [`NoTrace`] records nothing and
//! costs nothing. Build with [`Ddr3::with_sink`] and a [`CommandTrace`] to keep every
//! command for [`check::check`].

pub mod check;
mod mapping;
mod timing;
mod trace;
mod window;

pub use mapping::{AddressMap, Location};
pub use timing::{ClockConv, Ddr3Timing};
pub use trace::{Command, CommandKind, CommandSink, CommandTrace, NoTrace};

use super::{Access, MemoryModel, Request};
use crate::config::{Board, MemoryConfig, PagePolicy, Scheduler};
use crate::stats::Stats;
use crate::stats::Unit;
use crate::units::{Frequency, Time};
use std::collections::VecDeque;
use window::{Keyed, SortedWindow};

/// Closed page: the most writes of one bank in the command queue at once. A buffered write
/// leaves the buffer only when its bank's command queue has room (DRAMsim3's
/// `cmd_queue_size`, 8 in testbench/dramsim3; LiteDRAM's bank machines' cmd_buffers are 8
/// deep), so a drain cannot put a whole buffer of one bank's writes in front of the reads
/// that follow, and the buffer plus the queue reach no further ahead than a controller's.
/// Not applied to the open policy, where a per-bank cap cost the open-page mixed traces 3 to
/// 7% against DRAMsim3 (doc/validation.md).
const CLOSED_DRAIN_PER_BANK: u32 = 8;

/// Stale window entries are dropped every this many DRAM clocks.
const PRUNE_EVERY: u64 = 128;

/// A memory configuration the DDR3 model cannot run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Ddr3Error {
    /// A board value is inconsistent with the model.
    #[error("board key `{key}`: {message}")]
    Config {
        /// Dotted board key.
        key: String,
        /// What is wrong.
        message: String,
    },
}

/// Switches for experiments and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ddr3Options {
    /// Issue refreshes (on for every real run; off to measure what refresh costs).
    pub refresh: bool,
}

impl Default for Ddr3Options {
    fn default() -> Self {
        Self { refresh: true }
    }
}

/// A row a bank has been told to close: served by an FR-FCFS overtake until `pre_at`.
#[derive(Debug, Clone, Copy)]
struct Closing {
    row: u64,
    pre_at: u64,
    cas_ok: u64,
}

/// One bank, after every command committed so far.
#[derive(Debug, Clone, Default)]
struct Bank {
    open: Option<u64>,
    /// Earliest column command to the open row (tRCD).
    cas_ok: u64,
    /// Earliest PRE (tRAS, tRTP, write recovery).
    pre_ok: u64,
    /// Earliest ACT (tRP, tRC).
    act_ok: u64,
    /// Last PRE, for REF's tRP.
    last_pre: Option<u64>,
    /// Last column command of the current row, for in-bank order.
    last_cas: u64,
    /// Column commands to the open row since its ACT (the row-hit cap counts these).
    streak: u32,
    closing: Option<Closing>,
    hits: u64,
    misses: u64,
    conflicts: u64,
    activates: u64,
    reads: u64,
    writes: u64,
}

/// Occupancy of the command bus, one bit per DRAM clock, from `base_word * 64` on.
#[derive(Debug, Clone, Default)]
struct SlotMap {
    base_word: u64,
    words: VecDeque<u64>,
}

impl SlotMap {
    #[inline]
    fn is_free(&self, t: u64) -> bool {
        let w = t / 64;
        debug_assert!(
            w >= self.base_word,
            "command bus slot below the pruned window"
        );
        match self.words.get((w - self.base_word) as usize) {
            Some(bits) => bits & (1 << (t % 64)) == 0,
            None => true,
        }
    }

    #[inline]
    fn set(&mut self, t: u64) {
        let idx = (t / 64 - self.base_word) as usize;
        if idx >= self.words.len() {
            self.words.resize(idx + 1, 0);
        }
        self.words[idx] |= 1 << (t % 64);
    }

    /// The first free clock at or after `t`.
    #[inline]
    fn first_free(&self, mut t: u64) -> u64 {
        loop {
            let idx = (t / 64 - self.base_word) as usize;
            let Some(&bits) = self.words.get(idx) else {
                return t;
            };
            let free = !bits >> (t % 64);
            if free != 0 {
                return t + free.trailing_zeros() as u64;
            }
            t = (t / 64 + 1) * 64;
        }
    }

    /// Forgets clocks before `t` (no command will be placed there any more).
    #[inline]
    fn prune(&mut self, t: u64) {
        let w = t / 64;
        while self.base_word < w {
            if self.words.pop_front().is_none() {
                self.base_word = w;
                break;
            }
            self.base_word += 1;
        }
    }
}

#[derive(Debug, Clone, Default)]
struct Counters {
    reads: u64,
    writes: u64,
    read_bytes: u64,
    write_bytes: u64,
    bursts: u64,
    precharges: u64,
    refreshes: u64,
    refresh_busy: u64,
    queue_wait: u64,
    read_latency: u64,
    write_latency: u64,
    overtakes: u64,
    write_drains: u64,
    write_forwards: u64,
    last_done: u64,
}

/// A posted write waiting in the write buffer.
#[derive(Debug, Clone, Copy)]
struct PendingWrite {
    burst: u64,
    loc: Location,
    close_after: bool,
    /// Clock at which the buffer took it.
    accepted: u64,
}

/// A queue entry whose departure is not decided yet (an announced burst, see [`Announced`]).
const UNDECIDED: u64 = u64::MAX;

/// One burst of an announced request.
#[derive(Debug, Clone, Copy)]
struct AnnouncedBurst {
    loc: Location,
    /// Clock the command queue took it (none yet: the queue had no room it could know of).
    admit: Option<u64>,
    /// Clock its data is done, once its commands are committed.
    done: Option<u64>,
}

/// Closed page, FR-FCFS: a read the requester announced ([`MemoryModel::access_ahead`])
/// before presenting it. Its bursts enter the command queue when they arrive, and each
/// command slot goes to whichever queued burst's bank can take an ACT first, as a
/// controller that issues whichever bank is ready would.
#[derive(Debug, Clone)]
struct Announced {
    req: Request,
    arrival: u64,
    bursts: Vec<AnnouncedBurst>,
}

/// The write buffer's settings (board `memory.controller.write_*`).
#[derive(Debug, Clone, Copy)]
struct WritePolicy {
    capacity: usize,
    high: usize,
    low: usize,
    idle_drain: usize,
    hit_cap: u32,
}

/// LiteDRAM's multiplexer phases (board `read_time`/`write_time`), in DRAM clocks.
#[derive(Debug, Clone, Copy)]
struct Phases {
    /// Reads served since the last write batch before waiting writes get one.
    read_time: u64,
    /// A write batch ends once its column commands span this long.
    write_time: u64,
}

/// A committed column command.
#[derive(Debug, Clone, Copy)]
struct ColumnEntry {
    at: u64,
    write: bool,
}

impl Keyed for ColumnEntry {
    #[inline(always)]
    fn key(&self) -> u64 {
        self.at
    }
}

/// The DDR3 model of one card's memory. `S` receives every committed command.
#[derive(Debug, Clone)]
pub struct Ddr3<S: CommandSink = NoTrace> {
    t: Ddr3Timing,
    map: AddressMap,
    clock: ClockConv,
    policy: PagePolicy,
    scheduler: Scheduler,
    depth: usize,
    refresh: bool,
    banks: Vec<Bank>,
    /// Departure clocks of the bursts in the queue, sorted.
    queue: SortedWindow<u64>,
    /// Departure clocks (column commands) of each bank's drained write bursts in its command
    /// queue, sorted. Drained writes go there straight from the write buffer, not through
    /// `queue`; under the closed policy a bank holds at most [`CLOSED_DRAIN_PER_BANK`].
    bank_queued: Vec<VecDeque<u64>>,
    /// Issue time of the last request (none before the first), whose arrival it shares.
    last_issue: Option<Time>,
    last_arrival: u64,
    last_admit: u64,
    /// Closed page: a read's auto-precharge waits for the burst (board
    /// `read_auto_precharge_after_burst`).
    rda_after_burst: bool,
    /// Clears the DRAM-clock bits below a system clock (the PHY ratio is a power of two).
    sys_mask: u64,
    /// From the system clock of a RD/WR to the burst's completion, DRAM clocks.
    done_after_read: u64,
    done_after_write: u64,
    max_column_gap: u64,
    /// A gap between column commands this wide might hold another (2 x tCCD).
    wide_gap: u64,
    cmd_bus: SlotMap,
    /// Committed column commands, sorted by clock.
    cols: SortedWindow<ColumnEntry>,
    /// Latest clock of an entry of `cols` that has a gap before it wide enough (2 x tCCD) for
    /// another column command. A search starting at or after it can only place at the end.
    last_hole: u64,
    /// Next clock at which stale window entries are dropped.
    prune_at: u64,
    /// The clock of the last drop: no command may be placed before it.
    pruned_to: u64,
    /// Committed ACT clocks, sorted.
    acts: SortedWindow<u64>,
    /// Latest ACT with a gap of at least 2 x tRRD before it (see `last_hole`).
    last_act_hole: u64,
    /// tFAW > 4 x tRRD: otherwise ACTs spaced by tRRD always satisfy tFAW (as on the Sail
    /// boards at 150 MHz) and the window checks are skipped.
    faw_binds: bool,
    /// Latest clock of any committed command.
    last_cmd: u64,
    /// No command may issue before this clock (end of the last refresh).
    floor: u64,
    /// The end of the refresh before the last: a drained write, which may be placed earlier
    /// than the last refresh (closed page, see [`before_refresh`](Self::before_refresh)),
    /// still goes after this one.
    floor_before: u64,
    /// The last committed refresh: its first clock (PREA, or REF when no bank was open) and
    /// its REF. A closed-page burst may still use the time before it (see
    /// [`before_refresh`](Self::before_refresh)).
    ref_window: Option<(u64, u64)>,
    next_ref: u64,
    /// Posted writes not yet handed to the command queue, oldest first (capacity reserved
    /// once: no allocation per access).
    wbuf: Vec<PendingWrite>,
    /// The earliest `accepted` clock in `wbuf` (`u64::MAX` when empty).
    buffered_floor: u64,
    /// Open page, LiteDRAM's multiplexer phases (board `read_time`/`write_time`), in DRAM
    /// clocks; none: batches only at the watermarks.
    phases: Option<Phases>,
    /// With phases: the clock the current read phase began (the last write batch's last
    /// column command).
    reads_since: u64,
    /// The column command of the burst committed last.
    last_column: u64,
    /// Clocks at which drained writes leave the buffer for the command queue, sorted: each
    /// keeps its buffer entry until then.
    wbuf_leaving: SortedWindow<u64>,
    writes: WritePolicy,
    /// Closed page: writes the drain under way has still to move, and its first clock.
    draining: usize,
    drain_from: u64,
    /// DRAM clocks from the arrival edge to the command queue.
    frontend: u64,
    /// DRAM clocks from a column command to the first command to another bank (board
    /// `controller.bank_switch`; 0: none).
    bank_switch: u64,
    /// The bank and clock of the latest column command committed.
    last_bank: Option<(u32, u64)>,
    /// Announced reads, in request order (closed page, FR-FCFS; see [`Announced`]).
    announced: VecDeque<Announced>,
    c: Counters,
    sink: S,
}

impl Ddr3<NoTrace> {
    /// The model for the board's memory, untraced, with refresh.
    pub fn from_board(board: &Board) -> Result<Self, Ddr3Error> {
        Self::new(&board.memory, board.clock)
    }

    /// The model for `mem`, whose controller runs on `sys_clock` (which must be the DRAM
    /// clock divided by the PHY ratio).
    pub fn new(mem: &MemoryConfig, sys_clock: Frequency) -> Result<Self, Ddr3Error> {
        Ddr3::with_sink(mem, sys_clock, Ddr3Options::default(), NoTrace)
    }
}

impl<S: CommandSink> Ddr3<S> {
    /// The model with explicit options and a command sink (a [`CommandTrace`] to record).
    pub fn with_sink(
        mem: &MemoryConfig,
        sys_clock: Frequency,
        options: Ddr3Options,
        sink: S,
    ) -> Result<Self, Ddr3Error> {
        let t = Ddr3Timing::from_config(mem)?;
        let want = sys_clock.hz() * mem.phy.ratio as f64;
        if (mem.dram_clock.hz() - want).abs() > 1e-6 * want {
            return Err(Ddr3Error::Config {
                key: "memory.phy.ratio".into(),
                message: format!(
                    "a 1:{} PHY on a {sys_clock} system clock needs a {} MHz DRAM clock, not {}",
                    mem.phy.ratio,
                    want / 1e6,
                    mem.dram_clock
                ),
            });
        }
        let ctl = &mem.controller;
        if ctl.queue_depth == 0 {
            return Err(Ddr3Error::Config {
                key: "memory.controller.queue_depth".into(),
                message: "the queue needs at least one entry".into(),
            });
        }
        if ctl.write_buffer > 0
            && (ctl.write_high_watermark == 0
                || ctl.write_high_watermark > ctl.write_buffer
                || ctl.write_low_watermark >= ctl.write_high_watermark)
        {
            return Err(Ddr3Error::Config {
                key: "memory.controller.write_high_watermark".into(),
                message: format!(
                    "need 0 <= low ({}) < high ({}) <= write_buffer ({})",
                    ctl.write_low_watermark, ctl.write_high_watermark, ctl.write_buffer
                ),
            });
        }
        let writes = WritePolicy {
            capacity: ctl.write_buffer as usize,
            high: ctl.write_high_watermark as usize,
            low: ctl.write_low_watermark as usize,
            idle_drain: ctl.write_idle_drain as usize,
            hit_cap: ctl.row_hit_cap.max(1),
        };
        Ok(Self {
            t,
            map: AddressMap::new(mem),
            clock: ClockConv::new(mem.dram_clock),
            policy: mem.controller.page_policy,
            scheduler: mem.controller.scheduler,
            depth: mem.controller.queue_depth as usize,
            refresh: options.refresh,
            banks: vec![Bank::default(); mem.banks as usize],
            queue: SortedWindow::default(),
            bank_queued: vec![VecDeque::new(); mem.banks as usize],
            last_issue: None,
            last_arrival: 0,
            last_admit: 0,
            sys_mask: !(t.ratio - 1),
            rda_after_burst: ctl.read_auto_precharge_after_burst,
            done_after_read: t.phy_read,
            done_after_write: t.phy_write,
            max_column_gap: t.max_column_gap(),
            wide_gap: 2 * t.ccd.max(t.burst),
            cmd_bus: SlotMap::default(),
            cols: SortedWindow::default(),
            last_hole: 0,
            prune_at: 0,
            pruned_to: 0,
            acts: SortedWindow::default(),
            last_act_hole: 0,
            faw_binds: t.faw > 4 * t.rrd,
            last_cmd: 0,
            floor: 0,
            floor_before: 0,
            ref_window: None,
            next_ref: t.refi,
            wbuf: Vec::with_capacity(writes.capacity),
            buffered_floor: u64::MAX,
            phases: (ctl.read_time.count() > 0 && mem.controller.page_policy == PagePolicy::Open)
                .then(|| Phases {
                    read_time: ctl.read_time.count() * t.ratio,
                    write_time: ctl.write_time.count() * t.ratio,
                }),
            reads_since: 0,
            last_column: 0,
            wbuf_leaving: SortedWindow::default(),
            writes,
            draining: 0,
            drain_from: 0,
            frontend: ctl.frontend_latency.count() * t.ratio,
            bank_switch: ctl.bank_switch.count() * t.ratio,
            last_bank: None,
            announced: VecDeque::new(),
            c: Counters::default(),
            sink,
        })
    }

    /// The timing in DRAM clocks.
    pub fn timing(&self) -> &Ddr3Timing {
        &self.t
    }

    /// Number of banks.
    pub fn banks(&self) -> u32 {
        self.banks.len() as u32
    }

    /// Whether refresh is modelled.
    pub fn refresh_enabled(&self) -> bool {
        self.refresh
    }

    /// DRAM clock conversion.
    pub fn clock(&self) -> ClockConv {
        self.clock
    }

    /// The address mapping.
    pub fn address_map(&self) -> &AddressMap {
        &self.map
    }

    /// The command sink (the trace, when recording).
    pub fn sink(&self) -> &S {
        &self.sink
    }

    /// The completion time of the latest request answered so far.
    pub fn last_completion(&self) -> Time {
        self.clock.time_of(self.c.last_done)
    }

    #[inline]
    fn record(&mut self, at: u64, kind: CommandKind, bank: u32, row: u64, column: u32) {
        self.sink.record(Command {
            at,
            kind,
            bank,
            row,
            column,
        });
    }

    /// Takes a queue entry for a burst arriving at `arrival`; returns the admission clock.
    #[inline]
    fn admit(&mut self, arrival: u64) -> u64 {
        let mut at = arrival.max(self.last_admit);
        while self.queue.first().is_some_and(|&d| d <= at) {
            self.queue.pop_first();
        }
        if self.queue.len() >= self.depth {
            if let Some(d) = self.queue.pop_first() {
                at = at.max(d);
            }
        }
        self.last_admit = at;
        at
    }

    /// Commits every refresh due at or before `now`.
    fn refresh_until(&mut self, now: u64) {
        while self.refresh && self.next_ref <= now {
            self.commit_refresh();
        }
    }

    fn commit_refresh(&mut self) {
        let t0 = self.next_ref.max(self.last_cmd + 1).max(self.floor);
        let open_pre_ok = self
            .banks
            .iter()
            .filter(|b| b.open.is_some())
            .map(|b| b.pre_ok)
            .max();
        // tRP after every bank's last precharge (an auto-precharge may still be under way).
        let after_pre = self
            .banks
            .iter()
            .filter_map(|b| b.last_pre)
            .map(|p| p + self.t.rp)
            .max()
            .unwrap_or(0);
        let (start, ref_at) = match open_pre_ok {
            Some(pre_ok) => {
                let p = t0.max(pre_ok);
                self.record(p, CommandKind::PrechargeAll, 0, 0, 0);
                self.c.precharges += 1;
                for b in &mut self.banks {
                    if b.open.take().is_some() {
                        b.last_pre = Some(p);
                    }
                }
                (p, (p + self.t.rp).max(after_pre))
            }
            None => {
                let r = t0.max(after_pre);
                (r, r)
            }
        };
        self.record(ref_at, CommandKind::Refresh, 0, 0, 0);
        // REF and PREA lie after every committed command and before the floor, so no later
        // command can land on their clocks: they need no command-bus bits.
        self.floor_before = self.floor;
        self.floor = ref_at + self.t.rfc;
        self.ref_window = Some((start, ref_at));
        self.last_cmd = ref_at;
        for b in &mut self.banks {
            b.closing = None;
        }
        self.c.refreshes += 1;
        self.c.refresh_busy += self.floor - start;
        self.next_ref += self.t.refi;
    }

    #[inline]
    fn note_cmd(&mut self, at: u64) {
        self.cmd_bus.set(at);
        self.last_cmd = self.last_cmd.max(at);
    }

    fn commit_precharge(&mut self, b: usize, at: u64) {
        let bank = &mut self.banks[b];
        let row = bank.open.take().expect("precharge of an open bank");
        bank.closing = Some(Closing {
            row,
            pre_at: at,
            cas_ok: bank.cas_ok,
        });
        bank.last_pre = Some(at);
        bank.act_ok = bank.act_ok.max(at + self.t.rp);
        self.c.precharges += 1;
        self.note_cmd(at);
        self.record(at, CommandKind::Precharge, b as u32, 0, 0);
    }

    /// The precharge an RDA/WRA starts by itself at `at`: no command on the bus, and no row
    /// left to overtake into.
    fn commit_auto_precharge(&mut self, b: usize, at: u64) {
        let bank = &mut self.banks[b];
        bank.open = None;
        bank.closing = None;
        bank.last_pre = Some(at);
        bank.act_ok = bank.act_ok.max(at + self.t.rp);
        self.c.precharges += 1;
    }

    fn commit_activate(&mut self, b: usize, row: u64, at: u64) {
        let t = self.t;
        let bank = &mut self.banks[b];
        bank.open = Some(row);
        bank.cas_ok = at + t.rcd;
        bank.pre_ok = at + t.ras;
        bank.act_ok = at + t.rc;
        bank.last_cas = 0;
        bank.streak = 0;
        bank.activates += 1;
        let pos = self.acts.upper_bound(at);
        let acts = self.acts.as_slice();
        let wide = 2 * t.rrd;
        if pos > 0 && at - acts[pos - 1] >= wide {
            self.last_act_hole = self.last_act_hole.max(at);
        }
        if let Some(&next) = acts.get(pos) {
            if next - at >= wide {
                self.last_act_hole = self.last_act_hole.max(next);
            }
        }
        self.acts.insert_at(pos, at);
        self.note_cmd(at);
        self.record(at, CommandKind::Activate, b as u32, row, 0);
    }

    #[inline(always)]
    fn commit_column(
        &mut self,
        loc: Location,
        write: bool,
        at: u64,
        in_bank_order: bool,
        auto_precharge: bool,
    ) {
        if self.last_bank.is_none_or(|(_, last)| at >= last) {
            self.last_bank = Some((loc.bank, at));
        }
        if in_bank_order {
            let bank = &mut self.banks[loc.bank as usize];
            bank.last_cas = bank.last_cas.max(at);
            bank.pre_ok = bank.pre_ok.max(at + self.t.column_to_precharge(write));
        }
        let bank = &mut self.banks[loc.bank as usize];
        if bank.open == Some(loc.row) {
            bank.streak = bank.streak.saturating_add(1);
        }
        if write {
            bank.writes += 1;
        } else {
            bank.reads += 1;
        }
        let wide = self.wide_gap;
        let pos = self.cols.upper_bound(at);
        let cols = self.cols.as_slice();
        if pos > 0 && at - cols[pos - 1].at >= wide {
            self.last_hole = self.last_hole.max(at);
        }
        if let Some(next) = cols.get(pos) {
            if next.at - at >= wide {
                self.last_hole = self.last_hole.max(next.at);
            }
        }
        self.cols.insert_at(pos, ColumnEntry { at, write });
        self.note_cmd(at);
        let kind = match (write, auto_precharge) {
            (false, false) => CommandKind::Read,
            (true, false) => CommandKind::Write,
            (false, true) => CommandKind::ReadAp,
            (true, true) => CommandKind::WriteAp,
        };
        self.record(at, kind, loc.bank, loc.row, loc.column);
    }

    /// Earliest ACT clock at or after `lo` that keeps tRRD and tFAW with every committed ACT
    /// and finds the command bus free.
    fn activate_slot(&self, lo: u64) -> u64 {
        let (rrd, faw) = (self.t.rrd, self.t.faw);
        let acts = self.acts.as_slice();
        let n = acts.len();
        let mut t = lo;
        let mut i = acts.partition_point(|&x| x < t);
        loop {
            while i < n && acts[i] < t {
                i += 1;
            }
            if i > 0 && t < acts[i - 1] + rrd {
                t = acts[i - 1] + rrd;
                continue;
            }
            if self.faw_binds && i >= 4 && t < acts[i - 4] + faw {
                t = acts[i - 4] + faw;
                continue;
            }
            if i < n && acts[i] < t + rrd {
                t = acts[i] + rrd;
                if self.last_act_hole <= t {
                    // No ACT after this one has room before it: go to the end.
                    t = t.max(acts[n - 1] + rrd);
                    i = n;
                }
                continue;
            }
            if self.faw_binds {
                // Five-ACT windows with the new one first or in the middle.
                let mut ok = !(i + 3 < n && acts[i + 3] < t + faw);
                for before in 1..4 {
                    let after = 4 - before;
                    if ok && i >= before && i + after <= n {
                        ok = acts[i + after - 1] - acts[i - before] >= faw;
                    }
                }
                if !ok {
                    t += 1;
                    continue;
                }
            }
            let free = self.cmd_bus.first_free(t);
            if free != t {
                t = free;
                continue;
            }
            return t;
        }
    }

    /// Earliest column-command clock at or after `lo` (and at most `limit`) that keeps the
    /// column spacing with the committed column commands on both sides and finds the command
    /// bus free.
    #[inline(always)]
    fn column_slot(&self, lo: u64, write: bool, limit: Option<u64>) -> Option<u64> {
        let t_ = &self.t;
        if self.last_hole <= lo {
            // No gap between committed entries is wide enough for another command: the only
            // candidates are before the first entry and after the last.
            let t = match (self.cols.first(), self.cols.last()) {
                (Some(f), _) if f.at >= lo + t_.column_gap(write, f.write) => lo,
                (_, Some(l)) => lo.max(l.at + t_.column_gap(l.write, write)),
                _ => lo,
            };
            if self.cmd_bus.is_free(t) {
                return if limit.is_some_and(|l| t > l) {
                    None
                } else {
                    Some(t)
                };
            }
        }
        self.column_search(lo, write, limit)
    }

    /// [`column_slot`](Self::column_slot) when a gap between committed column commands might
    /// hold the new one: walk the window from `lo`.
    #[inline(never)]
    fn column_search(&self, lo: u64, write: bool, limit: Option<u64>) -> Option<u64> {
        let t_ = &self.t;
        let cols = self.cols.as_slice();
        let mut t = lo;
        let mut i = self.cols.lower_bound(t);
        let mut skipped = false;
        loop {
            if i > 0 {
                let p = cols[i - 1];
                t = t.max(p.at + t_.column_gap(p.write, write));
            }
            if limit.is_some_and(|l| t > l) {
                return None;
            }
            if let Some(n) = cols.get(i) {
                if n.at < t + t_.column_gap(write, n.write) {
                    // No entry has room before it: nothing fits between entries, only at
                    // the end.
                    i = if self.last_hole <= t && !skipped {
                        skipped = true;
                        cols.len()
                    } else {
                        i + 1
                    };
                    continue;
                }
            }
            if !self.cmd_bus.is_free(t) {
                t += 1;
                continue;
            }
            return Some(t);
        }
    }

    /// Column clock for the in-order scheduler: after the last committed column command.
    #[inline]
    fn in_order_slot(&self, lo: u64, write: bool) -> u64 {
        let mut t = lo;
        if let Some(last) = self.cols.last() {
            t = t.max(last.at + self.t.column_gap(last.write, write));
        }
        self.cmd_bus.first_free(t)
    }

    /// Schedules one burst admitted at `admit`; returns the clock of its column command.
    #[inline]
    fn schedule_burst(
        &mut self,
        loc: Location,
        write: bool,
        admit: u64,
        close_after: bool,
        ahead: &[Request],
    ) -> u64 {
        if close_after && self.scheduler == Scheduler::FrFcfs {
            if let Some(at) = self.before_refresh(loc, write, admit) {
                return at;
            }
        }
        let mut lo = admit.max(self.floor);
        // One port, one bank at a time: another bank's commands wait for the last column
        // command and the controller's pipeline behind it.
        if let (true, Some((bank, at))) = (self.bank_switch > 0, self.last_bank) {
            if bank != loc.bank {
                lo = lo.max(at + self.bank_switch);
            }
        }
        let b = loc.bank as usize;
        if self.scheduler == Scheduler::FrFcfs
            && self.policy == PagePolicy::Open
            && self.banks[b]
                .closing
                .is_some_and(|c| c.row == loc.row && lo < c.pre_at)
        {
            if let Some(at) = self.try_overtake(loc, write, lo) {
                self.banks[b].hits += 1;
                self.c.overtakes += 1;
                self.commit_column(loc, write, at, false, false);
                return at;
            }
        }
        let cas_lo = match self.banks[b].open {
            Some(r) if r == loc.row => {
                let bank = &mut self.banks[b];
                bank.hits += 1;
                lo.max(bank.cas_ok).max(bank.last_cas + 1)
            }
            Some(_) if !ahead.is_empty() => {
                let pre_lo = self.row_hit_hold(b, lo, ahead);
                self.open_row(b, loc.row, lo, pre_lo)
            }
            _ => self.open_row(b, loc.row, lo, lo),
        };
        let at = match self.scheduler {
            Scheduler::InOrder => self.in_order_slot(cas_lo, write),
            Scheduler::FrFcfs => self
                .column_slot(cas_lo, write, None)
                .expect("an unbounded search always finds a slot"),
        };
        self.commit_column(loc, write, at, true, close_after);
        if close_after {
            // Auto-precharge: the bank closes itself as soon as tRAS and tRTP (or write
            // recovery) allow, without a command of its own.
            let mut p = self.banks[b].pre_ok;
            if !write && self.rda_after_burst {
                p = p.max(at + self.t.burst + self.t.rtp);
            }
            self.commit_auto_precharge(b, p);
        }
        at
    }

    /// Closed page, FR-FCFS: a burst admitted before the last committed refresh goes before
    /// it when its ACT, its column command and its auto-precharge all fit: the commands
    /// before the refresh's first clock, the auto-precharge started by then and tRP over by
    /// the REF. The bank is closed again afterwards, as the refresh found it. (Without this,
    /// a refresh committed behind a long closed-page backlog held every later burst until
    /// tRFC after it.) Returns the column command's clock, or `None` (and commits nothing).
    #[inline(never)]
    fn before_refresh(&mut self, loc: Location, write: bool, admit: u64) -> Option<u64> {
        let (blocked, ref_at) = self.ref_window?;
        let b = loc.bank as usize;
        let bank = &self.banks[b];
        if admit >= blocked || bank.open.is_some() {
            return None;
        }
        let t = self.t;
        let a = self.activate_slot(admit.max(bank.act_ok));
        if a + t.rcd >= blocked {
            return None;
        }
        let col = self.column_slot(a + t.rcd, write, Some(blocked - 1))?;
        let mut pre = (a + t.ras).max(col + t.column_to_precharge(write));
        if !write && self.rda_after_burst {
            pre = pre.max(col + t.burst + t.rtp);
        }
        if pre > blocked || pre + t.rp > ref_at {
            return None;
        }
        self.banks[b].misses += 1;
        self.commit_activate(b, loc.row, a);
        self.commit_column(loc, write, col, true, true);
        self.commit_auto_precharge(b, pre);
        Some(col)
    }

    /// Opens `row` in bank `b` (precharging another row first) no earlier than `lo`; returns
    /// the earliest clock for a column command to it.
    #[inline(never)]
    fn open_row(&mut self, b: usize, row: u64, lo: u64, pre_lo: u64) -> u64 {
        if self.banks[b].open.is_some() {
            self.banks[b].conflicts += 1;
            let p = self
                .cmd_bus
                .first_free(pre_lo.max(lo).max(self.banks[b].pre_ok));
            self.commit_precharge(b, p);
        } else {
            self.banks[b].misses += 1;
        }
        let a = self.activate_slot(lo.max(self.banks[b].act_ok));
        self.commit_activate(b, row, a);
        lo.max(a + self.t.rcd)
    }

    /// FR-FCFS with a row-hit cap: the earliest clock for the precharge a conflict in bank
    /// `b` needs, no earlier than `lo`. A controller precharges a row only when its queue
    /// holds no more hits to it or the row has had `row_hit_cap` column commands; the hits
    /// the queue holds are those of the requests in `ahead` that reach it before the
    /// precharge would issue (each one served pushes the precharge back, which may let the
    /// next one in). Those hits then take the room left before the PRE ([`try_overtake`]).
    /// Posted writes wait in the write buffer, not in the queue, and do not count.
    #[inline(never)]
    fn row_hit_hold(&self, b: usize, lo: u64, ahead: &[Request]) -> u64 {
        let bank = &self.banks[b];
        let mut pre = lo.max(bank.pre_ok);
        let (Scheduler::FrFcfs, Some(open)) = (self.scheduler, bank.open) else {
            return pre;
        };
        let cap = self.writes.hit_cap;
        let mut served = bank.streak;
        let mut prev_col = bank.last_cas.max(bank.cas_ok);
        let mut prev_write = self.cols.last().is_some_and(|c| c.write);
        let mut arrival = self.last_arrival;
        let mut last_issue = self.last_issue;
        let mut bursts = 0usize;
        'requests: for r in ahead {
            if served >= cap {
                break;
            }
            if last_issue != Some(r.issue) {
                let c = self.clock.cycle_at_or_after(r.issue);
                arrival = (((c + !self.sys_mask) & self.sys_mask) + self.frontend).max(arrival);
                last_issue = Some(r.issue);
            }
            if arrival >= pre {
                // It reaches the queue after the precharge has gone, and so do the rest.
                break;
            }
            let write = r.access == Access::Write;
            if write && self.writes.capacity > 0 {
                continue;
            }
            let bytes = r.bytes.max(1) as u64;
            let first = self.map.burst_of(r.addr);
            let last = self.map.burst_of(r.addr.wrapping_add(bytes - 1));
            let mut burst = first;
            loop {
                bursts += 1;
                if bursts > self.depth || served >= cap {
                    // Beyond what the queue holds.
                    break 'requests;
                }
                let l = self.map.locate(burst);
                if l.bank as usize == b && l.row == open {
                    let col = arrival
                        .max(prev_col + self.t.column_gap(prev_write, write))
                        .max(bank.cas_ok);
                    prev_col = col;
                    prev_write = write;
                    served += 1;
                    pre = pre.max(col + self.t.column_to_precharge(write));
                }
                if burst == last {
                    break;
                }
                burst = burst.wrapping_add(1);
            }
        }
        pre
    }

    /// FR-FCFS: a hit to the row its bank is about to close, served before that PRE.
    #[inline(never)]
    fn try_overtake(&self, loc: Location, write: bool, lo: u64) -> Option<u64> {
        let cl = self.banks[loc.bank as usize].closing?;
        if cl.row != loc.row || lo >= cl.pre_at {
            return None;
        }
        let latest = cl.pre_at.checked_sub(self.t.column_to_precharge(write))?;
        let from = lo.max(cl.cas_ok);
        if from > latest {
            return None;
        }
        self.column_slot(from, write, Some(latest))
    }

    /// Clock at which a burst whose column command issued at `cas` completes.
    #[inline]
    fn burst_done(&self, cas: u64, write: bool) -> u64 {
        let after = if write {
            self.done_after_write
        } else {
            self.done_after_read
        };
        (cas & self.sys_mask) + after
    }

    /// Forgets state that can no longer constrain commands placed at or after `t`.
    #[inline]
    fn prune(&mut self, t: u64) {
        self.cmd_bus.prune(t);
        let col_keep = t.saturating_sub(self.max_column_gap);
        while self.cols.first().is_some_and(|e| e.at < col_keep) {
            self.cols.pop_first();
        }
        let act_keep = t.saturating_sub(self.t.faw.max(self.t.rrd));
        while self.acts.first().is_some_and(|&x| x < act_keep) {
            self.acts.pop_first();
        }
    }
}

impl<S: CommandSink> Ddr3<S> {
    /// The system-clock edge at which a request issued at `issue` reaches the controller.
    #[inline]
    fn arrival_of(&mut self, issue: Time) -> u64 {
        let arrival = if self.last_issue == Some(issue) {
            self.last_arrival
        } else {
            let c = self.clock.cycle_at_or_after(issue);
            (((c + !self.sys_mask) & self.sys_mask) + self.frontend).max(self.last_arrival)
        };
        self.last_issue = Some(issue);
        self.last_arrival = arrival;
        arrival
    }

    /// Takes a command-queue entry at or after `at` and commits the burst's commands;
    /// returns the clock its data is done.
    #[inline]
    fn issue_burst(
        &mut self,
        loc: Location,
        write: bool,
        at: u64,
        close_after: bool,
        ahead: &[Request],
    ) -> u64 {
        let admit = self.admit(at);
        // A buffered write may still go to its bank's queue before this admission.
        let settled = admit.min(self.write_floor());
        self.issue_admitted(loc, write, at, admit, settled, true, close_after, ahead)
    }

    /// The earliest clock at which a buffered write may still be handed to its bank's
    /// command queue: a write leaves no earlier than the buffer took it, and (closed page)
    /// the drain under way moves none before `drain_from`.
    #[inline]
    fn write_floor(&self) -> u64 {
        if self.draining > 0 {
            self.buffered_floor.min(self.drain_from)
        } else {
            self.buffered_floor
        }
    }

    /// Hands a buffered write (taken out of the buffer) to its bank's command queue at or
    /// after `at`; returns the clock it left the buffer. The write buffer is the writes'
    /// request queue: a write goes straight to its bank's command queue, without a
    /// request-queue entry (as DRAMsim3 moves a write from its write buffer to its command
    /// queues), no earlier than the state the model has already forgotten, nor than the end
    /// of the refresh before the last one (only the last refresh is checked on both sides,
    /// by [`before_refresh`](Self::before_refresh)).
    fn issue_drained_write(&mut self, w: PendingWrite, at: u64) -> u64 {
        let left = at.max(self.pruned_to).max(self.floor_before);
        let settled = left.min(self.write_floor());
        self.issue_admitted(w.loc, true, left, left, settled, false, w.close_after, &[]);
        let pos = self.wbuf_leaving.upper_bound(left);
        self.wbuf_leaving.insert_at(pos, left);
        left
    }

    /// Takes buffered write `i` out of the buffer.
    fn take_buffered(&mut self, i: usize) -> PendingWrite {
        let w = self.wbuf.remove(i);
        if w.accepted <= self.buffered_floor {
            self.buffered_floor = self
                .wbuf
                .iter()
                .map(|w| w.accepted)
                .min()
                .unwrap_or(u64::MAX);
        }
        w
    }

    /// Commits the commands of a burst that arrived at `at` and was admitted at `admit`;
    /// returns the clock its data is done. `settled`: no burst still to be scheduled was
    /// admitted before it (state older than that may be forgotten).
    #[allow(clippy::too_many_arguments)]
    #[inline]
    fn issue_admitted(
        &mut self,
        loc: Location,
        write: bool,
        at: u64,
        admit: u64,
        settled: u64,
        shared: bool,
        close_after: bool,
        ahead: &[Request],
    ) -> u64 {
        // A refresh due before this burst's bank could take its next command goes first (the
        // controller issues it when due rather than behind every command already queued).
        let bank = &self.banks[loc.bank as usize];
        let start = if bank.open == Some(loc.row) {
            bank.last_cas
        } else {
            bank.act_ok
        };
        self.refresh_until(admit.max(start));
        if settled >= self.prune_at {
            self.prune(settled);
            self.pruned_to = settled;
            self.prune_at = settled + PRUNE_EVERY;
        }
        self.c.queue_wait += admit - at;
        let cas = self.schedule_burst(loc, write, admit, close_after, ahead);
        self.last_column = cas;
        if shared {
            if self.queue.last() == Some(&UNDECIDED) {
                // Its entry was held undecided: it now departs at `cas`.
                self.queue.pop_last();
            }
            let pos = self.queue.upper_bound(cas);
            self.queue.insert_at(pos, cas);
        }
        if write && !shared {
            // A drained write: it holds a place in its bank's command queue until its WR.
            let q = &mut self.bank_queued[loc.bank as usize];
            // Admission is in order: entries gone by this admission are gone for every later one.
            while q.front().is_some_and(|&d| d <= admit) {
                q.pop_front();
            }
            let pos = q.partition_point(|&d| d <= cas);
            q.insert(pos, cas);
        }
        self.c.bursts += 1;
        let done = self.burst_done(cas, write);
        self.c.last_done = self.c.last_done.max(done);
        done
    }

    /// The clock at which the command queue holds nothing: the last column command of the
    /// request queue's entries and of the drained writes in the banks' queues.
    #[inline]
    fn queue_empty_from(&self) -> u64 {
        let writes = self.bank_queued.iter().filter_map(|q| q.back().copied());
        self.queue
            .last()
            .copied()
            .into_iter()
            .chain(writes)
            .max()
            .unwrap_or(0)
    }

    /// Which buffered write goes next: the oldest row hit of a bank that has not used up
    /// its row-hit cap, else the oldest write.
    #[inline]
    /// Only writes whose bank has had fewer than `per_bank` of the batch (`taken`) count.
    fn pick_write(&self, taken: &[u32], per_bank: u32) -> Option<usize> {
        let cap = self.writes.hit_cap;
        let room = |w: &PendingWrite| taken.get(w.loc.bank as usize).is_none_or(|&n| n < per_bank);
        self.wbuf
            .iter()
            .position(|w| {
                let b = &self.banks[w.loc.bank as usize];
                room(w) && b.open == Some(w.loc.row) && b.streak < cap
            })
            .or_else(|| self.wbuf.iter().position(room))
    }

    /// Closed page: the first clock at or after `at` at which bank `b` holds fewer than
    /// [`CLOSED_DRAIN_PER_BANK`] bursts in the command queue (a controller's per-bank command
    /// queue: DRAMsim3 moves a write out of its buffer only while the bank's queue has room).
    fn bank_room(&self, b: usize, at: u64) -> u64 {
        let q = &self.bank_queued[b];
        let cap = CLOSED_DRAIN_PER_BANK as usize;
        let gone = q.partition_point(|&d| d <= at);
        if q.len() - gone >= cap {
            q[q.len() - cap]
        } else {
            at
        }
    }

    /// Closed page: one move of the drain under way. The buffered write whose bank's
    /// command queue has room first (the oldest of equals) is handed to the command queue,
    /// no earlier than the drain's start; when `limit` is given, only if that is at or
    /// before it. Returns the clock the write left the buffer.
    fn drain_step(&mut self, limit: Option<u64>) -> Option<u64> {
        let mut best: Option<(usize, u64)> = None;
        for (i, w) in self.wbuf.iter().enumerate() {
            let ready = self.bank_room(w.loc.bank as usize, self.drain_from.max(w.accepted));
            if best.is_none_or(|(_, r)| ready < r) {
                best = Some((i, ready));
            }
        }
        let (i, ready) = best?;
        if limit.is_some_and(|l| ready > l) {
            return None;
        }
        let w = self.take_buffered(i);
        self.draining -= 1;
        let left = self.issue_drained_write(w, ready);
        Some(left)
    }

    /// Closed page: starts a drain when one falls due at or before `now` (none under way):
    /// the buffer full, or more than `write_idle_drain` writes waiting with the command
    /// queue empty. A drain moves as many writes as the buffer held when it started
    /// (DRAMsim3's `write_draining_`), one at a time as their banks' command queues have
    /// room, writes posted meanwhile included.
    fn start_drain(&mut self, now: u64) -> bool {
        if self.draining > 0 {
            return true;
        }
        let n = self.wbuf.len();
        let from = if n >= self.writes.high && n > 0 {
            self.wbuf[self.writes.high - 1].accepted
        } else if n > self.writes.idle_drain && self.queue_empty_from() <= now {
            self.queue_empty_from()
                .max(self.wbuf[self.writes.idle_drain].accepted)
        } else {
            return false;
        };
        // The writes the buffer held when the drain fell due.
        let held = self.wbuf.iter().filter(|w| w.accepted <= from).count();
        self.draining = held.saturating_sub(self.writes.low).max(1);
        self.drain_from = from;
        self.c.write_drains += 1;
        true
    }

    /// Closed page: every drain move due at or before `now`.
    fn advance_drain(&mut self, now: u64) {
        while self.start_drain(now) && self.drain_step(Some(now)).is_some() {}
    }

    /// Closed page: finishes the drain under way (a read waits for it).
    fn finish_drain(&mut self) {
        while self.draining > 0 && self.drain_step(None).is_some() {}
    }

    /// Closed page: takes one write burst into the buffer at or after `arrival` (see
    /// [`start_drain`](Self::start_drain)); returns the clock the buffer took it.
    fn post_write_closed(
        &mut self,
        burst: u64,
        loc: Location,
        close_after: bool,
        arrival: u64,
    ) -> u64 {
        let mut at = arrival;
        self.advance_drain(at);
        self.forget_left_writes(at);
        if self.wbuf.len() + self.wbuf_leaving.len() >= self.writes.capacity {
            // Full: wait for the next write to leave for the command queue.
            if self.wbuf_leaving.len() == 0 && self.start_drain(at) {
                self.drain_step(None);
            }
            if let Some(l) = self.wbuf_leaving.pop_first() {
                at = at.max(l);
            }
        }
        if self.buffer_write(burst, loc, close_after, at) {
            self.advance_drain(at);
        }
        at
    }

    /// Drops the buffer slots of writes that left for the command queue by `at`.
    fn forget_left_writes(&mut self, at: u64) {
        while self.wbuf_leaving.first().is_some_and(|&l| l <= at) {
            self.wbuf_leaving.pop_first();
        }
    }

    /// Buffers a write accepted at `at`, or merges it with a buffered write to the same
    /// burst; true when it took a new entry.
    fn buffer_write(&mut self, burst: u64, loc: Location, close_after: bool, at: u64) -> bool {
        if let Some(w) = self.wbuf.iter_mut().find(|w| w.burst == burst) {
            // A newer write to a buffered burst merges with it.
            w.close_after |= close_after;
            return false;
        }
        self.buffered_floor = self.buffered_floor.min(at);
        self.wbuf.push(PendingWrite {
            burst,
            loc,
            close_after,
            accepted: at,
        });
        true
    }

    /// A write batch (open page; the closed policy drains through
    /// [`post_write_closed`](Self::post_write_closed)): hands buffered writes to the command
    /// queue, no earlier than `from`, until `keep` are left. The batch's column commands
    /// follow each other, so the bus turns around once for the whole batch.
    fn drain_writes(&mut self, from: u64, keep: usize) {
        if self.wbuf.len() <= keep {
            return;
        }
        self.c.write_drains += 1;
        let mut taken = [0u32; crate::config::limits::MAX_BANKS as usize];
        let mut first_column = None;
        while self.wbuf.len() > keep {
            let Some(i) = self.pick_write(&taken, u32::MAX) else {
                break;
            };
            let w = self.take_buffered(i);
            if let Some(n) = taken.get_mut(w.loc.bank as usize) {
                *n += 1;
            }
            self.issue_drained_write(w, from.max(w.accepted));
            if let Some(phases) = self.phases {
                // LiteDRAM's WRITE phase ends `write_time` after it began: no write after
                // this one would issue inside it.
                let start = *first_column.get_or_insert(self.last_column);
                self.reads_since = self.reads_since.max(self.last_column);
                let next = self.last_column + self.t.column_gap(true, true);
                if next >= start + phases.write_time {
                    break;
                }
            }
        }
    }

    /// Open page with LiteDRAM's phases: every write batch due by `now` because reads have
    /// been served for `read_time` since the last batch while writes waited.
    fn phase_batches(&mut self, now: u64) {
        let Some(phases) = self.phases else {
            return;
        };
        while !self.wbuf.is_empty() {
            let due = (self.reads_since + phases.read_time).max(self.buffered_floor);
            if due > now {
                break;
            }
            self.drain_writes(due, 0);
        }
    }

    /// Takes one write burst into the buffer at or after `arrival`; returns the clock the
    /// buffer took it.
    fn post_write(&mut self, burst: u64, loc: Location, close_after: bool, arrival: u64) -> u64 {
        if self.policy == PagePolicy::Closed {
            return self.post_write_closed(burst, loc, close_after, arrival);
        }
        let mut at = arrival;
        self.forget_left_writes(at);
        if self.wbuf.len() + self.wbuf_leaving.len() >= self.writes.capacity {
            // Full: wait for the first drained write to leave for the command queue.
            if let Some(l) = self.wbuf_leaving.pop_first() {
                at = at.max(l);
            }
        }
        if !self.buffer_write(burst, loc, close_after, at) {
            return at;
        }
        if self.wbuf.len() >= self.writes.high {
            self.drain_writes(at, self.writes.low);
        } else if self.wbuf.len() > self.writes.idle_drain && self.queue_empty_from() <= at {
            self.drain_writes(at, 0);
        }
        at
    }

    /// Completes every buffered write (as the controller would with no more requests
    /// coming) and returns when the last command's data is done.
    pub fn flush_writes(&mut self) -> Time {
        self.settle_announced();
        if self.policy == PagePolicy::Closed {
            while !self.wbuf.is_empty() {
                if self.draining == 0 {
                    self.draining = self.wbuf.len();
                    self.drain_from = self.queue_empty_from().max(self.last_arrival);
                    self.c.write_drains += 1;
                }
                self.finish_drain();
            }
            return self.clock.time_of(self.c.last_done);
        }
        while !self.wbuf.is_empty() {
            // Each batch takes at least one write.
            let from = self.queue_empty_from().max(self.last_arrival);
            self.drain_writes(from, 0);
        }
        self.clock.time_of(self.c.last_done)
    }
}

impl<S: CommandSink> Ddr3<S> {
    /// Whether a request may be announced: a read under the closed page policy with FR-FCFS
    /// and no posted write waiting (a buffered write could forward to it, or drain
    /// between).
    #[inline]
    fn announceable(&self, req: &Request) -> bool {
        req.access == Access::Read
            && self.policy == PagePolicy::Closed
            && self.scheduler == Scheduler::FrFcfs
            && self.wbuf.is_empty()
    }

    /// The arrival clock of a request issued at `issue` after one issued at `prev_issue`
    /// that arrived at `prev_arrival` (what [`arrival_of`](Self::arrival_of) will say).
    #[inline]
    fn predict_arrival(&self, issue: Time, prev_issue: Option<Time>, prev_arrival: u64) -> u64 {
        if prev_issue == Some(issue) {
            prev_arrival
        } else {
            let c = self.clock.cycle_at_or_after(issue);
            (((c + !self.sys_mask) & self.sys_mask) + self.frontend).max(prev_arrival)
        }
    }

    /// Whether the command queue can take a burst arriving at `at` at a clock it knows now:
    /// it has room then, or the entry it waits for has a decided departure.
    #[inline]
    fn can_admit(&self, at: u64) -> bool {
        let at = at.max(self.last_admit);
        let gone = self.queue.upper_bound(at);
        self.queue.len() - gone < self.depth
            || self
                .queue
                .as_slice()
                .get(gone)
                .is_some_and(|&d| d != UNDECIDED)
    }

    /// Admits, in request order, the announced bursts the queue can take; each holds an
    /// undecided entry until its commands are committed.
    fn admit_announced(&mut self) {
        for i in 0..self.announced.len() {
            let arrival = self.announced[i].arrival;
            for j in 0..self.announced[i].bursts.len() {
                if self.announced[i].bursts[j].admit.is_some() {
                    continue;
                }
                if !self.can_admit(arrival) {
                    return;
                }
                let admit = self.admit(arrival);
                self.queue.insert_at(self.queue.len(), UNDECIDED);
                self.announced[i].bursts[j].admit = Some(admit);
            }
        }
    }

    /// Commits the queued announced burst whose bank can take an ACT first (the oldest on
    /// a tie; each bank's bursts in order). Returns false when none is queued.
    fn schedule_announced(&mut self) -> bool {
        let mut seen = 0u128;
        let mut best: Option<(u64, usize, usize)> = None;
        let mut settled = u64::MAX;
        'entries: for (i, a) in self.announced.iter().enumerate() {
            for (j, b) in a.bursts.iter().enumerate() {
                let Some(admit) = b.admit else {
                    break 'entries;
                };
                if b.done.is_some() {
                    continue;
                }
                settled = settled.min(admit);
                let bank = b.loc.bank as usize;
                let bit = 1u128 << (bank % 128);
                if seen & bit != 0 {
                    continue;
                }
                seen |= bit;
                let st = &self.banks[bank];
                let lo = admit.max(self.floor);
                let ready = match st.open {
                    Some(r) if r == b.loc.row => lo.max(st.cas_ok),
                    Some(_) => lo.max(st.pre_ok) + self.t.rp,
                    None => self.activate_slot(lo.max(st.act_ok)),
                };
                if best.is_none_or(|(e, _, _)| ready < e) {
                    best = Some((ready, i, j));
                }
            }
        }
        let Some((_, i, j)) = best else {
            return false;
        };
        let arrival = self.announced[i].arrival;
        let b = self.announced[i].bursts[j];
        let admit = b.admit.unwrap_or(arrival);
        let done = self.issue_admitted(b.loc, false, arrival, admit, settled, true, true, &[]);
        self.announced[i].bursts[j].done = Some(done);
        true
    }

    /// Commits every announced burst still queued or waiting (before anything else uses
    /// the queue).
    fn settle_announced(&mut self) {
        loop {
            self.admit_announced();
            if !self.schedule_announced() {
                break;
            }
        }
    }

    /// A read presented with the requests that follow it, when announcing applies: the
    /// request and the announced reads among `ahead` share the command queue, and command
    /// slots go to whichever bank is ready (see [`Announced`]). Returns `None` (having
    /// committed nothing for `req`) when it does not apply.
    fn access_announced(&mut self, req: Request, ahead: &[Request]) -> Option<Time> {
        // A request that is not the one announced next: what was announced was not what
        // came (its commands stay committed).
        if self.announced.front().is_some_and(|a| a.req != req) {
            self.settle_announced();
            self.announced.clear();
        }
        if self.announced.is_empty() {
            if ahead.is_empty() || !self.announceable(&req) {
                return None;
            }
            let arrival = self.predict_arrival(req.issue, self.last_issue, self.last_arrival);
            let bursts = self.announced_bursts(&req);
            self.announced.push_back(Announced {
                req,
                arrival,
                bursts,
            });
        }
        // The requests after it: those already announced must be what `ahead` says.
        let known = self.announced.len() - 1;
        let agrees = ahead
            .iter()
            .zip(self.announced.iter().skip(1))
            .all(|(r, a)| *r == a.req);
        if !agrees {
            self.settle_announced();
            self.announced.truncate(1);
        }
        let known = if agrees { known } else { 0 };
        for r in ahead.iter().skip(known) {
            if r.access != Access::Read {
                break;
            }
            let (prev_issue, prev_arrival) = match self.announced.back() {
                Some(a) => (Some(a.req.issue), a.arrival),
                None => (self.last_issue, self.last_arrival),
            };
            let arrival = self.predict_arrival(r.issue, prev_issue, prev_arrival);
            let bursts = self.announced_bursts(r);
            self.announced.push_back(Announced {
                req: *r,
                arrival,
                bursts,
            });
        }
        let arrival = self.arrival_of(req.issue);
        // Schedule until every burst of `req` is committed.
        loop {
            self.admit_announced();
            let front = self.announced.front()?;
            if front.bursts.iter().all(|b| b.done.is_some()) {
                break;
            }
            if !self.schedule_announced() {
                // Cannot happen (the front request is always admitted once nothing else
                // is queued); give up announcing rather than loop.
                break;
            }
        }
        let a = self.announced.pop_front()?;
        let done = a
            .bursts
            .iter()
            .filter_map(|b| b.done)
            .max()
            .unwrap_or(arrival);
        self.c.reads += 1;
        self.c.read_bytes += req.bytes as u64;
        self.c.read_latency += done - arrival;
        self.c.last_done = self.c.last_done.max(done);
        Some(self.clock.time_of(done))
    }

    /// The bursts of a request, not yet admitted.
    fn announced_bursts(&self, req: &Request) -> Vec<AnnouncedBurst> {
        let bytes = req.bytes.max(1) as u64;
        let first = self.map.burst_of(req.addr);
        let last = self.map.burst_of(req.addr.wrapping_add(bytes - 1));
        let mut out = Vec::with_capacity((last.wrapping_sub(first) + 1).min(64) as usize);
        let mut burst = first;
        loop {
            out.push(AnnouncedBurst {
                loc: self.map.locate(burst),
                admit: None,
                done: None,
            });
            if burst == last {
                break;
            }
            burst = burst.wrapping_add(1);
        }
        out
    }

    /// One request, with the requests the requester issues next (see
    /// [`MemoryModel::access_ahead`]).
    fn access_with(&mut self, req: Request, ahead: &[Request]) -> Time {
        if !ahead.is_empty() || !self.announced.is_empty() {
            if let Some(done) = self.access_announced(req, ahead) {
                return done;
            }
        }
        self.settle_announced();
        self.announced.clear();
        let arrival = self.arrival_of(req.issue);
        let write = req.access == Access::Write;
        let buffered = write && self.writes.capacity > 0;
        if !write && self.policy == PagePolicy::Closed && self.writes.capacity > 0 {
            // Closed page: the drain's moves due by the read's arrival go first; the read
            // then takes a queue entry as it arrives, beside the drain's later moves.
            self.advance_drain(arrival);
        } else if !write {
            self.phase_batches(arrival);
        }
        if !write && self.policy == PagePolicy::Open && self.wbuf.len() > self.writes.idle_drain {
            // The queue ran empty before this read with writes waiting: they went then.
            let empty = self.queue_empty_from();
            if empty < arrival {
                let from = empty.max(self.wbuf[self.writes.idle_drain].accepted);
                self.drain_writes(from, 0);
            }
        }
        let bytes = req.bytes.max(1) as u64;
        let first = self.map.burst_of(req.addr);
        let last = self.map.burst_of(req.addr.wrapping_add(bytes - 1));
        let mut done = 0;
        let mut next = self.map.locate(first);
        let mut burst = first;
        loop {
            let loc = next;
            let is_last = burst == last;
            if !is_last {
                next = self.map.locate(burst.wrapping_add(1));
            }
            // Closed page: every column command precharges its row (as an auto-precharge
            // would), even when the request's next burst is in the same row.
            let close_after = self.policy == PagePolicy::Closed;
            let burst_done = if buffered {
                // Posted: complete once the buffer has it, a system clock later.
                self.post_write(burst, loc, close_after, arrival) + self.t.ratio
            } else if !write && self.wbuf.iter().any(|w| w.burst == burst) {
                // Served from the write buffer.
                self.c.write_forwards += 1;
                arrival + self.t.ratio
            } else {
                self.issue_burst(loc, write, arrival, close_after, ahead)
            };
            done = done.max(burst_done);
            if is_last {
                break;
            }
            burst = burst.wrapping_add(1);
        }
        if write {
            self.c.writes += 1;
            self.c.write_bytes += req.bytes as u64;
            self.c.write_latency += done - arrival;
        } else {
            self.c.reads += 1;
            self.c.read_bytes += req.bytes as u64;
            self.c.read_latency += done - arrival;
        }
        self.c.last_done = self.c.last_done.max(done);
        self.clock.time_of(done)
    }
}

impl<S: CommandSink> MemoryModel for Ddr3<S> {
    fn access(&mut self, req: Request) -> Time {
        self.access_with(req, &[])
    }

    fn access_ahead(&mut self, req: Request, ahead: &[Request]) -> Time {
        self.access_with(req, ahead)
    }

    fn flush(&mut self) -> Time {
        self.flush_writes()
    }

    fn stats(&self) -> Stats {
        let mut s = Stats::new();
        let c = &self.c;
        let ns = |clocks: u64| self.clock.time_of(clocks).ns();
        s.set("reads", c.reads as f64, Unit::Requests);
        s.set("writes", c.writes as f64, Unit::Requests);
        s.set("bytes_read", c.read_bytes as f64, Unit::Bytes);
        s.set("bytes_written", c.write_bytes as f64, Unit::Bytes);
        s.set("bursts", c.bursts as f64, Unit::Bursts);
        s.set("precharges", c.precharges as f64, Unit::Commands);
        s.set("refreshes", c.refreshes as f64, Unit::Commands);
        s.set("refresh_busy_time", ns(c.refresh_busy), Unit::Nanoseconds);
        s.set("queue_wait_time", ns(c.queue_wait), Unit::Nanoseconds);
        s.set("read_latency_total", ns(c.read_latency), Unit::Nanoseconds);
        s.set(
            "write_latency_total",
            ns(c.write_latency),
            Unit::Nanoseconds,
        );
        s.set(
            "data_bus_busy_time",
            ns(c.bursts * self.t.burst),
            Unit::Nanoseconds,
        );
        s.set("fr_fcfs_overtakes", c.overtakes as f64, Unit::Bursts);
        s.set("write_batches", c.write_drains as f64, Unit::Batches);
        s.set(
            "write_buffer_forwards",
            c.write_forwards as f64,
            Unit::Bursts,
        );
        s.set("write_buffer_pending", self.wbuf.len() as f64, Unit::Bursts);
        let (mut hits, mut misses, mut conflicts, mut acts) = (0, 0, 0, 0);
        for (i, b) in self.banks.iter().enumerate() {
            s.set(format!("bank{i}.row_hits"), b.hits as f64, Unit::Bursts);
            s.set(format!("bank{i}.row_misses"), b.misses as f64, Unit::Bursts);
            s.set(
                format!("bank{i}.row_conflicts"),
                b.conflicts as f64,
                Unit::Bursts,
            );
            s.set(
                format!("bank{i}.activates"),
                b.activates as f64,
                Unit::Commands,
            );
            s.set(format!("bank{i}.reads"), b.reads as f64, Unit::Bursts);
            s.set(format!("bank{i}.writes"), b.writes as f64, Unit::Bursts);
            hits += b.hits;
            misses += b.misses;
            conflicts += b.conflicts;
            acts += b.activates;
        }
        s.set("row_hits", hits as f64, Unit::Bursts);
        s.set("row_misses", misses as f64, Unit::Bursts);
        s.set("row_conflicts", conflicts as f64, Unit::Bursts);
        s.set("activates", acts as f64, Unit::Commands);
        s
    }
}
