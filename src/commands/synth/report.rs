//! `report.json` of `npugen synth` and the table printed after a run.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use crate::flow::targets::Capacity;

/// `report.json`.
#[derive(Debug, Serialize)]
pub(super) struct Report {
    pub(super) target: &'static str,
    pub(super) part: String,
    pub(super) top: String,
    pub(super) tool_versions: BTreeMap<&'static str, String>,
    /// Logic LUTs of the core (Yosys).
    pub(super) luts: u64,
    /// Flip-flops of the core (Yosys).
    pub(super) ffs: u64,
    /// DSP blocks of the core (Yosys).
    pub(super) dsps: u64,
    /// Block RAMs of the core (Yosys).
    pub(super) brams: u64,
    /// Carry-chain cells of the core (Yosys).
    pub(super) carry: u64,
    /// Distributed-RAM cells of the core (Yosys).
    pub(super) lutram: u64,
    /// Everything within the reference part's capacity.
    pub(super) fits: bool,
    /// Achieved Fmax after place and route (null where none runs).
    pub(super) fmax_mhz: Option<f64>,
    /// Requested clock.
    pub(super) target_mhz: f64,
    /// Fmax >= the requested clock (null where no place and route ran).
    pub(super) timing_met: Option<bool>,
    /// The inputs whose latest arrival misses the requested clock, grouped by the register
    /// they end in, latest first (from nextpnr's detailed timing report; null where no place
    /// and route ran).
    pub(super) failing_endpoints: Option<crate::flow::endpoints::FailingEndpoints>,
    /// PEs of the array (null for the spiking core).
    pub(super) pes: Option<u64>,
    /// PEs that use DSP blocks.
    pub(super) dsp_pes: Option<u64>,
    /// DSP blocks the array needs, as asserted in Yosys (null when not known exactly).
    pub(super) dsp_expected: Option<u64>,
    /// Resources of the placed four-pin harness design, from nextpnr (harness included).
    pub(super) placed: Option<BTreeMap<String, (u64, u64)>>,
    /// ECP5 DSP and block RAM register packing, if run.
    pub(super) dsp_registers_packed: Option<String>,
    /// Wall seconds per step.
    pub(super) seconds: BTreeMap<&'static str, f64>,
}

/// Failing-endpoint groups printed after the table (report.json keeps more).
const SHOWN_GROUPS: usize = 8;

/// Prints the resource table (per PE for arrays) and the Fmax.
pub(super) fn print_table(r: &Report, cap: &Capacity, out: &Path) {
    println!(
        "{} on {} ({}), {} MHz requested",
        r.top, r.target, r.part, r.target_mhz
    );
    println!(
        "  {:<8} {:>9} {:>11} {:>9}",
        "resource", "used", "available", "per PE"
    );
    let per = |v: u64| {
        r.pes
            .map(|p| format!("{:.1}", v as f64 / p as f64))
            .unwrap_or_default()
    };
    for (name, used, avail) in [
        ("LUTs", r.luts, Some(cap.luts)),
        ("FFs", r.ffs, Some(cap.ffs)),
        ("DSPs", r.dsps, Some(cap.dsps)),
        ("BRAMs", r.brams, Some(cap.brams)),
        ("carry", r.carry, None),
        ("LUTRAM", r.lutram, None),
    ] {
        let a = avail.map(|a| a.to_string()).unwrap_or_default();
        println!("  {name:<8} {used:>9} {a:>11} {:>9}", per(used));
    }
    match r.fmax_mhz {
        Some(f) if f < r.target_mhz => {
            println!("  Fmax     {f:.1} MHz (placed and routed in the four-pin harness)");
            println!(
                "  WARNING: timing not met: Fmax {f:.1} MHz is below the requested {} MHz",
                r.target_mhz
            );
            if let Some(fe) = &r.failing_endpoints {
                println!(
                    "  {} inputs miss {:.3} ns, in {} registers; the latest (report.json failing_endpoints):",
                    fe.endpoints, fe.period_ns, fe.groups
                );
                for g in fe.worst.iter().take(SHOWN_GROUPS) {
                    println!(
                        "    {:>7.3} ns {:>5} {}",
                        g.worst_ns, g.endpoints, g.register
                    );
                }
            }
            eprintln!(
                "npugen: warning: timing not met: Fmax {f:.1} MHz < requested {} MHz (report.json timing_met: false)",
                r.target_mhz
            );
        }
        Some(f) => println!("  Fmax     {f:.1} MHz (placed and routed in the four-pin harness)"),
        None => println!("  Fmax     - (synthesis estimate only; vendor project files written)"),
    }
    println!("  report   {}", out.join("report.json").display());
}

/// The report of a run: `r` from Yosys, `pnr` from place and route (default when none ran).
/// `fits`, `dsp_expected` and `seconds` are the caller's to fill.
pub(super) fn build(
    args: &super::SynthArgs,
    top: String,
    tool_versions: BTreeMap<&'static str, String>,
    r: &crate::flow::yosys::Resources,
    pnr: super::pnr::Pnr,
) -> Report {
    let target = args.target;
    let (pes, dsp_pes) = match (&args.config.array, args.part) {
        (Some(a), crate::gen::Part::Array) => {
            let with_dsp = if target.dsp_cell().is_some() {
                u64::from(a.dsp_pe_count())
            } else {
                0
            };
            (Some(a.pe_count()), Some(with_dsp))
        }
        _ => (None, None),
    };
    Report {
        target: target.name(),
        part: args.part_name(),
        top,
        tool_versions,
        luts: r.luts,
        ffs: r.ffs,
        dsps: r.dsps,
        brams: r.brams,
        carry: r.carry,
        lutram: r.lutram,
        fits: true,
        fmax_mhz: pnr.fmax_mhz,
        target_mhz: args.freq_mhz,
        timing_met: pnr.fmax_mhz.map(|f| f >= args.freq_mhz),
        failing_endpoints: pnr.failing,
        pes,
        dsp_pes,
        dsp_expected: None,
        placed: pnr.placed,
        dsp_registers_packed: pnr.packed,
        seconds: BTreeMap::new(),
    }
}
