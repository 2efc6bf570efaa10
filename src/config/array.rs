//! The `[array]` section: the systolic MAC array.

use serde::{Deserialize, Serialize};

use super::{MAX_ACC_BITS, MAX_DIM, MAX_FIFO_DEPTH, OPERAND_BITS};
use crate::error::{Error, Result};

/// Dataflow of the systolic array.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dataflow {
    /// Output-stationary: A streams from the left, B from the top, each PE keeps one `C[i][j]`.
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
    /// default the next power of two >= rows + cols + 10 + pipeline (enough for full
    /// throughput, with or without post-processing). The output-stationary array needs at least `rows` (a tile's
    /// results are reserved at once).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub out_fifo_depth: Option<u32>,
    /// Extra PE pipeline registers on the multiply path, 0..=3 (results arrive that many
    /// cycles later, values unchanged): 1 registers the product, 2 also re-registers the
    /// operands for the multiplier alone, 3 adds a second product register. Registers used
    /// only by the multiplier can sit next to the DSP block, which is what raises Fmax.
    pub pipeline: u32,
    /// How many PEs (row-major from PE (0, 0)) use a `*` the tools map to a DSP block; the
    /// rest use a shift-add multiplier built from logic. Default: all. `npugen synth
    /// --dsp-fallback lut` sets it from the target's DSP count.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dsp_pes: Option<u32>,
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
            pipeline: 0,
            dsp_pes: None,
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
    pub(crate) fn product_bits(&self) -> u32 {
        self.input_bits + self.weight_bits
    }

    /// Output FIFO depth in rows, explicit or the default, behind a post-processing pipeline
    /// of `post_latency` cycles (0 without one, see [`crate::timing::post_latency`]): a row
    /// holds its credit from acceptance until it leaves, the array's latency (at most
    /// rows + cols + 5 cycles) plus the pipeline.
    pub(crate) fn fifo_depth(&self, post_latency: u32) -> u32 {
        self.out_fifo_depth.unwrap_or_else(|| {
            (self.rows + self.cols + 5 + post_latency + self.pipeline).next_power_of_two()
        })
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

    /// Number of PEs with a DSP-style multiplier (`dsp_pes`, default all of them).
    pub(crate) fn dsp_pe_count(&self) -> u32 {
        self.dsp_pes.unwrap_or(self.rows * self.cols)
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
        range("array.pipeline", self.pipeline, 0, 3)?;
        if let Some(d) = self.dsp_pes {
            let pes = self.rows * self.cols;
            range("array.dsp_pes", d, 0, pes)?;
        }
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
