//! The post-MAC datapath: per output column, `acc + bias`, requantization bit-exact with one
//! of LiteRT's CPU paths, the clamp and the activation, as a pipeline that takes one result row
//! per cycle and never stalls (rows enter only when the output FIFO holds credits for them).
//!
//! Every run-time parameter (bias, scale, zero point, bounds) arrives with the row, from the
//! parameter beat of its tile ([`crate::model::params`]), and travels down the pipeline beside
//! it, so consecutive tiles may use different parameters. The stages per rounding mode:
//!
//! ```text
//! all        S1  x = acc + bias                      (int32, wrapping)
//! gemmlowp,  S2  xs = x << max(e, 0)                 (int32, wrapping)
//! optimized  S3  p = xs * M                          (64 bits)
//!            S4  q = SRDHM (gemmlowp) | (p + 2^30) >> 31 (optimized)
//!            S5  z = rounding shift by max(-e, 0) + zero_point
//! reference  S2  |x| normalised: n = |x| << lz      (leading one at bit 31)
//!            S3  P = n * mult                        (85 bits; mult = the double's significand)
//!            S4  R = P rounded to 53 bits, ties to even (the double product); f = its fraction bits
//!            S5  t = R >> f and the rounding bit     (half away from zero on the magnitude)
//!            S6  z = +-(t + round) (INT32_MIN when it overflows int32) + zero_point, wrapping
//! xnnpack    S2  |x| normalised, as reference
//!            S3  n rounded to 24 bits, ties to even  (float32(x))
//!            S4  P = that * mult                     (49 bits; mult = the float's significand)
//!            S5  R = P rounded to 24 bits, ties to even (the float32 product)
//!            S6  t = R >> f, guard and sticky bits
//!            S7  z = +-(t rounded half to even) + zero_point
//! last       out = activation(clamp(z, lo, hi)) in the output range (tables: a ROM read)
//! ```

use crate::config::{ArrayConfig, PostprocConfig};
use crate::model::params::PARAM_WORDS;
use crate::model::postproc::activation_table;
use crate::model::requant::Rounding;
use crate::rtl::{Const, Expr, Memory, Module, ModuleBuilder, Ty};
use crate::timing::postproc_latency;

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

/// A lane's run-time parameters, as signals of the current stage.
#[derive(Clone)]
struct Lane {
    j: u32,
    mult: Expr,
    exp: Expr,
    zp: Expr,
    lo: Expr,
    hi: Expr,
}

impl Lane {
    /// The parameters still needed after stage `stage`, registered into it: `mult` until the
    /// multiply, `exp` until the stage that reads it; zero point and bounds to the end.
    fn carry(&self, b: &mut ModuleBuilder, stage: u32, mult: bool, exp: bool) -> Lane {
        self.carry_zp(b, stage, mult, exp, true)
    }

