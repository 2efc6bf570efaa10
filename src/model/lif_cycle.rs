//! Cycle-level model of the spiking core's handshake ports, written from its contract (the
//! module doc of [`crate::gen::lif`] and [`crate::timing::lif_step_cycles`]), not from the RTL:
//!
//! - after reset the core takes `axons * G` weight words (and `G` bias words with per-neuron
//!   bias); events are taken only when all are in;
//! - an event (an axon, or the tick) occupies the core one cycle per neuron group; the next
//!   event is taken in the last of those cycles, except after a tick when G = 1 (one cycle
//!   later: the update's write-back lands first);
//! - an update cycle needs a free slot in the 8-deep output FIFO and waits for one; the group's
//!   state is written into the FIFO two cycles after its update cycle and leaves it through the
//!   FIFO's output register (the model shares the array model's FIFO queue).
//!
//! The values of the state beats are [`super::lif::run_core`]'s; this model says when each
//! beat is on `n_*` and which (step, group) it is, and what every ready signal is.

use super::out_queue::OutQueue;
use crate::config::LifConfig;

/// Output FIFO depth of the core's state stream (its contract; the generator's constant is
/// tested equal to it).
pub const STATE_FIFO_DEPTH: u32 = 8;

/// Cycles from an update cycle to the FIFO write of its group's state.
const UPDATE_TO_WRITE: u64 = 2;

/// One state beat: which step and group it carries and whether it is the step's last.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Beat {
    /// Time step.
    pub step: usize,
    /// Neuron group (neurons `group * parallel ..`).
    pub group: usize,
    /// `n_tlast`: the step's last group.
    pub last: bool,
}

/// The inputs of one cycle, as the model needs them.
#[derive(Clone, Copy, Debug, Default)]
pub struct LifCycleIn {
    /// `rst`.
    pub rst: bool,
    /// `w_tvalid`.
    pub w_valid: bool,
    /// `nb_tvalid` (ignored without per-neuron bias).
    pub nb_valid: bool,
    /// `s_tvalid`.
    pub s_valid: bool,
    /// The tick flag of `s_tdata`.
    pub tick: bool,
    /// `n_tready`.
    pub n_ready: bool,
}

/// The outputs of one cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LifCycleOut {
    /// `w_tready`.
    pub w_ready: bool,
    /// `nb_tready` (false without per-neuron bias).
    pub nb_ready: bool,
    /// `s_tready`.
    pub s_ready: bool,
    /// The beat on `n_*` when `n_tvalid`.
    pub beat: Option<Beat>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Idle,
    Integrate,
    Update,
}

/// The spiking core's ports, cycle by cycle.
#[derive(Debug)]
pub struct LifCycleModel {
    groups: u32,
    weight_words: u64,
    bias_words: u64,
    w_count: u64,
    nb_count: u64,
    phase: Phase,
    group: u32,
    /// Steps whose update has finished.
    steps_done: usize,
    fifo: OutQueue<Beat>,
    cycle: u64,
}

impl LifCycleModel {
    /// The core of `cfg`, before reset.
    pub fn new(cfg: &LifConfig) -> LifCycleModel {
        let g = cfg.groups();
        LifCycleModel {
            groups: g,
            weight_words: u64::from(cfg.axons) * u64::from(g),
            bias_words: if cfg.per_neuron_bias { u64::from(g) } else { 0 },
            w_count: 0,
            nb_count: 0,
            phase: Phase::Idle,
            group: 0,
            steps_done: 0,
            fifo: OutQueue::new(STATE_FIFO_DEPTH),
            cycle: 0,
        }
    }

    fn issue(&self) -> bool {
        match self.phase {
            Phase::Idle => false,
            Phase::Integrate => true,
            Phase::Update => self.fifo.credits > 0,
        }
    }

    fn handover(&self) -> bool {
        self.issue() && self.group == self.groups - 1
    }

    /// This cycle's outputs (valid after the first reset).
    pub fn outputs(&self) -> LifCycleOut {
        let loaded = self.w_count == self.weight_words && self.nb_count == self.bias_words;
        let next_ok = self.handover() && !(self.groups == 1 && self.phase == Phase::Update);
        LifCycleOut {
            w_ready: self.w_count < self.weight_words,
            nb_ready: self.nb_count < self.bias_words,
            s_ready: loaded && (self.phase == Phase::Idle || next_ok),
            beat: self.fifo.out,
        }
    }

