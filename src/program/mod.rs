//! Programs: ELF64 RISC-V loading, the card's memory map as a program sees it, and running a
//! program on one hart to its exit (see doc/programs.md for the bare-metal environment).
//!
//! Memory map (bases from the board): DDR at `memory.base` with `memory.capacity`; the
//! scratchpad at `scratchpad.base` with `scratchpad.size`; one 4 KiB MMIO page at
//! [`MMIO_BASE`] (console at +0x0, exit at +0x8). At entry `pc` = the ELF entry point,
//! `sp` = the top of DDR (16-byte aligned), every other register zero.

mod run;

pub use run::{run, RunError, RunStop};

use crate::config::Board;
use crate::hart::{GuestMemory, Hart};
use object::elf;
use object::read::elf::{FileHeader, ProgramHeader};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Base address of the MMIO page (console and exit registers; [`crate::config::MMIO_BASE`]).
pub use crate::config::MMIO_BASE;

/// Default cycle limit of `emulate kernel`: 10^9 cycles are 13 s of card time at 75 MHz
/// and under a minute of host time for a program that never exits (the timed core runs at
/// 20-50 million instructions per host second).
pub const DEFAULT_MAX_CYCLES: u64 = 1_000_000_000;

/// Default cycle limit per kernel of `emulate run`: 2^32 cycles are 57 s of card time at
/// 75 MHz, far more than any one GGML operation of the reference model takes (the largest,
/// the output projection, takes milliseconds), and a few minutes of host time for a kernel
/// that never exits.
pub const DEFAULT_MAX_KERNEL_CYCLES: u64 = 1 << 32;

/// The largest program file read. Kernels are tens of kilobytes and model weights are
/// placed by the manifest, never carried in the ELF; 256 MiB leaves room for any program
/// image a card would hold while keeping a wrong path (`/dev/zero`, a disk image) from
/// filling the host's memory (doc/boards.md, "Limits").
pub const MAX_PROGRAM_BYTES: u64 = 256 << 20;

/// The most program text the pre-decoded instruction cache covers (one slot per halfword).
/// Instructions outside it are decoded on every fetch: slower, same results. 4 MiB of text
/// is far more than any kernel (the largest committed one is under 100 KiB) and costs about
/// 50 MB of host memory.
pub const MAX_DECODE_SPAN: u64 = 4 << 20;

/// A program that could not be loaded; the message names the file.
#[derive(Debug, Error)]
pub enum ProgramError {
    /// The file could not be read.
    #[error("{file}: cannot read: {source}")]
    Io {
        /// The file.
        file: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not a valid ELF64 RISC-V executable.
    #[error("{file}: {reason}")]
    BadElf {
        /// The file.
        file: String,
        /// What is wrong.
        reason: String,
    },
    /// A segment does not fit the card's memory map.
    #[error("{file}: segment at {addr:#x} ({len} bytes) is outside the card's memory map ({map})")]
    OutsideMap {
        /// The file.
        file: String,
        /// Segment address.
        addr: u64,
        /// Segment size in memory.
        len: u64,
        /// The map.
        map: String,
    },
}

/// One loadable segment.
#[derive(Debug, Clone)]
pub struct Segment {
    /// Load address.
    pub addr: u64,
    /// Bytes from the file.
    pub data: Vec<u8>,
    /// Size in memory (the rest after `data` is zero).
    pub mem_size: u64,
    /// Executable.
    pub exec: bool,
}

/// A loaded ELF executable.
#[derive(Debug, Clone)]
pub struct Program {
    /// Where it came from (for messages).
    pub path: PathBuf,
    /// Entry point.
    pub entry: u64,
    /// Loadable segments.
    pub segments: Vec<Segment>,
}

impl Program {
    /// Loads a program from disk or from the binary's embedded copy (see
    /// [`crate::assets::read`] for the lookup order).
    pub fn load_asset(path: &Path) -> Result<Program, ProgramError> {
        if crate::assets::embedded_path(path).is_some() || !path.exists() {
            if let Ok(bytes) = crate::assets::read(path) {
                return Program::parse(&bytes, path);
            }
        }
        Program::load(path)
    }

    /// Reads and parses an ELF file.
    pub fn load(path: &Path) -> Result<Program, ProgramError> {
        use std::io::Read;
        let io = |source| ProgramError::Io {
            file: path.display().to_string(),
            source,
        };
        // Read at most one byte past the limit, so a device or a huge file stops early.
        let mut data = Vec::new();
        std::fs::File::open(path)
            .map_err(io)?
            .take(MAX_PROGRAM_BYTES + 1)
            .read_to_end(&mut data)
            .map_err(io)?;
        if data.len() as u64 > MAX_PROGRAM_BYTES {
            return Err(ProgramError::BadElf {
                file: path.display().to_string(),
                reason: format!(
                    "larger than the {} MiB program size limit (MAX_PROGRAM_BYTES); a Sail \
                     program is a bare-metal kernel, its weights come from the manifest",
                    MAX_PROGRAM_BYTES >> 20
                ),
            });
        }
        Self::parse(&data, path)
    }

