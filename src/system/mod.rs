//! The system: N cards ([`card`]: memory bytes and kernel runs), the fabric between them ([`topology`]), and what runs across them
//! ([`collective`]: ring collectives moving real data over the modelled links).

pub mod card;
pub mod cards;
pub mod collective;
pub mod collective_bench;
mod fanout;
pub mod model_run;
pub mod parallel;
pub mod topology;
