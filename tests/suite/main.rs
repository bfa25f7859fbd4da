//! The integration tests, in one harness binary (one link instead of one per file):
//!
//! - `cli`: the `emulate` binary run as a user runs it;
//! - `api`: the library's models against closed forms, identities and invariants;
//! - `external`: differential and oracle tests against outside references (clang-19,
//!   llvm-mc-19 / llvm-objdump-19, qemu-riscv64, the Python `gguf` oracle);
//! - `support`: helpers shared by all of them.
//!
//! `testbench/run-tests.sh` runs all of it; `testbench/run-tests.sh --quick` leaves out
//! `external` (README, "Tests").

mod api;
mod cli;
mod external;
mod support;