    /// Parses ELF bytes; `path` names them in messages.
    pub fn parse(data: &[u8], path: &Path) -> Result<Program, ProgramError> {
        let file = path.display().to_string();
        let bad = |reason: String| ProgramError::BadElf {
            file: file.clone(),
            reason,
        };
        if data.len() < 4 || &data[..4] != b"\x7fELF" {
            return Err(bad("not an ELF file (bad magic)".into()));
        }
        if data.len() > 4 && data[4] != elf::ELFCLASS64 {
            return Err(bad("not a 64-bit ELF (expected ELF64 for RV64)".into()));
        }
        let header = elf::FileHeader64::<object::Endianness>::parse(data)
            .map_err(|e| bad(format!("corrupt or truncated ELF header: {e}")))?;
        let endian = header
            .endian()
            .map_err(|e| bad(format!("corrupt ELF header: {e}")))?;
        if header.e_ident().data != elf::ELFDATA2LSB {
            return Err(bad(
                "big-endian ELF; RISC-V programs are little-endian".into()
            ));
        }
        let machine = header.e_machine(endian);
        if machine != elf::EM_RISCV {
            return Err(bad(format!(
                "ELF machine {machine} is not RISC-V (EM_RISCV = {})",
                elf::EM_RISCV
            )));
        }
        if header.e_type(endian) != elf::ET_EXEC {
            return Err(bad(
                "not a static executable (ET_EXEC); link with ld.lld and the linker script".into(),
            ));
        }
        let phdrs = header
            .program_headers(endian, data)
            .map_err(|e| bad(format!("corrupt or truncated program headers: {e}")))?;
        let mut segments = Vec::new();
        for ph in phdrs {
            if ph.p_type(endian) != elf::PT_LOAD {
                continue;
            }
            let bytes = ph
                .data(endian, data)
                .map_err(|_| bad("a loadable segment extends past the end of the file".into()))?;
            let mem_size = ph.p_memsz(endian);
            if (bytes.len() as u64) > mem_size {
                return Err(bad("a segment's file size exceeds its memory size".into()));
            }
            segments.push(Segment {
                addr: ph.p_paddr(endian),
                data: bytes.to_vec(),
                mem_size,
                exec: ph.p_flags(endian) & elf::PF_X != 0,
            });
        }
        if segments.is_empty() {
            return Err(bad("no loadable segments".into()));
        }
        check_segments_disjoint(&segments).map_err(bad)?;
        Ok(Program {
            path: path.to_path_buf(),
            entry: header.e_entry(endian),
            segments,
        })
    }

    /// The address range `[lo, hi)` the decode cache covers: every executable segment when
    /// they span at most [`MAX_DECODE_SPAN`] bytes, else the executable segment holding the
    /// entry point (the first one when none does), cut to that size.
    pub fn text_range(&self) -> (u64, u64) {
        let ex = self.segments.iter().filter(|s| s.exec);
        let end = |s: &Segment| s.addr.saturating_add(s.mem_size);
        let lo = ex.clone().map(|s| s.addr).min().unwrap_or(self.entry);
        let hi = ex.clone().map(end).max().unwrap_or(self.entry);
        if hi - lo <= MAX_DECODE_SPAN {
            return (lo, hi);
        }
        let main = ex
            .clone()
            .find(|s| (s.addr..end(s)).contains(&self.entry))
            .or_else(|| ex.clone().next());
        match main {
            Some(s) => (s.addr, end(s).min(s.addr + MAX_DECODE_SPAN)),
            None => (self.entry, self.entry),
        }
    }
}

/// Refuses segments whose memory images wrap past the end of the address space or overlap:
/// which bytes a loader would keep is then a matter of order, not of the file.
fn check_segments_disjoint(segments: &[Segment]) -> Result<(), String> {
    let mut spans = Vec::with_capacity(segments.len());
    for (i, s) in segments.iter().enumerate() {
        let end = s.addr.checked_add(s.mem_size).ok_or_else(|| {
            format!(
                "loadable segment {i} at {:#x} ({} bytes) runs past the end of the address space",
                s.addr, s.mem_size
            )
        })?;
        if s.mem_size > 0 {
            spans.push((s.addr, end, i));
        }
    }
    spans.sort_unstable();
    for w in spans.windows(2) {
        let ((a0, a1, i), (b0, b1, j)) = (w[0], w[1]);
        if b0 < a1 {
            return Err(format!(
                "loadable segments {i} ({a0:#x}..{a1:#x}) and {j} ({b0:#x}..{b1:#x}) overlap"
            ));
        }
    }
    Ok(())
}

/// The card's memory map as a program sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryMap {
    /// DDR base.
    pub ddr_base: u64,
    /// DDR size.
    pub ddr_size: u64,
    /// Scratchpad base.
    pub scratchpad_base: u64,
    /// Scratchpad size.
    pub scratchpad_size: u64,
    /// MMIO page base.
    pub mmio_base: u64,
}

