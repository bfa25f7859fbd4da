//! How long instructions take: an in-order, single-issue core at the board clock.
//!
//! The model sees each retired instruction after the hart executed it, through the hart's
//! retire record ([`Retired`]: where it went next, the memory accesses it made, the vector
//! configuration, the matrix unit's work) and its decoded form (class and registers), and
//! advances its clock; it never reads the hart itself. It owns the matrix unit's timing state
//! ([`MatmulTiming`]):
//! - an instruction issues when the previous one has issued and every source register is
//!   ready (a scoreboard of ready cycles for x and f registers); the wait is a stall charged
//!   to the class of the producer it waited for (`raw.load`, `raw.int_mul`, ...);
//! - its destination is ready `latency(class)` cycles after issue; a load's destination
//!   also waits for the memory model (`load` latency plus the model's time, rounded up to
//!   whole cycles); stores are posted (the memory model still sees them);
//! - integer and FP divide/sqrt units are iterative: a second one waits for the first
//!   (`structural.*`);
//! - a taken branch costs `branch_taken_penalty` cycles, a jump `jump_penalty`.
//!
//! Every cycle is either an issue cycle or a stall with a cause, so
//! `cycles = instructions + sum(stalls)` holds exactly (tested).
//!
//! [`Functional`] is the model-free counterpart: one cycle per instruction.

pub mod class;

use crate::config::Board;
use crate::hart::memory::MMIO_SIZE;
use crate::hart::{Decoded, Retired};
use crate::isa::vector::{Group, VInst, VOp};
use crate::isa::Inst;
use crate::matmul::MatmulTiming;
use crate::mem::{Access, MemoryModel, Request};
use crate::stats::Stats;
use crate::stats::Unit;
use crate::units::Time;
use class::{usage, vector_scalar_operands, Class, NONE};

/// What the run loop asks of a timing model.
pub trait CoreTiming {
    /// Whether the hart must record each instruction's memory accesses for this model.
    const NEEDS_ACCESSES: bool;
    /// Accounts one instruction at `pc` that the hart has just executed, from its retire
    /// record.
    fn retire(&mut self, pc: u64, d: &Decoded, r: &Retired<'_>);
    /// Cycles so far (the issue slot of the next instruction).
    fn cycles(&self) -> u64;
    /// Counters, paths relative to the core (`cycles`, `stalls.raw.load`, ...).
    fn stats(&self) -> Stats;
}

/// Functional-only mode: no timing model; the cycle count is the instruction count.
#[derive(Debug, Clone, Default)]
pub struct Functional {
    retired: u64,
}

impl CoreTiming for Functional {
    const NEEDS_ACCESSES: bool = false;
    #[inline(always)]
    fn retire(&mut self, _pc: u64, _d: &Decoded, _r: &Retired<'_>) {
        self.retired += 1;
    }
    #[inline(always)]
    fn cycles(&self) -> u64 {
        self.retired
    }
    fn stats(&self) -> Stats {
        let mut s = Stats::new();
        s.set("cycles", self.retired as f64, Unit::Cycles);
        s.set("instructions", self.retired as f64, Unit::Instructions);
        s
    }
}

/// Why the core did not issue in a cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum StallCause {
    /// Waiting for a source register written by an instruction of this class.
    Raw(Class),
    /// The iterative integer divider is busy.
    DividerBusy,
    /// The iterative FP divide/sqrt unit is busy.
    FpDividerBusy,
    /// Taken branch refetch.
    BranchTaken,
    /// Jump refetch.
    Jump,
    /// Waiting for an Xpop_matmul instruction to complete.
    Matmul,
    /// The vector unit is still busy with earlier beats.
    VectorBusy,
}

impl StallCause {
    /// Stats path below `stalls.`.
    pub fn path(self) -> String {
        match self {
            StallCause::Raw(c) => format!("raw.{}", c.name()),
            StallCause::DividerBusy => "structural.int_div".into(),
            StallCause::FpDividerBusy => "structural.fp_div".into(),
            StallCause::BranchTaken => "control.branch_taken".into(),
            StallCause::Jump => "control.jump".into(),
            StallCause::Matmul => "matmul".into(),
            StallCause::VectorBusy => "structural.vector".into(),
        }
    }
}

const N_CLASS: usize = Class::ALL.len();
const N_CAUSE: usize = N_CLASS + 6;

fn cause_index(c: StallCause) -> usize {
    match c {
        StallCause::Raw(k) => k as usize,
        StallCause::DividerBusy => N_CLASS,
        StallCause::FpDividerBusy => N_CLASS + 1,
        StallCause::BranchTaken => N_CLASS + 2,
        StallCause::Jump => N_CLASS + 3,
        StallCause::Matmul => N_CLASS + 4,
        StallCause::VectorBusy => N_CLASS + 5,
    }
}

