//! The testbench loop: reset, then every cycle drive the sources, step the device under test
//! (the Verilated RTL or the model itself) and the golden model, compare, and collect results.

use super::compare::{compare, Mismatch};
use super::stream::{Source, Stalls};
use super::tiling::GemmPlan;
use crate::config::ArrayConfig;
use crate::model::{ArrayModel, CycleIn, CycleOut};
use crate::rng::Rng;

/// Something with the array's ports that advances one clock cycle at a time.
pub trait Dut {
    /// Applies `inp` for one cycle; returns the outputs during that cycle.
    fn step(&mut self, inp: &CycleIn) -> CycleOut;
}

impl Dut for ArrayModel {
    fn step(&mut self, inp: &CycleIn) -> CycleOut {
        ArrayModel::step(self, inp)
    }
}

/// How to run.
#[derive(Clone, Copy, Debug)]
pub struct RunOptions {
    /// Cycles with `rst` high before streaming (not compared, not counted).
    pub reset_cycles: u32,
    /// Random gaps and back-pressure; `None`: sources always offer, the sink is always ready.
    pub stalls: Option<Stalls>,
    /// Give up after this many cycles without any handshake (a hang).
    pub max_idle_cycles: u64,
    /// Keep running after the first mismatch until this many more cycles (for the waveform).
    pub after_mismatch: u64,
    /// Cycles simulated after the last expected row, every port still compared (the model
    /// says `c_tvalid` stays low), so an extra, repeated or stuck row shows; `None`: the
    /// array's [`drain_tail`].
    pub tail_cycles: Option<u64>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            reset_cycles: 2,
            stalls: None,
            max_idle_cycles: 100_000,
            after_mismatch: 8,
            tail_cycles: None,
        }
    }
}

/// What a run produced.
#[derive(Clone, Debug, Default)]
pub struct RunResult {
    /// Output rows in arrival order (lane values).
    pub rows: Vec<Vec<i128>>,
    /// `c_tlast` of each output row.
    pub lasts: Vec<bool>,
    /// Cycle of the first accepted input beat.
    pub first_in: Option<u64>,
    /// Cycle of the last accepted output beat.
    pub last_out: Option<u64>,
    /// Cycles simulated, reset included.
    pub total_cycles: u64,
    /// First disagreement with the golden model, if one was compared.
    pub mismatch: Option<Mismatch>,
}

impl RunResult {
    /// Cycles from the first input beat to the last output beat, both included.
    pub fn cycles(&self) -> u64 {
        match (self.first_in, self.last_out) {
            (Some(a), Some(b)) => b - a + 1,
            _ => 0,
        }
    }
}

/// Why a run could not finish.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// No handshake for too long.
    #[error("no progress for {idle} cycles at cycle {cycle} ({inputs} of {total_in} input beats accepted, {outputs} of {total_out} result rows received)")]
    Hang {
        /// Idle cycles.
        idle: u64,
        /// Cycle reached.
        cycle: u64,
        /// Input beats accepted.
        inputs: usize,
        /// Input beats in all.
        total_in: usize,
        /// Output rows received.
        outputs: usize,
        /// Output rows expected.
        total_out: usize,
    },
}

/// Cycles after the last expected row in which anything still in the array would have left:
/// the write delay, the post-processing latency, a full output FIFO and 2R cycles of drain
/// (a bound: the deepest post-processing pipeline).
pub fn drain_tail(cfg: &ArrayConfig) -> u64 {
    let post = crate::timing::MAX_POSTPROC_LATENCY;
    u64::from(crate::timing::write_delay(cfg) + post + cfg.fifo_depth(post) + 2 * cfg.rows)
}

