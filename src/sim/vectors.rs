//! Test vectors for an emitted testbench: the input beats of a tiled GEMM and the result rows
//! the golden model produces for them, in order (padding rows included).

use super::run::{run, RunError, RunOptions};
use super::tiling::{plan_with_params, BeatData};
use crate::config::{ArrayConfig, PostprocConfig};
use crate::model::params::ColumnParams;
use crate::model::{ArrayModel, Matrix};

/// Input beats and expected output rows.
#[derive(Clone, Debug)]
pub struct Vectors {
    /// A stream beats.
    pub a: Vec<BeatData>,
    /// B (OS) / weight (WS) stream beats.
    pub b: Vec<BeatData>,
    /// Parameter stream beats (npu_core; empty otherwise).
    pub params: Vec<BeatData>,
    /// Expected result rows, in output order.
    pub c: Vec<BeatData>,
    /// Cycles the model needs at full speed (for a timeout).
    pub cycles: u64,
}

/// The vectors of `a` x `b` on the array (an npu_core with `post` and the columns'
/// `params`), from the golden model.
pub fn vectors(
    cfg: &ArrayConfig,
    post: Option<&PostprocConfig>,
    a: &Matrix,
    b: &Matrix,
    params: Option<&[ColumnParams]>,
) -> Result<Vectors, RunError> {
    let p = plan_with_params(cfg, a, b, post.and(params));
    let mut model = ArrayModel::with_post(cfg, post);
    let res = run(cfg, &p, &mut model, None, &RunOptions::default())?;
    let c = res
        .rows
        .iter()
        .zip(&res.lasts)
        .map(|(lanes, &last)| BeatData {
            lanes: lanes.clone(),
            last,
        })
        .collect();
    Ok(Vectors {
        a: p.a_beats,
        b: p.b_beats,
        params: p.param_beats,
        c,
        cycles: res.total_cycles,
    })
}
