//! The Xpop_matmul matrix unit (doc/xpop-matmul.md): what its instructions do
//! ([`MatmulUnit::execute`], owned by the hart) and how long they take ([`MatmulTiming`],
//! owned by the core's timing model), kept apart.
//!
//! - [`dot`]: the arithmetic, bit-exact to GGML's reference dot products;
//! - [`descriptor`]: the 64-byte job descriptor `xpop.mm` reads;
//! - [`timing`]: the per-tile timing model over a [`MemoryModel`].
//!
//! The hand-over: `execute` leaves the work it did ([`XpopWork`]: the jobs of an `xpop.mm`,
//! or an `xpop.info`) in the hart's retire record; the timing model passes that record to
//! [`MatmulTiming::time`] with the instruction's issue time and the card's memory model, and
//! the core may issue its next instruction at the time it returns (`xpop.mm` blocks the
//! in-order core until the unit is done). Timing streams the unit's own memory traffic
//! through the model, so the loads and stores `execute` made through the [`HartContext`]
//! must not be sent to the memory model again for an Xpop instruction.

pub mod descriptor;
pub mod dot;
pub mod timing;

use crate::config::Board;
use crate::isa::context::{HartContext, Trap};
use crate::isa::xpop::{InfoSel, XInst};
use crate::mem::MemoryModel;
use crate::stats::Stats;
use crate::stats::Unit;
use crate::units::Time;
use descriptor::{DescriptorError, MatmulJob, DESCRIPTOR_ALIGN, DESCRIPTOR_BYTES, WEIGHT_TYPES};
use dot::RowSet;
use timing::{TimingParams, TimingReport};

/// The most descriptors one `xpop.mm` may run.
pub const MAX_DESCRIPTORS: u64 = 65535;

/// The extension version `xpop.info rd, 0` reports.
pub const VERSION: u64 = 1;

/// The work one executed Xpop instruction hands the timing model.
#[derive(Clone, Debug, PartialEq)]
pub enum XpopWork {
    /// `xpop.mm`: the jobs it ran, read from the descriptors at `desc_addr`.
    Mm {
        /// Address of the first descriptor.
        desc_addr: u64,
        /// The jobs, in descriptor order.
        jobs: Vec<MatmulJob>,
    },
    /// `xpop.info`: a register read, one cycle.
    Info,
}

/// The Xpop_matmul unit of one card: its architectural state and behaviour only.
#[derive(Clone, Debug)]
pub struct MatmulUnit {
    enabled: bool,
    params: TimingParams,
    jobs_completed: u64,
    last: Option<XpopWork>,
    cycle_budget: u64,
    refused_cycles: Option<u64>,
}

impl MatmulUnit {
    /// The unit `board` describes (disabled when `board.matmul.enabled` is false).
    pub fn new(board: &Board) -> MatmulUnit {
        MatmulUnit {
            enabled: board.matmul.enabled,
            params: TimingParams::from_board(board),
            jobs_completed: 0,
            last: None,
            cycle_budget: u64::MAX,
            refused_cycles: None,
        }
    }

    /// Cycles the next `xpop.mm` may take at most (the run's cycle limit minus the current
    /// cycle). An `xpop.mm` whose jobs need more, counting only their MACs at the unit's peak
    /// rate (a lower bound of its time), traps before any operand is read, so a cycle limit
    /// holds inside one instruction and bounds the host's work on it.
    pub fn set_cycle_budget(&mut self, cycles: u64) {
        self.cycle_budget = cycles;
    }

    /// The lower bound of cycles of the last `xpop.mm` refused by the cycle budget, if any.
    pub fn take_budget_refusal(&mut self) -> Option<u64> {
        self.refused_cycles.take()
    }

    /// The unit's rates (what `xpop.info` reports and the cycle budget counts with).
    pub fn params(&self) -> &TimingParams {
        &self.params
    }

