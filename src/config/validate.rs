//! Refuses impossible hardware: JEDEC relations, clock relations, zero sizes and rates.
//! Each failure is `(dotted key, message)`; the loader adds the file and line.

use super::limits::{self as lim, Check};
use super::schema::Board;

fn fail(key: &str, msg: impl Into<String>) -> Check {
    Err((key.to_string(), msg.into()))
}

/// Checks `board` for contradictions. The first failure found is returned.
pub fn validate(b: &Board) -> Check {
    if b.cards == 0 {
        return fail("cards", "a system needs at least one card");
    }
    validate_limits(b)?;
    let c = &b.core;
    if !c.vlen.is_power_of_two() || !(64..=4096).contains(&c.vlen) {
        return fail(
            "core.vlen",
            format!(
                "VLEN must be a power of two from 64 to 4096 bits, not {}",
                c.vlen
            ),
        );
    }
    if c.vector_lanes == 0 || !c.vector_lanes.is_power_of_two() {
        return fail(
            "core.vector_lanes",
            "vector lanes must be a power of two, at least 1",
        );
    }
    if !c.isa.starts_with("rv64") {
        return fail(
            "core.isa",
            format!("only rv64 cores are modelled, not `{}`", c.isa),
        );
    }
    let m = &b.matmul;
    if m.enabled {
        for (k, v) in [
            ("matmul.int8_macs_per_cycle", m.int8_macs_per_cycle),
            ("matmul.bf16_macs_per_cycle", m.bf16_macs_per_cycle),
            ("matmul.f16_macs_per_cycle", m.f16_macs_per_cycle),
            ("matmul.operand_bytes_per_cycle", m.operand_bytes_per_cycle),
        ] {
            if v == 0 {
                return fail(k, "must be greater than zero when the unit is enabled");
            }
        }
        for (k, v) in [
            ("matmul.epilogue_ops_per_cycle", m.epilogue_ops_per_cycle),
            ("matmul.accumulators", m.accumulators),
        ] {
            if v == 0 {
                return fail(k, "must be greater than zero when the unit is enabled");
            }
        }
        // A buffer must hold one block of the largest type streamed through it:
        // Q6_K (210 bytes) for weights, Q8_K (292 bytes) for activations.
        for (k, v, min) in [
            ("matmul.a_buffer", m.a_buffer, 210),
            ("matmul.b_buffer", m.b_buffer, 292),
        ] {
            if v.bytes() < min {
                return fail(
                    k,
                    format!(
                        "must hold at least one block of its largest type ({min} bytes), not {v}"
                    ),
                );
            }
        }
    }
    if b.scratchpad.size.bytes() == 0 {
        return fail(
            "scratchpad.size",
            "the scratchpad size must be greater than zero",
        );
    }
    validate_memory(b)?;
    validate_links(b)
}

