//! Board overrides the DDR3 tests share.
//!
//! The boards model LiteDRAM with one port: requests in order, no write buffer, LiteDRAM's
//! long read/write turnarounds, one bank at a time. The closed forms written for other controllers ask for
//! theirs by name: DRAMsim3's (FR-FCFS, a write buffer drained in batches, JEDEC's
//! turnarounds) and LiteDRAM's multiplexer phases on a buffered controller.

/// DRAMsim3's controller, which the cross-check mirrors: FR-FCFS, a 32-entry write buffer
/// drained in batches of the full buffer at the high watermark and of more than 8 once no
/// request waits, JEDEC's minimum turnarounds, no one-port bank rule.
pub fn watermark_batches() -> Vec<String> {
    [
        "memory.controller.scheduler=fr-fcfs",
        "memory.controller.write_buffer=32",
        "memory.controller.write_high_watermark=32",
        "memory.controller.write_low_watermark=0",
        "memory.controller.write_idle_drain=8",
        "memory.controller.read_time=0 cycles",
        "memory.controller.write_time=0 cycles",
        "memory.controller.read_to_write=0 cycles",
        "memory.controller.write_to_read=0 cycles",
        "memory.controller.bank_switch=0 cycles",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// DRAMsim3's controller with LiteDRAM's multiplexer phases (read_time 32, write_time 16
/// system clocks) and a write going as soon as no read waits.
pub fn litedram_phases() -> Vec<String> {
    let mut v = watermark_batches();
    v.extend(
        [
            "memory.controller.write_idle_drain=0",
            "memory.controller.read_time=32 cycles",
            "memory.controller.write_time=16 cycles",
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    v
}

/// Closed pages (every column command auto-precharges).
pub fn closed_page() -> Vec<String> {
    vec!["memory.controller.page_policy=closed".to_string()]
}

/// `policy` ("open" or "closed") as overrides: open keeps the board's controller.
pub fn page_policy(policy: &str) -> Vec<String> {
    match policy {
        "closed" => closed_page(),
        _ => vec![format!("memory.controller.page_policy={policy}")],
    }
}