    /// The clock edge ending this cycle, with its inputs.
    pub fn edge(&mut self, inp: LifCycleIn) {
        let t = self.cycle;
        self.cycle += 1;
        if inp.rst {
            let cycle = self.cycle;
            *self = LifCycleModel {
                cycle,
                fifo: OutQueue::new(STATE_FIFO_DEPTH),
                w_count: 0,
                nb_count: 0,
                phase: Phase::Idle,
                group: 0,
                steps_done: 0,
                ..*self
            };
            return;
        }
        let out = self.outputs();
        self.w_count += u64::from(inp.w_valid && out.w_ready);
        self.nb_count += u64::from(inp.nb_valid && out.nb_ready);
        let (issue, handover) = (self.issue(), self.handover());
        if issue && self.phase == Phase::Update {
            self.fifo.credits -= 1;
            let beat = Beat {
                step: self.steps_done,
                group: self.group as usize,
                last: handover,
            };
            self.fifo.schedule(t + UPDATE_TO_WRITE, beat);
            self.steps_done += usize::from(handover);
        }
        let take = inp.s_valid && out.s_ready;
        self.phase = match (take, handover) {
            (true, _) if inp.tick => Phase::Update,
            (true, _) => Phase::Integrate,
            (false, true) => Phase::Idle,
            (false, false) => self.phase,
        };
        self.group = if take || handover {
            0
        } else {
            self.group + u32::from(issue)
        };
        self.fifo.edge(t, inp.n_ready);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(neurons: u32, parallel: u32) -> LifConfig {
        LifConfig {
            neurons,
            axons: 2,
            parallel,
            ..LifConfig::default()
        }
    }

    /// Runs reset, the weight load and `events` back to back with `n_tready` high; returns
    /// the cycle (counted from the first after reset) of each accepted event and each beat.
    fn run(c: &LifConfig, events: &[bool]) -> (Vec<u64>, Vec<(u64, Beat)>) {
        let mut m = LifCycleModel::new(c);
        let rst = LifCycleIn {
            rst: true,
            ..LifCycleIn::default()
        };
        m.edge(rst);
        let (mut taken, mut beats, mut next) = (vec![], vec![], 0);
        for t in 0..200 {
            let out = m.outputs();
            let inp = LifCycleIn {
                w_valid: true,
                s_valid: next < events.len(),
                tick: events.get(next).copied().unwrap_or(false),
                n_ready: true,
                ..LifCycleIn::default()
            };
            if inp.s_valid && out.s_ready {
                taken.push(t);
                next += 1;
            }
            if let Some(b) = out.beat {
                beats.push((t, b));
            }
            m.edge(inp);
        }
        (taken, beats)
    }

    #[test]
    fn fifo_depth_is_the_generators() {
        assert_eq!(STATE_FIFO_DEPTH, crate::gen::lif::N_FIFO_DEPTH);
    }

    #[test]
    fn two_groups_take_an_event_every_two_cycles() {
        // 4 weight words (cycles 0..=3), events from cycle 4, each two cycles long; the tick is
        // taken in cycle 8, its update cycles are 9 and 10, the beats are written at the end
        // of 11 and 12 and shown from 13 and 14.
        let (taken, beats) = run(&cfg(4, 2), &[false, false, true]);
        assert_eq!(taken, vec![4, 6, 8]);
        let beat = |group, last| Beat {
            step: 0,
            group,
            last,
        };
        assert_eq!(beats, vec![(13, beat(0, false)), (14, beat(1, true))]);
    }

    #[test]
    fn one_group_waits_a_cycle_after_a_tick() {
        // G = 1: 2 weight words, then an event per cycle, but the event after a tick waits one
        // (tick in 2, update in 3, nothing taken in 3). Beats: written at the end of 5 and 8.
        let (taken, beats) = run(&cfg(2, 2), &[true, false, true]);
        assert_eq!(taken, vec![2, 4, 5]);
        let at: Vec<u64> = beats.iter().map(|b| b.0).collect();
        assert_eq!(at, vec![7, 10]);
        assert_eq!(beats[1].1.step, 1);
    }

    #[test]
    fn updates_wait_for_fifo_credits() {
        // 16 groups, n_tready low: the update issues 8 groups (credits), then stalls.
        let c = cfg(16, 1);
        let mut m = LifCycleModel::new(&c);
        m.edge(LifCycleIn {
            rst: true,
            ..LifCycleIn::default()
        });
        let mut ticks = 0;
        for _ in 0..80 {
            let out = m.outputs();
            let s_valid = ticks == 0;
            ticks += u32::from(s_valid && out.s_ready);
            m.edge(LifCycleIn {
                w_valid: true,
                s_valid,
                tick: true,
                ..LifCycleIn::default()
            });
        }
        assert_eq!(ticks, 1);
        assert!(m.outputs().beat.is_some_and(|b| b.group == 0));
        assert_eq!(m.fifo.credits, 0);
        assert_eq!(m.group, 8, "stalled at the ninth group");
        assert!(!m.outputs().s_ready);
    }
}