fn cause_of_index(i: usize) -> StallCause {
    match i {
        i if i < N_CLASS => StallCause::Raw(Class::ALL[i]),
        i if i == N_CLASS => StallCause::DividerBusy,
        i if i == N_CLASS + 1 => StallCause::FpDividerBusy,
        i if i == N_CLASS + 2 => StallCause::BranchTaken,
        i if i == N_CLASS + 3 => StallCause::Jump,
        i if i == N_CLASS + 4 => StallCause::Matmul,
        _ => StallCause::VectorBusy,
    }
}

/// Core timing parameters, in cycles (from the board's `core` section).
#[derive(Debug, Clone, PartialEq)]
pub struct CoreParams {
    /// Result latency per class, indexed by `Class as usize`.
    pub latency: [u64; N_CLASS],
    /// Extra cycles after a taken branch.
    pub branch_taken_penalty: u64,
    /// Extra cycles after a jump.
    pub jump_penalty: u64,
    /// Clock period.
    pub period: Time,
    /// Vector lanes, 32 bits each per cycle.
    pub vector_lanes: u64,
    /// The matrix unit's timing.
    pub matmul: crate::matmul::timing::TimingParams,
}

impl CoreParams {
    /// The parameters of `board`'s core.
    pub fn from_board(board: &Board) -> Self {
        let l = &board.core.latency;
        let mut latency = [0; N_CLASS];
        for c in Class::ALL {
            latency[c as usize] = match c {
                Class::IntAlu | Class::Branch | Class::Jump | Class::Store | Class::Matmul => {
                    l.int_alu.count()
                }
                Class::IntMul => l.int_mul.count(),
                Class::IntDiv => l.int_div.count(),
                Class::Load => l.load.count(),
                Class::FpAdd => l.fp_add.count(),
                Class::FpMul => l.fp_mul.count(),
                Class::FpFma => l.fp_fma.count(),
                Class::FpDiv => l.fp_div.count(),
                Class::FpSqrt => l.fp_sqrt.count(),
                Class::FpCvt => l.fp_cvt.count(),
                Class::VecConfig | Class::VecStore => l.int_alu.count(),
                Class::VecAlu | Class::VecMask | Class::VecMove => l.vec_alu.count(),
                Class::VecMul => l.vec_mul.count(),
                Class::VecDiv | Class::VecFdiv => l.vec_fdiv.count(),
                Class::VecFp => l.vec_fp.count(),
                Class::VecReduction => l.vec_reduction.count(),
                Class::VecPermute => l.vec_permute.count(),
                Class::VecLoad => l.load.count(),
            };
        }
        Self {
            latency,
            branch_taken_penalty: board.core.branch_taken_penalty.count(),
            jump_penalty: board.core.jump_penalty.count(),
            period: board.clock.period(),
            vector_lanes: board.core.vector_lanes as u64,
            matmul: crate::matmul::timing::TimingParams::from_board(board),
        }
    }
}

/// The in-order single-issue core timing model over memory model `M`.
#[derive(Debug, Clone)]
pub struct InOrderTiming<M: MemoryModel> {
    params: CoreParams,
    mem: M,
    matmul: MatmulTiming,
    cycle: u64,
    ready: [u64; 64],
    producer: [Class; 64],
    div_free: u64,
    fdiv_free: u64,
    instructions: u64,
    stalls: [u64; N_CAUSE],
    class_count: [u64; N_CLASS],
    mem_cycles: u64,
    matmul_until: u64,
    vready: [u64; 32],
    vproducer: [Class; 32],
    vpu_free: u64,
    vpu_busy: u64,
    /// The current instruction's memory requests (reused between instructions).
    reqs: Vec<Request>,
}

impl<M: MemoryModel> InOrderTiming<M> {
    /// A core at cycle 0 with every register ready.
    pub fn new(params: CoreParams, mem: M) -> Self {
        Self {
            matmul: MatmulTiming::with_params(params.matmul.clone()),
            params,
            mem,
            cycle: 0,
            ready: [0; 64],
            producer: [Class::IntAlu; 64],
            div_free: 0,
            fdiv_free: 0,
            instructions: 0,
            stalls: [0; N_CAUSE],
            class_count: [0; N_CLASS],
            mem_cycles: 0,
            matmul_until: 0,
            vready: [0; 32],
            vproducer: [Class::VecAlu; 32],
            vpu_free: 0,
            vpu_busy: 0,
            reqs: Vec::new(),
        }
    }

