//! How long the unit takes: tiles of fill + K steps + drain, operands streamed through a
//! [`MemoryModel`], overlapped with compute when double buffered (doc/xpop-matmul.md
//! section "Timing model").
//!
//! The unit runs on the core clock; its timeline is kept in whole cycles. A job is split
//! into tiles of `tm` activation rows x `tn` weight rows x `tk` elements, sized so a tile's
//! operands fit the A and B buffers and its outputs fit the accumulators. Tiles run in the
//! order (m, n, k). For each tile:
//!
//! - its operands (the A rows, and the B rows unless they are still in the buffer) are read
//!   through the unit's port, which moves `operand_bytes_per_cycle` and forwards every request
//!   to the memory model; a tile's operands are ready when the last request completes;
//! - it starts when its operands are ready and the array has finished the previous tile's
//!   K steps (double buffered) or the previous tile's drain (single buffered);
//! - it takes `steps = max(ceil(MACs / MACs-per-cycle), ceil(epilogue ops / ops-per-cycle))`
//!   cycles, and its results are complete `fill + steps + drain` cycles after it starts;
//! - after the last K tile of an output tile, the outputs are written through the port.
//!
//! With double buffering the loads of tile t+1 start as soon as tile t-1 has released its
//! buffer (at the end of its K steps); single buffered, they start when tile t is complete.
//! Pending result writes go through the port before a load that is not yet ready when they
//! are. A job is over when its last write has been accepted.

use super::descriptor::{MatmulJob, DESCRIPTOR_BYTES};
use crate::config::Board;
use crate::mem::{Access, MemoryModel, Request};
use crate::quant::GgmlType;
use crate::units::{Frequency, Time};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// The unit's timing parameters, from the board's `matmul` section and clock.
#[derive(Clone, Debug, PartialEq)]
pub struct TimingParams {
    /// The unit's (and core's) clock.
    pub clock: Frequency,
    /// int8 multiply-accumulates per cycle.
    pub int8_macs_per_cycle: u64,
    /// BF16 multiply-accumulates per cycle.
    pub bf16_macs_per_cycle: u64,
    /// F16 multiply-accumulates per cycle.
    pub f16_macs_per_cycle: u64,
    /// FP32 epilogue operations per cycle.
    pub epilogue_ops_per_cycle: u64,
    /// Pipeline cycles before the first K step's products enter the accumulators.
    pub fill: u64,
    /// Cycles after the last K step until the tile's outputs are final.
    pub drain: u64,
    /// Bytes the unit's memory port moves per cycle.
    pub operand_bytes_per_cycle: u64,
    /// Whether operand buffers and accumulators are doubled.
    pub double_buffered: bool,
    /// Bytes of one A buffer.
    pub a_buffer: u64,
    /// Bytes of one B buffer.
    pub b_buffer: u64,
    /// Outputs the accumulators hold.
    pub accumulators: u64,
}

impl TimingParams {
    /// The parameters of `board`'s unit.
    pub fn from_board(board: &Board) -> TimingParams {
        let m = &board.matmul;
        TimingParams {
            clock: board.clock,
            int8_macs_per_cycle: m.int8_macs_per_cycle.max(1) as u64,
            bf16_macs_per_cycle: m.bf16_macs_per_cycle.max(1) as u64,
            f16_macs_per_cycle: m.f16_macs_per_cycle.max(1) as u64,
            epilogue_ops_per_cycle: m.epilogue_ops_per_cycle.max(1) as u64,
            fill: m.fill.count(),
            drain: m.drain.count(),
            operand_bytes_per_cycle: m.operand_bytes_per_cycle.max(1) as u64,
            double_buffered: m.double_buffered,
            a_buffer: m.a_buffer.bytes(),
            b_buffer: m.b_buffer.bytes(),
            accumulators: m.accumulators.max(1) as u64,
        }
    }

    /// Peak multiply-accumulates per cycle for a weight type.
    pub fn macs_per_cycle(&self, ty: GgmlType) -> u64 {
        match ty {
            GgmlType::BF16 => self.bf16_macs_per_cycle,
            GgmlType::F16 => self.f16_macs_per_cycle,
            _ => self.int8_macs_per_cycle,
        }
    }
}

