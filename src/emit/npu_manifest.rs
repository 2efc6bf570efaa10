//! The npu's manifest (`<name>.json`): the resolved config, the top's ports, the buffers'
//! shapes, the bus, the register map's offsets and the files a driver needs.

use std::collections::BTreeMap;

use serde::Serialize;

use super::manifest::{ports, pretty, Common, PortInfo};
use crate::config::Config;
use crate::error::Result;
use crate::npu::regs::{COUNTERS, COUNTERS_BASE, REGS, VERSION};
use crate::npu::Geometry;
use crate::rtl::Design;

#[derive(Serialize)]
struct NpuManifest<'a> {
    #[serde(flatten)]
    common: Common<'a>,
    pe_count: u64,
    ports: Vec<PortInfo<'a>>,
    npu: NpuInfo,
}

#[derive(Serialize)]
struct NpuInfo {
    /// Register map and ISA version, major.minor.
    version: String,
    /// The C header with the register map and the instruction encoding.
    registers_header: String,
    /// Buffers: [words, bits per word].
    buffers: BTreeMap<&'static str, [u32; 2]>,
    axi_data_bits: u32,
    axi_addr_bits: u32,
    /// Register byte offsets (64-bit values: the `_LO` half; `_HI` is 4 above).
    registers: BTreeMap<String, String>,
}

/// The npu's manifest as pretty JSON (`cfg` has `[npu]`).
pub fn npu_manifest_json(cfg: &Config, design: &Design, sources: &[String]) -> Result<String> {
    let g = Geometry::new(cfg)?;
    let (r, c) = (g.rows, g.cols);
    let mut buffers = BTreeMap::new();
    buffers.insert("activation", [g.act_words, r * g.in_bits]);
    buffers.insert("weight", [g.weight_words, c * g.w_bits]);
    buffers.insert("accumulator", [g.acc_rows, c * g.acc_bits]);
    if let Some((ob, _)) = g.out {
        let rec = 8 * crate::npu::geometry::RECORD_BYTES;
        buffers.insert("parameter", [g.param_rows, c * rec]);
        buffers.insert("output", [g.out_words, c * ob]);
    }
    let mut registers: BTreeMap<String, String> = REGS
        .iter()
        .map(|x| (x.name.to_string(), format!("0x{:03x}", x.offset)))
        .collect();
    for (k, (n, _)) in COUNTERS.iter().enumerate() {
        let at = COUNTERS_BASE + 8 * k as u32;
        registers.insert(format!("{n}_LO"), format!("0x{at:03x}"));
    }
    let m = NpuManifest {
        common: Common::new("npu", cfg, design, sources),
        pe_count: cfg.array().pe_count(),
        ports: ports(design),
        npu: NpuInfo {
            version: format!("{}.{}", VERSION >> 16, VERSION & 0xffff),
            registers_header: format!("{}_regs.h", cfg.name),
            buffers,
            axi_data_bits: 8 * g.axi_bytes,
            axi_addr_bits: g.axi_addr_bits,
            registers,
        },
    };
    Ok(pretty(&m))
}
