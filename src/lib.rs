//! sail-emu: a cycle-approximate full-system emulator of PopSolutions Sail accelerator cards.
//!
//! The layers, as data flows through them (see doc/architecture.md):
//! [`config`] (typed board files) and [`units`] (quantities with units) feed the models;
//! [`stats`] collects what every model counts.

pub mod assets;
pub mod cli;
pub mod config;
pub mod experiment;
pub mod hart;
pub mod isa;
pub mod link;
pub mod matmul;
pub mod mem;
pub mod program;
pub mod provenance;
pub mod quant;
pub mod regress;
pub mod stats;
pub mod sweep;
pub mod system;
pub mod timing;
pub mod units;
pub mod workload;
