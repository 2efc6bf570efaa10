//! `npugen synth`: a design through Yosys (and nextpnr for ECP5 and iCE40) for one target, with
//! constraints, vendor project files and a QoR report.

use std::path::PathBuf;
use std::time::Instant;

use crate::config::Config;
use crate::emit::{
    constraints, fusesoc, scripts, verilog::design_to_verilog, write_files, OutputFile,
};
use crate::error::{Error, Result};
use crate::flow::targets::{Family, Target};
use crate::flow::tools::{find, ToolKind};
use crate::flow::{nextpnr, yosys};
use crate::gen::{self, Part};
use crate::rtl::Design;
use report::{print_table, Report};

mod pnr;
mod report;

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

/// The DSP budget of an array on `target`: refuses a design needing more DSP blocks than the
/// part has, or (with the LUT fallback) lowers `dsp_pes` to what fits. Returns the DSP count
/// the Yosys script asserts (plain arrays with one block per PE; post-processing multiplies
/// too).
fn dsp_budget(args: &mut SynthArgs) -> Result<Option<u64>> {
    let target = args.target;
    let plain = args.config.postproc.is_none();
    let (Part::Array, Some(a)) = (args.part, args.config.array.as_mut()) else {
        return Ok(None);
    };
    let Some((per_pe, exact)) = dsps_per_pe(a, target) else {
        return Ok(None);
    };
    let cap = target.capacity().dsps;
    let needed = u64::from(a.dsp_pe_count()) * per_pe;
    if needed > cap {
        if !args.dsp_fallback_lut {
            let cell = target.dsp_cell().unwrap_or("DSP");
            return Err(not_fit(
                &format!("DSPs ({cell}: {} PEs x {per_pe})", a.dsp_pe_count()),
                needed,
                cap,
                target,
                "; --dsp-fallback lut maps the remaining PEs to logic multipliers",
            ));
        }
        a.dsp_pes = Some(u32::try_from(cap / per_pe).unwrap_or(0));
    }
    Ok((exact && plain).then(|| u64::from(a.dsp_pe_count()) * per_pe))
}

/// Runs the command; returns the exit code.
pub fn synth(mut args: SynthArgs) -> Result<i32> {
    let target = args.target;
    let mut seconds = std::collections::BTreeMap::new();
    let dsp_expected = dsp_budget(&mut args)?;
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
    ];
    let pnr = target.nextpnr().is_some() && !args.no_pnr;
    let harness_top = gen::harness::harness_name(&top);
    files.push(OutputFile {
        name: format!("{top}.core"),
        contents: fusesoc::synth_core(
            &header,
            fusesoc::SynthCore {
                top: &top,
                target,
                constraints: &cons,
                freq_mhz: freq,
                harness: target.nextpnr().map(|_| harness_top.as_str()),
            },
            gen::VERSION,
        ),
    });
    match target.family() {
        Family::Xilinx => files.push(OutputFile {
            name: "vivado.tcl".into(),
            contents: scripts::vivado_tcl(&header, &top, target, &cons),
        }),
        Family::Intel => {
            let ports: Vec<(String, u32)> = design
                .top_module()
                .ports
                .iter()
                .map(|p| (p.name.clone(), p.ty.width))
                .collect();
            files.push(OutputFile {
                name: format!("{top}.qsf"),
                contents: scripts::quartus_qsf(&header, &top, target, &cons, &ports),
            });
            files.push(OutputFile {
                name: format!("{top}.qpf"),
                contents: scripts::quartus_qpf(&header, &top),
            });
        }
        Family::Ice40 | Family::Ecp5 => {}
    }
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
    // Every tool the run needs is found before anything is written.
    let (yosys_exe, yosys_version) = tool_version(ToolKind::YowaspYosys)?;
    let mut versions = std::collections::BTreeMap::new();
    versions.insert("yosys", yosys_version);
    let nextpnr_exe = match (pnr, target.nextpnr()) {
        (true, Some((kind, _))) => {
            let (exe, version) = tool_version(kind)?;
            versions.insert("nextpnr", version);
            Some(exe)
        }
        _ => None,
    };
    // report.json is declared with the rest, so a folder in its way stops the run before
    // any tool does work; the tools' own outputs stay in the folder for inspection.
    let mut report_file = crate::emit::Outputs::new();
    report_file.reserve(&args.out.join("report.json"))?;
    write_files(&args.out, &files)?;

    eprintln!(
        "[synth] {top} for {target} ({}): yosys {}",
        target.part(),
        target.yosys_synth()
    );
    let t = Instant::now();
    yosys::run(&yosys_exe, &args.out, &format!("{top}.ys")).map_err(Error::Tool)?;
    seconds.insert("yosys", t.elapsed().as_secs_f64());
    // A tool's missing or unreadable output is a tool failure (exit 1), not bad input.
    let stat = std::fs::read_to_string(args.out.join("stat.json")).map_err(|e| {
        Error::Tool(format!(
            "Yosys wrote no readable {}: {e}",
            args.out.join("stat.json").display()
        ))
    })?;
    let cells = yosys::parse_stat(&stat).map_err(Error::Tool)?;
    let r = yosys::classify(target.family(), &cells);
    let cap = target.capacity();
    // A design over the part's capacity still gets its report (fits: false), then exit 1.
    let mut not_fitting = [
        ("DSPs", r.dsps, cap.dsps),
        ("LUTs", r.luts, cap.luts),
        ("FFs", r.ffs, cap.ffs),
        ("BRAMs", r.brams, cap.brams),
    ]
    .into_iter()
    .find(|(_, used, avail)| used > avail)
    .map(|(what, used, avail)| not_fit(what, used, avail, target, ""));
    let mut fmax = None;
    let mut placed = None;
    let mut packed = None;
    if let (Some(argv), Some(nextpnr), None) = (&pnr_argv, &nextpnr_exe, &not_fitting) {
        let p = pnr::place_and_route(target, argv, &args.out, &harness_top, &yosys_exe, nextpnr)?;
        seconds.extend(p.seconds);
        (fmax, placed, packed) = (p.fmax_mhz, p.placed, p.packed);
        not_fitting = p.not_fitting;
    }
    let (pes, dsp_pes) = match (&args.config.array, args.part) {
        (Some(a), Part::Array) => {
            let with_dsp = if target.dsp_cell().is_some() {
                u64::from(a.dsp_pe_count())
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
        fits: not_fitting.is_none(),
        fmax_mhz: fmax,
        target_mhz: freq,
        timing_met: fmax.map(|f| f >= freq),
        pes,
        dsp_pes,
        dsp_expected,
        placed,
        dsp_registers_packed: packed,
        seconds,
    };
    let mut text = serde_json::to_string_pretty(&report).expect("report serializes");
    text.push('\n');
    report_file.write(&args.out.join("report.json"), text.as_bytes())?;
    report_file.commit()?;
    print_table(&report, &cap, &args.out);
    match not_fitting {
        Some(e) => Err(e),
        None => Ok(0),
    }
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
