//! Driving the Verilated spiking core: load the synapse weights (and per-neuron biases), then
//! for every time step the spike events and a tick; collect every group's state and the cycles
//! each step took. The caller compares the states with [`crate::model::lif::run_core`].

use super::ports::{pack_lanes, unpack_lanes, PortSlot};
use super::stream::Stalls;
use super::verilator::{SimError, Verilated};
use crate::config::{LifConfig, BIAS_MANT_BITS, STATE_BITS};
use crate::gen::lif::axon_bits;
use crate::model::lif::LifTrace;
use crate::model::lif_cycle::{LifCycleIn, LifCycleModel, LifCycleOut, STATE_FIFO_DEPTH};
use crate::model::Matrix;
use crate::rng::Rng;
use crate::timing;

/// What a run of the core produced.
#[derive(Clone, Debug)]
pub struct LifRun {
    /// u, v and spikes after every step, from the RTL.
    pub trace: LifTrace,
    /// Cycles between consecutive ticks (step t for t >= 1), measured in the RTL.
    pub step_cycles: Vec<u64>,
    /// The formula's cycles for the same steps.
    pub formula_cycles: Vec<u64>,
    /// Step 0: cycles from its first accepted event to its tick (its events only; no
    /// update precedes it), measured, and as the formula S0 * G says.
    pub first_step_cycles: (u64, u64),
    /// Cycles spent loading weights and biases after reset.
    pub load_cycles: u64,
    /// Cycles simulated in all.
    pub total_cycles: u64,
}

/// One `n_*` beat: a neuron group's state after a step.
struct GroupState {
    u: Vec<i128>,
    v: Vec<i128>,
    spikes: Vec<i128>,
}

