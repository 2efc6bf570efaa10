//! The design configuration: serde structs (unknown keys refused), validation with messages
//! that name the field, the value and the allowed range, and derived values as methods.

use serde::{Deserialize, Serialize};

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

/// A whole npugen configuration (one TOML file).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Design name: the top module's name, the output file stem and the prefix of every
    /// generated module. A Verilog identifier of at most 64 characters.
    pub name: String,
    /// The systolic MAC array (`[array]`).
    pub array: Option<ArrayConfig>,
}

/// Dataflow of the systolic array.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dataflow {
    /// Output-stationary: A streams from the left, B from the top, each PE keeps one C[i][j].
    Os,
    /// Weight-stationary: a B tile is preloaded into the PEs, A streams in, sums flow down.
    Ws,
}

impl Dataflow {
    /// The config spelling (`"os"` / `"ws"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Dataflow::Os => "os",
            Dataflow::Ws => "ws",
        }
    }
}

/// The `[array]` section: an R x C grid of multiply-accumulate processing elements.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ArrayConfig {
    /// Number of PE rows R, 1..=256.
    pub rows: u32,
    /// Number of PE columns C, 1..=256.
    pub cols: u32,
    /// `"os"` (output-stationary) or `"ws"` (weight-stationary).
    pub dataflow: Dataflow,
    /// Width of A operands (activations) in bits, 2..=32.
    pub input_bits: u32,
    /// Width of B operands (weights) in bits, 2..=32.
    pub weight_bits: u32,
    /// Accumulator width in bits; defaults to input_bits + weight_bits + 16. At least
    /// input_bits + weight_bits (a full product), at most 128. Sums wrap at this width.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acc_bits: Option<u32>,
    /// Two's-complement operands (`true`) or unsigned (`false`).
    pub signed: bool,
    /// Rows of the output FIFO that decouples the array from `c_tready`; a power of two,
    /// default the next power of two >= rows + cols + 4 (enough for full throughput). The
    /// output-stationary array needs at least `rows` (a tile's results are reserved at once).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub out_fifo_depth: Option<u32>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            name: "npu8x8".to_string(),
            array: Some(ArrayConfig::default()),
        }
    }
}

impl Default for ArrayConfig {
    fn default() -> Self {
        ArrayConfig {
            rows: 8,
            cols: 8,
            dataflow: Dataflow::Os,
            input_bits: 8,
            weight_bits: 8,
            acc_bits: None,
            signed: true,
            out_fifo_depth: None,
        }
    }
}

impl ArrayConfig {
    /// Accumulator width (explicit or the default input_bits + weight_bits + 16).
    pub fn acc_bits(&self) -> u32 {
        self.acc_bits
            .unwrap_or(self.input_bits + self.weight_bits + 16)
    }

    /// Width of a full product, input_bits + weight_bits.
    pub fn product_bits(&self) -> u32 {
        self.input_bits + self.weight_bits
    }

    /// Output FIFO depth in rows (explicit or the default).
    pub fn fifo_depth(&self) -> u32 {
        self.out_fifo_depth
            .unwrap_or_else(|| (self.rows + self.cols + 4).next_power_of_two())
    }

    /// Smallest FIFO depth that cannot deadlock for this dataflow.
    pub fn min_fifo_depth(&self) -> u32 {
        match self.dataflow {
            Dataflow::Os => self.rows.next_power_of_two().max(2),
            Dataflow::Ws => 2,
        }
    }

    /// Number of processing elements.
    pub fn pe_count(&self) -> u64 {
        u64::from(self.rows) * u64::from(self.cols)
    }

    /// Checks every field; the first violation is returned.
    pub fn validate(&self) -> Result<()> {
        let range = |field: &str, v: u32, lo: u32, hi: u32| {
            if (lo..=hi).contains(&v) {
                Ok(())
            } else {
                Err(Error::value(field, v, format!("{lo}..={hi}")))
            }
        };
        range("array.rows", self.rows, 1, MAX_DIM)?;
        range("array.cols", self.cols, 1, MAX_DIM)?;
        let (lo, hi) = (*OPERAND_BITS.start(), *OPERAND_BITS.end());
        range("array.input_bits", self.input_bits, lo, hi)?;
        range("array.weight_bits", self.weight_bits, lo, hi)?;
        if let Some(acc) = self.acc_bits {
            let min = self.product_bits();
            if !(min..=MAX_ACC_BITS).contains(&acc) {
                return Err(Error::value(
                    "array.acc_bits",
                    acc,
                    format!("{min}..={MAX_ACC_BITS} (at least input_bits + weight_bits = {min})"),
                ));
            }
        } else if self.acc_bits() > MAX_ACC_BITS {
            return Err(Error::Internal(
                "default acc_bits exceeds the maximum".into(),
            ));
        }
        if let Some(d) = self.out_fifo_depth {
            let min = self.min_fifo_depth();
            if !d.is_power_of_two() || !(min..=MAX_FIFO_DEPTH).contains(&d) {
                return Err(Error::value(
                    "array.out_fifo_depth",
                    d,
                    format!("a power of two in {min}..={MAX_FIFO_DEPTH}"),
                ));
            }
        }
        Ok(())
    }
}

impl Config {
    /// Parses TOML text; `file` names the source in error messages.
    pub fn from_toml(text: &str, file: &str) -> Result<Config> {
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
        match &self.array {
            Some(a) => a.validate(),
            None => Err(Error::value(
                "array",
                "(missing)",
                "an [array] section (nothing else to generate yet)",
            )),
        }
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
            a.out_fifo_depth = Some(a.fifo_depth());
        }
        c
    }

    /// The resolved config as TOML text.
    pub fn to_toml(&self) -> String {
        toml::to_string(&self.resolved()).expect("config serializes")
    }

    /// The `[array]` section; call only after [`Config::validate`].
    pub fn array(&self) -> &ArrayConfig {
        self.array.as_ref().expect("validated config has [array]")
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
# Output FIFO rows (a power of two). Default: next power of two >= rows + cols + 4.
# Output-stationary needs at least `rows`.
# out_fifo_depth = 32
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_template_is_the_default_config() {
        let c = Config::load(DEFAULT_TOML, "template").unwrap();
        assert_eq!(c.resolved(), Config::default().resolved());
        let a = c.array();
        assert_eq!((a.acc_bits(), a.fifo_depth()), (32, 32));
    }

    #[test]
    fn template_mentions_every_field() {
        let full = Config::default().to_toml();
        for line in full.lines().filter(|l| l.contains(" = ")) {
            let key = line.split(" = ").next().unwrap();
            assert!(DEFAULT_TOML.contains(&format!("{key} = ")), "{key} missing");
        }
    }

    #[test]
    fn errors_name_field_value_and_range() {
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
        assert!(
            ty.starts_with("t.toml:2: array.rows: invalid type: string"),
            "{ty}"
        );
        let df = err("[array]\ndataflow = \"xs\"");
        assert!(df.contains("array.dataflow: unknown variant `xs`"), "{df}");
        assert!(err("name = \"8bad\"").starts_with("name = \"8bad\" is out of range"));
        assert!(err("[array]\nout_fifo_depth = 12").contains("a power of two in 8..=65536"));
        let syntax = err("[array\nrows = 4");
        assert!(syntax.starts_with("t.toml:1: config:"), "{syntax}");
    }
}
