//! Instruction decode and disassembly.

pub mod vector;
