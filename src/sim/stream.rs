//! AXI-Stream drivers for a testbench: sources that offer beats (optionally with random gaps,
//! never withdrawing an offered beat, as AXI requires) and the sink's `tready` pattern.

use super::tiling::BeatData;
use crate::model::Beat;
use crate::rng::Rng;

/// Random gaps and back-pressure: each idle source starts offering its next beat with
/// probability `offer_percent`; the sink is ready with probability `ready_percent`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stalls {
    /// Seed of the pattern.
    pub seed: u64,
    /// Chance (0..=100) that an idle source offers its next beat this cycle.
    pub offer_percent: u8,
    /// Chance (0..=100) that `c_tready` is high this cycle.
    pub ready_percent: u8,
}

/// A source of beats.
#[derive(Debug)]
pub struct Source {
    beats: Vec<BeatData>,
    next: usize,
    offering: bool,
    lanes: usize,
}

impl Source {
    /// A source of `beats` with `lanes` lanes each.
    pub fn new(beats: Vec<BeatData>, lanes: usize) -> Source {
        Source {
            beats,
            next: 0,
            offering: false,
            lanes,
        }
    }

    /// Whether every beat was accepted.
    pub fn done(&self) -> bool {
        self.next == self.beats.len()
    }

    /// Number of beats accepted.
    pub fn accepted(&self) -> usize {
        self.next
    }

    /// The beat offered this cycle (decides whether to start offering the next one).
    pub fn offer(&mut self, rng: Option<(&mut Rng, u8)>) -> Beat {
        if !self.offering && !self.done() {
            self.offering = match rng {
                Some((r, pct)) => r.range(0, 99) < i64::from(pct),
                None => true,
            };
        }
        match self.beats.get(self.next).filter(|_| self.offering) {
            Some(b) => Beat {
                valid: true,
                last: b.last,
                lanes: b.lanes.clone(),
            },
            None => Beat {
                valid: false,
                last: false,
                lanes: vec![0; self.lanes],
            },
        }
    }

    /// Records the handshake outcome of this cycle.
    pub fn handshake(&mut self, accepted: bool) {
        if accepted {
            self.next += 1;
            self.offering = false;
        }
    }
}
