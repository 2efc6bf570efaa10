//! The `[lif]` section: a spiking core of current-based leaky integrate-and-fire neurons with
//! Loihi's integer model, fed through a signed synapse crossbar.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Width of the neuron state u and v (Loihi: 24-bit signed).
pub const STATE_BITS: u32 = 24;
/// Width of a bias mantissa (13-bit signed, -4096..=4095).
pub const BIAS_MANT_BITS: u32 = 13;
/// Width of the shifted bias `bias_mant << bias_exp` (exponent up to 7): 13 + 7 + 1 sign-safe.
pub const BIAS_BITS: u32 = 21;

/// The `[lif]` section.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LifConfig {
    /// Number of neurons, 1..=4096.
    pub neurons: u32,
    /// Number of input axons, 1..=4096.
    pub axons: u32,
    /// Synapse weight width (signed), 2..=16.
    pub weight_bits: u32,
    /// Neuron update units working in parallel, 1..=neurons; a time step visits
    /// ceil(neurons / parallel) neuron groups.
    pub parallel: u32,
    /// Current decay du, 0..=4095 (u keeps (4096 - (du + 1)) / 4096 of itself per step).
    pub du: u32,
    /// Voltage decay dv, 0..=4095 (v keeps (4096 - dv) / 4096 of itself per step).
    pub dv: u32,
    /// Threshold; a neuron spikes when v > vth << 6. 0..=131071 (17 bits).
    pub vth: u32,
    /// Bias mantissa (signed 13 bits), -4096..=4095; the bias added to v is bias_mant << bias_exp.
    pub bias_mant: i32,
    /// Bias exponent, 0..=7.
    pub bias_exp: u32,
    /// One bias mantissa per neuron, loaded at run time (bias_mant is then unused).
    pub per_neuron_bias: bool,
}

impl Default for LifConfig {
    fn default() -> Self {
        LifConfig {
            neurons: 256,
            axons: 256,
            weight_bits: 8,
            parallel: 4,
            du: 410,
            dv: 205,
            vth: 100,
            bias_mant: 0,
            bias_exp: 0,
            per_neuron_bias: false,
        }
    }
}

impl LifConfig {
    /// Neuron groups visited per step, ceil(neurons / parallel).
    pub fn groups(&self) -> u32 {
        self.neurons.div_ceil(self.parallel)
    }

    /// Checks every field.
    pub fn validate(&self) -> Result<()> {
        let range = |field: &str, v: i64, lo: i64, hi: i64| {
            if (lo..=hi).contains(&v) {
                Ok(())
            } else {
                Err(Error::value(field, v, format!("{lo}..={hi}")))
            }
        };
        range("lif.neurons", self.neurons.into(), 1, 4096)?;
        range("lif.axons", self.axons.into(), 1, 4096)?;
        range("lif.weight_bits", self.weight_bits.into(), 2, 16)?;
        range("lif.parallel", self.parallel.into(), 1, self.neurons.into())?;
        range("lif.du", self.du.into(), 0, 4095)?;
        range("lif.dv", self.dv.into(), 0, 4095)?;
        range("lif.vth", self.vth.into(), 0, (1 << 17) - 1)?;
        range("lif.bias_mant", self.bias_mant.into(), -4096, 4095)?;
        range("lif.bias_exp", self.bias_exp.into(), 0, 7)
    }
}
