//! Driving the Verilated spiking core: load the synapse weights (and per-neuron biases), then
//! for every time step the spike events and a tick; collect every group's state and the cycles
//! each step took. The caller compares the states with [`crate::model::lif::run_core`].

use super::ports::{pack_lanes, unpack_lanes, PortSlot};
use super::stream::Stalls;
use super::verilator::{SimError, Verilated};
use crate::config::LifConfig;
use crate::gen::lif::axon_bits;
use crate::model::lif::LifTrace;
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
    /// `n_tlast` was not on the last group of a step.
    #[error("n_tlast is wrong on state beat {0}")]
    Framing(usize),
    /// The model lacks a port.
    #[error(transparent)]
    Sim(#[from] SimError),
    /// No progress.
    #[error("the spiking core made no progress for {0} cycles")]
    Hang(u64),
}

fn slot(sim: &Verilated, name: &str, input: bool) -> Result<PortSlot, SimError> {
    let found = if input {
        sim.layout.input(name)
    } else {
        sim.layout.output(name)
    };
    found.cloned().ok_or_else(|| SimError::Load {
        path: "model".into(),
        detail: format!("the top has no port {name}"),
    })
}

/// Runs `spikes` (T x axons, 0/1) through the core with `weights` (axons x neurons) and, with
/// per-neuron bias, `bias` (neurons mantissas). `stalls` adds gaps and back-pressure.
pub fn run_lif(
    cfg: &LifConfig,
    sim: &mut Verilated,
    spikes: &Matrix,
    weights: &Matrix,
    bias: Option<&[i128]>,
    stalls: Option<Stalls>,
) -> Result<LifRun, LifRunError> {
    let (n, p, g) = (
        cfg.neurons as usize,
        cfg.parallel as usize,
        cfg.groups() as usize,
    );
    let axw = axon_bits(cfg);
    let rst = slot(sim, "rst", true)?;
    let (w_d, w_v, w_r) = (
        slot(sim, "w_tdata", true)?,
        slot(sim, "w_tvalid", true)?,
        slot(sim, "w_tready", false)?,
    );
    let nb = if cfg.per_neuron_bias {
        Some((
            slot(sim, "nb_tdata", true)?,
            slot(sim, "nb_tvalid", true)?,
            slot(sim, "nb_tready", false)?,
        ))
    } else {
        None
    };
    let (s_d, s_v, s_r) = (
        slot(sim, "s_tdata", true)?,
        slot(sim, "s_tvalid", true)?,
        slot(sim, "s_tready", false)?,
    );
    let (n_d, n_v, n_r, n_l) = (
        slot(sim, "n_tdata", false)?,
        slot(sim, "n_tvalid", false)?,
        slot(sim, "n_tready", true)?,
        slot(sim, "n_tlast", false)?,
    );
    // The streams, as words to send.
    let lane_of = |m: &Matrix, r: usize, col: usize| if col < m.cols { m.at(r, col) } else { 0 };
    let w_words: Vec<Vec<i128>> = (0..cfg.axons as usize)
        .flat_map(|a| (0..g).map(move |gi| (a, gi)))
        .map(|(a, gi)| (0..p).map(|k| lane_of(weights, a, gi * p + k)).collect())
        .collect();
    let nb_words: Vec<Vec<i128>> = match bias {
        Some(b) => (0..g)
            .map(|gi| {
                (0..p)
                    .map(|k| b.get(gi * p + k).copied().unwrap_or(0))
                    .collect()
            })
            .collect(),
        None => Vec::new(),
    };
    let mut events: Vec<(bool, u64)> = Vec::new();
    let mut spiking = Vec::new();
    for t in 0..spikes.rows {
        let mut count = 0;
        for a in 0..spikes.cols {
            if spikes.at(t, a) != 0 {
                events.push((false, a as u64));
                count += 1;
            }
        }
        events.push((true, 0));
        spiking.push(count);
    }
    let mut rng = stalls.map(|s| Rng::new(s.seed));
    let chance = |rng: &mut Option<Rng>, pct: Option<u8>| match (rng.as_mut(), pct) {
        (Some(r), Some(p)) => r.range(0, 99) < i64::from(p),
        _ => true,
    };
    let (mut wi, mut nbi, mut ei) = (0usize, 0usize, 0usize);
    let (mut w_off, mut nb_off, mut e_off) = (false, false, false);
    let mut states: Vec<GroupState> = Vec::new();
    let mut ticks: Vec<u64> = Vec::new();
    let mut load_done: Option<u64> = None;
    let (mut cycle, mut idle) = (0u64, 0u64);
    let total_beats = spikes.rows * g;
    let set = |words: &mut [u32], s: &PortSlot, v: bool| words[s.offset] = u32::from(v);
    while states.len() < total_beats {
        let offer = stalls.map(|s| s.offer_percent);
        let reset = cycle < 2;
        let inputs = sim.inputs_mut();
        set(inputs, &rst, reset);
        if !reset {
            w_off |= wi < w_words.len() && chance(&mut rng, offer);
            nb_off |= nbi < nb_words.len() && chance(&mut rng, offer);
            e_off |= ei < events.len() && chance(&mut rng, offer);
        }
        let empty = Vec::new();
        let w = w_words.get(wi).unwrap_or(&empty);
        pack_lanes(
            &mut inputs[w_d.offset..w_d.offset + w_d.words()],
            w,
            cfg.weight_bits,
        );
        set(inputs, &w_v, w_off && !reset);
        if let Some((d, v, _)) = &nb {
            let word = nb_words.get(nbi).unwrap_or(&empty);
            pack_lanes(
                &mut inputs[d.offset..d.offset + d.words()],
                word,
                crate::config::BIAS_MANT_BITS,
            );
            set(inputs, v, nb_off && !reset);
        }
        let (tick, axon) = events.get(ei).copied().unwrap_or((false, 0));
        let ev = (u128::from(tick) << axw) | u128::from(axon);
        pack_lanes(
            &mut inputs[s_d.offset..s_d.offset + s_d.words()],
            &[ev as i128],
            axw + 1,
        );
        set(inputs, &s_v, e_off && !reset);
        let ready = reset || chance(&mut rng, stalls.map(|s| s.ready_percent));
        set(inputs, &n_r, ready);
        sim.step();
        let out = sim.outputs();
        let bit = |s: &PortSlot| out[s.offset] & 1 == 1;
        let mut progress = false;
        if !reset {
            if w_off && bit(&w_r) {
                wi += 1;
                w_off = false;
                progress = true;
            }
            if let Some((_, _, r)) = &nb {
                if nb_off && bit(r) {
                    nbi += 1;
                    nb_off = false;
                    progress = true;
                }
            }
            if e_off && bit(&s_r) {
                if load_done.is_none() {
                    load_done = Some(cycle);
                }
                if tick {
                    ticks.push(cycle);
                }
                ei += 1;
                e_off = false;
                progress = true;
            }
            if bit(&n_v) && ready {
                let words = &out[n_d.offset..n_d.offset + n_d.words()];
                let sb = crate::config::STATE_BITS;
                let bits = p as u32 * sb;
                let u = unpack_lanes(words, p, sb, true);
                let v = unpack_lanes(&shift_words(words, bits), p, sb, true);
                let sp = unpack_lanes(&shift_words(words, 2 * bits), p, 1, false);
                if bit(&n_l) != (states.len() % g == g - 1) {
                    return Err(LifRunError::Framing(states.len()));
                }
                states.push(GroupState { u, v, spikes: sp });
                progress = true;
            }
        }
        cycle += 1;
        idle = if progress || reset { 0 } else { idle + 1 };
        if idle > 100_000 {
            return Err(LifRunError::Hang(idle));
        }
    }
    let mut trace = LifTrace {
        u: Matrix::zeros(spikes.rows, n),
        v: Matrix::zeros(spikes.rows, n),
        spikes: Matrix::zeros(spikes.rows, n),
    };
    for (i, st) in states.iter().enumerate() {
        let (t, gi) = (i / g, i % g);
        for k in 0..p {
            let neuron = gi * p + k;
            if neuron < n {
                *trace.u.at_mut(t, neuron) = st.u[k];
                *trace.v.at_mut(t, neuron) = st.v[k];
                *trace.spikes.at_mut(t, neuron) = st.spikes[k];
            }
        }
    }
    let step_cycles = ticks.windows(2).map(|w| w[1] - w[0]).collect();
    let first_step_cycles = (
        ticks
            .first()
            .zip(load_done)
            .map_or(0, |(t, first)| t - first),
        spiking.first().copied().unwrap_or(0) * g as u64,
    );
    let formula_cycles = spiking[1..]
        .iter()
        .map(|&s| timing::lif_step_cycles(cfg, s))
        .collect();
    Ok(LifRun {
        trace,
        step_cycles,
        formula_cycles,
        first_step_cycles,
        load_cycles: load_done.unwrap_or(cycle) - 2,
        total_cycles: cycle,
    })
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
