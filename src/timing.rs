//! The array's timing contract, as functions of the config: the generator's control uses the
//! spacing rules, the manifest publishes every figure, the golden model predicts port timing
//! from them, and co-simulation checks the RTL against that prediction cycle by cycle.
//!
//! Cycle numbering: a beat "accepted in cycle c" has tvalid && tready high during cycle c.
//! Figures assume an always-ready consumer and the default FIFO depth.

use crate::config::{ArrayConfig, Dataflow, PostprocConfig};
use crate::model::requant::Rounding;

/// The most cycles a post-processing pipeline adds to a result row: the deepest rounding
/// mode's ([`postproc_latency`]).
pub const MAX_POSTPROC_LATENCY: u32 = 12;

/// Bias vectors the npu_core holds for tiles in flight; a tile's committing beat waits while
/// the queue is full.
pub const BIAS_QUEUE_DEPTH: u32 = 4;

/// Cycles the post-processing pipeline of a rounding mode adds to every result row (see
/// [`crate::gen::postproc`] for its stages).
pub fn postproc_latency(rounding: Rounding) -> u32 {
    match rounding {
        Rounding::Gemmlowp | Rounding::Optimized => 8,
        Rounding::Reference => 11,
        Rounding::Xnnpack => 12,
    }
}

/// Extra latency of the result path: the post-processing pipeline's, else 0 (what the output
/// FIFO's default depth counts, [`crate::config::ArrayConfig`]).
pub fn post_latency(post: Option<&PostprocConfig>) -> u32 {
    post.map_or(0, |p| postproc_latency(p.rounding))
}

/// OS: minimum distance in cycles between two accepted tile-last beats.
pub(crate) fn os_min_last_gap(cfg: &ArrayConfig) -> u32 {
    2 * cfg.rows - 1
}

/// OS: cycles from accepting a tile's last beat to `c_tvalid` of result row 0 (one input
/// register stage, the array, the drain, the deskew and the FIFO). Row i follows 2*i cycles
/// after row 0.
pub(crate) fn os_first_row_latency(cfg: &ArrayConfig) -> u32 {
    cfg.cols + 5 + cfg.pipeline
}

/// WS: cycles after accepting a tile's first A row before the next weight tile may start
/// shifting in (every PE must have swapped to the current tile first).
pub(crate) fn ws_shadow_free_after(cfg: &ArrayConfig) -> u32 {
    (cfg.rows + cfg.cols).saturating_sub(2).max(1)
}

/// WS: cycles from accepting an A row to `c_tvalid` of its result row.
pub(crate) fn ws_row_latency(cfg: &ArrayConfig) -> u32 {
    cfg.rows + cfg.cols + 2 + cfg.pipeline
}

/// Cycles of the output delay line from an accepted beat to the FIFO write (WS), or from an
/// accepted last beat to row 0's FIFO write (OS).
pub(crate) fn write_delay(cfg: &ArrayConfig) -> u32 {
    match cfg.dataflow {
        Dataflow::Os => cfg.cols + 3 + cfg.pipeline,
        Dataflow::Ws => cfg.rows + cfg.cols + cfg.pipeline,
    }
}

/// Number of folds (array-sized tiles) of an M x K by K x N product.
pub fn folds(cfg: &ArrayConfig, m: u64, k: u64, n: u64) -> u64 {
    let (r, c) = (u64::from(cfg.rows), u64::from(cfg.cols));
    match cfg.dataflow {
        Dataflow::Os => m.div_ceil(r) * n.div_ceil(c),
        Dataflow::Ws => k.div_ceil(r) * n.div_ceil(c),
    }
}

/// Cycles from the first input beat to the last output beat of an M x K by K x N product
/// streamed without gaps (see [`gemm_cycles_formula`]).
pub fn gemm_cycles(cfg: &ArrayConfig, m: u64, k: u64, n: u64) -> u64 {
    let (r, c) = (u64::from(cfg.rows), u64::from(cfg.cols));
    let f = folds(cfg, m, k, n);
    match cfg.dataflow {
        Dataflow::Os => {
            let period = k.max(2 * r - 1);
            (f - 1) * period + k + 2 * r + c + 3 + u64::from(cfg.pipeline)
        }
        Dataflow::Ws => {
            let period = m.max(2 * r + c - 2).max(r + 1);
            (f - 1) * period + 2 * r + c + m + 2 + u64::from(cfg.pipeline)
        }
    }
}

/// The formula of [`gemm_cycles`] as text, for the manifest (`post`: with the
/// post-processing latency added).
pub fn gemm_cycles_formula(cfg: &ArrayConfig, post: Option<&PostprocConfig>) -> String {
    let base = match cfg.dataflow {
        Dataflow::Os => {
            "F = ceil(M/R) * ceil(N/C); cycles = (F - 1) * max(K, 2R - 1) + K + 2R + C + 3"
        }
        Dataflow::Ws => {
            "F = ceil(K/R) * ceil(N/C); cycles = (F - 1) * max(M, 2R + C - 2, R + 1) + 2R + C + M + 2"
        }
    };
    let base = if cfg.pipeline > 0 {
        format!("{base} + {} (pipeline)", cfg.pipeline)
    } else {
        base.to_string()
    };
    if let Some(p) = post {
        format!(
            "{base} + {} (post-processing)",
            postproc_latency(p.rounding)
        )
    } else {
        base.to_string()
    }
}

