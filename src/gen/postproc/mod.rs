//! The post-MAC datapath: per output column, `acc + bias`, requantization bit-exact with one
//! of LiteRT's CPU paths, the clamp and the activation, as a pipeline that takes one result row
//! per cycle and never stalls (rows enter only when the output FIFO holds credits for them).
//!
//! Every run-time parameter (bias, scale, zero point, bounds) arrives with the row, from the
//! parameter beat of its tile ([`crate::model::params`]), and travels down the pipeline beside
//! it, so consecutive tiles may use different parameters. The stages per rounding mode:
//!
//! ```text
//! gemmlowp,  S1  x = acc + bias (int32, wrapping); the record's bounds saturated to the range
//! optimized  S2  xs = x << max(e, 0)                 (int32, wrapping)
//!            S3-5 p = xs * M                         (64 bits: limb products, pairs, total)
//!            S6  q = SRDHM (gemmlowp) | (p + 2^30) >> 31 (optimized)
//!            S7  z = rounding shift by max(-e, 0) + zero_point
//! reference  S1  |acc + bias| and its sign
//!            S2  lz = leading zeros of |x|         (a tree of halves)
//!            S3  n = |x| << lz, leading one at bit 31 (one log shifter)
//!            S4-6 P = n * mult                       (85 bits; mult = the double's significand)
//!            S7  R = P rounded to 53 bits, ties to even (the double product); f = its fraction bits
//!            S8  t = R >> f and the rounding bit     (half away from zero on the magnitude)
//!            S9  |y| = t + round
//!            S10 z = zero_point +- |y| in int32 (INT32_MIN + zero_point when |y| overflows)
//! xnnpack    S1-3 as reference
//!            S4  n rounded to 24 bits, ties to even  (float32(x))
//!            S5-7 P = that * mult                    (49 bits; mult = the float's significand)
//!            S8  R = P rounded to 24 bits, ties to even (the float32 product)
//!            S9  t = R >> f, guard and sticky bits
//!            S10 |y| = t rounded half to even
//!            S11 z = zero_point +- |y| (|y| saturated at 2^31)
//! last       out = activation(min(max(z, lo), hi))   (tables: a ROM read)
//! ```

use crate::config::{ArrayConfig, PostprocConfig};
use crate::model::params::PARAM_WORDS;
use crate::model::postproc::activation_table;
use crate::model::requant::Rounding;
use crate::rtl::{Const, Expr, Memory, Module, ModuleBuilder, Ty};
use crate::timing::postproc_latency;

mod float;
mod mul;
mod q31;

/// Bits per column record in a parameter beat.
const RECORD_BITS: u32 = 32 * PARAM_WORDS as u32;

/// Field `[lo +: width]` of lane `j`'s record in `bus`, bound to a wire.
fn field(b: &mut ModuleBuilder, name: &str, bus: &Expr, j: u32, lo: u32, ty: Ty) -> Expr {
    let lo = j * RECORD_BITS + lo;
    b.wire(
        &format!("{name}{j}"),
        bus.slice_as(lo + ty.width - 1, lo, ty.signed),
    )
}

/// `v` (a named signal) clamped to [lo, hi] and narrowed to `out`: compared at `v`'s width,
/// selected at `out`'s (only the bits that survive are read).
/// A compare that cannot be true (an unsigned value below 0, any value above its type's
/// maximum) is left out: lint flags constant comparisons.
fn clamp_narrow(v: &Expr, lo: i64, hi: i64, out: Ty) -> Expr {
    let ty = v.ty();
    let (lo_e, hi_e) = (Expr::lit(i128::from(lo), ty), Expr::lit(i128::from(hi), ty));
    let ty_max = if ty.signed {
        (1i128 << (ty.width - 1)) - 1
    } else {
        (1i128 << ty.width) - 1
    };
    let ty_min = if ty.signed {
        -(1i128 << (ty.width - 1))
    } else {
        0
    };
    let kept = v.slice_as(out.width - 1, 0, out.signed);
    let capped = if i128::from(hi) >= ty_max {
        kept
    } else {
        Expr::mux(v.clone().gt(hi_e), Expr::lit(i128::from(hi), out), kept)
    };
    if i128::from(lo) <= ty_min {
        capped
    } else {
        Expr::mux(v.clone().lt(lo_e), Expr::lit(i128::from(lo), out), capped)
    }
}

/// A lane's run-time parameters, as signals of the current stage.
#[derive(Clone)]
pub(super) struct Lane {
    pub(super) j: u32,
    pub(super) mult: Expr,
    pub(super) exp: Expr,
    pub(super) zp: Expr,
    pub(super) lo: Expr,
    pub(super) hi: Expr,
}

impl Lane {
    /// The parameters still needed after stage `stage`, registered into it: `mult` until the
    /// multiply, `exp` until the stage that reads it; zero point and bounds to the end.
    pub(super) fn carry(&self, b: &mut ModuleBuilder, stage: u32, mult: bool, exp: bool) -> Lane {
        self.carry_zp(b, stage, mult, exp, true)
    }

