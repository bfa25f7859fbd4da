//! The inter-card serial link: per direction, `lanes` SerDes lanes at the board's lane rate
//! with 8b/10b or 64b/66b line coding, carrying link-layer frames of `frame_payload` bytes
//! plus `frame_overhead` bytes of framing, and a fixed per-hop latency.
//!
//! Each direction of each cable is one shared resource (full duplex: the two directions are
//! independent). A transfer occupies it for the serialisation time of its payload and
//! framing at the coded rate, and arrives one hop latency after its last byte leaves. It
//! starts at the earliest time at or after its data is ready when the direction is idle for
//! its whole serialisation: the sender's DMA serves messages in the order their data becomes
//! ready, so a message issued later but ready earlier uses an idle gap left by one that waits
//! for its data (no head-of-line blocking by issue order). Messages never overlap on a
//! direction, and each message is sent whole (no preemption).

use crate::config::IntercardConfig;
use crate::stats::Stats;
use crate::stats::Unit;
use crate::units::{Time, FS_PER_S};

/// The timing parameters of one link direction, derived from the board.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinkParams {
    /// Bytes per second after line coding (before framing).
    pub coded_bytes_per_s: f64,
    /// Payload bytes per frame.
    pub frame_payload: u64,
    /// Framing bytes per frame.
    pub frame_overhead: u64,
    /// Latency of one hop.
    pub hop_latency: Time,
}

impl LinkParams {
    /// The parameters of `cfg`.
    pub fn from_config(cfg: &IntercardConfig) -> Self {
        Self {
            coded_bytes_per_s: cfg.payload_bytes_per_s(),
            frame_payload: cfg.frame_payload.bytes(),
            frame_overhead: cfg.frame_overhead.bytes(),
            hop_latency: cfg.hop_latency.time(),
        }
    }

    /// Frames needed for `bytes` of payload (at least one: an empty message still sends a
    /// frame header).
    pub fn frames(&self, bytes: u64) -> u64 {
        bytes.div_ceil(self.frame_payload).max(1)
    }

    /// Bytes on the wire (after coding) for `bytes` of payload.
    pub fn wire_bytes(&self, bytes: u64) -> u64 {
        bytes + self.frames(bytes) * self.frame_overhead
    }

    /// Time the direction is occupied by `bytes` of payload.
    pub fn serialisation(&self, bytes: u64) -> Time {
        Time((self.wire_bytes(bytes) as f64 * FS_PER_S / self.coded_bytes_per_s).round() as u64)
    }

    /// Sustained payload bytes per second of a long stream (full frames).
    pub fn goodput_bytes_per_s(&self) -> f64 {
        self.coded_bytes_per_s * self.frame_payload as f64
            / (self.frame_payload + self.frame_overhead) as f64
    }
}

/// One direction of one cable: a shared resource with its counters.
#[derive(Debug, Clone)]
pub struct LinkDirection {
    params: LinkParams,
    /// Busy intervals [start, end), sorted, disjoint, adjacent ones merged.
    intervals: Vec<(Time, Time)>,
    payload_bytes: u64,
    wire_bytes: u64,
    frames: u64,
    transfers: u64,
    busy: Time,
}

impl LinkDirection {
    /// An idle direction.
    pub fn new(params: LinkParams) -> Self {
        Self {
            params,
            intervals: Vec::new(),
            payload_bytes: 0,
            wire_bytes: 0,
            frames: 0,
            transfers: 0,
            busy: Time::ZERO,
        }
    }

    /// The parameters.
    pub fn params(&self) -> &LinkParams {
        &self.params
    }

    /// Sends `bytes` that are ready at `ready`; returns when the last byte has arrived at the
    /// far end.
    pub fn send(&mut self, bytes: u64, ready: Time) -> Time {
        let ser = self.params.serialisation(bytes);
        let start = self.reserve(ready, ser);
        self.busy += ser;
        self.payload_bytes += bytes;
        self.wire_bytes += self.params.wire_bytes(bytes);
        self.frames += self.params.frames(bytes);
        self.transfers += 1;
        start + ser + self.params.hop_latency
    }

    /// Books the earliest idle span of length `len` starting at or after `ready`; returns
    /// its start.
    fn reserve(&mut self, ready: Time, len: Time) -> Time {
        let iv = &mut self.intervals;
        // First interval that ends after `ready`: earlier ones cannot collide.
        let mut i = iv.partition_point(|&(_, e)| e <= ready);
        let mut start = ready;
        while i < iv.len() && iv[i].0 < start + len {
            start = start.max(iv[i].1);
            i += 1;
        }
        let end = start + len;
        // Insert [start, end) before interval i, merging with touching neighbours.
        let merge_prev = i > 0 && iv[i - 1].1 == start;
        let merge_next = i < iv.len() && iv[i].0 == end;
        match (merge_prev, merge_next) {
            (true, true) => {
                iv[i - 1].1 = iv[i].1;
                iv.remove(i);
            }
            (true, false) => iv[i - 1].1 = end,
            (false, true) => iv[i].0 = start,
            (false, false) => iv.insert(i, (start, end)),
        }
        start
    }