fn validate_memory(b: &Board) -> Check {
    let mem = &b.memory;
    if mem.capacity.bytes() == 0 {
        return fail("memory.capacity", "capacity must be greater than zero");
    }
    let bus = mem.bus_width.bytes();
    if bus == 0 || !bus.is_power_of_two() {
        return fail(
            "memory.bus_width",
            "bus width must be a power-of-two number of bytes",
        );
    }
    if mem.banks == 0 || !mem.banks.is_power_of_two() {
        return fail("memory.banks", "bank count must be a power of two");
    }
    let row = mem.row_size.bytes();
    if !row.is_power_of_two() || row < mem.burst_bytes() {
        return fail(
            "memory.row_size",
            "row size must be a power of two and hold at least one burst",
        );
    }
    if mem.burst_length != 8 && mem.burst_length != 4 {
        return fail(
            "memory.burst_length",
            "DDR3 bursts are 8 (or chopped 4) transfers",
        );
    }
    let stripe = row * mem.banks as u64;
    if !mem.capacity.bytes().is_multiple_of(stripe) {
        return fail(
            "memory.capacity",
            format!("capacity must be a whole number of rows across all banks ({stripe} bytes)"),
        );
    }
    let ddr = mem.data_rate.per_sec();
    let ck = mem.dram_clock.hz();
    if (ddr - 2.0 * ck).abs() > 1e-6 * ddr {
        return fail(
            "memory.dram_clock",
            format!(
                "DDR moves two transfers per clock: {} needs a {} MHz DRAM clock",
                mem.data_rate,
                ddr / 2e6
            ),
        );
    }
    if (ck - mem.phy.ratio as f64 * b.clock.hz()).abs() > 1e-6 * ck {
        return fail(
            "memory.phy.ratio",
            format!(
                "a 1:{} PHY at a {} system clock gives a {} MHz DRAM clock, not {}",
                mem.phy.ratio,
                b.clock,
                mem.phy.ratio as f64 * b.clock.hz() / 1e6,
                mem.dram_clock
            ),
        );
    }
    if mem.controller.queue_depth == 0 {
        return fail(
            "memory.controller.queue_depth",
            "the queue needs at least one entry",
        );
    }
    let c = &mem.controller;
    if c.write_buffer > 0 {
        if c.write_high_watermark == 0 || c.write_high_watermark > c.write_buffer {
            return fail(
                "memory.controller.write_high_watermark",
                format!(
                    "the high watermark ({}) must be between 1 and the write buffer ({})",
                    c.write_high_watermark, c.write_buffer
                ),
            );
        }
        if c.write_low_watermark >= c.write_high_watermark {
            return fail(
                "memory.controller.write_low_watermark",
                format!(
                    "the low watermark ({}) must be below the high watermark ({})",
                    c.write_low_watermark, c.write_high_watermark
                ),
            );
        }
    }
    if (c.read_time.count() == 0) != (c.write_time.count() == 0) {
        return fail(
            "memory.controller.read_time",
            format!(
                "read_time ({}) and write_time ({}) go together: both 0 (batches at the \
                 watermarks) or both set (LiteDRAM's read and write phases)",
                c.read_time.count(),
                c.write_time.count()
            ),
        );
    }
    if c.read_time.count() > 0 && c.page_policy != crate::config::PagePolicy::Open {
        return fail(
            "memory.controller.read_time",
            "read_time and write_time model LiteDRAM's multiplexer, which keeps rows open: \
             they need page_policy: open (set both to 0 for closed pages)",
        );
    }
    if c.read_time.count() > 1 << 20 || c.write_time.count() > 1 << 20 {
        return fail(
            "memory.controller.read_time",
            "read_time and write_time above 2^20 system clocks are not a controller setting",
        );
    }
    for (key, v) in [
        ("memory.controller.read_to_write", c.read_to_write.count()),
        ("memory.controller.write_to_read", c.write_to_read.count()),
        ("memory.controller.bank_switch", c.bank_switch.count()),
    ] {
        if v > 1 << 16 {
            return fail(
                key,
                format!(
                    "a turnaround of {v} system clocks (above 2^16) is not a controller setting"
                ),
            );
        }
    }
    if c.row_hit_cap == 0 {
        return fail(
            "memory.controller.row_hit_cap",
            "a bank must be allowed at least one row hit",
        );
    }
    let t = &mem.timing;
    let eps = 1e-12;
    if t.tRC.secs() + eps < t.tRAS.secs() + t.tRP.secs() {
        return fail(
            "memory.timing.tRC",
            format!(
                "tRC ({}) must be at least tRAS + tRP ({} + {})",
                t.tRC, t.tRAS, t.tRP
            ),
        );
    }
    if t.tRAS.secs() + eps < t.tRCD.secs() {
        return fail(
            "memory.timing.tRAS",
            format!("tRAS ({}) must be at least tRCD ({})", t.tRAS, t.tRCD),
        );
    }
    if t.tFAW.secs() + eps < 4.0 * t.tRRD.secs() {
        return fail(
            "memory.timing.tFAW",
            format!(
                "tFAW ({}) must be at least 4 x tRRD (4 x {})",
                t.tFAW, t.tRRD
            ),
        );
    }
    if t.tREFI.secs() <= t.tRFC.secs() {
        return fail(
            "memory.timing.tREFI",
            format!("tREFI ({}) must exceed tRFC ({})", t.tREFI, t.tRFC),
        );
    }
    for (k, d) in [
        ("memory.timing.tRCD", t.tRCD),
        ("memory.timing.tRP", t.tRP),
        ("memory.timing.tRAS", t.tRAS),
        ("memory.timing.tRFC", t.tRFC),
    ] {
        if d.secs() <= 0.0 {
            return fail(k, "must be greater than zero");
        }
    }
    if t.tCL.count() == 0 || t.tCWL.count() == 0 || t.tCCD.count() == 0 {
        return fail(
            "memory.timing.tCL",
            "tCL, tCWL and tCCD must be at least one clock",
        );
    }
    if t.tCWL.count() > t.tCL.count() {
        return fail(
            "memory.timing.tCWL",
            format!("tCWL ({}) cannot exceed tCL ({}) in DDR3", t.tCWL, t.tCL),
        );
    }
    let r = &mem.regimes;
    if r.page_size.bytes() < lim::MIN_SWAP_PAGE || r.page_size.bytes() > mem.capacity.bytes() {
        return fail(
            "memory.regimes.page_size",
            format!(
                "the swap page must be from {} (MIN_SWAP_PAGE, doc/boards.md \"Limits\") to \
                 the capacity ({}), not {}",
                crate::units::ByteSize(lim::MIN_SWAP_PAGE),
                mem.capacity,
                r.page_size
            ),
        );
    }
    if !r.page_size.bytes().is_power_of_two() {
        return fail(
            "memory.regimes.page_size",
            format!(
                "the swap page must be a power of two bytes, not {}",
                r.page_size
            ),
        );
    }
    if r.staging_window.bytes() == 0 || r.staging_window.bytes() > mem.capacity.bytes() {
        return fail(
            "memory.regimes.staging_window",
            format!(
                "the staging window must be more than zero and at most the capacity ({}), not {}",
                mem.capacity, r.staging_window
            ),
        );
    }
    let sp = &b.scratchpad;
    if sp.port_width.bytes() == 0 {
        return fail(
            "scratchpad.port_width",
            "the scratchpad port must move at least one byte per cycle",
        );
    }
    let (d0, d1) = (mem.base, mem.base.saturating_add(mem.capacity.bytes()));
    let (s0, s1) = (sp.base, sp.base.saturating_add(sp.size.bytes()));
    if s0 < d1 && d0 < s1 {
        return fail(
            "scratchpad.base",
            "the scratchpad overlaps DDR in the memory map",
        );
    }
    Ok(())
}

