//! Comparing the simulated RTL with the golden model, cycle by cycle.
//!
//! Every output is compared on every cycle after reset; `c_tdata` and `c_tlast` only while
//! `c_tvalid` is high (AXI-Stream defines the payload only then).

use std::fmt;

use super::tiling::RowTarget;
use crate::model::CycleOut;

/// The first disagreement between the RTL and the model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    /// Cycle (counted from the start of the simulation, reset included).
    pub cycle: u64,
    /// Port that differs.
    pub port: &'static str,
    /// Row of C of a `c_tdata` mismatch (None: a padding row or another port).
    pub row: Option<usize>,
    /// Column of C of a `c_tdata` mismatch.
    pub col: Option<usize>,
    /// Lane of `c_tdata`.
    pub lane: Option<usize>,
    /// Expected value (from the model).
    pub expected: i128,
    /// Value the RTL produced.
    pub actual: i128,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "mismatch at cycle {}: {}", self.cycle, self.port)?;
        if let Some(l) = self.lane {
            write!(f, " lane {l}")?;
        }
        match (self.row, self.col) {
            (Some(r), Some(c)) => write!(f, " (C row {r}, col {c})")?,
            (None, Some(c)) => write!(f, " (padding row, col {c})")?,
            _ => {}
        }
        write!(f, ": expected {}, actual {}", self.expected, self.actual)
    }
}

/// Compares one cycle; `target` is where the row on `c_tdata` belongs (if known).
pub fn compare(
    cycle: u64,
    exp: &CycleOut,
    act: &CycleOut,
    target: Option<RowTarget>,
) -> Option<Mismatch> {
    let flag = |port: &'static str, e: bool, a: bool| {
        (e != a).then_some(Mismatch {
            cycle,
            port,
            row: None,
            col: None,
            lane: None,
            expected: i128::from(e),
            actual: i128::from(a),
        })
    };
    flag("a_tready", exp.a_ready, act.a_ready)
        .or_else(|| flag("b_tready / w_tready", exp.b_ready, act.b_ready))
        .or_else(|| flag("param_tready", exp.param_ready, act.param_ready))
        .or_else(|| flag("c_tvalid", exp.c_valid, act.c_valid))
        .or_else(|| {
            if !exp.c_valid {
                return None;
            }
            flag("c_tlast", exp.c_last, act.c_last).or_else(|| {
                let lane = exp
                    .c_lanes
                    .iter()
                    .zip(&act.c_lanes)
                    .position(|(e, a)| e != a)?;
                Some(Mismatch {
                    cycle,
                    port: "c_tdata",
                    row: target.and_then(|t| t.row),
                    col: target.map(|t| t.col0 + lane),
                    lane: Some(lane),
                    expected: exp.c_lanes[lane],
                    actual: act.c_lanes[lane],
                })
            })
        })
}