    /// Stall cycles by cause, in a fixed order.
    pub fn stalls(&self) -> Vec<(StallCause, u64)> {
        (0..N_CAUSE)
            .map(|i| (cause_of_index(i), self.stalls[i]))
            .collect()
    }

    /// The memory model.
    pub fn memory(&self) -> &M {
        &self.mem
    }

    #[inline]
    fn stall(&mut self, until: u64, cause: StallCause) {
        if until > self.cycle {
            self.stalls[cause_index(cause)] += until - self.cycle;
            self.cycle = until;
        }
    }

    /// Sends the instruction's memory accesses (MMIO excluded) to the memory model at
    /// `issue`; returns the cycles until the last read's data is back.
    ///
    /// The accesses of one instruction (the elements of a strided, indexed or segment vector
    /// access) are all issued at `issue`, so they sit in a controller's queue together: each
    /// goes to the model with the instruction's later accesses as its look-ahead
    /// ([`MemoryModel::access_ahead`]). Nothing from a later instruction is ever in it.
    fn time_accesses(&mut self, issue: u64, r: &Retired<'_>) -> u64 {
        if r.accesses.is_empty() {
            return 0;
        }
        let t0 = Time(issue * self.params.period.fs());
        self.reqs.clear();
        self.reqs.extend(
            r.accesses
                .iter()
                // Device registers answer within the load latency.
                .filter(|a| a.addr.wrapping_sub(r.mmio_base) >= MMIO_SIZE)
                .map(|a| Request {
                    addr: a.addr,
                    bytes: a.len,
                    access: a.access,
                    issue: t0,
                }),
        );
        let mut done = t0;
        for i in 0..self.reqs.len() {
            let req = self.reqs[i];
            let t = self.mem.access_ahead(req, &self.reqs[i + 1..]);
            if req.access == Access::Read {
                done = done.max(t);
            }
        }
        let mc = self.cycles_between(t0, done);
        self.mem_cycles += mc;
        mc
    }

    /// Times a vector instruction: scalar and vector-register dependences, the vector unit's
    /// occupancy in beats (`ceil(bits / (lanes * 32))`), the class latency on top.
    fn retire_vector(&mut self, v: &VInst, r: &Retired<'_>) {
        let class = Class::of_vector(v);
        let (sdst, ssrc) = vector_scalar_operands(v);
        for s in ssrc {
            if s != NONE && self.ready[s as usize] > self.cycle {
                let p = self.producer[s as usize];
                self.stall(self.ready[s as usize], StallCause::Raw(p));
            }
        }
        let Some(unit) = r.vector else {
            return;
        };
        let vtype = unit.vtype;
        let vlen = unit.vlenb * 8;
        let use_ = v.vregs(vtype);
        let v0 = use_.reads_v0.then_some((0u8, 1u8));
        for (base, n) in use_.src.iter().flatten().copied().chain(v0) {
            for r in base..(base + n).min(32) {
                let t = self.vready[r as usize];
                if t > self.cycle {
                    let p = self.vproducer[r as usize];
                    self.stall(t, StallCause::Raw(p));
                }
            }
        }
        let config = class == Class::VecConfig;
        if !config {
            self.stall(self.vpu_free, StallCause::VectorBusy);
        }
        let issue = self.cycle;
        // Bits the unit moves: vl elements at the widest element width of the instruction;
        // whole-register forms move whole registers.
        let sew = if vtype >> 63 != 0 {
            8
        } else {
            8u64 << ((vtype >> 3) & 7)
        };
        let shape = v.shape();
        let wide = matches!(shape.vd, Group::Wide) || matches!(shape.vs2, Group::Wide);
        let bits = match v.op {
            VOp::Vlr | VOp::Vsr | VOp::VmvNr => {
                use_.dst.or(use_.src[0]).map_or(1, |(_, n)| n as u64) * vlen
            }
            VOp::Vle | VOp::Vlse | VOp::Vleff | VOp::Vse | VOp::Vsse => {
                unit.vl * v.mem_eew() as u64 * v.nf() as u64
            }
            VOp::Vlm | VOp::Vsm => unit.vl.div_ceil(8) * 8,
            _ if class == Class::VecMask => unit.vl,
            _ => unit.vl * sew * if wide { 2 } else { 1 },
        };
        let beats = bits.div_ceil(32 * self.params.vector_lanes.max(1)).max(1);
        let lat = self.params.latency[class as usize];
        let mem = self.time_accesses(issue, r);
        let (latency, busy) = match class {
            Class::VecConfig => (lat, 0),
            Class::VecDiv | Class::VecFdiv => (lat * beats, lat * beats),
            Class::VecReduction => (beats + lat, beats),
            Class::VecLoad => (lat + beats.max(mem), beats),
            _ => (lat + beats - 1, beats),
        };
        if !config {
            self.vpu_free = issue + busy;
            self.vpu_busy += busy;
        }
        if let Some((base, n)) = use_.dst {
            for r in base..(base + n).min(32) {
                self.vready[r as usize] = issue + latency;
                self.vproducer[r as usize] = class;
            }
        }
        if sdst != NONE {
            self.ready[sdst as usize] = issue + latency;
            self.producer[sdst as usize] = class;
        }
        self.cycle = issue + 1;
        self.instructions += 1;
        self.class_count[class as usize] += 1;
    }

