//! Golden model of the post-MAC datapath: `acc + bias`, requantization and the activation, all
//! in integers. With `rounding = "gemmlowp"`:
//!
//! ```text
//! out = act(zero_point + RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(acc + bias, M), s))
//! ```
//!
//! with `"optimized"` the multiply and shift round as LiteRT's optimized kernels do
//! ([`crate::model::requant`], checked against LiteRT itself).
//!
//! `M` (int32) and `s` (right shift) come from the real scale exactly as TFLite's
//! `QuantizeMultiplier` computes them; `M` is held as an [`I1F31`] fixed-point number, the real
//! factor it stands for.

use fixed::types::I1F31;

use crate::config::{Activation, PostprocConfig};
use crate::model::requant::{apply_multiplier, Multiplier};

/// gemmlowp `SaturatingRoundingDoublingHighMul`: the high 32 bits of 2*a*b, rounded to nearest
/// with ties away from zero; saturates the single overflow case (INT32_MIN * INT32_MIN).
pub(crate) fn saturating_rounding_doubling_high_mul(a: i32, b: i32) -> i32 {
    if a == i32::MIN && b == i32::MIN {
        return i32::MAX;
    }
    let ab = i64::from(a) * i64::from(b);
    let nudge: i64 = if ab >= 0 { 1 << 30 } else { 1 - (1 << 30) };
    // C++ integer division truncates toward zero, as Rust's does.
    ((ab + nudge) / (1i64 << 31)) as i32
}

/// gemmlowp `RoundingDivideByPOT`: x / 2^exponent rounded to nearest, ties away from zero.
pub(crate) fn rounding_divide_by_pot(x: i32, exponent: u32) -> i32 {
    assert!(exponent <= 31, "exponent {exponent}");
    let mask: i64 = (1i64 << exponent) - 1;
    let x = i64::from(x);
    let remainder = x & mask;
    let threshold = (mask >> 1) + i64::from(x < 0);
    ((x >> exponent) + i64::from(remainder > threshold)) as i32
}

/// A real scale as an int32 multiplier and a right shift.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuantizedMultiplier {
    /// The multiplier M in [0.5, 1) as Q1.31 (its bits are TFLite's int32 multiplier).
    pub multiplier: I1F31,
    /// Right shift s in 0..=31.
    pub shift: u32,
}

impl QuantizedMultiplier {
    /// TFLite's int32 `quantized_multiplier`.
    pub fn bits(&self) -> i32 {
        self.multiplier.to_bits()
    }

    /// The same multiplier as [`crate::model::requant`] states it (exponent = -shift).
    pub fn as_multiplier(&self) -> Multiplier {
        Multiplier {
            m: self.bits(),
            exponent: -(self.shift as i32),
        }
    }

    /// The real scale this stands for: M * 2^-s.
    pub(crate) fn effective_scale(&self) -> f64 {
        self.multiplier.to_num::<f64>() / (1u64 << self.shift) as f64
    }
}

/// TFLite `QuantizeMultiplier` for 0 < real < 1 ([`crate::model::requant::quantize_multiplier`]
/// narrowed to right shifts): `None` if the scale needs a left shift or a right shift beyond 31
/// (TFLite would then use a zero multiplier).
pub fn quantize_multiplier(real: f64) -> Option<QuantizedMultiplier> {
    let Multiplier { m, exponent } = crate::model::requant::quantize_multiplier(real);
    (m != 0 && (-31..=0).contains(&exponent)).then(|| QuantizedMultiplier {
        multiplier: I1F31::from_bits(m),
        shift: (-exponent) as u32,
    })
}

