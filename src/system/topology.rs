//! How the cards' inter-card links are wired, and the directed channels of the fabric.
//!
//! Ring: the connector has one port in and one port out per card; card i's out port is
//! cabled to card i+1's in port (mod N), and each cable is full duplex, so card i can send to
//! i+1 ("downstream") and to i-1 ("upstream"). Mesh: a full-duplex cable between every pair.
//! Each direction of each cable is one [`LinkDirection`].

use crate::config::Topology;
use crate::link::intercard::{LinkDirection, LinkParams};
use crate::stats::Stats;
use crate::units::Time;
use std::collections::BTreeMap;

/// The directed channels between N cards.
#[derive(Debug, Clone)]
pub struct Fabric {
    cards: usize,
    topology: Topology,
    channels: BTreeMap<(usize, usize), LinkDirection>,
}

impl Fabric {
    /// The fabric of `cards` cards wired as `topology`, every direction with `params`.
    pub fn new(cards: usize, topology: Topology, params: LinkParams) -> Self {
        let mut channels = BTreeMap::new();
        if cards > 1 {
            for i in 0..cards {
                let peers: Vec<usize> = match topology {
                    Topology::Ring => vec![(i + 1) % cards, (i + cards - 1) % cards],
                    Topology::Mesh => (0..cards).filter(|&j| j != i).collect(),
                };
                for j in peers {
                    channels
                        .entry((i, j))
                        .or_insert_with(|| LinkDirection::new(params));
                }
            }
        }
        Self {
            cards,
            topology,
            channels,
        }
    }

    /// Number of cards.
    pub fn cards(&self) -> usize {
        self.cards
    }

    /// The wiring.
    pub fn topology(&self) -> Topology {
        self.topology
    }

    /// The ring successor of card `i` (the next card downstream).
    pub fn next(&self, i: usize) -> usize {
        (i + 1) % self.cards
    }

    /// The channel from `from` to `to`, if they are cabled directly.
    pub fn channel(&mut self, from: usize, to: usize) -> Option<&mut LinkDirection> {
        self.channels.get_mut(&(from, to))
    }

    /// Number of directed channels (2N for a ring of N > 2, N(N-1) for a mesh).
    pub fn channel_count(&self) -> usize {
        self.channels.len()
    }

    /// Per-channel counters under `link.<from>-<to>.*`, over `elapsed`.
    pub fn stats(&self, elapsed: Time) -> Stats {
        let mut s = Stats::new();
        for ((f, t), d) in &self.channels {
            s.merge_under(&format!("link.card{f}-card{t}"), &d.stats(elapsed));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_board;

    fn params() -> LinkParams {
        LinkParams::from_config(&load_board("innerjib7ea", &[]).unwrap().board.intercard)
    }

    #[test]
    fn ring_and_mesh_channels() {
        let mut r = Fabric::new(4, Topology::Ring, params());
        assert_eq!(r.channel_count(), 8);
        assert!(r.channel(0, 1).is_some() && r.channel(1, 0).is_some());
        assert!(r.channel(0, 2).is_none());
        assert_eq!(r.next(3), 0);
        let m = Fabric::new(4, Topology::Mesh, params());
        assert_eq!(m.channel_count(), 12);
        // Two cards on a ring share one cable: two directions.
        assert_eq!(Fabric::new(2, Topology::Ring, params()).channel_count(), 2);
        assert_eq!(Fabric::new(1, Topology::Ring, params()).channel_count(), 0);
    }
}
