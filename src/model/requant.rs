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

use super::postproc::{rounding_divide_by_pot, saturating_rounding_doubling_high_mul};

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
        Rounding::Reference => (f64::from(x) * scales.effective()).round() as i64,
        // float32 to the nearest integer, ties to even (IEEE's default, as XNNPACK rounds).
        Rounding::Xnnpack => (x as f32 * scales.xnnpack()).round_ties_even() as i64,
        Rounding::Optimized | Rounding::Gemmlowp => {
            apply_multiplier(x, quantize_multiplier(scales.effective()), mode)
        }
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
            let shifted = i64::from(x) << exponent.max(0);
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

/// The quantized output: `scale(x) + zero_point`, clamped to `lo..=hi` (the output type's
/// range narrowed by a fused activation).
pub fn requantize(
    x: i32,
    scales: &Scales,
    zero_point: i32,
    (lo, hi): (i64, i64),
    mode: Rounding,
) -> i64 {
    (scale(x, scales, mode) + i64::from(zero_point)).clamp(lo, hi)
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
    fn relu6_bounds() {
        // 6 / 0.05 = 120 (float32: 119.99999...? rounds to 120); zero point -10.
        assert_eq!(fused_bounds(true, 0.05, -10, (-128, 127)), (-10, 110));
        assert_eq!(fused_bounds(false, 0.05, -10, (-128, 127)), (-10, 127));
    }
}
