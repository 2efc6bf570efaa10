//! `npugen simulate`: one GEMM through the Verilated RTL, checked against the golden model.

use std::path::PathBuf;

use crate::cli::SimulateArgs;
use crate::config::Config;
use crate::emit::Outputs;
use crate::error::{Error, Result};
use crate::npy::OutType;
use crate::sim::cache::cache_root;
use crate::sim::gemm::{cosim_gemm, GemmJob, GemmOptions, GemmReport};
use crate::sim::stream::Stalls;
use crate::sim::verilator::TraceFormat;

/// The element type of the written result: the post-processed outputs' width, or the
/// accumulator's (int32 or int64; an error if it fits neither).
pub(super) fn out_type(config: &Config) -> Result<OutType> {
    let a = config.array();
    match &config.postproc {
        Some(p) => Ok(OutType::fitting(p.out_bits, p.out_signed).expect("out_bits <= 16")),
        None => match OutType::fitting(a.acc_bits(), a.signed) {
            Some(t) if matches!(t, OutType::I64) => Ok(t),
            Some(_) => Ok(OutType::I32),
            None => Err(Error::value(
                "array.acc_bits",
                a.acc_bits(),
                "at most 64 (signed) or 63 (unsigned) to write C as int64 with --out",
            )),
        },
    }
}

/// The outputs of one run, declared before it (folders created, a folder in the way or an
/// unwritable one refused: exit 1 naming the path) and committed together after it.
pub(super) struct RunFiles {
    files: Outputs,
    /// The whole-run waveform asked for, its temp path, and its format.
    pub(super) wave: Option<(PathBuf, PathBuf)>,
    pub(super) trace: TraceFormat,
    /// The waveform written on a mismatch (next to the report or C), when there is a place.
    pub(super) mismatch: Option<(PathBuf, PathBuf)>,
}

impl RunFiles {
    pub(super) fn declare(args: &SimulateArgs) -> Result<RunFiles> {
        let mut files = Outputs::new();
        for p in [&args.out, &args.report].into_iter().flatten() {
            files.reserve(p)?;
        }
        let (wave, trace) = match (&args.vcd, &args.fst) {
            (_, Some(f)) => (Some(f), TraceFormat::Fst),
            (v, None) => (v.as_ref(), TraceFormat::Vcd),
        };
        let wave = match wave {
            Some(w) => Some((w.clone(), files.reserve(w)?)),
            None => None,
        };
        let near = args
            .report
            .as_ref()
            .or(args.out.as_ref())
            .and_then(|p| p.parent().map(PathBuf::from))
            .unwrap_or_default();
        let m = near.join("npugen-mismatch.vcd");
        // Best effort: without a writable place there is just no mismatch waveform.
        let mismatch = match wave {
            None => files.reserve(&m).ok().map(|tmp| (m, tmp)),
            Some(_) => None,
        };
        Ok(RunFiles {
            files,
            wave,
            trace,
            mismatch,
        })
    }

    /// Stages the report (pretty JSON) and C (as `ty`) where the arguments ask for them.
    pub(super) fn stage(
        &mut self,
        args: &SimulateArgs,
        report: &impl serde::Serialize,
        c: &crate::model::Matrix,
        ty: Option<OutType>,
    ) -> Result<()> {
        if let Some(path) = &args.report {
            let mut text = serde_json::to_string_pretty(report).expect("report serializes");
            text.push('\n');
            self.files.write(path, text.as_bytes())?;
        }
        if let (Some(path), Some(ty)) = (&args.out, ty) {
            self.files.write(path, &crate::npy::to_bytes_as(c, ty))?;
        }
        Ok(())
    }

    /// Marks the waveforms the run wrote, and commits every file; returns the waveform path
    /// to mention, if any.
    pub(super) fn commit(mut self, mismatch_traced: bool) -> Result<Option<PathBuf>> {
        let written = |tmp: &PathBuf| std::fs::metadata(tmp).is_ok_and(|m| m.len() > 0);
        let mut shown = None;
        if let Some((w, tmp)) = &self.wave {
            if !written(tmp) {
                return Err(Error::Tool(format!(
                    "the simulator wrote no waveform to {}",
                    w.display()
                )));
            }
            self.files.keep(w);
            shown = Some(w.clone());
        }
        if let Some((m, tmp)) = &self.mismatch {
            if mismatch_traced && written(tmp) {
                self.files.keep(m);
                shown = Some(m.clone());
            }
        }
        self.files.commit()?;
        Ok(shown)
    }
}

