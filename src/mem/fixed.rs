//! A memory with one fixed latency and one bandwidth: the scratchpad's model, and a simple
//! reference for tests of the layers above memory.

use super::{Access, MemoryModel, Request};
use crate::stats::Stats;
use crate::stats::Unit;
use crate::units::Time;

/// Every request completes `latency` after it starts; the port moves `bytes_per_beat` bytes
/// per `beat`, and a request starts when the port is free.
#[derive(Debug, Clone)]
pub struct FixedLatency {
    latency: Time,
    beat: Time,
    bytes_per_beat: u32,
    port_free: Time,
    reads: u64,
    writes: u64,
    bytes: u64,
}

impl FixedLatency {
    /// A port with the given latency, moving `bytes_per_beat` bytes every `beat`.
    pub fn new(latency: Time, beat: Time, bytes_per_beat: u32) -> Self {
        assert!(
            bytes_per_beat > 0,
            "a port moves at least one byte per beat"
        );
        Self {
            latency,
            beat,
            bytes_per_beat,
            port_free: Time::ZERO,
            reads: 0,
            writes: 0,
            bytes: 0,
        }
    }
}

impl MemoryModel for FixedLatency {
    fn access(&mut self, req: Request) -> Time {
        let beats = (req.bytes.max(1)).div_ceil(self.bytes_per_beat) as u64;
        let start = req.issue.max(self.port_free);
        self.port_free = start + self.beat * beats;
        match req.access {
            Access::Read => self.reads += 1,
            Access::Write => self.writes += 1,
        }
        self.bytes += req.bytes as u64;
        self.port_free + self.latency
    }

    fn stats(&self) -> Stats {
        let mut s = Stats::new();
        s.set("reads", self.reads as f64, Unit::Requests);
        s.set("writes", self.writes as f64, Unit::Requests);
        s.set("bytes", self.bytes as f64, Unit::Bytes);
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_plus_port_occupancy() {
        let mut m = FixedLatency::new(Time(100), Time(10), 8);
        let r = |issue, bytes| Request {
            addr: 0,
            bytes,
            access: Access::Read,
            issue: Time(issue),
        };
        assert_eq!(m.access(r(0, 16)), Time(20 + 100));
        // The port is busy until 20: the next request queues behind it.
        assert_eq!(m.access(r(5, 8)), Time(30 + 100));
        assert_eq!(m.stats().get("bytes"), Some(24.0));
    }
}