/// FP32 epilogue operations one output needs: `(per weight block, once at the end)`.
///
/// - Q4_K: `d = dA * dB`, `dmin = dminA * dB`, 8 lane updates `lane += d * isum`,
///   `sumf -= dmin * msum` (11 per block); the final 8 lane additions.
/// - Q6_K: `d`, 8 lane updates (9 per block); the final 8 lane additions.
/// - Q4_0: `(sumi * dA)`, `* dB` then `sumf +=` (2 per 32-element block).
/// - Q8_0: `dA * dB`, `sumi * d` then `sumf +=` (2 per block).
/// - BF16, F16: none; the binary64 accumulate is the MAC itself.
pub fn epilogue_ops(ty: GgmlType) -> (u64, u64) {
    match ty {
        GgmlType::Q4_K => (11, 8),
        GgmlType::Q6_K => (9, 8),
        GgmlType::Q4_0 | GgmlType::Q8_0 => (2, 0),
        _ => (0, 0),
    }
}

/// The tile shape chosen for a job.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TilePlan {
    /// Activation rows per tile.
    pub tm: u64,
    /// Weight rows per tile.
    pub tn: u64,
    /// Elements per tile (a whole number of blocks).
    pub tk: u64,
}

/// Chooses the tile shape: all of k when a row of each operand fits its buffer (else the
/// most whole blocks that fit), then as many weight rows as fit the A buffer and the
/// accumulators, then as many activation rows as fit the B buffer and the accumulators left.
pub fn plan_tiles(p: &TimingParams, job: &MatmulJob) -> TilePlan {
    let g = job.ty.block_elems() as u64;
    let (ba, bb) = (
        job.ty.block_bytes() as u64,
        job.b_type().block_bytes() as u64,
    );
    let blocks = job.k / g;
    let fit = (p.a_buffer / ba).min(p.b_buffer / bb).max(1);
    let tk = blocks.min(fit) * g;
    let (chunk_a, chunk_b) = (tk / g * ba, tk / g * bb);
    let tn = (p.a_buffer / chunk_a).min(p.accumulators).min(job.n).max(1);
    let tm = (p.b_buffer / chunk_b)
        .min(p.accumulators / tn)
        .min(job.m)
        .max(1);
    TilePlan { tm, tn, tk }
}

/// Cycle counts of one or more jobs, split by cause.
///
/// `busy = descriptor + k_steps + fill_drain + operand_stall + result_stall`, and
/// `k_steps = mac + epilogue_stall`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TimingReport {
    /// When the instruction was issued.
    pub start: Time,
    /// When the last result write was accepted.
    pub end: Time,
    /// Cycles from issue to end.
    pub busy: u64,
    /// Cycles reading the descriptors.
    pub descriptor: u64,
    /// Cycles the array spent on K steps.
    pub k_steps: u64,
    /// Of `k_steps`, those the MACs alone need (`ceil(MACs / rate)` per tile).
    pub mac: u64,
    /// Of `k_steps`, those added because the epilogue was slower than the MACs.
    pub epilogue_stall: u64,
    /// Pipeline fill and drain not hidden behind other tiles.
    pub fill_drain: u64,
    /// Cycles the array waited for operands.
    pub operand_stall: u64,
    /// Cycles after the last tile's drain waiting for result writes to be accepted.
    pub result_stall: u64,
    /// Peak-rate cycles the work needs: sum of MACs / peak MACs per cycle (fractional).
    pub ideal_cycles: f64,
    /// Tiles run.
    pub tiles: u64,
    /// Multiply-accumulates done.
    pub macs: u64,
    /// Descriptor bytes read.
    pub descriptor_bytes: u64,
    /// Operand bytes read (A and B).
    pub operand_bytes: u64,
    /// Result bytes written.
    pub result_bytes: u64,
    /// Jobs (descriptors) run.
    pub jobs: u64,
}

impl TimingReport {
    /// Fraction of the busy cycles the MAC array would need at its peak rate.
    pub fn utilisation(&self) -> f64 {
        if self.busy == 0 {
            0.0
        } else {
            self.ideal_cycles / self.busy as f64
        }
    }
}

/// Cycle arithmetic on the unit's clock, exact to the femtosecond.
#[derive(Clone, Copy)]
struct Clock(Frequency);