impl MemoryMap {
    /// The map of one card of `board`.
    pub fn from_board(board: &Board) -> Self {
        Self {
            ddr_base: board.memory.base,
            ddr_size: board.memory.capacity.bytes(),
            scratchpad_base: board.scratchpad.base,
            scratchpad_size: board.scratchpad.size.bytes(),
            mmio_base: MMIO_BASE,
        }
    }

    /// An empty guest memory with the map's regions (DDR first: the hart's fast path).
    pub fn guest_memory(&self) -> GuestMemory {
        let mut m = GuestMemory::new(self.mmio_base);
        m.add_region("ddr", self.ddr_base, self.ddr_size);
        m.add_region("scratchpad", self.scratchpad_base, self.scratchpad_size);
        m
    }

    /// Initial stack pointer: the top of DDR, 16-byte aligned (the board's validation
    /// guarantees the DDR region ends inside the 64-bit address space).
    pub fn stack_top(&self) -> u64 {
        self.ddr_base.saturating_add(self.ddr_size) & !15
    }
}

/// A hart with `program` loaded into a fresh memory of `map`, ready to run from the entry.
pub fn load_hart(program: &Program, map: &MemoryMap) -> Result<Hart, ProgramError> {
    let mut mem = map.guest_memory();
    load_segments(program, map, &mut mem)?;
    Ok(start_hart(program, map, mem))
}

/// Writes `program`'s segments into an existing memory (its other bytes are kept; `.bss` is
/// zeroed) and clears the console and exit state, so the memory can start a new run.
pub fn load_segments(
    program: &Program,
    map: &MemoryMap,
    mem: &mut GuestMemory,
) -> Result<(), ProgramError> {
    mem.console.clear();
    mem.exit = None;
    for s in &program.segments {
        let outside = || ProgramError::OutsideMap {
            file: program.path.display().to_string(),
            addr: s.addr,
            len: s.mem_size,
            map: store_map_text(map),
        };
        if s.mem_size > 0 && !mem.in_regions(s.addr, s.mem_size) {
            return Err(outside());
        }
        // The loadable image, then zeros for the rest of the segment (.bss). Zeroing touches
        // only pages already allocated, so a large .bss costs nothing until the program
        // uses it.
        mem.write(s.addr, &s.data).map_err(|_| outside())?;
        mem.zero(
            s.addr + s.data.len() as u64,
            s.mem_size - s.data.len() as u64,
        )
        .map_err(|_| outside())?;
    }
    Ok(())
}

/// A hart over `mem` (with `program` already loaded) at the program's entry, with the stack
/// pointer at the top of the map's DDR.
pub fn start_hart(program: &Program, map: &MemoryMap, mem: GuestMemory) -> Hart {
    let (lo, hi) = program.text_range();
    let mut hart = Hart::new(mem, program.entry, lo, hi);
    hart.set_x(2, map.stack_top());
    hart
}

/// A hart of one card of `board` with `program` loaded: the board's memory map, its vector
/// unit (VLEN `core.vlen`) and its Xpop_matmul unit.
pub fn load_card_hart(program: &Program, board: &Board) -> Result<Hart, ProgramError> {
    let mut hart = load_hart(program, &MemoryMap::from_board(board))?;
    hart.attach_vector(crate::hart::vector::VectorUnit::new(board.core.vlen));
    hart.attach_matmul(crate::matmul::MatmulUnit::new(board));
    Ok(hart)
}

fn store_map_text(map: &MemoryMap) -> String {
    format!(
        "ddr {:#x}..{:#x}, scratchpad {:#x}..{:#x}",
        map.ddr_base,
        map.ddr_base.saturating_add(map.ddr_size),
        map.scratchpad_base,
        map.scratchpad_base.saturating_add(map.scratchpad_size)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_bad_files_naming_them() {
        let p = Path::new("k.elf");
        let e = Program::parse(b"hello", p).unwrap_err().to_string();
        assert!(e.starts_with("k.elf: not an ELF"), "{e}");
        let mut h = vec![0u8; 64];
        h[..4].copy_from_slice(b"\x7fELF");
        h[4] = 1; // ELFCLASS32
        let e = Program::parse(&h, p).unwrap_err().to_string();
        assert!(e.contains("not a 64-bit ELF"), "{e}");
        h[4] = 2;
        let e = Program::parse(&h[..20], p).unwrap_err().to_string();
        assert!(e.contains("truncated"), "{e}");
    }
}
