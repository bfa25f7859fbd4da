//! The gigabit-Ethernet host link: one shared resource per direction, frame-level overhead,
//! a fixed latency per transfer.
//!
//! A transfer of `n` payload bytes is cut into UDP datagrams of at most
//! [`HostLinkConfig::payload_per_frame`] bytes (MTU minus IP and UDP headers). Each frame
//! costs on the wire its IP packet (padded to Ethernet's 46-byte minimum) plus the Ethernet
//! header, FCS, preamble/SFD and inter-frame gap. The card's network stack sustains only
//! `protocol_efficiency` of the framed rate, so the wire time of the frames is divided by it.
//! The transfer then arrives `latency` after its last frame leaves; the direction is free for
//! the next transfer as soon as the last frame has been serialised, so latencies of
//! back-to-back transfers overlap. With the boards' figures a long transfer runs at
//! `HostLinkConfig::effective_bytes_per_s` (about 100 MB/s).

use crate::config::HostLinkConfig;
use crate::stats::Stats;
use crate::stats::Unit;
use crate::units::{Time, FS_PER_S};

/// Ethernet's minimum payload (the IP packet is padded up to it).
const MIN_ETH_PAYLOAD: u64 = 46;

/// Which way data moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Host memory to the card (weight streaming, swap-in).
    ToCard,
    /// The card to host memory (swap-out of dirty pages, results).
    ToHost,
}

impl Direction {
    fn index(self) -> usize {
        match self {
            Direction::ToCard => 0,
            Direction::ToHost => 1,
        }
    }
    /// Name used in stats paths.
    pub fn name(self) -> &'static str {
        match self {
            Direction::ToCard => "to_card",
            Direction::ToHost => "to_host",
        }
    }
}

/// When a transfer occupied the link and when its data arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transfer {
    /// Payload bytes.
    pub bytes: u64,
    /// The first frame starts onto the wire.
    pub start: Time,
    /// The last frame has left; the direction is free again.
    pub wire_done: Time,
    /// The last byte has arrived at the far end (`wire_done` plus the latency).
    pub arrived: Time,
}

#[derive(Debug, Clone, Default)]
struct DirectionState {
    free: Time,
    transfers: u64,
    payload_bytes: u64,
    wire_bytes: u64,
    busy: Time,
    queued: Time,
}

/// The host link of one card: two independent directions.
#[derive(Debug, Clone)]
pub struct HostLink {
    payload_per_frame: u64,
    /// IP and UDP headers per datagram.
    ip_udp: u64,
    /// Ethernet header, FCS, preamble/SFD and inter-frame gap per frame.
    eth_overhead: u64,
    /// Femtoseconds per wire byte, including the protocol efficiency.
    fs_per_wire_byte: f64,
    latency: Time,
    dirs: [DirectionState; 2],
}

impl HostLink {
    /// A link with the board's figures (already validated by the config loader).
    pub fn new(cfg: &HostLinkConfig) -> Self {
        let payload_per_frame = cfg.payload_per_frame();
        let ip_udp = cfg.ip_header.bytes() + cfg.udp_header.bytes();
        let eth_overhead = cfg.wire_bytes_per_frame() - cfg.mtu.bytes();
        let fs_per_wire_byte = 8.0 * FS_PER_S / cfg.line_rate.bps() / cfg.protocol_efficiency;
        Self {
            payload_per_frame,
            ip_udp,
            eth_overhead,
            fs_per_wire_byte,
            latency: cfg.latency.time(),
            dirs: Default::default(),
        }
    }

    /// Bytes on the wire for a transfer of `payload` bytes (all frames, with framing, padding,
    /// preamble and gaps). Zero bytes still send one (empty) datagram.
    pub fn wire_bytes(&self, payload: u64) -> u64 {
        let full = payload / self.payload_per_frame;
        let rest = payload % self.payload_per_frame;
        let mut wire = full * self.frame_wire_bytes(self.payload_per_frame);
        if rest > 0 || payload == 0 {
            wire += self.frame_wire_bytes(rest);
        }
        wire
    }

    /// Wire bytes of one frame carrying `payload` UDP bytes: the IP packet padded to
    /// Ethernet's minimum payload, plus header, FCS, preamble/SFD and gap.
    fn frame_wire_bytes(&self, payload: u64) -> u64 {
        (payload + self.ip_udp).max(MIN_ETH_PAYLOAD) + self.eth_overhead
    }

    /// Time the link spends serialising `payload` bytes (no latency, no queueing).
    pub fn wire_time(&self, payload: u64) -> Time {
        Time((self.wire_bytes(payload) as f64 * self.fs_per_wire_byte).round() as u64)
    }

    /// The fixed latency added to every transfer.
    pub fn latency(&self) -> Time {
        self.latency
    }

    /// Payload bytes per second of a long transfer (all frames full).
    pub fn sustained_bytes_per_s(&self) -> f64 {
        let frame = self.frame_wire_bytes(self.payload_per_frame);
        self.payload_per_frame as f64 * FS_PER_S / (frame as f64 * self.fs_per_wire_byte)
    }

    /// When the direction is free for the next transfer.
    pub fn free_at(&self, dir: Direction) -> Time {
        self.dirs[dir.index()].free
    }

