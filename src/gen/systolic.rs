//! The PE grid and the skew / deskew registers around it.
//!
//! Skew: lane i of an input bus is delayed i cycles so that the diagonal wavefront of a
//! systolic array sees matching operands; users feed plain rows and columns. Deskew: column j
//! of the result is delayed (cols - 1 - j) cycles so that a whole result row leaves at once.

use super::names::Names;
use super::pe::clock_conns;
use crate::config::ArrayConfig;
use crate::rtl::{Conn, Expr, ModuleBuilder, Ty};

/// Lane `i` (bits `[i*w +: w]`) of the packed bus `bus`, reinterpreted with `ty`'s signedness.
pub fn lane(bus: &Expr, i: u32, ty: Ty) -> Expr {
    let lo = i * ty.width;
    bus.slice_as(lo + ty.width - 1, lo, ty.signed)
}

/// A register chain `{prefix}_1 .. {prefix}_n` fed by `x` ([`ModuleBuilder::delays`]);
/// element t is `x` delayed t cycles (element 0 is `x` itself).
pub(crate) fn delay_line(b: &mut ModuleBuilder, prefix: &str, x: Expr, n: u32) -> Vec<Expr> {
    b.delays(|t| format!("{prefix}_{t}"), x, n)
}

/// Delays lane i by `delay(i)` cycles through registers `{prefix}{i}_{stage}`.
fn delay_lanes(
    b: &mut ModuleBuilder,
    prefix: &str,
    lanes: Vec<Expr>,
    delay: impl Fn(u32) -> u32,
) -> Vec<Expr> {
    lanes
        .into_iter()
        .enumerate()
        .map(|(i, x)| {
            let i = i as u32;
            b.delayed(|t| format!("{prefix}{i}_{t}"), x, delay(i))
        })
        .collect()
}

/// Input skew: lane i delayed i cycles.
pub fn skew(b: &mut ModuleBuilder, prefix: &str, lanes: Vec<Expr>) -> Vec<Expr> {
    delay_lanes(b, prefix, lanes, |i| i)
}

/// Output deskew: lane j of n delayed n - 1 - j cycles.
pub fn deskew(b: &mut ModuleBuilder, prefix: &str, lanes: Vec<Expr>) -> Vec<Expr> {
    let n = lanes.len() as u32;
    delay_lanes(b, prefix, lanes, |j| n - 1 - j)
}

/// Name of the wire carrying output `kind` of PE (i, j); `_unused` marks outputs at the array
/// edge that nothing reads (Verilator's default `--unused-regexp` is `*unused*`).
fn pe_wire(kind: &str, i: u32, j: u32, unused: bool) -> String {
    let suffix = if unused { "_unused" } else { "" };
    format!("pe_{kind}_r{i}_c{j}{suffix}")
}

fn pe_output(b: &mut ModuleBuilder, kind: &str, i: u32, j: u32, unused: bool, ty: Ty) -> Conn {
    let name = pe_wire(kind, i, j, unused);
    b.declare_wire(&name, ty);
    Conn::Output(name)
}

/// The PE module of cell (i, j): the DSP variant for the first `dsp_pes` cells (row-major),
/// the logic-multiplier variant after that.
fn pe_module<'a>(names: &'a Names, cfg: &ArrayConfig, i: u32, j: u32) -> &'a str {
    if i * cfg.cols + j < cfg.dsp_pe_count() {
        &names.pe
    } else {
        &names.pe_lut
    }
}

