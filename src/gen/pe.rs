//! The processing element: one multiply-accumulate cell, instantiated rows x cols times.
//!
//! Both variants keep the multiplier operands and the accumulator in registers with a
//! synchronous reset and write the accumulation as `acc <= acc + a*b` (optionally cleared
//! through a mux on the feedback), the form Yosys packs into one DSP48E1 / SB_MAC16 / MULT18.

use crate::config::ArrayConfig;
use crate::rtl::{bits_for, Conn, Expr, Module, ModuleBuilder, Ty};

/// Operand and accumulator types of a configured array.
#[derive(Clone, Copy, Debug)]
pub struct PeTypes {
    /// A operand (activation).
    pub a: Ty,
    /// B operand (weight).
    pub b: Ty,
    /// Full product.
    pub prod: Ty,
    /// Accumulator / partial sum.
    pub acc: Ty,
}

impl PeTypes {
    /// Types for `cfg`.
    pub fn of(cfg: &ArrayConfig) -> PeTypes {
        let s = cfg.signed;
        PeTypes {
            a: Ty::new(cfg.input_bits, s),
            b: Ty::new(cfg.weight_bits, s),
            prod: Ty::new(cfg.product_bits(), s),
            acc: Ty::new(cfg.acc_bits(), s),
        }
    }
}

/// The clock and reset connections every sequential instance takes.
pub(crate) fn clock_conns() -> Vec<(&'static str, Conn)> {
    vec![
        ("clk", Conn::Input(Expr::sig("clk", Ty::BIT))),
        ("rst", Conn::Input(Expr::sig("rst", Ty::BIT))),
    ]
}

/// How a PE multiplies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MulStyle {
    /// `a * b`: synthesis tools map it to a DSP block.
    Dsp,
    /// A shift-add multiplier from logic (partial products and adders), for PEs beyond the
    /// target's DSP budget.
    Lut,
}

/// `ext(a) * ext(b)` modulo 2^w as a sum of shifted partial products (an adder tree): the
/// operands are extended to the full width w first, so the truncated sum is the exact
/// product, signed or not.
fn shift_add(b: &mut ModuleBuilder, a: &Expr, m: &Expr, w: u32) -> Expr {
    let ty = Ty::new(w, a.ty().signed);
    let ax = b.wire("mul_a", a.ext(w));
    let mx = b.wire("mul_b", m.ext(w).cast(false));
    let mut rows: Vec<Expr> = (0..w)
        .map(|k| {
            let shifted = ax.clone().shl(Expr::lit(
                i128::from(k),
                Ty::unsigned(bits_for(u64::from(w))),
            ));
            Expr::mux(mx.bit(k), shifted, Expr::zero(ty))
        })
        .collect();
    let mut level = 0;
    while rows.len() > 1 {
        let mut next = Vec::new();
        for (i, pair) in rows.chunks(2).enumerate() {
            let e = match pair {
                [x, y] => x.clone().add(y.clone()),
                [x] => x.clone(),
                _ => unreachable!("chunks of two"),
            };
            next.push(b.wire(&format!("pp{level}_{i}"), e));
        }
        rows = next;
        level += 1;
    }
    rows.pop().expect("one row")
}

/// The full-width product `ext(a) * ext(b)` (wire `prod`), through `pipeline` extra
/// registers: 1 = product register `m1`; 2 = also operand registers `a2`/`b2` that feed only
/// the multiplier; 3 = also a second product register `m2`.
fn product(
    b: &mut ModuleBuilder,
    t: PeTypes,
    a_q: &Expr,
    w_q: &Expr,
    pipeline: u32,
    style: MulStyle,
) -> Expr {
    let w = t.prod.width;
    let (a, m) = if pipeline >= 2 {
        (b.delay("a2", a_q.clone()), b.delay("b2", w_q.clone()))
    } else {
        (a_q.clone(), w_q.clone())
    };
    let p = match style {
        MulStyle::Dsp => a.ext(w).mul(m.ext(w)),
        MulStyle::Lut => shift_add(b, &a, &m, w),
    };
    let mut p = b.wire("prod", p);
    if pipeline >= 1 {
        p = b.delay("m1", p);
    }
    if pipeline >= 3 {
        p = b.delay("m2", p);
    }
    p
}

/// Name of the OS PE's tile-end flag register; its delayed copies for the product pipeline
/// are this name with the stage number appended (`lp1`..`lp3`). The Yosys scripts keep them
/// apart (see `flow::yosys`).
pub const TILE_FLAG: &str = "lp";

/// Doc of a PE's A input and output.
const A_IN: &str = "A operand from the left neighbour (or the row skew)";
const A_OUT: &str = "A operand to the right neighbour";