    /// Descriptors completed since reset (`xpop.info rd, 4`).
    pub fn jobs_completed(&self) -> u64 {
        self.jobs_completed
    }

    /// The work of the instruction `execute` ran last, if it completed.
    pub fn last_work(&self) -> Option<&XpopWork> {
        self.last.as_ref()
    }

    /// Executes one instruction: its architectural effect on registers and memory.
    pub fn execute(&mut self, inst: &XInst, ctx: &mut impl HartContext) -> Result<(), Trap> {
        self.last = None;
        if !self.enabled {
            return Err(Trap::illegal(format!(
                "{inst}: the Xpop_matmul unit is not fitted on this board (matmul.enabled = false)"
            )));
        }
        match *inst {
            XInst::Mm { rs1, rs2 } => {
                let desc_addr = ctx.x(rs1);
                let count = ctx.x(rs2);
                let jobs = read_descriptors(desc_addr, count, ctx)?;
                let need = jobs
                    .iter()
                    .map(|j| j.macs().div_ceil(self.params.macs_per_cycle(j.ty).max(1)))
                    .fold(0u64, u64::saturating_add);
                if need > self.cycle_budget {
                    self.refused_cycles = Some(need);
                    return Err(Trap::illegal(format!(
                        "xpop.mm needs at least {need} cycles, more than the {} left under the \
                         cycle limit",
                        self.cycle_budget
                    )));
                }
                for job in &jobs {
                    check_operands(job, ctx)?;
                }
                for (i, job) in jobs.iter().enumerate() {
                    run_job(job, ctx).map_err(|t| annotate(t, i, desc_addr))?;
                    self.jobs_completed += 1;
                }
                self.last = Some(XpopWork::Mm { desc_addr, jobs });
                Ok(())
            }
            XInst::Info { rd, sel } => {
                let v = match sel {
                    InfoSel::Version => VERSION,
                    InfoSel::Types => WEIGHT_TYPES.iter().map(|t| 1u64 << t.id()).sum(),
                    InfoSel::Int8Macs => self.params.int8_macs_per_cycle,
                    InfoSel::Bf16Macs => self.params.bf16_macs_per_cycle,
                    InfoSel::F16Macs => self.params.f16_macs_per_cycle,
                    InfoSel::Jobs => self.jobs_completed,
                };
                ctx.set_x(rd, v);
                self.last = Some(XpopWork::Info);
                Ok(())
            }
        }
    }
}

/// The matrix unit's timing state: when it is free, and what it has done. The core's
/// timing model owns it and feeds it each Xpop instruction's [`XpopWork`].
#[derive(Clone, Debug)]
pub struct MatmulTiming {
    params: TimingParams,
    busy_until: Time,
    totals: TimingReport,
    mm_instructions: u64,
    info_instructions: u64,
    macs_by_type: [u64; WEIGHT_TYPES.len()],
}

impl MatmulTiming {
    /// An idle unit with the timing of `board`'s.
    pub fn new(board: &Board) -> MatmulTiming {
        MatmulTiming::with_params(TimingParams::from_board(board))
    }

    /// An idle unit with these parameters.
    pub fn with_params(params: TimingParams) -> MatmulTiming {
        MatmulTiming {
            params,
            busy_until: Time::ZERO,
            totals: TimingReport::default(),
            mm_instructions: 0,
            info_instructions: 0,
            macs_by_type: [0; WEIGHT_TYPES.len()],
        }
    }

    /// The timing parameters in use.
    pub fn params(&self) -> &TimingParams {
        &self.params
    }

    /// Times an executed Xpop instruction's `work`, issued at `issue`, streaming the unit's
    /// traffic through `mem`; returns when the core may go on. `xpop.mm` starts when the
    /// unit is free and blocks until its last result is written; `xpop.info` takes one cycle.
    pub fn time<M: MemoryModel>(&mut self, work: &XpopWork, issue: Time, mem: &mut M) -> Time {
        let one_cycle = issue + self.params.clock.period();
        match work {
            XpopWork::Info => {
                self.info_instructions += 1;
                one_cycle
            }
            XpopWork::Mm { desc_addr, jobs } => {
                self.mm_instructions += 1;
                let start = issue.max(self.busy_until);
                let r = self.time_jobs(*desc_addr, jobs, start, mem);
                self.busy_until = r.end;
                r.end.max(one_cycle)
            }
        }
    }