/// Output-stationary grid. `a_rows[i]`/`l_rows[i]` enter row i from the left (already skewed),
/// `b_cols[j]` enters column j from the top. Returns each column's drain output (row 0's sh).
pub(crate) fn os_grid(
    b: &mut ModuleBuilder,
    cfg: &ArrayConfig,
    names: &Names,
    a_rows: &[Expr],
    l_rows: &[Expr],
    b_cols: &[Expr],
) -> Vec<Expr> {
    let t = super::pe::PeTypes::of(cfg);
    let (rows, cols) = (cfg.rows, cfg.cols);
    for i in 0..rows {
        for j in 0..cols {
            let (a_in, l_in) = if j == 0 {
                (a_rows[i as usize].clone(), l_rows[i as usize].clone())
            } else {
                (
                    Expr::sig(pe_wire("a", i, j - 1, false), t.a),
                    Expr::sig(pe_wire("l", i, j - 1, false), Ty::BIT),
                )
            };
            let b_in = if i == 0 {
                b_cols[j as usize].clone()
            } else {
                Expr::sig(pe_wire("b", i - 1, j, false), t.b)
            };
            let sh_in = if i + 1 < rows {
                Expr::sig(pe_wire("sh", i + 1, j, false), t.acc)
            } else {
                Expr::zero(t.acc)
            };
            let right_edge = j + 1 == cols;
            let mut conns = clock_conns();
            conns.extend([
                ("a_in", Conn::Input(a_in)),
                ("b_in", Conn::Input(b_in)),
                ("l_in", Conn::Input(l_in)),
                ("sh_in", Conn::Input(sh_in)),
                ("a_out", pe_output(b, "a", i, j, right_edge, t.a)),
                ("b_out", pe_output(b, "b", i, j, i + 1 == rows, t.b)),
                ("l_out", pe_output(b, "l", i, j, right_edge, Ty::BIT)),
                ("sh_out", pe_output(b, "sh", i, j, false, t.acc)),
            ]);
            b.instance(&format!("pe_r{i}_c{j}"), pe_module(names, cfg, i, j), conns);
        }
    }
    (0..cols)
        .map(|j| Expr::sig(pe_wire("sh", 0, j, false), t.acc))
        .collect()
}

/// Weight-stationary grid. `a_rows[i]`/`sw_rows[i]` enter row i from the left (skewed),
/// `w_lanes[j]` enters column j's shadow chain from the bottom, `w_shift` shifts every shadow
/// chain. Returns each column's partial-sum output (the last row's s).
pub(crate) fn ws_grid(
    b: &mut ModuleBuilder,
    cfg: &ArrayConfig,
    names: &Names,
    a_rows: &[Expr],
    sw_rows: &[Expr],
    w_lanes: &[Expr],
    w_shift: &Expr,
) -> Vec<Expr> {
    let t = super::pe::PeTypes::of(cfg);
    let (rows, cols) = (cfg.rows, cfg.cols);
    for i in 0..rows {
        for j in 0..cols {
            let (a_in, sw_in) = if j == 0 {
                (a_rows[i as usize].clone(), sw_rows[i as usize].clone())
            } else {
                (
                    Expr::sig(pe_wire("a", i, j - 1, false), t.a),
                    Expr::sig(pe_wire("sw", i, j - 1, false), Ty::BIT),
                )
            };
            let wsh_in = if i + 1 < rows {
                Expr::sig(pe_wire("wsh", i + 1, j, false), t.b)
            } else {
                w_lanes[j as usize].clone()
            };
            let s_in = if i == 0 {
                Expr::zero(t.acc)
            } else {
                Expr::sig(pe_wire("s", i - 1, j, false), t.acc)
            };
            let right_edge = j + 1 == cols;
            let mut conns = clock_conns();
            conns.extend([
                ("a_in", Conn::Input(a_in)),
                ("sw_in", Conn::Input(sw_in)),
                ("w_shift", Conn::Input(w_shift.clone())),
                ("wsh_in", Conn::Input(wsh_in)),
                ("s_in", Conn::Input(s_in)),
                ("a_out", pe_output(b, "a", i, j, right_edge, t.a)),
                ("sw_out", pe_output(b, "sw", i, j, right_edge, Ty::BIT)),
                ("wsh_out", pe_output(b, "wsh", i, j, i == 0, t.b)),
                ("s_out", pe_output(b, "s", i, j, false, t.acc)),
            ]);
            b.instance(&format!("pe_r{i}_c{j}"), pe_module(names, cfg, i, j), conns);
        }
    }
    (0..cols)
        .map(|j| Expr::sig(pe_wire("s", rows - 1, j, false), t.acc))
        .collect()
}
