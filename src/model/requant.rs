//! Requantization of an int32 sum (`acc + bias`) to a quantized output, bit-exact with each of
//! LiteRT's CPU paths for int8 FULLY_CONNECTED (checked against the LiteRT 2.3.0 interpreter
//! itself by `tests/litert_oracle.rs`). The paths round differently:
//!
//! | [`Rounding`] | LiteRT op resolver | `y` (before the zero point and the clamp) |
//! |---|---|---|
//! | `Reference` | `BUILTIN_REF` | `round_half_away(f64(x) * eff)`, eff = f64(in_s) * f64(w_s) / f64(out_s) |
//! | `Optimized` | `BUILTIN_WITHOUT_DEFAULT_DELEGATES` (ruy) | (M, e) = QuantizeMultiplier(eff); t = ((x << max(e, 0)) * M + 2^30) >> 31; then `(t + 2^(r-1)) >> r`, r = max(-e, 0) |
//! | `Xnnpack` | `AUTO` (XNNPACK delegate) | `round_half_even(f32(x) * s)`, s = f32(f32(in_s * w_s) / out_s), all in float32 |
//! | `Gemmlowp` | (gemmlowp, TFLite before single rounding) | `RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(x << max(e, 0), M), max(-e, 0))` |
//!
//! Then `clamp(y + out_zp, lo, hi)`. A worked tie: x = -139 at eff = 0.5 is -69.5 exactly;
//! `Reference` gives -70 (half away from zero), `Xnnpack` -70 (half to even), `Optimized` and
//! `Gemmlowp` -69 (their Q31 multiply rounds the tie up, towards +infinity).

use super::gemmlowp::{rounding_divide_by_pot, saturating_rounding_doubling_high_mul};

/// Which LiteRT path's arithmetic to reproduce (`postproc.rounding`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rounding {
    /// LiteRT's reference kernels: one rounding (half away from zero) in double precision.
    Reference,
    /// LiteRT's optimized builtin kernels (ruy): the Q31 multiply rounded, then the shift
    /// rounded half up.
    Optimized,
    /// The default path, XNNPACK: float32 scale and product, rounded half to even.
    Xnnpack,
    /// gemmlowp's doubling high multiply and rounding shift (npugen's original arithmetic).
    Gemmlowp,
}

impl Rounding {
    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Rounding::Reference => "reference",
            Rounding::Optimized => "optimized",
            Rounding::Xnnpack => "xnnpack",
            Rounding::Gemmlowp => "gemmlowp",
        }
    }

    /// Every mode, in table order.
    pub const ALL: [Rounding; 4] = [
        Rounding::Reference,
        Rounding::Optimized,
        Rounding::Xnnpack,
        Rounding::Gemmlowp,
    ];
}

/// The three float32 scales a quantized layer stores (XNNPACK needs all three, not their
/// quotient).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scales {
    /// Input (activation) scale.
    pub input: f32,
    /// Weight scale of the output channel.
    pub weight: f32,
    /// Output scale.
    pub output: f32,
}

impl Scales {
    /// The effective scale as TFLite's reference and optimized paths compute it, in double.
    pub fn effective(&self) -> f64 {
        f64::from(self.input) * f64::from(self.weight) / f64::from(self.output)
    }

    /// XNNPACK's float32 scale: f32(f32(in * w) / out).
    pub fn xnnpack(&self) -> f32 {
        (self.input * self.weight) / self.output
    }

    /// Whether LiteRT's default (XNNPACK) path runs a layer with these scales: its delegate
    /// fails to prepare an FC whose float32 scale is 256 or more, so the model has no answer.
    pub fn xnnpack_accepts(&self) -> bool {
        self.xnnpack() < 256.0
    }
}

/// TFLite's `QuantizeMultiplier` for any positive scale: `real ~ m * 2^(exponent - 31)` with m
/// in [2^30, 2^31) (0 for a zero scale).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Multiplier {
    /// The Q31 multiplier.
    pub m: i32,
    /// Left shift when positive, right shift when negative.
    pub exponent: i32,
}

/// `QuantizeMultiplier(real)`: frexp, the mantissa rounded half away from zero to 31 bits,
/// a mantissa that rounds up to 1.0 renormalised; exponents below -31 flush to zero and above
/// 30 saturate, as TFLite does.
pub fn quantize_multiplier(real: f64) -> Multiplier {
    if !(real.is_finite() && real > 0.0) {
        return Multiplier { m: 0, exponent: 0 };
    }
    let (q, mut e) = frexp(real);
    let mut q_fixed = (q * f64::from(1u32 << 31)).round() as i64;
    if q_fixed == 1i64 << 31 {
        q_fixed /= 2;
        e += 1;
    }
    if e < -31 {
        return Multiplier { m: 0, exponent: 0 };
    }
    if e > 30 {
        return Multiplier {
            m: i32::MAX,
            exponent: 30,
        };
    }
    Multiplier {
        m: q_fixed as i32,
        exponent: e,
    }
}

