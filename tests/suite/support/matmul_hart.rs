//! Shared by the matmul integration tests: a hart context over guest memory.

use sail_emu::hart::GuestMemory;
use sail_emu::hart::{HartContext, Trap};

/// Start of the test DDR region.
pub const DDR: u64 = 0x8000_0000;
/// Size of the test DDR region.
pub const DDR_SIZE: u64 = 256 << 20;

/// A hart context over a DDR region, as the core presents it to the unit; it counts the
/// loads and stores the unit makes.
pub struct TestHart {
    pub x: [u64; 32],
    pub mem: GuestMemory,
    pub loads: Vec<(u64, usize)>,
    pub stores: Vec<(u64, usize)>,
}

impl TestHart {
    pub fn new() -> Self {
        let mut mem = GuestMemory::new(0x1000_0000);
        mem.add_region("ddr", DDR, DDR_SIZE);
        TestHart {
            x: [0; 32],
            mem,
            loads: Vec::new(),
            stores: Vec::new(),
        }
    }
}

impl HartContext for TestHart {
    fn x(&self, r: u8) -> u64 {
        if r == 0 {
            0
        } else {
            self.x[r as usize]
        }
    }
    fn set_x(&mut self, r: u8, v: u64) {
        if r != 0 {
            self.x[r as usize] = v;
        }
    }
    fn f_bits(&self, _: u8) -> u64 {
        0
    }
    fn set_f_bits(&mut self, _: u8, _: u64) {}
    fn frm(&self) -> u8 {
        0
    }
    fn raise_fflags(&mut self, _: u8) {}
    fn load(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), Trap> {
        self.loads.push((addr, buf.len()));
        Ok(self.mem.read(addr, buf)?)
    }
    fn store(&mut self, addr: u64, data: &[u8]) -> Result<(), Trap> {
        self.stores.push((addr, data.len()));
        Ok(self.mem.write(addr, data)?)
    }
}
