//! Experiment drivers: each sets up cards, a workload and the models that time them, runs
//! them, and reports what it measured beside its closed-form bound. The models themselves
//! live in their own layers (`hart`, `timing`, `matmul`, `mem`, `link`, `system`); nothing
//! here decides how long anything takes.
//!
//! - [`model_run`]: the main job, a llama model's prefill and decode on 1..N cards;
//! - [`collective`]: one collective on N cards, measured as nccl-tests measures it, on the
//!   cards of [`collective_cards`];
//! - [`membench`]: trace-driven microbenchmarks into a board's DDR3 model.

pub mod collective;
pub mod collective_cards;
pub mod membench;
pub mod model_run;
