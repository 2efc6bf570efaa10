//! `npugen synth`: a design through Yosys (and nextpnr for ECP5 and iCE40) for one target, with
//! constraints, vendor project files and a QoR report.

use std::path::PathBuf;
use std::time::Instant;

use crate::config::Config;
use crate::emit::write_files;
use crate::error::{Error, Result};
use crate::flow::targets::Target;
use crate::flow::tools::{find, ToolKind};
use crate::flow::yosys;
use crate::gen::{self, Part};
use report::print_table;

mod files;
mod pnr;
mod report;

/// `synth --dsp-fallback`: PEs beyond the part's DSP budget.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DspFallback {
    /// Refuse the design, naming the budget (the default).
    Refuse,
    /// Map the remaining PEs to logic multipliers.
    Lut,
}

impl std::str::FromStr for DspFallback {
    type Err = String;

    fn from_str(text: &str) -> std::result::Result<DspFallback, String> {
        match text {
            "refuse" => Ok(DspFallback::Refuse),
            "lut" => Ok(DspFallback::Lut),
            other => Err(format!("{other:?}: allowed \"refuse\" or \"lut\"")),
        }
    }
}

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
    /// What to do with PEs beyond the part's DSP budget.
    pub dsp_fallback: DspFallback,
    /// nextpnr seed.
    pub seed: u64,
    /// ECP5 speed grade for place and route (6, 7 or 8; None: the target's part, grade 6).
    pub speed: Option<u8>,
}

impl SynthArgs {
    /// The part placed and routed: the target's, at the chosen speed grade.
    pub fn part_name(&self) -> String {
        self.target.part_at_speed(self.speed)
    }
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
        if args.dsp_fallback == DspFallback::Refuse {
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
    let dsp_expected = dsp_budget(&mut args)?;
    let design = gen::build_part(&args.config, args.part)?;
    gen::check(&design)?;
    let top = design.top.clone();
    let plan = files::plan(&args, &design, dsp_expected);
    let tools = Tools::find(target, plan.pnr_argv.is_some() && !args.no_pnr)?;
    // report.json is declared with the rest, so a folder in its way stops the run before
    // any tool does work; the tools' own outputs stay in the folder for inspection.
    let mut report_file = crate::emit::Outputs::new();
    report_file.reserve(&args.out.join("report.json"))?;
    write_files(&args.out, &plan.files)?;

    eprintln!(
        "[synth] {top} for {target} ({}): yosys {}",
        args.part_name(),
        target.yosys_synth()
    );
    let mut seconds = std::collections::BTreeMap::new();
    let t = Instant::now();
    yosys::run(&tools.yosys, &args.out, &format!("{top}.ys")).map_err(Error::Tool)?;
    seconds.insert("yosys", t.elapsed().as_secs_f64());
    let r = read_stat(&args.out, target)?;
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
    let mut placed = pnr::Pnr::default();
    if let (Some(argv), Some(nextpnr), None) = (&plan.pnr_argv, &tools.nextpnr, &not_fitting) {
        let harness = &plan.harness_top;
        placed = pnr::place_and_route(target, argv, &args.out, harness, &tools.yosys, nextpnr)?;
        seconds.append(&mut placed.seconds);
        not_fitting = placed.not_fitting.take();
    }
    let mut report = report::build(&args, top, tools.versions, &r, placed);
    report.fits = not_fitting.is_none();
    report.dsp_expected = dsp_expected;
    report.seconds = seconds;
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

/// The tools a run needs, found (with their versions) before anything is written.
struct Tools {
    yosys: PathBuf,
    nextpnr: Option<PathBuf>,
    versions: std::collections::BTreeMap<&'static str, String>,
}

impl Tools {
    fn find(target: Target, pnr: bool) -> Result<Tools> {
        let (yosys, yosys_version) = tool_version(ToolKind::YowaspYosys)?;
        let mut versions = std::collections::BTreeMap::new();
        versions.insert("yosys", yosys_version);
        let nextpnr = match (pnr, target.nextpnr()) {
            (true, Some((kind, _))) => {
                let (exe, version) = tool_version(kind)?;
                versions.insert("nextpnr", version);
                Some(exe)
            }
            _ => None,
        };
        Ok(Tools {
            yosys,
            nextpnr,
            versions,
        })
    }
}

/// Yosys's `stat.json`, classified. A tool's missing or unreadable output is a tool failure
/// (exit 1), not bad input.
fn read_stat(out: &std::path::Path, target: Target) -> Result<yosys::Resources> {
    let path = out.join("stat.json");
    let stat = std::fs::read_to_string(&path)
        .map_err(|e| Error::Tool(format!("Yosys wrote no readable {}: {e}", path.display())))?;
    let cells = yosys::parse_stat(&stat).map_err(Error::Tool)?;
    Ok(yosys::classify(target.family(), &cells))
}