/// `frexp` for a positive finite `x` (subnormals included): x = q * 2^e, q in [0.5, 1).
fn frexp(x: f64) -> (f64, i32) {
    let bits = x.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i32;
    if exp == 0 {
        let (q, e) = frexp(x * f64::from(1u32 << 31) * f64::from(1u32 << 23));
        return (q, e - 54);
    }
    let q = f64::from_bits((bits & !(0x7ffu64 << 52)) | (1022u64 << 52));
    (q, exp - 1022)
}

/// `x` (acc + bias) scaled by `scales` in `mode`, before the zero point and the clamp.
pub fn scale(x: i32, scales: &Scales, mode: Rounding) -> i64 {
    match mode {
        Rounding::Reference => i64::from(reference_round(f64::from(x) * scales.effective())),
        // float32 to the nearest integer, ties to even (IEEE's default, as XNNPACK rounds).
        Rounding::Xnnpack => (x as f32 * scales.xnnpack()).round_ties_even() as i64,
        Rounding::Optimized | Rounding::Gemmlowp => {
            apply_multiplier(x, quantize_multiplier(scales.effective()), mode)
        }
    }
}

/// The reference kernels' `static_cast<int32_t>(round(v))` as LiteRT runs it on x86: half away
/// from zero, and a value outside int32 becomes INT32_MIN (the conversion's "integer
/// indefinite"), which the zero point's int32 addition then wraps.
pub fn reference_round(v: f64) -> i32 {
    let r = v.round();
    if (-2_147_483_648.0..2_147_483_648.0).contains(&r) {
        r as i32
    } else {
        i32::MIN
    }
}

/// `x` times a quantized multiplier, rounded as the integer modes do (`Reference` and
/// `Xnnpack`, which do not use one, round as `Optimized`).
pub fn apply_multiplier(x: i32, Multiplier { m, exponent }: Multiplier, mode: Rounding) -> i64 {
    match mode {
        Rounding::Gemmlowp => {
            let shifted = x.wrapping_mul(1i32.wrapping_shl(exponent.max(0) as u32));
            let high = saturating_rounding_doubling_high_mul(shifted, m);
            i64::from(rounding_divide_by_pot(high, (-exponent).max(0) as u32))
        }
        _ => {
            // The left shift wraps at 32 bits, as ruy's vector kernels shift (checked against
            // LiteRT with scales >= 1 and accumulators near 2^30).
            let shifted = i64::from(x.wrapping_shl(exponent.max(0) as u32));
            let t = (shifted * i64::from(m) + (1 << 30)) >> 31;
            let r = (-exponent).max(0);
            if r == 0 {
                t
            } else {
                (t + (1i64 << (r - 1))) >> r
            }
        }
    }
}

/// A column's scale as one requantization datapath takes it: an integer `mult` and a power of
/// two `exp`.
///
/// - `Reference`: the double effective scale is `mult * 2^exp` exactly (53-bit significand).
/// - `Xnnpack`: XNNPACK's float32 scale is `mult * 2^exp` exactly (24-bit significand).
/// - `Optimized`, `Gemmlowp`: TFLite's `QuantizeMultiplier` (`mult` = M, `exp` = its exponent,
///   the scale being M * 2^(exp - 31)).
///
/// A zero `mult` stands for a scale too small to move any int32 to a non-zero result.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Scaling {
    /// The significand (or Q31 multiplier).
    pub mult: u64,
    /// The power of two (int8).
    pub exp: i32,
}

/// A column's scale as a config gives it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ColumnScale {
    /// The effective scale (input * weight / output) alone.
    Effective(f64),
    /// The three scales the model stores.
    Stored(Scales),
}

impl ColumnScale {
    /// The double effective scale.
    pub fn effective(&self) -> f64 {
        match self {
            ColumnScale::Effective(e) => *e,
            ColumnScale::Stored(s) => s.effective(),
        }
    }
}

/// Reference scales below this flush to zero (|x| * scale < 0.25 for every int32 x) and above
/// its inverse are capped (every non-zero x overflows int32 either way).
const REFERENCE_FLUSH: f64 = 1.0 / (1u64 << 40) as f64;