    /// Queues a transfer of `bytes` that is ready to go at `ready`; it starts when the
    /// direction is free.
    pub fn transfer(&mut self, dir: Direction, bytes: u64, ready: Time) -> Transfer {
        let wire = self.wire_bytes(bytes);
        let span = Time((wire as f64 * self.fs_per_wire_byte).round() as u64);
        let d = &mut self.dirs[dir.index()];
        let start = ready.max(d.free);
        let wire_done = start + span;
        d.queued += start - ready;
        d.free = wire_done;
        d.transfers += 1;
        d.payload_bytes += bytes;
        d.wire_bytes += wire;
        d.busy += span;
        Transfer {
            bytes,
            start,
            wire_done,
            arrived: wire_done + self.latency,
        }
    }

    /// When the first `prefix` payload bytes of transfer `t` have arrived: the frames that
    /// carry them are on the wire in order, each frame usable once it is complete.
    pub fn arrival_of_prefix(&self, t: &Transfer, prefix: u64) -> Time {
        if prefix >= t.bytes {
            return t.arrived;
        }
        // The frame holding the prefix's last byte must be complete.
        let whole_frames = prefix.div_ceil(self.payload_per_frame) * self.payload_per_frame;
        let carried = whole_frames.min(t.bytes);
        let span = Time((self.wire_bytes(carried) as f64 * self.fs_per_wire_byte).round() as u64);
        (t.start + span + self.latency).min(t.arrived)
    }

    /// Counters per direction (`to_card.payload_bytes`, `to_host.busy_time`, ...).
    pub fn stats(&self) -> Stats {
        let mut s = Stats::new();
        for dir in [Direction::ToCard, Direction::ToHost] {
            let d = &self.dirs[dir.index()];
            let p = dir.name();
            s.set(
                format!("{p}.transfers"),
                d.transfers as f64,
                Unit::Transfers,
            );
            s.set(
                format!("{p}.payload_bytes"),
                d.payload_bytes as f64,
                Unit::Bytes,
            );
            s.set(format!("{p}.wire_bytes"), d.wire_bytes as f64, Unit::Bytes);
            s.set(format!("{p}.busy_time"), d.busy.ns(), Unit::Nanoseconds);
            s.set(format!("{p}.queue_time"), d.queued.ns(), Unit::Nanoseconds);
        }
        s
    }

    /// Payload bytes moved so far in one direction.
    pub fn payload_bytes(&self, dir: Direction) -> u64 {
        self.dirs[dir.index()].payload_bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_board;

    fn link() -> HostLink {
        HostLink::new(&load_board("innerjib7ea", &[]).unwrap().board.host_link)
    }

    #[test]
    fn framing_by_hand() {
        let l = link();
        // 1500 MTU - 20 IP - 8 UDP = 1472 payload; a full frame is 1500 + 14 + 4 + 8 + 12.
        assert_eq!(l.wire_bytes(1472), 1538);
        assert_eq!(l.wire_bytes(1473), 1538 + 46 + 38);
        // A 1-byte datagram pads its 29-byte IP packet to 46 bytes.
        assert_eq!(l.wire_bytes(1), 46 + 38);
        assert_eq!(l.wire_bytes(10 * 1472), 10 * 1538);
    }

    #[test]
    fn long_transfer_runs_at_the_effective_rate() {
        let cfg = load_board("innerjib7ea", &[]).unwrap().board.host_link;
        let mut l = HostLink::new(&cfg);
        let n = 1472 * 10_000;
        let t = l.transfer(Direction::ToCard, n, Time::ZERO);
        let rate = n as f64 / (t.wire_done - t.start).secs();
        let want = cfg.effective_bytes_per_s();
        assert!((rate / want - 1.0).abs() < 1e-9, "{rate} vs {want}");
        assert!((80e6..=125e6).contains(&rate), "{rate}");
        assert!((l.sustained_bytes_per_s() / want - 1.0).abs() < 1e-12);
        assert_eq!(t.arrived, t.wire_done + cfg.latency.time());
    }

    #[test]
    fn directions_are_independent_and_each_is_serial() {
        let mut l = link();
        let a = l.transfer(Direction::ToCard, 1 << 20, Time::ZERO);
        let b = l.transfer(Direction::ToCard, 1 << 20, Time::ZERO);
        let c = l.transfer(Direction::ToHost, 1 << 20, Time::ZERO);
        assert_eq!(b.start, a.wire_done);
        assert_eq!(c.start, Time::ZERO);
        // Latencies overlap: the second arrives one serialisation after the first.
        assert_eq!(b.arrived - a.arrived, b.wire_done - b.start);
        let s = l.stats();
        assert_eq!(s.get("to_card.payload_bytes"), Some(2.0 * (1 << 20) as f64));
        assert_eq!(s.get("to_host.transfers"), Some(1.0));
        assert_eq!(l.payload_bytes(Direction::ToHost), 1 << 20);
    }

    #[test]
    fn prefixes_arrive_frame_by_frame() {
        let mut l = link();
        let t = l.transfer(Direction::ToCard, 1472 * 4, Time(1000));
        let one = l.arrival_of_prefix(&t, 1);
        let two = l.arrival_of_prefix(&t, 1473);
        assert_eq!(one, t.start + l.wire_time(1472) + l.latency());
        assert_eq!(two, t.start + l.wire_time(2 * 1472) + l.latency());
        assert_eq!(l.arrival_of_prefix(&t, 1472 * 4), t.arrived);
    }
}