    /// When the direction is idle for good (after its last booked transfer).
    pub fn free_at(&self) -> Time {
        self.intervals.last().map_or(Time::ZERO, |&(_, e)| e)
    }

    /// Counters: payload and wire bytes, frames, transfers, busy time, and utilisation over
    /// `elapsed`.
    pub fn stats(&self, elapsed: Time) -> Stats {
        let mut s = Stats::new();
        s.set("tx_bytes", self.payload_bytes as f64, Unit::Bytes);
        s.set("wire_bytes", self.wire_bytes as f64, Unit::Bytes);
        s.set("frames", self.frames as f64, Unit::Frames);
        s.set("transfers", self.transfers as f64, Unit::Transfers);
        s.set("busy_ns", self.busy.ns(), Unit::Nanoseconds);
        let util = if elapsed.fs() == 0 {
            0.0
        } else {
            self.busy.fs() as f64 / elapsed.fs() as f64
        };
        s.set("utilisation", util, Unit::Ratio);
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_board;

    fn params(set: &[&str]) -> LinkParams {
        let sets: Vec<String> = set.iter().map(|s| s.to_string()).collect();
        LinkParams::from_config(&load_board("innerjib7ea", &sets).unwrap().board.intercard)
    }

    #[test]
    fn payload_rates_per_direction() {
        let p = params(&[]);
        assert_eq!(p.coded_bytes_per_s, 5.0e8);
        assert!((p.goodput_bytes_per_s() - 5.0e8 * 512.0 / 520.0).abs() < 1e-3);
        let q = params(&["intercard.encoding=64b66b"]);
        assert!((q.coded_bytes_per_s - 606_060_606.06).abs() < 1.0);
        // A long stream measured through the model lands on the goodput.
        let mut d = LinkDirection::new(p);
        let mut t = Time::ZERO;
        for _ in 0..1000 {
            t = d.send(512 * 64, Time::ZERO);
        }
        let secs = (t - p.hop_latency).secs();
        let rate = (1000 * 512 * 64) as f64 / secs;
        assert!(
            (rate - p.goodput_bytes_per_s()).abs() / rate < 1e-9,
            "{rate}"
        );
    }

    #[test]
    fn transfers_queue_and_latency_overlaps() {
        let p = params(&[]);
        let mut d = LinkDirection::new(p);
        // 512 payload + 8 framing bytes at 2 ns per byte = 1040 ns, + 200 ns hop.
        let a = d.send(512, Time::ZERO);
        assert_eq!(a, Time::from_secs(1040e-9 + 200e-9));
        // The second transfer waits only for the wire, not for the first one's hop latency.
        let b = d.send(512, Time::ZERO);
        assert_eq!(b, Time::from_secs(2080e-9 + 200e-9));
        let s = d.stats(b);
        assert_eq!(s.get("tx_bytes"), Some(1024.0));
        assert_eq!(s.get("wire_bytes"), Some(1040.0));
    }

    #[test]
    fn a_message_ready_early_fills_an_idle_gap_without_overlap() {
        let p = params(&[]);
        let ser = p.serialisation(512);
        let mut d = LinkDirection::new(p);
        // Issued first, but its data is ready only at 10 us.
        let late = d.send(512, Time::from_secs(10e-6));
        assert_eq!(late, Time::from_secs(10e-6) + ser + p.hop_latency);
        // Issued second, ready at 0: it goes first, in the idle gap.
        let early = d.send(512, Time::ZERO);
        assert_eq!(early, ser + p.hop_latency);
        // A message that cannot fit before 10 us waits for the end of the late one.
        let big = d.send(512 * 10, Time::from_secs(5e-6));
        let ser10 = p.serialisation(512 * 10);
        assert!(Time::from_secs(5e-6) + ser10 > Time::from_secs(10e-6));
        assert_eq!(big, Time::from_secs(10e-6) + ser + ser10 + p.hop_latency);
        assert_eq!(d.free_at(), Time::from_secs(10e-6) + ser + ser10);
        // Back to back messages merge into one busy interval.
        let mut e = LinkDirection::new(p);
        for _ in 0..100 {
            e.send(512, Time::ZERO);
        }
        assert_eq!(e.intervals.len(), 1);
        assert_eq!(e.free_at(), ser * 100);
    }
}
