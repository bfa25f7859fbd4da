//! Trace-driven microbenchmarks straight into a [`MemoryModel`]: what `emulate membench`
//! runs, and what the tests measure the DDR model with.
//!
//! - [`Pattern::Stream`]: consecutive requests over `bytes` bytes, issued by a requester that
//!   keeps up to `outstanding` requests in flight (request `i` issues when request
//!   `i - outstanding` has completed), like a DMA engine or a vector load stream.
//! - [`Pattern::Random`]: the same requester, each request at a uniformly random
//!   request-aligned address in the `bytes`-byte footprint (with replacement).
//! - [`Pattern::Chase`]: a pointer chase: one request in flight, each issued when the previous
//!   one completes, visiting every request-sized slot of the footprint once in a
//!   pseudo-random order (so no access is a repeat).
//!
//! [`curve`] measures loaded latency against offered load: an open-loop requester issues at a
//! fixed rate (a fraction of the memory's peak) and the mean latency is recorded per rate.

use super::{Access, MemoryModel, Request};
use crate::units::Time;
use std::collections::VecDeque;

/// The access pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pattern {
    /// Sequential addresses.
    Stream,
    /// Independent random addresses.
    Random,
    /// Dependent random addresses (each waits for the previous).
    Chase,
}

impl Pattern {
    /// Name as on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Pattern::Stream => "stream",
            Pattern::Random => "random",
            Pattern::Chase => "chase",
        }
    }
}

/// STREAM kernels: per element, the arrays read and the array written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Streams {
    /// `c = a`: one read, one write.
    Copy,
    /// `b = s * c`: one read, one write.
    Scale,
    /// `c = a + b`: two reads, one write.
    Add,
    /// `a = b + s * c`: two reads, one write.
    Triad,
}

impl Streams {
    /// Name as on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Streams::Copy => "copy",
            Streams::Scale => "scale",
            Streams::Add => "add",
            Streams::Triad => "triad",
        }
    }

    /// Arrays read per element (the written array comes after them).
    pub fn reads(self) -> u64 {
        match self {
            Streams::Copy | Streams::Scale => 1,
            Streams::Add | Streams::Triad => 2,
        }
    }
}

/// How requests are split between reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Traffic {
    /// Every request is this access.
    Only(Access),
    /// Repeating groups of `reads` reads then `writes` writes over one address sequence.
    Mix {
        /// Reads per group.
        reads: u32,
        /// Writes per group.
        writes: u32,
    },
    /// A STREAM kernel: its arrays start `stride` bytes apart from `base`; per element
    /// (request-sized), one request per array, the reads first.
    Streams {
        /// Which kernel.
        kernel: Streams,
        /// Bytes from one array's start to the next's.
        stride: u64,
    },
}

/// What to run.
#[derive(Debug, Clone, Copy)]
pub struct BenchSpec {
    /// Address pattern (of each array, for STREAM traffic).
    pub pattern: Pattern,
    /// First byte of the footprint.
    pub base: u64,
    /// Footprint of the address sequence (of each array, for STREAM traffic).
    pub bytes: u64,
    /// Requests issued (a stream wraps around its footprint).
    pub requests: u64,
    /// Bytes per request.
    pub request_bytes: u32,
    /// Requests in flight at most (forced to 1 for a chase).
    pub outstanding: usize,
    /// Reads, writes or a mix of them.
    pub traffic: Traffic,
    /// Seed of the address generator (random and chase).
    pub seed: u64,
}