    /// Times `jobs` as one `xpop.mm` would run them and adds them to the unit's statistics.
    /// Other layers can use it to cost a matrix product without executing it.
    pub fn time_jobs<M: MemoryModel>(
        &mut self,
        desc_addr: u64,
        jobs: &[MatmulJob],
        start: Time,
        mem: &mut M,
    ) -> TimingReport {
        let r = timing::time_jobs(&self.params, desc_addr, jobs, start, mem);
        for job in jobs {
            if let Some(i) = WEIGHT_TYPES.iter().position(|&t| t == job.ty) {
                self.macs_by_type[i] += job.macs();
            }
        }
        let t = &mut self.totals;
        t.busy += r.busy;
        t.descriptor += r.descriptor;
        t.k_steps += r.k_steps;
        t.mac += r.mac;
        t.epilogue_stall += r.epilogue_stall;
        t.fill_drain += r.fill_drain;
        t.operand_stall += r.operand_stall;
        t.result_stall += r.result_stall;
        t.ideal_cycles += r.ideal_cycles;
        t.tiles += r.tiles;
        t.macs += r.macs;
        t.descriptor_bytes += r.descriptor_bytes;
        t.operand_bytes += r.operand_bytes;
        t.result_bytes += r.result_bytes;
        t.jobs += r.jobs;
        r
    }

    /// The unit's counters, with paths relative to the unit (`stall_cycles.operands`).
    pub fn stats(&self) -> Stats {
        let t = &self.totals;
        let mut s = Stats::new();
        s.set(
            "instructions.mm",
            self.mm_instructions as f64,
            Unit::Instructions,
        );
        s.set(
            "instructions.info",
            self.info_instructions as f64,
            Unit::Instructions,
        );
        s.set("jobs", t.jobs as f64, Unit::Jobs);
        s.set("tiles", t.tiles as f64, Unit::Tiles);
        s.set("macs", t.macs as f64, Unit::Macs);
        for (ty, &macs) in WEIGHT_TYPES.iter().zip(&self.macs_by_type) {
            s.set(format!("macs_by_type.{ty}"), macs as f64, Unit::Macs);
        }
        s.set("busy_cycles", t.busy as f64, Unit::Cycles);
        s.set("descriptor_cycles", t.descriptor as f64, Unit::Cycles);
        s.set("k_step_cycles", t.k_steps as f64, Unit::Cycles);
        s.set("mac_cycles", t.mac as f64, Unit::Cycles);
        s.set("ideal_cycles", t.ideal_cycles, Unit::Cycles);
        s.set("fill_drain_cycles", t.fill_drain as f64, Unit::Cycles);
        s.set(
            "stall_cycles.operands",
            t.operand_stall as f64,
            Unit::Cycles,
        );
        s.set(
            "stall_cycles.epilogue",
            t.epilogue_stall as f64,
            Unit::Cycles,
        );
        s.set(
            "stall_cycles.result_write",
            t.result_stall as f64,
            Unit::Cycles,
        );
        s.set("utilisation", t.utilisation(), Unit::Ratio);
        s.set("bytes.descriptors", t.descriptor_bytes as f64, Unit::Bytes);
        s.set("bytes.operands", t.operand_bytes as f64, Unit::Bytes);
        s.set("bytes.results", t.result_bytes as f64, Unit::Bytes);
        s
    }
}

fn annotate(t: Trap, index: usize, desc_addr: u64) -> Trap {
    match t {
        Trap::IllegalInstruction { reason } => Trap::illegal(format!(
            "xpop.mm descriptor {index} at {:#x}: {reason}",
            desc_addr + index as u64 * DESCRIPTOR_BYTES
        )),
        other => other,
    }
}

