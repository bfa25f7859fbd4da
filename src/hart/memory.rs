//! The hart's view of guest memory: the card's bytes ([`BackingStore`]) plus one MMIO page
//! with the console and the exit word. No timing here.
//!
//! MMIO page layout (offsets from [`GuestMemory::mmio_base`], see doc/programs.md):
//! - `+0x00` console: a store writes its low byte to the console.
//! - `+0x08` exit: a store ends the run with the stored value (low 32 bits, signed) as the
//!   exit status.
//!
//! Reads of the MMIO page return 0.

use crate::mem::store::{BackingStore, OutOfBounds};

/// Size of the MMIO page.
pub const MMIO_SIZE: u64 = 0x1000;
/// Offset of the console register in the MMIO page.
pub const MMIO_CONSOLE: u64 = 0x0;
/// Offset of the exit register in the MMIO page.
pub const MMIO_EXIT: u64 = 0x8;

/// Guest memory: bytes, MMIO console and exit.
#[derive(Debug, Clone)]
pub struct GuestMemory {
    store: BackingStore,
    mmio_base: u64,
    /// Console output so far.
    pub console: Vec<u8>,
    /// Set when the program wrote the exit register.
    pub exit: Option<i64>,
}

impl GuestMemory {
    /// Memory over `store`, with the MMIO page at `mmio_base` (outside every store region).
    pub fn new(store: BackingStore, mmio_base: u64) -> Self {
        Self {
            store,
            mmio_base,
            console: Vec::new(),
            exit: None,
        }
    }

    /// Base address of the MMIO page.
    pub fn mmio_base(&self) -> u64 {
        self.mmio_base
    }

    /// The backing store.
    pub fn store(&self) -> &BackingStore {
        &self.store
    }

    /// The backing store, mutable (loading a program).
    pub fn store_mut(&mut self) -> &mut BackingStore {
        &mut self.store
    }

    #[inline]
    fn in_mmio(&self, addr: u64, len: u64) -> bool {
        addr.wrapping_sub(self.mmio_base) < MMIO_SIZE && addr - self.mmio_base + len <= MMIO_SIZE
    }

    fn oob(&self, addr: u64, len: u64) -> OutOfBounds {
        let mut map: String = self
            .store
            .regions()
            .map(|(n, b, s)| format!("{n} {b:#x}..{:#x}", b + s))
            .collect::<Vec<_>>()
            .join(", ");
        map.push_str(&format!(
            ", mmio {:#x}..{:#x}",
            self.mmio_base,
            self.mmio_base + MMIO_SIZE
        ));
        OutOfBounds { addr, len, map }
    }

    /// Reads bytes.
    pub fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), OutOfBounds> {
        if self.in_mmio(addr, buf.len() as u64) {
            buf.fill(0);
            return Ok(());
        }
        self.store
            .read(addr, buf)
            .map_err(|_| self.oob(addr, buf.len() as u64))
    }

    /// Writes bytes (MMIO writes act on the device).
    pub fn write(&mut self, addr: u64, data: &[u8]) -> Result<(), OutOfBounds> {
        if self.in_mmio(addr, data.len() as u64) {
            let mut v = [0u8; 8];
            let n = data.len().min(8);
            v[..n].copy_from_slice(&data[..n]);
            self.mmio_write(addr - self.mmio_base, u64::from_le_bytes(v));
            return Ok(());
        }
        self.store
            .write(addr, data)
            .map_err(|_| self.oob(addr, data.len() as u64))
    }

    /// Reads a little-endian value of 1, 2, 4 or 8 bytes.
    #[inline]
    pub fn read_uint(&self, addr: u64, size: usize) -> Result<u64, OutOfBounds> {
        let mut b = [0u8; 8];
        self.read(addr, &mut b[..size])?;
        Ok(u64::from_le_bytes(b))
    }

    /// Writes the low `size` bytes of `value`.
    #[inline]
    pub fn write_uint(&mut self, addr: u64, size: usize, value: u64) -> Result<(), OutOfBounds> {
        self.write(addr, &value.to_le_bytes()[..size])
    }

    fn mmio_write(&mut self, off: u64, v: u64) {
        match off {
            MMIO_CONSOLE => self.console.push(v as u8),
            MMIO_EXIT => self.exit = Some(v as u32 as i32 as i64),
            _ => {}
        }
    }

    /// Takes the console output written so far.
    pub fn take_console(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.console)
    }
}
