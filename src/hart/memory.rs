//! The hart's view of guest memory: the card's bytes plus one MMIO page with the console
//! and the exit word. No timing here.
//!
//! This is the one store of a card's bytes: regions of lazily allocated 64 KiB pages
//! (untouched bytes read as zero; an access must lie inside one region), so a 4 GiB DDR
//! costs only what a program touches. Loads and stores of the interpreter take an inlined
//! fast path: the first region (DDR) is tried first and a naturally sized access inside one
//! allocated page is a direct little-endian read or write.
//!
//! MMIO page layout (offsets from [`GuestMemory::mmio_base`], see doc/programs.md):
//! - `+0x00` console: a store of 1 to 8 bytes writes its low byte to the console.
//! - `+0x08` exit: a 4- or 8-byte store ends the run with the stored value (low 32 bits,
//!   signed) as the exit status.
//!
//! Loads of 1 to 8 bytes from either register return 0. Every other access to the MMIO
//! page (another offset, a wider access, a store that covers part of the exit register) is
//! outside the map, as for any unmapped address. The console holds at most
//! [`MAX_CONSOLE_BYTES`].

pub use crate::isa::context::OutOfBounds;

/// Size of the MMIO page ([`crate::config::MMIO_SIZE`]).
pub use crate::config::MMIO_SIZE;
/// Offset of the console register in the MMIO page.
pub const MMIO_CONSOLE: u64 = 0x0;
/// Offset of the exit register in the MMIO page.
pub const MMIO_EXIT: u64 = 0x8;

/// The most console output a run may produce (MMIO stores and `ecall write` together). The
/// console is for a program's diagnostics and is embedded in the JSON report; a program that
/// prints more is stopped with an error naming this limit rather than growing the host's
/// memory without bound.
pub const MAX_CONSOLE_BYTES: usize = 16 << 20;

const PAGE_BITS: u32 = 16;
const PAGE: usize = 1 << PAGE_BITS;

/// One page of guest memory; a thin pointer, so the page table of an untouched region costs
/// 8 bytes per 64 KiB (2 MiB for the largest DDR the boards allow).
type Page = Box<[u8; PAGE]>;

fn new_page() -> Page {
    vec![0u8; PAGE]
        .into_boxed_slice()
        .try_into()
        .expect("a page-sized buffer")
}

#[derive(Debug, Clone)]
struct Region {
    name: &'static str,
    base: u64,
    size: u64,
    pages: Vec<Option<Page>>,
}

/// Guest memory: bytes, MMIO console and exit.
#[derive(Debug, Clone)]
pub struct GuestMemory {
    regions: Vec<Region>,
    mmio_base: u64,
    /// Console output so far.
    pub console: Vec<u8>,
    /// Set when the program wrote the exit register.
    pub exit: Option<i64>,
}

impl GuestMemory {
    /// An empty memory with the MMIO page at `mmio_base`; add regions with
    /// [`add_region`](Self::add_region) (the most used one, DDR, first).
    pub fn new(mmio_base: u64) -> Self {
        Self {
            regions: Vec::new(),
            mmio_base,
            console: Vec::new(),
            exit: None,
        }
    }

    /// Adds a region of `size` zero bytes at `base`; regions must not overlap each other or
    /// the MMIO page.
    pub fn add_region(&mut self, name: &'static str, base: u64, size: u64) {
        debug_assert!(self
            .regions
            .iter()
            .all(|r| base + size <= r.base || r.base + r.size <= base));
        self.regions.push(Region {
            name,
            base,
            size,
            pages: vec![None; size.div_ceil(PAGE as u64) as usize],
        });
    }

