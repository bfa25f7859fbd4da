//! A [`HartContext`] without a hart: two register files, `frm`/`fflags` and one region of
//! [`GuestMemory`], with an optional log of every access. The vector unit's unit tests, the
//! matrix unit's integration tests, the QEMU differential test of the vector unit and the
//! vector benchmark all drive an execution unit through it, so there is one such context
//! rather than one per test binary.

use super::{GuestMemory, HartContext, Trap};

/// Where a bare context puts the MMIO page: far from any region a test uses.
pub const MMIO_BASE: u64 = 0xffff_0000_0000_0000;

/// One memory access a unit made through a [`BareContext`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access {
    /// First byte's address.
    pub addr: u64,
    /// Length in bytes.
    pub len: usize,
    /// A store (else a load).
    pub store: bool,
}

/// Registers and a single memory region, for driving an execution unit outside a hart.
#[derive(Debug, Clone)]
pub struct BareContext {
    /// Integer registers (x0 is kept at 0 by [`HartContext::set_x`]).
    pub x: [u64; 32],
    /// FP registers, raw 64 bits.
    pub f: [u64; 32],
    /// The dynamic rounding mode.
    pub frm: u8,
    /// Accrued FP exception flags.
    pub fflags: u8,
    /// The memory: one region named `memory`, lazily allocated.
    pub mem: GuestMemory,
    /// Every access in order, when logging is on ([`with_access_log`](Self::with_access_log)).
    pub accesses: Vec<Access>,
    log: bool,
}

impl BareContext {
    /// Zeroed registers and `size` zero bytes of memory at `base`. The MMIO page sits far
    /// above it ([`MMIO_BASE`]), so an access past the end of the region is outside the map.
    pub fn new(base: u64, size: u64) -> Self {
        let mut mem = GuestMemory::new(MMIO_BASE);
        mem.add_region("memory", base, size);
        Self {
            x: [0; 32],
            f: [0; 32],
            frm: 0,
            fflags: 0,
            mem,
            accesses: Vec::new(),
            log: false,
        }
    }

    /// The same context, recording every load and store in [`accesses`](Self::accesses).
    pub fn with_access_log(mut self) -> Self {
        self.log = true;
        self
    }

    /// `len` bytes of memory at `addr` (panics outside the region: for tests).
    pub fn bytes(&self, addr: u64, len: usize) -> Vec<u8> {
        let mut b = vec![0; len];
        self.mem.read(addr, &mut b).expect("inside the test memory");
        b
    }

    /// Writes `data` at `addr` (panics outside the region: for tests).
    pub fn put_bytes(&mut self, addr: u64, data: &[u8]) {
        self.mem.write(addr, data).expect("inside the test memory");
    }

    /// `(addr, len)` of each logged load, in order.
    pub fn loads(&self) -> Vec<(u64, usize)> {
        self.logged(false)
    }

    /// `(addr, len)` of each logged store, in order.
    pub fn stores(&self) -> Vec<(u64, usize)> {
        self.logged(true)
    }

    fn logged(&self, store: bool) -> Vec<(u64, usize)> {
        self.accesses
            .iter()
            .filter(|a| a.store == store)
            .map(|a| (a.addr, a.len))
            .collect()
    }

    fn record(&mut self, addr: u64, len: usize, store: bool) {
        if self.log {
            self.accesses.push(Access { addr, len, store });
        }
    }
}

impl HartContext for BareContext {
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
    fn f_bits(&self, r: u8) -> u64 {
        self.f[r as usize]
    }
    fn set_f_bits(&mut self, r: u8, v: u64) {
        self.f[r as usize] = v;
    }
    fn frm(&self) -> u8 {
        self.frm
    }
    fn raise_fflags(&mut self, flags: u8) {
        self.fflags |= flags;
    }
    fn load(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), Trap> {
        self.mem.read(addr, buf)?;
        self.record(addr, buf.len(), false);
        Ok(())
    }
    fn store(&mut self, addr: u64, data: &[u8]) -> Result<(), Trap> {
        self.mem.write(addr, data)?;
        self.record(addr, data.len(), true);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_only_when_asked_and_refuses_accesses_past_the_region() {
        let mut quiet = BareContext::new(0x1000, 64);
        quiet.store(0x1000, &[1, 2]).unwrap();
        assert!(quiet.accesses.is_empty());
        let mut cx = BareContext::new(0x1000, 64).with_access_log();
        cx.store(0x1008, &[7; 8]).unwrap();
        let mut b = [0; 4];
        cx.load(0x100a, &mut b).unwrap();
        assert_eq!(b, [7; 4]);
        assert_eq!(cx.stores(), vec![(0x1008, 8)]);
        assert_eq!(cx.loads(), vec![(0x100a, 4)]);
        assert!(matches!(
            cx.load(0x1000 + 62, &mut b),
            Err(Trap::OutOfBounds(_))
        ));
        assert!(cx.load(0xfff, &mut b).is_err());
        cx.set_x(0, 5);
        assert_eq!(cx.x(0), 0);
    }
}
