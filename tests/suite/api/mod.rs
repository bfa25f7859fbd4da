//! Tests of the library's models through its public API.

mod ddr3_figures;
mod ddr3_trace;
mod hart_timing;
mod matmul_kernel;
mod matmul_unit;
mod regime;
mod workload_bind;
mod workload_graph;
mod workload_manifests;
mod workload_regions;