/// Output-stationary PE.
///
/// ```text
///           b_in                     a, b and l move one PE per cycle (right / down);
///            |                       acc <= (lp ? 0 : acc) + a_q*b_q, where lp marks the
///   a_in,l_in -> [a_q b_q l_q lp]   cycle after the tile's last beat (l); in that cycle the
///            |   [acc]  [sh] <- sh_in   finished sum moves into sh, which otherwise shifts up
///          sh_out (up), b_out (down)     the column (sh_out of row 0 is the column result).
/// ```
pub(crate) fn os_pe(module: &str, cfg: &ArrayConfig, style: MulStyle) -> Module {
    let t = PeTypes::of(cfg);
    let mut b = ModuleBuilder::new(module);
    b.doc("Output-stationary processing element (one per array cell).");
    b.doc("acc <= (lp ? 0 : acc) + a_q * b_q every cycle; lp is high the cycle after the");
    b.doc("tile's last beat, when the finished sum is copied into sh. sh otherwise takes");
    b.doc("sh_in, so finished sums shift up the column towards row 0.");
    b.clock_and_reset();
    let [a_in, b_in, l_in, sh_in] = b.inputs([
        ("a_in", t.a, A_IN),
        (
            "b_in",
            t.b,
            "B operand from the neighbour above (or the column skew)",
        ),
        ("l_in", Ty::BIT, "last beat of the tile, travels with a"),
        (
            "sh_in",
            t.acc,
            "drain chain from the PE below (zero in the last row)",
        ),
    ]);
    b.outputs([
        ("a_out", t.a, A_OUT),
        ("b_out", t.b, "B operand to the neighbour below"),
        ("l_out", Ty::BIT, "last flag to the right neighbour"),
        ("sh_out", t.acc, "drain chain to the PE above"),
    ]);

    let a_q = b.delay("a_q", a_in);
    let b_q = b.delay("b_q", b_in);
    let l_q = b.delay("l_q", l_in);
    // lp: the previous beat was a tile's last; delayed with the product pipeline.
    let mut lp = b.delay(TILE_FLAG, l_q.clone());
    for k in 1..=cfg.pipeline {
        lp = b.delay(&format!("{TILE_FLAG}{k}"), lp);
    }
    let prod = product(&mut b, t, &a_q, &b_q, cfg.pipeline, style);
    let acc = b.reg("acc", t.acc);
    let acc_q = acc.q();
    let base = Expr::mux(lp.clone(), Expr::zero(t.acc), acc_q.clone());
    b.set_next(acc, base.add(prod.ext(t.acc.width)), None);
    let sh = b.reg("sh", t.acc);
    let sh_q = sh.q();
    b.set_next(sh, Expr::mux(lp, acc_q, sh_in), None);
    b.assign("a_out", a_q);
    b.assign("b_out", b_q);
    b.assign("l_out", l_q);
    b.assign("sh_out", sh_q);
    b.finish()
}

/// Weight-stationary PE.
///
/// ```text
///              s_in (from above)       wsh: shadow weight, shifts up the column when w_shift;
///   a_in,sw_in -> [a_q sw_q]  ->       w: active weight, loaded from wsh when sw_in (the first
///                 [wsh] [w]            beat of a new tile arrives with its swap flag);
///              s_out = s_q (down)      s_q <= s_in + a_q * w.
/// ```
pub(crate) fn ws_pe(module: &str, cfg: &ArrayConfig, style: MulStyle) -> Module {
    let t = PeTypes::of(cfg);
    let mut b = ModuleBuilder::new(module);
    b.doc("Weight-stationary processing element (one per array cell).");
    b.doc("s_q <= s_in + a_q * w. The next tile's weight shifts into wsh (up the column)");
    b.doc("while the current one computes; sw_in (first beat of a tile) copies wsh into w.");
    b.clock_and_reset();
    let [a_in, sw_in, w_shift, wsh_in, s_in] = b.inputs([
        ("a_in", t.a, A_IN),
        ("sw_in", Ty::BIT, "swap: this beat starts a new weight tile"),
        (
            "w_shift",
            Ty::BIT,
            "shift the shadow weight chain this cycle",
        ),
        (
            "wsh_in",
            t.b,
            "shadow weight from the PE below (or the w port)",
        ),
        (
            "s_in",
            t.acc,
            "partial sum from the PE above (zero in row 0)",
        ),
    ]);
    b.outputs([
        ("a_out", t.a, A_OUT),
        ("sw_out", Ty::BIT, "swap flag to the right neighbour"),
        ("wsh_out", t.b, "shadow weight to the PE above"),
        ("s_out", t.acc, "partial sum to the PE below"),
    ]);

    let a_q = b.delay("a_q", a_in);
    let sw_q = b.delay("sw_q", sw_in.clone());
    let wsh = b.reg("wsh", t.b);
    let wsh_q = wsh.q();
    b.set_next(wsh, wsh_in, Some(w_shift));
    let w = b.reg("w", t.b);
    let w_q = w.q();
    b.set_next(w, wsh_q.clone(), Some(sw_in));
    let prod = product(&mut b, t, &a_q, &w_q, cfg.pipeline, style);
    let s = b.reg("s_q", t.acc);
    let s_q = s.q();
    b.set_next(s, s_in.add(prod.ext(t.acc.width)), None);
    b.assign("a_out", a_q);
    b.assign("sw_out", sw_q);
    b.assign("wsh_out", wsh_q);
    b.assign("s_out", s_q);
    b.finish()
}
