//! The system: N cards, the fabric between them ([`topology`]), and what runs across them
//! ([`collective`]: ring collectives moving real data over the modelled links).

pub mod collective;
pub mod topology;
