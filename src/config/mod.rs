//! The design configuration: serde structs (unknown keys refused), validation with messages
//! that name the field, the value and the allowed range, and derived values as methods.

mod array;
mod lif;
mod npu;
mod postproc;
mod schema;

use serde::{Deserialize, Serialize};

pub use array::{ArrayConfig, Dataflow};
pub use lif::{LifConfig, BIAS_BITS, BIAS_MANT_BITS, STATE_BITS};
pub use npu::{NpuConfig, AXI_ADDR_BITS, AXI_DATA_BITS, MAX_BUFFER_WORDS};
pub use postproc::{Activation, PostprocConfig, Scale};

use crate::error::{Error, Result};
use crate::rtl::check::is_identifier;

/// Largest array dimension (TPU v1 is 256 x 256).
pub const MAX_DIM: u32 = 256;
/// Operand width range in bits.
pub const OPERAND_BITS: std::ops::RangeInclusive<u32> = 2..=32;
/// Largest accumulator width in bits.
pub const MAX_ACC_BITS: u32 = 128;
/// Largest output FIFO depth in rows.
pub const MAX_FIFO_DEPTH: u32 = 65536;

/// A whole npugen configuration (one TOML file). A config without `[array]` and without
/// `[lif]` gets the default array; `[lif]` alone describes a spiking core only.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(from = "RawConfig")]
pub struct Config {
    /// Design name: the top module's name, the output file stem and the prefix of every
    /// generated module. A Verilog identifier of at most 64 characters.
    pub name: String,
    /// The systolic MAC array (`[array]`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub array: Option<ArrayConfig>,
    /// Bias, requantization and activation after the array (`[postproc]`); makes the array's
    /// top an npu_core.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postproc: Option<PostprocConfig>,
    /// A spiking LIF neuron core (`[lif]`), its own top `<name>_lif`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lif: Option<LifConfig>,
    /// The programmable accelerator around the array (`[npu]`): buffers, accumulator memory,
    /// AXI4 DMA, sequencer and registers; the top becomes `<name>` with AXI ports.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub npu: Option<NpuConfig>,
}

/// The config as written: every section optional, unknown keys refused.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default = "default_name")]
    name: String,
    array: Option<ArrayConfig>,
    postproc: Option<PostprocConfig>,
    lif: Option<LifConfig>,
    npu: Option<NpuConfig>,
}

fn default_name() -> String {
    "npu8x8".to_string()
}

impl From<RawConfig> for Config {
    fn from(r: RawConfig) -> Config {
        let array = match (r.array, &r.lif) {
            (Some(a), _) => Some(a),
            (None, None) => Some(ArrayConfig::default()),
            (None, Some(_)) => None,
        };
        Config {
            name: r.name,
            array,
            postproc: r.postproc,
            lif: r.lif,
            npu: r.npu,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            name: default_name(),
            array: Some(ArrayConfig::default()),
            postproc: None,
            lif: None,
            npu: None,
        }
    }
}