/// The lookup table of a sigmoid or tanh activation: entry `q - qmin` for each requantized
/// value q in the output range. Inputs mean x = (q - zero_point) * lut_input_scale; outputs use
/// TFLite's fixed output quantization (sigmoid: scale 2^-out_bits, zero point qmin; tanh:
/// scale 2^-(out_bits-1), zero point at mid range), rounded half away from zero.
pub fn activation_table(p: &PostprocConfig) -> Vec<i64> {
    let (lo, hi) = p.out_range();
    let step = p.lut_input_scale.unwrap_or(1.0);
    (lo..=hi)
        .map(|q| {
            let x = (q - i64::from(p.zero_point)) as f64 * step;
            let y = match p.activation {
                Activation::Sigmoid => {
                    let f = 1.0 / (1.0 + (-x).exp());
                    (f * (1u64 << p.out_bits) as f64).round() as i64 + lo
                }
                _ => {
                    let f = x.tanh();
                    (f * (1u64 << (p.out_bits - 1)) as f64).round() as i64 + (lo + hi + 1) / 2
                }
            };
            y.clamp(lo, hi)
        })
        .collect()
}

/// The whole datapath for one value of column `col`: requantize, add the zero point, apply
/// the activation and clamp to the output range. `table` is [`activation_table`] for LUT
/// activations (ignored otherwise).
pub fn postprocess(
    p: &PostprocConfig,
    qms: &[QuantizedMultiplier],
    table: &[i64],
    col: usize,
    acc: i64,
    bias: i32,
) -> i64 {
    let x = (acc as i32).wrapping_add(bias);
    let qm = qms[if qms.len() == 1 { 0 } else { col }];
    let zp = i64::from(p.zero_point);
    let z = apply_multiplier(x, qm.as_multiplier(), p.rounding) + zp;
    let (lo, hi) = p.out_range();
    match p.activation {
        Activation::None => z.clamp(lo, hi),
        Activation::Relu => z.clamp(zp.max(lo), hi),
        Activation::Clamp => {
            let (a, b) = p.clamp_bounds();
            z.clamp(a, b)
        }
        Activation::LeakyRelu => {
            let y = if z >= zp {
                z
            } else {
                zp + ((z - zp) >> p.leaky_shift)
            };
            y.clamp(lo, hi)
        }
        Activation::Sigmoid | Activation::Tanh => table[(z.clamp(lo, hi) - lo) as usize],
    }
}

/// The reference output of an npu_core: `postprocess` of every element of C (M x N, the
/// wrapped accumulator values) with its column's bias; column n is served by array lane
/// n % `lanes`, whose constants apply.
pub fn postprocess_matrix(
    p: &PostprocConfig,
    lanes: usize,
    c: &crate::model::Matrix,
    bias: &[i128],
) -> crate::model::Matrix {
    let qms = multipliers(p, lanes);
    let table = if p.activation.is_lut() {
        activation_table(p)
    } else {
        Vec::new()
    };
    let mut y = crate::model::Matrix::zeros(c.rows, c.cols);
    for i in 0..c.rows {
        for (n, &b) in bias.iter().enumerate().take(c.cols) {
            let v = postprocess(p, &qms, &table, n % lanes, c.at(i, n) as i64, b as i32);
            *y.at_mut(i, n) = i128::from(v);
        }
    }
    y
}