    fn cycles_between(&self, from: Time, to: Time) -> u64 {
        let d = to.fs().saturating_sub(from.fs());
        d.div_ceil(self.params.period.fs().max(1))
    }
}

impl<M: MemoryModel> CoreTiming for InOrderTiming<M> {
    const NEEDS_ACCESSES: bool = true;

    #[inline]
    fn retire(&mut self, pc: u64, d: &Decoded, r: &Retired<'_>) {
        if let Inst::Vector(v) = &d.inst {
            self.retire_vector(v, r);
            return;
        }
        let next_pc = r.next_pc;
        let u = usage(&d.inst);
        // Wait for sources, charging each wait to the producer that ended last.
        for &s in &u.src {
            if s != NONE {
                let r = self.ready[s as usize];
                if r > self.cycle {
                    let p = self.producer[s as usize];
                    self.stall(r, StallCause::Raw(p));
                }
            }
        }
        match u.class {
            Class::IntDiv => self.stall(self.div_free, StallCause::DividerBusy),
            Class::FpDiv | Class::FpSqrt => self.stall(self.fdiv_free, StallCause::FpDividerBusy),
            _ => {}
        }
        let issue = self.cycle;
        let mut latency = self.params.latency[u.class as usize];
        // An xpop.mm streams its own operands through the memory model (below); its recorded
        // accesses must not be timed a second time.
        if !r.accesses.is_empty() && !matches!(d.inst, Inst::Xpop(_)) {
            latency += self.time_accesses(issue, r);
        }
        if let (Inst::Xpop(_), Some(work)) = (&d.inst, r.xpop) {
            // The core waits until the matrix unit lets it go on.
            let t0 = Time(issue * self.params.period.fs());
            let done = self.matmul.time(work, t0, &mut self.mem);
            let c = self.cycles_between(t0, done).max(1);
            latency = c;
            self.matmul_until = issue + c;
        }
        match u.class {
            Class::IntDiv => self.div_free = issue + latency,
            Class::FpDiv | Class::FpSqrt => self.fdiv_free = issue + latency,
            _ => {}
        }
        if u.dst != NONE {
            self.ready[u.dst as usize] = issue + latency;
            self.producer[u.dst as usize] = u.class;
        }
        self.cycle = issue + 1;
        self.instructions += 1;
        self.class_count[u.class as usize] += 1;
        match u.class {
            Class::Branch if next_pc != pc.wrapping_add(d.len as u64) => {
                let until = self.cycle + self.params.branch_taken_penalty;
                self.stall(until, StallCause::BranchTaken);
            }
            Class::Jump => {
                let until = self.cycle + self.params.jump_penalty;
                self.stall(until, StallCause::Jump);
            }
            Class::Matmul => self.stall(self.matmul_until, StallCause::Matmul),
            _ => {}
        }
    }

    #[inline]
    fn cycles(&self) -> u64 {
        self.cycle
    }

    fn stats(&self) -> Stats {
        let mut s = Stats::new();
        s.set("cycles", self.cycle as f64, Unit::Cycles);
        s.set("instructions", self.instructions as f64, Unit::Instructions);
        let mut total = 0;
        for (c, n) in self.stalls() {
            s.set(format!("stalls.{}", c.path()), n as f64, Unit::Cycles);
            total += n;
        }
        s.set("stalls.total", total as f64, Unit::Cycles);
        for c in Class::ALL {
            s.set(
                format!("mix.{}", c.name()),
                self.class_count[c as usize] as f64,
                Unit::Instructions,
            );
        }
        s.set("memory_wait_cycles", self.mem_cycles as f64, Unit::Cycles);
        s.set("vpu.busy_cycles", self.vpu_busy as f64, Unit::Cycles);
        s.merge_under("mem", &self.mem.stats());
        s.merge_under("matmul", &self.matmul.stats());
        s
    }
}