impl Config {
    /// Parses TOML text; `file` names the source in error messages.
    pub(crate) fn from_toml(text: &str, file: &str) -> Result<Config> {
        let line_of = |span: Option<std::ops::Range<usize>>| {
            span.map(|s| {
                format!(
                    ":{}",
                    text[..s.start.min(text.len())].matches('\n').count() + 1
                )
            })
            .unwrap_or_default()
        };
        let de = toml::de::Deserializer::parse(text).map_err(|e| Error::ConfigSyntax {
            file: file.to_string(),
            line: line_of(e.span()),
            field: "config".to_string(),
            message: one_line(e.message()),
        })?;
        serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let message = inner.message();
            let structural =
                message.starts_with("unknown field") || message.starts_with("missing field");
            if let (false, Some(allowed), Some(value)) = (
                structural,
                schema::allowed(&path),
                schema::value_text(text, &path),
            ) {
                return Error::ConfigType {
                    file: file.to_string(),
                    line: line_of(inner.span()),
                    field: path,
                    value,
                    allowed: allowed.to_string(),
                };
            }
            Error::ConfigSyntax {
                file: file.to_string(),
                line: line_of(inner.span()),
                field: if path == "." { "config".into() } else { path },
                message: one_line(inner.message()),
            }
        })
    }

    /// Checks every field; the first violation is returned.
    pub fn validate(&self) -> Result<()> {
        if !is_identifier(&self.name) || self.name.len() > 64 {
            return Err(Error::value(
                "name",
                format!("{:?}", self.name),
                "a Verilog identifier ([A-Za-z_][A-Za-z0-9_]*, not a keyword), at most 64 characters",
            ));
        }
        if let Some(a) = &self.array {
            a.validate()?;
        }
        match (&self.postproc, &self.array) {
            (Some(p), Some(a)) => p.validate(a)?,
            (Some(_), None) => {
                return Err(Error::value(
                    "postproc",
                    "(without [array])",
                    "a [postproc] section only together with an [array] section",
                ))
            }
            _ => {}
        }
        if let Some(l) = &self.lif {
            l.validate()?;
        }
        if let Some(n) = &self.npu {
            n.validate()?;
            if self.array.is_none() {
                return Err(Error::value(
                    "npu",
                    "(without [array])",
                    "an [npu] section only together with an [array] section",
                ));
            }
            crate::npu::Geometry::new(self)?;
        }
        if self.array.is_none() && self.lif.is_none() {
            return Err(Error::value(
                "config",
                "(no sections)",
                "an [array] section, a [lif] section, or both",
            ));
        }
        Ok(())
    }

    /// Parses and validates.
    pub fn load(text: &str, file: &str) -> Result<Config> {
        let c = Config::from_toml(text, file)?;
        c.validate()?;
        Ok(c)
    }

    /// The config with every defaulted value filled in (what the generated files record).
    pub fn resolved(&self) -> Config {
        let mut c = self.clone();
        if let Some(a) = c.array.as_mut() {
            a.acc_bits = Some(a.acc_bits());
            a.out_fifo_depth =
                Some(a.fifo_depth(crate::timing::post_latency(self.postproc.as_ref())));
        }
        c
    }

    /// The resolved config as TOML text.
    pub fn to_toml(&self) -> String {
        toml::to_string(&self.resolved()).expect("config serializes")
    }

    /// The `[array]` section; call only when the config has one.
    pub fn array(&self) -> &ArrayConfig {
        self.array.as_ref().expect("config has [array]")
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The default configuration as fully commented TOML (`npugen config --default`).
pub const DEFAULT_TOML: &str = r#"# npugen configuration. Every key is optional; the values below are the defaults.

# Design name: the top module, the output file stem and the prefix of every module.
# A Verilog identifier, at most 64 characters.
name = "npu8x8"

# The systolic MAC array: rows x cols processing elements.
[array]
# Number of PE rows R, 1..=256.
rows = 8
# Number of PE columns C, 1..=256.
cols = 8
# "os" = output-stationary (A streams from the left, B from the top, each PE keeps C[i][j]);
# "ws" = weight-stationary (a B tile is preloaded, A streams in, partial sums flow down).
dataflow = "os"
# Width of A operands (activations), 2..=32 bits.
input_bits = 8
# Width of B operands (weights), 2..=32 bits.
weight_bits = 8
# Accumulator width, input_bits + weight_bits ..= 128; sums wrap at this width.
# Default: input_bits + weight_bits + 16.
acc_bits = 32
# true = two's-complement operands, false = unsigned.
signed = true
# Output FIFO rows (a power of two). Default: next power of two >= rows + cols + 10 + pipeline.
# Output-stationary needs at least `rows`.
# out_fifo_depth = 32
# Extra PE pipeline registers on the multiply path, 0..=3; results arrive that many cycles
# later, values unchanged. 1: product register; 2: also operand registers that feed only the
# multiplier (so they sit beside the DSP); 3: also a second product register.
pipeline = 0
# PEs (row-major) whose multiplier maps to a DSP block, 0..=rows*cols; the rest get a
# shift-add multiplier in logic (bit-exact too). Default: every PE.
# dsp_pes = 64

# Optional: bias + requantization + activation after the array, bit-exact with a LiteRT CPU
# path. Uncomment to generate an npu_core. Needs acc_bits <= 32. The scale, zero points and
# bounds are run-time parameters (one record per column on param_*); these are the defaults.
# [postproc]
# Output width, 2..=16 bits, and signedness (int8-style or uint8-style).
# out_bits = 8
# out_signed = true
# Whose arithmetic: "reference" (LiteRT's reference kernels), "optimized" (its optimized
# kernels, ruy), "xnnpack" (its default path; needs the three scales) or "gemmlowp".
# rounding = "reference"
# The effective scale (input * weight / output), any positive number; one, or a list with
# one per output column of the GEMM. Default 0.00731.
# scale = 0.00731
# Or the three scales a quantized model stores (float32), weight_scale one or one per column:
# input_scale = 0.02
# weight_scale = 0.005
# output_scale = 0.05
# Output zero point (within the output range) and input (A) zero point (within A's range).
# zero_point = 0
# input_zero_point = 0
# "none" | "relu" | "relu6" (needs output_scale) | "clamp" | "leaky_relu" | "sigmoid" | "tanh"
# activation = "none"
# "clamp" bounds in quantized output units (default: zero_point ..= the output maximum).
# clamp_min = 0
# clamp_max = 127
# "leaky_relu" (TFLite's LEAKY_RELU after the layer): slope leaky_alpha, 0 < alpha < 1, or
# 2^-leaky_shift (1..=16) without it. Needs output_scale for LiteRT's exact multiplier.
# leaky_shift = 3
# leaky_alpha = 0.1
# "sigmoid" / "tanh": real value of one requantized unit at the table input (default:
# output_scale; one of the two is required).
# lut_input_scale = 0.0625

# Optional: a spiking core of Loihi-compatible CUBA LIF neurons (its own top, <name>_lif).
# With [lif] alone, no array is generated.
# [lif]
# Neurons, 1..=4096; input axons, 1..=4096; signed synapse weight width, 2..=16.
# neurons = 256
# axons = 256
# weight_bits = 8
# Neuron update units in parallel, 1..=neurons (a step visits ceil(neurons/parallel) groups).
# parallel = 4
# Current and voltage decay, 0..=4095 (12 bits).
# du = 410
# dv = 205
# Threshold, 0..=131071: a neuron spikes when v > vth << 6.
# vth = 100
# Bias added to v each step: bias_mant << bias_exp; mantissa -4096..=4095, exponent 0..=7.
# bias_mant = 0
# bias_exp = 0
# true: one bias mantissa per neuron, loaded at run time (bias_mant unused).
# per_neuron_bias = false

# Optional: the programmable accelerator around the array (buffers, accumulator memory, AXI4
# DMA, instruction sequencer, AXI4-Lite registers). Needs input_bits, weight_bits <= 16 and
# acc_bits <= 64. Uncomment to generate it.
# [npu]
# Activation and weight buffer sizes in KiB, 1..=8192 (at most 65536 words each).
# act_kib = 32
# weight_kib = 32
# Output buffer size in KiB, 1..=8192: what POST writes and STORE reads (with [postproc]).
# out_kib = 8
# Parameter buffer rows (cols post-processing records each), 1..=65536 (with [postproc]).
# param_rows = 32
# Accumulator memory rows (cols accumulators each), 1..=65536.
# acc_rows = 256
# AXI4 master data width (64, 128 or 256) and address width (32 or 64).
# axi_data_bits = 128
# axi_addr_bits = 32
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_template_is_the_default_config() {
        let c = Config::load(DEFAULT_TOML, "template").unwrap();
        assert_eq!(c.resolved(), Config::default().resolved());
        let a = c.array();
        assert_eq!((a.acc_bits(), a.fifo_depth(0)), (32, 32));
    }

    #[test]
    fn template_mentions_every_field() {
        let all = Config {
            // Regression: `config --default` omitted array.dsp_pes.
            array: Some(ArrayConfig {
                dsp_pes: Some(64),
                ..ArrayConfig::default()
            }),
            postproc: Some(PostprocConfig {
                clamp_min: Some(0),
                clamp_max: Some(127),
                lut_input_scale: Some(0.0625),
                leaky_alpha: Some(0.1),
                scale: Some(crate::config::Scale::PerTensor(0.1)),
                input_scale: Some(0.1),
                weight_scale: Some(crate::config::Scale::PerTensor(0.1)),
                output_scale: Some(0.1),
                ..PostprocConfig::default()
            }),
            lif: Some(LifConfig::default()),
            npu: Some(NpuConfig::default()),
            ..Config::default()
        };
        let full = all.to_toml();
        for line in full.lines().filter(|l| l.contains(" = ")) {
            let key = line.split(" = ").next().unwrap();
            assert!(DEFAULT_TOML.contains(&format!("{key} = ")), "{key} missing");
        }
    }

    #[test]
    fn any_positive_scale_is_accepted() {
        // LiteRT runs any positive scale (tiny ones give zeros, large ones saturate).
        let load =
            |s: f64| Config::load(&format!("[array]\n[postproc]\nscale = {s:e}\n"), "t.toml");
        for s in [2f64.powi(-60), 3.1e-10, 1.0, 3.5, 1e12] {
            assert!(load(s).is_ok(), "{s}");
        }
        for s in [0.0, -0.5] {
            let e = load(s).unwrap_err().to_string();
            assert!(
                e.contains("postproc.scale") && e.contains("a positive number"),
                "{e}"
            );
        }
        let three = |extra: &str| {
            Config::load(
                &format!("[array]\n[postproc]\ninput_scale = 0.5\n{extra}"),
                "t.toml",
            )
        };
        let e = three("").unwrap_err().to_string();
        assert!(e.contains("postproc.weight_scale"), "{e}");
        let e = three("weight_scale = 0.1\noutput_scale = 0.2\nscale = 0.1\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("not both"), "{e}");
        let e = three("weight_scale = 1e-50\noutput_scale = 0.2\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("float32"), "{e}");
        let e = Config::load("[array]\n[postproc]\nrounding = \"xnnpack\"\n", "t")
            .unwrap_err()
            .to_string();
        assert!(e.contains("needs input_scale"), "{e}");
        let e = three("weight_scale = 600.0\noutput_scale = 1.0\nrounding = \"xnnpack\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("below 256"), "{e}");
    }

    #[test]
    fn errors_name_field_value_and_range() {
        // One assertion per field and error kind (about 90 lines).
        let err = |t: &str| Config::load(t, "t.toml").unwrap_err().to_string();
        assert_eq!(
            err("[array]\nrows = 0"),
            "array.rows = 0 is out of range: allowed 1..=256"
        );
        assert_eq!(
            err("[array]\ncols = 257"),
            "array.cols = 257 is out of range: allowed 1..=256"
        );
        assert_eq!(
            err("[array]\ninput_bits = 1"),
            "array.input_bits = 1 is out of range: allowed 2..=32"
        );
        assert!(err("[array]\nacc_bits = 15")
            .starts_with("array.acc_bits = 15 is out of range: allowed 16..=128"));
        let unknown = err("[array]\nrows = 4\nbogus = 1");
        assert!(
            unknown.starts_with("t.toml:3: array.bogus: unknown field `bogus`"),
            "{unknown}"
        );
        let ty = err("[array]\nrows = \"8\"");
        assert_eq!(
            ty,
            "t.toml:2: array.rows = \"8\" is not allowed: allowed an integer in 1..=256"
        );
        let df = err("[array]\ndataflow = \"xs\"");
        assert_eq!(
            df,
            "t.toml:2: array.dataflow = \"xs\" is not allowed: allowed \"os\" or \"ws\""
        );
        assert!(err("name = \"8bad\"").starts_with("name = \"8bad\" is out of range"));
        assert!(err("[array]\nout_fifo_depth = 12").contains("a power of two in 8..=65536"));
        // Values serde cannot even represent (regression: config messages without the range).
        for (text, field, value, allowed) in [
            ("[array]\nrows = -1", "array.rows", "-1", "1..=256"),
            (
                "[array]\nrows = 4294967296",
                "array.rows",
                "4294967296",
                "1..=256",
            ),
            ("[array]\npipeline = -1", "array.pipeline", "-1", "0..=3"),
            (
                "[array]\ndsp_pes = -1",
                "array.dsp_pes",
                "-1",
                "0..=rows * cols",
            ),
            ("[lif]\nvth = -1", "lif.vth", "-1", "0..=131071"),
            (
                "[postproc]\nzero_point = 3000000000",
                "postproc.zero_point",
                "3000000000",
                "output range",
            ),
            (
                "[array]\nrows = 1979-05-27",
                "array.rows",
                "1979-05-27",
                "1..=256",
            ),
            (
                "[array]\ndataflow = 3",
                "array.dataflow",
                "3",
                "\"os\" or \"ws\"",
            ),
            (
                "[postproc]\nscale = \"0.01\"",
                "postproc.scale",
                "\"0.01\"",
                "a positive number",
            ),
        ] {
            let e = err(text);
            assert!(
                e.starts_with(&format!(
                    "t.toml:2: {field} = {value} is not allowed: allowed "
                )),
                "{e}"
            );
            assert!(e.contains(allowed), "{e}");
            assert_eq!(Config::load(text, "t.toml").unwrap_err().exit_code(), 2);
        }
        let syntax = err("[array\nrows = 4");
        assert!(syntax.starts_with("t.toml:1: config:"), "{syntax}");
    }
}