/// Why a run could not finish.
#[derive(Debug, thiserror::Error)]
pub enum LifRunError {
    /// A handshake port differs from the cycle model's (cycles counted from 0, reset included).
    #[error("cycle {cycle}: {port} is {rtl} in the RTL, the cycle model says {model}")]
    Port {
        /// Cycle of the difference.
        cycle: u64,
        /// The port.
        port: &'static str,
        /// Its value in the RTL.
        rtl: bool,
        /// The model's value.
        model: bool,
    },
    /// The model lacks a port.
    #[error(transparent)]
    Sim(#[from] SimError),
    /// No progress.
    #[error("the spiking core made no progress for {0} cycles")]
    Hang(u64),
}

/// Every port of the core, as slots in the model's word arrays.
struct Slots {
    rst: PortSlot,
    /// `*_tdata`, `*_tvalid`, `*_tready` of the weight, bias and event streams.
    w: (PortSlot, PortSlot, PortSlot),
    nb: Option<(PortSlot, PortSlot, PortSlot)>,
    s: (PortSlot, PortSlot, PortSlot),
    /// `n_tdata`, `n_tvalid`, `n_tready`, `n_tlast`.
    n: (PortSlot, PortSlot, PortSlot, PortSlot),
}

impl Slots {
    /// Finds the core's ports and checks that the harness handles every port of the layout.
    fn find(sim: &Verilated, cfg: &LifConfig) -> Result<Slots, SimError> {
        let l = &sim.layout;
        let get = |name: &str, input: bool| {
            if input {
                l.find_input(name)
            } else {
                l.find_output(name)
            }
        };
        let stream = |p: &str| -> Result<(PortSlot, PortSlot, PortSlot), SimError> {
            Ok((
                get(&format!("{p}_tdata"), true)?,
                get(&format!("{p}_tvalid"), true)?,
                get(&format!("{p}_tready"), false)?,
            ))
        };
        let slots = Slots {
            rst: get("rst", true)?,
            w: stream("w")?,
            nb: if cfg.per_neuron_bias {
                Some(stream("nb")?)
            } else {
                None
            },
            s: stream("s")?,
            n: (
                get("n_tdata", false)?,
                get("n_tvalid", false)?,
                get("n_tready", true)?,
                get("n_tlast", false)?,
            ),
        };
        let mut driven = vec![slots.rst.name.as_str(), &slots.n.2.name];
        let mut compared = vec![slots.n.0.name.as_str(), &slots.n.1.name, &slots.n.3.name];
        for (d, v, r) in [Some(&slots.w), slots.nb.as_ref(), Some(&slots.s)]
            .into_iter()
            .flatten()
        {
            driven.extend([d.name.as_str(), &v.name]);
            compared.push(&r.name);
        }
        l.check_handled(&driven, &compared)?;
        Ok(slots)
    }
}

/// The words the driver sends.
struct Streams {
    /// Weight words in load order: (axon, group), lane k = W[axon][group * P + k].
    w: Vec<Vec<i128>>,
    /// Bias words, one per group.
    nb: Vec<Vec<i128>>,
    /// Events: (tick, axon).
    events: Vec<(bool, u64)>,
    /// Spiking axons per step.
    spiking: Vec<u64>,
}

impl Streams {
    fn new(cfg: &LifConfig, spikes: &Matrix, weights: &Matrix, bias: Option<&[i128]>) -> Streams {
        let (p, g) = (cfg.parallel as usize, cfg.groups() as usize);
        let lane_of =
            |m: &Matrix, r: usize, col: usize| if col < m.cols { m.at(r, col) } else { 0 };
        let w = (0..cfg.axons as usize)
            .flat_map(|a| (0..g).map(move |gi| (a, gi)))
            .map(|(a, gi)| (0..p).map(|k| lane_of(weights, a, gi * p + k)).collect())
            .collect();
        let nb = bias.map_or_else(Vec::new, |b| {
            (0..g)
                .map(|gi| {
                    (0..p)
                        .map(|k| b.get(gi * p + k).copied().unwrap_or(0))
                        .collect()
                })
                .collect()
        });
        let (mut events, mut spiking) = (Vec::new(), Vec::new());
        for t in 0..spikes.rows {
            let before = events.len();
            events.extend(
                (0..spikes.cols)
                    .filter(|&a| spikes.at(t, a) != 0)
                    .map(|a| (false, a as u64)),
            );
            spiking.push((events.len() - before) as u64);
            events.push((true, 0));
        }
        Streams {
            w,
            nb,
            events,
            spiking,
        }
    }
}

/// The driver's place in each stream, and what it offers this cycle.
struct Driver {
    /// Next word of the weight, bias and event streams.
    next: [usize; 3],
    /// Whether each stream's `*_tvalid` is up (held until taken).
    offer: [bool; 3],
    rng: Option<Rng>,
    stalls: Option<Stalls>,
}

impl Driver {
    fn chance(&mut self, pct: Option<u8>) -> bool {
        match (self.rng.as_mut(), pct) {
            (Some(r), Some(p)) => r.range(0, 99) < i64::from(p),
            _ => true,
        }
    }

    /// Advances each stream whose offer was taken (`ready`); true if any was.
    fn taken(&mut self, ready: [bool; 3]) -> bool {
        let mut any = false;
        for ((next, offer), ready) in self.next.iter_mut().zip(&mut self.offer).zip(ready) {
            if *offer && ready {
                *next += 1;
                *offer = false;
                any = true;
            }
        }
        any
    }

