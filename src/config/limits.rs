//! Upper bounds on every board value that sizes an allocation or a loop of the emulator.
//!
//! Each bound is far above any hardware the boards describe, and low enough that the
//! emulator's host memory and time stay bounded whatever a board file or `--set` says.
//! doc/boards.md ("Limits") gives the argument for each. A value past its bound is refused
//! with a message that names the key, the bound and the constant.

use crate::units::{ByteSize, Cycles, Duration, Frequency};

/// Cards in one system. The connector wires a ring of 2, 4 or 8 cards; 64 is eight times
/// the largest planned system and keeps a full mesh at 4032 links. Every card is a hart and
/// a memory model on the host, so the host's memory and time grow with this count.
pub const MAX_CARDS: u64 = 64;

/// DDR capacity of one card: the largest DDR3 SO-DIMM (two ranks of eight x8 8 Gb devices).
/// Guest memory is allocated on first touch; the page table costs 2 MiB at this size.
pub const MAX_DDR_CAPACITY: u64 = 16 << 30;

/// Scratchpad size. The ECP5-85F holds 3.7 Mbit of block RAM; 64 MiB is more on-chip SRAM
/// than any FPGA has.
pub const MAX_SCRATCHPAD: u64 = 64 << 20;

/// One matrix-unit operand buffer (on-chip, like the scratchpad).
pub const MAX_MATMUL_BUFFER: u64 = 64 << 20;

/// DDR banks: DDR3 has 8, DDR4 16; the model keeps state per bank.
pub const MAX_BANKS: u64 = 64;

/// DDR row (page) across the whole bus: a DDR3 x8 device's 1 KB page times eight devices is
/// 8 KiB; 1 MiB leaves room for any width.
pub const MAX_ROW_SIZE: u64 = 1 << 20;

/// Memory controller request queue entries (LiteDRAM's is a few; the model scans it).
pub const MAX_QUEUE_DEPTH: u64 = 1024;

/// DRAM-clock counts (tCL, tCWL, tCCD): DDR3 CAS latencies reach 16 clocks, DDR4's 32. The
/// command bus model keeps one bit per clock up to the latest command, so this bounds it.
pub const MAX_DRAM_CLOCKS: u64 = 64;

/// JEDEC durations (tRCD ... tREFI): the longest is tREFI, 7.8 us, or 70.2 us with the nine
/// refreshes DDR3 may postpone; 100 us bounds every one (15 000 clocks at 150 MHz).
pub const MAX_DRAM_TIMING_NS: f64 = 100_000.0;

/// Any other latency or penalty in core or PHY cycles (an FP divider on a soft core takes
/// tens of cycles; 4096 is a hundred times that).
pub const MAX_LATENCY_CYCLES: u64 = 4096;

/// PHY ratio (DRAM clocks per system clock): LiteDRAM's PHYs run 1:1, 1:2 or 1:4.
pub const MAX_PHY_RATIO: u64 = 16;

/// Per-cycle widths (MACs, operand bytes, epilogue operations, accumulators, vector lanes,
/// link lanes): the ECP5-85F has 156 multipliers; 65536 is far past any FPGA.
pub const MAX_UNIT_WIDTH: u64 = 65536;

/// Link and host latencies: a switch and a network stack take microseconds; 1 s is past
/// any of them.
pub const MAX_LINK_LATENCY_S: f64 = 1.0;

/// Frame, header and MTU sizes of the links: jumbo frames are 9 KB; 64 KiB bounds them.
pub const MAX_FRAME_BYTES: u64 = 64 << 10;

/// The smallest kv-swap page: the model keeps one entry per page of the swapped regions, and
/// a page under 4 KiB would cost more in per-transfer latency on the host link than it moves.
pub const MIN_SWAP_PAGE: u64 = 4 << 10;

/// Weight-stream prefetch depth, in regions (a TinyLlama layer has 9).
pub const MAX_PREFETCH_DEPTH: u64 = 4096;

/// Clocks and rates: from 1 MHz (below that no board would run a model) to 100 GHz (past any
/// clock or SerDes lane).
pub const MIN_CLOCK_HZ: f64 = 1e6;
/// See [`MIN_CLOCK_HZ`].
pub const MAX_CLOCK_HZ: f64 = 1e11;

/// A limit check's failure: `(dotted key, message)`.
pub type Check = Result<(), (String, String)>;

fn over(
    key: &str,
    value: impl std::fmt::Display,
    max: impl std::fmt::Display,
    name: &str,
) -> Check {
    Err((
        key.to_string(),
        format!("{value} is over the limit of {max} ({name}, doc/boards.md \"Limits\")"),
    ))
}

/// An integer count no larger than `max`.
pub fn count(key: &str, v: u64, max: u64, name: &str) -> Check {
    if v > max {
        return over(key, v, max, name);
    }
    Ok(())
}

/// A size no larger than `max` bytes.
pub fn size(key: &str, v: ByteSize, max: u64, name: &str) -> Check {
    if v.bytes() > max {
        return over(key, v, ByteSize(max), name);
    }
    Ok(())
}

/// A cycle count no larger than `max`.
pub fn cycles(key: &str, v: Cycles, max: u64, name: &str) -> Check {
    if v.count() > max {
        return over(key, v, Cycles(max), name);
    }
    Ok(())
}

/// A duration no longer than `max_s` seconds.
pub fn duration(key: &str, v: Duration, max_s: f64, name: &str) -> Check {
    if v.secs() > max_s {
        return over(key, v, Duration::new(max_s), name);
    }
    Ok(())
}

/// A clock or rate, in its base unit per second, inside [`MIN_CLOCK_HZ`, `MAX_CLOCK_HZ`].
pub fn rate(key: &str, v: f64, shown: impl std::fmt::Display) -> Check {
    if !(MIN_CLOCK_HZ..=MAX_CLOCK_HZ).contains(&v) {
        return Err((
            key.to_string(),
            format!(
                "{shown} is outside the modelled range {} to {} (MIN_CLOCK_HZ, MAX_CLOCK_HZ, \
                 doc/boards.md \"Limits\")",
                Frequency::new(MIN_CLOCK_HZ),
                Frequency::new(MAX_CLOCK_HZ)
            ),
        ));
    }
    Ok(())
}

/// A card count asked for, checked against [`MAX_CARDS`].
pub fn check_cards(cards: u64) -> Result<(), String> {
    if cards == 0 {
        return Err("a card count of 0: a system has at least 1 card".into());
    }
    if cards > MAX_CARDS {
        return Err(format!(
            "{cards} cards is over the limit of {MAX_CARDS} cards (MAX_CARDS, doc/boards.md \
             \"Limits\")"
        ));
    }
    Ok(())
}