/// Streams `plan` through `dut`, comparing with `model` (if given) on every cycle after reset,
/// then runs the drain tail ([`RunOptions::tail_cycles`]) with the sources idle. Rows that
/// arrive beyond the plan's are kept in [`RunResult::rows`] (so callers see the count) and, with
/// a model, are a mismatch on `c_tvalid`.
/// About 90 lines: the cycle loop drives every source, steps the DUT and the model, compares
/// and collects in one place so the order within a cycle is visible.
pub fn run(
    cfg: &ArrayConfig,
    plan: &GemmPlan,
    dut: &mut dyn Dut,
    mut model: Option<&mut ArrayModel>,
    opts: &RunOptions,
) -> Result<RunResult, RunError> {
    let (r, c) = (cfg.rows as usize, cfg.cols as usize);
    let mut a_src = Source::new(plan.a_beats.clone(), r);
    let mut b_src = Source::new(plan.b_beats.clone(), c);
    let mut param_src = Source::new(
        plan.param_beats.clone(),
        c * crate::model::params::PARAM_WORDS,
    );
    let mut rng = opts.stalls.map(|s| Rng::new(s.seed));
    let mut res = RunResult::default();
    let idle_in = CycleIn {
        rst: true,
        a: a_src.offer(Some((&mut Rng::new(0), 0))),
        b: b_src.offer(Some((&mut Rng::new(0), 0))),
        params: param_src.offer(Some((&mut Rng::new(0), 0))),
        c_ready: false,
    };
    let mut cycle = 0u64;
    for _ in 0..opts.reset_cycles {
        dut.step(&idle_in);
        if let Some(m) = model.as_deref_mut() {
            m.step(&idle_in);
        }
        cycle += 1;
    }
    let mut idle = 0u64;
    let mut stop_at: Option<u64> = None;
    let tail = opts.tail_cycles.unwrap_or_else(|| drain_tail(cfg));
    let mut tail_end: Option<u64> = None;
    while tail_end.is_none_or(|t| cycle < t) && stop_at.is_none_or(|s| cycle < s) {
        if tail_end.is_none() && res.rows.len() >= plan.rows.len() {
            tail_end = Some(cycle + tail);
            continue;
        }
        let (offer_pct, ready) = match (&mut rng, opts.stalls) {
            (Some(g), Some(s)) => (
                Some(s.offer_percent),
                g.range(0, 99) < i64::from(s.ready_percent),
            ),
            _ => (None, true),
        };
        let inp = CycleIn {
            rst: false,
            a: a_src.offer(rng.as_mut().zip(offer_pct)),
            b: b_src.offer(rng.as_mut().zip(offer_pct)),
            params: param_src.offer(rng.as_mut().zip(offer_pct)),
            c_ready: ready,
        };
        let out = dut.step(&inp);
        if let Some(m) = model.as_deref_mut() {
            let exp = m.step(&inp);
            if res.mismatch.is_none() {
                let target = plan.rows.get(res.rows.len()).copied();
                if let Some(mm) = compare(cycle, &exp, &out, target) {
                    res.mismatch = Some(mm);
                    stop_at = Some(cycle + 1 + opts.after_mismatch);
                }
            }
        }
        let a_hs = inp.a.valid && out.a_ready;
        let b_hs = inp.b.valid && out.b_ready;
        let c_hs = out.c_valid && inp.c_ready;
        a_src.handshake(a_hs);
        b_src.handshake(b_hs);
        param_src.handshake(inp.params.valid && out.param_ready);
        if (a_hs || b_hs) && res.first_in.is_none() {
            res.first_in = Some(cycle);
        }
        if c_hs {
            res.rows.push(out.c_lanes.clone());
            res.lasts.push(out.c_last);
            res.last_out = Some(cycle);
        }
        idle = if a_hs || b_hs || c_hs { 0 } else { idle + 1 };
        cycle += 1;
        if idle > opts.max_idle_cycles && tail_end.is_none() {
            return Err(RunError::Hang {
                idle,
                cycle,
                inputs: a_src.accepted() + b_src.accepted(),
                total_in: plan.a_beats.len() + plan.b_beats.len(),
                outputs: res.rows.len(),
                total_out: plan.rows.len(),
            });
        }
    }
    res.total_cycles = cycle;
    Ok(res)
}
