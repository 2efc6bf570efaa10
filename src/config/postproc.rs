//! The `[postproc]` section: bias, TFLite/gemmlowp requantization and activation after the
//! array, per output column.

use serde::{Deserialize, Serialize};

use super::ArrayConfig;
use crate::error::{Error, Result};
use crate::model::requant::{fused_bounds, ColumnScale, Rounding, Scales, Scaling};

/// Activation applied in the quantized output domain (as TFLite's fused activations).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// No activation (only the clamp to the output range).
    #[default]
    None,
    /// max(x, zero_point) (TFLite's fused RELU).
    Relu,
    /// TFLite's fused RELU6: [zero_point, zero_point + round(6 / output_scale)].
    Relu6,
    /// Clamp to [clamp_min, clamp_max] (in quantized units).
    Clamp,
    /// TFLite's LEAKY_RELU after the layer (its output saturated first), slope `leaky_alpha`
    /// below the zero point, through a lookup table built at generation time.
    LeakyRelu,
    /// Logistic function through a lookup table built at generation time.
    Sigmoid,
    /// Hyperbolic tangent through a lookup table built at generation time.
    Tanh,
}

impl Activation {
    /// The config spelling ("leaky_relu", ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Activation::None => "none",
            Activation::Relu => "relu",
            Activation::Relu6 => "relu6",
            Activation::Clamp => "clamp",
            Activation::LeakyRelu => "leaky_relu",
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
        }
    }

    /// Whether the activation is a lookup table.
    pub fn is_lut(self) -> bool {
        matches!(
            self,
            Activation::Sigmoid | Activation::Tanh | Activation::LeakyRelu
        )
    }
}

/// A scale: one for the whole tensor, or one per output column of the GEMM.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Scale {
    /// One scale for every column.
    PerTensor(f64),
    /// One scale per output column of the GEMM (length N).
    PerColumn(Vec<f64>),
}

impl Scale {
    /// The scale of GEMM column `n` (a list must hold N entries, checked by the caller).
    pub fn of(&self, n: usize) -> f64 {
        match self {
            Scale::PerTensor(s) => *s,
            Scale::PerColumn(v) => v[n],
        }
    }

    /// The list's length, if a list.
    pub fn list_len(&self) -> Option<usize> {
        match self {
            Scale::PerTensor(_) => None,
            Scale::PerColumn(v) => Some(v.len()),
        }
    }

    fn values(&self) -> Vec<f64> {
        match self {
            Scale::PerTensor(s) => vec![*s],
            Scale::PerColumn(v) => v.clone(),
        }
    }
}

/// The effective scale when a config gives none.
pub const DEFAULT_SCALE: f64 = 0.00731;