    /// [`Lane::carry`] into each of stages `from..=to`, the scale's significand no longer
    /// needed (it went into a multiply), the exponent still.
    pub(super) fn carry_through(&self, b: &mut ModuleBuilder, from: u32, to: u32) -> Lane {
        (from..=to).fold(self.clone(), |l, k| l.carry(b, k, false, true))
    }

    /// [`Lane::carry`], the zero point too only if `zp`.
    pub(super) fn carry_zp(
        &self,
        b: &mut ModuleBuilder,
        stage: u32,
        mult: bool,
        exp: bool,
        zp: bool,
    ) -> Lane {
        let j = self.j;
        let mut d = |what: &str, e: &Expr, keep: bool| {
            if keep {
                b.delay(&format!("s{stage}_{what}{j}"), e.clone())
            } else {
                e.clone()
            }
        };
        Lane {
            j,
            mult: d("mult", &self.mult, mult),
            exp: d("exp", &self.exp, exp),
            zp: d("zp", &self.zp, zp),
            lo: d("lo", &self.lo, true),
            hi: d("hi", &self.hi, true),
        }
    }
}

/// The record bits lane `j` does not read (`mult_bits` of the scale used), gathered into a
/// wire named `*_unused` for lint.
fn unused_record_bits(b: &mut ModuleBuilder, bus: &Expr, j: u32, mult_bits: u32) {
    let base = j * RECORD_BITS;
    let used = [(0, 32 + mult_bits), (96, 104), (112, 160)];
    let mut parts = Vec::new();
    for w in used.windows(2) {
        let (from, to) = (w[0].1, w[1].0);
        if to > from {
            parts.push(bus.slice(base + to - 1, base + from));
        }
    }
    b.wire(&format!("rec{j}_unused"), Expr::concat(parts));
}

/// The post-processing module for `array` followed by `post`.
pub fn postproc(module: &str, array: &ArrayConfig, post: &PostprocConfig) -> Module {
    let cols = array.cols;
    let ab = array.acc_bits();
    let ob = post.out_bits;
    let latency = postproc_latency(post.rounding);
    let table = post.activation.is_lut().then(|| activation_table(post));

    let mut b = ModuleBuilder::new(module);
    b.doc(format!(
        "Post-MAC datapath: acc + bias, requantization as LiteRT's \"{}\" path, clamp and",
        post.rounding.as_str()
    ));
    b.doc(format!(
        "activation; {latency}-stage pipeline, one {cols}-lane row per cycle; run-time parameters per row."
    ));
    b.clock_and_reset();
    let in_valid = b.input("in_valid", Ty::BIT, "a result row enters");
    let in_last = b.input("in_last", Ty::BIT, "the row is a tile's last");
    let in_data = b.input("in_data", Ty::unsigned(cols * ab), "accumulator lanes");
    let params = b.input(
        "params",
        Ty::unsigned(cols * RECORD_BITS),
        "parameter records of the row's tile (160 bits per lane)",
    );
    b.output("out_valid", Ty::BIT, "a post-processed row leaves");
    b.output("out_last", Ty::BIT, "the row is a tile's last");
    b.output("out_data", Ty::unsigned(cols * ob), "output lanes");

    let mult_bits = match post.rounding {
        Rounding::Reference => 53,
        Rounding::Xnnpack => 24,
        Rounding::Optimized | Rounding::Gemmlowp => 31,
    };
    let out16 = Ty::new(16, post.out_signed);
    let mut outs = Vec::new();
    for j in 0..cols {
        let acc = b.wire(
            &format!("acc{j}"),
            in_data.slice_as(j * ab + ab - 1, j * ab, array.signed),
        );
        let acc32 = if array.signed {
            acc.ext(32)
        } else {
            acc.ext(32).cast(true)
        };
        let bias = field(&mut b, "bias", &params, j, 0, Ty::signed(32));
        let lane = Lane {
            j,
            mult: field(&mut b, "mult", &params, j, 32, Ty::unsigned(mult_bits)),
            exp: field(&mut b, "exp", &params, j, 96, Ty::signed(8)),
            zp: field(&mut b, "zp", &params, j, 112, out16),
            lo: field(&mut b, "lo", &params, j, 128, out16),
            hi: field(&mut b, "hi", &params, j, 144, out16),
        };
        unused_record_bits(&mut b, &params, j, mult_bits);
        let lane = bounds(&mut b, lane, post);
        let (z, lane) = match post.rounding {
            Rounding::Gemmlowp | Rounding::Optimized => {
                let x = b.delay(&format!("s1_x{j}"), acc32.add(bias));
                let lane = lane.carry(&mut b, 1, true, true);
                q31::q31(&mut b, x, lane, post.rounding)
            }
            mode => {
                // The float modes take |acc + bias| and its sign from stage 1.
                let s32 = Ty::signed(32);
                let x = b.wire(&format!("x{j}"), acc32.add(bias));
                let neg = b.wire(&format!("neg{j}"), x.clone().lt(Expr::zero(s32)));
                // |INT32_MIN| = 2^31 fits in 32 unsigned bits.
                let abs = Expr::mux(neg.clone(), x.clone().neg(), x).cast(false);
                let abs = b.delay(&format!("s1_abs{j}"), abs);
                let neg = b.delay(&format!("s1_neg{j}"), neg);
                let lane = lane.carry(&mut b, 1, true, true);
                if mode == Rounding::Reference {
                    float::reference(&mut b, (abs, neg), lane)
                } else {
                    float::xnnpack(&mut b, (abs, neg), lane)
                }
            }
        };
        // Into the stage that computed z: the bounds (a table holds its own zero point).
        let lane = lane.carry_zp(&mut b, latency - 1, false, false, false);
        outs.push(activate(&mut b, z, &lane, post, table.as_deref()));
    }
    let valid = super::systolic::delay_line(&mut b, "valid_d", in_valid, latency);
    let last = super::systolic::delay_line(&mut b, "last_d", in_last, latency);
    b.assign("out_valid", valid[latency as usize].clone());
    b.assign("out_last", last[latency as usize].clone());
    b.assign(
        "out_data",
        Expr::concat(outs.into_iter().rev().map(|o| o.cast(false)).collect()),
    );
    b.finish()
}