impl BenchSpec {
    /// Request `i`'s address and access (`perm` and `rng` carry the pattern's state).
    fn request(
        &self,
        i: u64,
        slots: u64,
        rng: &mut SplitMix64,
        perm: &Permutation,
    ) -> (u64, Access) {
        let rb = self.request_bytes.max(1) as u64;
        let (seq, array, access) = match self.traffic {
            Traffic::Only(a) => (i, 0, a),
            Traffic::Mix { reads, writes } => {
                let g = (reads + writes).max(1) as u64;
                let a = if i % g < reads as u64 {
                    Access::Read
                } else {
                    Access::Write
                };
                (i, 0, a)
            }
            Traffic::Streams { kernel, .. } => {
                let per = kernel.reads() + 1;
                let k = i % per;
                let a = if k < kernel.reads() {
                    Access::Read
                } else {
                    Access::Write
                };
                (i / per, k, a)
            }
        };
        let slot = match self.pattern {
            Pattern::Stream => seq % slots,
            Pattern::Random => rng.below(slots),
            Pattern::Chase => perm.get(seq % slots),
        };
        let stride = match self.traffic {
            Traffic::Streams { stride, .. } => stride,
            _ => 0,
        };
        (self.base + array * stride + slot * rb, access)
    }

    /// Every request's address and access, in issue order (what `run` issues).
    pub fn requests(&self) -> Vec<(u64, Access)> {
        let slots = (self.bytes / self.request_bytes.max(1) as u64).max(1);
        let mut rng = SplitMix64::new(self.seed);
        let perm = Permutation::new(slots, self.seed);
        (0..self.requests)
            .map(|i| self.request(i, slots, &mut rng, &perm))
            .collect()
    }
}

/// What a run measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BenchResult {
    /// Requests issued.
    pub requests: u64,
    /// Bytes moved.
    pub bytes: u64,
    /// First issue to last completion.
    pub elapsed: Time,
    /// `bytes / elapsed`.
    pub bytes_per_s: f64,
    /// Mean of completion minus issue.
    pub mean_latency_ns: f64,
    /// Largest completion minus issue.
    pub max_latency_ns: f64,
    /// Mean of completion minus issue over the reads (0 without reads).
    pub mean_read_latency_ns: f64,
}

/// SplitMix64: a small, well-mixed, deterministic generator.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (n > 0), by Lemire's multiply-shift.
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }
}

/// A pseudo-random bijection of `0..n` without storage: invertible mixing steps in the
/// enclosing power-of-two domain, walking the cycle until the value lands below `n`.
#[derive(Debug, Clone, Copy)]
struct Permutation {
    n: u64,
    bits: u32,
    keys: [u64; 3],
}

impl Permutation {
    fn new(n: u64, seed: u64) -> Self {
        let bits = 64 - n.max(2).saturating_sub(1).leading_zeros();
        let mut g = SplitMix64::new(seed);
        Self {
            n,
            bits,
            keys: [g.next_u64() | 1, g.next_u64() | 1, g.next_u64()],
        }
    }

    fn round(&self, mut x: u64) -> u64 {
        let mask = if self.bits >= 64 {
            u64::MAX
        } else {
            (1u64 << self.bits) - 1
        };
        let half = self.bits.div_ceil(2).max(1);
        for k in self.keys {
            x = (x ^ (k & mask)) & mask; // xor: a bijection
            x = x.wrapping_mul(k | 1) & mask; // odd multiply mod 2^bits: a bijection
            x ^= x >> half; // xorshift right: a bijection
        }
        x
    }

    fn get(&self, i: u64) -> u64 {
        let mut x = self.round(i);
        while x >= self.n {
            x = self.round(x);
        }
        x
    }
}

