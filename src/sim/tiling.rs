//! Tiling a GEMM of any shape onto the array: the beat streams for each fold, and where each
//! result row goes in C.
//!
//! - OS: one fold per (R-row block of A, C-column block of B); K beats each (a column of A and a
//!   row of B), `a_tlast` on the last; R result rows per fold.
//! - WS: one fold per (C-column block of B, R-deep block of K); a weight tile of up to R rows
//!   (an early `w_tlast` zero-pads a short one), then all M rows of A's matching K block,
//!   `a_tlast` on the last; M partial-result rows per fold, summed over the K blocks here, with
//!   the same wrap-around as the accumulators.
//!
//! Partial tiles are padded with zeros; padded result lanes and rows are dropped.

use crate::config::{ArrayConfig, Dataflow};
use crate::model::io::wrap;
use crate::model::params::ColumnParams;
use crate::model::Matrix;

/// One beat's payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BeatData {
    /// Lane values.
    pub lanes: Vec<i128>,
    /// `tlast`.
    pub last: bool,
}

/// Where an output row goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RowTarget {
    /// Row of C, or `None` for a padding row.
    pub row: Option<usize>,
    /// Column of C of lane 0.
    pub col0: usize,
}

/// The streams of a whole GEMM and the map of its results.
#[derive(Clone, Debug)]
pub struct GemmPlan {
    /// M, K, N.
    pub shape: (usize, usize, usize),
    /// Beats of the A stream.
    pub a_beats: Vec<BeatData>,
    /// Beats of the B (OS) or weight (WS) stream.
    pub b_beats: Vec<BeatData>,
    /// Beats of the parameter stream (npu_core): one per fold, the records of the fold's
    /// columns ([`ColumnParams::beat`]).
    pub param_beats: Vec<BeatData>,
    /// Target of each output row, in output order.
    pub rows: Vec<RowTarget>,
    /// Number of folds.
    pub folds: usize,
}

/// Plans `a` (M x K) times `b` (K x N) on the array.
pub fn plan(cfg: &ArrayConfig, a: &Matrix, b: &Matrix) -> GemmPlan {
    plan_with_params(cfg, a, b, None)
}

/// Plans `a` x `b` on an npu_core: also one parameter beat per fold (`params`: N records).
pub fn plan_with_params(
    cfg: &ArrayConfig,
    a: &Matrix,
    b: &Matrix,
    params: Option<&[ColumnParams]>,
) -> GemmPlan {
    assert_eq!(a.cols, b.rows, "inner dimensions");
    let (m, k, n) = (a.rows, a.cols, b.cols);
    let (r, c) = (cfg.rows as usize, cfg.cols as usize);
    let mut p = GemmPlan {
        shape: (m, k, n),
        a_beats: Vec::new(),
        b_beats: Vec::new(),
        param_beats: Vec::new(),
        rows: Vec::new(),
        folds: 0,
    };
    match cfg.dataflow {
        Dataflow::Os => {
            for mt in 0..m.div_ceil(r) {
                for nt in 0..n.div_ceil(c) {
                    p.folds += 1;
                    push_params(&mut p, params, nt * c, c);
                    for kk in 0..k {
                        p.a_beats.push(BeatData {
                            lanes: (0..r).map(|i| a.get_or_zero(mt * r + i, kk)).collect(),
                            last: kk + 1 == k,
                        });
                        p.b_beats.push(BeatData {
                            lanes: (0..c).map(|j| b.get_or_zero(kk, nt * c + j)).collect(),
                            last: false,
                        });
                    }
                    for i in 0..r {
                        let row = mt * r + i;
                        p.rows.push(RowTarget {
                            row: (row < m).then_some(row),
                            col0: nt * c,
                        });
                    }
                }
            }
        }
        Dataflow::Ws => {
            for nt in 0..n.div_ceil(c) {
                for kt in 0..k.div_ceil(r) {
                    p.folds += 1;
                    push_params(&mut p, params, nt * c, c);
                    let depth = (k - kt * r).min(r);
                    for kr in 0..depth {
                        p.b_beats.push(BeatData {
                            lanes: (0..c)
                                .map(|j| b.get_or_zero(kt * r + kr, nt * c + j))
                                .collect(),
                            last: kr + 1 == depth,
                        });
                    }
                    for mm in 0..m {
                        p.a_beats.push(BeatData {
                            lanes: (0..r).map(|i| a.get_or_zero(mm, kt * r + i)).collect(),
                            last: mm + 1 == m,
                        });
                        p.rows.push(RowTarget {
                            row: Some(mm),
                            col0: nt * c,
                        });
                    }
                }
            }
        }
    }
    p
}

fn push_params(p: &mut GemmPlan, params: Option<&[ColumnParams]>, col0: usize, c: usize) {
    if let Some(params) = params {
        let fold: Vec<ColumnParams> = (0..c)
            .map(|j| params.get(col0 + j).copied().unwrap_or_default())
            .collect();
        p.param_beats.push(BeatData {
            lanes: ColumnParams::beat(&fold),
            last: false,
        });
    }
}

/// Reassembles C from the output rows (in output order), summing partial rows with wrap.
pub fn assemble(cfg: &ArrayConfig, plan: &GemmPlan, rows: &[Vec<i128>]) -> Matrix {
    let (m, _, n) = plan.shape;
    let mut c = Matrix::zeros(m, n);
    for (target, lanes) in plan.rows.iter().zip(rows) {
        let Some(r) = target.row else { continue };
        for (j, v) in lanes.iter().enumerate() {
            let col = target.col0 + j;
            if col < n {
                let cell = c.at_mut(r, col);
                *cell = wrap(cell.wrapping_add(*v), cfg.acc_bits(), cfg.signed);
            }
        }
    }
    c
}

/// An upper estimate of the memory a co-simulated M x K by K x N GEMM holds at once, in bytes:
/// the operands, the beat streams (planned, and copied into the sources), the output rows and
/// two copies of C (reassembled and reference). Exact integer arithmetic, so it never wraps.
pub(crate) fn gemm_memory_bytes(cfg: &ArrayConfig, (m, k, n): (usize, usize, usize)) -> u128 {
    use crate::mem::ELEMENT_BYTES as E;
    const VEC: u128 = 32; // a Vec header plus the beat's flag, padded
    let (m, k, n) = (m as u128, k as u128, n as u128);
    let (r, c) = (u128::from(cfg.rows), u128::from(cfg.cols));
    let beat = |lanes: u128| lanes * E + VEC;
    let (a_beats, b_beats, out_rows) = match cfg.dataflow {
        Dataflow::Os => {
            let folds = m.div_ceil(r) * n.div_ceil(c);
            (folds * k, folds * k, folds * r)
        }
        Dataflow::Ws => {
            let folds = n.div_ceil(c) * k.div_ceil(r);
            (folds * m, n.div_ceil(c) * k, folds * m)
        }
    };
    let streams = 2 * (a_beats * beat(r) + b_beats * beat(c));
    let rows = out_rows * (beat(c) + VEC);
    (m * k + k * n + 2 * m * n) * E + streams + rows
}

/// Multiply-accumulate operations of an M x K by K x N product.
pub fn macs(shape: (usize, usize, usize)) -> u64 {
    shape.0 as u64 * shape.1 as u64 * shape.2 as u64
}
