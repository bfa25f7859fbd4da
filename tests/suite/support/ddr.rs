//! Board overrides the DDR3 tests share.
//!
//! The boards group writes as LiteDRAM's multiplexer does (`read_time` / `write_time`
//! phases, a write goes as soon as no read waits). Those phases keep rows open, so a
//! closed-page what-if turns them off, and the closed forms written for DRAMsim3's grouping
//! (batches at the watermarks) ask for it by name.

/// LiteDRAM's phases off: writes in batches at the buffer's watermarks.
const NO_PHASES: [&str; 2] = [
    "memory.controller.read_time=0 cycles",
    "memory.controller.write_time=0 cycles",
];

/// Closed pages (every column command auto-precharges), with the phases off as the board
/// schema requires.
pub fn closed_page() -> Vec<String> {
    let mut v = vec!["memory.controller.page_policy=closed".to_string()];
    v.extend(NO_PHASES.iter().map(|s| s.to_string()));
    v
}

/// `policy` ("open" or "closed") as overrides: open keeps the board's controller.
pub fn page_policy(policy: &str) -> Vec<String> {
    match policy {
        "closed" => closed_page(),
        _ => vec![format!("memory.controller.page_policy={policy}")],
    }
}

/// DRAMsim3's write grouping, which the cross-check mirrors: batches of the full buffer at
/// the high watermark, and more than 8 buffered writes drained once no request waits.
pub fn watermark_batches() -> Vec<String> {
    let mut v: Vec<String> = NO_PHASES.iter().map(|s| s.to_string()).collect();
    v.push("memory.controller.write_idle_drain=8".into());
    v
}
