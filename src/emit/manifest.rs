//! The design manifest (`<name>.json`): resolved config, top ports, PE count, timing and the
//! GEMM cycle formula, so scripts and testbenches share one source of parameters.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::config::{Config, Dataflow};
use crate::gen::{port_doc, VERSION};
use crate::rtl::{Design, Dir};
use crate::timing;

#[derive(Serialize)]
struct Manifest<'a> {
    generator: String,
    name: &'a str,
    top: &'a str,
    sources: &'a [String],
    modules: Vec<&'a str>,
    config: Config,
    pe_count: u64,
    ports: Vec<PortInfo<'a>>,
    timing: Timing,
}

#[derive(Serialize)]
struct PortInfo<'a> {
    name: &'a str,
    direction: &'static str,
    width: u32,
    description: &'a str,
}

#[derive(Serialize)]
struct Timing {
    /// Named cycle counts (see `description`).
    cycles: BTreeMap<&'static str, u32>,
    /// Cycles from the first input beat to the last output beat of an M x K by K x N product.
    gemm_cycles_formula: &'static str,
    /// The same sketch as the top module's comment.
    description: Vec<String>,
}

/// The manifest as pretty JSON (stable key order, trailing newline).
pub fn manifest_json(cfg: &Config, design: &Design, sources: &[String]) -> String {
    let a = cfg.array();
    let top = design.top_module();
    let mut cycles = BTreeMap::new();
    let description = match a.dataflow {
        Dataflow::Os => {
            cycles.insert("last_beat_to_first_row", timing::os_first_row_latency(a));
            cycles.insert("row_spacing", 2);
            cycles.insert("min_tile_last_spacing", timing::os_min_last_gap(a));
            port_doc::os_waveform(a)
        }
        Dataflow::Ws => {
            cycles.insert("a_row_to_result_row", timing::ws_row_latency(a));
            cycles.insert("weight_tile_rows", a.rows);
            cycles.insert(
                "next_tile_weights_after_first_row",
                timing::ws_shadow_free_after(a),
            );
            port_doc::ws_waveform(a)
        }
    };
    let m = Manifest {
        generator: format!("npugen {VERSION}"),
        name: &cfg.name,
        top: &design.top,
        sources,
        modules: design.modules.iter().map(|m| m.name.as_str()).collect(),
        config: cfg.resolved(),
        pe_count: a.pe_count(),
        ports: top
            .ports
            .iter()
            .map(|p| PortInfo {
                name: &p.name,
                direction: if p.dir == Dir::Input {
                    "input"
                } else {
                    "output"
                },
                width: p.ty.width,
                description: &p.doc,
            })
            .collect(),
        timing: Timing {
            cycles,
            gemm_cycles_formula: timing::gemm_cycles_formula(a),
            description,
        },
    };
    let mut s = serde_json::to_string_pretty(&m).expect("manifest serializes");
    s.push('\n');
    s
}