impl Scaling {
    /// The encoding of `scale` for `mode`; `None` where the mode cannot run it: XNNPACK needs
    /// the three stored scales and refuses a float32 scale of 256 or more.
    pub fn encode(scale: ColumnScale, mode: Rounding) -> Option<Scaling> {
        match mode {
            Rounding::Reference => {
                let e = scale.effective();
                if !(e.is_finite() && e >= REFERENCE_FLUSH) {
                    return Some(Scaling::default());
                }
                let bits = e.min(1.0 / REFERENCE_FLUSH).to_bits();
                Some(Scaling {
                    mult: (bits & ((1 << 52) - 1)) | (1 << 52),
                    exp: ((bits >> 52) & 0x7ff) as i32 - 1075,
                })
            }
            Rounding::Xnnpack => {
                let ColumnScale::Stored(s) = scale else {
                    return None;
                };
                let f = s.xnnpack();
                if !s.xnnpack_accepts() {
                    return None;
                }
                if !(f.is_finite() && f64::from(f) >= REFERENCE_FLUSH) {
                    return Some(Scaling::default());
                }
                let bits = f.to_bits();
                Some(Scaling {
                    mult: u64::from((bits & 0x7f_ffff) | 0x80_0000),
                    exp: ((bits >> 23) & 0xff) as i32 - 150,
                })
            }
            Rounding::Optimized | Rounding::Gemmlowp => {
                let Multiplier { m, exponent } = quantize_multiplier(scale.effective());
                Some(Scaling {
                    mult: m as u64,
                    exp: exponent,
                })
            }
        }
    }

    /// `x` (acc + bias) scaled and offset by `zero_point` as `mode`'s LiteRT path computes it,
    /// before the clamp.
    pub fn apply(&self, x: i32, zero_point: i32, mode: Rounding) -> i64 {
        let zp = i64::from(zero_point);
        match mode {
            Rounding::Reference => {
                let eff = self.mult as f64 * 2f64.powi(self.exp);
                i64::from(reference_round(f64::from(x) * eff).wrapping_add(zero_point))
            }
            Rounding::Xnnpack => {
                let s = self.mult as f32 * 2f32.powi(self.exp);
                (x as f32 * s).round_ties_even() as i64 + zp
            }
            Rounding::Optimized | Rounding::Gemmlowp => {
                let m = Multiplier {
                    m: self.mult as i32,
                    exponent: self.exp,
                };
                apply_multiplier(x, m, mode) + zp
            }
        }
    }
}

/// The quantized output: `scale(x) + zero_point`, clamped to `lo..=hi` (the output type's
/// range narrowed by a fused activation).
pub fn requantize(
    x: i32,
    scales: &Scales,
    zero_point: i32,
    (lo, hi): (i64, i64),
    mode: Rounding,
) -> i64 {
    let y = scale(x, scales, mode);
    let z = match mode {
        // int32 arithmetic: an overflowed product (INT32_MIN) wraps with the zero point.
        Rounding::Reference => i64::from((y as i32).wrapping_add(zero_point)),
        _ => y + i64::from(zero_point),
    };
    z.clamp(lo, hi)
}