/// SCALE-Sim v3 compute cycles for the same shape (restarts the pipeline every fold).
pub fn scalesim_cycles(cfg: &ArrayConfig, m: u64, k: u64, n: u64) -> u64 {
    let (r, c) = (u64::from(cfg.rows), u64::from(cfg.cols));
    match cfg.dataflow {
        Dataflow::Os => m.div_ceil(r) * n.div_ceil(c) * (r + c + k - 2) - 1,
        Dataflow::Ws => k.div_ceil(r) * n.div_ceil(c) * (2 * r + c + m - 2) - 1,
    }
}

/// Spiking core: cycles of one time step with `spiking` spike events, at full speed (events
/// arrive back to back, `n_tready` high): every event, the tick included, takes one cycle per
/// neuron group. With a single group the tick takes one cycle more (the update's write-back
/// must land before the next event reads the state).
pub fn lif_step_cycles(cfg: &crate::config::LifConfig, spiking: u64) -> u64 {
    let g = u64::from(cfg.groups());
    (spiking + 1) * g + u64::from(g == 1)
}

/// [`lif_step_cycles`] as text, for the manifest and the `lif` command's summary.
pub(crate) fn lif_step_formula(cfg: &crate::config::LifConfig) -> String {
    match cfg.groups() {
        1 => "S + 2, S = spiking axons of the step (G = ceil(neurons / parallel) = 1: one cycle \
              per event and the tick, plus one for the update's write-back)"
            .to_string(),
        g => format!(
            "(S + 1) * {g}, S = spiking axons of the step (G = ceil(neurons / parallel) = {g})"
        ),
    }
}

/// Spiking core: cycles from accepting a tick to `n_tvalid` of group 0's state; group g
/// follows g cycles later.
pub const LIF_TICK_TO_STATE: u32 = 5;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_deepest_post_pipeline_is_the_bound() {
        let deepest = Rounding::ALL.iter().map(|&r| postproc_latency(r)).max();
        assert_eq!(deepest, Some(MAX_POSTPROC_LATENCY));
    }

    fn cfg(rows: u32, cols: u32, dataflow: Dataflow) -> ArrayConfig {
        ArrayConfig {
            rows,
            cols,
            dataflow,
            ..ArrayConfig::default()
        }
    }

    #[test]
    fn scalesim_reference_example() {
        // docs/references.md: 16x16 array, M=64, N=48, K=40: OS 839, WS 989.
        assert_eq!(scalesim_cycles(&cfg(16, 16, Dataflow::Os), 64, 40, 48), 839);
        assert_eq!(scalesim_cycles(&cfg(16, 16, Dataflow::Ws), 64, 40, 48), 989);
    }

    #[test]
    fn readme_latencies_and_cycle_figures_are_literal() {
        // The README's contract, as literal numbers (co-simulation checks the RTL against
        // these functions, so these pins tie the RTL to the published figures).
        // OS: row i leaves C + 5 + 2i + P cycles after the tile's last beat.
        let mut os = cfg(8, 8, Dataflow::Os);
        assert_eq!(os_first_row_latency(&os), 13);
        os.pipeline = 3;
        assert_eq!(os_first_row_latency(&os), 16);
        assert_eq!(os_min_last_gap(&os), 15);
        // WS: each A row's result leaves R + C + 2 + P cycles later.
        let mut ws = cfg(4, 8, Dataflow::Ws);
        assert_eq!(ws_row_latency(&ws), 14);
        ws.pipeline = 1;
        assert_eq!(ws_row_latency(&ws), 15);
        // README / BENCHMARKS: 16x16, (M, K, N) = (64, 40, 48): OS 531, WS 626 cycles.
        assert_eq!(gemm_cycles(&cfg(16, 16, Dataflow::Os), 64, 40, 48), 531);
        assert_eq!(gemm_cycles(&cfg(16, 16, Dataflow::Ws), 64, 40, 48), 626);
        // 16x16 OS 256^3 (BENCHMARKS): 65587.
        assert_eq!(
            gemm_cycles(&cfg(16, 16, Dataflow::Os), 256, 256, 256),
            65587
        );
    }

    #[test]
    fn overlapped_folds_beat_scalesim_on_multi_fold_shapes() {
        for df in [Dataflow::Os, Dataflow::Ws] {
            let c = cfg(16, 16, df);
            for (m, k, n) in [(64, 40, 48), (256, 256, 256)] {
                assert!(gemm_cycles(&c, m, k, n) < scalesim_cycles(&c, m, k, n));
            }
        }
    }

    #[test]
    fn lif_step_formula_text_agrees_with_the_count() {
        use crate::config::LifConfig;
        let lif = |neurons, parallel| LifConfig {
            neurons,
            parallel,
            ..LifConfig::default()
        };
        // (S + 1) * G, plus one cycle with a single group; S = 3 here.
        assert_eq!(lif_step_cycles(&lif(8, 4), 3), 8);
        assert!(lif_step_formula(&lif(8, 4)).starts_with("(S + 1) * 2,"));
        assert_eq!(lif_step_cycles(&lif(8, 8), 3), 5);
        assert!(lif_step_formula(&lif(8, 8)).starts_with("S + 2,"));
    }
}