/// The quantized multipliers of every column (one if the scale is per tensor).
pub fn multipliers(p: &PostprocConfig, cols: usize) -> Vec<QuantizedMultiplier> {
    let n = match &p.scale {
        crate::config::Scale::PerTensor(_) => 1,
        crate::config::Scale::PerColumn(_) => cols,
    };
    (0..n)
        .map(|j| quantize_multiplier(p.scale_of(j)).expect("validated scale"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optimized_rounding_is_the_litert_checked_one() {
        use crate::model::requant::Rounding;
        // postprocess in "optimized" mode must be requant::scale's Optimized (the function
        // tests/litert_oracle.rs checks against LiteRT), ties included: power-of-two scales.
        use crate::model::requant::{scale, Scales};
        let mut rng = crate::rng::Rng::new(7);
        for k in 0..400 {
            let s = if k % 2 == 0 {
                2f32.powi(-(rng.range(1, 12) as i32))
            } else {
                rng.range(1, 1 << 20) as f32 * 2f32.powi(-21)
            };
            let p = PostprocConfig {
                out_bits: 16,
                scale: crate::config::Scale::PerTensor(f64::from(s)),
                zero_point: 5,
                rounding: Rounding::Optimized,
                ..PostprocConfig::default()
            };
            let qms = multipliers(&p, 1);
            for _ in 0..20 {
                let acc = rng.range(-(1 << 24), 1 << 24);
                let bias = rng.range(-1000, 1000) as i32;
                let sc = Scales {
                    input: s,
                    weight: 1.0,
                    output: 1.0,
                };
                let want =
                    (scale(acc as i32 + bias, &sc, Rounding::Optimized) + 5).clamp(-32768, 32767);
                assert_eq!(
                    postprocess(&p, &qms, &[], 0, acc, bias),
                    want,
                    "s {s} acc {acc}"
                );
            }
        }
    }

    #[test]
    fn srdhm_hand_cases() {
        // 2 * a * b / 2^32 rounded: 0.5 * 0.5 in Q31 is 0.25.
        assert_eq!(
            saturating_rounding_doubling_high_mul(1 << 30, 1 << 30),
            1 << 29
        );
        // The single saturating case.
        assert_eq!(
            saturating_rounding_doubling_high_mul(i32::MIN, i32::MIN),
            i32::MAX
        );
        assert_eq!(
            saturating_rounding_doubling_high_mul(i32::MIN, i32::MAX),
            -i32::MAX
        );
        // Ties: the reference nudge rounds +0.5 up to 1 but -0.5 up to 0 (and -1.5 to -1),
        // i.e. half toward +infinity for negative products. We follow the code, not a name.
        assert_eq!(saturating_rounding_doubling_high_mul(1, 1 << 30), 1);
        assert_eq!(saturating_rounding_doubling_high_mul(-1, 1 << 30), 0);
        assert_eq!(saturating_rounding_doubling_high_mul(-3, 1 << 30), -1);
        // Just below a tie rounds toward zero.
        assert_eq!(saturating_rounding_doubling_high_mul(1, (1 << 30) - 1), 0);
        assert_eq!(saturating_rounding_doubling_high_mul(-1, (1 << 30) - 1), 0);
        // Extremes of the multiplier.
        assert_eq!(
            saturating_rounding_doubling_high_mul(i32::MAX, i32::MAX),
            i32::MAX - 1
        );
        assert_eq!(saturating_rounding_doubling_high_mul(1000, i32::MAX), 1000);
    }

    #[test]
    fn rounding_divide_by_pot_ties_away_from_zero() {
        assert_eq!(rounding_divide_by_pot(5, 1), 3); // 2.5 -> 3
        assert_eq!(rounding_divide_by_pot(-5, 1), -3); // -2.5 -> -3
        assert_eq!(rounding_divide_by_pot(7, 2), 2); // 1.75 -> 2
        assert_eq!(rounding_divide_by_pot(-7, 2), -2);
        assert_eq!(rounding_divide_by_pot(6, 2), 2); // 1.5 -> 2
        assert_eq!(rounding_divide_by_pot(-6, 2), -2); // -1.5 -> -2
        assert_eq!(rounding_divide_by_pot(-9, 2), -2); // -2.25 -> -2
        assert_eq!(rounding_divide_by_pot(123, 0), 123);
        assert_eq!(rounding_divide_by_pot(i32::MIN, 31), -1);
        assert_eq!(rounding_divide_by_pot(i32::MAX, 31), 1);
    }

    #[test]
    fn quantize_multiplier_matches_tflite() {
        // 0.5 = 0.5 * 2^0: M = 2^30, no shift.
        let q = quantize_multiplier(0.5).unwrap();
        assert_eq!((q.bits(), q.shift), (1 << 30, 0));
        // 0.25 = 0.5 * 2^-1.
        let q = quantize_multiplier(0.25).unwrap();
        assert_eq!((q.bits(), q.shift), (1 << 30, 1));
        // 0.00731 = 0.93568 * 2^-7 (frexp); M = round(0.93568 * 2^31) = 2009357500.
        let q = quantize_multiplier(0.00731).unwrap();
        assert_eq!(q.shift, 7);
        assert_eq!(q.bits(), 2_009_357_500);
        assert!((q.effective_scale() - 0.00731).abs() < 1e-12);
        // A value that rounds up to 2^31 moves to the next exponent.
        let q = quantize_multiplier(0.999_999_999_9).unwrap_or(QuantizedMultiplier {
            multiplier: I1F31::ZERO,
            shift: 99,
        });
        assert_eq!(
            q.shift, 99,
            "rounds to 1.0, which needs a left shift: unsupported"
        );
        assert!(quantize_multiplier(1.0).is_none());
        assert!(quantize_multiplier(2f64.powi(-33)).is_none());
        assert_eq!(quantize_multiplier(2f64.powi(-32)).unwrap().shift, 31);
    }

    #[test]
    fn requantize_hand_computed() {
        let p = PostprocConfig {
            scale: crate::config::Scale::PerTensor(0.25),
            zero_point: -5,
            ..PostprocConfig::default()
        };
        let qms = multipliers(&p, 1);
        // (100 + 10) * 0.25 = 27.5 -> 28 (tie away from zero), + zp = 23.
        assert_eq!(postprocess(&p, &qms, &[], 0, 100, 10), 23);
        // -110 * 0.25 = -27.5 -> -28, -33.
        assert_eq!(postprocess(&p, &qms, &[], 0, -100, -10), -33);
        // Saturation at the int8 range.
        assert_eq!(postprocess(&p, &qms, &[], 0, 10_000, 0), 127);
        assert_eq!(postprocess(&p, &qms, &[], 0, -10_000, 0), -128);
        // acc + bias wraps at 32 bits, as int32 arithmetic does.
        assert_eq!(postprocess(&p, &qms, &[], 0, i64::from(i32::MAX), 1), -128);
        let relu = PostprocConfig {
            activation: Activation::Relu,
            ..p.clone()
        };
        assert_eq!(
            postprocess(&relu, &qms, &[], 0, -100, 0),
            -5,
            "relu clamps at the zero point"
        );
        let leaky = PostprocConfig {
            activation: Activation::LeakyRelu,
            leaky_shift: 2,
            ..p.clone()
        };
        // z = -25 - 5 = -30: zp + floor((-30 + 5) / 4) = -5 + floor(-25 / 4) = -5 - 7 = -12.
        assert_eq!(postprocess(&leaky, &qms, &[], 0, -100, 0), -12);
        let clamp = PostprocConfig {
            activation: Activation::Clamp,
            clamp_min: Some(-5),
            clamp_max: Some(20),
            ..p
        };
        assert_eq!(postprocess(&clamp, &qms, &[], 0, 1000, 0), 20);
    }

    #[test]
    fn activation_tables_follow_tflite_output_quantization() {
        let p = PostprocConfig {
            activation: Activation::Sigmoid,
            lut_input_scale: Some(0.125),
            ..PostprocConfig::default()
        };
        let t = activation_table(&p);
        assert_eq!(t.len(), 256);
        // sigmoid(0) = 0.5 -> 128 * 1 - 128 = 0 (scale 1/256, zero point -128).
        assert_eq!(t[128], 0);
        assert_eq!(t[0], -128); // sigmoid(-16) ~ 1e-7
        assert_eq!(t[255], 127); // sigmoid(15.875) ~ 1 -> clamped to 127
        let p = PostprocConfig {
            activation: Activation::Tanh,
            ..p
        };
        let t = activation_table(&p);
        assert_eq!(t[128], 0); // tanh(0) = 0
        assert_eq!(t[128 + 8], 97); // x = 1.0: tanh(1) * 128 = 97.48
        assert_eq!(t[0], -128);
    }
}