impl Clock {
    fn time(self, cycle: u64) -> Time {
        self.0.cycles_to_time(cycle)
    }
    /// The first cycle boundary at or after `t`.
    fn cycle_at_or_after(self, t: Time) -> u64 {
        let c = (t.secs() * self.0.hz()).floor() as u64;
        let mut c = c.saturating_sub(1);
        while self.time(c) < t {
            c += 1;
        }
        c
    }
}

/// The unit's memory port: one request at a time at `bytes_per_cycle`, forwarded to the
/// memory model; result writes wait in a queue ordered by the cycle they become ready.
///
/// A port's issue times depend only on the bytes it moves, never on when data comes back, so
/// when a tile's load starts the unit knows every request the port will issue for it (the
/// operand reads, and the result writes that go between them) and when. Each goes to the
/// memory model with the rest of that load as its look-ahead ([`MemoryModel::access_ahead`]),
/// as the requests would sit in a controller's queue together; nothing of a later load is in
/// it.
struct Port<'m, M: MemoryModel> {
    mem: &'m mut M,
    clock: Clock,
    bytes_per_cycle: u64,
    free: u64,
    writes: BinaryHeap<Reverse<(u64, u64, u64, u64)>>,
    seq: u64,
    last_write_done: u64,
    /// One load's requests, in issue order (reused between loads).
    reqs: Vec<Request>,
    /// For each of `reqs`: the cycle the port is free after it.
    frees: Vec<u64>,
}

impl<M: MemoryModel> Port<'_, M> {
    /// Plans one request at the port: issued once the port is free and `ready` has passed.
    fn plan(&mut self, ready: u64, addr: u64, bytes: u64, access: Access) {
        let issue = ready.max(self.free);
        self.free = issue + bytes.div_ceil(self.bytes_per_cycle);
        self.reqs.push(Request {
            addr,
            bytes: bytes as u32,
            access,
            issue: self.clock.time(issue),
        });
        self.frees.push(self.free);
    }

    /// Plans the pending result writes that go before a request issued at `horizon`.
    fn plan_writes(&mut self, horizon: u64) {
        while let Some(&Reverse((ready, _, addr, bytes))) = self.writes.peek() {
            if ready > horizon.max(self.free) {
                break;
            }
            self.writes.pop();
            self.plan(ready, addr, bytes, Access::Write);
        }
    }

    /// Sends the planned requests, each with the rest as its look-ahead; returns the cycle
    /// the last read's data is in the buffer (`ready` when there is none).
    fn send(&mut self, ready: u64) -> u64 {
        let mut loaded = ready;
        for i in 0..self.reqs.len() {
            let req = self.reqs[i];
            let done = self.mem.access_ahead(req, &self.reqs[i + 1..]);
            let c = self.clock.cycle_at_or_after(done).max(self.frees[i]);
            if req.access == Access::Read {
                loaded = loaded.max(c);
            } else {
                self.last_write_done = self.last_write_done.max(c);
            }
        }
        self.reqs.clear();
        self.frees.clear();
        loaded
    }

    fn flush_writes(&mut self, horizon: u64) {
        self.plan_writes(horizon);
        self.send(0);
    }

    /// Reads the runs `loads` (address, bytes), in order, once the port is free and `ready`
    /// has passed, as one load; returns the cycle the last data is in the buffer (`ready`
    /// when `loads` is empty).
    fn read(&mut self, ready: u64, loads: &[(u64, u64)]) -> u64 {
        for &(addr, bytes) in loads {
            self.plan_writes(ready);
            self.plan(ready, addr, bytes, Access::Read);
        }
        self.send(ready)
    }

    fn write(&mut self, ready: u64, addr: u64, bytes: u64) {
        self.seq += 1;
        self.writes.push(Reverse((ready, self.seq, addr, bytes)));
    }

    fn finish(&mut self) -> u64 {
        self.flush_writes(u64::MAX);
        self.last_write_done
    }
}

/// Contiguous runs of `rows` rows of `len` bytes at `base + (first + r) * stride + offset`:
/// one run when the rows are back to back.
fn runs(base: u64, stride: u64, first: u64, rows: u64, offset: u64, len: u64) -> Vec<(u64, u64)> {
    let start = base + first * stride + offset;
    if rows <= 1 || stride == len {
        vec![(start, rows * len)]
    } else {
        (0..rows).map(|r| (start + r * stride, len)).collect()
    }
}

