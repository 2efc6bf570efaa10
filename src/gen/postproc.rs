//! The post-MAC datapath: per output column, `acc + bias`, TFLite/gemmlowp requantization and
//! the activation, as a five-stage pipeline that takes one result row per cycle and never
//! stalls (rows enter only when the output FIFO holds credits for them).
//!
//! ```text
//! S1 x = acc + bias            (int32, wrapping)
//! S2 p = x * M                 (64-bit; M is the column's int32 multiplier, a constant)
//! S3 q = (p + nudge) / 2^31    (truncated toward zero: SaturatingRoundingDoublingHighMul)
//! S4 z = RoundingDivideByPOT(q, s) + zero_point   (33 bits, cannot overflow)
//! S5 out = activation(z) clamped to the output range (sigmoid/tanh: a registered ROM lookup)
//! ```
//!
//! The scale and activation parameters are generation-time constants, one per column.

use crate::config::{Activation, ArrayConfig, PostprocConfig};
use crate::model::postproc::{activation_table, multipliers, QuantizedMultiplier};
use crate::model::requant::Rounding;
use crate::rtl::{Const, Expr, Memory, Module, ModuleBuilder, Ty};
use crate::timing::POSTPROC_LATENCY;

/// The column's lane of a packed bus, bound to a wire and returned as type `ty`.
fn lane_wire(b: &mut ModuleBuilder, name: &str, bus: &Expr, j: u32, ty: Ty) -> Expr {
    let lo = j * ty.width;
    b.wire(name, bus.slice_as(lo + ty.width - 1, lo, ty.signed))
}

/// `v` (a named signal) clamped to [lo, hi] and narrowed to `out`: compared at `v`'s width,
/// selected at `out`'s (only the bits that survive are read).
fn clamp_narrow(v: &Expr, lo: i64, hi: i64, out: Ty) -> Expr {
    let ty = v.ty();
    let (lo_e, hi_e) = (Expr::lit(i128::from(lo), ty), Expr::lit(i128::from(hi), ty));
    Expr::mux(
        v.clone().lt(lo_e),
        Expr::lit(i128::from(lo), out),
        Expr::mux(
            v.clone().gt(hi_e),
            Expr::lit(i128::from(hi), out),
            v.slice_as(out.width - 1, 0, out.signed),
        ),
    )
}

/// The post-processing module for `array` followed by `post`.
pub fn postproc(module: &str, array: &ArrayConfig, post: &PostprocConfig) -> Module {
    let cols = array.cols;
    let ab = array.acc_bits();
    let ob = post.out_bits;
    let s32 = Ty::signed(32);
    let qms = multipliers(post, cols as usize);
    let table = post.activation.is_lut().then(|| activation_table(post));
    let zp = i64::from(post.zero_point);

    let mut b = ModuleBuilder::new(module);
    b.doc("Post-MAC datapath: acc + bias, TFLite/gemmlowp requantization and activation,");
    b.doc(format!(
        "{POSTPROC_LATENCY}-stage pipeline, one {cols}-lane row per cycle; constants per column."
    ));
    b.clock_and_reset();
    let in_valid = b.input("in_valid", Ty::BIT, "a result row enters");
    let in_last = b.input("in_last", Ty::BIT, "the row is a tile's last");
    let in_data = b.input("in_data", Ty::unsigned(cols * ab), "accumulator lanes");
    let bias = b.input(
        "bias",
        Ty::unsigned(cols * 32),
        "int32 bias lanes of the row's tile",
    );
    b.output("out_valid", Ty::BIT, "a post-processed row leaves");
    b.output("out_last", Ty::BIT, "the row is a tile's last");
    b.output("out_data", Ty::unsigned(cols * ob), "output lanes");

    let mut outs = Vec::new();
    for j in 0..cols {
        let jj = j as usize;
        let acc = lane_wire(
            &mut b,
            &format!("acc{j}"),
            &in_data,
            j,
            Ty::new(ab, array.signed),
        );
        let acc32 = if array.signed {
            acc.ext(32)
        } else {
            acc.ext(32).cast(true)
        };
        let bias_j = lane_wire(&mut b, &format!("bias{j}"), &bias, j, s32);
        let x = b.delay(&format!("s1_x{j}"), acc32.add(bias_j));
        let qm = &qms[if qms.len() == 1 { 0 } else { jj }];
        let z = requantize(&mut b, j, x, qm, zp, post.rounding);
        let o = activate(&mut b, j, z, post, table.as_deref());
        outs.push(o);
    }
    let valid = super::systolic::delay_line(&mut b, "valid_d", in_valid, POSTPROC_LATENCY);
    let last = super::systolic::delay_line(&mut b, "last_d", in_last, POSTPROC_LATENCY);
    b.assign("out_valid", valid[POSTPROC_LATENCY as usize].clone());
    b.assign("out_last", last[POSTPROC_LATENCY as usize].clone());
    b.assign(
        "out_data",
        Expr::concat(outs.into_iter().rev().map(|o| o.cast(false)).collect()),
    );
    b.finish()
}

