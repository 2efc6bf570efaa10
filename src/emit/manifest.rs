//! The design manifest (`<name>.json`): resolved config, top ports, PE count, timing and the
//! GEMM cycle formula, so scripts and testbenches share one source of parameters.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::config::{Config, Dataflow, BIAS_MANT_BITS, STATE_BITS};
use crate::gen::{port_doc, VERSION};
use crate::rtl::{Design, Dir};
use crate::timing;

/// The fields every manifest starts with.
#[derive(Serialize)]
pub(super) struct Common<'a> {
    generator: String,
    /// "systolic_array", "npu_core" (array + post-processing), "npu" or "lif_core".
    kind: &'static str,
    name: &'a str,
    top: &'a str,
    sources: &'a [String],
    modules: Vec<&'a str>,
    config: Config,
}

impl<'a> Common<'a> {
    pub(super) fn new(
        kind: &'static str,
        cfg: &'a Config,
        design: &'a Design,
        sources: &'a [String],
    ) -> Self {
        Common {
            generator: format!("npugen {VERSION}"),
            kind,
            name: &cfg.name,
            top: &design.top,
            sources,
            modules: design.modules.iter().map(|m| m.name.as_str()).collect(),
            config: cfg.resolved(),
        }
    }
}

#[derive(Serialize)]
struct Manifest<'a> {
    #[serde(flatten)]
    common: Common<'a>,
    pe_count: u64,
    ports: Vec<PortInfo<'a>>,
    timing: Timing,
    #[serde(skip_serializing_if = "Option::is_none")]
    postproc: Option<PostInfo>,
}

/// The post-processing stage: its fixed choices and the run-time parameter layout.
#[derive(Serialize)]
struct PostInfo {
    /// Pipeline latency in cycles (already included in the timing figures).
    latency: u32,
    /// The LiteRT path whose arithmetic the requantization reproduces.
    rounding: &'static str,
    /// 32-bit words per column in a parameter beat (`param_tdata`).
    param_words_per_column: usize,
    /// The config's default record for a column with zero bias, as five words.
    default_record: Vec<String>,
}

#[derive(Serialize)]
pub(super) struct PortInfo<'a> {
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
    gemm_cycles_formula: String,
    /// The same sketch as the top module's comment.
    description: Vec<String>,
}

/// The top's ports as manifest entries.
pub(super) fn ports(design: &Design) -> Vec<PortInfo<'_>> {
    design
        .top_module()
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
        .collect()
}

pub(super) fn pretty<T: Serialize>(m: &T) -> String {
    let mut s = serde_json::to_string_pretty(m).expect("manifest serializes");
    s.push('\n');
    s
}

#[derive(Serialize)]
struct LifManifest<'a> {
    #[serde(flatten)]
    common: Common<'a>,
    neuron_groups: u32,
    memories: BTreeMap<&'static str, [u64; 2]>,
    ports: Vec<PortInfo<'a>>,
    timing: LifTiming,
}

#[derive(Serialize)]
struct LifTiming {
    /// Exact cycles of one time step with S spiking axons, at full speed.
    step_cycles_formula: String,
    /// Cycles from a tick's acceptance to group 0's state on n_*; group g follows g later.
    tick_to_first_state: u32,
    /// Words loaded after reset on w_* (and nb_*).
    weight_words: u32,
    /// Bias words (per_neuron_bias), else 0.
    bias_words: u32,
}

/// The spiking core's manifest as pretty JSON.
pub fn lif_manifest_json(cfg: &Config, design: &Design, sources: &[String]) -> String {
    let l = cfg.lif.as_ref().expect("a [lif] section");
    let g = l.groups();
    let mut memories = BTreeMap::new();
    let (p, words) = (u64::from(l.parallel), u64::from(g.max(2)));
    memories.insert(
        "weights [words, bits]",
        [
            u64::from((l.axons * g).max(2)),
            p * u64::from(l.weight_bits),
        ],
    );
    memories.insert(
        "input_current [words, bits]",
        [words, p * u64::from(crate::gen::lif::current_bits(l))],
    );
    memories.insert("u [words, bits]", [words, p * u64::from(STATE_BITS)]);
    memories.insert("v [words, bits]", [words, p * u64::from(STATE_BITS)]);
    if l.per_neuron_bias {
        memories.insert("bias [words, bits]", [words, p * u64::from(BIAS_MANT_BITS)]);
    }
    pretty(&LifManifest {
        common: Common::new("lif_core", cfg, design, sources),
        neuron_groups: g,
        memories,
        ports: ports(design),
        timing: LifTiming {
            step_cycles_formula: timing::lif_step_formula(l),
            tick_to_first_state: timing::LIF_TICK_TO_STATE,
            weight_words: l.axons * g,
            bias_words: if l.per_neuron_bias { g } else { 0 },
        },
    })
}

/// The manifest as pretty JSON (stable key order, trailing newline).
pub fn manifest_json(cfg: &Config, design: &Design, sources: &[String]) -> String {
    let a = cfg.array();
    let post = cfg.postproc.as_ref();
    let extra = timing::post_latency(post);
    let mut cycles = BTreeMap::new();
    let description = match a.dataflow {
        Dataflow::Os => {
            cycles.insert(
                "last_beat_to_first_row",
                timing::os_first_row_latency(a) + extra,
            );
            cycles.insert("row_spacing", 2);
            cycles.insert("min_tile_last_spacing", timing::os_min_last_gap(a));
            port_doc::os_waveform(a, post)
        }
        Dataflow::Ws => {
            cycles.insert("a_row_to_result_row", timing::ws_row_latency(a) + extra);
            cycles.insert("weight_tile_rows", a.rows);
            cycles.insert(
                "next_tile_weights_after_first_row",
                timing::ws_shadow_free_after(a),
            );
            port_doc::ws_waveform(a, post)
        }
    };
    let post_info = post.map(|p| {
        let b = crate::model::Matrix::zeros(1, 1);
        let record = crate::model::postproc::column_params(p, &b, &[0], None)
            .ok()
            .and_then(|v| v.first().copied())
            .unwrap_or_default();
        PostInfo {
            latency: timing::post_latency(Some(p)),
            rounding: p.rounding.as_str(),
            param_words_per_column: crate::model::params::PARAM_WORDS,
            default_record: record
                .words()
                .iter()
                .map(|w| format!("0x{w:08x}"))
                .collect(),
        }
    });
    let kind = if post.is_some() {
        "npu_core"
    } else {
        "systolic_array"
    };
    let m = Manifest {
        common: Common::new(kind, cfg, design, sources),
        pe_count: a.pe_count(),
        ports: ports(design),
        timing: Timing {
            cycles,
            gemm_cycles_formula: timing::gemm_cycles_formula(a, post),
            description,
        },
        postproc: post_info,
    };
    pretty(&m)
}