    /// `(name, base, size)` of each region.
    pub fn regions(&self) -> impl Iterator<Item = (&'static str, u64, u64)> + '_ {
        self.regions.iter().map(|r| (r.name, r.base, r.size))
    }

    /// Base address of the MMIO page.
    pub fn mmio_base(&self) -> u64 {
        self.mmio_base
    }

    #[inline]
    fn in_mmio(&self, addr: u64, len: u64) -> bool {
        addr.wrapping_sub(self.mmio_base) < MMIO_SIZE && addr - self.mmio_base + len <= MMIO_SIZE
    }

    fn oob(&self, addr: u64, len: u64) -> OutOfBounds {
        let mut map: Vec<String> = self
            .regions
            .iter()
            .map(|r| {
                format!(
                    "{} {:#x}..{:#x}",
                    r.name,
                    r.base,
                    r.base.saturating_add(r.size)
                )
            })
            .collect();
        map.push(format!(
            "mmio {:#x}..{:#x}",
            self.mmio_base,
            self.mmio_base + MMIO_SIZE
        ));
        OutOfBounds {
            addr,
            len,
            map: map.join(", "),
        }
    }

    /// The error for an access inside the MMIO page that no register accepts.
    fn mmio_refused(&self, addr: u64, len: u64, store: bool) -> OutOfBounds {
        let what = if store {
            "stores of 1-8 bytes to the console at +0x0 and of 4 or 8 bytes to exit at +0x8"
        } else {
            "loads of 1-8 bytes from +0x0 and +0x8"
        };
        OutOfBounds {
            addr,
            len,
            map: format!(
                "the MMIO page at {:#x} takes only {what}; see doc/programs.md",
                self.mmio_base
            ),
        }
    }

    /// True when `[addr, addr+len)` lies inside one region (or the MMIO page).
    pub fn contains(&self, addr: u64, len: u64) -> bool {
        self.region_of(addr, len).is_some() || self.in_mmio(addr, len)
    }

    /// True when `[addr, addr+len)` lies inside one memory region (not the MMIO page).
    pub fn in_regions(&self, addr: u64, len: u64) -> bool {
        self.region_of(addr, len).is_some()
    }

    fn region_of(&self, addr: u64, len: u64) -> Option<usize> {
        self.regions.iter().position(|r| {
            addr >= r.base && addr.checked_add(len).is_some_and(|e| e - r.base <= r.size)
        })
    }

    /// Reads bytes.
    pub fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), OutOfBounds> {
        let len = buf.len() as u64;
        let Some(i) = self.region_of(addr, len) else {
            if self.in_mmio(addr, len) {
                let off = addr - self.mmio_base;
                if (off == MMIO_CONSOLE || off == MMIO_EXIT) && len <= 8 {
                    buf.fill(0);
                    return Ok(());
                }
                return Err(self.mmio_refused(addr, len, false));
            }
            return Err(self.oob(addr, len));
        };
        let r = &self.regions[i];
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

    /// Writes bytes (MMIO writes act on the device).
    pub fn write(&mut self, addr: u64, data: &[u8]) -> Result<(), OutOfBounds> {
        let len = data.len() as u64;
        let Some(i) = self.region_of(addr, len) else {
            if self.in_mmio(addr, len) {
                let mut v = [0u8; 8];
                let n = data.len().min(8);
                v[..n].copy_from_slice(&data[..n]);
                return self.mmio_write(addr, len, u64::from_le_bytes(v));
            }
            return Err(self.oob(addr, len));
        };
        let r = &mut self.regions[i];
        let mut off = (addr - r.base) as usize;
        let mut done = 0;
        while done < data.len() {
            let (p, o) = (off >> PAGE_BITS, off & (PAGE - 1));
            let n = (PAGE - o).min(data.len() - done);
            let page = r.pages[p].get_or_insert_with(new_page);
            page[o..o + n].copy_from_slice(&data[done..done + n]);
            done += n;
            off += n;
        }
        Ok(())
    }

    /// Sets `len` bytes at `addr` to zero. Only pages already allocated are written (an
    /// untouched page reads as zero anyway, and a page wholly covered is released), so zeroing
    /// a large `.bss` costs nothing until the program touches it.
    pub fn zero(&mut self, addr: u64, len: u64) -> Result<(), OutOfBounds> {
        if len == 0 {
            return Ok(());
        }
        let Some(i) = self.region_of(addr, len) else {
            return Err(self.oob(addr, len));
        };
        let r = &mut self.regions[i];
        let (start, end) = (addr - r.base, addr - r.base + len);
        let mut off = start;
        while off < end {
            let (p, o) = (
                (off >> PAGE_BITS) as usize,
                (off & (PAGE as u64 - 1)) as usize,
            );
            let n = (PAGE - o).min((end - off) as usize);
            if n == PAGE {
                r.pages[p] = None;
            } else if let Some(page) = &mut r.pages[p] {
                page[o..o + n].fill(0);
            }
            off += n as u64;
        }
        Ok(())
    }

    /// Bytes of host memory the allocated pages take (the footprint follows what the guest
    /// touched, not the size of the map).
    pub fn resident_bytes(&self) -> u64 {
        let pages: usize = self
            .regions
            .iter()
            .map(|r| r.pages.iter().filter(|p| p.is_some()).count())
            .sum();
        (pages * PAGE) as u64
    }

    /// Appends program output to the console, refusing output past [`MAX_CONSOLE_BYTES`].
    /// Err gives the limit's message.
    pub fn console_write(&mut self, bytes: &[u8]) -> Result<(), String> {
        if self.console.len() + bytes.len() > MAX_CONSOLE_BYTES {
            return Err(format!(
                "console output would exceed its {} MiB limit (MAX_CONSOLE_BYTES: {} bytes \
                 written, {} more asked for)",
                MAX_CONSOLE_BYTES >> 20,
                self.console.len(),
                bytes.len()
            ));
        }
        self.console.extend_from_slice(bytes);
        Ok(())
    }

    /// The allocated page and offset holding `[addr, addr+size)` in the first region, when
    /// the access does not cross a page.
    #[inline(always)]
    fn fast_page(&self, addr: u64, size: usize) -> Option<(&[u8], usize)> {
        let r = self.regions.first()?;
        let off = addr.wrapping_sub(r.base);
        if off >= r.size {
            return None;
        }
        let off = off as usize;
        let o = off & (PAGE - 1);
        if o + size > PAGE {
            return None;
        }
        let page: &[u8] = r.pages.get(off >> PAGE_BITS)?.as_deref()?;
        Some((page, o))
    }

    #[inline(always)]
    fn fast_page_mut(&mut self, addr: u64, size: usize) -> Option<(&mut [u8], usize)> {
        let r = self.regions.first_mut()?;
        let off = addr.wrapping_sub(r.base);
        if off >= r.size {
            return None;
        }
        let off = off as usize;
        let o = off & (PAGE - 1);
        if o + size > PAGE {
            return None;
        }
        let page: &mut [u8] = r.pages.get_mut(off >> PAGE_BITS)?.as_deref_mut()?;
        Some((page, o))
    }

    /// Reads a little-endian value of 1, 2, 4 or 8 bytes.
    #[inline(always)]
    pub fn read_uint(&self, addr: u64, size: usize) -> Result<u64, OutOfBounds> {
        if let Some((p, o)) = self.fast_page(addr, size) {
            return Ok(match size {
                1 => p[o] as u64,
                2 => u16::from_le_bytes([p[o], p[o + 1]]) as u64,
                4 => u32::from_le_bytes(p[o..o + 4].try_into().unwrap()) as u64,
                _ => u64::from_le_bytes(p[o..o + 8].try_into().unwrap()),
            });
        }
        self.read_uint_slow(addr, size)
    }

    #[inline(never)]
    fn read_uint_slow(&self, addr: u64, size: usize) -> Result<u64, OutOfBounds> {
        let mut b = [0u8; 8];
        self.read(addr, &mut b[..size])?;
        Ok(u64::from_le_bytes(b))
    }

    /// Writes the low `size` bytes of `value`.
    #[inline(always)]
    pub fn write_uint(&mut self, addr: u64, size: usize, value: u64) -> Result<(), OutOfBounds> {
        if let Some((p, o)) = self.fast_page_mut(addr, size) {
            match size {
                1 => p[o] = value as u8,
                2 => p[o..o + 2].copy_from_slice(&(value as u16).to_le_bytes()),
                4 => p[o..o + 4].copy_from_slice(&(value as u32).to_le_bytes()),
                _ => p[o..o + 8].copy_from_slice(&value.to_le_bytes()),
            }
            return Ok(());
        }
        self.write_uint_slow(addr, size, value)
    }

    #[inline(never)]
    fn write_uint_slow(&mut self, addr: u64, size: usize, value: u64) -> Result<(), OutOfBounds> {
        self.write(addr, &value.to_le_bytes()[..size])
    }

    fn mmio_write(&mut self, addr: u64, len: u64, v: u64) -> Result<(), OutOfBounds> {
        match (addr - self.mmio_base, len) {
            (MMIO_CONSOLE, 1..=8) => {
                self.console_write(&[v as u8])
                    .map_err(|m| OutOfBounds { addr, len, map: m })
            }
            (MMIO_EXIT, 4 | 8) => {
                self.exit = Some(v as u32 as i32 as i64);
                Ok(())
            }
            _ => Err(self.mmio_refused(addr, len, true)),
        }
    }

    /// Takes the console output written so far.
    pub fn take_console(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.console)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_and_slow_paths_agree() {
        let mut m = GuestMemory::new(0x1000_0000);
        m.add_region("ddr", 0x8000_0000, 1 << 20);
        m.add_region("scratchpad", 0x2000_0000, 256 << 10);
        // Untouched memory reads zero; a write across a page boundary takes the slow path.
        assert_eq!(m.read_uint(0x8000_1000, 8).unwrap(), 0);
        m.write_uint(0x8000_FFFC, 8, 0x0807_0605_0403_0201).unwrap();
        assert_eq!(m.read_uint(0x8000_FFFC, 8).unwrap(), 0x0807_0605_0403_0201);
        assert_eq!(m.read_uint(0x8001_0000, 4).unwrap(), 0x0807_0605);
        assert_eq!(m.read_uint(0x8000_FFFF, 2).unwrap(), 0x0504);
        m.write_uint(0x2000_0010, 2, 0xbeef).unwrap();
        assert_eq!(m.read_uint(0x2000_0010, 1).unwrap(), 0xef);
        // Bounds: past the end of a region, between regions, straddling the end.
        let e = m.read_uint(0x8010_0000, 1).unwrap_err();
        assert!(e.to_string().contains("0x80100000"), "{e}");
        assert!(m.write_uint(0x800F_FFFC, 8, 0).is_err());
        assert!(m.read_uint(0x4000_0000, 8).is_err());
        // MMIO: console and exit.
        m.write_uint(0x1000_0000, 1, b'A' as u64).unwrap();
        m.write_uint(0x1000_0008, 4, (-3i32) as u32 as u64).unwrap();
        assert_eq!(m.take_console(), b"A");
        assert_eq!(m.exit, Some(-3));
        assert_eq!(m.read_uint(0x1000_0008, 8).unwrap(), 0);
    }
}