/// Stages 2-4 of lane `j`: `x` (acc + bias, stage 1) times the multiplier, rounded as
/// `rounding` says (gemmlowp or LiteRT's optimized kernels), then the zero point (33 bits).
fn requantize(
    b: &mut ModuleBuilder,
    j: u32,
    x: Expr,
    qm: &QuantizedMultiplier,
    zp: i64,
    rounding: Rounding,
) -> Expr {
    let (s33, s64) = (Ty::signed(33), Ty::signed(64));
    let m = Expr::lit(i128::from(qm.bits()), s64);
    let shift = qm.shift;
    let p = b.delay(&format!("s2_p{j}"), x.ext(64).mul(m));
    let y = match rounding {
        Rounding::Optimized => ruy_round(b, j, p, shift),
        _ => gemmlowp_round(b, j, p, shift),
    };
    b.delay(
        &format!("s4_z{j}"),
        y.ext(33).add(Expr::lit(i128::from(zp), s33)),
    )
}

/// Stage 5 of lane `j`: the activation of `z` (a ROM for table activations), narrowed to
/// the output type.
fn activate(
    b: &mut ModuleBuilder,
    j: u32,
    z: Expr,
    post: &PostprocConfig,
    table: Option<&[i64]>,
) -> Expr {
    let ob = post.out_bits;
    let s33 = Ty::signed(33);
    let (qmin, qmax) = post.out_range();
    let zp = i64::from(post.zero_point);
    let out_ty = Ty::new(ob, post.out_signed);
    match (table, post.activation) {
        (Some(t), _) => {
            // Table index: the clamped value minus qmin, modulo 2^ob.
            let u_ob = Ty::unsigned(ob);
            let idx = b.wire(
                &format!("idx{j}"),
                clamp_narrow(&z, qmin, qmax, u_ob).sub(Expr::lit(i128::from(qmin), u_ob)),
            );
            let rom = b.memory(Memory {
                name: format!("lut{j}"),
                width: ob,
                depth: 1 << ob,
                write: None,
                init: Some(
                    t.iter()
                        .map(|&v| Const::from_i128(i128::from(v), u_ob))
                        .collect(),
                ),
                read_enable: Expr::bit_const(true),
                read_addr: idx,
                read_data: format!("s5_lut{j}"),
            });
            b.wire(&format!("o{j}"), rom.cast(post.out_signed))
        }
        (None, act) => {
            let v = match act {
                Activation::Relu => clamp_narrow(&z, zp.max(qmin), qmax, out_ty),
                Activation::Clamp => {
                    let (lo, hi) = post.clamp_bounds();
                    clamp_narrow(&z, lo, hi, out_ty)
                }
                Activation::LeakyRelu => {
                    let d = b.wire(
                        &format!("d{j}"),
                        z.clone().sub(Expr::lit(i128::from(zp), s33)),
                    );
                    let leaky = Expr::lit(i128::from(zp), s33)
                        .add(d.shr(Expr::lit(i128::from(post.leaky_shift), Ty::unsigned(5))));
                    let below = z.clone().lt(Expr::lit(i128::from(zp), s33));
                    let l = b.wire(&format!("l{j}"), Expr::mux(below, leaky, z));
                    clamp_narrow(&l, qmin, qmax, out_ty)
                }
                _ => clamp_narrow(&z, qmin, qmax, out_ty),
            };
            b.delay(&format!("s5_o{j}"), v)
        }
    }
}

