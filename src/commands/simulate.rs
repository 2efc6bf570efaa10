//! `npugen simulate`: one GEMM through the Verilated RTL, checked against the golden model.

use std::path::PathBuf;

use crate::cli::SimulateArgs;
use crate::emit::write_atomic;
use crate::error::{Error, Result};
use crate::sim::cache::cache_root;
use crate::sim::gemm::{cosim_gemm, GemmOptions, GemmReport};
use crate::sim::stream::Stalls;

/// Whether C is written as int64 (else int32); an error if it fits neither.
fn c_dtype_is_wide(acc_bits: u32, signed: bool) -> Result<bool> {
    let magnitude_bits = if signed { acc_bits } else { acc_bits + 1 };
    match magnitude_bits {
        0..=32 => Ok(false),
        33..=64 => Ok(true),
        _ => Err(Error::value(
            "array.acc_bits",
            acc_bits,
            "at most 64 (signed) or 63 (unsigned) to write C as int64 with --out",
        )),
    }
}

/// Runs the command; returns the exit code (1 when the RTL and the model disagree).
pub fn simulate(args: SimulateArgs) -> Result<i32> {
    let cfg = args.config.array().clone();
    let wide = match &args.out {
        Some(_) => Some(c_dtype_is_wide(cfg.acc_bits(), cfg.signed)?),
        None => None,
    };
    let (a, b) = super::operands::operands(&cfg, &args.operands, args.seed)?;
    let design = crate::gen::generate(&args.config)?;
    let near = args
        .report
        .as_ref()
        .or(args.out.as_ref())
        .and_then(|p| p.parent().map(PathBuf::from))
        .unwrap_or_default();
    let opts = GemmOptions {
        cache: cache_root(),
        stalls: args.stalls.map(|(offer, ready)| Stalls {
            seed: args.seed,
            offer_percent: offer,
            ready_percent: ready,
        }),
        vcd: args.vcd.clone(),
        vcd_on_mismatch: Some(near.join("npugen-mismatch.vcd")),
    };
    let out = cosim_gemm(&cfg, &design, &a, &b, &opts).map_err(|e| Error::Tool(e.to_string()))?;
    let shape = (a.rows, a.cols, b.cols);
    let report = GemmReport::new(&cfg, shape, &out, Some(args.seed));
    println!(
        "{}: {} x {} x {} GEMM on a {} x {} {} array, {} folds (seed {})",
        args.config.name,
        shape.0,
        shape.1,
        shape.2,
        cfg.rows,
        cfg.cols,
        cfg.dataflow.as_str().to_uppercase(),
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
        "  matches the golden model (every cycle) and A * B: {}",
        if report.matches_model { "yes" } else { "NO" }
    );
    if let Some(path) = &args.report {
        let mut text = serde_json::to_string_pretty(&report).expect("report serializes");
        text.push('\n');
        write_atomic(path, text.as_bytes())?;
    }
    if let (Some(path), Some(wide)) = (&args.out, wide) {
        write_atomic(path, &crate::npy::to_bytes(&out.c, wide))?;
    }
    if report.matches_model {
        return Ok(0);
    }
    match &out.run.mismatch {
        Some(mm) => eprintln!("npugen: RTL and golden model disagree: {mm}"),
        None => eprintln!("npugen: RTL and golden model disagree: C differs from A * B"),
    }
    if let Some(v) = &out.vcd {
        eprintln!("npugen: waveform written to {}", v.display());
    }
    Ok(1)
}