    /// Decides this cycle's offers and `n_tready`, and writes every input port.
    fn drive(
        &mut self,
        cfg: &LifConfig,
        st: &Streams,
        slots: &Slots,
        inputs: &mut [u32],
        reset: bool,
    ) -> LifCycleIn {
        let lens = [st.w.len(), st.nb.len(), st.events.len()];
        if !reset {
            for (i, len) in lens.into_iter().enumerate() {
                let pct = self.stalls.map(|s| s.offer_percent);
                self.offer[i] |= self.next[i] < len && self.chance(pct);
            }
        }
        let n_ready = reset || self.chance(self.stalls.map(|s| s.ready_percent));
        let set = |words: &mut [u32], s: &PortSlot, v: bool| words[s.offset] = u32::from(v);
        let data = |words: &mut [u32], s: &PortSlot, lanes: &[i128], width: u32| {
            pack_lanes(&mut words[s.offset..s.offset + s.words()], lanes, width);
        };
        let empty = Vec::new();
        set(inputs, &slots.rst, reset);
        data(
            inputs,
            &slots.w.0,
            st.w.get(self.next[0]).unwrap_or(&empty),
            cfg.weight_bits,
        );
        set(inputs, &slots.w.1, self.offer[0] && !reset);
        if let Some((d, v, _)) = &slots.nb {
            let word = st.nb.get(self.next[1]).unwrap_or(&empty);
            data(inputs, d, word, BIAS_MANT_BITS);
            set(inputs, v, self.offer[1] && !reset);
        }
        let (tick, axon) = st.events.get(self.next[2]).copied().unwrap_or((false, 0));
        let axw = axon_bits(cfg);
        let ev = (u128::from(tick) << axw) | u128::from(axon);
        data(inputs, &slots.s.0, &[ev as i128], axw + 1);
        set(inputs, &slots.s.1, self.offer[2] && !reset);
        set(inputs, &slots.n.2, n_ready);
        LifCycleIn {
            rst: reset,
            w_valid: self.offer[0] && !reset,
            nb_valid: self.offer[1] && !reset,
            s_valid: self.offer[2] && !reset,
            tick,
            n_ready,
        }
    }
}

/// The handshake outputs of one cycle, by port name (`n_tlast` only while `n_tvalid`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Handshake([(&'static str, bool); 5]);

impl Handshake {
    fn new(w_ready: bool, nb_ready: bool, s_ready: bool, n_valid: bool, n_last: bool) -> Self {
        Handshake([
            ("w_tready", w_ready),
            ("nb_tready", nb_ready),
            ("s_tready", s_ready),
            ("n_tvalid", n_valid),
            ("n_tlast", n_valid && n_last),
        ])
    }

    /// The RTL's, read from the output words.
    fn observed(slots: &Slots, out: &[u32]) -> Handshake {
        let bit = |s: &PortSlot| out[s.offset] & 1 == 1;
        Handshake::new(
            bit(&slots.w.2),
            slots.nb.as_ref().is_some_and(|(_, _, r)| bit(r)),
            bit(&slots.s.2),
            bit(&slots.n.1),
            bit(&slots.n.3),
        )
    }

    /// The cycle model's.
    fn expected(o: &LifCycleOut) -> Handshake {
        let last = o.beat.is_some_and(|b| b.last);
        Handshake::new(o.w_ready, o.nb_ready, o.s_ready, o.beat.is_some(), last)
    }

    fn get(&self, port: &str) -> bool {
        let found = self.0.iter().find(|(p, _)| *p == port);
        found
            .unwrap_or_else(|| panic!("no handshake port {port}"))
            .1
    }