/// gemmlowp: `SaturatingRoundingDoublingHighMul` (the 64-bit product `p` nudged by 2^30 away
/// from zero, divided by 2^31 truncating; registered as stage 3), then `RoundingDivideByPOT`
/// by the constant `shift` (ties away from zero).
fn gemmlowp_round(b: &mut ModuleBuilder, j: u32, p: Expr, shift: u32) -> Expr {
    let (s32, s64) = (Ty::signed(32), Ty::signed(64));
    let neg = p.clone().lt(Expr::zero(s64));
    let nudge = Expr::mux(neg, Expr::lit(1 - (1 << 30), s64), Expr::lit(1 << 30, s64));
    let t = b.wire(&format!("t{j}"), p.add(nudge));
    // Truncating division by 2^31: floor, plus one for a negative value with a remainder.
    let t_neg = t.clone().lt(Expr::zero(s64));
    let frac = t.slice(30, 0).ne(Expr::zero(Ty::unsigned(31)));
    let up = Expr::mux(t_neg.and(frac), Expr::lit(1, s32), Expr::zero(s32));
    // Bits 62..31 of t are the low 32 bits of t >>> 31 (the quotient fits in 32 bits).
    let q = b.delay(&format!("s3_q{j}"), t.slice_as(62, 31, true).add(up));
    // RoundingDivideByPOT by the constant shift, then the zero point.
    let mask = (1i128 << shift) - 1;
    let rem = q.clone().and(Expr::lit(mask, s32));
    let q_neg = Expr::mux(
        q.clone().lt(Expr::zero(s32)),
        Expr::lit(1, s32),
        Expr::zero(s32),
    );
    let thr = Expr::lit(mask >> 1, s32).add(q_neg);
    let round = Expr::mux(rem.gt(thr), Expr::lit(1, s32), Expr::zero(s32));
    b.wire(
        &format!("y{j}"),
        q.shr(Expr::lit(i128::from(shift), Ty::unsigned(6)))
            .add(round),
    )
}

/// LiteRT's optimized kernels (ruy): `(p + 2^30) >> 31` (floor; registered as stage 3), then
/// `(q + 2^(shift-1)) >> shift`, ties towards +infinity.
fn ruy_round(b: &mut ModuleBuilder, j: u32, p: Expr, shift: u32) -> Expr {
    let (s33, s64) = (Ty::signed(33), Ty::signed(64));
    let t = b.wire(&format!("t{j}"), p.add(Expr::lit(1 << 30, s64)));
    // Bits 62..31 of t are t >> 31 (floor), which fits in 32 bits.
    let q = b.keep(&t, 62, 31, true);
    let q = b.delay(&format!("s3_q{j}"), q);
    if shift == 0 {
        return b.wire(&format!("y{j}"), q);
    }
    let half = Expr::lit(1i128 << (shift - 1), s33);
    let r = b.wire(
        &format!("r{j}"),
        q.ext(33)
            .add(half)
            .shr(Expr::lit(i128::from(shift), Ty::unsigned(6))),
    );
    // (q + 2^(s-1)) >> s with s >= 1 fits in 32 bits.
    let y = b.keep(&r, 31, 0, true);
    b.wire(&format!("y{j}"), y)
}
