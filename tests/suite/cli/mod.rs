//! Tests that run the `emulate` binary.

mod cli_boards;
pub(crate) mod cluster;
pub(crate) mod cluster_hq;
mod collective;
mod ddr3_reference;
mod hart_kernel_cli;
mod litedram_reference;
mod matmul_cli;
mod membench_cli;
mod parallel;
mod regress_cli;
mod reliability;
mod run;
mod sweep;
mod workload_manifest_errors;
