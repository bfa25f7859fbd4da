//! The system: N cards ([`card`]: memory bytes and kernel runs), the fabric between them ([`topology`]), and what runs across them
//! ([`collective`]: ring collectives moving real data over the modelled links).

pub mod card;
pub mod collective;
pub(crate) mod fanout;
pub mod reduce;
pub mod split_rule;
pub mod topology;