fn validate_links(b: &Board) -> Check {
    let l = &b.intercard;
    if l.lanes == 0 {
        return fail("intercard.lanes", "the link needs at least one lane");
    }
    if l.frame_payload.bytes() == 0 {
        return fail(
            "intercard.frame_payload",
            "frames must carry at least one byte",
        );
    }
    let h = &b.host_link;
    if h.kind != "gbe" {
        return fail(
            "host_link.kind",
            format!("unknown host link kind `{}` (known: gbe)", h.kind),
        );
    }
    if h.mtu.bytes() <= h.ip_header.bytes() + h.udp_header.bytes() {
        return fail(
            "host_link.mtu",
            "the MTU must exceed the IP and UDP headers",
        );
    }
    if !(h.protocol_efficiency > 0.0 && h.protocol_efficiency <= 1.0) {
        return fail(
            "host_link.protocol_efficiency",
            format!(
                "must be in (0, 1], not {} (a zero or negative bandwidth)",
                h.protocol_efficiency
            ),
        );
    }
    Ok(())
}

/// Every value that sizes an allocation or a loop stays under its named bound
/// ([`super::limits`]); memory-map arithmetic cannot wrap.
fn validate_limits(b: &Board) -> Check {
    lim::count("cards", b.cards as u64, lim::MAX_CARDS, "MAX_CARDS")?;
    lim::rate("clock", b.clock.hz(), b.clock)?;
    let c = &b.core;
    lim::count(
        "core.vector_lanes",
        c.vector_lanes as u64,
        lim::MAX_UNIT_WIDTH,
        "MAX_UNIT_WIDTH",
    )?;
    let l = &c.latency;
    for (k, v) in [
        ("core.latency.int_alu", l.int_alu),
        ("core.latency.int_mul", l.int_mul),
        ("core.latency.int_div", l.int_div),
        ("core.latency.load", l.load),
        ("core.latency.fp_add", l.fp_add),
        ("core.latency.fp_mul", l.fp_mul),
        ("core.latency.fp_fma", l.fp_fma),
        ("core.latency.fp_div", l.fp_div),
        ("core.latency.fp_sqrt", l.fp_sqrt),
        ("core.latency.fp_cvt", l.fp_cvt),
        ("core.latency.vec_alu", l.vec_alu),
        ("core.latency.vec_mul", l.vec_mul),
        ("core.latency.vec_fp", l.vec_fp),
        ("core.latency.vec_fdiv", l.vec_fdiv),
        ("core.latency.vec_reduction", l.vec_reduction),
        ("core.latency.vec_permute", l.vec_permute),
        ("core.branch_taken_penalty", c.branch_taken_penalty),
        ("core.jump_penalty", c.jump_penalty),
        ("matmul.fill", b.matmul.fill),
        ("matmul.drain", b.matmul.drain),
        ("scratchpad.latency", b.scratchpad.latency),
        ("memory.phy.read_latency", b.memory.phy.read_latency),
        ("memory.phy.write_latency", b.memory.phy.write_latency),
    ] {
        lim::cycles(k, v, lim::MAX_LATENCY_CYCLES, "MAX_LATENCY_CYCLES")?;
    }
    let m = &b.matmul;
    for (k, v) in [
        ("matmul.int8_macs_per_cycle", m.int8_macs_per_cycle),
        ("matmul.bf16_macs_per_cycle", m.bf16_macs_per_cycle),
        ("matmul.f16_macs_per_cycle", m.f16_macs_per_cycle),
        ("matmul.operand_bytes_per_cycle", m.operand_bytes_per_cycle),
        ("matmul.epilogue_ops_per_cycle", m.epilogue_ops_per_cycle),
        ("matmul.accumulators", m.accumulators),
    ] {
        lim::count(k, v as u64, lim::MAX_UNIT_WIDTH, "MAX_UNIT_WIDTH")?;
    }
    lim::size(
        "matmul.a_buffer",
        m.a_buffer,
        lim::MAX_MATMUL_BUFFER,
        "MAX_MATMUL_BUFFER",
    )?;
    lim::size(
        "matmul.b_buffer",
        m.b_buffer,
        lim::MAX_MATMUL_BUFFER,
        "MAX_MATMUL_BUFFER",
    )?;
    lim::size(
        "scratchpad.size",
        b.scratchpad.size,
        lim::MAX_SCRATCHPAD,
        "MAX_SCRATCHPAD",
    )?;
    lim::size(
        "scratchpad.port_width",
        b.scratchpad.port_width,
        lim::MAX_UNIT_WIDTH,
        "MAX_UNIT_WIDTH",
    )?;
    let mem = &b.memory;
    lim::size(
        "memory.capacity",
        mem.capacity,
        lim::MAX_DDR_CAPACITY,
        "MAX_DDR_CAPACITY",
    )?;
    lim::size(
        "memory.bus_width",
        mem.bus_width,
        lim::MAX_UNIT_WIDTH,
        "MAX_UNIT_WIDTH",
    )?;
    lim::count(
        "memory.banks",
        mem.banks as u64,
        lim::MAX_BANKS,
        "MAX_BANKS",
    )?;
    lim::size(
        "memory.row_size",
        mem.row_size,
        lim::MAX_ROW_SIZE,
        "MAX_ROW_SIZE",
    )?;
    lim::count(
        "memory.phy.ratio",
        mem.phy.ratio as u64,
        lim::MAX_PHY_RATIO,
        "MAX_PHY_RATIO",
    )?;
    lim::count(
        "memory.controller.queue_depth",
        mem.controller.queue_depth as u64,
        lim::MAX_QUEUE_DEPTH,
        "MAX_QUEUE_DEPTH",
    )?;
    lim::count(
        "memory.regimes.prefetch_depth",
        mem.regimes.prefetch_depth as u64,
        lim::MAX_PREFETCH_DEPTH,
        "MAX_PREFETCH_DEPTH",
    )?;
    lim::rate("memory.data_rate", mem.data_rate.per_sec(), mem.data_rate)?;
    lim::rate("memory.dram_clock", mem.dram_clock.hz(), mem.dram_clock)?;
    let t = &mem.timing;
    for (k, v) in [
        ("memory.timing.tCL", t.tCL),
        ("memory.timing.tCWL", t.tCWL),
        ("memory.timing.tCCD", t.tCCD),
    ] {
        lim::cycles(k, v, lim::MAX_DRAM_CLOCKS, "MAX_DRAM_CLOCKS")?;
    }
    for (k, v) in [
        ("memory.timing.tRCD", t.tRCD),
        ("memory.timing.tRP", t.tRP),
        ("memory.timing.tRAS", t.tRAS),
        ("memory.timing.tRC", t.tRC),
        ("memory.timing.tRRD", t.tRRD),
        ("memory.timing.tFAW", t.tFAW),
        ("memory.timing.tWR", t.tWR),
        ("memory.timing.tWTR", t.tWTR),
        ("memory.timing.tRTP", t.tRTP),
        ("memory.timing.tRFC", t.tRFC),
        ("memory.timing.tREFI", t.tREFI),
    ] {
        lim::duration(k, v, lim::MAX_DRAM_TIMING_NS * 1e-9, "MAX_DRAM_TIMING_NS")?;
    }
    // The map's regions must end inside the 64-bit address space and miss the MMIO page.
    let mmio = (super::MMIO_BASE, super::MMIO_SIZE);
    for (k, base, len) in [
        ("memory.base", mem.base, mem.capacity.bytes()),
        (
            "scratchpad.base",
            b.scratchpad.base,
            b.scratchpad.size.bytes(),
        ),
    ] {
        let Some(end) = base.checked_add(len) else {
            return fail(
                k,
                format!(
                    "the region at {base:#x} of {} runs past the end of the 64-bit address space",
                    crate::units::ByteSize(len)
                ),
            );
        };
        if base < mmio.0 + mmio.1 && mmio.0 < end {
            return fail(
                k,
                format!(
                    "the region {base:#x}..{end:#x} overlaps the MMIO page at {:#x}",
                    mmio.0
                ),
            );
        }
    }
    let i = &b.intercard;
    lim::count(
        "intercard.lanes",
        i.lanes as u64,
        lim::MAX_UNIT_WIDTH,
        "MAX_UNIT_WIDTH",
    )?;
    lim::rate("intercard.lane_rate", i.lane_rate.bps(), i.lane_rate)?;
    for (k, v) in [
        ("intercard.frame_payload", i.frame_payload),
        ("intercard.frame_overhead", i.frame_overhead),
    ] {
        lim::size(k, v, lim::MAX_FRAME_BYTES, "MAX_FRAME_BYTES")?;
    }
    lim::duration(
        "intercard.hop_latency",
        i.hop_latency,
        lim::MAX_LINK_LATENCY_S,
        "MAX_LINK_LATENCY_S",
    )?;
    let h = &b.host_link;
    lim::rate("host_link.line_rate", h.line_rate.bps(), h.line_rate)?;
    for (k, v) in [
        ("host_link.mtu", h.mtu),
        ("host_link.preamble_sfd", h.preamble_sfd),
        ("host_link.eth_header", h.eth_header),
        ("host_link.fcs", h.fcs),
        ("host_link.interframe_gap", h.interframe_gap),
        ("host_link.ip_header", h.ip_header),
        ("host_link.udp_header", h.udp_header),
    ] {
        lim::size(k, v, lim::MAX_FRAME_BYTES, "MAX_FRAME_BYTES")?;
    }
    lim::duration(
        "host_link.latency",
        h.latency,
        lim::MAX_LINK_LATENCY_S,
        "MAX_LINK_LATENCY_S",
    )?;
    Ok(())
}