/// Runs `spec` against `model`, starting at time zero. The run ends when the model has
/// also finished the writes it still buffers ([`MemoryModel::flush`]).
///
/// Request `i` issues once request `i - outstanding` is done, so when request `i` is
/// presented the next `outstanding - 1` requests and their issue times are already decided:
/// they go along as the look-ahead of [`MemoryModel::access_ahead`] (what a controller's
/// queue would hold of them is the model's business).
pub fn run<M: MemoryModel>(model: &mut M, spec: &BenchSpec) -> BenchResult {
    let req_bytes = spec.request_bytes.max(1) as u64;
    let slots = (spec.bytes / req_bytes).max(1);
    let n = spec.requests.max(1);
    let window = if spec.pattern == Pattern::Chase {
        1
    } else {
        spec.outstanding.max(1)
    };
    let mut rng = SplitMix64::new(spec.seed);
    let perm = Permutation::new(slots, spec.seed);
    let mut done_ring = vec![Time::ZERO; window];
    let mut issue = Time::ZERO;
    let mut last_done = Time::ZERO;
    let mut latency_sum = 0u128;
    let mut latency_max = 0u64;
    let (mut read_latency_sum, mut reads) = (0u128, 0u64);
    let w = window as u64;
    let mut next: VecDeque<(u64, Access)> = VecDeque::with_capacity(window);
    let mut generated = 0u64;
    let mut ahead: Vec<Request> = Vec::with_capacity(window);
    for i in 0..n {
        while generated < n && generated < i + w {
            next.push_back(spec.request(generated, slots, &mut rng, &perm));
            generated += 1;
        }
        let Some((addr, access)) = next.pop_front() else {
            break;
        };
        // Issue once the request `window` back has completed.
        issue = issue.max(done_ring[(i % w) as usize]);
        // Request j (i < j < i + window) issues at the latest of request i's issue and the
        // completions of requests i + 1 - window ..= j - window, all known by now.
        ahead.clear();
        let mut at = issue;
        for (k, &(a, acc)) in next.iter().enumerate() {
            let j = i + 1 + k as u64;
            at = at.max(done_ring[(j % w) as usize]);
            ahead.push(Request {
                addr: a,
                bytes: req_bytes as u32,
                access: acc,
                issue: at,
            });
        }
        let done = model.access_ahead(
            Request {
                addr,
                bytes: req_bytes as u32,
                access,
                issue,
            },
            &ahead,
        );
        done_ring[(i % window as u64) as usize] = done;
        let lat = (done - issue).0;
        latency_sum += lat as u128;
        if access == Access::Read {
            read_latency_sum += lat as u128;
            reads += 1;
        }
        latency_max = latency_max.max(lat);
        last_done = last_done.max(done);
    }
    last_done = last_done.max(model.flush());
    let bytes = n * req_bytes;
    BenchResult {
        requests: n,
        bytes,
        elapsed: last_done,
        bytes_per_s: bytes as f64 / last_done.secs(),
        mean_latency_ns: latency_sum as f64 / n as f64 / 1e6,
        max_latency_ns: latency_max as f64 / 1e6,
        mean_read_latency_ns: if reads == 0 {
            0.0
        } else {
            read_latency_sum as f64 / reads as f64 / 1e6
        },
    }
}

/// One point of a bandwidth-latency curve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CurvePoint {
    /// Offered load as a fraction of `peak_bytes_per_s`.
    pub offered_fraction: f64,
    /// Offered load.
    pub offered_bytes_per_s: f64,
    /// Bytes over first issue to last completion.
    pub achieved_bytes_per_s: f64,
    /// Mean completion minus issue.
    pub mean_latency_ns: f64,
    /// Largest completion minus issue.
    pub max_latency_ns: f64,
}

/// Offered loads of [`curve`] below the knee, as fractions of the peak.
pub const CURVE_FRACTIONS: [f64; 7] = [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6];

/// Offered loads of [`curve`] around the knee, as fractions of the saturated bandwidth.
pub const KNEE_FRACTIONS: [f64; 12] = [
    0.7, 0.8, 0.85, 0.9, 0.925, 0.95, 0.975, 1.0, 1.025, 1.05, 1.1, 1.2,
];

