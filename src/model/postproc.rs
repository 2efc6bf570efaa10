//! Golden model of the post-MAC datapath: `acc + bias`, requantization and the activation.
//!
//! ```text
//! out = act(clamp(requantize(acc + bias), lo, hi))
//! ```
//!
//! with the column's run-time parameters ([`ColumnParams`]: bias, scale, zero point, bounds)
//! and the requantization of the configured LiteRT path ([`crate::model::requant`], each
//! checked against LiteRT itself). The model computes each path's own formula (floating point
//! where LiteRT's is), not the RTL's integer reconstruction of it.

use crate::config::{Activation, PostprocConfig};
use crate::error::{Error, Result};
use crate::model::params::ColumnParams;
use crate::model::requant::{Rounding, Scaling};

/// The lookup table of a sigmoid or tanh activation: entry `q - qmin` for each requantized
/// value q in the output range. Inputs mean x = (q - zero_point) * lut_input_scale (or
/// output_scale); outputs use TFLite's fixed output quantization (sigmoid: scale 2^-out_bits,
/// zero point qmin; tanh: scale 2^-(out_bits-1), zero point at mid range), rounded half away
/// from zero.
pub fn activation_table(p: &PostprocConfig) -> Vec<i64> {
    let (lo, hi) = p.out_range();
    let step = p.lut_step().unwrap_or(1.0);
    (lo..=hi)
        .map(|q| {
            let x = (q - i64::from(p.zero_point)) as f64 * step;
            let y = match p.activation {
                Activation::LeakyRelu => leaky_relu(p, q),
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

/// TFLite's LEAKY_RELU of the saturated output `q`, its input and output quantized alike
/// (`output_scale`, or 1, and the zero point), as `p.rounding`'s LiteRT path computes it:
///
/// - reference, optimized (and gemmlowp): `zp + MultiplyByQuantizedMultiplier(q - zp, M, e)`
///   with gemmlowp's double rounding; identity above the zero point, and below it (M, e) =
///   QuantizeMultiplier(f32(f32(s * alpha) / s));
/// - XNNPACK: 8-bit fixed point, `floor((q - zp) * lrintf(256 * alpha) / 256 + 1/2) + zp`
///   below the zero point.
fn leaky_relu(p: &PostprocConfig, q: i64) -> i64 {
    let zp = i64::from(p.zero_point);
    let v = q - zp;
    if v >= 0 {
        return q;
    }
    let s = p.output_scale.map_or(1.0, |s| s as f32);
    let alpha = p.alpha();
    let y = match p.rounding {
        Rounding::Xnnpack => {
            // XNNPACK's negative scale f32(f32(s / s) * alpha) is alpha: s / s is exactly 1.
            let m = i64::from((256.0 * alpha).round_ties_even() as i32);
            (v * 128 * m + 0x4000) >> 15
        }
        _ => {
            let real = f64::from((s * alpha) / s);
            let m = crate::model::requant::quantize_multiplier(real);
            crate::model::requant::apply_multiplier(v as i32, m, Rounding::Gemmlowp)
        }
    };
    (zp + y).clamp(p.out_range().0, p.out_range().1)
}

/// The whole datapath for one value: `acc + bias` (int32, wrapping), requantized with the
/// column's run-time parameters as `p.rounding`'s LiteRT path does, clamped to the column's
/// bounds and to the output range, then the activation. `table` is [`activation_table`] for
/// LUT activations (ignored otherwise).
pub fn postprocess(p: &PostprocConfig, table: &[i64], c: &ColumnParams, acc: i64) -> i64 {
    let x = (acc as i32).wrapping_add(c.bias);
    let z = c.scaling.apply(x, c.zero_point, p.rounding);
    let (qmin, qmax) = p.out_range();
    // The bounds saturated to the output range first: a record's 16-bit fields may hold more.
    let (lo, hi) = (
        i64::from(c.lo).clamp(qmin, qmax),
        i64::from(c.hi).clamp(qmin, qmax),
    );
    let bound = |v: i64| v.max(lo).min(hi);
    if p.activation.is_lut() {
        table[(bound(z) - qmin) as usize]
    } else {
        bound(z)
    }
}

/// The reference output of an npu_core: `postprocess` of every element of C (M x N, the
/// wrapped accumulator values) with its column's parameters (N of them).
pub fn postprocess_matrix(
    p: &PostprocConfig,
    c: &crate::model::Matrix,
    params: &[ColumnParams],
) -> crate::model::Matrix {
    let table = if p.activation.is_lut() {
        activation_table(p)
    } else {
        Vec::new()
    };
    let mut y = crate::model::Matrix::zeros(c.rows, c.cols);
    for i in 0..c.rows {
        for (n, cp) in params.iter().enumerate().take(c.cols) {
            *y.at_mut(i, n) = i128::from(postprocess(p, &table, cp, c.at(i, n) as i64));
        }
    }
    y
}

/// The run-time parameters of the N columns of a GEMM with weights `b` (K x N) and `bias` (N
/// int32 values), from the config: column n's scale (`per_column`, from `simulate --scale`,
/// replaces the config's list), the zero point, the activation's bounds, and the input zero
/// point's correction `-input_zero_point * sum_k b[k][n]` folded into the bias (int32,
/// wrapping, as TFLite's int32 accumulator). A list of scales must hold N entries.
pub fn column_params(
    p: &PostprocConfig,
    b: &crate::model::Matrix,
    bias: &[i128],
    per_column: Option<&[f64]>,
) -> Result<Vec<ColumnParams>> {
    let n = bias.len();
    let field = p.scale_field();
    let list = per_column.map(<[f64]>::len).or(p.scale_list_len());
    if let Some(len) = list.filter(|&len| len != n) {
        return Err(Error::value(
            field,
            format!("a list of {len}"),
            format!("one number, or one per output column (N = {n})"),
        ));
    }
    let (lo, hi) = p.run_bounds();
    let zp_in = p.input_zero_point;
    (0..n)
        .map(|j| {
            let scale = p.column_scale(j, per_column);
            let scaling = Scaling::encode(scale, p.rounding).ok_or_else(|| {
                Error::value(
                    field,
                    per_column.map_or(scale.effective(), |v| v[j]),
                    "a scale the rounding mode runs (xnnpack: a float32 scale below 256)",
                )
            })?;
            let colsum = (0..b.rows).fold(0i32, |s, k| s.wrapping_add(b.at(k, j) as i32));
            Ok(ColumnParams {
                bias: (bias[j] as i32).wrapping_sub(zp_in.wrapping_mul(colsum)),
                scaling,
                zero_point: p.zero_point,
                lo: lo as i32,
                hi: hi as i32,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `postprocess` of one value with the config's parameters for a one-column GEMM.
    fn one(p: &PostprocConfig, acc: i64, bias: i32) -> i64 {
        let b = crate::model::Matrix::zeros(1, 1);
        let params = column_params(p, &b, &[i128::from(bias)], None).unwrap();
        let table = if p.activation.is_lut() {
            activation_table(p)
        } else {
            Vec::new()
        };
        postprocess(p, &table, &params[0], acc)
    }

    #[test]
    fn every_mode_is_the_litert_checked_formula() {
        // postprocess through the run-time parameters must be requant::requantize (the
        // function tests/litert_oracle.rs checks against LiteRT), ties included: power-of-two
        // scales, and scales >= 1.
        use crate::model::requant::{requantize, Scales};
        let mut rng = crate::rng::Rng::new(7);
        for k in 0..400 {
            let s = match k % 3 {
                0 => 2f32.powi(-(rng.range(-3, 12) as i32)),
                1 => rng.range(1, 1 << 20) as f32 * 2f32.powi(-21),
                _ => rng.range(1, 1 << 20) as f32 * 2f32.powi(-14),
            };
            for rounding in Rounding::ALL {
                let p = PostprocConfig {
                    out_bits: 16,
                    input_scale: Some(f64::from(s)),
                    weight_scale: Some(crate::config::Scale::PerTensor(1.0)),
                    output_scale: Some(1.0),
                    zero_point: 5,
                    rounding,
                    ..PostprocConfig::default()
                };
                let sc = Scales {
                    input: s,
                    weight: 1.0,
                    output: 1.0,
                };
                if !sc.xnnpack_accepts() && rounding == Rounding::Xnnpack {
                    continue;
                }
                for _ in 0..20 {
                    let acc = rng.range(-(1 << 24), 1 << 24);
                    let bias = rng.range(-1000, 1000) as i32;
                    let x = acc as i32 + bias;
                    let want = requantize(x, &sc, 5, (-32768, 32767), rounding);
                    assert_eq!(one(&p, acc, bias), want, "{rounding:?} s {s} acc {acc}");
                }
            }
        }
    }

    #[test]
    fn input_zero_point_is_folded_into_the_bias() {
        // sum((a - zp) * w) + bias == sum(a * w) + (bias - zp * sum(w)), wrapping at 32 bits.
        let p = PostprocConfig {
            input_zero_point: -7,
            ..PostprocConfig::default()
        };
        let b = crate::model::Matrix::from_rows(2, 2, vec![3, i128::from(i32::MAX), -2, 5]);
        let params = column_params(&p, &b, &[10, 20], None).unwrap();
        assert_eq!(params[0].bias, 10 + 7);
        assert_eq!(
            params[1].bias,
            20i32.wrapping_add(7i32.wrapping_mul(i32::MAX.wrapping_add(5)))
        );
        // A list of scales must hold N entries.
        let listed = PostprocConfig {
            scale: Some(crate::config::Scale::PerColumn(vec![0.1, 0.2, 0.3])),
            ..PostprocConfig::default()
        };
        let e = column_params(&listed, &b, &[10, 20], None).unwrap_err();
        assert!(e.to_string().contains("postproc.scale"), "{e}");
    }

    #[test]
    fn requantize_hand_computed() {
        let p = PostprocConfig {
            scale: Some(crate::config::Scale::PerTensor(0.25)),
            zero_point: -5,
            rounding: Rounding::Gemmlowp,
            ..PostprocConfig::default()
        };
        // (100 + 10) * 0.25 = 27.5 -> 28 (tie away from zero), + zp = 23.
        assert_eq!(one(&p, 100, 10), 23);
        // -110 * 0.25 = -27.5 -> -28, -33.
        assert_eq!(one(&p, -100, -10), -33);
        // Saturation at the int8 range.
        assert_eq!(one(&p, 10_000, 0), 127);
        assert_eq!(one(&p, -10_000, 0), -128);
        // acc + bias wraps at 32 bits, as int32 arithmetic does.
        assert_eq!(one(&p, i64::from(i32::MAX), 1), -128);
        let relu = PostprocConfig {
            activation: Activation::Relu,
            ..p.clone()
        };
        assert_eq!(one(&relu, -100, 0), -5, "relu clamps at the zero point");
        let relu6 = PostprocConfig {
            activation: Activation::Relu6,
            output_scale: Some(0.5),
            ..p.clone()
        };
        assert_eq!(one(&relu6, 1000, 0), -5 + 12, "relu6: zp + 6 / 0.5");
        let leaky = PostprocConfig {
            activation: Activation::LeakyRelu,
            leaky_shift: 2,
            ..p.clone()
        };
        // z = -25 - 5 = -30: zp + round((-30 + 5) / 4) = -5 + round(-6.25) = -11.
        assert_eq!(one(&leaky, -100, 0), -11);
        // TFLite saturates the layer's output before LEAKY_RELU: -128 - (-5) = -123 -> -31.
        assert_eq!(one(&leaky, -100_000, 0), -5 - 31);
        let clamp = PostprocConfig {
            activation: Activation::Clamp,
            clamp_min: Some(-5),
            clamp_max: Some(20),
            ..p.clone()
        };
        assert_eq!(one(&clamp, 1000, 0), 20);
        // The reference path: -27.5 -> -28 too, and an int32 overflow is INT32_MIN.
        let r = PostprocConfig {
            rounding: Rounding::Reference,
            scale: Some(crate::config::Scale::PerTensor(4.0)),
            zero_point: 3,
            ..p
        };
        assert_eq!(one(&r, 1 << 29, 0), -128, "2^31 overflows to INT32_MIN");
        assert_eq!(one(&r, (1 << 29) - 1, 0), 127);
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
