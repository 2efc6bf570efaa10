//! The Q31 requantization datapaths (stages 2-7): gemmlowp's and LiteRT's optimized kernels
//! (ruy), from the record's multiplier M and exponent.

use super::mul::split_mul;
use super::Lane;
use crate::model::requant::Rounding;
use crate::rtl::{Expr, ModuleBuilder, Ty};

/// gemmlowp and LiteRT's optimized kernels (stages 2-7): the left shift, the Q31 multiply and
/// its rounding, the rounding right shift, the zero point.
pub(super) fn q31(b: &mut ModuleBuilder, x: Expr, lane: Lane, mode: Rounding) -> (Expr, Lane) {
    let j = lane.j;
    let (s32, s33, s64, u6) = (
        Ty::signed(32),
        Ty::signed(33),
        Ty::signed(64),
        Ty::unsigned(6),
    );
    let e = lane.exp.clone();
    let e_pos = e.clone().gt(Expr::zero(Ty::signed(8)));
    let l = b.wire(
        &format!("lsh{j}"),
        Expr::mux(e_pos, e.slice(5, 0), Expr::zero(u6)),
    );
    let xs = b.delay(&format!("s2_xs{j}"), x.shl(l));
    let lane = lane.carry(b, 2, true, true);
    // The 64-bit product over three stages (limb products, pairs, total).
    let p = split_mul(b, &format!("p{j}"), &xs, &lane.mult, 3, 64);
    let lane = lane.carry_through(b, 3, 5);
    let q = match mode {
        Rounding::Optimized => {
            let t = b.wire(&format!("t{j}"), p.add(Expr::lit(1 << 30, s64)));
            b.keep(&t, 62, 31, true)
        }
        _ => {
            // SaturatingRoundingDoublingHighMul: (p + nudge) / 2^31, truncating toward zero
            // (the saturating case needs M = INT32_MIN, which a Q31 multiplier never is).
            let neg = p.clone().lt(Expr::zero(s64));
            let nudge = Expr::mux(neg, Expr::lit(1 - (1 << 30), s64), Expr::lit(1 << 30, s64));
            let t = b.wire(&format!("t{j}"), p.add(nudge));
            let t_neg = t.clone().lt(Expr::zero(s64));
            let frac = t.slice(30, 0).ne(Expr::zero(Ty::unsigned(31)));
            let up = Expr::mux(t_neg.and(frac), Expr::lit(1, s32), Expr::zero(s32));
            t.slice_as(62, 31, true).add(up)
        }
    };
    let q = b.delay(&format!("s6_q{j}"), q);
    let lane = lane.carry(b, 6, false, true);
    // The right shift r = max(-e, 0), 0..=31.
    let e = lane.exp.clone();
    let e_neg = e.clone().lt(Expr::zero(Ty::signed(8)));
    let minus_e = b.wire(&format!("nexp{j}"), e.neg());
    let minus_e = b.keep(&minus_e, 5, 0, false);
    let r = b.wire(
        &format!("rsh{j}"),
        Expr::mux(e_neg, minus_e, Expr::zero(u6)),
    );
    let y = match mode {
        Rounding::Optimized => {
            // (q + 2^(r-1)) >> r, ties towards +infinity (33 bits: cannot overflow).
            let one = Expr::lit(1, s33);
            let half = Expr::mux(
                r.clone().eq(Expr::zero(u6)),
                Expr::zero(s33),
                one.shl(r.clone().sub(Expr::lit(1, u6))),
            );
            let sum = b.wire(&format!("rs{j}"), q.ext(33).add(half));
            sum.shr(r)
        }
        _ => {
            // RoundingDivideByPOT: ties away from zero.
            let mask = b.wire(&format!("mask{j}"), Expr::lit(-1, s32).shl(r.clone()).not());
            let rem = q.clone().and(mask.clone());
            let q_neg = Expr::mux(
                q.clone().lt(Expr::zero(s32)),
                Expr::lit(1, s32),
                Expr::zero(s32),
            );
            let thr = mask.shr(Expr::lit(1, u6)).add(q_neg);
            let round = Expr::mux(rem.gt(thr), Expr::lit(1, s33), Expr::zero(s33));
            let qs = b.wire(&format!("qs{j}"), q.shr(r));
            qs.ext(33).add(round)
        }
    };
    let y = b.wire(&format!("y{j}"), y);
    let z = b.delay(&format!("s7_z{j}"), y.add(lane.zp.ext(33).cast(true)));
    (z, lane)
}
