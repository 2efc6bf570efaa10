//! The npu's derived sizes: buffer words and lanes, element sizes in DRAM, the AXI widths.

use crate::config::{Config, Dataflow, MAX_BUFFER_WORDS};
use crate::error::{Error, Result};
use crate::model::params::PARAM_WORDS;

/// Bytes of one post-processing record in DRAM and in the parameter buffer.
pub const RECORD_BYTES: u32 = 4 * PARAM_WORDS as u32;

/// Everything the program builder, the golden model and the generator derive from a config
/// with `[npu]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Geometry {
    /// Array rows R.
    pub rows: u32,
    /// Array columns C.
    pub cols: u32,
    /// The array's dataflow.
    pub dataflow: Dataflow,
    /// Two's-complement operands.
    pub signed: bool,
    /// Activation (A) width in bits.
    pub in_bits: u32,
    /// Weight (B) width in bits.
    pub w_bits: u32,
    /// Accumulator width in bits.
    pub acc_bits: u32,
    /// Post-processed output width and signedness, if the npu has `[postproc]`.
    pub out: Option<(u32, bool)>,
    /// Bytes of an activation element in DRAM (1 or 2).
    pub act_bytes: u32,
    /// Bytes of a weight element in DRAM (1 or 2).
    pub weight_bytes: u32,
    /// Bytes of an accumulator element in DRAM (4 or 8).
    pub acc_bytes: u32,
    /// Bytes of a post-processed output element in DRAM (1 or 2; 0 without `[postproc]`).
    pub out_bytes: u32,
    /// Activation buffer depth in words of R activation lanes.
    pub act_words: u32,
    /// Output buffer depth in words of C output lanes (0 without `[postproc]`).
    pub out_words: u32,
    /// Weight buffer depth in words of C weight lanes.
    pub weight_words: u32,
    /// Parameter buffer depth in rows of C records (0 without `[postproc]`).
    pub param_rows: u32,
    /// Accumulator memory depth in rows of C accumulators.
    pub acc_rows: u32,
    /// AXI4 data bytes per beat.
    pub axi_bytes: u32,
    /// AXI4 address width.
    pub axi_addr_bits: u32,
}

/// DRAM bytes of an element of `bits` bits: the next power of two of whole bytes.
fn elem_bytes(bits: u32) -> u32 {
    bits.div_ceil(8).next_power_of_two()
}

impl Geometry {
    /// The geometry of `cfg`'s `[npu]`, checking what depends on the array: operand and
    /// accumulator widths the DMA moves, and buffer depths of 1..=65536 words.
    pub fn new(cfg: &Config) -> Result<Geometry> {
        let npu = cfg
            .npu
            .as_ref()
            .ok_or_else(|| Error::value("npu", "(missing)", "an [npu] section"))?;
        let a = cfg.array();
        let wide = |field: &str, v: u32, hi: u32| {
            if v <= hi {
                Ok(())
            } else {
                Err(Error::value(field, v, format!("at most {hi} with [npu]")))
            }
        };
        wide("array.input_bits", a.input_bits, 16)?;
        wide("array.weight_bits", a.weight_bits, 16)?;
        wide("array.acc_bits", a.acc_bits(), 64)?;
        let out = cfg.postproc.as_ref().map(|p| (p.out_bits, p.out_signed));
        let depth = |field: &str, kib: u32, word_bits: u32| {
            let words = u64::from(kib) * 8192 / u64::from(word_bits);
            if (1..=MAX_BUFFER_WORDS).contains(&words) {
                Ok(words as u32)
            } else {
                let hi = MAX_BUFFER_WORDS * u64::from(word_bits) / 8192;
                let lo = u64::from(word_bits).div_ceil(8192);
                Err(Error::value(
                    field,
                    kib,
                    format!("{lo}..={hi} ({word_bits}-bit words, at most 65536 of them)"),
                ))
            }
        };
        let act_words = depth("npu.act_kib", npu.act_kib, a.rows * a.input_bits)?;
        let out_words = match out {
            Some((bits, _)) => depth("npu.out_kib", npu.out_kib, a.cols * bits)?,
            None => 0,
        };
        let weight_words = depth("npu.weight_kib", npu.weight_kib, a.cols * a.weight_bits)?;
        Ok(Geometry {
            rows: a.rows,
            cols: a.cols,
            dataflow: a.dataflow,
            signed: a.signed,
            in_bits: a.input_bits,
            w_bits: a.weight_bits,
            acc_bits: a.acc_bits(),
            out,
            act_bytes: elem_bytes(a.input_bits),
            weight_bytes: elem_bytes(a.weight_bits),
            acc_bytes: elem_bytes(a.acc_bits()).max(4),
            out_bytes: out.map_or(0, |(b, _)| elem_bytes(b)),
            act_words,
            out_words,
            weight_words,
            param_rows: if out.is_some() { npu.param_rows } else { 0 },
            acc_rows: npu.acc_rows,
            axi_bytes: npu.axi_data_bits / 8,
            axi_addr_bits: npu.axi_addr_bits,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ArrayConfig, NpuConfig, PostprocConfig};

    fn cfg(rows: u32, input_bits: u32, npu: NpuConfig) -> Config {
        Config {
            array: Some(ArrayConfig {
                rows,
                cols: 4,
                input_bits,
                ..ArrayConfig::default()
            }),
            postproc: Some(PostprocConfig::default()),
            npu: Some(npu),
            ..Config::default()
        }
    }

    #[test]
    fn depths_and_element_sizes() {
        let g = Geometry::new(&cfg(16, 8, NpuConfig::default())).unwrap();
        // 32 KiB of 16-byte words; 8 KiB of 4-byte output words; 32 KiB of 4-byte weights.
        assert_eq!(
            (g.act_words, g.out_words, g.weight_words),
            (2048, 2048, 8192)
        );
        assert_eq!((g.act_bytes, g.acc_bytes, g.out_bytes), (1, 4, 1));
        let g = Geometry::new(&cfg(3, 12, NpuConfig::default())).unwrap();
        assert_eq!((g.act_bytes, g.act_words), (2, 32 * 8192 / 36));
    }

    #[test]
    fn too_deep_or_too_wide_is_refused_naming_the_field() {
        let npu = NpuConfig {
            act_kib: 8192,
            ..NpuConfig::default()
        };
        let e = Geometry::new(&cfg(2, 8, npu)).unwrap_err().to_string();
        assert!(e.contains("npu.act_kib") && e.contains("1..=128"), "{e}");
        let e = Geometry::new(&cfg(2, 17, NpuConfig::default()))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("array.input_bits") && e.contains("at most 16"),
            "{e}"
        );
    }
}