/// Reads and validates every descriptor before any job runs, so a bad descriptor traps with
/// no memory changed.
fn read_descriptors(
    addr: u64,
    count: u64,
    ctx: &mut impl HartContext,
) -> Result<Vec<MatmulJob>, Trap> {
    if count == 0 {
        return Ok(Vec::new());
    }
    if count > MAX_DESCRIPTORS {
        return Err(Trap::illegal(format!(
            "xpop.mm: {count} descriptors requested, at most {MAX_DESCRIPTORS} are allowed"
        )));
    }
    if !addr.is_multiple_of(DESCRIPTOR_ALIGN) {
        return Err(Trap::Misaligned {
            addr,
            len: DESCRIPTOR_BYTES,
        });
    }
    let mut raw = vec![0u8; (count * DESCRIPTOR_BYTES) as usize];
    ctx.load(addr, &mut raw)?;
    raw.chunks_exact(DESCRIPTOR_BYTES as usize)
        .enumerate()
        .map(|(i, d)| {
            let d: &[u8; 64] = d.try_into().expect("64-byte chunks");
            MatmulJob::parse(d).map_err(|e| match e {
                DescriptorError::Misaligned { addr, align, .. } => {
                    Trap::Misaligned { addr, len: align }
                }
                DescriptorError::Invalid(s) => annotate(Trap::illegal(s), i, addr),
            })
        })
        .collect()
}

/// Host bytes read per load call for back-to-back rows, and the most output bytes computed
/// before they are stored: bounds the host memory a job can make the emulator allocate to
/// what the guest's memory map really holds.
const CHUNK_BYTES: u64 = 64 << 20;

/// Loads `rows` rows of `row_bytes` at `base` with stride `stride` into `buf[..rows *
/// row_bytes]`, packed: back-to-back rows in as few loads as possible (chunks of at most
/// [`CHUNK_BYTES`]), else one load per row. `buf` is a buffer kept from earlier products: it
/// grows only as loads succeed, so an operand that runs off the memory map traps before the
/// host allocates more than the map holds, and bytes past the operand are left as they are.
fn load_rows(
    ctx: &mut impl HartContext,
    base: u64,
    stride: u64,
    rows: u64,
    row_bytes: u64,
    buf: &mut Vec<u8>,
) -> Result<(), Trap> {
    let mut fill = |at: usize, addr: u64, len: usize| {
        if buf.len() < at + len {
            buf.resize(at + len, 0);
        }
        ctx.load(addr, &mut buf[at..at + len])
    };
    if rows <= 1 || stride == row_bytes {
        let total = rows * row_bytes;
        let mut done = 0;
        while done < total {
            let len = (total - done).min(CHUNK_BYTES);
            fill(done as usize, base + done, len as usize)?;
            done += len;
        }
    } else {
        for r in 0..rows {
            fill(
                (r * row_bytes) as usize,
                base + r * stride,
                row_bytes as usize,
            )?;
        }
    }
    Ok(())
}

thread_local! {
    /// The A and B operand buffers of the last product run on this host thread, reused by
    /// the next: a decode step's products load hundreds of MB of weights, and fresh buffers
    /// cost page faults and zeroing for every one.
    static OPERANDS: std::cell::RefCell<(Vec<u8>, Vec<u8>)> =
        const { std::cell::RefCell::new((Vec::new(), Vec::new())) };
}

/// The `cols x rows` matrix of 16-bit elements whose transpose `t` holds, `rows` rows of
/// `cols` elements back to back: element `(r, c)` of the result is element `(c, r)` of `t`.
fn transpose_16(t: &[u8], rows: usize, cols: usize) -> Vec<u8> {
    let mut out = vec![0u8; t.len()];
    for r in 0..rows {
        for c in 0..cols {
            let (from, to) = (2 * (r * cols + c), 2 * (c * rows + r));
            out[to..to + 2].copy_from_slice(&t[from..from + 2]);
        }
    }
    out
}

