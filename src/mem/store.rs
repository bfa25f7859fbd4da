//! The backing store: the bytes of a card's memory map, with no notion of time.
//!
//! Regions (DDR, scratchpad) are declared with a base and size; storage is allocated lazily
//! in 64 KiB pages, so a 4 GiB DDR costs only what a program touches. Untouched bytes read as
//! zero. An access that is not wholly inside one region is an error naming the address.

use thiserror::Error;

const PAGE_BITS: u32 = 16;
const PAGE: usize = 1 << PAGE_BITS;

/// An access outside every region of the memory map.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("access of {len} bytes at {addr:#x} is outside the memory map ({map})")]
pub struct OutOfBounds {
    /// The first byte's address.
    pub addr: u64,
    /// The access length.
    pub len: u64,
    /// The map, for the message.
    pub map: String,
}

/// One contiguous region of the memory map.
#[derive(Debug, Clone)]
struct Region {
    name: &'static str,
    base: u64,
    size: u64,
    pages: Vec<Option<Box<[u8]>>>,
}

/// The bytes of one card's memory map.
#[derive(Debug, Clone, Default)]
pub struct BackingStore {
    regions: Vec<Region>,
}

impl BackingStore {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a region; regions must not overlap.
    pub fn add_region(&mut self, name: &'static str, base: u64, size: u64) {
        debug_assert!(self
            .regions
            .iter()
            .all(|r| base + size <= r.base || r.base + r.size <= base));
        let pages = size.div_ceil(PAGE as u64) as usize;
        self.regions.push(Region {
            name,
            base,
            size,
            pages: vec![None; pages],
        });
    }

    /// `(name, base, size)` of each region, in the order added.
    pub fn regions(&self) -> impl Iterator<Item = (&'static str, u64, u64)> + '_ {
        self.regions.iter().map(|r| (r.name, r.base, r.size))
    }

    fn map_text(&self) -> String {
        self.regions
            .iter()
            .map(|r| format!("{} {:#x}..{:#x}", r.name, r.base, r.base + r.size))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn region_index(&self, addr: u64, len: u64) -> Result<usize, OutOfBounds> {
        self.regions
            .iter()
            .position(|r| {
                addr >= r.base && addr.checked_add(len).is_some_and(|e| e <= r.base + r.size)
            })
            .ok_or_else(|| OutOfBounds {
                addr,
                len,
                map: self.map_text(),
            })
    }

    /// True when `[addr, addr+len)` lies inside one region.
    pub fn contains(&self, addr: u64, len: u64) -> bool {
        self.region_index(addr, len).is_ok()
    }

    /// Reads `buf.len()` bytes at `addr`.
    pub fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), OutOfBounds> {
        let r = &self.regions[self.region_index(addr, buf.len() as u64)?];
        let mut off = (addr - r.base) as usize;
        let mut done = 0;
        while done < buf.len() {
            let (p, o) = (off >> PAGE_BITS, off & (PAGE - 1));
            let n = (PAGE - o).min(buf.len() - done);
            match &r.pages[p] {
                Some(page) => buf[done..done + n].copy_from_slice(&page[o..o + n]),
                None => buf[done..done + n].fill(0),
            }
            done += n;
            off += n;
        }
        Ok(())
    }

    /// Writes `data` at `addr`.
    pub fn write(&mut self, addr: u64, data: &[u8]) -> Result<(), OutOfBounds> {
        let idx = self.region_index(addr, data.len() as u64)?;
        let r = &mut self.regions[idx];
        let mut off = (addr - r.base) as usize;
        let mut done = 0;
        while done < data.len() {
            let (p, o) = (off >> PAGE_BITS, off & (PAGE - 1));
            let n = (PAGE - o).min(data.len() - done);
            let page = r.pages[p].get_or_insert_with(|| vec![0u8; PAGE].into_boxed_slice());
            page[o..o + n].copy_from_slice(&data[done..done + n]);
            done += n;
            off += n;
        }
        Ok(())
    }

    /// Reads a little-endian value of 1, 2, 4 or 8 bytes.
    pub fn read_uint(&self, addr: u64, size: usize) -> Result<u64, OutOfBounds> {
        let mut b = [0u8; 8];
        self.read(addr, &mut b[..size])?;
        Ok(u64::from_le_bytes(b))
    }

    /// Writes the low `size` bytes of `value`, little-endian.
    pub fn write_uint(&mut self, addr: u64, size: usize, value: u64) -> Result<(), OutOfBounds> {
        self.write(addr, &value.to_le_bytes()[..size])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lazily_backed_and_bounded() {
        let mut m = BackingStore::new();
        m.add_region("ddr", 0x8000_0000, 4 << 30);
        m.add_region("scratchpad", 0x2000_0000, 256 << 10);
        assert_eq!(m.read_uint(0x8000_1000, 8).unwrap(), 0);
        // A write across a page boundary.
        m.write(0x8000_FFFC, &[1, 2, 3, 4, 5, 6, 7, 8]).unwrap();
        assert_eq!(m.read_uint(0x8000_FFFC, 8).unwrap(), 0x0807060504030201);
        let e = m.read_uint(0x2004_0000, 4).unwrap_err();
        assert_eq!(e.addr, 0x2004_0000);
        assert!(e.to_string().contains("0x20040000"));
        assert!(m.write(0x2003_FFFE, &[0; 4]).is_err());
    }
}