/// The record's bounds saturated to the output range, `lo` lowered to `hi` when above it,
/// so that the last stage clamps with two compares side by side: `min(max(z, lo), hi)` with
/// both in range, as the model states it.
fn bounds(b: &mut ModuleBuilder, lane: Lane, post: &PostprocConfig) -> Lane {
    let j = lane.j;
    let (qmin, qmax) = post.out_range();
    let out_ty = Ty::new(post.out_bits, post.out_signed);
    let lo = b.wire(
        &format!("lo_sat{j}"),
        clamp_narrow(&lane.lo, qmin, qmax, out_ty),
    );
    let hi = b.wire(
        &format!("hi_sat{j}"),
        clamp_narrow(&lane.hi, qmin, qmax, out_ty),
    );
    let lo = Expr::mux(lo.clone().gt(hi.clone()), hi.clone(), lo);
    Lane {
        lo: b.wire(&format!("lo_eff{j}"), lo),
        hi,
        ..lane
    }
}

/// The last stage of a lane: `z` (33-bit signed) clamped to the lane's bounds (already in the
/// output range, `lo <= hi`), then the activation (a ROM for tables), narrowed to the output
/// type.
fn activate(
    b: &mut ModuleBuilder,
    z: Expr,
    lane: &Lane,
    post: &PostprocConfig,
    table: Option<&[i64]>,
) -> Expr {
    let j = lane.j;
    let ob = post.out_bits;
    let (qmin, _) = post.out_range();
    let ext = |e: &Expr| e.ext(33).cast(true);
    let below = z.clone().lt(ext(&lane.lo));
    let above = z.clone().gt(ext(&lane.hi));
    let v2 = b.wire(
        &format!("v{j}"),
        Expr::mux(
            above,
            lane.hi.clone(),
            Expr::mux(
                below,
                lane.lo.clone(),
                z.slice_as(ob - 1, 0, post.out_signed),
            ),
        ),
    );
    match table {
        Some(t) => {
            // Table index: the clamped value minus qmin, modulo 2^ob.
            let u_ob = Ty::unsigned(ob);
            let idx = b.wire(
                &format!("idx{j}"),
                v2.cast(false).sub(Expr::lit(i128::from(qmin), u_ob)),
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
                read_data: format!("s{}_lut{j}", postproc_latency(post.rounding)),
                no_rw_check: false,
            });
            b.wire(&format!("o{j}"), rom.cast(post.out_signed))
        }
        None => {
            let stage = postproc_latency(post.rounding);
            b.delay(&format!("s{stage}_o{j}"), v2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: an unsigned bound was compared with `< 0` (constant; verilator -Wall
    /// UNSIGNED on every unsigned-output npu_core), found by the random-config lint test.
    #[test]
    fn bound_saturation_leaves_out_impossible_compares() {
        let text = |e: &Expr| format!("{e:?}");
        let u16v = Expr::sig("v", Ty::unsigned(16));
        let e = clamp_narrow(&u16v, 0, 31, Ty::unsigned(5));
        assert!(!text(&e).contains("Lt"), "{e:?}");
        assert!(text(&e).contains("Gt"));
        // Signed: both compares stay (-128 and 127 are inside int16).
        let s16v = Expr::sig("v", Ty::signed(16));
        let e = clamp_narrow(&s16v, -128, 127, Ty::signed(8));
        assert!(text(&e).contains("Lt") && text(&e).contains("Gt"));
        // Bounds at the type's own limits need no compare at all.
        let e = clamp_narrow(&u16v, 0, 65535, Ty::unsigned(16));
        assert!(!text(&e).contains("Lt") && !text(&e).contains("Gt"));
    }
}
