//! Helpers shared by the integration tests.

pub mod elf;
pub mod kernels;
pub mod matmul_hart;
pub mod qemu;
pub mod workload;