    /// [`Lane::carry`], the zero point too only if `zp`.
    fn carry_zp(&self, b: &mut ModuleBuilder, stage: u32, mult: bool, exp: bool, zp: bool) -> Lane {
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
        let x = b.delay(&format!("s1_x{j}"), acc32.add(bias));
        let lane = lane.carry(&mut b, 1, true, true);
        let (z, lane) = match post.rounding {
            Rounding::Gemmlowp | Rounding::Optimized => q31(&mut b, x, lane, post.rounding),
            Rounding::Reference => reference(&mut b, x, lane),
            Rounding::Xnnpack => xnnpack(&mut b, x, lane),
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

/// `v`'s magnitude normalised (stage 2 of the float modes): the sign, `n = |v| << lz` with its
/// leading one at bit 31 (0 for v = 0) and `lz`, as wires of lane `j`.
fn normalise(b: &mut ModuleBuilder, j: u32, x: &Expr) -> (Expr, Expr, Expr) {
    let (s32, u6) = (Ty::signed(32), Ty::unsigned(6));
    let neg = b.wire(&format!("neg{j}"), x.clone().lt(Expr::zero(s32)));
    // |INT32_MIN| = 2^31 fits in 32 unsigned bits.
    let mut n = b.wire(
        &format!("abs{j}"),
        Expr::mux(neg.clone(), x.clone().neg(), x.clone()).cast(false),
    );
    let mut lz = Expr::zero(u6);
    for k in [16u32, 8, 4, 2, 1] {
        let top_zero = n.slice(31, 32 - k).eq(Expr::zero(Ty::unsigned(k)));
        let shifted = Expr::concat(vec![n.slice(31 - k, 0), Expr::zero(Ty::unsigned(k))]);
        let name = format!("norm{k}_{j}");
        let z = b.wire(&format!("lz{k}_{j}"), top_zero);
        n = b.wire(&name, Expr::mux(z.clone(), shifted, n.clone()));
        lz = lz.add(Expr::mux(z, Expr::lit(i128::from(k), u6), Expr::zero(u6)));
    }
    let lz = b.wire(&format!("lz{j}"), lz);
    (neg, n, lz)
}

/// `v` (unsigned, a named signal) rounded to nearest, ties to even, at bit `k` (the `k` low
/// bits dropped), as a wire `name` one bit wider than what is kept.
fn round_even_at(b: &mut ModuleBuilder, name: &str, v: &Expr, k: u32) -> Expr {
    let w = v.ty().width;
    let kept = b.wire(&format!("{name}_kept"), v.slice(w - 1, k));
    let guard = v.bit(k - 1);
    let sticky = if k >= 2 {
        v.slice(k - 2, 0).any()
    } else {
        Expr::bit_const(false)
    };
    let up = guard.and(sticky.or(v.bit(k)));
    let one = Ty::unsigned(w - k + 1);
    b.wire(
        name,
        kept.ext(w - k + 1)
            .add(Expr::mux(up, Expr::lit(1, one), Expr::zero(one))),
    )
}

/// gemmlowp and LiteRT's optimized kernels (stages 2-5): the left shift, the Q31 multiply and
/// its rounding, the rounding right shift, the zero point.
fn q31(b: &mut ModuleBuilder, x: Expr, lane: Lane, mode: Rounding) -> (Expr, Lane) {
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
    let m = lane.mult.ext(64).cast(true);
    let p = b.delay(&format!("s3_p{j}"), xs.ext(64).mul(m));
    let lane = lane.carry(b, 3, false, true);
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
    let q = b.delay(&format!("s4_q{j}"), q);
    let lane = lane.carry(b, 4, false, true);
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
    let z = b.delay(&format!("s5_z{j}"), y.add(lane.zp.ext(33).cast(true)));
    (z, lane)
}

/// LiteRT's reference kernels (stages 2-6): `round_half_away(double(x) * eff)` in integers.
fn reference(b: &mut ModuleBuilder, x: Expr, lane: Lane) -> (Expr, Lane) {
    let j = lane.j;
    let s32 = Ty::signed(32);
    let (neg, n, lz) = normalise(b, j, &x);
    let s2_neg = b.delay(&format!("s2_neg{j}"), neg);
    let s2_n = b.delay(&format!("s2_n{j}"), n);
    let s2_lz = b.delay(&format!("s2_lz{j}"), lz);
    let lane = lane.carry(b, 2, true, true);
    let p = b.delay(&format!("s3_p{j}"), s2_n.ext(85).mul(lane.mult.ext(85)));
    let s3_neg = b.delay(&format!("s3_neg{j}"), s2_neg);
    let s3_lz = b.delay(&format!("s3_lz{j}"), s2_lz);
    let lane = lane.carry(b, 3, false, true);
    // P has its leading one at bit 84 or 83 (or is zero): keep 53 bits, ties to even.
    let top = p.bit(84);
    let r_hi = round_even_at(b, &format!("rhi{j}"), &p, 32); // 54 bits
    let p_lo = b.wire(&format!("plo{j}"), p.slice(83, 0));
    let r_lo = round_even_at(b, &format!("rlo{j}"), &p_lo, 31); // 54 bits
    let big = Ty::unsigned(54);
    let r = Expr::mux(top.clone(), r_hi, r_lo);
    // Fraction bits of R: f = lz - d - exp, d = 32 or 31 (10 bits signed: -160..=160).
    let s10 = Ty::signed(10);
    let d = Expr::mux(top, Expr::lit(32, s10), Expr::lit(31, s10));
    let f = s3_lz.ext(10).cast(true).sub(d).sub(lane.exp.ext(10));
    let s4_r = b.delay(&format!("s4_r{j}"), r);
    let s4_f = b.delay(&format!("s4_f{j}"), f);
    let s4_neg = b.delay(&format!("s4_neg{j}"), s3_neg);
    let lane = lane.carry(b, 4, false, false);
    // f <= 0: |value| >= 2^52, an int32 overflow (unless R = 0, when every result is 0);
    // f >= 56: |value| < 1/4, zero.
    let u6 = Ty::unsigned(6);
    let f_le0 = s4_f.clone().le(Expr::zero(s10));
    let f_big = s4_f.clone().ge(Expr::lit(56, s10));
    let nonzero = s4_r.clone().ne(Expr::zero(big));
    let sh = b.wire(&format!("fsh{j}"), s4_f.slice(5, 0));
    let t = b.wire(&format!("tsh{j}"), s4_r.clone().shr(sh.clone()));
    let one54 = Expr::lit(1, big);
    let rbit = s4_r
        .and(one54.shl(sh.sub(Expr::lit(1, u6))))
        .ne(Expr::zero(big));
    let t = Expr::mux(f_big.clone(), Expr::zero(big), t);
    let rbit = Expr::mux(f_big, Expr::bit_const(false), rbit);
    let s5_t = b.delay(&format!("s5_t{j}"), t);
    let s5_rb = b.delay(&format!("s5_rb{j}"), rbit);
    let s5_ovf = b.delay(&format!("s5_ovf{j}"), f_le0.and(nonzero));
    let s5_neg = b.delay(&format!("s5_neg{j}"), s4_neg);
    let lane = lane.carry(b, 5, false, false);
    // Half away from zero on the magnitude; beyond int32 the conversion gives INT32_MIN.
    let mag = b.wire(
        &format!("mag{j}"),
        s5_t.add(Expr::mux(s5_rb, Expr::lit(1, big), Expr::zero(big))),
    );
    let ovf = s5_ovf.or(mag.clone().ge(Expr::lit(1i128 << 31, big)));
    let m32 = b.keep(&mag, 31, 0, true);
    let signed = Expr::mux(s5_neg, m32.clone().neg(), m32);
    let y = b.wire(
        &format!("y{j}"),
        Expr::mux(ovf, Expr::lit(i128::from(i32::MIN), s32), signed),
    );
    // int32 addition of the zero point (wrapping, as the kernel's), then 33 bits.
    let zp32 = lane.zp.ext(32).cast(true);
    let w = b.wire(&format!("w{j}"), y.add(zp32));
    let z = b.delay(&format!("s6_z{j}"), w.ext(33));
    (z, lane)
}

/// XNNPACK (stages 2-7): `round_half_even(float32(float32(x) * s))` in integers.
fn xnnpack(b: &mut ModuleBuilder, x: Expr, lane: Lane) -> (Expr, Lane) {
    let j = lane.j;
    let (s10, s33) = (Ty::signed(10), Ty::signed(33));
    let (neg, n, lz) = normalise(b, j, &x);
    let s2_neg = b.delay(&format!("s2_neg{j}"), neg);
    let s2_n = b.delay(&format!("s2_n{j}"), n);
    let s2_lz = b.delay(&format!("s2_lz{j}"), lz);
    let lane = lane.carry(b, 2, true, true);
    // float32(x): 24 bits of n, ties to even; 2^24 after a carry (still exact below).
    let mx = round_even_at(b, &format!("mx{j}"), &s2_n, 8); // 25 bits
    let mx = b.delay(&format!("s3_mx{j}"), mx);
    let s3_neg = b.delay(&format!("s3_neg{j}"), s2_neg);
    let s3_lz = b.delay(&format!("s3_lz{j}"), s2_lz);
    let lane = lane.carry(b, 3, true, true);
    let p = b.delay(&format!("s4_p{j}"), mx.ext(49).mul(lane.mult.ext(49)));
    let s4_neg = b.delay(&format!("s4_neg{j}"), s3_neg);
    let s4_lz = b.delay(&format!("s4_lz{j}"), s3_lz);
    let lane = lane.carry(b, 4, false, true);
    // The float32 product: P < 2^48 has its leading one at bit 47 or 46; keep 24 bits.
    let top = p.bit(47);
    let r_hi = round_even_at(b, &format!("rhi{j}"), &p, 24); // 26 bits, the top one 0
    let p_lo = b.wire(&format!("plo{j}"), p.slice(46, 0));
    let r_lo = round_even_at(b, &format!("rlo{j}"), &p_lo, 23); // 25 bits
    let r = Expr::mux(top.clone(), b.keep(&r_hi, 24, 0, false), r_lo);
    // value = R * 2^(d + 8 - lz + exp): fraction bits f = lz - 8 - d - exp.
    let d = Expr::mux(top, Expr::lit(24, s10), Expr::lit(23, s10));
    let f = s4_lz
        .ext(10)
        .cast(true)
        .sub(Expr::lit(8, s10))
        .sub(d)
        .sub(lane.exp.ext(10));
    let s5_r = b.delay(&format!("s5_r{j}"), r);
    let s5_f = b.delay(&format!("s5_f{j}"), f);
    let s5_neg = b.delay(&format!("s5_neg{j}"), s4_neg);
    let lane = lane.carry(b, 5, false, false);
    // |value| < 2^40 (scale < 256): f >= -15. f <= 0 shifts left; f >= 27 rounds to zero.
    let u25 = Ty::unsigned(25);
    let u64t = Ty::unsigned(64);
    let u6 = Ty::unsigned(6);
    let f_le0 = s5_f.clone().le(Expr::zero(s10));
    let f_big = s5_f.clone().ge(Expr::lit(27, s10));
    let minus_f = b.wire(&format!("nf{j}"), s5_f.clone().neg());
    let lsh = b.keep(&minus_f, 5, 0, false);
    let lsh = b.wire(&format!("flsh{j}"), lsh);
    let rsh = b.wire(&format!("frsh{j}"), s5_f.slice(5, 0));
    let left = s5_r.ext(64).shl(lsh);
    let right = b.wire(&format!("tsh{j}"), s5_r.clone().shr(rsh.clone()));
    let one = Expr::lit(1, u25);
    let at = |k: Expr| s5_r.clone().and(one.clone().shl(k)).ne(Expr::zero(u25));
    let guard = at(rsh.clone().sub(Expr::lit(1, u6)));
    let below = s5_r
        .clone()
        .and(
            one.clone()
                .shl(rsh.clone().sub(Expr::lit(1, u6)))
                .sub(one.clone()),
        )
        .ne(Expr::zero(u25));
    let odd = right.bit(0);
    let up = guard.and(below.or(odd));
    let t = Expr::mux(
        f_le0.clone(),
        left,
        Expr::mux(f_big.clone(), Expr::zero(u64t), right.ext(64)),
    );
    let up = Expr::mux(f_le0.or(f_big), Expr::bit_const(false), up);
    let s6_t = b.delay(&format!("s6_t{j}"), t);
    let s6_up = b.delay(&format!("s6_up{j}"), up);
    let s6_neg = b.delay(&format!("s6_neg{j}"), s5_neg);
    let lane = lane.carry(b, 6, false, false);
    // |value| < 2^40: saturate the magnitude at 2^31, beyond any output bound, so that
    // +-magnitude + zero point fits 33 bits.
    let mag = b.wire(
        &format!("mag{j}"),
        s6_t.add(Expr::mux(s6_up, Expr::lit(1, u64t), Expr::zero(u64t))),
    );
    let big = mag.clone().ge(Expr::lit(1i128 << 31, u64t));
    let low = b.keep(&mag, 30, 0, false);
    let low = b.wire(&format!("mlow{j}"), low);
    let m33 = Expr::mux(big, Expr::lit(1i128 << 31, s33), low.ext(33).cast(true));
    let m = b.wire(&format!("m{j}"), m33);
    let signed = Expr::mux(s6_neg, m.clone().neg(), m);
    let z = b.delay(&format!("s7_z{j}"), signed.add(lane.zp.ext(33).cast(true)));
    (z, lane)
}

/// The last stage of a lane: `z` (33-bit signed) clamped to the record's [lo, hi] and to the
/// output range, then the activation (a ROM for tables), narrowed to the output type.
fn activate(
    b: &mut ModuleBuilder,
    z: Expr,
    lane: &Lane,
    post: &PostprocConfig,
    table: Option<&[i64]>,
) -> Expr {
    let j = lane.j;
    let ob = post.out_bits;
    let (qmin, qmax) = post.out_range();
    let out_ty = Ty::new(ob, post.out_signed);
    let ext = |e: &Expr| e.ext(33).cast(true);
    let v = z;
    let (lo, hi) = (ext(&lane.lo), ext(&lane.hi));
    let v1 = b.wire(
        &format!("vlo{j}"),
        Expr::mux(v.clone().lt(lo.clone()), lo, v),
    );
    let v2 = b.wire(
        &format!("vhi{j}"),
        Expr::mux(v1.clone().gt(hi.clone()), hi, v1),
    );
    match table {
        Some(t) => {
            // Table index: the clamped value minus qmin, modulo 2^ob.
            let u_ob = Ty::unsigned(ob);
            let idx = b.wire(
                &format!("idx{j}"),
                clamp_narrow(&v2, qmin, qmax, u_ob).sub(Expr::lit(i128::from(qmin), u_ob)),
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
            });
            b.wire(&format!("o{j}"), rom.cast(post.out_signed))
        }
        None => {
            let stage = postproc_latency(post.rounding);
            b.delay(
                &format!("s{stage}_o{j}"),
                clamp_narrow(&v2, qmin, qmax, out_ty),
            )
        }
    }
}
