//! `npugen synth`: a design through Yosys (and nextpnr for ECP5 and iCE40) for one target, with
//! constraints, vendor project files and a QoR report.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use crate::config::Config;
use crate::emit::{constraints, scripts, verilog::design_to_verilog, write_files, OutputFile};
use crate::error::{Error, Result};
use crate::flow::targets::{Family, Target};
use crate::flow::tools::{find, ToolKind};
use crate::flow::{ecp5_dsp, nextpnr, yosys};
use crate::gen::{self, Part};
use crate::rtl::Design;

/// A resolved `synth` command.
#[derive(Debug)]
pub struct SynthArgs {
    /// The validated config.
    pub config: Config,
    /// Which design of the config.
    pub part: Part,
    /// Target.
    pub target: Target,
    /// Clock frequency to constrain, MHz.
    pub freq_mhz: f64,
    /// Output folder.
    pub out: PathBuf,
    /// Skip place and route.
    pub no_pnr: bool,
    /// Map PEs beyond the DSP budget to logic multipliers instead of refusing.
    pub dsp_fallback_lut: bool,
    /// nextpnr seed.
    pub seed: u64,
}

/// `report.json`.
#[derive(Debug, Serialize)]
struct Report {
    target: &'static str,
    part: &'static str,
    top: String,
    tool_versions: std::collections::BTreeMap<&'static str, String>,
    /// Logic LUTs of the core (Yosys).
    luts: u64,
    /// Flip-flops of the core (Yosys).
    ffs: u64,
    /// DSP blocks of the core (Yosys).
    dsps: u64,
    /// Block RAMs of the core (Yosys).
    brams: u64,
    /// Carry-chain cells of the core (Yosys).
    carry: u64,
    /// Distributed-RAM cells of the core (Yosys).
    lutram: u64,
    /// Everything within the reference part's capacity.
    fits: bool,
    /// Achieved Fmax after place and route (null where none runs).
    fmax_mhz: Option<f64>,
    /// Requested clock.
    target_mhz: f64,
    /// PEs of the array (null for the spiking core).
    pes: Option<u64>,
    /// PEs that use DSP blocks.
    dsp_pes: Option<u64>,
    /// DSP blocks the array needs, as asserted in Yosys (null when not known exactly).
    dsp_expected: Option<u64>,
    /// Resources of the placed four-pin harness design, from nextpnr (harness included).
    placed: Option<std::collections::BTreeMap<String, (u64, u64)>>,
    /// ECP5 DSP register packing, if run.
    dsp_registers_packed: Option<String>,
    /// Wall seconds per step.
    seconds: std::collections::BTreeMap<&'static str, f64>,
}

/// DSP blocks one PE needs on `target` (None when the target has none), and whether the count
/// is exact (operands within one block).
fn dsps_per_pe(cfg: &crate::config::ArrayConfig, target: Target) -> Option<(u64, bool)> {
    target.dsp_cell()?;
    let (da, db) = target.dsp_operand_bits();
    let (a, b) = (cfg.input_bits, cfg.weight_bits);
    if (a <= da && b <= db) || (a <= db && b <= da) {
        Some((1, true))
    } else {
        Some((u64::from(a.div_ceil(da) * b.div_ceil(db)), false))
    }
}

fn tool_version(kind: ToolKind) -> Result<(PathBuf, String)> {
    let t = find(kind).map_err(|e| Error::Tool(e.to_string()))?;
    Ok((t.path.clone(), t.short_version()))
}

fn not_fit(resource: &str, used: u64, available: u64, target: Target, hint: &str) -> Error {
    Error::Tool(format!(
        "the design does not fit {target} ({}): {used} {resource} needed, {available} available{hint}",
        target.part()
    ))
}

