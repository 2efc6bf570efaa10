//! The `[postproc]` section: bias, TFLite/gemmlowp requantization and activation after the
//! array, per output column.

use serde::{Deserialize, Serialize};

use super::ArrayConfig;
use crate::error::{Error, Result};
use crate::model::postproc::quantize_multiplier;
use crate::model::requant::Rounding;

/// Activation applied in the quantized output domain (as TFLite's fused activations).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// No activation (only the clamp to the output range).
    #[default]
    None,
    /// max(x, zero_point).
    Relu,
    /// Clamp to [clamp_min, clamp_max] (relu6 and friends, in quantized units).
    Clamp,
    /// x below zero_point is scaled by 2^-leaky_shift (arithmetic shift, rounding down).
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
            Activation::Clamp => "clamp",
            Activation::LeakyRelu => "leaky_relu",
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
        }
    }

    /// Whether the activation is a lookup table.
    pub fn is_lut(self) -> bool {
        matches!(self, Activation::Sigmoid | Activation::Tanh)
    }
}

/// A requantization scale: one for the whole tensor, or one per output column.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Scale {
    /// One real scale for every column.
    PerTensor(f64),
    /// One real scale per column (length = array.cols).
    PerColumn(Vec<f64>),
}

/// The `[postproc]` section.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PostprocConfig {
    /// Output width in bits, 2..=16.
    pub out_bits: u32,
    /// Signed outputs (int8-style, default) or unsigned (uint8-style).
    pub out_signed: bool,
    /// Real requantization scale (input scale * weight scale / output scale), 0 < scale < 1,
    /// per tensor or a list with one per column; converted to an int32 multiplier and a right
    /// shift exactly as TFLite's QuantizeMultiplier does.
    pub scale: Scale,
    /// Output zero point, within the output range.
    pub zero_point: i32,
    /// "none" | "relu" | "clamp" | "leaky_relu" | "sigmoid" | "tanh".
    pub activation: Activation,
    /// Lower bound for "clamp", in quantized output units (default: zero_point).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clamp_min: Option<i32>,
    /// Upper bound for "clamp", in quantized output units (default: the output maximum).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clamp_max: Option<i32>,
    /// Leaky-relu slope 2^-leaky_shift, 1..=16.
    pub leaky_shift: u32,
    /// Real value of one unit of the requantized value fed to a sigmoid/tanh table (required
    /// for those activations): x_real = (q - zero_point) * lut_input_scale.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lut_input_scale: Option<f64>,
    /// Which LiteRT path's rounding the requantization reproduces: "gemmlowp" (the default,
    /// gemmlowp's doubling high multiply and rounding shift) or "optimized" (LiteRT's
    /// optimized kernels, ruy). "reference" and "xnnpack" are modelled
    /// ([`crate::model::requant`]) but not yet built in the RTL, so they are refused.
    pub rounding: Rounding,
}

impl Default for PostprocConfig {
    fn default() -> Self {
        PostprocConfig {
            out_bits: 8,
            out_signed: true,
            scale: Scale::PerTensor(0.00731),
            zero_point: 0,
            activation: Activation::None,
            clamp_min: None,
            clamp_max: None,
            leaky_shift: 3,
            lut_input_scale: None,
            rounding: Rounding::Gemmlowp,
        }
    }
}

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

    /// The real scale of column `j`.
    pub(crate) fn scale_of(&self, j: usize) -> f64 {
        match &self.scale {
            Scale::PerTensor(s) => *s,
            Scale::PerColumn(v) => v[j],
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

    /// Checks every field against the array it follows.
    /// About 90 lines: one check per field, in the order of the config reference.
    pub fn validate(&self, array: &ArrayConfig) -> Result<()> {
        if !(2..=16).contains(&self.out_bits) {
            return Err(Error::value("postproc.out_bits", self.out_bits, "2..=16"));
        }
        if matches!(self.rounding, Rounding::Reference | Rounding::Xnnpack) {
            return Err(Error::value(
                "postproc.rounding",
                format!("{:?}", self.rounding.as_str()),
                "\"gemmlowp\" or \"optimized\" (\"reference\" and \"xnnpack\" are not built in the RTL yet)",
            ));
        }
        let max_acc = if array.signed { 32 } else { 31 };
        if array.acc_bits() > max_acc {
            return Err(Error::value(
                "array.acc_bits",
                array.acc_bits(),
                format!("at most {max_acc} with [postproc] (int32 accumulators, as TFLite)"),
            ));
        }
        let scales: Vec<f64> = match &self.scale {
            Scale::PerTensor(s) => vec![*s],
            Scale::PerColumn(v) => {
                if v.len() != array.cols as usize {
                    return Err(Error::value(
                        "postproc.scale",
                        format!("a list of {}", v.len()),
                        format!(
                            "one number, or a list of array.cols = {} numbers",
                            array.cols
                        ),
                    ));
                }
                v.clone()
            }
        };
        for s in scales {
            let ok = s.is_finite() && s > 0.0 && s < 1.0 && quantize_multiplier(s).is_some();
            if !ok {
                return Err(Error::value(
                    "postproc.scale",
                    s,
                    "0 < scale < 1 and at least 2^-32 (an int32 multiplier in [2^30, 2^31) and a right shift of at most 31)",
                ));
            }
        }
        let (lo, hi) = self.out_range();
        let range = format!("{lo}..={hi} (the output range)");
        if !(lo..=hi).contains(&i64::from(self.zero_point)) {
            return Err(Error::value("postproc.zero_point", self.zero_point, &range));
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
        if !(1..=16).contains(&self.leaky_shift) {
            return Err(Error::value(
                "postproc.leaky_shift",
                self.leaky_shift,
                "1..=16",
            ));
        }
        if self.activation.is_lut() {
            match self.lut_input_scale {
                Some(s) if s.is_finite() && s > 0.0 => {}
                Some(s) => {
                    return Err(Error::value(
                        "postproc.lut_input_scale",
                        s,
                        "a positive number",
                    ))
                }
                None => {
                    return Err(Error::input(
                        "postproc.lut_input_scale",
                        "missing: activation = \"sigmoid\" or \"tanh\" needs it (a positive \
                         number, the real value of one unit at the table input)",
                    ))
                }
            }
        }
        Ok(())
    }
}
