//! Refuses impossible hardware: JEDEC relations, clock relations, zero sizes and rates.
//! Each failure is `(dotted key, message)`; the loader adds the file and line.

use super::schema::Board;

type Check = Result<(), (String, String)>;

fn fail(key: &str, msg: impl Into<String>) -> Check {
    Err((key.to_string(), msg.into()))
}

/// Checks `board` for contradictions. The first failure found is returned.
pub fn validate(b: &Board) -> Check {
    if b.cards == 0 {
        return fail("cards", "a system needs at least one card");
    }
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
            ("matmul.operand_bytes_per_cycle", m.operand_bytes_per_cycle),
        ] {
            if v == 0 {
                return fail(k, "must be greater than zero when the unit is enabled");
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
