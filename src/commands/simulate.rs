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
fn out_type(config: &Config) -> Result<OutType> {
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

/// Runs the command; returns the exit code (1 when the RTL and the model disagree).
pub fn simulate(args: SimulateArgs) -> Result<i32> {
    let cfg = args.config.array().clone();
    let post = args.config.postproc.as_ref();
    let out_ty = match &args.out {
        Some(_) => Some(out_type(&args.config)?),
        None => None,
    };
    let (a, b) = super::operands::operands(&cfg, &args.operands, args.seed)?;
    if post.is_some() && cfg.dataflow == crate::config::Dataflow::Ws && a.cols > cfg.rows as usize {
        return Err(Error::input(
            "operands",
            format!(
                "K = {} is more than array.rows = {}: a weight-stationary npu_core post-processes each \
                 fold's sums and has no on-chip accumulator, so K must be at most rows (or use dataflow = \"os\")",
                a.cols, cfg.rows
            ),
        ));
    }
    let bias = super::operands::bias(
        post.is_some(),
        b.cols,
        args.bias.as_deref(),
        &args.operands,
        args.seed,
    )?;
    let design = crate::gen::generate(&args.config)?;
    // Every output is declared before the run (folders created, a folder in the way or an
    // unwritable one refused: exit 1 naming the path); all land together at the end.
    let mut files = Outputs::new();
    for p in [&args.out, &args.report].into_iter().flatten() {
        files.reserve(p)?;
    }
    let (wave, trace) = match (&args.vcd, &args.fst) {
        (_, Some(f)) => (Some(f.clone()), TraceFormat::Fst),
        (v, None) => (v.clone(), TraceFormat::Vcd),
    };
    let wave_tmp = match &wave {
        Some(w) => Some(files.reserve(w)?),
        None => None,
    };
    let near = args
        .report
        .as_ref()
        .or(args.out.as_ref())
        .and_then(|p| p.parent().map(PathBuf::from))
        .unwrap_or_default();
    let mismatch_wave = near.join("npugen-mismatch.vcd");
    // Best effort: without a writable place there is just no mismatch waveform.
    let mismatch_tmp = match wave {
        None => files.reserve(&mismatch_wave).ok(),
        Some(_) => None,
    };
    let opts = GemmOptions {
        cache: cache_root(),
        stalls: args.stalls.map(|(offer, ready)| Stalls {
            seed: args.seed,
            offer_percent: offer,
            ready_percent: ready,
        }),
        vcd: wave_tmp.clone(),
        vcd_on_mismatch: mismatch_tmp.clone(),
        trace,
    };
    let job = GemmJob {
        array: &cfg,
        post,
        a: &a,
        b: &b,
        bias: bias.as_deref(),
    };
    let out = cosim_gemm(&job, &design, &opts).map_err(|e| Error::Tool(e.to_string()))?;
    let shape = (a.rows, a.cols, b.cols);
    let report = GemmReport::new(&cfg, post.is_some(), shape, &out, Some(args.seed));
    println!(
        "{}: {} x {} x {} GEMM on a {} x {} {} {}, {} folds (seed {})",
        args.config.name,
        shape.0,
        shape.1,
        shape.2,
        cfg.rows,
        cfg.cols,
        cfg.dataflow.as_str().to_uppercase(),
        if post.is_some() { "npu_core" } else { "array" },
        report.folds,
        args.seed
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
    if let Some(path) = &args.report {
        let mut text = serde_json::to_string_pretty(&report).expect("report serializes");
        text.push('\n');
        files.write(path, text.as_bytes())?;
    }
    if let (Some(path), Some(ty)) = (&args.out, out_ty) {
        files.write(path, &crate::npy::to_bytes_as(&out.c, ty))?;
    }
    let written = |tmp: &Option<PathBuf>| {
        tmp.as_ref()
            .and_then(|t| std::fs::metadata(t).ok())
            .is_some_and(|m| m.len() > 0)
    };
    if let Some(w) = &wave {
        if !written(&wave_tmp) {
            return Err(Error::Tool(format!(
                "the simulator wrote no waveform to {}",
                w.display()
            )));
        }
        files.keep(w);
    }
    let mismatch_written = written(&mismatch_tmp) && out.vcd.is_some();
    if mismatch_written {
        files.keep(&mismatch_wave);
    }
    files.commit()?;
    if report.matches_model {
        return Ok(0);
    }
    match &out.run.mismatch {
        Some(mm) => eprintln!("npugen: RTL and golden model disagree: {mm}"),
        None => eprintln!(
            "npugen: RTL and golden model disagree: the result differs from the reference"
        ),
    }
    if let Some(v) = wave.as_ref().or(mismatch_written.then_some(&mismatch_wave)) {
        eprintln!("npugen: waveform written to {}", v.display());
    }
    Ok(1)
}