/// Checks that the first and last byte of each input operand (A and B) lie in the memory
/// map before any operand is copied, so a job that runs off the map traps without the host
/// allocating for it.
fn check_operands(job: &MatmulJob, ctx: &mut impl HartContext) -> Result<(), Trap> {
    if job.m == 0 || job.n == 0 {
        return Ok(());
    }
    let mut probe = [0u8; 1];
    // C is probed by `run_job` before any output is computed; it is never copied in.
    let (a_rows, a_row) = job.a_layout();
    for (base, stride, rows, row) in [
        (job.a, job.lda, a_rows, a_row),
        (job.b, job.ldb, job.m, job.b_row_bytes()),
    ] {
        ctx.load(base, &mut probe)?;
        let last = (rows - 1)
            .checked_mul(stride)
            .and_then(|o| o.checked_add(row - 1))
            .and_then(|o| base.checked_add(o))
            .ok_or_else(|| Trap::illegal("xpop.mm operand runs past the address space"))?;
        ctx.load(last, &mut probe)?;
    }
    Ok(())
}

/// Runs one validated job: loads A and B, checks that C's first and last bytes are in the
/// memory map, then computes and stores C in chunks of activation rows (one store per chunk
/// when C's rows are back to back, else one per row).
fn run_job(job: &MatmulJob, ctx: &mut impl HartContext) -> Result<(), Trap> {
    if job.m == 0 || job.n == 0 {
        return Ok(());
    }
    OPERANDS.with_borrow_mut(|(a_buf, b_buf)| run_job_with(job, ctx, a_buf, b_buf))
}

/// [`run_job`] with the operands loaded into `a_buf` and `b_buf`.
fn run_job_with(
    job: &MatmulJob,
    ctx: &mut impl HartContext,
    a_buf: &mut Vec<u8>,
    b_buf: &mut Vec<u8>,
) -> Result<(), Trap> {
    let (ra, rb) = (job.a_row_bytes(), job.b_row_bytes());
    let (a_rows, a_row) = job.a_layout();
    load_rows(ctx, job.a, job.lda, a_rows, a_row, a_buf)?;
    let a = &a_buf[..(a_rows * a_row) as usize];
    let transposed;
    let a = if job.a_transposed {
        transposed = transpose_16(a, job.k as usize, job.n as usize);
        &transposed[..]
    } else {
        a
    };
    load_rows(ctx, job.b, job.ldb, job.m, rb, b_buf)?;
    let b = &b_buf[..(job.m * rb) as usize];
    let row = 4 * job.n;
    let mut probe = [0u8; 1];
    ctx.load(job.c, &mut probe)?;
    ctx.load(job.c + (job.m - 1) * job.ldc + row - 1, &mut probe)?;
    let packed_c = job.m == 1 || job.ldc == row;
    let chunk_rows = (CHUNK_BYTES / row).max(1);
    let mut i0 = 0;
    while i0 < job.m {
        let rows = chunk_rows.min(job.m - i0);
        let b_chunk = &b[(i0 * rb) as usize..((i0 + rows) * rb) as usize];
        let c = dot::matmul(
            job.ty,
            job.k,
            RowSet::packed(a, job.n as usize, ra as usize),
            RowSet::packed(b_chunk, rows as usize, rb as usize),
        )
        .map_err(|e| Trap::illegal(e.to_string()))?;
        let bytes: Vec<u8> = c.iter().flat_map(|v| v.to_le_bytes()).collect();
        if packed_c {
            ctx.store(job.c + i0 * row, &bytes)?;
        } else {
            for (i, r) in bytes.chunks_exact(row as usize).enumerate() {
                ctx.store(job.c + (i0 + i as u64) * job.ldc, r)?;
            }
        }
        i0 += rows;
    }
    Ok(())
}