/// The clamp bounds of a fused RELU or RELU6 on an output of `scale` and `zero_point` within
/// `lo..=hi`, as TFLite's `CalculateActivationRangeQuantized` computes them (6 / scale in
/// float32, rounded half away from zero).
pub fn fused_bounds(relu6: bool, scale: f32, zero_point: i32, (lo, hi): (i64, i64)) -> (i64, i64) {
    let lo = lo.max(i64::from(zero_point));
    let hi = if relu6 {
        hi.min(i64::from(zero_point) + (6.0f32 / scale).round() as i64)
    } else {
        hi
    };
    (lo, hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(input: f32, weight: f32, output: f32) -> Scales {
        Scales {
            input,
            weight,
            output,
        }
    }

    #[test]
    fn the_worked_tie() {
        // -139 * 0.5 = -69.5, as in the module doc.
        let half = s(0.5, 1.0, 1.0);
        let got: Vec<i64> = Rounding::ALL
            .iter()
            .map(|&m| scale(-139, &half, m))
            .collect();
        assert_eq!(got, vec![-70, -69, -70, -69]);
        // 69.5 and 70.5: half to even goes down and up.
        assert_eq!(scale(139, &half, Rounding::Xnnpack), 70);
        assert_eq!(scale(141, &half, Rounding::Xnnpack), 70);
        assert_eq!(scale(141, &half, Rounding::Reference), 71);
    }

    #[test]
    fn double_rounding_differs_from_single() {
        // 227 * 0.011: 2.497 (Reference 2); the Q31 product rounds to 160 = 2.5 * 2^6, and the
        // rounding shift then gives 3 (Optimized and Gemmlowp).
        let sc = s(0.5, 0.022, 1.0);
        assert_eq!(scale(227, &sc, Rounding::Reference), 2);
        assert_eq!(scale(227, &sc, Rounding::Optimized), 3);
        assert_eq!(scale(227, &sc, Rounding::Gemmlowp), 3);
        assert_eq!(scale(227, &sc, Rounding::Xnnpack), 2);
    }

    #[test]
    fn quantize_multiplier_matches_tflite() {
        // (M, right shift) where TFLite's right-shift-only form exists (M != 0, exponent in
        // -31..=0), else None.
        let narrow = |real: f64| {
            let q = quantize_multiplier(real);
            (q.m != 0 && (-31..=0).contains(&q.exponent)).then_some((q.m, -q.exponent))
        };
        // 0.5 = 0.5 * 2^0: M = 2^30, no shift.
        assert_eq!(narrow(0.5), Some((1 << 30, 0)));
        // 0.25 = 0.5 * 2^-1.
        assert_eq!(narrow(0.25), Some((1 << 30, 1)));
        // 0.00731 = 0.93568 * 2^-7 (frexp); M = round(0.93568 * 2^31) = 2009357500.
        let (m, shift) = narrow(0.00731).unwrap();
        assert_eq!(shift, 7);
        assert_eq!(m, 2_009_357_500);
        let effective = f64::from(m) / f64::from(1u32 << 31) / f64::from(1u32 << shift);
        assert!((effective - 0.00731).abs() < 1e-12);
        // A value that rounds up to 2^31 moves to the next exponent: a left shift.
        assert_eq!(narrow(0.999_999_999_9), None, "rounds to 1.0, a left shift");
        assert_eq!(quantize_multiplier(0.999_999_999_9).exponent, 1);
        assert!(narrow(1.0).is_none());
        assert!(narrow(2f64.powi(-33)).is_none());
        assert_eq!(narrow(2f64.powi(-32)).unwrap().1, 31);
    }

    #[test]
    fn quantize_multiplier_literals() {
        // 0.5 = 2^30 * 2^(0 - 31); 3.0 = 0.75 * 2^2; 2^-40 flushes to zero.
        assert_eq!(
            quantize_multiplier(0.5),
            Multiplier {
                m: 1 << 30,
                exponent: 0
            }
        );
        assert_eq!(
            quantize_multiplier(3.0),
            Multiplier {
                m: 1_610_612_736,
                exponent: 2
            }
        );
        assert_eq!(quantize_multiplier(2f64.powi(-40)).m, 0);
        // A mantissa that rounds up to 1.0: 1 - 2^-40 becomes 2^30 * 2^(1 - 31).
        assert_eq!(
            quantize_multiplier(1.0 - 2f64.powi(-40)),
            Multiplier {
                m: 1 << 30,
                exponent: 1
            }
        );
    }

    #[test]
    fn scales_above_one_shift_left() {
        // eff = 3: 100 -> 300 in every mode.
        let sc = s(1.5, 1.0, 0.5);
        for m in Rounding::ALL {
            assert_eq!(scale(100, &sc, m), 300, "{m:?}");
        }
    }

    #[test]
    fn encoded_scalings_compute_what_the_formulas_do() {
        // Scaling::apply (what the hardware's parameters mean) against requantize (the
        // formulas checked against LiteRT), on random scales, ties and huge or tiny ones.
        let mut rng = crate::rng::Rng::new(11);
        for k in 0..3000 {
            let f = |rng: &mut crate::rng::Rng| {
                let e = rng.range(-40, 12) as i32;
                (rng.range(1 << 20, 1 << 24) as f32) * 2f32.powi(e - 24)
            };
            let sc = s(f(&mut rng), f(&mut rng), f(&mut rng));
            let x = match k % 3 {
                0 => rng.range(-(1 << 31), (1 << 31) - 1) as i32,
                1 => rng.range(-100_000, 100_000) as i32,
                _ => [i32::MIN, i32::MAX, 0, 1, -1][k % 5],
            };
            let zp = rng.range(-128, 127) as i32;
            for m in Rounding::ALL {
                let col = ColumnScale::Stored(sc);
                let Some(enc) = Scaling::encode(col, m) else {
                    assert!(m == Rounding::Xnnpack && !sc.xnnpack_accepts());
                    continue;
                };
                let lim = (-(1i64 << 40), 1i64 << 40);
                assert_eq!(
                    enc.apply(x, zp, m).clamp(lim.0, lim.1),
                    requantize(x, &sc, zp, lim, m),
                    "{m:?} x {x} scales {sc:?}"
                );
                assert!((-128..=127).contains(&enc.exp), "{m:?} exp {}", enc.exp);
            }
        }
    }

    #[test]
    fn relu6_bounds() {
        // 6 / 0.05 = 120 (float32: 119.99999...? rounds to 120); zero point -10.
        assert_eq!(fused_bounds(true, 0.05, -10, (-128, 127)), (-10, 110));
        assert_eq!(fused_bounds(false, 0.05, -10, (-128, 127)), (-10, 127));
    }
}