/// Loaded latency against offered load, in steady state.
///
/// The requester issues `spec`'s requests at a fixed rate but never has more than
/// `spec.outstanding` in flight (as a real one, whose buffers are finite): beyond saturation
/// the latency settles at what the queue holds (Little's law) instead of growing with the
/// run. The first tenth of the requests warms the queues up and is not measured. The
/// saturated bandwidth is measured first (a run with no rate limit); the loads sampled are
/// [`CURVE_FRACTIONS`] of the peak and, densely, [`KNEE_FRACTIONS`] of the saturation point.
pub fn curve<M: MemoryModel>(
    mut make: impl FnMut() -> M,
    spec: &BenchSpec,
    peak_bytes_per_s: f64,
) -> Vec<CurvePoint> {
    let saturated = run(&mut make(), spec).bytes_per_s;
    let mut loads: Vec<f64> = CURVE_FRACTIONS
        .iter()
        .map(|f| f * peak_bytes_per_s)
        .chain(KNEE_FRACTIONS.iter().map(|f| f * saturated))
        .collect();
    loads.sort_by(f64::total_cmp);
    loads.dedup_by(|a, b| (*a - *b).abs() < 1e-3 * *b);
    let req_bytes = spec.request_bytes.max(1) as u64;
    let slots = (spec.bytes / req_bytes).max(1);
    let n = spec.requests.max(1);
    let warm = n / 10;
    let window = spec.outstanding.max(1);
    loads
        .into_iter()
        .map(|offered| {
            let mut m = make();
            let mut rng = SplitMix64::new(spec.seed);
            let perm = Permutation::new(slots, spec.seed);
            let interval_s = req_bytes as f64 / offered;
            let mut done_ring = vec![Time::ZERO; window];
            let (mut sum, mut max, mut last) = (0u128, 0u64, Time::ZERO);
            let mut first_measured = Time::ZERO;
            for i in 0..n {
                let (addr, access) = spec.request(i, slots, &mut rng, &perm);
                let slot = (i % window as u64) as usize;
                let issue = Time::from_secs(i as f64 * interval_s).max(done_ring[slot]);
                let done = m.access(Request {
                    addr,
                    bytes: req_bytes as u32,
                    access,
                    issue,
                });
                done_ring[slot] = done;
                if i == warm {
                    first_measured = issue;
                }
                if i >= warm {
                    let lat = (done - issue).0;
                    sum += lat as u128;
                    max = max.max(lat);
                }
                last = last.max(done);
            }
            let measured = n - warm;
            CurvePoint {
                offered_fraction: offered / peak_bytes_per_s,
                offered_bytes_per_s: offered,
                achieved_bytes_per_s: (measured * req_bytes) as f64
                    / (last - first_measured).secs(),
                mean_latency_ns: sum as f64 / measured as f64 / 1e6,
                max_latency_ns: max as f64 / 1e6,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutation_is_a_bijection() {
        for n in [1u64, 2, 3, 7, 64, 100, 1000, 4096] {
            let p = Permutation::new(n, 42);
            let mut seen = vec![false; n as usize];
            for i in 0..n {
                let x = p.get(i);
                assert!(x < n);
                assert!(!seen[x as usize], "n={n}: {x} twice");
                seen[x as usize] = true;
            }
        }
    }

    #[test]
    fn window_and_chase_by_closed_form() {
        // A fixed-latency memory: 100 fs latency, 10 fs per 8-byte beat.
        let mut m = crate::mem::fixed::FixedLatency::new(Time(100), Time(10), 8);
        let spec = BenchSpec {
            pattern: Pattern::Chase,
            base: 0,
            bytes: 8 * 10,
            requests: 10,
            request_bytes: 8,
            outstanding: 4,
            traffic: Traffic::Only(Access::Read),
            seed: 1,
        };
        let r = run(&mut m, &spec);
        // Each dependent request: 10 occupancy + 100 latency.
        assert_eq!(r.elapsed, Time(10 * 110));
        assert_eq!(r.mean_latency_ns, 110.0 / 1e6);
        let mut m = crate::mem::fixed::FixedLatency::new(Time(100), Time(10), 8);
        let r = run(
            &mut m,
            &BenchSpec {
                pattern: Pattern::Stream,
                ..spec
            },
        );
        // Four in flight. Requests 0-3 issue at 0 and queue on the port: done 110, 120,
        // 130, 140. Request 4+k issues when request k is done, finds the port free and takes
        // 110: 220, 230, 240, 250; then 8 and 9: 330, 340.
        assert_eq!(r.elapsed, Time(340));
        // Latencies 110, 120, 130, 140 and six of 110: mean 116.
        assert!((r.mean_latency_ns - 116.0 / 1e6).abs() < 1e-12);
        assert_eq!(r.max_latency_ns, 140.0 / 1e6);
    }
}