    /// The first port that differs from `model`'s, as an error.
    fn compare(&self, cycle: u64, model: &Handshake) -> Result<(), LifRunError> {
        match self.0.iter().zip(model.0).find(|((_, r), (_, m))| r != m) {
            Some(((port, rtl), (_, model))) => Err(LifRunError::Port {
                cycle,
                port,
                rtl: *rtl,
                model,
            }),
            None => Ok(()),
        }
    }
}

/// Cycles simulated after the last state beat, in which no port may move: more than an
/// update's latency to the FIFO, the FIFO's depth and a group walk.
fn drain_tail(cfg: &LifConfig) -> u64 {
    4 + u64::from(STATE_FIFO_DEPTH) + u64::from(cfg.groups())
}

/// Runs `spikes` (T x axons, 0/1) through the core with `weights` (axons x neurons) and, with
/// per-neuron bias, `bias` (neurons mantissas). `stalls` adds gaps and back-pressure. Every
/// handshake port is compared with [`LifCycleModel`] each cycle, through a drain tail after
/// the last beat; the state beats' values are returned for the caller to compare with
/// [`crate::model::lif::run_core`].
pub fn run_lif(
    cfg: &LifConfig,
    sim: &mut Verilated,
    spikes: &Matrix,
    weights: &Matrix,
    bias: Option<&[i128]>,
    stalls: Option<Stalls>,
) -> Result<LifRun, LifRunError> {
    let g = cfg.groups() as usize;
    let slots = Slots::find(sim, cfg)?;
    let st = Streams::new(cfg, spikes, weights, bias);
    let mut driver = Driver {
        next: [0; 3],
        offer: [false; 3],
        rng: stalls.map(|s| Rng::new(s.seed)),
        stalls,
    };
    let mut model = LifCycleModel::new(cfg);
    let mut states: Vec<GroupState> = Vec::new();
    let (mut ticks, mut load_done) = (Vec::new(), None);
    let (mut cycle, mut idle, mut finished) = (0u64, 0u64, None);
    let total_beats = spikes.rows * g;
    while finished.is_none_or(|end| cycle < end + drain_tail(cfg)) {
        let reset = cycle < 2;
        let inp = driver.drive(cfg, &st, &slots, sim.inputs_mut(), reset);
        sim.step();
        let rtl = Handshake::observed(&slots, sim.outputs());
        let expected = Handshake::expected(&model.outputs());
        model.edge(inp);
        let mut progress = reset;
        if !reset {
            rtl.compare(cycle, &expected)?;
            let s_ready = rtl.get("s_tready");
            progress |= driver.taken([rtl.get("w_tready"), rtl.get("nb_tready"), s_ready]);
            if inp.s_valid && s_ready {
                load_done.get_or_insert(cycle);
                if inp.tick {
                    ticks.push(cycle);
                }
            }
            if rtl.get("n_tvalid") && inp.n_ready {
                states.push(state_beat(cfg, &slots, sim.outputs()));
                progress = true;
            }
        }
        cycle += 1;
        if finished.is_none() && states.len() == total_beats {
            finished = Some(cycle);
        }
        idle = if progress { 0 } else { idle + 1 };
        if finished.is_none() && idle > 100_000 {
            return Err(LifRunError::Hang(idle));
        }
    }
    let end = finished.unwrap_or(cycle);
    Ok(LifRun {
        trace: assemble(cfg, spikes.rows, &states),
        step_cycles: ticks.windows(2).map(|w| w[1] - w[0]).collect(),
        formula_cycles: st.spiking[1..]
            .iter()
            .map(|&s| timing::lif_step_cycles(cfg, s))
            .collect(),
        first_step_cycles: (
            ticks
                .first()
                .zip(load_done)
                .map_or(0, |(t, first)| t - first),
            st.spiking.first().copied().unwrap_or(0) * g as u64,
        ),
        load_cycles: load_done.unwrap_or(end) - 2,
        total_cycles: end,
    })
}

/// The group state on `n_tdata`: `{spikes[P], v[P], u[P]}`.
fn state_beat(cfg: &LifConfig, slots: &Slots, out: &[u32]) -> GroupState {
    let (p, sb) = (cfg.parallel as usize, STATE_BITS);
    let d = &slots.n.0;
    let words = &out[d.offset..d.offset + d.words()];
    let bits = p as u32 * sb;
    GroupState {
        u: unpack_lanes(words, p, sb, true),
        v: unpack_lanes(&shift_words(words, bits), p, sb, true),
        spikes: unpack_lanes(&shift_words(words, 2 * bits), p, 1, false),
    }
}

/// The beats of `steps` steps as u, v and spike matrices (steps x neurons).
fn assemble(cfg: &LifConfig, steps: usize, states: &[GroupState]) -> LifTrace {
    let (n, p, g) = (
        cfg.neurons as usize,
        cfg.parallel as usize,
        cfg.groups() as usize,
    );
    let mut trace = LifTrace {
        u: Matrix::zeros(steps, n),
        v: Matrix::zeros(steps, n),
        spikes: Matrix::zeros(steps, n),
    };
    for (i, st) in states.iter().enumerate() {
        let (t, gi) = (i / g, i % g);
        for k in (0..p).filter(|k| gi * p + k < n) {
            let neuron = gi * p + k;
            *trace.u.at_mut(t, neuron) = st.u[k];
            *trace.v.at_mut(t, neuron) = st.v[k];
            *trace.spikes.at_mut(t, neuron) = st.spikes[k];
        }
    }
    trace
}

/// `words` shifted right by `bits` (so a field starting at `bits` starts at 0).
fn shift_words(words: &[u32], bits: u32) -> Vec<u32> {
    let (skip, sh) = ((bits / 32) as usize, bits % 32);
    (0..words.len())
        .map(|i| {
            let lo = words.get(i + skip).copied().unwrap_or(0);
            let hi = words.get(i + skip + 1).copied().unwrap_or(0);
            if sh == 0 {
                lo
            } else {
                (lo >> sh) | (hi << (32 - sh))
            }
        })
        .collect()
}