/// Times `jobs`, run one after the other by an `xpop.mm` issued at `issue` whose
/// descriptors start at `desc_addr`, streaming every access through `mem`.
pub fn time_jobs<M: MemoryModel>(
    p: &TimingParams,
    desc_addr: u64,
    jobs: &[MatmulJob],
    issue: Time,
    mem: &mut M,
) -> TimingReport {
    let clock = Clock(p.clock);
    let t0 = clock.cycle_at_or_after(issue);
    let mut port = Port {
        mem,
        clock,
        bytes_per_cycle: p.operand_bytes_per_cycle,
        free: t0,
        writes: BinaryHeap::new(),
        seq: 0,
        last_write_done: t0,
        reqs: Vec::new(),
        frees: Vec::new(),
    };
    let mut r = TimingReport {
        start: issue,
        jobs: jobs.len() as u64,
        ..TimingReport::default()
    };
    let mut now = t0;
    if !jobs.is_empty() {
        let bytes = jobs.len() as u64 * DESCRIPTOR_BYTES;
        now = port.read(t0, &[(desc_addr, bytes)]);
        r.descriptor = now - t0;
        r.descriptor_bytes = bytes;
    }
    for job in jobs {
        now = time_job(p, job, now, &mut port, &mut r);
    }
    r.end = clock.time(now);
    r.busy = now - t0;
    r
}

