//! `npugen lif`: spike trains through the Verilated spiking core, checked against the model.

use std::path::Path;

use serde::Serialize;

use crate::cli::LifArgs;
use crate::config::LifConfig;
use crate::emit::Outputs;
use crate::error::{Error, Result};
use crate::model::lif::{first_difference, params_of, run_core, LifTrace};
use crate::model::Matrix;
use crate::npy::{to_bytes_as, OutType};
use crate::sim::cache::cache_root;
use crate::sim::lif::{run_lif, LifRun, LifRunError};
use crate::sim::stream::Stalls;
use crate::sim::verilator::{build_model, TraceFormat, Verilated};

/// `report.json` of a run.
#[derive(Serialize)]
struct LifReport {
    steps: usize,
    neurons: u32,
    axons: u32,
    parallel: u32,
    groups: u32,
    spikes_in: u64,
    spikes_out: u64,
    /// Cycles between consecutive ticks, measured in the RTL: T - 1 entries, entry i for
    /// the events and update between the ticks of steps i and i + 1 (step 0 starts after
    /// the weight load, counted in `load_cycles`).
    step_cycles: Vec<u64>,
    /// The manifest's formula for the same steps.
    formula_step_cycles: Vec<u64>,
    total_cycles: u64,
    load_cycles: u64,
    matches_model: bool,
    rtl: bool,
    verilator: Option<String>,
}

fn load(path: &Path, rows: usize, cols: usize, lo: i128, hi: i128, what: &str) -> Result<Matrix> {
    let name = path.display().to_string();
    if !path.exists() {
        return Err(Error::input(name, "no such file"));
    }
    let m = crate::npy::read(path).map_err(|e| Error::input(&name, e))?;
    if (rows != 0 && m.rows != rows) || m.cols != cols || m.rows == 0 {
        let want = if rows == 0 {
            format!("(T, {cols})")
        } else {
            format!("({rows}, {cols})")
        };
        return Err(Error::input(
            &name,
            format!("shape ({}, {}) is not {want} ({what})", m.rows, m.cols),
        ));
    }
    if let Some(i) = m.data.iter().position(|v| *v < lo || *v > hi) {
        return Err(Error::input(
            &name,
            format!(
                "element ({}, {}) = {} is out of range for {what}: allowed {lo}..={hi}",
                i / m.cols,
                i % m.cols,
                m.data[i]
            ),
        ));
    }
    Ok(m)
}

fn write_trace(files: &mut Outputs, out: &Path, tr: &LifTrace) -> Result<()> {
    files.write(&out.join("u.npy"), &to_bytes_as(&tr.u, OutType::I32))?;
    files.write(&out.join("v.npy"), &to_bytes_as(&tr.v, OutType::I32))?;
    files.write(
        &out.join("spikes.npy"),
        &to_bytes_as(&tr.spikes, OutType::U8),
    )
}

/// The command's operands, checked against the config.
struct Operands {
    spikes: Matrix,
    weights: Matrix,
    bias: Option<Vec<i128>>,
}

impl Operands {
    fn load(args: &LifArgs, l: &LifConfig) -> Result<Operands> {
        let (n, a) = (l.neurons as usize, l.axons as usize);
        let spikes = load(&args.spikes, 0, a, 0, 1, "spikes, 0 or 1 per axon and step")?;
        let wmax = (1i128 << (l.weight_bits - 1)) - 1;
        let weights = load(
            &args.weights,
            a,
            n,
            -wmax - 1,
            wmax,
            "lif.weight_bits weights",
        )?;
        let bias = match &args.bias {
            Some(p) => Some(load(p, 1, n, -4096, 4095, "bias mantissas")?.data),
            None => None,
        };
        Ok(Operands {
            spikes,
            weights,
            bias,
        })
    }
}

/// Builds (or finds) the core's model and runs the operands through it, with a waveform at
/// `vcd`. The outer error is a tool failure; the inner one a port that differs from the
/// cycle model.
fn run_rtl(
    args: &LifArgs,
    l: &LifConfig,
    ops: &Operands,
    vcd: Option<&Path>,
) -> Result<(std::result::Result<LifRun, LifRunError>, String)> {
    let design = crate::gen::generate_lif(&args.config)?;
    let tool = |e: &dyn std::fmt::Display| Error::Tool(e.to_string());
    let build = build_model(&design, TraceFormat::Vcd, &cache_root()).map_err(|e| tool(&e))?;
    let mut sim = Verilated::load(&build).map_err(|e| tool(&e))?;
    if let Some(v) = vcd {
        sim.open_trace(v).map_err(|e| tool(&e))?;
    }
    let stalls = args.stalls.map(|(o, r, seed)| Stalls {
        seed,
        offer_percent: o,
        ready_percent: r,
    });
    let (spikes, weights, bias) = (&ops.spikes, &ops.weights, ops.bias.as_deref());
    match run_lif(l, &mut sim, spikes, weights, bias, stalls) {
        Err(e @ LifRunError::Port { .. }) => Ok((Err(e), build.verilator_version)),
        Err(e) => Err(tool(&e)),
        Ok(run) => Ok((Ok(run), build.verilator_version)),
    }
}