/// The `[postproc]` section. The scale, zero points and clamp bounds are the defaults of the
/// run-time parameters (`param_*`); the rounding mode, output type and activation are fixed
/// when the hardware is generated.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PostprocConfig {
    /// Output width in bits, 2..=16.
    pub out_bits: u32,
    /// Signed outputs (int8-style, default) or unsigned (uint8-style).
    pub out_signed: bool,
    /// Which LiteRT path's arithmetic the requantization reproduces, bit-exactly:
    /// "reference" (the default: `BUILTIN_REF`), "optimized" (the builtin optimized kernels,
    /// ruy), "xnnpack" (LiteRT's default path) or "gemmlowp" (gemmlowp's double rounding).
    pub rounding: Rounding,
    /// The effective scale (input scale * weight scale / output scale), any positive number,
    /// per tensor or a list with one per output column of the GEMM. Not with the three scales
    /// below; neither given means 0.00731. "xnnpack" needs the three.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scale: Option<Scale>,
    /// The input (activation) tensor's scale, a float32 as the model stores it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_scale: Option<f64>,
    /// The weights' scale: one (per tensor) or a list with one per output column (per
    /// channel), float32 values.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight_scale: Option<Scale>,
    /// The output tensor's scale, a float32.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_scale: Option<f64>,
    /// Output zero point, within the output range.
    pub zero_point: i32,
    /// Input (A) zero point, within A's range: results are `sum((a - zp) * w) + bias`, the
    /// correction `-zp * sum(w)` being folded into each column's bias (int32, wrapping).
    pub input_zero_point: i32,
    /// "none" | "relu" | "relu6" | "clamp" | "leaky_relu" | "sigmoid" | "tanh".
    pub activation: Activation,
    /// Lower bound for "clamp", in quantized output units (default: zero_point).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clamp_min: Option<i32>,
    /// Upper bound for "clamp", in quantized output units (default: the output maximum).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clamp_max: Option<i32>,
    /// Leaky-relu slope as a power of two, 2^-leaky_shift, 1..=16 (when leaky_alpha is not
    /// given).
    pub leaky_shift: u32,
    /// Leaky-relu slope, 0 < alpha < 1 (TFLite's LeakyReluOptions.alpha, a float32).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leaky_alpha: Option<f64>,
    /// Real value of one unit of the requantized value fed to a sigmoid/tanh table (default:
    /// output_scale; one of them is required for those activations):
    /// x_real = (q - zero_point) * lut_input_scale.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lut_input_scale: Option<f64>,
}

impl Default for PostprocConfig {
    fn default() -> Self {
        PostprocConfig {
            out_bits: 8,
            out_signed: true,
            rounding: Rounding::Reference,
            scale: None,
            input_scale: None,
            weight_scale: None,
            output_scale: None,
            zero_point: 0,
            input_zero_point: 0,
            activation: Activation::None,
            clamp_min: None,
            clamp_max: None,
            leaky_shift: 3,
            leaky_alpha: None,
            lut_input_scale: None,
        }
    }
}

/// The three-scale fields, in the order the messages name them.
const THREE: [&str; 3] = [
    "postproc.input_scale",
    "postproc.weight_scale",
    "postproc.output_scale",
];

impl PostprocConfig {
    /// The output range [qmin, qmax].
    pub(crate) fn out_range(&self) -> (i64, i64) {
        if self.out_signed {
            (
                -(1i64 << (self.out_bits - 1)),
                (1i64 << (self.out_bits - 1)) - 1,
            )
        } else {
            (0, (1i64 << self.out_bits) - 1)
        }
    }

    /// Whether the three stored scales are given (else the effective `scale`).
    pub fn has_three_scales(&self) -> bool {
        self.input_scale.is_some() && self.weight_scale.is_some() && self.output_scale.is_some()
    }

    /// The per-column scale list's length (`scale` or `weight_scale`), if a list: it must be
    /// the GEMM's N.
    pub fn scale_list_len(&self) -> Option<usize> {
        match (&self.scale, &self.weight_scale) {
            (Some(s), _) | (None, Some(s)) => s.list_len(),
            _ => None,
        }
    }

