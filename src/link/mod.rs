//! Serial links between a card and the world: the GbE host link ([`host`]) and the
//! inter-card serial link ([`intercard`]).
//!
//! A link direction is one shared resource: transfers queue behind each other in the order
//! they are submitted, each pays its serialisation time (payload plus every byte of framing
//! on the wire) and a fixed latency that overlaps with the next transfer's serialisation.

pub mod host;
pub mod intercard;
