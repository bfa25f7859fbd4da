//! Shared by the matmul integration tests: the library's bare hart context over a DDR region.

use sail_emu::hart::bare_context::BareContext;

/// Start of the test DDR region.
pub const DDR: u64 = 0x8000_0000;
/// Size of the test DDR region.
pub const DDR_SIZE: u64 = 256 << 20;

/// A context over a DDR region, as the core presents it to the unit, logging the loads and
/// stores the unit makes.
pub fn test_hart() -> BareContext {
    BareContext::new(DDR, DDR_SIZE).with_access_log()
}