/// Checks the operands against the config (a WS npu_core needs K <= rows).
fn check_depth(cfg: &crate::config::ArrayConfig, post: bool, k: usize) -> Result<()> {
    if post && cfg.dataflow == crate::config::Dataflow::Ws && k > cfg.rows as usize {
        return Err(Error::input(
            "operands",
            format!(
                "K = {k} is more than array.rows = {}: a weight-stationary npu_core post-processes each \
                 fold's sums and has no on-chip accumulator, so K must be at most rows (or use dataflow = \"os\")",
                cfg.rows
            ),
        ));
    }
    Ok(())
}

/// The run's summary on stdout.
fn print_summary(args: &SimulateArgs, report: &GemmReport) {
    let cfg = args.gemm.config.array();
    println!(
        "{}: {} x {} x {} GEMM on a {} x {} {} {}, {} folds (seed {})",
        args.gemm.config.name,
        report.m,
        report.k,
        report.n,
        cfg.rows,
        cfg.cols,
        cfg.dataflow.as_str().to_uppercase(),
        if args.gemm.config.postproc.is_some() {
            "npu_core"
        } else {
            "array"
        },
        report.folds,
        args.gemm.seed
    );
    println!(
        "  cycles       {} (formula {}, SCALE-Sim {})",
        report.cycles, report.formula_cycles, report.scalesim_cycles
    );
    println!("  utilization  {:.3}", report.utilization);
    let how = if report.model_cached {
        "cached"
    } else {
        "built"
    };
    println!(
        "  model        {} ({how} in {:.2} s)",
        report.verilator, report.model_seconds
    );
    println!(
        "  matches the golden model (every cycle) and the reference: {}",
        if report.matches_model { "yes" } else { "NO" }
    );
}

/// Runs the command; returns the exit code (1 when the RTL and the model disagree).
pub fn simulate(args: SimulateArgs) -> Result<i32> {
    if args.gemm.config.npu.is_some() {
        return super::simulate_npu::simulate(args);
    }
    let cfg = args.gemm.config.array().clone();
    let post = args.gemm.config.postproc.as_ref();
    let out_ty = match &args.out {
        Some(_) => Some(out_type(&args.gemm.config)?),
        None => None,
    };
    let (a, b, params) = super::operands::gemm_inputs(&args.gemm)?;
    check_depth(&cfg, post.is_some(), a.cols)?;
    let design = crate::gen::generate(&args.gemm.config)?;
    let mut files = RunFiles::declare(&args)?;
    let opts = GemmOptions {
        cache: cache_root(),
        stalls: args.stalls.map(|(offer, ready)| Stalls {
            seed: args.gemm.seed,
            offer_percent: offer,
            ready_percent: ready,
        }),
        vcd: files.wave.as_ref().map(|(_, tmp)| tmp.clone()),
        vcd_on_mismatch: files.mismatch.as_ref().map(|(_, tmp)| tmp.clone()),
        trace: files.trace,
    };
    let job = GemmJob {
        array: &cfg,
        post,
        a: &a,
        b: &b,
        params: params.as_deref(),
    };
    let out = cosim_gemm(&job, &design, &opts).map_err(|e| Error::Tool(e.to_string()))?;
    let report = GemmReport::new(
        &cfg,
        post,
        (a.rows, a.cols, b.cols),
        &out,
        Some(args.gemm.seed),
    );
    print_summary(&args, &report);
    files.stage(&args, &report, &out.c, out_ty)?;
    let shown = files.commit(out.vcd.is_some())?;
    if report.matches_model {
        return Ok(0);
    }
    match &out.run.mismatch {
        Some(mm) => eprintln!("npugen: RTL and golden model disagree: {mm}"),
        None => eprintln!(
            "npugen: RTL and golden model disagree: the result differs from the reference"
        ),
    }
    if let Some(v) = shown {
        eprintln!("npugen: waveform written to {}", v.display());
    }
    Ok(1)
}