/// Runs the command; returns the exit code.
pub fn synth(mut args: SynthArgs) -> Result<i32> {
    let target = args.target;
    let mut seconds = std::collections::BTreeMap::new();
    // DSP budget (array only): refuse, or give the remaining PEs logic multipliers.
    let mut dsp_expected = None;
    if args.part == Part::Array {
        let cap = target.capacity().dsps;
        let a = args.config.array.as_mut().expect("array part");
        if let Some((per_pe, exact)) = dsps_per_pe(a, target) {
            let dsp_pes = u64::from(a.dsp_pes.unwrap_or(a.rows * a.cols));
            if dsp_pes * per_pe > cap {
                if !args.dsp_fallback_lut {
                    let cell = target.dsp_cell().unwrap_or("DSP");
                    return Err(not_fit(
                        &format!("DSPs ({cell}: {dsp_pes} PEs x {per_pe})"),
                        dsp_pes * per_pe,
                        cap,
                        target,
                        "; --dsp-fallback lut maps the remaining PEs to logic multipliers",
                    ));
                }
                a.dsp_pes = Some(u32::try_from(cap / per_pe).unwrap_or(0));
            }
            // Post-processing multiplies too; the count is asserted for plain arrays only.
            let dsp_pes = u64::from(a.dsp_pes.unwrap_or(a.rows * a.cols));
            if exact && args.config.postproc.is_none() {
                dsp_expected = Some(dsp_pes * per_pe);
            }
        }
    }
    let design = gen::build_part(&args.config, args.part)?;
    gen::check(&design)?;
    let top = design.top.clone();
    let header = design.header.clone();
    let cons = constraints::file_name(&top, target);
    let freq = args.freq_mhz;
    let mut files = vec![
        OutputFile {
            name: format!("{top}.v"),
            contents: design_to_verilog(&design),
        },
        OutputFile {
            name: cons.clone(),
            contents: constraints::constraints(&header, target, freq),
        },
        OutputFile {
            name: format!("{top}.ys"),
            contents: yosys::script(target, &format!("{top}.v"), &top, dsp_expected, false),
        },
        OutputFile {
            name: format!("{top}.core"),
            contents: scripts::fusesoc_core(&header, &top, target, &cons, gen::VERSION),
        },
    ];
    match target.family() {
        Family::Xilinx => files.push(OutputFile {
            name: "vivado.tcl".into(),
            contents: scripts::vivado_tcl(&header, &top, target, &cons),
        }),
        Family::Intel => files.push(OutputFile {
            name: format!("{top}.qsf"),
            contents: scripts::quartus_qsf(&header, &top, target, &cons),
        }),
        Family::Ice40 | Family::Ecp5 => {}
    }
    let pnr = target.nextpnr().is_some() && !args.no_pnr;
    let harness_top = gen::harness::harness_name(&top);
    let pnr_argv = if target.nextpnr().is_some() {
        let netlist = if target.family() == Family::Ecp5 {
            "netlist_packed.json"
        } else {
            "netlist.json"
        };
        let argv = nextpnr::argv(target, netlist, &cons, freq, args.seed).expect("pnr target");
        files.push(OutputFile {
            name: "nextpnr.cmd".into(),
            contents: format!(
                "# place and route the four-pin QoR harness {harness_top} (see {harness_top}.ys)\n{}\n",
                scripts::command_line(&argv)
            ),
        });
        let harness = harness_design(&design);
        files.push(OutputFile {
            name: format!("{harness_top}.v"),
            contents: design_to_verilog(&harness),
        });
        files.push(OutputFile {
            name: format!("{harness_top}.ys"),
            contents: yosys::script(
                target,
                &format!("{harness_top}.v"),
                &harness_top,
                None,
                true,
            ),
        });
        Some(argv)
    } else {
        None
    };
    write_files(&args.out, &files)?;

    let (yosys_exe, yosys_version) = tool_version(ToolKind::YowaspYosys)?;
    let mut versions = std::collections::BTreeMap::new();
    versions.insert("yosys", yosys_version);
    eprintln!(
        "[synth] {top} for {target} ({}): yosys {}",
        target.part(),
        target.yosys_synth()
    );
    let t = Instant::now();
    yosys::run(&yosys_exe, &args.out, &format!("{top}.ys")).map_err(Error::Tool)?;
    seconds.insert("yosys", t.elapsed().as_secs_f64());
    let stat =
        std::fs::read_to_string(args.out.join("stat.json")).map_err(|source| Error::Read {
            path: args.out.join("stat.json"),
            source,
        })?;
    let cells = yosys::parse_stat(&stat).map_err(Error::Tool)?;
    let r = yosys::classify(target.family(), &cells);
    let cap = target.capacity();
    for (what, used, avail) in [
        ("DSPs", r.dsps, cap.dsps),
        ("LUTs", r.luts, cap.luts),
        ("FFs", r.ffs, cap.ffs),
        ("BRAMs", r.brams, cap.brams),
    ] {
        if used > avail {
            return Err(not_fit(what, used, avail, target, ""));
        }
    }
    let mut fmax = None;
    let mut placed = None;
    let mut packed = None;
    if let (true, Some(argv)) = (pnr, &pnr_argv) {
        eprintln!("[synth] QoR harness {harness_top}: yosys");
        let t = Instant::now();
        yosys::run(&yosys_exe, &args.out, &format!("{harness_top}.ys")).map_err(Error::Tool)?;
        seconds.insert("yosys_harness", t.elapsed().as_secs_f64());
        if target.family() == Family::Ecp5 {
            let path = args.out.join("netlist.json");
            let text = std::fs::read_to_string(&path).map_err(|source| Error::Read {
                path: path.clone(),
                source,
            })?;
            let mut net: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| Error::Tool(format!("netlist.json: {e}")))?;
            let s = ecp5_dsp::pack(&mut net);
            packed = Some(format!(
                "{} MULT18X18D: {} input and {} output registers moved in, {} fabric FFs removed",
                s.dsps, s.input_regs, s.output_regs, s.ffs_removed
            ));
            crate::emit::write_atomic(
                &args.out.join("netlist_packed.json"),
                net.to_string().as_bytes(),
            )?;
        }
        let kind = if target.family() == Family::Ecp5 {
            ToolKind::NextpnrEcp5
        } else {
            ToolKind::NextpnrIce40
        };
        let (_, pnr_version) = tool_version(kind)?;
        versions.insert("nextpnr", pnr_version);
        eprintln!("[synth] place and route: {}", argv[0]);
        let t = Instant::now();
        let result = nextpnr::run(argv, &args.out);
        seconds.insert("nextpnr", t.elapsed().as_secs_f64());
        let report = std::fs::read_to_string(args.out.join("pnr-report.json"));
        let text = match (result, report) {
            (Ok(_), Ok(text)) => text,
            (result, _) => {
                let why = result
                    .err()
                    .or_else(|| e_text(&args.out))
                    .unwrap_or_else(|| "see nextpnr.log".into());
                return Err(Error::Tool(format!(
                    "place and route failed on {target} ({}), nextpnr wrote no report: {why}",
                    target.part()
                )));
            }
        };
        let rep = nextpnr::parse_report(&text).map_err(Error::Tool)?;
        fmax = rep.fmax_mhz;
        if let Some((k, (u, a))) = rep.utilization.iter().find(|(_, (u, a))| u > a) {
            return Err(not_fit(k, *u, *a, target, ""));
        }
        placed = Some(
            rep.utilization
                .into_iter()
                .filter(|(_, (used, _))| *used > 0)
                .collect(),
        );
    }
    let (pes, dsp_pes) = match (&args.config.array, args.part) {
        (Some(a), Part::Array) => {
            let with_dsp = if target.dsp_cell().is_some() {
                u64::from(a.dsp_pes.unwrap_or(a.rows * a.cols))
            } else {
                0
            };
            (Some(a.pe_count()), Some(with_dsp))
        }
        _ => (None, None),
    };
    let report = Report {
        target: target.name(),
        part: target.part(),
        top: top.clone(),
        tool_versions: versions,
        luts: r.luts,
        ffs: r.ffs,
        dsps: r.dsps,
        brams: r.brams,
        carry: r.carry,
        lutram: r.lutram,
        fits: true,
        fmax_mhz: fmax,
        target_mhz: freq,
        pes,
        dsp_pes,
        dsp_expected,
        placed,
        dsp_registers_packed: packed,
        seconds,
    };
    let mut text = serde_json::to_string_pretty(&report).expect("report serializes");
    text.push('\n');
    crate::emit::write_atomic(&args.out.join("report.json"), text.as_bytes())?;
    print_table(&report, &cap, &args.out);
    Ok(0)
}

/// The first ERROR line of nextpnr's log, if any.
fn e_text(dir: &Path) -> Option<String> {
    std::fs::read_to_string(dir.join("nextpnr.log"))
        .ok()?
        .lines()
        .find(|l| l.starts_with("ERROR"))
        .map(str::to_string)
}

/// The core wrapped in its four-pin QoR harness.
fn harness_design(design: &Design) -> Design {
    let mut modules = vec![gen::harness::harness(design.top_module())];
    modules.extend(design.modules.iter().cloned());
    Design {
        top: gen::harness::harness_name(&design.top),
        header: design.header.clone(),
        modules,
    }
}

fn print_table(r: &Report, cap: &crate::flow::targets::Capacity, out: &Path) {
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
        Some(f) => println!("  Fmax     {f:.1} MHz (placed and routed in the four-pin harness)"),
        None => println!("  Fmax     - (synthesis estimate only; vendor project files written)"),
    }
    println!("  report   {}", out.join("report.json").display());
}