    /// The field a per-column scale list (or `simulate --scale`) stands for.
    pub fn scale_field(&self) -> &'static str {
        if self.has_three_scales() {
            "postproc.weight_scale"
        } else {
            "postproc.scale"
        }
    }

    /// The scale of GEMM column `n`; `per_column` (from `simulate --scale`) replaces the
    /// config's `weight_scale` (three scales) or `scale`.
    pub fn column_scale(&self, n: usize, per_column: Option<&[f64]>) -> ColumnScale {
        let pick = |s: &Scale| per_column.map(|v| v[n]).unwrap_or_else(|| s.of(n));
        match (self.input_scale, &self.weight_scale, self.output_scale) {
            (Some(i), Some(w), Some(o)) => ColumnScale::Stored(Scales {
                input: i as f32,
                weight: pick(w) as f32,
                output: o as f32,
            }),
            _ => ColumnScale::Effective(match &self.scale {
                Some(s) => pick(s),
                None => per_column.map(|v| v[n]).unwrap_or(DEFAULT_SCALE),
            }),
        }
    }

    /// The clamp bounds for "clamp" (with defaults filled in).
    pub(crate) fn clamp_bounds(&self) -> (i64, i64) {
        let (_, hi) = self.out_range();
        (
            i64::from(self.clamp_min.unwrap_or(self.zero_point)),
            self.clamp_max.map(i64::from).unwrap_or(hi),
        )
    }

    /// The run-time clamp bounds the activation asks for (the output range for activations
    /// applied after the clamp).
    pub(crate) fn run_bounds(&self) -> (i64, i64) {
        let range = self.out_range();
        match self.activation {
            Activation::Relu => fused_bounds(false, 1.0, self.zero_point, range),
            Activation::Relu6 => {
                let s = self.output_scale.unwrap_or(1.0) as f32;
                fused_bounds(true, s, self.zero_point, range)
            }
            Activation::Clamp => self.clamp_bounds(),
            _ => range,
        }
    }

    /// The leaky-relu slope: `leaky_alpha`, else 2^-leaky_shift.
    pub(crate) fn alpha(&self) -> f32 {
        self.leaky_alpha
            .map_or(2f32.powi(-(self.leaky_shift as i32)), |a| a as f32)
    }

    /// The real value of one unit at a sigmoid/tanh table's input.
    pub(crate) fn lut_step(&self) -> Option<f64> {
        self.lut_input_scale
            .or(self.output_scale.map(|s| f64::from(s as f32)))
    }

    /// Checks every field against the array it follows.
    /// About 100 lines: one check per field, in the order of the config reference.
    pub fn validate(&self, array: &ArrayConfig) -> Result<()> {
        if !(2..=16).contains(&self.out_bits) {
            return Err(Error::value("postproc.out_bits", self.out_bits, "2..=16"));
        }
        let max_acc = if array.signed { 32 } else { 31 };
        if array.acc_bits() > max_acc {
            return Err(Error::value(
                "array.acc_bits",
                array.acc_bits(),
                format!("at most {max_acc} with [postproc] (int32 accumulators, as TFLite)"),
            ));
        }
        self.validate_scales()?;
        let (lo, hi) = self.out_range();
        let range = format!("{lo}..={hi} (the output range)");
        if !(lo..=hi).contains(&i64::from(self.zero_point)) {
            return Err(Error::value("postproc.zero_point", self.zero_point, &range));
        }
        let (alo, ahi) = crate::model::io::operand_range(array.input_bits, array.signed);
        if !(alo..=ahi).contains(&i128::from(self.input_zero_point)) {
            return Err(Error::value(
                "postproc.input_zero_point",
                self.input_zero_point,
                format!("{alo}..={ahi} (A's range)"),
            ));
        }
        for (field, v) in [
            ("postproc.clamp_min", self.clamp_min),
            ("postproc.clamp_max", self.clamp_max),
        ] {
            if let Some(v) = v {
                if !(lo..=hi).contains(&i64::from(v)) {
                    return Err(Error::value(field, v, &range));
                }
            }
        }
        let (cmin, cmax) = self.clamp_bounds();
        if self.activation == Activation::Clamp && cmin > cmax {
            return Err(Error::value(
                "postproc.clamp_min",
                cmin,
                format!("at most clamp_max = {cmax}"),
            ));
        }
        if self.activation == Activation::Relu6 && self.output_scale.is_none() {
            return Err(Error::input(
                "postproc.output_scale",
                "missing: activation = \"relu6\" needs it (its upper bound is \
                 zero_point + round(6 / output_scale))",
            ));
        }
        if !(1..=16).contains(&self.leaky_shift) {
            return Err(Error::value(
                "postproc.leaky_shift",
                self.leaky_shift,
                "1..=16",
            ));
        }
        if let Some(a) = self.leaky_alpha {
            if !(a > 0.0 && a < 1.0) {
                return Err(Error::value("postproc.leaky_alpha", a, "0 < alpha < 1"));
            }
        }
        if matches!(self.activation, Activation::Sigmoid | Activation::Tanh) {
            match self.lut_input_scale {
                Some(s) if s.is_finite() && s > 0.0 => {}
                Some(s) => {
                    return Err(Error::value(
                        "postproc.lut_input_scale",
                        s,
                        "a positive number",
                    ))
                }
                None if self.output_scale.is_some() => {}
                None => {
                    return Err(Error::input(
                        "postproc.lut_input_scale",
                        "missing: activation = \"sigmoid\" or \"tanh\" needs it or \
                         output_scale (the real value of one unit at the table input)",
                    ))
                }
            }
        }
        Ok(())
    }

    /// The scale fields: either `scale` or all three stored scales, positive, and runnable by
    /// the rounding mode.
    fn validate_scales(&self) -> Result<()> {
        let given = [
            self.input_scale.is_some(),
            self.weight_scale.is_some(),
            self.output_scale.is_some(),
        ];
        if given.iter().any(|&g| g) && !self.has_three_scales() {
            let missing = THREE[given.iter().position(|&g| !g).unwrap_or(0)];
            return Err(Error::input(
                missing,
                "missing: input_scale, weight_scale and output_scale go together",
            ));
        }
        if self.scale.is_some() && self.has_three_scales() {
            return Err(Error::input(
                "postproc.scale",
                "give either scale (the effective scale) or input_scale, weight_scale and \
                 output_scale, not both",
            ));
        }
        if self.rounding == Rounding::Xnnpack && !self.has_three_scales() {
            return Err(Error::input(
                "postproc.rounding",
                "\"xnnpack\" needs input_scale, weight_scale and output_scale (XNNPACK \
                 computes its scale in float32 from the three)",
            ));
        }
        if let Some(s) = &self.scale {
            check_scales("postproc.scale", s, "a positive number")?;
        }
        let f32_range = "a positive float32 (2^-126 ..= 3.4e38)";
        for (field, v) in [
            (THREE[0], self.input_scale.map(Scale::PerTensor)),
            (THREE[1], self.weight_scale.clone()),
            (THREE[2], self.output_scale.map(Scale::PerTensor)),
        ] {
            if let Some(v) = v {
                check_scales(field, &v, f32_range)?;
                if let Some(bad) = v.values().into_iter().find(|&x| !is_normal_f32(x)) {
                    return Err(Error::value(field, bad, f32_range));
                }
            }
        }
        if self.rounding == Rounding::Xnnpack {
            let n = self.scale_list_len().unwrap_or(1);
            for j in 0..n {
                if Scaling::encode(self.column_scale(j, None), self.rounding).is_none() {
                    let w = self.weight_scale.as_ref().map(|s| s.of(j)).unwrap_or(0.0);
                    return Err(Error::value(
                        "postproc.weight_scale",
                        w,
                        "a float32 scale f32(f32(input_scale * weight_scale) / output_scale) \
                         below 256 (XNNPACK, LiteRT's default path, refuses larger ones)",
                    ));
                }
            }
        }
        Ok(())
    }
}

/// `s` (one number or a non-empty list) holds only positive finite numbers.
fn check_scales(field: &str, s: &Scale, allowed: &str) -> Result<()> {
    let v = s.values();
    if v.is_empty() {
        return Err(Error::value(field, "an empty list", "one number or a list"));
    }
    match v.into_iter().find(|x| !(x.is_finite() && *x > 0.0)) {
        Some(bad) => Err(Error::value(field, bad, allowed)),
        None => Ok(()),
    }
}

/// Whether `x` is a normal float32 (its conversion keeps it positive, finite and normal).
fn is_normal_f32(x: f64) -> bool {
    let f = x as f32;
    f.is_normal() && f > 0.0
}