/// Times one job that may start at cycle `begin`; returns the cycle it ends.
fn time_job<M: MemoryModel>(
    p: &TimingParams,
    job: &MatmulJob,
    begin: u64,
    port: &mut Port<'_, M>,
    r: &mut TimingReport,
) -> u64 {
    if job.m == 0 || job.n == 0 {
        return begin;
    }
    let plan = plan_tiles(p, job);
    let g = job.ty.block_elems() as u64;
    let (ba, bb) = (
        job.ty.block_bytes() as u64,
        job.b_type().block_bytes() as u64,
    );
    let rate = p.macs_per_cycle(job.ty);
    let (epi_block, epi_final) = epilogue_ops(job.ty);
    r.ideal_cycles += job.macs() as f64 / rate as f64;

    // Per-tile history the buffer rules need: when each tile released its operand buffer
    // (end of its K steps) and when its results were complete.
    let mut release: Vec<u64> = Vec::new();
    let mut complete_prev = begin;
    let mut steps_end_prev = begin;
    let mut resident_a: Option<(u64, u64)> = None;
    let mut resident_b: Option<(u64, u64)> = None;
    let mut t = 0usize;
    for m0 in (0..job.m).step_by(plan.tm as usize) {
        let tm = plan.tm.min(job.m - m0);
        for n0 in (0..job.n).step_by(plan.tn as usize) {
            let tn = plan.tn.min(job.n - n0);
            for k0 in (0..job.k).step_by(plan.tk as usize) {
                let tk = plan.tk.min(job.k - k0);
                let last_k = k0 + tk == job.k;
                // When this tile's buffer is free to be refilled.
                let ready = if p.double_buffered {
                    if t >= 2 {
                        release[t - 2]
                    } else {
                        begin
                    }
                } else {
                    complete_prev
                };
                // The tile's operands (the A rows, then the B rows, unless they are still
                // in the buffer), read as one load.
                let mut load = Vec::new();
                if resident_a != Some((n0, k0)) {
                    // Transposed, a tile of A is tk stored rows of tn elements (2 bytes).
                    load = if job.a_transposed {
                        runs(job.a, job.lda, k0, tk, n0 * ba, tn * ba)
                    } else {
                        runs(job.a, job.lda, n0, tn, k0 / g * ba, tk / g * ba)
                    };
                    resident_a = Some((n0, k0));
                }
                if resident_b != Some((m0, k0)) {
                    load.extend(runs(job.b, job.ldb, m0, tm, k0 / g * bb, tk / g * bb));
                    resident_b = Some((m0, k0));
                }
                r.operand_bytes += load.iter().map(|&(_, len)| len).sum::<u64>();
                let loaded = port.read(ready, &load);
                let array_free = if p.double_buffered {
                    steps_end_prev
                } else {
                    complete_prev
                };
                let start = loaded.max(array_free);
                let macs = tm * tn * tk;
                let epi = tm * tn * (tk / g * epi_block + if last_k { epi_final } else { 0 });
                let mac_cycles = macs.div_ceil(rate);
                let steps = mac_cycles.max(epi.div_ceil(p.epilogue_ops_per_cycle));
                // Attribute the gap since the array's last K step.
                let gap = start - steps_end_prev;
                let hidden = if p.double_buffered || t == 0 {
                    0
                } else {
                    p.fill + p.drain
                };
                r.fill_drain += hidden.min(gap);
                r.operand_stall += gap - hidden.min(gap);
                r.k_steps += steps;
                r.mac += mac_cycles;
                r.epilogue_stall += steps - mac_cycles;
                r.macs += macs;
                r.tiles += 1;
                let complete = start + p.fill + steps + p.drain;
                if last_k {
                    for (addr, len) in runs(job.c, job.ldc, m0, tm, n0 * 4, tn * 4) {
                        port.write(complete, addr, len);
                        r.result_bytes += len;
                    }
                }
                release.push(start + steps);
                steps_end_prev = start + steps;
                complete_prev = complete;
                t += 1;
            }
        }
    }
    let writes_done = port.finish();
    let end = complete_prev.max(writes_done);
    r.fill_drain += p.fill + p.drain;
    r.result_stall += end - complete_prev;
    end
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mem::fixed::FixedLatency;

    fn params() -> TimingParams {
        TimingParams {
            clock: Frequency::new(75e6),
            int8_macs_per_cycle: 128,
            bf16_macs_per_cycle: 8,
            f16_macs_per_cycle: 8,
            epilogue_ops_per_cycle: 8,
            fill: 6,
            drain: 42,
            operand_bytes_per_cycle: 32,
            double_buffered: true,
            a_buffer: 16384,
            b_buffer: 16384,
            accumulators: 128,
        }
    }

    fn job(ty: GgmlType, m: u64, n: u64, k: u64) -> MatmulJob {
        let ra = ty.row_bytes(k).unwrap();
        let rb = crate::matmul::descriptor::activation_type(ty)
            .unwrap()
            .row_bytes(k)
            .unwrap();
        MatmulJob {
            ty,
            a: 0x8000_0000,
            b: 0x9000_0000,
            c: 0xA000_0000,
            lda: ra,
            ldb: rb,
            ldc: 4 * n,
            m,
            n,
            k,
            a_transposed: false,
        }
    }

    /// A port as fast as the unit's: one cycle per 32 bytes, no latency.
    fn port_speed_memory(p: &TimingParams) -> FixedLatency {
        FixedLatency::new(Time::ZERO, p.clock.period(), 32)
    }

    #[test]
    fn tile_plan_for_the_tinyllama_shapes() {
        let p = params();
        // Decode: 14 Q4_K rows of 1152 bytes fill 16 KiB; one token.
        let d = plan_tiles(&p, &job(GgmlType::Q4_K, 1, 5632, 2048));
        assert_eq!(
            d,
            TilePlan {
                tm: 1,
                tn: 14,
                tk: 2048
            }
        );
        // Prefill: 7 Q8_K rows of 2336 bytes fit 16 KiB.
        let f = plan_tiles(&p, &job(GgmlType::Q4_K, 512, 5632, 2048));
        assert_eq!(
            f,
            TilePlan {
                tm: 7,
                tn: 14,
                tk: 2048
            }
        );
        // k = 16384: a Q8_K row (18688 bytes) overflows B, so k is split: 56 blocks of 292.
        let s = plan_tiles(&p, &job(GgmlType::Q4_K, 1, 64, 16384));
        assert_eq!(s.tk, 56 * 256);
        // Small k: the accumulators bound the tile.
        let a = plan_tiles(&p, &job(GgmlType::Q8_0, 64, 256, 32));
        assert_eq!((a.tn, a.tm), (128, 1));
    }

    #[test]
    fn one_compute_bound_tile_is_load_plus_fill_steps_drain_plus_write() {
        let p = params();
        let j = job(GgmlType::Q8_0, 2, 4, 256);
        let mut mem = port_speed_memory(&p);
        let r = time_jobs(&p, 0x100, &[j], Time::ZERO, &mut mem);
        // Descriptor 64 B: 2 cycles. A: 4 rows x 272 B = 1088 B: 34 cycles. B: 2 x 272 B =
        // 544 B: 17 cycles. MACs 2*4*256 = 2048 -> 16 cycles; epilogue 8 outputs x 8 blocks x
        // 2 ops = 128 ops -> 16 cycles. Write 2 rows x 16 B contiguous = 32 B: 1 cycle.
        let expect = 2 + 34 + 17 + 6 + 16 + 42 + 1;
        assert_eq!(r.busy, expect);
        assert_eq!(r.end, p.clock.cycles_to_time(expect));
        assert_eq!((r.descriptor, r.mac, r.epilogue_stall), (2, 16, 0));
        assert_eq!((r.operand_stall, r.fill_drain, r.result_stall), (51, 48, 1));
        assert_eq!(r.operand_bytes, 1088 + 544);
        assert_eq!(r.result_bytes, 32);
        assert_eq!(r.tiles, 1);
    }

    #[test]
    fn epilogue_bound_tile() {
        // Q4_K with 8 outputs and one block: MACs 2048 -> 16 cycles, epilogue
        // 8 x (11 + 8) = 152 ops -> 19 cycles.
        let p = params();
        let j = job(GgmlType::Q4_K, 2, 4, 256);
        let mut mem = port_speed_memory(&p);
        let r = time_jobs(&p, 0x100, &[j], Time::ZERO, &mut mem);
        assert_eq!((r.mac, r.k_steps, r.epilogue_stall), (16, 19, 3));
        // 2 + ceil(576/32)=18 + ceil(584/32)=19 + 6 + 19 + 42 + 1.
        assert_eq!(r.busy, 2 + 18 + 19 + 6 + 19 + 42 + 1);
    }

    #[test]
    fn compute_bound_closed_form_over_many_tiles() {
        // With memory 100x faster than the array needs, the job costs the first tile's load,
        // then back-to-back K steps, one fill and one drain, then the last write.
        let mut p = params();
        p.operand_bytes_per_cycle = 1 << 20;
        let j = job(GgmlType::Q8_0, 7, 1024, 2048);
        let mut mem = FixedLatency::new(Time::ZERO, p.clock.period(), 1 << 20);
        let r = time_jobs(&p, 0x100, &[j], Time::ZERO, &mut mem);
        let plan = plan_tiles(&p, &j);
        // 7 rows of 2176 bytes fill each 16 KiB buffer.
        assert_eq!(
            plan,
            TilePlan {
                tm: 7,
                tn: 7,
                tk: 2048
            }
        );
        let macs = 7 * 1024 * 2048u64;
        // Every tile's MAC count is a multiple of 128, so the sum of per-tile ceilings is the
        // ceiling of the sum.
        assert_eq!(r.mac, macs / 128);
        assert_eq!(r.epilogue_stall, 0);
        // desc 1 + first load 1 (A) + 1 (B) + fill + steps + drain + the last tile's write:
        // 7 rows of 8 bytes, not contiguous (ldc = 4096), one cycle each.
        assert_eq!(r.busy, 1 + 2 + 6 + macs / 128 + 42 + 7);
        assert_eq!(r.operand_stall, 2);
        assert!(r.utilisation() > 0.99);
    }

    #[test]
    fn memory_bound_decode_is_bytes_over_port_rate() {
        // TinyLlama FFN up-projection, one token, Q4_K: the port streams without a gap, so the
        // job ends one tile's compute after the last load.
        let p = params();
        let j = job(GgmlType::Q4_K, 1, 5632, 2048);
        let mut mem = port_speed_memory(&p);
        let r = time_jobs(&p, 0x100, &[j], Time::ZERO, &mut mem);
        let tiles = 5632u64.div_ceil(14);
        assert_eq!(r.tiles, tiles);
        // The port never idles: the descriptor (2 cycles), B (2336 B: 73 cycles), tiles
        // 0..=401 of 14 rows x 1152 B (504 cycles each) with the 56-byte writes (2 cycles) of
        // tiles 0..=399 in between; tile 401 starts when its load is in. The last tile's load
        // (4 rows: 144 cycles) is shorter than tile 401's 224 K steps, so tile 402 starts when
        // the array is free, and ends after fill + 64 K steps + drain and a 16-byte write.
        let start_401 = 2 + 73 + 402 * 504 + 400 * 2;
        let end = start_401 + 224 + 6 + 64 + 42 + 1;
        assert_eq!(r.busy, end);
        // Conservation of cycles.
        assert_eq!(
            r.busy,
            r.descriptor + r.k_steps + r.fill_drain + r.operand_stall + r.result_stall
        );
        assert_eq!(r.operand_bytes, 5632 * 1152 + 2336);
        let roofline = (r.operand_bytes + r.descriptor_bytes) as f64 / 32.0;
        assert!(r.busy as f64 / roofline < 1.01);
    }

    #[test]
    fn slower_memory_sets_the_rate() {
        // The same job with a 2.0 GB/s memory (32 bytes per 16 ns) behind the 2.4 GB/s port.
        let p = params();
        let j = job(GgmlType::Q4_K, 1, 5632, 2048);
        let mut mem = FixedLatency::new(Time::ZERO, Time::from_secs(16e-9), 32);
        let r = time_jobs(&p, 0x100, &[j], Time::ZERO, &mut mem);
        let bytes = 5632 * 1152 + 2336 + 64;
        let floor = bytes as f64 / 2.0e9;
        let secs = r.end.secs();
        assert!(secs >= floor, "{secs} < {floor}");
        // Above the floor only by the writes (56 B per tile, two 32-byte beats of 16 ns) and
        // the tail: the last tile waits at most for tile 401's 224 K steps, then fill, its 64
        // K steps, drain and its write.
        let writes = 403.0 * 2.0 * 16e-9;
        let tail = (224 + 6 + 64 + 42 + 2) as f64 / 75e6;
        assert!(secs <= floor + writes + tail, "{secs}");
    }

    #[test]
    fn single_buffering_serialises_load_and_compute() {
        let mut p = params();
        p.double_buffered = false;
        let j = job(GgmlType::Q4_K, 1, 28, 2048);
        let mut mem = port_speed_memory(&p);
        let r = time_jobs(&p, 0x100, &[j], Time::ZERO, &mut mem);
        // Two tiles of 14 rows. Tile 0: B (73) + A (504) after the descriptor (2), then
        // 6 + 224 + 42; its write (56 B: 2 cycles) is ready then, and tile 1's load waits
        // for it; tile 1: 504 + 6 + 224 + 42, then its write.
        let t1_start = 2 + 504 + 73 + 6 + 224 + 42;
        let expect = t1_start + 2 + 504 + 6 + 224 + 42 + 2;
        assert_eq!(r.busy, expect);
        assert_eq!(r.fill_drain, 2 * 48);
        assert_eq!(
            r.busy,
            r.descriptor + r.k_steps + r.fill_drain + r.operand_stall + r.result_stall
        );
        // Double buffering hides tile 1's load behind tile 0's compute.
        p.double_buffered = true;
        let mut mem = port_speed_memory(&p);
        let d = time_jobs(&p, 0x100, &[j], Time::ZERO, &mut mem);
        assert!(d.busy < r.busy);
    }

    #[test]
    fn resident_operands_are_not_reloaded() {
        // Attention-like: n = 8 weight rows fit one A tile; 64 activation rows in 4 B tiles.
        let p = params();
        let j = job(GgmlType::Q8_0, 64, 8, 256);
        let mut mem = port_speed_memory(&p);
        let r = time_jobs(&p, 0x100, &[j], Time::ZERO, &mut mem);
        assert_eq!(r.operand_bytes, 8 * 272 + 64 * 272);
        assert_eq!(r.result_bytes, 64 * 8 * 4);
    }

    #[test]
    fn bf16_uses_its_own_rate() {
        let p = params();
        let j = job(GgmlType::BF16, 1, 16, 256);
        let mut mem = port_speed_memory(&p);
        let r = time_jobs(&p, 0x100, &[j], Time::ZERO, &mut mem);
        assert_eq!(r.mac, 16 * 256 / 8);
        assert_eq!(r.epilogue_stall, 0);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// For any shape and unit configuration: the cycle causes add up to the busy time,
        /// the job is never faster than its MACs at the peak rate or its bytes through the
        /// port, every compulsory byte is read, and the same inputs give the same cycles.
        #[test]
        fn cycles_conserve_and_respect_both_floors(
            ty_i in 0usize..5, m in 0u64..20, n in 1u64..90, kb in 1u64..12,
            a_kib in 1u64..20, b_kib in 1u64..20, acc in 1u64..200,
            double in proptest::bool::ANY, opb_log in 2u32..7, fill in 0u64..10, drain in 0u64..50,
        ) {
            let ty = crate::matmul::descriptor::WEIGHT_TYPES[ty_i];
            let k = kb * if ty == GgmlType::BF16 { 64 } else { 256 };
            let mut p = params();
            p.a_buffer = a_kib * 1024;
            p.b_buffer = b_kib * 1024;
            p.accumulators = acc;
            p.double_buffered = double;
            p.operand_bytes_per_cycle = 1 << opb_log;
            p.fill = fill;
            p.drain = drain;
            let j = job(ty, m, n, k);
            let mem = || FixedLatency::new(Time::from_ps(5000), p.clock.period(), 1 << opb_log);
            let r = time_jobs(&p, 0x100, &[j], Time::ZERO, &mut mem());
            proptest::prop_assert_eq!(
                r.busy,
                r.descriptor + r.k_steps + r.fill_drain + r.operand_stall + r.result_stall
            );
            proptest::prop_assert_eq!(r.k_steps, r.mac + r.epilogue_stall);
            proptest::prop_assert_eq!(r.macs, j.macs());
            proptest::prop_assert!(r.mac >= j.macs().div_ceil(p.macs_per_cycle(ty)));
            let moved = r.descriptor_bytes + r.operand_bytes + r.result_bytes;
            proptest::prop_assert!(r.busy >= moved / p.operand_bytes_per_cycle);
            if m > 0 {
                let compulsory = n * j.a_row_bytes() + m * j.b_row_bytes();
                proptest::prop_assert!(r.operand_bytes >= compulsory);
                proptest::prop_assert_eq!(r.result_bytes, 4 * m * n);
            }
            let again = time_jobs(&p, 0x100, &[j], Time::ZERO, &mut mem());
            proptest::prop_assert_eq!(again, r);
        }
    }

    #[test]
    fn empty_jobs_cost_only_their_descriptor() {
        let p = params();
        let j = job(GgmlType::Q4_0, 0, 16, 256);
        let mut mem = port_speed_memory(&p);
        let r = time_jobs(&p, 0x100, &[j, j], Time::ZERO, &mut mem);
        assert_eq!(r.busy, 4);
        assert_eq!(r.tiles, 0);
        let none = time_jobs(&p, 0x100, &[], Time::ZERO, &mut mem);
        assert_eq!(none.busy, 0);
    }

    /// Records every request with its look-ahead; answers as a port-speed memory.
    struct Recorder {
        inner: FixedLatency,
        seen: Vec<(Request, Vec<Request>)>,
    }

    impl MemoryModel for Recorder {
        fn access(&mut self, req: Request) -> Time {
            self.access_ahead(req, &[])
        }
        fn access_ahead(&mut self, req: Request, ahead: &[Request]) -> Time {
            self.seen.push((req, ahead.to_vec()));
            self.inner.access(req)
        }
        fn stats(&self) -> crate::stats::Stats {
            self.inner.stats()
        }
    }

    /// Each request of a tile load goes with the rest of that load, exactly the requests the
    /// port sends next and in that order, and never with a request of another tile's load.
    #[test]
    fn a_tile_loads_requests_are_each_others_look_ahead() {
        let p = params();
        let mut j = job(GgmlType::Q8_0, 2, 200, 256);
        // Every other row: a tile's A rows are separate runs.
        j.lda *= 2;
        let plan = plan_tiles(&p, &j);
        assert!(plan.tn > 1 && plan.tn < j.n, "{plan:?}");
        let mut mem = Recorder {
            inner: port_speed_memory(&p),
            seen: Vec::new(),
        };
        time_jobs(&p, 0x100, &[j], Time::ZERO, &mut mem);
        let seen = &mem.seen;
        assert!(seen.iter().any(|(_, a)| a.len() > 1));
        let mut group_tile: Option<u64> = None;
        for (i, (req, ahead)) in seen.iter().enumerate() {
            let next: Vec<Request> = seen[i + 1..].iter().map(|(r, _)| *r).collect();
            assert_eq!(ahead[..], next[..ahead.len()], "request {i}");
            assert!(ahead.iter().all(|r| r.issue >= req.issue));
            // An A row read names its tile by its row; one load holds one tile's rows.
            if req.access == Access::Read && (j.a..j.b).contains(&req.addr) {
                let tile = (req.addr - j.a) / j.lda / plan.tn;
                assert!(group_tile.is_none_or(|t| t == tile), "request {i}");
                group_tile = Some(tile);
            }
            if ahead.is_empty() {
                group_tile = None;
            }
        }
    }
}
