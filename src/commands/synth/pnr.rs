//! Place and route of the QoR harness (ECP5 and iCE40): Yosys on the harness, ECP5 DSP
//! register packing, nextpnr, and its report.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use super::not_fit;
use crate::error::{Error, Result};
use crate::flow::targets::{Family, Target};
use crate::flow::{ecp5_bram, ecp5_dsp, nextpnr, yosys};

/// Appended to a not-fit message from nextpnr: its counts include the harness.
const HARNESS: &str = " (nextpnr's count, with the four-pin QoR harness around the core)";

/// nextpnr found `used` > `avail` cells of type `cell` (harness included).
fn harness_not_fit(target: Target, cell: &str, used: u64, avail: u64) -> Error {
    not_fit(&format!("{cell} cells"), used, avail, target, HARNESS)
}

/// What place and route found.
#[derive(Debug, Default)]
pub(super) struct Pnr {
    /// Achieved Fmax of `clk`, MHz.
    pub fmax_mhz: Option<f64>,
    /// The endpoints that miss the requested clock, by register.
    pub failing: Option<crate::flow::endpoints::FailingEndpoints>,
    /// Placed cells by type: (used, available), non-zero only.
    pub placed: Option<BTreeMap<String, (u64, u64)>>,
    /// ECP5 DSP and block RAM register packing summary.
    pub packed: Option<String>,
    /// Seconds of the harness synthesis and of nextpnr.
    pub seconds: BTreeMap<&'static str, f64>,
    /// The not-fit error, when nextpnr found a resource over capacity.
    pub not_fitting: Option<Error>,
}

/// Synthesises the harness `harness_top` in `out` (its script is there), packs ECP5 DSP
/// registers, runs `nextpnr` (the located tool) with `argv` and reads its report.
pub(super) fn place_and_route(
    target: Target,
    argv: &[String],
    out: &Path,
    harness_top: &str,
    yosys: &Path,
    nextpnr: &Path,
) -> Result<Pnr> {
    let mut r = Pnr::default();
    eprintln!("[synth] QoR harness {harness_top}: yosys");
    let t = Instant::now();
    yosys::run(yosys, out, &format!("{harness_top}.ys")).map_err(Error::Tool)?;
    r.seconds.insert("yosys_harness", t.elapsed().as_secs_f64());
    if target.family() == Family::Ecp5 {
        r.packed = Some(pack_dsp_registers(out)?);
    }

    eprintln!("[synth] place and route: {}", argv[0]);
    let t = Instant::now();
    let run = nextpnr::run(nextpnr, argv, out).map_err(Error::Tool)?;
    r.seconds.insert("nextpnr", t.elapsed().as_secs_f64());
    let report = std::fs::read_to_string(out.join("pnr-report.json"));
    let text = match (&run.failure, report) {
        (None, Ok(text)) => text,
        (failure, _) => {
            // nextpnr writes no report when a resource is over capacity: read its log.
            if let Some((cell, used, avail)) = nextpnr::over_capacity(&run.log) {
                r.not_fitting = Some(harness_not_fit(target, &cell, used, avail));
                return Ok(r);
            }
            let why = failure.clone().unwrap_or_else(|| "see nextpnr.log".into());
            return Err(Error::Tool(format!(
                "place and route failed on {target} ({}), nextpnr wrote no report: {why}",
                target.part()
            )));
        }
    };
    let rep = nextpnr::parse_report(&text).map_err(Error::Tool)?;
    r.fmax_mhz = rep.fmax_mhz;
    r.failing = rep.failing.clone();
    if let Some((cell, used, avail)) = rep.over_capacity() {
        r.not_fitting = Some(harness_not_fit(target, cell, used, avail));
    }
    r.placed = Some(
        rep.utilization
            .into_iter()
            .filter(|(_, (used, _))| *used > 0)
            .collect(),
    );
    Ok(r)
}

/// Moves fabric FFs into the MULT18X18D and DP16KD registers of `netlist.json`, writing
/// `netlist_packed.json`; returns the summary for the report.
fn pack_dsp_registers(out: &Path) -> Result<String> {
    let path = out.join("netlist.json");
    let text = std::fs::read_to_string(&path).map_err(|source| Error::Read {
        path: path.clone(),
        source,
    })?;
    let mut net: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| Error::Tool(format!("netlist.json: {e}")))?;
    let s = ecp5_dsp::pack(&mut net);
    let m = ecp5_bram::pack(&mut net);
    crate::emit::write_atomic(&out.join("netlist_packed.json"), net.to_string().as_bytes())?;
    Ok(format!(
        "{} MULT18X18D: {} input and {} output registers moved in, {} fabric FFs removed; \
         {} DP16KD: {} output registers moved in, {} fabric FFs removed",
        s.dsps, s.input_regs, s.output_regs, s.ffs_removed, m.brams, m.ports, m.ffs_removed
    ))
}
