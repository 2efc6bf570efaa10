//! The `[npu]` section: the programmable accelerator around the array (on-chip buffers, the
//! accumulator memory, the AXI4 DMA and the instruction sequencer). The derived geometry
//! (words, lanes, element sizes) is [`crate::npu::Geometry`].

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The AXI4 data widths the DMA supports.
pub const AXI_DATA_BITS: [u32; 3] = [64, 128, 256];
/// The AXI4 address widths the DMA supports.
pub const AXI_ADDR_BITS: [u32; 2] = [32, 64];
/// Most words in one on-chip buffer (instruction address fields are 16 bits).
pub const MAX_BUFFER_WORDS: u64 = 1 << 16;

/// The `[npu]` section.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NpuConfig {
    /// Activation buffer size in KiB, 1..=8192. One word holds R activation lanes (what one
    /// array beat reads); at most 65536 words.
    pub act_kib: u32,
    /// Weight buffer size in KiB, 1..=8192. One word holds C weight lanes (a row of B); at
    /// most 65536 words.
    pub weight_kib: u32,
    /// Output buffer size in KiB, 1..=8192 (with `[postproc]`): what POST writes and STORE
    /// reads, one word of C output lanes per row; at most 65536 words.
    pub out_kib: u32,
    /// Parameter buffer depth in rows of C post-processing records (160 bits each),
    /// 1..=65536. Used only with `[postproc]`.
    pub param_rows: u32,
    /// Accumulator memory depth in rows of C accumulators (`acc_bits` each), 1..=65536.
    pub acc_rows: u32,
    /// AXI4 master data width: 64, 128 or 256.
    pub axi_data_bits: u32,
    /// AXI4 master address width: 32 or 64.
    pub axi_addr_bits: u32,
}

impl Default for NpuConfig {
    fn default() -> Self {
        NpuConfig {
            act_kib: 32,
            weight_kib: 32,
            out_kib: 8,
            param_rows: 32,
            acc_rows: 256,
            axi_data_bits: 128,
            axi_addr_bits: 32,
        }
    }
}

impl NpuConfig {
    /// Checks the fields that do not depend on the array (see [`crate::npu::Geometry::new`]
    /// for the rest).
    pub fn validate(&self) -> Result<()> {
        let range = |field: &str, v: u32, lo: u32, hi: u32| {
            if (lo..=hi).contains(&v) {
                Ok(())
            } else {
                Err(Error::value(field, v, format!("{lo}..={hi}")))
            }
        };
        range("npu.act_kib", self.act_kib, 1, 8192)?;
        range("npu.weight_kib", self.weight_kib, 1, 8192)?;
        range("npu.out_kib", self.out_kib, 1, 8192)?;
        range("npu.param_rows", self.param_rows, 1, 1 << 16)?;
        range("npu.acc_rows", self.acc_rows, 1, 1 << 16)?;
        let one_of = |field: &str, v: u32, set: &[u32]| {
            if set.contains(&v) {
                Ok(())
            } else {
                let list: Vec<String> = set.iter().map(u32::to_string).collect();
                Err(Error::value(
                    field,
                    v,
                    format!("one of {}", list.join(", ")),
                ))
            }
        };
        one_of("npu.axi_data_bits", self.axi_data_bits, &AXI_DATA_BITS)?;
        one_of("npu.axi_addr_bits", self.axi_addr_bits, &AXI_ADDR_BITS)
    }
}