/// Runs the command; returns the exit code (1 when the RTL and the model disagree).
pub fn lif(args: LifArgs) -> Result<i32> {
    let l: LifConfig = args.config.lif.clone().expect("checked by the CLI");
    let ops = Operands::load(&args, &l)?;
    // Every output is declared (and its folder checked) before the run; all land together.
    let mut files = Outputs::new();
    for name in ["u.npy", "v.npy", "spikes.npy", "report.json"] {
        files.reserve(&args.out.join(name))?;
    }
    let vcd_tmp = match &args.vcd {
        Some(v) => Some(files.reserve(v)?),
        None => None,
    };
    let model = run_core(
        &params_of(&l, ops.bias.as_deref()),
        &ops.spikes,
        &ops.weights,
    );
    let (trace, run, verilator) = if args.model_only {
        (model.clone(), None, None)
    } else {
        let (run, version) = run_rtl(&args, &l, &ops, vcd_tmp.as_deref())?;
        if let Some(v) = &args.vcd {
            files.keep(v);
        }
        match run {
            Ok(run) => (run.trace.clone(), Some(run), Some(version)),
            Err(e) => {
                eprintln!("npugen: RTL and the cycle model disagree: {e}");
                return mismatch_waveform(&args, &l, &ops, files);
            }
        }
    };
    let diff = first_difference(&model, &trace);
    let report = LifReport {
        steps: ops.spikes.rows,
        neurons: l.neurons,
        axons: l.axons,
        parallel: l.parallel,
        groups: l.groups(),
        spikes_in: ops.spikes.data.iter().filter(|v| **v != 0).count() as u64,
        spikes_out: trace.spikes.data.iter().filter(|v| **v != 0).count() as u64,
        step_cycles: run
            .as_ref()
            .map(|r| r.step_cycles.clone())
            .unwrap_or_default(),
        formula_step_cycles: run
            .as_ref()
            .map(|r| r.formula_cycles.clone())
            .unwrap_or_default(),
        total_cycles: run.as_ref().map_or(0, |r| r.total_cycles),
        load_cycles: run.as_ref().map_or(0, |r| r.load_cycles),
        matches_model: diff.is_none(),
        rtl: run.is_some(),
        verilator,
    };
    write_trace(&mut files, &args.out, &trace)?;
    let mut text = serde_json::to_string_pretty(&report).expect("report serializes");
    text.push('\n');
    files.write(&args.out.join("report.json"), text.as_bytes())?;
    print_summary(&args, &l, &report, run.as_ref(), diff.is_none());
    match diff {
        None => {
            files.commit()?;
            Ok(0)
        }
        Some((t, neuron, field, e, a)) => {
            eprintln!("npugen: RTL and golden model disagree: step {t}, neuron {neuron}, {field}: expected {e}, actual {a}");
            mismatch_waveform(&args, &l, &ops, files)
        }
    }
}

/// After a disagreement: commits the outputs with a waveform (the `--vcd` one, or a traced
/// re-run into `npugen-mismatch.vcd`: the run is deterministic, so it shows the same
/// failure); returns exit code 1.
fn mismatch_waveform(
    args: &LifArgs,
    l: &LifConfig,
    ops: &Operands,
    mut files: Outputs,
) -> Result<i32> {
    let vcd = match &args.vcd {
        Some(v) => v.clone(),
        None => {
            let mismatch_vcd = args.out.join("npugen-mismatch.vcd");
            let tmp = files.reserve(&mismatch_vcd)?;
            let (_same_failure, _) = run_rtl(args, l, ops, Some(&tmp))?;
            files.keep(&mismatch_vcd);
            mismatch_vcd
        }
    };
    files.commit()?;
    eprintln!("npugen: waveform written to {}", vcd.display());
    Ok(1)
}

/// The run's summary lines.
fn print_summary(
    args: &LifArgs,
    l: &LifConfig,
    report: &LifReport,
    run: Option<&LifRun>,
    ok: bool,
) {
    println!(
        "{}_lif: {} steps, {} neurons, {} input spikes, {} output spikes{}",
        args.config.name,
        report.steps,
        l.neurons,
        report.spikes_in,
        report.spikes_out,
        if args.model_only { " (model only)" } else { "" }
    );
    if let Some(r) = run {
        let matches = r.step_cycles == r.formula_cycles;
        println!(
            "  cycles per step measured in the RTL {} the formula {} (total {} cycles)",
            if matches { "equal" } else { "DIFFER from" },
            crate::timing::lif_step_formula(l),
            r.total_cycles
        );
        println!(
            "  matches the golden model on every state: {}",
            if ok { "yes" } else { "NO" }
        );
    }
}
