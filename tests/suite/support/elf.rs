//! Helpers shared by the hart's integration tests: a minimal ELF64 RISC-V writer and a few
//! instruction encoders, so tests can make programs without the cross toolchain.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// Base of DDR on the default board, where test programs are loaded.
pub const BASE: u64 = 0x8000_0000;

/// Bytes of a static ELF64 RISC-V executable with `code` loaded (RWX) at `BASE`, entry there.
pub fn elf_bytes(code: &[u32]) -> Vec<u8> {
    let text: Vec<u8> = code.iter().flat_map(|w| w.to_le_bytes()).collect();
    let off = 64 + 56;
    let mut e = Vec::new();
    e.extend_from_slice(b"\x7fELF");
    e.extend_from_slice(&[2, 1, 1, 0]);
    e.extend_from_slice(&[0; 8]);
    e.extend_from_slice(&2u16.to_le_bytes()); // ET_EXEC
    e.extend_from_slice(&243u16.to_le_bytes()); // EM_RISCV
    e.extend_from_slice(&1u32.to_le_bytes());
    e.extend_from_slice(&BASE.to_le_bytes()); // entry
    e.extend_from_slice(&64u64.to_le_bytes()); // phoff
    e.extend_from_slice(&0u64.to_le_bytes()); // shoff
    e.extend_from_slice(&5u32.to_le_bytes()); // flags: RVC, double-float ABI
    e.extend_from_slice(&64u16.to_le_bytes());
    e.extend_from_slice(&56u16.to_le_bytes());
    e.extend_from_slice(&1u16.to_le_bytes());
    e.extend_from_slice(&64u16.to_le_bytes());
    e.extend_from_slice(&0u16.to_le_bytes());
    e.extend_from_slice(&0u16.to_le_bytes());
    // PT_LOAD, RWX.
    e.extend_from_slice(&1u32.to_le_bytes());
    e.extend_from_slice(&7u32.to_le_bytes());
    e.extend_from_slice(&(off as u64).to_le_bytes());
    e.extend_from_slice(&BASE.to_le_bytes());
    e.extend_from_slice(&BASE.to_le_bytes());
    e.extend_from_slice(&(text.len() as u64).to_le_bytes());
    e.extend_from_slice(&(text.len() as u64 + 4096).to_le_bytes());
    e.extend_from_slice(&4u64.to_le_bytes());
    assert_eq!(e.len(), off);
    e.extend_from_slice(&text);
    e
}

/// Writes `code` as an ELF into `dir/name` and returns the path.
pub fn write_elf(dir: &Path, name: &str, code: &[u32]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, elf_bytes(code)).unwrap();
    p
}

fn i_type(op: u32, f3: u32, rd: u32, rs1: u32, imm: i32) -> u32 {
    ((imm as u32 & 0xfff) << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op
}
fn r_type(op: u32, f3: u32, f7: u32, rd: u32, rs1: u32, rs2: u32) -> u32 {
    (f7 << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op
}
pub fn addi(rd: u32, rs1: u32, imm: i32) -> u32 {
    i_type(0x13, 0, rd, rs1, imm)
}
pub fn add(rd: u32, rs1: u32, rs2: u32) -> u32 {
    r_type(0x33, 0, 0, rd, rs1, rs2)
}
pub fn mul(rd: u32, rs1: u32, rs2: u32) -> u32 {
    r_type(0x33, 0, 1, rd, rs1, rs2)
}
pub fn div(rd: u32, rs1: u32, rs2: u32) -> u32 {
    r_type(0x33, 4, 1, rd, rs1, rs2)
}
pub fn ld(rd: u32, rs1: u32, imm: i32) -> u32 {
    i_type(0x03, 3, rd, rs1, imm)
}
pub fn sd(rs2: u32, rs1: u32, imm: i32) -> u32 {
    let i = imm as u32 & 0xfff;
    ((i >> 5) << 25) | (rs2 << 20) | (rs1 << 15) | (3 << 12) | ((i & 31) << 7) | 0x23
}
pub fn lui(rd: u32, imm20: u32) -> u32 {
    (imm20 << 12) | (rd << 7) | 0x37
}
/// bne rs1, rs2, off (bytes).
pub fn bne(rs1: u32, rs2: u32, off: i32) -> u32 {
    let o = off as u32;
    (((o >> 12) & 1) << 31)
        | (((o >> 5) & 0x3f) << 25)
        | (rs2 << 20)
        | (rs1 << 15)
        | (1 << 12)
        | (((o >> 1) & 0xf) << 8)
        | (((o >> 11) & 1) << 7)
        | 0x63
}
/// jal x0, off.
pub fn j(off: i32) -> u32 {
    let o = off as u32;
    (((o >> 20) & 1) << 31)
        | (((o >> 1) & 0x3ff) << 21)
        | (((o >> 11) & 1) << 20)
        | (((o >> 12) & 0xff) << 12)
        | 0x6f
}
pub const ECALL: u32 = 0x0000_0073;
pub const EBREAK: u32 = 0x0010_0073;
/// a7 = 93; ecall: exit with a0.
pub fn exit_seq() -> [u32; 2] {
    [addi(17, 0, 93), ECALL]
}

pub use super::root;

/// auipc rd, imm20.
pub fn auipc(rd: u32, imm20: u32) -> u32 {
    (imm20 << 12) | (rd << 7) | 0x17
}
/// vsetvli rd, rs1, vtypei.
pub fn vsetvli(rd: u32, rs1: u32, vtypei: u32) -> u32 {
    (vtypei << 20) | (rs1 << 15) | (7 << 12) | (rd << 7) | 0x57
}
/// vadd.vv vd, vs2, vs1 (unmasked).
pub fn vadd_vv(vd: u32, vs2: u32, vs1: u32) -> u32 {
    (1 << 25) | (vs2 << 20) | (vs1 << 15) | (vd << 7) | 0x57
}
